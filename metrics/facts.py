"""Facts: commits and pull requests resolved to a person, a team and a sprint, with the flags every metric filters on.

Each fact row is one commit or one PR with everything a metric needs, so that every published
number is one aggregate over one fact mart (and reproducible with one SQL query). Team credit:
the author's team at the time; for an agent-authored commit or PR, the team of the human who
initiated it (a `Co-authored-by` person) when known; else the team that owns the repository
(when exactly one team lists it).
"""

import polars as pl

from metrics.calendar import assign_sprints
from metrics.model import Settings
from metrics.people import norm_expr, team_of

_EMAIL_IN_TRAILER = r"<([^<>\s]+@[^<>\s]+)>"


def repo_owners(settings: Settings, *, column: str = "repo") -> pl.LazyFrame:
    """repo -> owning team, for repositories exactly one team lists."""
    rows = [(repo, team.name) for team in settings.teams for repo in team.repos]
    frame = pl.LazyFrame(rows, schema={column: pl.String, "owner_team": pl.String}, orient="row")
    return (
        frame.group_by(column)
        .agg(pl.col("owner_team").first(), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1)
        .drop("_n")
    )


def with_sprints(facts: pl.LazyFrame, calendar: pl.LazyFrame, *, time_col: str) -> pl.LazyFrame:
    """`sprint_id` (the fact's team's sprint) and `org_sprint_id` (the organisation's) at `time_col`."""
    return assign_sprints(facts, calendar, team_col="team", time_col=time_col)


def _with_team(
    facts: pl.LazyFrame,
    members: pl.LazyFrame,
    owners: pl.LazyFrame,
    *,
    owner_key: str,
    time_col: str,
) -> pl.LazyFrame:
    """team and team_via (person | initiator | repo) from person_id, initiator_id and the repo owner."""
    return (
        facts.pipe(team_of, members, person_col="person_id", time_col=time_col, out="_team_person")
        .pipe(team_of, members, person_col="initiator_id", time_col=time_col, out="_team_initiator")
        .join(owners, left_on=owner_key, right_on=owners.collect_schema().names()[0], how="left")
        .with_columns(
            pl.coalesce("_team_person", "_team_initiator", "owner_team").alias("team"),
            pl.when(pl.col("_team_person").is_not_null())
            .then(pl.lit("person"))
            .when(pl.col("_team_initiator").is_not_null())
            .then(pl.lit("initiator"))
            .when(pl.col("owner_team").is_not_null())
            .then(pl.lit("repo"))
            .alias("team_via"),
        )
        .drop("_team_person", "_team_initiator", "owner_team")
    )


def fact_commits(
    commits: pl.LazyFrame,
    trailers: pl.LazyFrame,
    identity_map: pl.LazyFrame,
    members: pl.LazyFrame,
    calendar: pl.LazyFrame,
    settings: Settings,
) -> pl.LazyFrame:
    """One row per reachable commit with person, team, sprint and the work/AI flags."""
    people = identity_map.select("identity", "person_id")
    initiators = (
        trailers.filter(pl.col("key") == "co-authored-by")
        .select(
            "repo",
            "sha",
            "position",
            pl.col("value").str.extract(_EMAIL_IN_TRAILER).str.to_lowercase().alias("identity"),
        )
        .join(people, on="identity", how="inner")
        .sort("position")
        .group_by("repo", "sha")
        .agg(pl.col("person_id").first().alias("initiator_id"))
    )
    facts = (
        commits.filter(pl.col("is_reachable"))
        .select(
            "repo",
            "sha",
            "authored_at",
            "committed_at",
            norm_expr("author_canonical_email").alias("author_identity"),
            norm_expr("author_email").alias("_raw_identity"),
            "is_merge",
            "in_default_history",
            "ai_tool",
            "ai_mode",
            "ai_via_pr",
            "is_revert",
            "stats_complete",
            (pl.col("additions") - pl.col("excluded_additions").fill_null(0)).alias("lines_added"),
            (pl.col("deletions") - pl.col("excluded_deletions").fill_null(0)).alias(
                "lines_deleted"
            ),
        )
        .join(
            people.rename({"identity": "author_identity", "person_id": "_p1"}),
            on="author_identity",
            how="left",
        )
        .join(
            people.rename({"identity": "_raw_identity", "person_id": "_p2"}),
            on="_raw_identity",
            how="left",
        )
        .join(initiators, on=["repo", "sha"], how="left")
        .with_columns(
            pl.coalesce("_p1", "_p2").alias("person_id"),
            (pl.col("ai_mode") == "bot").fill_null(False).alias("is_bot"),
            pl.col("ai_mode").is_in(["agent", "assisted"]).fill_null(False).alias("is_ai"),
            (pl.col("ai_mode") == "agent").fill_null(False).alias("is_agent"),
        )
        .with_columns(
            # An agent is never the person; the initiator takes the credit when known.
            pl.when(pl.col("is_agent") & pl.col("_p1").is_null() & pl.col("_p2").is_null())
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col("person_id"))
            .alias("person_id"),
            (pl.col("in_default_history") & ~pl.col("is_merge") & ~pl.col("is_bot")).alias(
                "is_work"
            ),
        )
        .drop("_p1", "_p2", "_raw_identity")
    )
    facts = _with_team(
        facts,
        members,
        repo_owners(settings),
        owner_key="repo",
        time_col="committed_at",
    )
    return with_sprints(facts, calendar, time_col="committed_at")


