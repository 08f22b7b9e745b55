"""Where the dashboard finds its data and whom it shows what: command-line arguments, environment variables, settings file.

The launcher (`sprintproof dashboard`) starts `streamlit run dashboards/app.py` with environment
variables; arguments after `--` override them. docs/dashboard.md documents every key.
"""

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.warehouse import reader_path

ENV_WAREHOUSE = "SPRINTPROOF_WAREHOUSE"
ENV_SNAPSHOT = "SPRINTPROOF_SNAPSHOT"
ENV_SETTINGS = "SPRINTPROOF_DASHBOARD_SETTINGS"

ORG = "__org__"
ALL_TEAMS = "*"

_TOP_KEYS = {"organisation", "privacy", "auth", "metrics", "checks", "warehouse", "snapshot"}
_PRIVACY_KEYS = {"min_group_size", "per_person_views"}
_AUTH_KEYS = {"enabled", "provider", "roles"}
_METRICS_KEYS = {"confidence"}
_CHECKS_KEYS = {
    "freshness_hours",
    "window_days",
    "identity_coverage",
    "attribution_coverage",
    "ticket_link_coverage",
    "drift_window",
    "drift_threshold",
}


class SettingsError(Exception):
    """A settings file or argument the dashboard cannot use: the message names the file, key and fix."""


@dataclass(frozen=True)
class Access:
    """What one viewer may see: some teams (None: every team) and whether the organisation's numbers."""

    teams: frozenset[str] | None
    organisation: bool

    def allows(self, team: str) -> bool:
        if team == ORG:
            return self.organisation
        return self.teams is None or team in self.teams

    @property
    def full(self) -> bool:
        return self.teams is None and self.organisation


EVERYTHING = Access(teams=None, organisation=True)
NOTHING = Access(teams=frozenset(), organisation=False)


@dataclass(frozen=True)
class Auth:
    enabled: bool = False
    provider: str | None = None
    # (lower-cased e-mail address or "@domain", granted entries) pairs, in file order.
    roles: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def access_for(self, email: str | None) -> Access:
        """The viewer's access: an exact address first, then its domain; unknown viewers see nothing."""
        if not self.enabled:
            return EVERYTHING
        if not email:
            return NOTHING
        email = email.strip().lower()
        table = dict(self.roles)
        domain = "@" + email.rpartition("@")[2]
        granted = table.get(email, table.get(domain))
        if granted is None:
            return NOTHING
        if ALL_TEAMS in granted:
            return EVERYTHING
        teams = frozenset(g for g in granted if g != ORG)
        return Access(teams=teams, organisation=ORG in granted)


@dataclass(frozen=True)
class Checks:
    """Thresholds of the Data health page; the same meaning and defaults as `checks` in sprintproof.yaml."""

    freshness_hours: float = 36.0
    window_days: int = 30
    identity_coverage: float = 0.8
    attribution_coverage: float = 0.7
    ticket_link_coverage: float = 0.5
    drift_window: int = 6
    drift_threshold: float = 3.5


@dataclass(frozen=True)
class DashboardSettings:
    organisation: str = "My organisation"
    warehouse: Path | None = None
    snapshot: Path | None = None
    min_group_size: int = 3
    per_person_views: bool = False
    confidence: float = 0.9
    auth: Auth = field(default_factory=Auth)
    checks: Checks = field(default_factory=Checks)
    source: str = "defaults"

    @property
    def data_path(self) -> Path | None:
        """The file to read: the published snapshot when it exists, else the warehouse itself."""
        if self.warehouse is None:
            return self.snapshot if self.snapshot and self.snapshot.exists() else None
        return reader_path(self.warehouse, self.snapshot) if self.snapshot else self.warehouse


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The dashboard's own options; anything else on the command line is left to its owner."""
    parser = argparse.ArgumentParser(prog="dashboards/app.py", add_help=False, allow_abbrev=False)
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--snapshot", type=Path)
    parser.add_argument("--settings", type=Path)
    known, _ = parser.parse_known_args(list(argv))
    return known


def load(argv: Sequence[str], environ: Mapping[str, str]) -> DashboardSettings:
    """Settings from arguments (after `--`), then environment variables, then the settings file."""
    args = parse_args(argv)
    settings_file = args.settings or _path(environ.get(ENV_SETTINGS))
    data: dict[str, Any] = {}
    if settings_file is not None:
        data = read_file(settings_file)
    base = Path(settings_file).parent if settings_file else Path.cwd()
    where = str(settings_file) if settings_file else "defaults"
    warehouse = (
        args.warehouse
        or _path(environ.get(ENV_WAREHOUSE))
        or _relative(base, data.get("warehouse"), where, "warehouse")
    )
    snapshot = (
        args.snapshot
        or _path(environ.get(ENV_SNAPSHOT))
        or _relative(base, data.get("snapshot"), where, "snapshot")
    )
    return from_mapping(
        data,
        where=where,
        warehouse=warehouse,
        snapshot=snapshot,
    )


