"""Shared shapes of metric computation: grouping by team and organisation, and the row every metric family returns.

A family function takes fact LazyFrames and returns metric rows: team, sprint_id, metric_id,
value, numerator, denominator, ci_low, ci_high, coverage, sample (the count of units behind the
number, for the insufficient-data rule) and note. `marts.finalise` adds the sprint's name and
dates, the definition version and the status.
"""

from collections.abc import Sequence

import polars as pl

from metrics.model import ORG
from metrics.stats import ratio_interval, wilson

METRIC_ROW_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "metric_id": pl.String,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "coverage": pl.Float64,
    "sample": pl.Int64,
    "note": pl.String,
}


class NeedsFullRecompute(Exception):
    """A latest-sprint recompute would change earlier sprints' numbers (a baseline or a velocity basis moved)."""


def by_team_and_org(facts: pl.LazyFrame, aggs: Sequence[pl.Expr]) -> pl.LazyFrame:
    """Aggregate per (team, sprint) and per organisation sprint (team = __org__).

    Facts without a team count for the organisation only; facts outside any sprint are dropped.
    """
    team = (
        facts.filter(pl.col("team").is_not_null() & pl.col("sprint_id").is_not_null())
        .group_by("team", "sprint_id")
        .agg(*aggs)
    )
    org = (
        facts.filter(pl.col("org_sprint_id").is_not_null())
        .group_by(pl.col("org_sprint_id").alias("sprint_id"))
        .agg(*aggs)
        .with_columns(pl.lit(ORG).alias("team"))
    )
    return pl.concat([team, org], how="diagonal_relaxed")


def rows(frame: pl.LazyFrame, metric_id: str, **columns: pl.Expr | None) -> pl.LazyFrame:
    """Select metric rows from an aggregated frame; missing columns are null."""
    exprs = [pl.col("team"), pl.col("sprint_id"), pl.lit(metric_id).alias("metric_id")]
    for name, dtype in METRIC_ROW_SCHEMA.items():
        if name in ("team", "sprint_id", "metric_id"):
            continue
        expr = columns.get(name)
        exprs.append((expr if expr is not None else pl.lit(None)).cast(dtype).alias(name))
    return frame.select(exprs)


def share(
    frame: pl.LazyFrame,
    metric_id: str,
    k: str,
    n: str,
    confidence: float,
    coverage: pl.Expr | None = None,
) -> pl.LazyFrame:
    """A share k/n with its Wilson interval; `sample` is n."""
    low, high = wilson(pl.col(k), pl.col(n), confidence)
    return rows(
        frame,
        metric_id,
        value=pl.when(pl.col(n) > 0).then(pl.col(k) / pl.col(n)),
        numerator=pl.col(k),
        denominator=pl.col(n),
        ci_low=low,
        ci_high=high,
        coverage=coverage,
        sample=pl.col(n),
    )


def ratio(
    sums: pl.LazyFrame, metric_id: str, confidence: float, coverage: pl.Expr | None = None
) -> pl.LazyFrame:
    """A ratio of sums over units (the `ratio_sums` columns) with its linearised interval; `sample` is the units."""
    low, high = ratio_interval(confidence)
    return rows(
        sums,
        metric_id,
        value=pl.when(pl.col("_sx") > 0).then(pl.col("_sy") / pl.col("_sx")),
        numerator=pl.col("_sy"),
        denominator=pl.col("_sx"),
        ci_low=low,
        ci_high=high,
        coverage=coverage,
        sample=pl.col("_n"),
    )


def empty_rows() -> pl.LazyFrame:
    return pl.LazyFrame(schema=METRIC_ROW_SCHEMA)