def fact_prs(
    prs: pl.LazyFrame,
    reviews: pl.LazyFrame,
    pr_commits: pl.LazyFrame,
    forge_repos: pl.LazyFrame,
    identity_map: pl.LazyFrame,
    members: pl.LazyFrame,
    calendar: pl.LazyFrame,
    settings: Settings,
) -> pl.LazyFrame:
    """One row per live PR with author person and team, review facts, and the sprint it finished (or opened) in."""
    people = identity_map.select("identity", "person_id")
    human_reviews = reviews.filter(pl.col("is_human") & (pl.col("state") != "pending"))
    review_facts = human_reviews.group_by("source", "repo", "pr_number").agg(
        pl.col("submitted_at").min().alias("first_human_review_at"),
        pl.col("submitted_at")
        .filter(pl.col("state") == "approved")
        .min()
        .alias("first_approval_at"),
        (pl.col("state") == "changes_requested").sum().cast(pl.Int32).alias("changes_requested"),
        pl.len().cast(pl.Int32).alias("human_reviews"),
    )
    initiators = (
        pr_commits.explode("trailers")
        .filter(pl.col("trailers").struct.field("key") == "co-authored-by")
        .select(
            "source",
            "repo",
            "pr_number",
            "position",
            pl.col("trailers")
            .struct.field("value")
            .str.extract(_EMAIL_IN_TRAILER)
            .str.to_lowercase()
            .alias("identity"),
        )
        .join(people, on="identity", how="inner")
        .sort("position")
        .group_by("source", "repo", "pr_number")
        .agg(pl.col("person_id").first().alias("initiator_id"))
    )
    facts = (
        prs.filter(~pl.col("is_deleted"))
        .select(
            "source",
            "repo",
            "number",
            norm_expr("author_login").alias("author_identity"),
            "author_type",
            "state",
            "is_draft",
            "created_at",
            "merged_at",
            "closed_at",
            "first_commit_at",
            "additions",
            "deletions",
            "changed_files",
            "ai_tool",
            "ai_mode",
            "merge_commit_sha",
        )
        .join(forge_repos.select("source", "repo", "git_repo"), on=["source", "repo"], how="left")
        .join(
            review_facts,
            left_on=["source", "repo", "number"],
            right_on=["source", "repo", "pr_number"],
            how="left",
        )
        .join(
            initiators,
            left_on=["source", "repo", "number"],
            right_on=["source", "repo", "pr_number"],
            how="left",
        )
        .join(people.rename({"identity": "author_identity"}), on="author_identity", how="left")
        .with_columns(
            (pl.col("ai_mode") == "bot").fill_null(False).alias("is_bot"),
            pl.col("ai_mode").is_in(["agent", "assisted"]).fill_null(False).alias("is_ai"),
            (pl.col("ai_mode") == "agent").fill_null(False).alias("is_agent"),
            (pl.col("state") == "merged").alias("is_merged"),
            (pl.col("state") == "closed").alias("is_abandoned"),
            pl.col("human_reviews").fill_null(0),
            pl.col("changes_requested").fill_null(0),
            # The moment a PR counts in a sprint: merged or closed then, else when it was opened.
            pl.coalesce("merged_at", "closed_at", "created_at").alias("finished_at"),
        )
    )
    facts = _with_team(
        facts,
        members,
        repo_owners(settings, column="git_repo"),
        owner_key="git_repo",
        time_col="finished_at",
    )
    return with_sprints(facts, calendar, time_col="finished_at")
