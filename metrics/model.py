"""Plain inputs of the metrics engine (teams, people, cadence, settings) and the schemas of its marts."""

from dataclasses import dataclass, field
from datetime import date

import polars as pl

ORG = "__org__"
UTC_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Member:
    id: str
    start: date | None = None  # inclusive
    end: date | None = None  # inclusive


@dataclass(frozen=True)
class TeamSpec:
    name: str
    members: tuple[Member, ...] = ()
    repos: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    ai_rollout: date | None = None
    sprint_source: str | None = None  # tracker sprints: a source's name and a board id
    sprint_board: str | None = None
    cadence_days: int | None = None  # a cadence of the team's own
    cadence_start: date | None = None


@dataclass(frozen=True)
class PersonSpec:
    name: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """Everything the computation needs besides the warehouse; plain values, hashable for caching."""

    teams: tuple[TeamSpec, ...] = ()
    people: tuple[PersonSpec, ...] = ()
    cadence_days: int = 14
    cadence_start: date | None = None
    baseline_sprints: int = 6
    baseline_min_sprints: int = 3
    min_group_size: int = 3
    per_person_views: bool = False
    min_sample: int = 5
    confidence: float = 0.9
    bootstrap_samples: int = 2000
    seed: int = 0
    production_environments: tuple[str, ...] = ("production", "prod", "live")
    incident_types: tuple[str, ...] = ("incident",)  # ticket type names or categories
    incident_labels: tuple[str, ...] = ()
    incident_window_hours: int = 24  # an incident this soon after a deployment is its failure
    rework_window_hours: int = 24  # a deployment this soon after a change failure is rework
    rework_pattern: str = r"(?i)\b(hot-?fix|revert|rollback)\b"  # refs, PR titles, branches, labels
    durability_days: int = 30
    churn_days: int = 21
    today: date | None = None  # the computation's "now" (tests); None: today in UTC
    extra: dict[str, object] = field(default_factory=dict, hash=False, compare=False)


# One row per (team, sprint, metric): the long mart every dashboard and the board pack read.
SPRINT_METRICS_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "sprint_name": pl.String,
    "sprint_start": UTC_TS,
    "sprint_end": UTC_TS,
    "sprint_state": pl.String,
    "metric_id": pl.String,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "coverage": pl.Float64,
    "definition_version": pl.Int32,
    "status": pl.String,  # ok | insufficient_data | suppressed
    "note": pl.String,
}
