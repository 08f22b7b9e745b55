"""sprintproof.yaml: the configuration model, its validation with precise errors, and where it is found."""

import os
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.attribution import FIELDS
from ingestion.settings import (
    CopilotSettings,
    GitHubSettings,
    GitLabSettings,
    JiraCsvSettings,
    JiraSettings,
    LinearSettings,
)

if TYPE_CHECKING:
    from metrics.model import Settings as MetricSettings

CONFIG_ENV = "SPRINTPROOF_CONFIG"
HOME_ENV = "SPRINTPROOF_HOME"
CONFIG_NAME = "sprintproof.yaml"


class ConfigError(Exception):
    """A configuration problem: names the file, the key, what is wrong and what is expected."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GitSourceConfig(_Model):
    """A git repository: a local path (bare or not) or a remote URL that is mirrored locally."""

    type: Literal["git"]
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    path: str | None = None
    url: str | None = None
    default_branch: str | None = None
    token_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")

    @model_validator(mode="after")
    def _one_location(self) -> "GitSourceConfig":
        if (self.path is None) == (self.url is None):
            raise ValueError(
                "give exactly one of 'path' (a local repository) or 'url' (a remote to mirror)"
            )
        return self


SourceConfig = Annotated[
    GitSourceConfig
    | GitHubSettings
    | GitLabSettings
    | JiraSettings
    | LinearSettings
    | CopilotSettings
    | JiraCsvSettings,
    Field(discriminator="type"),
]
SOURCE_TYPES = ("git", "github", "gitlab", "jira", "linear", "copilot", "jira_csv")


def source_name(source: "SourceConfig") -> str:
    """The name a source has in the warehouse (its `name`, else a default from its location or type)."""
    if isinstance(source, GitSourceConfig):
        return source.name or Path((source.path or source.url or "").rstrip("/")).name.removesuffix(
            ".git"
        )
    return source.source_name


class ExcludesConfig(_Model):
    use_defaults: bool = True
    paths: list[str] = []


class RuleConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    field: str
    pattern: str
    tool: str = Field(pattern=r"^[a-z0-9_]+$")
    mode: Literal["agent", "assisted", "review", "bot"]
    confidence: float = Field(ge=0.0, le=1.0)
    description: str = ""

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in FIELDS:
            raise ValueError(f"unknown field {value!r}; expected one of: {', '.join(FIELDS)}")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return pattern


class AttributionConfig(_Model):
    rules: list[RuleConfig] = []
    disable: list[str] = []
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class MemberConfig(_Model):
    id: str  # an email, a forge login, a Jira accountId or a Linear id
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SprintConfig(_Model):
    length_days: int = Field(default=14, ge=1, le=70)
    first_start: date | None = None


class TeamSprintsConfig(_Model):
    """Where a team's sprints come from: a tracker's board (Jira board id, Linear team key, GitLab
    group or project, GitHub repository for milestones) or a cadence of its own."""

    source: str | None = None  # a configured source's name
    board: str | None = None
    length_days: int | None = Field(default=None, ge=1, le=70)
    first_start: date | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "TeamSprintsConfig":
        tracker = self.source is not None or self.board is not None
        cadence = self.length_days is not None or self.first_start is not None
        if tracker and cadence:
            raise ValueError(
                "give either source and board (tracker sprints) or length_days/first_start (a cadence)"
            )
        if tracker and (self.source is None or self.board is None):
            raise ValueError("tracker sprints need both source (a source's name) and board")
        return self


class TeamConfig(_Model):
    name: str = Field(min_length=1)
    members: list[MemberConfig | str] = []
    repos: list[str] = []
    projects: list[str] = []  # ticket projects (Jira keys, Linear team keys) the team works in
    ai_rollout: date | None = None
    sprints: TeamSprintsConfig | None = None

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("__"):
            raise ValueError(
                "team names starting with '__' are reserved (__org__ is the organisation)"
            )
        return value

    def member_ids(self) -> list[str]:
        return [m if isinstance(m, str) else m.id for m in self.members]


class PersonConfig(_Model):
    """One person and every identity they use (emails, forge logins, Jira accountId, Linear id)."""

    name: str = Field(min_length=1)
    ids: list[str] = Field(min_length=1)


class MetricsConfig(_Model):
    min_sample: int = Field(default=5, ge=1)  # fewer items in a denominator: insufficient_data
    baseline_min_sprints: int = Field(default=3, ge=1)
    confidence: float = Field(default=0.9, gt=0.5, lt=1.0)
    bootstrap_samples: int = Field(default=2000, ge=100, le=100_000)
    seed: int = 0
    production_environments: list[str] = ["production", "prod", "live"]
    incident_types: list[str] = ["incident"]  # ticket type names or type categories
    incident_labels: list[str] = []
    incident_window_hours: int = Field(default=24, ge=1, le=24 * 30)
    rework_window_hours: int = Field(default=24, ge=1, le=24 * 30)
    rework_pattern: str = r"(?i)\b(hot-?fix|revert|rollback)\b"
    durability_days: int = Field(default=30, ge=1)
    churn_days: int = Field(default=21, ge=1)

    @field_validator("rework_pattern")
    @classmethod
    def _rework_pattern_compiles(cls, pattern: str) -> str:
        # The metrics engine matches it with Polars' regex engine (no look-around, no backreferences).
        import polars as pl

        try:
            pl.Series([""]).str.contains(pattern)
        except pl.exceptions.ComputeError as exc:
            reason = next(
                (
                    line[len("error: ") :]
                    for line in str(exc).splitlines()
                    if line.startswith("error: ")
                ),
                "it does not parse",
            )
            raise ValueError(f"not a valid regular expression: {reason}") from None
        return pattern


class BaselineConfig(_Model):
    sprints: int = Field(default=6, ge=1, le=52)


class PrivacyConfig(_Model):
    min_group_size: int = Field(default=3, ge=1)
    per_person_views: bool = False
    hash_paths: bool = False
    path_hash_key_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")

    @model_validator(mode="after")
    def _key_for_hashing(self) -> "PrivacyConfig":
        if self.hash_paths and not self.path_hash_key_env:
            raise ValueError(
                "hash_paths needs path_hash_key_env: the name of the environment variable holding the key"
            )
        return self


class IngestConfig(_Model):
    workers: int | None = Field(default=None, ge=1, le=64)
    # Fan-out: stage each repository in its own process (or pod) and merge with one writer.
    staged: bool = False
    staging_dir: Path | None = (
        None  # shared storage for staged repositories (default: <workspace>/staging/git)
    )
    max_concurrent: int = Field(default=2, ge=1, le=256)  # processes staging repositories at once


class EmailConfig(_Model):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[str] = Field(min_length=1)
    starttls: bool = True
    username_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    password_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")


class NotificationsConfig(_Model):
    """Where failed runs, failed checks and metric drift are reported."""

    slack_webhook_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    email: EmailConfig | None = None
    events: list[Literal["run_failure", "check_failure", "drift"]] = [
        "run_failure",
        "check_failure",
        "drift",
    ]


class ScheduleConfig(_Model):
    daily: str = "0 5 * * *"  # cron: incremental ingest and recompute
    timezone: str = "UTC"
    board_pack: bool = True  # a board pack after each sprint ends


class ChecksConfig(_Model):
    freshness_hours: float = Field(default=36.0, gt=0)
    row_count_factor: float = Field(
        default=5.0, gt=1
    )  # a run writing this many times its usual rows is an anomaly
    identity_coverage: float = Field(default=0.8, ge=0, le=1)
    attribution_coverage: float = Field(default=0.7, ge=0, le=1)
    ticket_link_coverage: float = Field(default=0.5, ge=0, le=1)
    drift_threshold: float = Field(
        default=3.5, gt=0
    )  # robust z-score of a sprint against the recent envelope
    drift_window: int = Field(default=6, ge=3, le=26)  # sprints forming the envelope
    window_days: int = Field(default=30, ge=1)  # coverage checks look at this many recent days


class DashboardAuthConfig(_Model):
    """Sign-in through Streamlit's OIDC (`st.login`); the provider's settings go in
    `<workspace>/dashboard/.streamlit/secrets.toml` (docs/dashboard.md)."""

    enabled: bool = False
    # Viewer e-mail -> teams they may see ("*": every team and the organisation).
    roles: dict[str, list[str]] = {}


class DashboardConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)
    auth: DashboardAuthConfig = DashboardAuthConfig()


class Config(_Model):
    organisation: str = "My organisation"
    workspace: Path = Path(".sprintproof")
    warehouse: Path | None = None
    sources: list[SourceConfig] = []
    excludes: ExcludesConfig = ExcludesConfig()
    attribution: AttributionConfig = AttributionConfig()
    people: list[PersonConfig] = []
    teams: list[TeamConfig] = []
    sprints: SprintConfig = SprintConfig()
    metrics: MetricsConfig = MetricsConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    checks: ChecksConfig = ChecksConfig()
    dashboard: DashboardConfig = DashboardConfig()
    baseline: BaselineConfig = BaselineConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    ingest: IngestConfig = IngestConfig()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            name = source_name(source)
            if name in seen:
                raise ValueError(
                    f"two sources are named {name!r}; give one of them a distinct 'name'"
                )
            seen.add(name)
        return sources

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        names = [t.name for t in self.teams]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"team names must be unique; repeated: {', '.join(duplicated)}")
        owners: dict[str, str] = {}
        for person in self.people:
            for ident in person.ids:
                key = ident.strip().lower()
                if key in owners and owners[key] != person.name:
                    raise ValueError(
                        f"identity {ident!r} is listed for two people: {owners[key]} and {person.name}"
                    )
                owners[key] = person.name
        known_sources = {source_name(s) for s in self.sources}
        for team in self.teams:
            if team.sprints and team.sprints.source and team.sprints.source not in known_sources:
                raise ValueError(
                    f"team {team.name!r}: sprints.source {team.sprints.source!r} is not a configured source "
                    f"(known: {', '.join(sorted(known_sources)) or 'none'})"
                )
        return self

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse or self.workspace / "warehouse.duckdb"

    @property
    def mirrors_dir(self) -> Path:
        return self.workspace / "mirrors"

    @property
    def snapshot_path(self) -> Path:
        """The read-only copy each successful run publishes for the dashboard."""
        return self.workspace / "snapshot" / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.workspace / "dagster"

    @property
    def reports_dir(self) -> Path:
        return self.workspace / "reports"


_SECRET_KEYS = {"token", "password", "secret", "api_key", "apikey", "private_key"}


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (
            part in (*SOURCE_TYPES, "str", "int", "float", "bool")
            or part[:1].isupper()
            or part.startswith(("function-", "tagged-union"))
        ):
            continue  # pydantic's union members and tags are noise to a reader
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _explain(error: Any) -> str:
    loc = tuple(error.get("loc", ()))
    key = str(loc[-1]) if loc else ""
    kind = error.get("type", "")
    if kind == "extra_forbidden" and key.lower() in _SECRET_KEYS:
        return (f"{_where(loc)}: secrets are never read from the configuration file; "
                "put the name of an environment variable in token_env (or the matching *_env key)")  # fmt: skip
    if kind == "extra_forbidden":
        return f"{_where(loc)}: unknown key (check the spelling; `sprintproof init` writes every key with comments)"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        return f"{_where(loc)}.type: unknown source type {tag!r} (supported: {', '.join(SOURCE_TYPES)})"
    if kind == "union_tag_not_found":
        return f"{_where(loc)}: missing 'type' (one of: {', '.join(SOURCE_TYPES)})"
    msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    given = error.get("input")
    # Someone may paste the secret itself into a *_env key, or a URL with credentials: never echo those.
    secret_like = key.endswith("_env") or (
        isinstance(given, str) and "://" in given and "@" in given
    )
    shown = (
        f" (got {given!r})"
        if given is not None and not isinstance(given, dict | list) and not secret_like
        else ""
    )
    return f"{_where(loc)}: {msg}{shown}"


def parse_config(data: Any, *, origin: str = CONFIG_NAME, base: Path | None = None) -> Config:
    """Validate parsed YAML; relative paths are resolved against base (the file's folder)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [_explain(e) for e in exc.errors()]
        more = (
            f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
            if len(problems) > 1
            else ""
        )
        raise ConfigError(f"{origin}: {problems[0]}{more}") from exc
    if base is not None:
        workspace = (base / config.workspace.expanduser()).resolve()
        warehouse = (base / config.warehouse.expanduser()).resolve() if config.warehouse else None
        sources = [_resolve_paths(s, base) for s in config.sources]
        staging = config.ingest.staging_dir
        ingest = (
            config.ingest.model_copy(
                update={"staging_dir": (base / staging.expanduser()).resolve()}
            )
            if staging
            else config.ingest
        )
        config = config.model_copy(
            update={
                "workspace": workspace,
                "warehouse": warehouse,
                "sources": sources,
                "ingest": ingest,
            }
        )
    from ingestion.attribution import RuleError, RuleSet
    from ingestion.excludes import ExcludeError, Excludes

    try:
        Excludes.build(config.excludes.paths, use_defaults=config.excludes.use_defaults)
    except ExcludeError as exc:
        raise ConfigError(f"{origin}: excludes.paths: {exc}") from exc
    attribution = config.attribution
    try:
        RuleSet.load(custom_rules=[r.model_dump() for r in attribution.rules], disabled=attribution.disable,
                     min_confidence=attribution.min_confidence)  # fmt: skip
    except RuleError as exc:
        unknown = [d for d in attribution.disable if d in str(exc)]
        where = "attribution.disable" if unknown else "attribution.rules"
        raise ConfigError(f"{origin}: {where}: {exc}") from exc
    return config


def _resolve_paths(source: "SourceConfig", base: Path) -> "SourceConfig":
    """Relative local paths in a source are relative to the configuration file's folder."""
    updates: dict[str, str] = {}
    for key in ("path", "replay_dir"):
        value = getattr(source, key, None)
        if value:
            updates[key] = str((base / Path(value).expanduser()).resolve())
    return source.model_copy(update=updates) if updates else source


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: configuration file not found; run `sprintproof init` to write one"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from exc
    return parse_config(data, origin=str(path), base=path.parent.resolve())


def sprintproof_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".sprintproof").expanduser()


