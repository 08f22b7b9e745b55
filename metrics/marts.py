"""Recompute every mart from the raw tables: calendar, identities, facts, sprint_metrics, tool mix, board summary.

`recompute(con, settings)` reads the raw tables lazily, computes everything in Polars with one
collect per mart, and replaces all marts in one transaction, so a reader sees the old marts or
the new ones, never a mix.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from metrics import ai, dora, durability, flow, quality, velocity
from metrics.calendar import build_calendar
from metrics.common import METRIC_ROW_SCHEMA
from metrics.definitions import definitions
from metrics.facts import fact_commits, fact_prs
from metrics.model import ORG, SPRINT_METRICS_SCHEMA, Settings
from metrics.people import membership, resolve

HEADLINE = (
    "acr_lines",
    "acr_commits",
    "acr_prs",
    "agentic_commit_rate",
    "velocity_points",
    "velocity_acceleration",
    "bug_density_change",
    "review_rejection_rate",
    "cycle_time_p50",
    "deployment_frequency",
    "change_fail_rate",
    "ai_durability",
)


@dataclass
class Inputs:
    """The raw tables the metrics read, as LazyFrames (materialised from one connection)."""

    commits: pl.LazyFrame
    trailers: pl.LazyFrame
    notes: pl.LazyFrame
    prs: pl.LazyFrame
    reviews: pl.LazyFrame
    pr_commits: pl.LazyFrame
    forge_repos: pl.LazyFrame
    tickets: pl.LazyFrame
    ticket_events: pl.LazyFrame
    ticket_sprints: pl.LazyFrame
    ticket_statuses: pl.LazyFrame
    sprints: pl.LazyFrame
    releases: pl.LazyFrame
    deployments: pl.LazyFrame
    deployment_statuses: pl.LazyFrame
    identities: pl.LazyFrame
    evidence_authors: pl.LazyFrame  # author identities that matched an agent or bot rule
    extra: dict[str, pl.LazyFrame] = field(default_factory=dict)


@dataclass
class Context:
    """What every metric family receives."""

    inputs: Inputs
    settings: Settings
    calendar: pl.LazyFrame
    commits: pl.LazyFrame  # fact_commits
    prs: pl.LazyFrame  # fact_prs
    identity_map: pl.LazyFrame
    members: pl.LazyFrame
    today: date
    # Facts a family computes once and others reuse (mart_tickets, ...).
    memo: dict[str, pl.DataFrame] = field(default_factory=dict)
    facts: dict[str, pl.LazyFrame] = field(default_factory=dict)  # further fact marts, collected


Family = Callable[[Context], pl.LazyFrame]


def _ai_family(ctx: Context) -> pl.LazyFrame:
    confidence = ctx.settings.confidence
    return pl.concat(
        [
            ai.commit_metrics(ctx.commits, confidence),
            ai.pr_metrics(ctx.prs, confidence),
            ai.notes_metrics(ctx.commits, ctx.inputs.notes, confidence),
        ]
    )


# Metric families in display order; each returns rows in metrics.common.METRIC_ROW_SCHEMA.
FAMILIES: dict[str, Family] = {
    "ai": _ai_family,
    "delivery": velocity.delivery,
    "quality": quality.quality,
    "flow": flow.family,
    "dora": dora.family,
    "durability": durability.family,
    "guard": velocity.guard,
}

# Builders of further fact marts (name -> frame), built before the families run and handed to
# them in Context.facts (docs/warehouse.md, "Marts").
FACT_MARTS: tuple[Callable[[Context], dict[str, pl.DataFrame]], ...] = (
    dora.fact_marts,
    durability.fact_marts,
)


def _table(con: duckdb.DuckDBPyConnection, sql: str) -> pl.LazyFrame:
    # Materialised once: a DuckDB result streams and owns the connection until it is consumed.
    frame = con.sql(sql).pl()
    # DuckDB names the zone "Etc/UTC"; one spelling everywhere keeps joins on time columns legal.
    zoned = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    ]
    return (
        frame.lazy().with_columns(pl.col(zoned).dt.convert_time_zone("UTC"))
        if zoned
        else frame.lazy()
    )


def load_inputs(con: duckdb.DuckDBPyConnection) -> Inputs:
    return Inputs(
        commits=_table(
            con,
            "SELECT repo, sha, authored_at, committed_at, author_email, author_canonical_email, is_merge, "
            "in_default_history, is_reachable, ai_tool, ai_mode, ai_via_pr, is_revert, reverted_sha, stats_complete, "
            "additions, deletions, excluded_additions, excluded_deletions FROM commits",
        ),
        trailers=_table(
            con,
            "SELECT repo, sha, position, key, value FROM commit_trailers WHERE key = 'co-authored-by'",
        ),
        notes=_table(con, "SELECT repo, sha, kind, tool, lines FROM commit_ai_notes"),
        prs=_table(con, "SELECT * FROM pull_requests"),
        reviews=_table(con, "SELECT * FROM pr_reviews"),
        pr_commits=_table(
            con,
            "SELECT source, repo, pr_number, sha, position, author_email, author_login, authored_at, trailers, "
            "ai_tool, ai_mode FROM pr_commits",
        ),
        forge_repos=_table(con, "SELECT * FROM forge_repos"),
        tickets=_table(con, "SELECT * FROM tickets"),
        ticket_events=_table(con, "SELECT * FROM ticket_events"),
        ticket_sprints=_table(con, "SELECT * FROM ticket_sprints"),
        ticket_statuses=_table(con, "SELECT * FROM ticket_statuses"),
        sprints=_table(con, "SELECT * FROM sprints"),
        releases=_table(con, "SELECT * FROM releases"),
        deployments=_table(con, "SELECT * FROM deployments"),
        deployment_statuses=_table(con, "SELECT * FROM deployment_statuses"),
        identities=_table(con, "SELECT * FROM identities"),
        evidence_authors=_table(
            con,
            "SELECT DISTINCT lower(regexp_extract(matched, '<([^<>]+)>', 1)) AS identity FROM ai_evidence "
            "WHERE subject_kind = 'commit' AND field = 'author' AND mode IN ('agent', 'bot') "
            "UNION SELECT DISTINCT lower(login) FROM identities WHERE account_type IN ('bot', 'app') "
            "UNION SELECT DISTINCT lower(author_login) FROM pull_requests WHERE author_type = 'bot'",
        ),
        extra={"commit_durability": _table(con, "SELECT * FROM commit_durability")},
    )


def _observed(inputs: Inputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every identity the data shows (identity, kind, seen, name) and the pairs known to be one account."""
    commits = inputs.commits
    observed = (
        pl.concat(
            [
                commits.group_by(pl.col("author_email").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(pl.lit("email").alias("kind"), pl.lit(None, pl.String).alias("name")),
                commits.group_by(pl.col("author_canonical_email").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(pl.lit("email").alias("kind"), pl.lit(None, pl.String).alias("name")),
                inputs.prs.group_by(pl.col("author_login").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(pl.lit("login").alias("kind"), pl.lit(None, pl.String).alias("name")),
                inputs.tickets.group_by(pl.col("assignee_id").alias("identity"))
                .agg(pl.len().alias("seen"))
                .with_columns(
                    pl.lit("account").alias("kind"), pl.lit(None, pl.String).alias("name")
                ),
                inputs.identities.select(
                    pl.col("account_id").alias("identity"),
                    pl.lit(0, pl.UInt32).alias("seen"),
                    pl.col("kind"),
                    pl.col("name"),
                ),
            ],
            how="diagonal_relaxed",
        )
        .filter(pl.col("identity").is_not_null())
        .collect()
    )
    links = (
        pl.concat(
            [
                commits.select(
                    pl.col("author_email").alias("a"), pl.col("author_canonical_email").alias("b")
                ),
                inputs.pr_commits.select(
                    pl.col("author_email").alias("a"), pl.col("author_login").alias("b")
                ),
                inputs.identities.select(
                    pl.col("account_id").alias("a"), pl.col("login").alias("b")
                ),
                inputs.identities.select(
                    pl.col("account_id").alias("a"), pl.col("email").alias("b")
                ),
            ],
            how="diagonal_relaxed",
        )
        .filter(
            pl.col("a").is_not_null()
            & pl.col("b").is_not_null()
            & (pl.col("a").str.to_lowercase() != pl.col("b").str.to_lowercase())
        )
        .unique()
        .collect()
    )
    return observed, links


@dataclass
class Marts:
    tables: dict[str, pl.DataFrame]
    seconds: dict[str, float]
    warnings: list[str]


def compute(
    inputs: Inputs, settings: Settings, *, families: dict[str, Family] | None = None
) -> Marts:
    """Every mart as a DataFrame; timings per step for the benchmark."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    today = settings.today or datetime.now(UTC).date()
    first = inputs.commits.select(pl.col("committed_at").min()).collect().item()
    calendar = build_calendar(
        inputs.sprints, settings, first_activity=first.date() if first else None, today=today
    ).collect()
    observed, links = _observed(inputs)
    bots = inputs.evidence_authors.collect().get_column("identity").drop_nulls().to_list()
    resolution = resolve(settings, observed, links, bots)
    members = membership(settings, resolution.identity_map)
    timings["calendar_people"] = time.perf_counter() - started

    step = time.perf_counter()
    cal = calendar.lazy()
    commits = fact_commits(
        inputs.commits,
        inputs.trailers,
        resolution.identity_map.lazy(),
        members.lazy(),
        cal,
        settings,
    ).collect()
    prs = fact_prs(inputs.prs, inputs.reviews, inputs.pr_commits, inputs.forge_repos, resolution.identity_map.lazy(),
                   members.lazy(), cal, settings).collect()  # fmt: skip
    timings["facts"] = time.perf_counter() - step

    ctx = Context(
        inputs,
        settings,
        cal,
        commits.lazy(),
        prs.lazy(),
        resolution.identity_map.lazy(),
        members.lazy(),
        today,
    )
    step = time.perf_counter()
    fact_marts = {name: frame for build in FACT_MARTS for name, frame in build(ctx).items()}
    ctx.facts.update({name: frame.lazy() for name, frame in fact_marts.items()})
    timings["fact_marts"] = time.perf_counter() - step

    step = time.perf_counter()
    produced = [family(ctx) for family in (families or FAMILIES).values()]
    metric_rows = (
        pl.concat(produced).collect() if produced else pl.DataFrame(schema=METRIC_ROW_SCHEMA)
    )
    timings["metrics"] = time.perf_counter() - step

    step = time.perf_counter()
    sprint_metrics = finalise(metric_rows, calendar, members, settings, tuple(families or FAMILIES))
    mix = ai.tool_mix(ctx.commits, ctx.prs).collect()
    summary = board_summary(sprint_metrics)
    timings["finalise"] = time.perf_counter() - step
    warnings = [f"identity conflict: {c}" for c in resolution.conflicts]
    return Marts(
        tables={
            "mart_calendar": calendar,
            "mart_identities": resolution.identity_map,
            "mart_unmatched_identities": resolution.unmatched,
            "mart_commits": commits,
            "mart_prs": prs,
            **fact_marts,
            "sprint_metrics": sprint_metrics,
            "sprint_tool_mix": mix,
            "board_summary": summary,
            # mart_tickets, mart_sprint_scope, mart_releases, mart_guards
            **velocity.delivery_marts(ctx),
        },
        seconds=timings,
        warnings=warnings,
    )


def team_sizes(calendar: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Configured members per team sprint (membership overlapping the sprint); the org counts everyone."""
    team = (
        calendar.filter(pl.col("team") != ORG)
        .join(members, on="team", how="left")
        .filter(
            (pl.col("member_from") < pl.col("sprint_end"))
            & (pl.col("member_to") > pl.col("sprint_start"))
        )
        .group_by("team", "sprint_id")
        .agg(pl.col("person_id").n_unique().alias("members"))
    )
    org_count = members.get_column("person_id").n_unique()
    org = calendar.filter(pl.col("team") == ORG).select(
        "team", "sprint_id", pl.lit(org_count, pl.UInt32).alias("members")
    )
    return pl.concat([team, org], how="vertical_relaxed")


def finalise(
    metric_rows: pl.DataFrame,
    calendar: pl.DataFrame,
    members: pl.DataFrame,
    settings: Settings,
    families: Sequence[str] = (),
) -> pl.DataFrame:
    """Join sprint names and dates, attach definition versions, apply the privacy and sample rules.

    Every (team, sprint) of the calendar that has started gets every metric of the families that
    ran (and any other metric produced), so a sprint without data says `insufficient_data`
    instead of being absent; so does a number resting on fewer than `min_sample` units
    (families give `sample`; counts give none). A team smaller than `min_group_size` is `suppressed`: its numbers are removed, not
    only hidden.
    """
    versions = pl.DataFrame(
        [(d.id, d.version) for d in definitions().values()],
        schema={"metric_id": pl.String, "definition_version": pl.Int32},
        orient="row",
    )
    unknown = set(metric_rows.get_column("metric_id").unique().to_list()) - set(
        versions.get_column("metric_id").to_list()
    )
    if unknown:
        raise ValueError(
            f"metrics without a definition in metrics/definitions.yaml: {sorted(unknown)}"
        )
    started = calendar.filter(pl.col("sprint_state") != "future").select(
        "team", "sprint_id", "sprint_name", "sprint_start", "sprint_end", "sprint_state"
    )
    produced = set(metric_rows.get_column("metric_id").unique().to_list())
    ids = sorted(produced | {d.id for d in definitions().values() if d.family in families})
    grid = started.join(pl.DataFrame({"metric_id": ids}), how="cross")
    sizes = team_sizes(calendar, members)
    out = (
        grid.join(metric_rows, on=["team", "sprint_id", "metric_id"], how="left")
        .join(versions, on="metric_id", how="left")
        .join(sizes, on=["team", "sprint_id"], how="left")
        .with_columns(
            pl.when(
                (pl.col("team") != ORG) & (pl.col("members").fill_null(0) < settings.min_group_size)
            )
            .then(pl.lit("suppressed"))
            .when(pl.col("sample").is_not_null() & (pl.col("sample") < settings.min_sample))
            .then(pl.lit("insufficient_data"))
            .when(pl.col("value").is_null())
            .then(pl.lit("insufficient_data"))
            .otherwise(pl.lit("ok"))
            .alias("status")
        )
        .with_columns(
            *[
                pl.when(pl.col("status") == "ok").then(pl.col(c)).alias(c)
                for c in ("value", "ci_low", "ci_high")
            ],
            *[
                pl.when(pl.col("status") != "suppressed").then(pl.col(c)).alias(c)
                for c in ("numerator", "denominator", "coverage")
            ],
        )
        .select(list(SPRINT_METRICS_SCHEMA))
        .cast(SPRINT_METRICS_SCHEMA)  # type: ignore[arg-type]
        .sort("team", "sprint_start", "metric_id")
    )
    return out


def board_summary(sprint_metrics: pl.DataFrame, *, sprints: int = 6) -> pl.DataFrame:
    """The latest sprints of each team and the organisation, one row each, headline metrics as columns."""
    latest = (
        sprint_metrics.select("team", "sprint_id", "sprint_start")
        .unique()
        .sort("sprint_start", descending=True)
        .group_by("team", maintain_order=True)
        .head(sprints)
    )
    headline = sprint_metrics.join(
        latest.select("team", "sprint_id"), on=["team", "sprint_id"], how="semi"
    ).filter(pl.col("metric_id").is_in(HEADLINE))
    if headline.is_empty():
        return pl.DataFrame(
            schema={
                "team": pl.String,
                "sprint_id": pl.String,
                "sprint_name": pl.String,
                "sprint_start": SPRINT_METRICS_SCHEMA["sprint_start"],
            }
        )
    values = headline.pivot(
        on="metric_id", index=["team", "sprint_id", "sprint_name", "sprint_start"], values="value"
    )
    extra = headline.filter(pl.col("metric_id") == "velocity_acceleration").select(
        "team",
        "sprint_id",
        pl.col("ci_low").alias("velocity_acceleration_ci_low"),
        pl.col("ci_high").alias("velocity_acceleration_ci_high"),
    )
    return values.join(extra, on=["team", "sprint_id"], how="left").sort("team", "sprint_start")


def write(con: duckdb.DuckDBPyConnection, marts: Marts) -> None:
    """Replace every mart in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name, frame in marts.tables.items():
            con.register("_mart", frame.to_arrow())
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _mart')
            con.unregister("_mart")
        con.execute(
            "CREATE TABLE IF NOT EXISTS metric_runs (computed_at TIMESTAMPTZ NOT NULL, seconds DOUBLE NOT NULL, "
            "rows_sprint_metrics BIGINT NOT NULL, warnings VARCHAR[] NOT NULL)"
        )
        con.execute(
            "INSERT INTO metric_runs VALUES (now(), ?, ?, ?)",
            [sum(marts.seconds.values()), marts.tables["sprint_metrics"].height, marts.warnings],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def recompute(con: duckdb.DuckDBPyConnection, settings: Settings) -> Marts:
    step = time.perf_counter()
    inputs = load_inputs(con)
    load_seconds = time.perf_counter() - step
    marts = compute(inputs, settings)
    marts.seconds = {"load": load_seconds, **marts.seconds}
    step = time.perf_counter()
    write(con, marts)
    marts.seconds["write"] = time.perf_counter() - step
    return marts
