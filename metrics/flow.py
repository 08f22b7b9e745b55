"""Flow metrics: PR cycle time and its parts (coding, pickup, review), PR size, throughput per engineer.

Every number is over the merged non-bot PRs of a team's sprint (the sprint containing `merged_at`);
agent PRs are included, they are work. Durations are in hours. Percentiles carry a
distribution-free interval from order statistics (see `quantile_rows`); `sample` is the number of
PRs behind each percentile.
"""

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from metrics.common import by_team_and_org, rows
from metrics.model import ORG
from metrics.stats import lookup, z_value

if TYPE_CHECKING:
    from metrics.marts import Context

# Hours per microsecond: durations are multiplied by it. Polars divides a column by a scalar as a
# multiplication by its reciprocal but a single value by true division, so dividing would give a
# duration one of two results in its last bit depending on how many rows were computed together.
_HOURS_PER_US = 1 / 3_600_000_000
# Exact binomial ranks up to this sample size; beyond it the normal approximation is at most one
# rank off, a negligible change of the interval at that size.
EXACT_RANKS = 1000


def hours(start: str | pl.Expr, end: str | pl.Expr) -> pl.Expr:
    """Hours from start to end (negative when end is earlier)."""
    s = pl.col(start) if isinstance(start, str) else start
    e = pl.col(end) if isinstance(end, str) else end
    return (e - s).dt.total_microseconds() * _HOURS_PER_US


# --------------------------------------------------------------------------- percentiles


@functools.cache
def rank_table(
    q: float, confidence: float, size: int = EXACT_RANKS, ns: tuple[int, ...] | None = None
) -> pl.DataFrame:
    """For n = 1..size (or the n of `ns` up to size): 1-based ranks (lo, hi) of the order statistics bounding the q-quantile.

    With Q the true q-quantile and B ~ Binomial(n, q) the number of observations below it,
    P(x_(lo) <= Q <= x_(hi)) >= P(lo <= B <= hi - 1) = F(hi - 1) - F(lo - 1). With
    a = 1 - confidence, `lo` is the largest rank with F(lo - 1) <= a/2 and `hi` the smallest with
    F(hi - 1) >= 1 - a/2: equal tails, coverage at least `confidence`. Null when no such rank
    exists: too few values to bound that side of the quantile at this confidence. Each n's ranks
    are computed on their own, so a row is the same whichever other n are asked.
    """
    alpha = (1 - confidence) / 2
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, size + 1)))])
    sizes = range(1, size + 1) if ns is None else sorted(n for n in set(ns) if 1 <= n <= size)
    lows: list[int | None] = []
    highs: list[int | None] = []
    for n in sizes:
        k = np.arange(n + 1)
        log_pmf = (
            log_fact[n] - log_fact[k] - log_fact[n - k] + k * math.log(q) + (n - k) * math.log1p(-q)
        )
        cdf = np.cumsum(np.exp(log_pmf))
        below = int(np.searchsorted(cdf, alpha, side="right"))  # how many k have F(k) <= a/2
        first = int(np.searchsorted(cdf, 1 - alpha, side="left"))  # first k with F(k) >= 1 - a/2
        lows.append(below if below >= 1 else None)
        highs.append(first + 1 if first < n else None)
    return pl.DataFrame(
        {"_n": list(sizes), "_lo": lows, "_hi": highs},
        schema={"_n": pl.Int64, "_lo": pl.Int64, "_hi": pl.Int64},
    )


def _approx_ranks(n: pl.Expr, q: float, confidence: float) -> tuple[pl.Expr, pl.Expr]:
    """The same ranks by the normal approximation of the binomial (with continuity correction)."""
    z = z_value(confidence)
    nf = n.cast(pl.Float64)
    sd = (nf * q * (1 - q)).sqrt()
    lo = ((nf * q - z * sd - 0.5).floor() + 1).cast(pl.Int64)
    hi = ((nf * q + z * sd - 0.5).ceil() + 1).cast(pl.Int64)
    return (
        pl.when(lo >= 1).then(lo),
        pl.when(hi <= n).then(hi),
    )


