"""Quality metrics: bug density (per 100 points, per KLOC, per merged PR) and its change against the baseline, review rejections, abandoned PRs and reverts."""

import functools
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from metrics.common import METRIC_ROW_SCHEMA, by_team_and_org, rows, share
from metrics.stats import lookup
from metrics.tickets import delivery_facts
from metrics.velocity import (
    baseline_check,
    ratio_to_baseline,
    scope_keys,
    scope_totals,
    with_history,
)

if TYPE_CHECKING:
    from metrics.marts import Context

_KEYS = ["team", "sprint_id"]


_EXACT_UP_TO = 100  # Byar's approximation is within 0.02 % of the exact bounds beyond this


def _poisson_cdf(k: np.ndarray, mu: np.ndarray, width: int) -> np.ndarray:
    """P(X <= k) for Poisson(mu), element-wise, for small integer k (summing `width` terms, zero beyond k)."""
    i = np.arange(width)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, i.size)))])
    safe = np.maximum(mu, 1e-300)[:, None]
    terms = np.exp(i[None, :] * np.log(safe) - safe - log_fact[None, :])
    return np.where(i[None, :] <= k[:, None], terms, 0.0).sum(axis=1)


@functools.cache
def poisson_limits(confidence: float, counts: tuple[int, ...] | None = None) -> pl.DataFrame:
    """k, low, high: the exact (Garwood) interval of a Poisson mean for k = 0 .. _EXACT_UP_TO events (or the k of `counts`).

    Each k is solved on its own, with the same number of terms: a row is the same whichever
    other k are asked.
    """
    alpha = (1 - confidence) / 2
    every = np.arange(_EXACT_UP_TO + 1, dtype=float)
    k = (
        every
        if counts is None
        else np.array(sorted(c for c in set(counts) if 0 <= c <= _EXACT_UP_TO), dtype=float)
    )

    def solve(target: np.ndarray, kk: np.ndarray, width: int) -> np.ndarray:
        # cdf(kk, mu) falls as mu grows: bisect mu until it equals the target.
        lo, hi = np.zeros_like(kk), np.full_like(kk, 10.0 * (_EXACT_UP_TO + 10))
        for _ in range(80):
            mid = (lo + hi) / 2
            above = _poisson_cdf(kk, mid, width) > target
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        return (lo + hi) / 2

    high = solve(np.full_like(k, alpha), k, _EXACT_UP_TO + 1)
    low = np.where(
        k > 0, solve(np.full_like(k, 1 - alpha), np.maximum(k - 1, 0), _EXACT_UP_TO), 0.0
    )
    return pl.DataFrame({"_k": k.astype(np.int64), "_low": low, "_high": high})


def with_poisson_interval(frame: pl.LazyFrame, k: str, confidence: float) -> pl.LazyFrame:
    """Add `_low`, `_high`: the interval of the Poisson mean behind the count column `k`.

    Exact (Garwood) bounds up to _EXACT_UP_TO events, Byar's approximation beyond; the lower
    bound is 0 for no events. Divide by the exposure for a rate.
    """
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    kf = pl.col(k).cast(pl.Float64)
    k1 = kf + 1
    byar_low = kf * (1 - 1 / (9 * kf) - z / (3 * kf.sqrt())).pow(3)
    byar_high = k1 * (1 - 1 / (9 * k1) + z / (3 * k1.sqrt())).pow(3)
    return (
        frame.with_columns(pl.col(k).cast(pl.Int64).alias("_k"))
        .with_columns(
            lookup(
                "_k",
                lambda counts: poisson_limits(confidence, counts),
                {"_low": pl.Float64, "_high": pl.Float64},
            ).alias("_limits")
        )
        .unnest("_limits")
        .with_columns(
            pl.coalesce("_low", byar_low).alias("_low"),
            pl.coalesce("_high", byar_high).alias("_high"),
        )
        .drop("_k")
    )


def bug_counts(tickets: pl.LazyFrame) -> pl.LazyFrame:
    """team, sprint_id, bugs: bugs created in the sprint (canceled ones, such as duplicates, left out)."""
    bugs = tickets.filter(pl.col("is_bug")).select(
        "team",
        pl.col("created_sprint_id").alias("sprint_id"),
        pl.col("created_org_sprint_id").alias("org_sprint_id"),
    )
    return by_team_and_org(bugs, [pl.len().alias("bugs")])


def exposures(ctx: "Context") -> pl.LazyFrame:
    """Per team sprint: bugs, completed points and issues, added lines of work commits, merged non-bot PRs."""
    facts = delivery_facts(ctx)
    points = scope_totals(facts["mart_sprint_scope"]).select(
        *_KEYS,
        pl.when(pl.col("n_estimated") > 0).then(pl.col("completed_points")).alias("points"),
        pl.col("completed_issues"),
    )
    work = ctx.commits.filter(pl.col("is_work"))
    lines = by_team_and_org(
        work,
        [
            pl.col("lines_added").filter(pl.col("stats_complete")).sum().alias("lines"),
            pl.col("stats_complete").sum().alias("complete"),
            pl.col("stats_complete").mean().alias("complete_share"),
        ],
    )
    merged = by_team_and_org(
        ctx.prs.filter(pl.col("is_merged") & ~pl.col("is_bot")), [pl.len().alias("merged")]
    )
    joined = bug_counts(facts["mart_tickets"])
    for frame in (points, lines, merged):
        joined = joined.join(frame, on=_KEYS, how="full", coalesce=True)
    return joined.with_columns(pl.col("bugs").fill_null(0))


