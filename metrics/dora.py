"""DORA metrics: deployment frequency, change lead time, change fail rate, failed deployment recovery time, rework rate.

Three fact marts carry them, so that every number is one SQL query away:
`mart_deployments` (one row per production deployment, or per release for a repository without
deployment records), `mart_changes` (one row per change: a merged PR, or a work commit that
reached the default branch without one, with the deployment that shipped it) and
`mart_recoveries` (one row per failure: a run of failed deployments, or an incident). A deployment
counts for the team that owns its repository (`teams[].repos`, when exactly one team lists it),
else for the organisation only.
"""

import functools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from metrics.common import by_team_and_org, rows
from metrics.facts import repo_owners, with_sprints
from metrics.flow import count_note, hours, notes, quantile_aggs, quantile_rows
from metrics.model import ORG, UTC_TS, Settings
from metrics.stats import lookup, wilson, z_value

if TYPE_CHECKING:
    from metrics.marts import Context

KEY = ["source", "repo", "deployment_id"]
CHANGE_KEY = ["kind", "git_repo", "source", "repo", "number", "sha"]
FINAL = ["success", "failure"]

DEPLOYMENTS_SCHEMA = {
    "source": pl.String,
    "repo": pl.String,
    "deployment_id": pl.String,
    "git_repo": pl.String,
    "origin": pl.String,
    "environment": pl.String,
    "ref": pl.String,
    "sha": pl.String,
    "sha_known": pl.Boolean,
    "created_at": UTC_TS,
    "outcome": pl.String,
    "succeeded_at": UTC_TS,
    "failed_at": UTC_TS,
    "finished_at": UTC_TS,
    "cutoff_at": UTC_TS,
    "incidents": pl.Int64,
    "is_change_failure": pl.Boolean,
    "is_rework": pl.Boolean,
    "rework_reason": pl.String,
    "team": pl.String,
    "team_via": pl.String,
    "sprint_id": pl.String,
    "org_sprint_id": pl.String,
}
CHANGES_SCHEMA = {
    "kind": pl.String,
    "git_repo": pl.String,
    "source": pl.String,
    "repo": pl.String,
    "number": pl.Int64,
    "sha": pl.String,
    "start_at": UTC_TS,
    "start_from": pl.String,
    "in_default_at": UTC_TS,
    "is_ai": pl.Boolean,
    "is_agent": pl.Boolean,
    "is_fix": pl.Boolean,
    "status": pl.String,
    "deployment_source": pl.String,
    "deployment_repo": pl.String,
    "deployment_id": pl.String,
    "deployment_sha_known": pl.Boolean,
    "deployed_at": UTC_TS,
    "lead_hours": pl.Float64,
    "team": pl.String,
    "team_via": pl.String,
    "sprint_id": pl.String,
    "org_sprint_id": pl.String,
}
RECOVERIES_SCHEMA = {
    "kind": pl.String,
    "git_repo": pl.String,
    "environment": pl.String,
    "ref": pl.String,
    "failures": pl.Int64,
    "started_at": UTC_TS,
    "recovered_at": UTC_TS,
    "hours": pl.Float64,
    "finished_at": UTC_TS,
    "team": pl.String,
    "team_via": pl.String,
    "sprint_id": pl.String,
    "org_sprint_id": pl.String,
}


def lookback(settings: Settings) -> timedelta:
    """How far before a deployment its facts reach: its incidents (opened up to the incident window
    after it) and its rework (a failure up to the rework window before it)."""
    return timedelta(hours=max(settings.incident_window_hours, settings.rework_window_hours))


def _lower(values: tuple[str, ...]) -> list[str]:
    return [v.strip().lower() for v in values]


def _git_repos(forge_repos: pl.LazyFrame) -> pl.LazyFrame:
    return forge_repos.select("source", "repo", "git_repo").unique(["source", "repo"], keep="first")


def _git_repo() -> pl.Expr:
    """`git_repo`, else the forge path's last segment (a forge repository without forge_repos row)."""
    return pl.coalesce("git_repo", pl.col("repo").str.split("/").list.last()).alias("git_repo")


def _with_git_repo(frame: pl.LazyFrame, forge_repos: pl.LazyFrame) -> pl.LazyFrame:
    """The git repository a forge repository feeds."""
    return frame.join(_git_repos(forge_repos), on=["source", "repo"], how="left").with_columns(
        _git_repo()
    )