def quantile_aggs(column: str, *qs: float) -> list[pl.Expr]:
    """Aggregations `quantile_rows` reads: the sorted values, their count and the quantiles."""
    values = pl.col(column).drop_nulls()
    return [
        values.sort().alias(f"{column}__sorted"),
        values.len().cast(pl.Int64).alias(f"{column}__n"),
        *[pl.col(column).quantile(q, "linear").alias(f"{column}__q{q}") for q in qs],
    ]


def quantile_rows(
    grouped: pl.LazyFrame,
    metric_id: str,
    column: str,
    q: float,
    confidence: float,
    *,
    coverage: pl.Expr | None = None,
    note: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Metric rows of the q-quantile (linear interpolation, as SQL's quantile_cont) of `column`.

    The interval is [x_(lo), x_(hi)] from `rank_table`: exact for any distribution, deterministic
    (no resampling seed) and reproducible by sorting the values. A side that the sample cannot
    bound (few values, a high quantile) is NULL.
    """
    n = pl.col("_n")
    lo_approx, hi_approx = _approx_ranks(n, q, confidence)
    ranks = lookup(
        "_n", lambda ns: rank_table(q, confidence, ns=ns), {"_lo": pl.Int64, "_hi": pl.Int64}
    )
    sorted_values = pl.col(f"{column}__sorted")
    return (
        grouped.with_columns(pl.col(f"{column}__n").alias("_n"))
        .with_columns(ranks.alias("_ranks"))
        .unnest("_ranks")
        .with_columns(
            pl.when(n <= EXACT_RANKS).then(pl.col("_lo")).otherwise(lo_approx).alias("_lo"),
            pl.when(n <= EXACT_RANKS).then(pl.col("_hi")).otherwise(hi_approx).alias("_hi"),
        )
        .pipe(
            rows,
            metric_id,
            value=pl.col(f"{column}__q{q}"),
            numerator=pl.col(f"{column}__q{q}"),
            denominator=n,
            ci_low=sorted_values.list.get(pl.col("_lo") - 1, null_on_oob=True),
            ci_high=sorted_values.list.get(pl.col("_hi") - 1, null_on_oob=True),
            coverage=coverage,
            sample=n,
            note=note,
        )
    )


def notes(*parts: pl.Expr) -> pl.Expr:
    """Join the non-null note fragments; NULL when there is nothing to say."""
    joined = pl.concat_str(list(parts), separator="; ", ignore_nulls=True)
    return pl.when(joined.str.len_chars() > 0).then(joined)


def count_note(count: pl.Expr, label: str) -> pl.Expr:
    """`label: count` when the count is positive."""
    return pl.when(count > 0).then(pl.concat_str([pl.lit(f"{label}: "), count.cast(pl.String)]))


# --------------------------------------------------------------------------- PR durations


def pr_durations(prs: pl.LazyFrame) -> pl.LazyFrame:
    """Merged non-bot PRs of mart_prs with the start of their cycle and its parts in hours.

    start = the earlier of the first commit and the PR's creation (creation when commit times are
    unknown; commits rewritten after the PR was opened cannot start the cycle after it opened).
    Negative parts are clipped to 0; pickup and review need a human review before the merge.
    """
    has_commits = pl.col("first_commit_at").is_not_null()
    reviewed = pl.col("first_human_review_at").is_not_null() & (
        pl.col("first_human_review_at") <= pl.col("merged_at")
    )
    return (
        prs.filter(pl.col("is_merged") & ~pl.col("is_bot"))
        .with_columns(
            pl.min_horizontal(pl.coalesce("first_commit_at", "created_at"), "created_at").alias(
                "cycle_start_at"
            ),
            has_commits.alias("has_commit_times"),
            (pl.col("first_commit_at") > pl.col("created_at"))
            .fill_null(False)
            .alias("commits_after_open"),
            reviewed.alias("reviewed_before_merge"),
        )
        .with_columns(
            hours("cycle_start_at", "merged_at").clip(lower_bound=0.0).alias("cycle_hours"),
            pl.when(has_commits)
            .then(hours("first_commit_at", "created_at").clip(lower_bound=0.0))
            .alias("coding_hours"),
            pl.when(reviewed)
            .then(hours("created_at", "first_human_review_at").clip(lower_bound=0.0))
            .alias("pickup_hours"),
            pl.when(reviewed)
            .then(hours("first_human_review_at", "merged_at").clip(lower_bound=0.0))
            .alias("review_hours"),
            (pl.col("additions") + pl.col("deletions")).cast(pl.Float64).alias("size_lines"),
        )
    )


def cycle_metrics(prs: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """cycle_time_p50/p85, coding_time_p50, pickup_time_p50, review_time_p50, pr_size_p50."""
    grouped = by_team_and_org(
        pr_durations(prs),
        [
            pl.len().cast(pl.Int64).alias("merged"),
            (~pl.col("has_commit_times")).sum().cast(pl.Int64).alias("no_commit_times"),
            pl.col("commits_after_open").sum().cast(pl.Int64).alias("commits_after_open"),
            *quantile_aggs("cycle_hours", 0.5, 0.85),
            *quantile_aggs("coding_hours", 0.5),
            *quantile_aggs("pickup_hours", 0.5),
            *quantile_aggs("review_hours", 0.5),
            *quantile_aggs("size_lines", 0.5),
        ],
    )
    merged = pl.col("merged").cast(pl.Float64)
    no_times, rewritten = pl.col("no_commit_times"), pl.col("commits_after_open")
    # Coverage of the cycle's start: PRs whose first commit is known and not after the PR opened.
    start_known = (merged - no_times - rewritten) / merged
    cycle_note = notes(
        count_note(no_times, "PRs without commit times, cycle from PR creation"),
        count_note(rewritten, "PRs with commits newer than the PR, cycle from PR creation"),
    )
    coding_note = notes(
        count_note(no_times, "PRs without commit times, left out"),
        count_note(rewritten, "PRs with commits newer than the PR, coding time 0"),
    )
    unreviewed = notes(
        count_note(
            pl.col("merged") - pl.col("pickup_hours__n"),
            "merged PRs without a human review before the merge, left out",
        )
    )
    unsized = notes(
        count_note(
            pl.col("merged") - pl.col("size_lines__n"), "PRs without diff statistics, left out"
        )
    )
    return pl.concat(
        [
            quantile_rows(grouped, "cycle_time_p50", "cycle_hours", 0.5, confidence,
                          coverage=start_known, note=cycle_note),
            quantile_rows(grouped, "cycle_time_p85", "cycle_hours", 0.85, confidence,
                          coverage=start_known, note=cycle_note),
            quantile_rows(grouped, "coding_time_p50", "coding_hours", 0.5, confidence,
                          coverage=start_known, note=coding_note),
            quantile_rows(grouped, "pickup_time_p50", "pickup_hours", 0.5, confidence,
                          coverage=pl.col("pickup_hours__n") / merged, note=unreviewed),
            quantile_rows(grouped, "review_time_p50", "review_hours", 0.5, confidence,
                          coverage=pl.col("review_hours__n") / merged, note=unreviewed),
            quantile_rows(grouped, "pr_size_p50", "size_lines", 0.5, confidence,
                          coverage=pl.col("size_lines__n") / merged, note=unsized),
        ]
    )  # fmt: skip


# --------------------------------------------------------------------------- throughput


def _engineers(activity: pl.LazyFrame, *, org: bool) -> pl.LazyFrame:
    """Per scope and sprint: active engineers and the spread of merged PRs per engineer."""
    sprint = "org_sprint_id" if org else "sprint_id"
    team = pl.lit(ORG) if org else pl.col("team")
    return (
        activity.filter(pl.col("engineer").is_not_null() & pl.col(sprint).is_not_null())
        .filter(pl.lit(True) if org else pl.col("team").is_not_null())
        .group_by(team.alias("team"), pl.col(sprint).alias("sprint_id"), "engineer")
        .agg(pl.col("_merged").sum().alias("merged_by_engineer"))
        .group_by("team", "sprint_id")
        .agg(
            pl.len().cast(pl.Int64).alias("engineers"),
            pl.col("merged_by_engineer").cast(pl.Int64).sum().alias("_sum"),
            (pl.col("merged_by_engineer").cast(pl.Int64) ** 2).sum().alias("_squares"),
        )
        .with_columns(_sample_sd("engineers", "_sum", "_squares").alias("_sd"))
        .drop("_sum", "_squares")
    )


def _sample_sd(n: str, total: str, squares: str) -> pl.Expr:
    """Sample standard deviation of integer counts from their exact count, sum and sum of squares.

    Polars' `std` adds a group's values in the order the group-by delivered them, which varies
    between runs, and the interval moved in its last bits; the integer sums do not depend on
    order. NULL below two values.
    """
    count = pl.col(n).cast(pl.Int64)
    spread = count * pl.col(squares) - pl.col(total) ** 2
    return pl.when(count >= 2).then((spread / (count * (count - 1))).sqrt())


def throughput(commits: pl.LazyFrame, prs: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """throughput_per_engineer: merged non-bot PRs / active engineers of the team's sprint.

    Active engineers are the people (author, else the initiator of an agent's work) of the work
    commits and non-bot PRs counted in the sprint. Agent PRs count in the numerator, also when only
    the repository credits them to the team. Interval: the mean of merged PRs per active engineer,
    normal approximation; PRs that no engineer carries shift every engineer equally and add no
    spread.
    """
    keep = ["team", "sprint_id", "org_sprint_id", "person_id", "initiator_id"]
    activity = pl.concat(
        [
            commits.filter(pl.col("is_work")).select(*keep, pl.lit(0).alias("_merged")),
            prs.filter(~pl.col("is_bot")).select(
                *keep, pl.col("is_merged").cast(pl.Int32).alias("_merged")
            ),
        ],
        how="vertical_relaxed",
    ).with_columns(pl.coalesce("person_id", "initiator_id").alias("engineer"))
    engineers = pl.concat([_engineers(activity, org=False), _engineers(activity, org=True)])
    merged = by_team_and_org(
        prs.filter(pl.col("is_merged") & ~pl.col("is_bot")),
        [
            pl.len().cast(pl.Int64).alias("merged"),
            pl.coalesce("person_id", "initiator_id")
            .is_null()
            .sum()
            .cast(pl.Int64)
            .alias("no_person"),
        ],
    )
    z = z_value(confidence)
    n = pl.col("engineers").cast(pl.Float64)
    value = pl.col("merged") / n
    half = z * pl.col("_sd") / n.sqrt()
    ok = pl.col("engineers") >= 2
    return merged.join(engineers, on=["team", "sprint_id"], how="left").pipe(
        rows,
        "throughput_per_engineer",
        value=pl.when(pl.col("engineers") > 0).then(value),
        numerator=pl.col("merged"),
        denominator=pl.col("engineers"),
        ci_low=pl.when(ok).then((value - half).clip(lower_bound=0.0)),
        ci_high=pl.when(ok).then(value + half),
        coverage=(pl.col("merged") - pl.col("no_person")) / pl.col("merged"),
        sample=pl.col("merged"),
        note=notes(
            count_note(
                pl.col("no_person"),
                "merged PRs of no configured person (agents credited by repository, unknown authors)",
            )
        ),
    )  # fmt: skip


def family(ctx: "Context") -> pl.LazyFrame:
    """The flow family: cycle time and its parts, PR size, throughput per engineer."""
    confidence = ctx.settings.confidence
    return pl.concat(
        [cycle_metrics(ctx.prs, confidence), throughput(ctx.commits, ctx.prs, confidence)]
    )
