"""AI metrics: contribution ratio in its three flavours (lines, commits, PRs), agentic rates, git-ai line share, tool mix."""

import polars as pl

from metrics.common import by_team_and_org, ratio, share
from metrics.model import ORG
from metrics.stats import ratio_sums


def commit_metrics(commits: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """acr_lines, acr_commits, agentic_commit_rate over work commits."""
    work = commits.filter(pl.col("is_work"))
    counts = by_team_and_org(
        work,
        [
            pl.len().alias("n"),
            pl.col("is_ai").sum().alias("ai"),
            pl.col("is_agent").sum().alias("agent"),
            pl.col("stats_complete").mean().alias("complete_share"),
        ],
    )
    # Lines: only commits with complete line counts; each commit is a sampling unit.
    lines = by_team_and_org(
        work.filter(pl.col("stats_complete")).with_columns(
            pl.when(pl.col("is_ai")).then(pl.col("lines_added")).otherwise(0).alias("ai_lines")
        ),
        ratio_sums("ai_lines", "lines_added"),
    )
    lines_rows = lines.join(
        counts.select("team", "sprint_id", "complete_share"), on=["team", "sprint_id"], how="left"
    ).pipe(ratio, "acr_lines", confidence, coverage=pl.col("complete_share"))
    return pl.concat(
        [
            lines_rows,
            share(counts, "acr_commits", "ai", "n", confidence, coverage=pl.lit(1.0)),
            share(counts, "agentic_commit_rate", "agent", "n", confidence, coverage=pl.lit(1.0)),
        ]
    )


def pr_metrics(prs: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """acr_prs and agentic_pr_rate over merged non-bot PRs."""
    merged = prs.filter(pl.col("is_merged") & ~pl.col("is_bot"))
    counts = by_team_and_org(
        merged,
        [
            pl.len().alias("n"),
            pl.col("is_ai").sum().alias("ai"),
            pl.col("is_agent").sum().alias("agent"),
        ],
    )
    return pl.concat(
        [
            share(counts, "acr_prs", "ai", "n", confidence, coverage=pl.lit(1.0)),
            share(counts, "agentic_pr_rate", "agent", "n", confidence, coverage=pl.lit(1.0)),
        ]
    )


def notes_metrics(commits: pl.LazyFrame, notes: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """acr_lines_notes: AI-attested / all attested lines in git-ai notes, over work commits that carry notes."""
    per_commit = notes.group_by("repo", "sha").agg(
        pl.col("lines").filter(pl.col("kind") == "ai").sum().alias("ai_note_lines"),
        pl.col("lines").sum().alias("note_lines"),
    )
    work = commits.filter(pl.col("is_work")).join(per_commit, on=["repo", "sha"], how="inner")
    sums = by_team_and_org(work, ratio_sums("ai_note_lines", "note_lines"))
    return ratio(sums, "acr_lines_notes", confidence)


TOOL_MIX_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "tool": pl.String,
    "mode": pl.String,
    "commits": pl.Int64,
    "lines": pl.Int64,
    "prs": pl.Int64,
}


def tool_mix(commits: pl.LazyFrame, prs: pl.LazyFrame) -> pl.LazyFrame:
    """AI work commits, their lines and merged PRs per tool and mode, per team and organisation sprint."""

    # by_team_and_org groups by team and sprint only; the mix also groups by tool and mode.
    def grouped(facts: pl.LazyFrame, aggs: list[pl.Expr]) -> pl.LazyFrame:
        team = (
            facts.filter(pl.col("team").is_not_null() & pl.col("sprint_id").is_not_null())
            .group_by("team", "sprint_id", "tool", "mode")
            .agg(*aggs)
        )
        org = (
            facts.filter(pl.col("org_sprint_id").is_not_null())
            .group_by(pl.col("org_sprint_id").alias("sprint_id"), "tool", "mode")
            .agg(*aggs)
            .with_columns(pl.lit(ORG).alias("team"))
        )
        return pl.concat([team, org], how="diagonal_relaxed")

    ai_commits = commits.filter(pl.col("is_work") & pl.col("is_ai")).with_columns(
        pl.col("ai_tool").alias("tool"), pl.col("ai_mode").alias("mode")
    )
    ai_prs = prs.filter(pl.col("is_merged") & pl.col("is_ai")).with_columns(
        pl.col("ai_tool").alias("tool"), pl.col("ai_mode").alias("mode")
    )
    by_commit = grouped(
        ai_commits, [pl.len().alias("commits"), pl.col("lines_added").sum().alias("lines")]
    )
    by_pr = grouped(ai_prs, [pl.len().alias("prs")])
    return (
        by_commit.join(by_pr, on=["team", "sprint_id", "tool", "mode"], how="full", coalesce=True)
        .with_columns(pl.col("commits", "lines", "prs").fill_null(0))
        .select(list(TOOL_MIX_SCHEMA))
        .cast(TOOL_MIX_SCHEMA)  # type: ignore[arg-type]
    )