def demo_workspace() -> Path:
    return sprintproof_home() / "demo"


def find_config(explicit: Path | None = None) -> Path | None:
    """--config FILE, then $SPRINTPROOF_CONFIG, then ./sprintproof.yaml, then the demo workspace."""
    if explicit is not None:
        if not explicit.exists():
            raise ConfigError(f"{explicit}: configuration file not found (given with --config)")
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env).expanduser()
        if not path.exists():
            raise ConfigError(f"{path}: configuration file not found (named by ${CONFIG_ENV})")
        return path
    local = Path.cwd() / CONFIG_NAME
    if local.exists():
        return local
    demo = demo_workspace() / CONFIG_NAME
    return demo if demo.exists() else None


def metrics_settings(config: Config, *, today: date | None = None) -> "MetricSettings":
    """The metrics engine's plain settings from the configuration."""
    from metrics.model import Member, PersonSpec, TeamSpec
    from metrics.model import Settings as MetricSettings

    teams = tuple(
        TeamSpec(
            name=t.name,
            members=tuple(
                Member(m) if isinstance(m, str) else Member(m.id, m.start, m.end) for m in t.members
            ),
            repos=tuple(t.repos),
            projects=tuple(t.projects),
            ai_rollout=t.ai_rollout,
            sprint_source=t.sprints.source if t.sprints else None,
            sprint_board=t.sprints.board if t.sprints else None,
            cadence_days=t.sprints.length_days if t.sprints else None,
            cadence_start=t.sprints.first_start if t.sprints else None,
        )
        for t in config.teams
    )
    m = config.metrics
    return MetricSettings(
        teams=teams,
        people=tuple(PersonSpec(p.name, tuple(p.ids)) for p in config.people),
        cadence_days=config.sprints.length_days,
        cadence_start=config.sprints.first_start,
        baseline_sprints=config.baseline.sprints,
        baseline_min_sprints=m.baseline_min_sprints,
        min_group_size=config.privacy.min_group_size,
        per_person_views=config.privacy.per_person_views,
        min_sample=m.min_sample,
        confidence=m.confidence,
        bootstrap_samples=m.bootstrap_samples,
        seed=m.seed,
        production_environments=tuple(m.production_environments),
        incident_types=tuple(m.incident_types),
        incident_labels=tuple(m.incident_labels),
        incident_window_hours=m.incident_window_hours,
        rework_window_hours=m.rework_window_hours,
        rework_pattern=m.rework_pattern,
        durability_days=m.durability_days,
        churn_days=m.churn_days,
        today=today,
    )