def _credit(frame: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """team (the repository's owner) and team_via ('repo', or NULL: the organisation only)."""
    owners = repo_owners(settings, column="git_repo")
    return (
        frame.join(owners, on="git_repo", how="left")
        .with_columns(
            pl.col("owner_team").alias("team"),
            pl.when(pl.col("owner_team").is_not_null()).then(pl.lit("repo")).alias("team_via"),
        )
        .drop("owner_team")
    )


def _sprints(frame: pl.LazyFrame, calendar: pl.LazyFrame, time_col: str) -> pl.LazyFrame:
    return with_sprints(frame, calendar, time_col=time_col)


# --------------------------------------------------------------------------- deployments


def production_deployments(
    deployments: pl.LazyFrame,
    statuses: pl.LazyFrame,
    releases: pl.LazyFrame,
    forge_repos: pl.LazyFrame,
    commits: pl.LazyFrame,
    settings: Settings,
    recorded: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Production deployments with their outcome and cut-off; releases for repositories without any.

    `recorded` (git_repo): further repositories known to have deployment records (when
    `deployments` holds only some of them).

    Outcome: `failure` when a failure/error status came before any success, `success` when a
    success status came, `canceled`, else `pending`. Deployments without status rows fall back
    to `latest_state`. The cut-off is the time the deployed commit was committed (changes merged
    to the default branch by then are taken to be in it), else the deployment's creation time.
    """
    status = statuses.group_by(KEY).agg(
        pl.col("created_at").filter(pl.col("state") == "success").min().alias("_success_at"),
        pl.col("created_at")
        .filter(pl.col("state").is_in(["failure", "error"]))
        .min()
        .alias("_failed_at"),
        (pl.col("state") == "canceled").any().alias("_canceled"),
        pl.lit(True).alias("_has_status"),
    )
    no_status = pl.col("_has_status").is_null()
    latest = pl.col("latest_state")
    deployed = (
        deployments.filter(
            ~pl.col("is_deleted")
            & pl.col("environment")
            .str.strip_chars()
            .str.to_lowercase()
            .is_in(_lower(settings.production_environments))
        )
        .pipe(_with_git_repo, forge_repos)
        .join(status, on=KEY, how="left")
        .select(
            "source",
            "repo",
            pl.col("deployment_id").cast(pl.String),
            "git_repo",
            pl.lit("deployment").alias("origin"),
            "environment",
            "ref",
            "sha",
            "created_at",
            pl.coalesce(
                "_success_at", pl.when(no_status & (latest == "success")).then("latest_state_at")
            ).alias("succeeded_at"),
            pl.coalesce(
                "_failed_at",
                pl.when(no_status & latest.is_in(["failure", "error"])).then("latest_state_at"),
            ).alias("failed_at"),
            pl.coalesce("_canceled", no_status & (latest == "canceled"))
            .fill_null(False)
            .alias("_canceled"),
        )
    )
    with_records = deployed.select("git_repo")
    if recorded is not None:
        with_records = pl.concat([with_records, recorded.select("git_repo")])
    with_records = with_records.unique()
    released = (
        releases.filter(~pl.col("is_deleted") & ~pl.col("is_draft") & ~pl.col("is_prerelease"))
        .pipe(_with_git_repo, forge_repos)
        .join(with_records, on="git_repo", how="anti")
        .select(
            "source",
            "repo",
            pl.col("release_id").cast(pl.String).alias("deployment_id"),
            "git_repo",
            pl.lit("release").alias("origin"),
            pl.lit("release").alias("environment"),
            pl.col("tag_name").alias("ref"),
            pl.col("target_sha").alias("sha"),
            "created_at",
            pl.coalesce("published_at", "created_at").alias("succeeded_at"),
            pl.lit(None, UTC_TS).alias("failed_at"),
            pl.lit(False).alias("_canceled"),
        )
    )
    deployed_commits = commits.select(
        pl.col("repo").alias("git_repo"),
        "sha",
        pl.col("committed_at").alias("_sha_committed_at"),
    )
    failed_first = pl.col("failed_at").is_not_null() & (
        pl.col("succeeded_at").is_null() | (pl.col("failed_at") < pl.col("succeeded_at"))
    )
    return (
        pl.concat([deployed, released], how="vertical_relaxed")
        .join(deployed_commits, on=["git_repo", "sha"], how="left")
        .with_columns(
            pl.when(failed_first)
            .then(pl.lit("failure"))
            .when(pl.col("succeeded_at").is_not_null())
            .then(pl.lit("success"))
            .when(pl.col("_canceled"))
            .then(pl.lit("canceled"))
            .otherwise(pl.lit("pending"))
            .alias("outcome"),
            pl.col("_sha_committed_at").is_not_null().alias("sha_known"),
            pl.coalesce("_sha_committed_at", "created_at").alias("cutoff_at"),
        )
        .with_columns(
            pl.when(pl.col("outcome") == "success")
            .then(pl.col("succeeded_at"))
            .when(pl.col("outcome") == "failure")
            .then(pl.col("failed_at"))
            .otherwise(pl.col("created_at"))
            .alias("finished_at")
        )
        .drop("_canceled", "_sha_committed_at")
    )


def project_owners(settings: Settings) -> pl.LazyFrame:
    """ticket project -> owning team, for projects exactly one team lists."""
    pairs = [(p, team.name) for team in settings.teams for p in team.projects]
    frame = pl.LazyFrame(
        pairs, schema={"project": pl.String, "project_team": pl.String}, orient="row"
    )
    return (
        frame.group_by("project")
        .agg(pl.col("project_team").first(), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1)
        .drop("_n")
    )


def incident_tickets(tickets: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Live incident tickets (by type, type category or label; canceled ones were false alarms).

    `resolved_at_effective`: when a done incident was resolved (its update time when the tracker
    gave no resolution time); NULL while it is open.
    """
    types = _lower(settings.incident_types)
    labels = _lower(settings.incident_labels)
    by_label = (
        pl.col("labels").list.eval(pl.element().str.to_lowercase().is_in(labels)).list.any()
        if labels
        else pl.lit(False)
    )
    is_incident = (
        pl.col("type_category").str.to_lowercase().is_in(types).fill_null(False)
        | pl.col("type").str.to_lowercase().is_in(types).fill_null(False)
        | by_label.fill_null(False)
    )
    return (
        tickets.filter(
            ~pl.col("is_deleted") & is_incident & (pl.col("status_category") != "canceled")
        )
        .join(project_owners(settings), on="project", how="left")
        .select(
            pl.col("source").alias("ticket_source"),
            "ticket_id",
            "key",
            "project",
            "project_team",
            "created_at",
            pl.when(pl.col("status_category") == "done")
            .then(pl.coalesce("resolved_at", "updated_at"))
            .alias("resolved_at_effective"),
        )
    )


def blame_incidents(
    incidents: pl.LazyFrame, deployments: pl.LazyFrame, settings: Settings
) -> pl.LazyFrame:
    """Each incident with the deployment it is taken to have come from (NULL columns when none).

    That is the latest successful production deployment of the incident's team's repositories
    (of any repository when no single team lists the ticket's project) that finished at most
    `incident_window_hours` before the incident was opened.
    """
    window = timedelta(hours=settings.incident_window_hours)
    shipped = (
        deployments.filter(pl.col("outcome") == "success")
        .select(
            pl.col("source").alias("d_source"),
            pl.col("repo").alias("d_repo"),
            pl.col("deployment_id").alias("d_deployment_id"),
            pl.col("git_repo").alias("d_git_repo"),
            pl.col("team").alias("d_team"),
            pl.col("succeeded_at").alias("_at"),
        )
        .sort("_at")
    )
    ordered = incidents.sort("created_at")
    of_team = ordered.filter(pl.col("project_team").is_not_null()).join_asof(
        shipped.filter(pl.col("d_team").is_not_null()),
        left_on="created_at",
        right_on="_at",
        by_left="project_team",
        by_right="d_team",
        strategy="backward",
        tolerance=window,
        check_sortedness=False,
    )
    anywhere = ordered.filter(pl.col("project_team").is_null()).join_asof(
        shipped, left_on="created_at", right_on="_at", strategy="backward", tolerance=window
    )
    return (
        pl.concat([of_team, anywhere], how="diagonal_relaxed")
        .with_columns(pl.coalesce("project_team", "d_team").alias("incident_team"))
        .select(
            "ticket_source", "ticket_id", "key", "project", "project_team", "incident_team",
            "created_at", "resolved_at_effective",
            "d_source", "d_repo", "d_deployment_id", "d_git_repo",
        )
    )  # fmt: skip


def _raw_commits(ctx: "Context") -> pl.LazyFrame:
    """Raw commits to look deployed shas, merge commits and rebased PR commits up in.

    `Inputs.linked_commits` holds just those when the warehouse reader provides it; every other
    commit would only be hashed and dropped by the joins below.
    """
    linked = ctx.inputs.linked_commits
    return ctx.inputs.commits if linked is None else linked


PRODUCTION_COLUMNS = [
    "source", "repo", "deployment_id", "git_repo", "origin", "environment", "ref", "sha",
    "created_at", "succeeded_at", "failed_at", "outcome", "sha_known", "cutoff_at", "finished_at",
    "team", "team_via",
]  # fmt: skip


def _production(ctx: "Context") -> pl.LazyFrame:
    """Production deployments (or stand-in releases) with outcome, cut-off and team.

    In a latest-sprint recompute the inputs hold the deployments and releases of the look-back
    window (`Scope.deployments_from`); the earlier ones are the stored rows (`earlier_deployments`),
    which no fact of the window changes.
    """
    inputs, settings = ctx.inputs, ctx.settings
    releases, earlier = inputs.releases, None
    if ctx.scope is not None:
        start = ctx.scope.deployments_from or ctx.scope.since
        releases = releases.filter(
            (pl.col("created_at") >= start) | (pl.col("published_at") >= start)
        )
        earlier = inputs.extra["earlier_deployments"].select(PRODUCTION_COLUMNS)
    fresh = production_deployments(
        inputs.deployments,
        inputs.deployment_statuses,
        releases,
        inputs.forge_repos,
        _raw_commits(ctx),
        settings,
        recorded=None if earlier is None else earlier.filter(pl.col("origin") == "deployment"),
    ).pipe(_credit, settings)
    if earlier is None:
        return fresh
    return pl.concat([earlier, fresh.select(PRODUCTION_COLUMNS)], how="vertical_relaxed")


def _deployments(
    ctx: "Context", deployments: pl.LazyFrame | None = None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Production deployments with team and incident count; and the incidents with their blame.

    `deployments`: `_production(ctx)`, when the caller has it materialised already.
    """
    inputs, settings = ctx.inputs, ctx.settings
    if deployments is None:
        deployments = _production(ctx)
    tickets = inputs.tickets if inputs.incident_candidates is None else inputs.incident_candidates
    blamed = blame_incidents(incident_tickets(tickets, settings), deployments, settings)
    per_deployment = (
        blamed.filter(pl.col("d_deployment_id").is_not_null())
        .group_by(
            pl.col("d_source").alias("source"),
            pl.col("d_repo").alias("repo"),
            pl.col("d_deployment_id").alias("deployment_id"),
        )
        .agg(pl.len().cast(pl.Int64).alias("incidents"))
    )
    enriched = (
        deployments.join(per_deployment, on=KEY, how="left")
        .with_columns(pl.col("incidents").fill_null(0))
        .with_columns(
            ((pl.col("outcome") == "failure") | (pl.col("incidents") > 0)).alias(
                "is_change_failure"
            )
        )
    )
    return enriched, blamed


def _rework(
    deployments: pl.LazyFrame,
    blamed: pl.LazyFrame,
    shipped: pl.LazyFrame,
    settings: Settings,
    earlier_fixes: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """rework_reason per deployment key: after_failure, rollback or fix (the first that applies).

    after_failure: a change failure (failed deployment, or incident blamed on a deployment) of the
    same repository in the `rework_window_hours` before the deployment was created. rollback: the
    deployed commit is older than one already shipped to that environment. fix: it ships a change
    marked as a fix (`rework_pattern` in the PR's title, branch or labels, a revert commit), or
    its ref matches `rework_pattern`.
    """
    window = timedelta(hours=settings.rework_window_hours)
    failures = (
        pl.concat(
            [
                deployments.filter(pl.col("outcome") == "failure").select(
                    "git_repo", pl.col("failed_at").alias("_failure_at")
                ),
                blamed.filter(pl.col("d_git_repo").is_not_null()).select(
                    pl.col("d_git_repo").alias("git_repo"),
                    pl.col("created_at").alias("_failure_at"),
                ),
            ]
        )
        .filter(pl.col("_failure_at").is_not_null())
        .sort("_failure_at")
    )
    after_failure = (
        deployments.select(*KEY, "git_repo", "created_at")
        .sort("created_at")
        .join_asof(
            failures,
            left_on="created_at",
            right_on="_failure_at",
            by="git_repo",
            strategy="backward",
            tolerance=window,
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .select(*KEY, pl.col("_failure_at").is_not_null().alias("_after_failure"))
    )
    shipped_fixes = shipped.filter(pl.col("is_fix") & pl.col("deployment_id").is_not_null())
    if earlier_fixes is not None:
        # A latest-sprint recompute ships only some changes: the others' fixes as stored.
        shipped_fixes = pl.concat(
            [
                shipped_fixes.select(earlier_fixes.collect_schema().names()),
                earlier_fixes.join(shipped, on=CHANGE_KEY, how="anti", nulls_equal=True),
            ],
            how="vertical_relaxed",
        )
    fixes = (
        shipped_fixes.select(
            pl.col("deployment_source").alias("source"),
            pl.col("deployment_repo").alias("repo"),
            "deployment_id",
        )
        .unique()
        .with_columns(pl.lit(True).alias("_ships_fix"))
    )
    # A deployment of an older commit than one already shipped to that environment rolls back.
    shipped_cutoff = pl.when((pl.col("outcome") == "success") & pl.col("sha_known")).then(
        pl.col("cutoff_at")
    )
    previous_high = (
        shipped_cutoff.cum_max()
        .forward_fill()
        .shift(1)
        .over(["git_repo", "environment"], order_by=["created_at", "deployment_id"])
    )
    return (
        deployments.join(after_failure, on=KEY, how="left")
        .join(fixes, on=KEY, how="left")
        .with_columns(previous_high.alias("_previous_high"))
        .select(
            *KEY,
            pl.when(pl.col("_after_failure").fill_null(False))
            .then(pl.lit("after_failure"))
            .when(pl.col("sha_known") & (pl.col("cutoff_at") < pl.col("_previous_high")))
            .then(pl.lit("rollback"))
            .when(
                pl.col("_ships_fix").fill_null(False)
                | pl.col("ref").str.contains(settings.rework_pattern).fill_null(False)
            )
            .then(pl.lit("fix"))
            .alias("rework_reason"),
        )
    )


def fact_deployments(
    ctx: "Context", deployments: pl.LazyFrame, blamed: pl.LazyFrame, shipped: pl.LazyFrame
) -> pl.LazyFrame:
    """mart_deployments: one row per production deployment (or stand-in release)."""
    earlier = None if ctx.scope is None else ctx.inputs.extra["shipped_fixes"]
    rework = _rework(deployments, blamed, shipped, ctx.settings, earlier)
    final = pl.col("outcome").is_in(FINAL)
    return (
        deployments.join(rework, on=KEY, how="left")
        .with_columns(
            pl.when(final).then(pl.col("rework_reason")).alias("rework_reason"),
            (final & pl.col("rework_reason").is_not_null()).alias("is_rework"),
        )
        .pipe(_sprints, ctx.calendar, "finished_at")
        .select(list(DEPLOYMENTS_SCHEMA))
        .cast(DEPLOYMENTS_SCHEMA)  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- changes


def _changes(ctx: "Context") -> pl.LazyFrame:
    """Merged non-bot PRs into the default branch, and work commits that reached it without a PR."""
    inputs = ctx.inputs
    pattern = ctx.settings.rework_pattern
    raw = inputs.prs.select(
        "source",
        "repo",
        "number",
        "base_ref",
        pl.concat_str(
            [pl.col("title"), pl.col("head_ref"), pl.col("labels").list.join(" ")],
            separator=" ",
            ignore_nulls=True,
        )
        .str.contains(pattern)
        .fill_null(False)
        .alias("is_fix"),
    ).join(
        inputs.forge_repos.select("source", "repo", "default_branch").unique(["source", "repo"]),
        on=["source", "repo"],
        how="left",
    )
    raw_commits = _raw_commits(ctx)
    merge_commits = raw_commits.select(
        pl.col("repo").alias("git_repo"),
        pl.col("sha").alias("merge_commit_sha"),
        pl.col("committed_at").alias("_merge_committed_at"),
    )
    into_default = (
        pl.col("base_ref").is_null()
        | pl.col("default_branch").is_null()
        | (pl.col("base_ref") == pl.col("default_branch"))
    )
    prs = (
        ctx.prs.filter(pl.col("is_merged") & ~pl.col("is_bot"))
        .with_columns(_git_repo())
        .join(raw, on=["source", "repo", "number"], how="left")
        .filter(into_default)
        .join(merge_commits, on=["git_repo", "merge_commit_sha"], how="left")
        .select(
            pl.lit("pr").alias("kind"),
            "git_repo",
            "source",
            "repo",
            pl.col("number").cast(pl.Int64),
            pl.col("merge_commit_sha").alias("sha"),
            pl.min_horizontal(pl.coalesce("first_commit_at", "created_at"), "created_at").alias(
                "start_at"
            ),
            pl.when(pl.col("first_commit_at") <= pl.col("created_at"))
            .then(pl.lit("first_commit"))
            .otherwise(pl.lit("pr_created"))
            .alias("start_from"),
            pl.coalesce("_merge_committed_at", "merged_at").alias("in_default_at"),
            "is_ai",
            "is_agent",
            pl.col("is_fix").fill_null(False),
        )
    )
    merged_prs = inputs.prs.filter(pl.col("state") == "merged").select("source", "repo", "number")
    pr_commits = (
        inputs.pr_commits.join(
            merged_prs,
            left_on=["source", "repo", "pr_number"],
            right_on=["source", "repo", "number"],
            how="semi",
        )
        .pipe(_with_git_repo, inputs.forge_repos)
        .select(
            "git_repo",
            "sha",
            pl.col("author_email").str.strip_chars().str.to_lowercase().alias("_email"),
            "authored_at",
        )
    )
    # A rebase merge gives PR commits new ids but keeps their author and author time.
    rebased = (
        raw_commits.select(
            pl.col("repo").alias("git_repo"),
            "sha",
            pl.col("author_email").str.strip_chars().str.to_lowercase().alias("_email"),
            "authored_at",
        )
        .join(
            pr_commits.select("git_repo", "_email", "authored_at"),
            on=["git_repo", "_email", "authored_at"],
            how="semi",
        )
        .select("git_repo", "sha")
    )
    linked = pl.concat(
        [
            pr_commits.select("git_repo", "sha"),
            rebased,
            ctx.prs.filter(pl.col("merge_commit_sha").is_not_null()).select(
                _git_repo(), pl.col("merge_commit_sha").alias("sha")
            ),
        ]
    ).unique()
    direct = (
        ctx.commits.filter(pl.col("is_work"))
        .join(linked, left_on=["repo", "sha"], right_on=["git_repo", "sha"], how="anti")
        .select(
            pl.lit("commit").alias("kind"),
            pl.col("repo").alias("git_repo"),
            pl.lit(None, pl.String).alias("source"),
            pl.lit(None, pl.String).alias("repo"),
            pl.lit(None, pl.Int64).alias("number"),
            "sha",
            pl.col("committed_at").alias("start_at"),
            pl.lit("committed").alias("start_from"),
            pl.col("committed_at").alias("in_default_at"),
            "is_ai",
            "is_agent",
            pl.col("is_revert").fill_null(False).alias("is_fix"),
        )
    )
    changes = pl.concat([prs, direct], how="vertical_relaxed")
    if ctx.scope is None:
        return changes
    # A latest-sprint recompute: the window's changes, and the earlier ones that can still ship in
    # it (pending, or shipped in it) as the last recompute stored them.
    earlier = inputs.extra["open_changes"].select(changes.collect_schema().names())
    return pl.concat(
        [changes, earlier.join(changes, on=CHANGE_KEY, how="anti", nulls_equal=True)],
        how="vertical_relaxed",
    )


def _shipped(ctx: "Context", deployments: pl.LazyFrame) -> pl.LazyFrame:
    """Each change with the first successful production deployment taken to contain it, and a status.

    A change is in a deployment of its repository when it reached the default branch (merge
    commit's commit time, else merged_at; a direct commit's commit time) no later than the
    deployment's cut-off. Its deployment is the earliest-finishing such one. Changes no later than
    the earliest cut-off of the repository's recorded deployments are `before_data`: the records
    start there, and an unrecorded deployment may have shipped them.
    """
    shipped = deployments.filter(pl.col("outcome") == "success").select(
        "git_repo",
        "cutoff_at",
        "succeeded_at",
        pl.col("source").alias("deployment_source"),
        pl.col("repo").alias("deployment_repo"),
        "deployment_id",
        pl.col("sha_known").alias("deployment_sha_known"),
    )
    # Earliest success among deployments with this cut-off or a later one: rollbacks ship older
    # commits later, so cut-off order and finish order differ.
    earliest_after = shipped.with_columns(
        pl.col("succeeded_at")
        .cum_min(reverse=True)
        .over("git_repo", order_by=["cutoff_at", "succeeded_at"])
        .alias("_first_success")
    ).sort("cutoff_at")
    which = (
        shipped.sort("succeeded_at", "deployment_source", "deployment_repo", "deployment_id")
        .unique(["git_repo", "succeeded_at"], keep="first", maintain_order=True)
        .rename({"succeeded_at": "_first_success"})
        .drop("cutoff_at")
    )
    data_from = deployments.group_by("git_repo").agg(pl.col("cutoff_at").min().alias("_data_from"))
    deployment_columns = ["deployment_source", "deployment_repo", "deployment_id",
                          "deployment_sha_known", "deployed_at"]  # fmt: skip
    # Matched in place (changes sorted by time), not matched on the side and joined back by key:
    # at a million changes the join back on six key columns cost more than the matching.
    return (
        _changes(ctx)
        .sort("in_default_at")
        .join_asof(
            earliest_after.select("git_repo", "cutoff_at", "_first_success"),
            left_on="in_default_at",
            right_on="cutoff_at",
            by="git_repo",
            strategy="forward",
            check_sortedness=False,
        )
        .drop("cutoff_at")
        .join(which, on=["git_repo", "_first_success"], how="left")
        .rename({"_first_success": "deployed_at"})
        .join(data_from, on="git_repo", how="left")
        .with_columns(
            pl.when(pl.col("_data_from").is_null())
            .then(pl.lit("no_deployments"))
            .when(pl.col("in_default_at") <= pl.col("_data_from"))
            .then(pl.lit("before_data"))
            .when(pl.col("deployed_at").is_not_null())
            .then(pl.lit("deployed"))
            .otherwise(pl.lit("pending"))
            .alias("status")
        )
        .with_columns(
            *[pl.when(pl.col("status") == "deployed").then(pl.col(c)).alias(c) for c in deployment_columns]
        )
        .with_columns(hours("start_at", "deployed_at").clip(lower_bound=0.0).alias("lead_hours"))
        .drop("_data_from")
    )  # fmt: skip


def fact_changes(ctx: "Context", shipped: pl.LazyFrame) -> pl.LazyFrame:
    """mart_changes: every change, the deployment that shipped it and its lead time."""
    return (
        shipped.pipe(_credit, ctx.settings)
        .pipe(_sprints, ctx.calendar, "deployed_at")
        .select(list(CHANGES_SCHEMA))
        .cast(CHANGES_SCHEMA)  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- recoveries


def fact_recoveries(
    ctx: "Context", deployments: pl.LazyFrame, blamed: pl.LazyFrame
) -> pl.LazyFrame:
    """mart_recoveries: each production failure and when it was recovered.

    A run of failed deployments of a repository and environment is one failure, from the first
    failure to the next success there (a later success status of the failed deployment itself
    counts). An incident blamed on a deployment is one failure, from its opening to its
    resolution. Recovered failures count in the sprint of their recovery; open ones in the
    sprint they started.
    """
    successes = (
        deployments.filter(pl.col("succeeded_at").is_not_null())
        .select("git_repo", "environment", pl.col("succeeded_at").alias("recovered_at"))
        .sort("recovered_at")
    )
    runs = (
        deployments.filter(pl.col("outcome") == "failure")
        .select("deployment_id", "git_repo", "environment", "failed_at", "team", "team_via")
        .sort("failed_at")
        .join_asof(
            successes,
            left_on="failed_at",
            right_on="recovered_at",
            by=["git_repo", "environment"],
            strategy="forward",
            check_sortedness=False,
            coalesce=False,
        )
        .group_by("git_repo", "environment", "recovered_at")
        .agg(
            pl.col("deployment_id").sort_by("failed_at", "deployment_id").first().alias("ref"),
            pl.len().cast(pl.Int64).alias("failures"),
            pl.col("failed_at").min().alias("started_at"),
            pl.col("team").first(),
            pl.col("team_via").first(),
        )
        .with_columns(pl.lit("deployment").alias("kind"))
    )
    incidents = blamed.filter(pl.col("d_deployment_id").is_not_null()).select(
        pl.lit("incident").alias("kind"),
        pl.col("d_git_repo").alias("git_repo"),
        pl.lit(None, pl.String).alias("environment"),
        pl.col("key").alias("ref"),
        pl.lit(1, pl.Int64).alias("failures"),
        pl.col("created_at").alias("started_at"),
        pl.col("resolved_at_effective").alias("recovered_at"),
        pl.col("incident_team").alias("team"),
        pl.when(pl.col("project_team").is_not_null())
        .then(pl.lit("project"))
        .when(pl.col("incident_team").is_not_null())
        .then(pl.lit("repo"))
        .alias("team_via"),
    )
    return (
        pl.concat([runs, incidents], how="diagonal_relaxed")
        .with_columns(
            hours("started_at", "recovered_at").clip(lower_bound=0.0).alias("hours"),
            pl.coalesce("recovered_at", "started_at").alias("finished_at"),
        )
        .pipe(_sprints, ctx.calendar, "finished_at")
        .select(list(RECOVERIES_SCHEMA))
        .cast(RECOVERIES_SCHEMA)  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- metrics


def _release_note() -> pl.Expr:
    repos = pl.col("release_repos")
    return pl.when(repos.list.len() > 0).then(
        pl.concat_str(
            [
                pl.lit("releases stand in for deployments (no deployment records): "),
                repos.list.join(", "),
            ]
        )
    )


def _release_repos() -> pl.Expr:
    return (
        pl.col("git_repo")
        .filter(pl.col("origin") == "release")
        .unique()
        .sort()
        .alias("release_repos")
    )


EXACT_POISSON = 200  # beyond this many events the cube-root approximation is within 0.1 %


@functools.cache
def poisson_table(
    confidence: float, size: int = EXACT_POISSON, counts: tuple[int, ...] | None = None
) -> pl.DataFrame:
    """Exact (Garwood) interval of a Poisson mean for k = 0..size events (or the k of `counts` up to size).

    With a = 1 - confidence: the lower bound L solves P(X >= k; L) = a/2 (0 for k = 0), the upper
    bound U solves P(X <= k; U) = a/2; both by bisection on the Poisson distribution function,
    each k on its own: a row is the same whichever other k are asked.
    """
    tail = (1 - confidence) / 2
    ks = np.arange(size + 1)
    wanted = (
        ks
        if counts is None
        else np.array(sorted(k for k in set(counts) if 0 <= k <= size), dtype=np.int64)
    )
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, size + 1)))])

    def cdf(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
        i = ks[None, :]
        log_pmf = -mu[:, None] + i * np.log(mu[:, None]) - log_fact[None, :]
        return np.where(i <= k[:, None], np.exp(log_pmf), 0.0).sum(axis=1)

    def solve(k: np.ndarray, target: float) -> np.ndarray:
        """mu with cdf(k, mu) = target (cdf falls as mu grows)."""
        lo, hi = np.full(k.shape, 1e-12), np.full(k.shape, 3.0 * size + 50.0)
        for _ in range(100):
            mid = (lo + hi) / 2
            above = cdf(k, mid) > target
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        return (lo + hi) / 2

    low = np.where(wanted > 0, solve(np.maximum(wanted - 1, 0), 1 - tail), 0.0)
    high = solve(wanted, tail)
    return pl.DataFrame(
        {"_k": wanted, "_p_low": low, "_p_high": high},
        schema={"_k": pl.Int64, "_p_low": pl.Float64, "_p_high": pl.Float64},
    )


def poisson_interval(k: pl.Expr, confidence: float) -> tuple[pl.Expr, pl.Expr]:
    """The same interval by the Wilson-Hilferty cube-root approximation of chi-square quantiles.

    Lower = chi2(a/2; 2k)/2 (0 when k = 0), upper = chi2(1 - a/2; 2k + 2)/2; used beyond
    EXACT_POISSON events, where it is within 0.1 % of the exact bounds.
    """
    z = z_value(confidence)

    def chi2(nu: pl.Expr, z_p: float) -> pl.Expr:
        c = 2.0 / (9.0 * nu)
        return nu * (1 - c + z_p * c.sqrt()).clip(lower_bound=0.0) ** 3

    kf = k.cast(pl.Float64)
    low = pl.when(kf > 0).then(chi2(2 * kf, -z) / 2).otherwise(0.0)
    high = chi2(2 * kf + 2, z) / 2
    return low, high


def with_poisson_bounds(frame: pl.LazyFrame, k: str, confidence: float) -> pl.LazyFrame:
    """Add `_p_low`, `_p_high`: the interval of the Poisson mean behind the count column `k`."""
    low, high = poisson_interval(pl.col(k), confidence)
    exact = pl.col(k) <= EXACT_POISSON
    return (
        frame.with_columns(pl.col(k).cast(pl.Int64).alias("_k"))
        .with_columns(
            lookup(
                "_k",
                lambda counts: poisson_table(confidence, counts=counts),
                {"_p_low": pl.Float64, "_p_high": pl.Float64},
            ).alias("_bounds")
        )
        .unnest("_bounds")
        .with_columns(
            pl.when(exact).then(pl.col("_p_low")).otherwise(low).alias("_p_low"),
            pl.when(exact).then(pl.col("_p_high")).otherwise(high).alias("_p_high"),
        )
        .drop("_k")
    )


def frequency(
    deployments: pl.LazyFrame, calendar: pl.LazyFrame, today: datetime, confidence: float
) -> pl.LazyFrame:
    """deployment_frequency for every started sprint since the scope's first recorded deployment.

    Days: the sprint's length; for the running sprint the days up to the end of `today`.
    """
    counts = by_team_and_org(
        deployments,
        [
            (pl.col("outcome") == "success").sum().cast(pl.Int64).alias("successes"),
            pl.col("outcome").is_in(FINAL).sum().cast(pl.Int64).alias("final"),
            (pl.col("outcome") != "canceled").sum().cast(pl.Int64).alias("live"),
            _release_repos(),
        ],
    )
    data_from = pl.concat(
        [
            deployments.filter(pl.col("team").is_not_null())
            .group_by("team")
            .agg(pl.col("finished_at").min().alias("_data_from")),
            deployments.select(
                pl.lit(ORG).alias("team"), pl.col("finished_at").min().alias("_data_from")
            ),
        ]
    )
    end = pl.min_horizontal("sprint_end", pl.lit(today, UTC_TS))
    days = hours("sprint_start", end) / 24
    grid = (
        calendar.filter(pl.col("sprint_state") != "future")
        .join(data_from, on="team", how="inner")
        .filter(pl.col("sprint_end") > pl.col("_data_from"))
        .select("team", "sprint_id", "sprint_end", days.alias("days"), (end < pl.col("sprint_end")).alias("_running"))
        .join(counts, on=["team", "sprint_id"], how="left")
        .with_columns(pl.col("successes", "final", "live").fill_null(0))
    )  # fmt: skip
    running = pl.when(pl.col("_running")).then(
        pl.concat_str(
            [pl.lit("sprint in progress: "), pl.col("days").round(1).cast(pl.String), pl.lit(" days so far")]
        )
    )  # fmt: skip
    return grid.pipe(with_poisson_bounds, "successes", confidence).pipe(
        rows,
        "deployment_frequency",
        value=pl.col("successes") / pl.col("days"),
        numerator=pl.col("successes"),
        denominator=pl.col("days"),
        ci_low=pl.col("_p_low") / pl.col("days"),
        ci_high=pl.col("_p_high") / pl.col("days"),
        coverage=pl.when(pl.col("live") > 0).then(pl.col("final") / pl.col("live")).otherwise(1.0),
        note=notes(
            running,
            count_note(pl.col("live") - pl.col("final"), "deployments without a final status"),
            _release_note(),
        ),
    )


def deployment_shares(deployments: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """change_fail_rate and deployment_rework_rate over production deployments with a final outcome."""
    counts = by_team_and_org(
        deployments.filter(pl.col("outcome").is_in(FINAL)),
        [
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("is_change_failure").sum().cast(pl.Int64).alias("failures"),
            (pl.col("outcome") == "failure").sum().cast(pl.Int64).alias("failed"),
            ((pl.col("outcome") == "success") & (pl.col("incidents") > 0))
            .sum()
            .cast(pl.Int64)
            .alias("with_incident"),
            pl.col("is_rework").sum().cast(pl.Int64).alias("rework"),
            pl.col("sha_known").mean().alias("sha_known_share"),
            _release_repos(),
        ],
    )

    def share_rows(metric_id: str, k: str, note: pl.Expr) -> pl.LazyFrame:
        low, high = wilson(pl.col(k), pl.col("n"), confidence)
        return counts.pipe(
            rows,
            metric_id,
            value=pl.when(pl.col("n") > 0).then(pl.col(k) / pl.col("n")),
            numerator=pl.col(k),
            denominator=pl.col("n"),
            ci_low=low,
            ci_high=high,
            coverage=pl.col("sha_known_share") if metric_id == "deployment_rework_rate" else pl.lit(1.0),
            sample=pl.col("n"),
            note=note,
        )  # fmt: skip

    fail_note = notes(
        count_note(pl.col("failed"), "failed"),
        count_note(pl.col("with_incident"), "followed by an incident"),
        _release_note(),
    )
    return pl.concat(
        [
            share_rows("change_fail_rate", "failures", fail_note),
            share_rows("deployment_rework_rate", "rework", notes(_release_note())),
        ]
    )


def lead_time(changes: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """change_lead_time_p50 over the changes deployed in the sprint."""
    grouped = by_team_and_org(
        changes.filter(pl.col("status") == "deployed"),
        [
            *quantile_aggs("lead_hours", 0.5),
            pl.col("deployment_sha_known").mean().alias("_exact"),
            (pl.col("start_from") == "pr_created").sum().cast(pl.Int64).alias("_from_created"),
            (~pl.col("deployment_sha_known")).sum().cast(pl.Int64).alias("_by_time"),
        ],
    )
    return quantile_rows(
        grouped,
        "change_lead_time_p50",
        "lead_hours",
        0.5,
        confidence,
        coverage=pl.col("_exact"),
        note=notes(
            count_note(pl.col("_from_created"), "PRs timed from their creation (no earlier commit time)"),
            count_note(pl.col("_by_time"), "changes matched by deployment time (deployed commit unknown)"),
        ),
    )  # fmt: skip


def recovery_time(recoveries: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """recovery_time_p50 over the failures recovered in the sprint."""
    grouped = by_team_and_org(
        recoveries,
        [
            *quantile_aggs("hours", 0.5),
            pl.len().cast(pl.Int64).alias("_all"),
            pl.col("recovered_at").is_null().sum().cast(pl.Int64).alias("_open"),
        ],
    )
    return quantile_rows(
        grouped,
        "recovery_time_p50",
        "hours",
        0.5,
        confidence,
        coverage=(pl.col("_all") - pl.col("_open")) / pl.col("_all"),
        note=notes(count_note(pl.col("_open"), "failures that started in the sprint, not recovered yet")),
    )  # fmt: skip


def fact_marts(ctx: "Context") -> dict[str, pl.DataFrame]:
    """mart_deployments, mart_changes and mart_recoveries.

    Materialised in stages: all three read the deployments and two read the shipped changes, and
    Polars re-runs a shared part of a plan for each reader (ten times slower here than staging).
    """
    production = _production(ctx).collect().lazy()
    deployments, blamed = (frame.lazy() for frame in pl.collect_all(_deployments(ctx, production)))
    shipped = _shipped(ctx, deployments).collect().lazy()
    plans = {
        "mart_deployments": fact_deployments(ctx, deployments, blamed, shipped),
        "mart_changes": fact_changes(ctx, shipped),
        "mart_recoveries": fact_recoveries(ctx, deployments, blamed),
    }
    return dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))


def family(ctx: "Context") -> pl.LazyFrame:
    """The DORA family over the three fact marts (as `compute` built them, else built here)."""
    names = ("mart_deployments", "mart_changes", "mart_recoveries")
    built = ctx.facts if all(n in ctx.facts for n in names) else None
    marts = built or {name: frame.lazy() for name, frame in fact_marts(ctx).items()}
    confidence = ctx.settings.confidence
    deployments = marts["mart_deployments"]
    end_of_today = datetime(ctx.today.year, ctx.today.month, ctx.today.day, tzinfo=UTC) + timedelta(
        days=1
    )
    return pl.concat(
        [
            frequency(deployments, ctx.calendar, end_of_today, confidence),
            deployment_shares(deployments, confidence),
            lead_time(marts["mart_changes"], confidence),
            recovery_time(marts["mart_recoveries"], confidence),
        ]
    )
