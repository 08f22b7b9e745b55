"""The warehouse resource: the configuration in force and short-lived, serialised connections to its DuckDB file."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.runtime import Settings, settings
from ingestion.warehouse import connect, migrate


class WarehouseResource(dg.ConfigurableResource):
    """Where the configuration is (None: found as the CLI finds it) and connections to its warehouse."""

    config_path: str | None = None

    def runtime(self) -> Settings:
        return settings(Path(self.config_path) if self.config_path else None)

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection with the schema brought up to date; held only as long as one step."""
        with connect(self.runtime().warehouse) as con:
            migrate(con)
            yield con

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.runtime().warehouse, read_only=True) as con:
            yield con


class SourceSecrets(dg.ConfigurableResource):
    """One API source's secrets, given to Dagster as EnvVars: the definitions hold variable names, never values."""

    token_env: str | None = None
    token: str | None = None
    email_env: str | None = None
    email: str | None = None
    private_key_env: str | None = None
    private_key: str | None = None

    def env(self) -> dict[str, str]:
        pairs = (
            (self.token_env, self.token),
            (self.email_env, self.email),
            (self.private_key_env, self.private_key),
        )
        return {name: value for name, value in pairs if name and value}
