"""The configuration in force for a command or a Dagster run, and what it builds: rules, excludes, path hashing, sources."""

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import (
    CONFIG_NAME,
    Config,
    GitSourceConfig,
    find_config,
    load_config,
    parse_config,
)
from dashboards.settings import Checks, DashboardSettings
from ingestion.connectors import SourceSettings
from ingestion.excludes import Excludes
from ingestion.git import GitSource
from ingestion.gitscan import RulesSpec
from ingestion.warehouse import WarehouseError, connect


class UserError(Exception):
    """A mistake the user can fix: printed as one line, exit code 2."""


@dataclass
class Settings:
    """The configuration in force for one command, and where it came from."""

    config: Config
    path: Path | None

    @property
    def warehouse(self) -> Path:
        return self.config.warehouse_path

    def rules(self) -> RulesSpec:
        a = self.config.attribution
        return RulesSpec(
            custom_rules=tuple(r.model_dump() for r in a.rules),
            disabled=tuple(a.disable),
            min_confidence=a.min_confidence,
        )

    def excludes(self) -> Excludes:
        return Excludes.build(
            self.config.excludes.paths, use_defaults=self.config.excludes.use_defaults
        )

    def path_hasher(self) -> Callable[[str], str] | None:
        privacy = self.config.privacy
        if not privacy.hash_paths:
            return None
        key = os.environ.get(privacy.path_hash_key_env or "")
        if not key:
            raise UserError(
                f"privacy.hash_paths is on but ${privacy.path_hash_key_env} is not set; export the key"
            )
        secret = key.encode()
        return lambda p: hmac.new(secret, p.encode(), hashlib.sha256).hexdigest()[:32]


def settings(config_path: Path | None, *, required: bool = False) -> Settings:
    found = find_config(config_path)
    if found is None:
        if required:
            raise UserError(f"no configuration found: pass --config, set $SPRINTPROOF_CONFIG, create ./{CONFIG_NAME} "
                            "with `sprintproof init`, or build the demo with `sprintproof demo`")  # fmt: skip
        return Settings(parse_config({}, base=Path.cwd()), None)
    return Settings(load_config(found), found)


def git_sources(s: Settings, repos: list[str]) -> list[GitSource]:
    if repos:
        return [
            GitSource(location=r if "://" in r or "@" in r else str(Path(r).expanduser().resolve()))
            for r in repos
        ]
    return [GitSource(location=src.url or src.path or "", name=src.name, default_branch=src.default_branch,
                      token_env=src.token_env) for src in s.config.sources
            if isinstance(src, GitSourceConfig)]  # fmt: skip


def api_sources(s: Settings, names: list[str]) -> list[SourceSettings]:
    found: list[SourceSettings] = [
        src for src in s.config.sources if not isinstance(src, GitSourceConfig)
    ]
    if names:
        known = {src.source_name for src in found}
        unknown = sorted(set(names) - known)
        if unknown:
            raise UserError(f"no source named {', '.join(unknown)} in the configuration; known: {', '.join(sorted(known)) or 'none'}")  # fmt: skip
        found = [src for src in found if src.source_name in names]
    return found


# --------------------------------------------------------------------------- board pack


def board_pack_settings(s: Settings) -> DashboardSettings:
    """What the board pack needs from the configuration, in the dashboard's terms: name, privacy, confidence, checks."""
    c = s.config
    return DashboardSettings(
        organisation=c.organisation,
        warehouse=c.warehouse_path,
        snapshot=c.snapshot_path,
        min_group_size=c.privacy.min_group_size,
        per_person_views=c.privacy.per_person_views,
        confidence=c.metrics.confidence,
        checks=Checks(
            freshness_hours=c.checks.freshness_hours,
            window_days=c.checks.window_days,
            identity_coverage=c.checks.identity_coverage,
            attribution_coverage=c.checks.attribution_coverage,
            ticket_link_coverage=c.checks.ticket_link_coverage,
            drift_window=c.checks.drift_window,
            drift_threshold=c.checks.drift_threshold,
        ),
        source=str(s.path) if s.path else "defaults",
    )


def board_pack_path(s: Settings, sprint_id: str) -> Path:
    """Where the pack of an organisation sprint is kept: <workspace>/reports/board-pack-<sprint>.pdf."""
    from dashboards.report import (
        pack_file_name,
    )  # plotting and PDF libraries load only when a pack is made

    return s.config.reports_dir / pack_file_name(sprint_id)


def report_source(s: Settings) -> Path:
    """The file a command-line report reads: the warehouse (freshest), or its published snapshot
    while a writer holds the warehouse (DuckDB lets no other process read it then)."""
    snapshot = s.config.snapshot_path
    if not snapshot.exists():
        return s.warehouse
    try:
        with connect(s.warehouse, read_only=True):
            return s.warehouse
    except WarehouseError:
        return snapshot
