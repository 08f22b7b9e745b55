"""AI code durability: of the lines a sprint's work commits added, the share still on the default branch after 30 days and the share rewritten within 21, AI against human; and the AI share of the surviving code.

The line counts come from `commit_durability` (ingestion/durability.py): per commit, the lines it
introduced (moved and copied code is not introduced; excluded paths are left out) and how many of
them were on the default branch `churn_days` and `durability_days` after the commit landed there.
A line is AI when the commit's git-ai note attests an AI session wrote it, human when the note
attests a human, and otherwise follows the commit's effective attribution (`is_ai`).

`mart_durability` has one row per work commit with complete line counts that added lines; a
commit not measured yet (its window has not closed, or the measurement step has not run) has
`measured = false` and NULL counts. The numbers are ratios of sums over the measured commits, with
the commits as units (the linearised interval of acr_lines). `coverage` is the share of the
sprint's rows that are measured; below `MIN_COVERAGE` the sprint has no value (insufficient_data):
its early commits alone would speak for it.
"""

from typing import TYPE_CHECKING

import polars as pl

from metrics.common import by_team_and_org, rows
from metrics.model import UTC_TS
from metrics.stats import ratio_interval, ratio_sums

if TYPE_CHECKING:
    from metrics.marts import Context

MIN_COVERAGE = 0.5
"""Share of a sprint's commits that must be measured before its durability numbers are published."""

MEASURED_SCHEMA = {
    "repo": pl.String,
    "sha": pl.String,
    "landed_at": UTC_TS,
    "lines_added": pl.Int32,
    "alive_churn": pl.Int32,
    "alive_durable": pl.Int32,
    "note_ai_lines": pl.Int32,
    "note_ai_alive_churn": pl.Int32,
    "note_ai_alive_durable": pl.Int32,
    "note_human_lines": pl.Int32,
    "note_human_alive_churn": pl.Int32,
    "note_human_alive_durable": pl.Int32,
}

MART_SCHEMA = {
    "repo": pl.String,
    "sha": pl.String,
    "committed_at": UTC_TS,
    "team": pl.String,
    "team_via": pl.String,
    "sprint_id": pl.String,
    "org_sprint_id": pl.String,
    "is_ai": pl.Boolean,
    "ai_tool": pl.String,
    "ai_mode": pl.String,
    "measured": pl.Boolean,
    "landed_at": UTC_TS,
    "lines": pl.Int32,
    "alive_churn": pl.Int32,
    "alive_durable": pl.Int32,
    "ai_lines": pl.Int32,
    "ai_alive_churn": pl.Int32,
    "ai_alive_durable": pl.Int32,
    "human_lines": pl.Int32,
    "human_alive_churn": pl.Int32,
    "human_alive_durable": pl.Int32,
}


def measured_table(ctx: "Context") -> pl.LazyFrame:
    """commit_durability as loaded (an empty frame when the inputs do not carry it)."""
    found = ctx.inputs.extra.get("commit_durability")
    if found is None:
        return pl.LazyFrame(schema=MEASURED_SCHEMA)
    return found.select(list(MEASURED_SCHEMA)).cast(MEASURED_SCHEMA)  # type: ignore[arg-type]


def _ai_part(total: str, note_ai: str, note_human: str) -> pl.Expr:
    """AI lines of a commit: attested AI, plus the unattested rest when the commit is AI."""
    rest = pl.col(total) - pl.col(note_ai) - pl.col(note_human)
    return (pl.col(note_ai) + pl.when(pl.col("is_ai")).then(rest).otherwise(0)).cast(pl.Int32)


def durability_facts(commits: pl.LazyFrame, measured: pl.LazyFrame) -> pl.LazyFrame:
    """mart_durability: work commits that added lines, with their measured survival (or none yet)."""
    population = commits.filter(
        pl.col("is_work") & pl.col("stats_complete") & (pl.col("lines_added") > 0)
    ).select("repo", "sha", "committed_at", "team", "team_via", "sprint_id", "org_sprint_id", "is_ai",
             "ai_tool", "ai_mode")  # fmt: skip
    counts = [
        ("lines", "lines_added", "note_ai_lines", "note_human_lines"),
        ("alive_churn", "alive_churn", "note_ai_alive_churn", "note_human_alive_churn"),
        ("alive_durable", "alive_durable", "note_ai_alive_durable", "note_human_alive_durable"),
    ]
    return (
        population.join(measured, on=["repo", "sha"], how="left")
        .with_columns(pl.col("landed_at").is_not_null().alias("measured"))
        .with_columns(
            *[pl.col(total).cast(pl.Int32).alias(name) for name, total, _, _ in counts],
            *[_ai_part(total, ai, human).alias(f"ai_{name}") for name, total, ai, human in counts],
        )
        .with_columns(
            *[
                (pl.col(name) - pl.col(f"ai_{name}")).alias(f"human_{name}")
                for name, _, _, _ in counts
            ]
        )
        .select(list(MART_SCHEMA))
        .cast(MART_SCHEMA)  # type: ignore[arg-type]
    )


def fact_marts(ctx: "Context") -> dict[str, pl.DataFrame]:
    return {"mart_durability": durability_facts(ctx.commits, measured_table(ctx)).collect()}


# metric id -> (numerator column, denominator column) over measured commits
RATIOS = {
    "ai_durability": ("ai_alive_durable", "ai_lines"),
    "human_durability": ("human_alive_durable", "human_lines"),
    "ai_churn": ("ai_churned", "ai_lines"),
    "human_churn": ("human_churned", "human_lines"),
    "ai_surviving_share": ("ai_alive_durable", "alive_durable"),
}


def family(ctx: "Context") -> pl.LazyFrame:
    """ai_durability, human_durability, ai_churn, human_churn, ai_surviving_share."""
    facts = ctx.facts.get("mart_durability")
    if facts is None:
        facts = durability_facts(ctx.commits, measured_table(ctx))
    coverage = by_team_and_org(
        facts, [pl.len().alias("_population"), pl.col("measured").sum().alias("_measured")]
    ).with_columns((pl.col("_measured") / pl.col("_population")).alias("_coverage"))
    measured = facts.filter(pl.col("measured")).with_columns(
        (pl.col("ai_lines") - pl.col("ai_alive_churn")).alias("ai_churned"),
        (pl.col("human_lines") - pl.col("human_alive_churn")).alias("human_churned"),
    )
    low, high = ratio_interval(ctx.settings.confidence)
    enough = (pl.col("_coverage") >= MIN_COVERAGE) & (pl.col("_sx") > 0)
    note = (
        pl.when(pl.col("_measured") < pl.col("_population"))
        .then(
            pl.format(
                "{} of {} commits measured (the others' windows have not closed)",
                pl.col("_measured"),
                pl.col("_population"),
            )
        )
        .otherwise(pl.lit(None, pl.String))
    )
    out = []
    for metric_id, (y, x) in RATIOS.items():
        # Units are the commits that add to the denominator; the others change no sum.
        sums = by_team_and_org(measured.filter(pl.col(x) > 0), ratio_sums(y, x))
        out.append(
            coverage.join(sums, on=["team", "sprint_id"], how="left").pipe(
                rows,
                metric_id,
                value=pl.when(enough).then(pl.col("_sy") / pl.col("_sx")),
                numerator=pl.col("_sy").fill_null(0.0),
                denominator=pl.col("_sx").fill_null(0.0),
                ci_low=pl.when(enough).then(low),
                ci_high=pl.when(enough).then(high),
                coverage=pl.col("_coverage"),
                sample=pl.col("_n").fill_null(0),
                note=note,
            )
        )
    return pl.concat(out)