def densities(frame: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """bug_density_points, bug_density_kloc, bug_density_prs with Poisson intervals."""
    limits = frame.pipe(with_poisson_interval, "bugs", confidence)
    out = []
    for metric, exposure, sample, coverage in (
        ("bug_density_points", pl.col("points") / 100, pl.col("completed_issues"), None),
        ("bug_density_kloc", pl.col("lines") / 1000, pl.col("complete"), pl.col("complete_share")),
        ("bug_density_prs", pl.col("merged").cast(pl.Float64), pl.col("merged"), None),
    ):
        ok = exposure > 0
        out.append(
            rows(
                limits,
                metric,
                value=pl.when(ok).then(pl.col("bugs") / exposure),
                numerator=pl.col("bugs"),
                denominator=exposure,
                ci_low=pl.when(ok).then(pl.col("_low") / exposure),
                ci_high=pl.when(ok).then(pl.col("_high") / exposure),
                coverage=coverage,
                sample=sample.fill_null(0),
            )
        )
    return pl.concat(out)


def density_change(ctx: "Context", frame: pl.LazyFrame) -> pl.LazyFrame:
    """bug_density_change: the sprint's bugs per 100 points over the baseline sprints' mean, minus one."""
    settings = ctx.settings
    density = frame.select(
        *_KEYS,
        pl.when((pl.col("points") > 0) & (pl.col("completed_issues") >= settings.min_sample))
        .then(pl.col("bugs") / (pl.col("points") / 100))
        .alias("value"),
        pl.col("completed_issues").fill_null(0).alias("sample"),
    )
    series = with_history(
        ctx,
        ctx.calendar.filter(pl.col("sprint_state") != "future")
        .select(*_KEYS, "sprint_start", "sprint_end", "sprint_state")
        .join(density, on=_KEYS, how="left")
        .collect(),
        {"bug_density": ("value", "sample")},
    )
    ratios = ratio_to_baseline(
        series.drop("sample"),
        settings,
        minus_one=True,
        check=baseline_check(ctx, "bug_density"),
        only=None if ctx.scope is None else scope_keys(ctx),
    )
    return (
        ratios.join(series.select(*_KEYS, "sample"), on=_KEYS)
        .filter(pl.col("current").is_not_null() | (pl.col("sample") > 0))
        .lazy()
        .pipe(
            rows,
            "bug_density_change",
            value=pl.col("ratio"),
            numerator=pl.col("current"),
            denominator=pl.col("base_mean"),
            ci_low=pl.col("ci_low"),
            ci_high=pl.col("ci_high"),
            sample=pl.col("sample"),
            note=pl.col("note"),
        )
    )


def review_metrics(prs: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """review_rejection_rate and abandoned_pr_rate over non-bot PRs merged or closed in the sprint."""
    finished = prs.filter(~pl.col("is_bot") & (pl.col("is_merged") | pl.col("is_abandoned")))
    reviewed = by_team_and_org(
        finished.filter(pl.col("human_reviews") > 0),
        [pl.len().alias("n"), (pl.col("changes_requested") > 0).sum().alias("k")],
    )
    ended = by_team_and_org(
        finished, [pl.len().alias("n"), pl.col("is_abandoned").sum().alias("k")]
    )
    return pl.concat(
        [
            share(reviewed, "review_rejection_rate", "k", "n", confidence, coverage=pl.lit(1.0)),
            share(ended, "abandoned_pr_rate", "k", "n", confidence, coverage=pl.lit(1.0)),
        ]
    )


def revert_rate(commits: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """revert_rate: revert commits among work commits."""
    counts = by_team_and_org(
        commits.filter(pl.col("is_work")),
        [pl.len().alias("n"), pl.col("is_revert").sum().alias("k")],
    )
    return share(counts, "revert_rate", "k", "n", confidence, coverage=pl.lit(1.0))


def rejections_per_release(
    prs: pl.LazyFrame, releases: pl.LazyFrame, confidence: float
) -> pl.LazyFrame:
    """rejections_per_release: changes-requested human reviews on PRs finished in the sprint, per release published in it."""
    finished = prs.filter(~pl.col("is_bot") & (pl.col("is_merged") | pl.col("is_abandoned")))
    rejections = by_team_and_org(finished, [pl.col("changes_requested").sum().alias("rejections")])
    released = by_team_and_org(releases, [pl.len().alias("releases")])
    joined = rejections.join(released, on=_KEYS, how="full", coalesce=True).with_columns(
        pl.col("rejections").fill_null(0), pl.col("releases").fill_null(0)
    )
    exposure = pl.col("releases").cast(pl.Float64)
    ok = exposure > 0
    return rows(
        joined.pipe(with_poisson_interval, "rejections", confidence),
        "rejections_per_release",
        value=pl.when(ok).then(pl.col("rejections") / exposure),
        numerator=pl.col("rejections"),
        denominator=exposure,
        ci_low=pl.when(ok).then(pl.col("_low") / exposure),
        ci_high=pl.when(ok).then(pl.col("_high") / exposure),
        note=pl.when(exposure == 0).then(pl.lit("no release published in this sprint")),
    )


def quality(ctx: "Context") -> pl.LazyFrame:
    """The quality family: bug densities and their change, review rejections, abandoned PRs, reverts."""
    confidence = ctx.settings.confidence
    frame = exposures(ctx)
    return pl.concat(
        [
            densities(frame, confidence),
            density_change(ctx, frame),
            review_metrics(ctx.prs, confidence),
            revert_rate(ctx.commits, confidence),
            rejections_per_release(ctx.prs, delivery_facts(ctx)["mart_releases"], confidence),
        ]
    ).select(list(METRIC_ROW_SCHEMA))
