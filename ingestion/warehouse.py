"""The DuckDB warehouse: the one place that opens connections and applies versioned SQL migrations."""

import hashlib
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class WarehouseError(Exception):
    """A warehouse that cannot be opened or used: the message says which file and what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


def migrations() -> list[Migration]:
    """The migrations shipped with this version, in order."""
    found: list[Migration] = []
    for entry in resources.files("ingestion.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    return migrations()[-1].version


@contextmanager
def connect(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse file; writers are short-lived, readers use read_only=True."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(
            f"{path}: no warehouse here; run `sprintproof ingest` or `sprintproof demo` first"
        )
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(
                f"{path}: cannot create its folder ({exc.strerror}); choose a writable location"
            ) from exc
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise WarehouseError(
            f"{path}: cannot open the warehouse ({_first_line(exc)}); check that the file is a "
            "SprintProof warehouse, readable, and not held open by another writer"
        ) from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"{path}: not a usable DuckDB warehouse ({_first_line(exc)})") from exc
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...] | None:
    """First row of a query, consuming the whole result (a DuckDB 2 result owns the connection until read)."""
    rows = (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    row = one(con, sql, params)
    return row[0] if row else None


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration, 0 for an empty file."""
    if not scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ):
        return 0
    return int(scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version"))


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every pending migration, each in its own transaction; returns the versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    applied = {
        int(v): str(c)
        for v, c in con.execute("SELECT version, checksum FROM schema_version").fetchall()
    }
    known = migrations()
    newest = known[-1].version
    if applied and max(applied) > newest:
        raise WarehouseError(
            f"the warehouse has schema version {max(applied)}, newer than this SprintProof ({newest}); upgrade SprintProof"
        )
    done: list[int] = []
    for migration in known:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise WarehouseError(
                    f"migration {migration.version} ({migration.name}) changed after it was applied; "
                    "restore the shipped file or rebuild the warehouse"
                )
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_version (version, name, checksum) VALUES (?, ?, ?)",
                [migration.version, migration.name, migration.checksum],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        done.append(migration.version)
    return done


def require_current(con: duckdb.DuckDBPyConnection, path: Path | str) -> None:
    """Refuse to work on a warehouse whose schema is behind this code (readers never migrate)."""
    version = schema_version(con)
    if version > latest_version():
        raise WarehouseError(
            f"{path}: schema version {version} is newer than this SprintProof ({latest_version()}); upgrade SprintProof"
        )
    if version != latest_version():
        raise WarehouseError(
            f"{path}: schema version {version}, expected {latest_version()}; run `sprintproof migrate`"
        )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def publish_snapshot(path: Path | str, snapshot: Path | str) -> Path:
    """Publish a read-only copy of the warehouse for readers (the dashboard), atomically.

    The copy is taken while holding the writer's lock after a checkpoint, so it is a consistent
    state; it is written next to the destination and renamed over it, so a reader sees the old
    snapshot or the new one, and a reader holding the old file open keeps reading it.
    """
    path, snapshot = Path(path), Path(snapshot)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    temporary = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.tmp")
    with connect(path) as con:
        con.execute("CHECKPOINT")
        shutil.copyfile(path, temporary)
    os.replace(temporary, snapshot)
    return snapshot


def reader_path(warehouse: Path | str, snapshot: Path | str) -> Path:
    """Where readers should look: the published snapshot when there is one, else the warehouse itself."""
    snapshot = Path(snapshot)
    return snapshot if snapshot.exists() else Path(warehouse)


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: object,
    where: str,
    params: Sequence[object] = (),
) -> None:
    """Replace the rows of `table` that match `where` by `rows` (any frame DuckDB reads), in one transaction.

    `where` may read the new rows as `_rows` (for the keys they replace).
    """
    con.register("_rows", rows)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f'DELETE FROM "{table}" WHERE {where}', list(params))
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _rows')
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_rows")