def read_file(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"{path}: cannot read the dashboard settings ({exc.strerror}); check {ENV_SETTINGS} or --settings"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a JSON object at the top level")
    return data


def from_mapping(
    data: Mapping[str, Any],
    *,
    where: str = "settings",
    warehouse: Path | None = None,
    snapshot: Path | None = None,
) -> DashboardSettings:
    """Validate the settings document; every error names the key and what is expected."""
    _no_unknown(data, _TOP_KEYS, where, "")
    organisation = data.get("organisation", "My organisation")
    if not isinstance(organisation, str) or not organisation.strip():
        raise SettingsError(f"{where}: organisation: expected a non-empty string")

    privacy = _section(data, "privacy", _PRIVACY_KEYS, where)
    min_group_size = privacy.get("min_group_size", 3)
    if (
        not isinstance(min_group_size, int)
        or isinstance(min_group_size, bool)
        or min_group_size < 1
    ):
        raise SettingsError(f"{where}: privacy.min_group_size: expected an integer of at least 1")
    per_person = privacy.get("per_person_views", False)
    if not isinstance(per_person, bool):
        raise SettingsError(f"{where}: privacy.per_person_views: expected true or false")

    metrics = _section(data, "metrics", _METRICS_KEYS, where)
    confidence = metrics.get("confidence", 0.9)
    if not isinstance(confidence, int | float) or not 0 < float(confidence) < 1:
        raise SettingsError(
            f"{where}: metrics.confidence: expected a number between 0 and 1, such as 0.9"
        )

    return DashboardSettings(
        organisation=organisation.strip(),
        warehouse=warehouse,
        snapshot=snapshot,
        min_group_size=min_group_size,
        per_person_views=per_person,
        confidence=float(confidence),
        auth=_auth(_section(data, "auth", _AUTH_KEYS, where), where),
        checks=_checks(_section(data, "checks", _CHECKS_KEYS, where), where),
        source=where,
    )


def _auth(section: Mapping[str, Any], where: str) -> Auth:
    enabled = section.get("enabled", False)
    if not isinstance(enabled, bool):
        raise SettingsError(f"{where}: auth.enabled: expected true or false")
    provider = section.get("provider")
    if provider is not None and (not isinstance(provider, str) or not provider.strip()):
        raise SettingsError(
            f"{where}: auth.provider: expected the name of an [auth.NAME] section of .streamlit/secrets.toml"
        )
    roles = section.get("roles", {})
    if not isinstance(roles, dict):
        raise SettingsError(
            f'{where}: auth.roles: expected an object such as {{"lead@acme.example": ["Web"]}}'
        )
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for who, granted in roles.items():
        if not isinstance(who, str) or "@" not in who:
            raise SettingsError(
                f"{where}: auth.roles: {who!r} is not an e-mail address or an @domain"
            )
        if not isinstance(granted, list) or not all(isinstance(g, str) and g for g in granted):
            raise SettingsError(
                f'{where}: auth.roles.{who}: expected a list of team names, "*" (everything) or "{ORG}" (the organisation)'
            )
        pairs.append((who.strip().lower(), tuple(granted)))
    return Auth(
        enabled=enabled, provider=provider.strip() if provider else None, roles=tuple(pairs)
    )


def _checks(section: Mapping[str, Any], where: str) -> Checks:
    values: dict[str, Any] = {}
    defaults = Checks()
    for key in _CHECKS_KEYS:
        if key not in section:
            continue
        given = section[key]
        wanted = type(getattr(defaults, key))
        ok = isinstance(given, int | float) and not isinstance(given, bool) and given > 0
        if wanted is int:
            ok = ok and isinstance(given, int)
        if key.endswith("_coverage"):
            ok = ok and given <= 1
        if not ok:
            expected = (
                "a share between 0 and 1"
                if key.endswith("_coverage")
                else f"a positive {wanted.__name__}"
            )
            raise SettingsError(f"{where}: checks.{key}: expected {expected}")
        values[key] = wanted(given)
    return Checks(**values)


def _section(data: Mapping[str, Any], key: str, allowed: set[str], where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingsError(f"{where}: {key}: expected an object")
    _no_unknown(value, allowed, where, f"{key}.")
    return value


def _no_unknown(data: Mapping[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SettingsError(
            f"{where}: unknown key {prefix}{unknown[0]}; expected one of {', '.join(prefix + k for k in sorted(allowed))}"
        )


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _relative(base: Path, value: Any, where: str, key: str) -> Path | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise SettingsError(f"{where}: {key}: expected a file path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
