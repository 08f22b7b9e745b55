"""Ticket facts: tickets credited to a team, each sprint's scope as Jira's velocity chart counts it, and releases.

A sprint's scope is rebuilt from the tracker's changelog (`ticket_events`): which sprints an issue
was in at every moment (the `sprint` field's comma-separated ids), its story points and its
status category over time. Commitment is the scope at the sprint's start with the points it had
then; completed is the scope that was done by the sprint's end while in the sprint, with the points
it had then; an issue carried over from sprint N to N+1 is committed in N+1 and completed only in
the sprint where it was done; issues added after the start are added scope; removed issues are
never completed. Sources without a changelog (Jira CSV imports, forge issues) fall back to the
sprint field as it is now and the resolution time (`method = 'sprint_field'`); teams on a cadence
(no tracker sprints) count issues resolved in the sprint (`method = 'resolution'`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from metrics.calendar import assign_sprint, assign_sprints
from metrics.facts import repo_owners
from metrics.model import ORG, UTC_TS, Settings
from metrics.people import norm_expr, team_of

if TYPE_CHECKING:
    from metrics.marts import Context

# Epics group work and sub-tasks split it: neither is a unit of the velocity chart.
NOT_SCOPE = ("epic", "subtask")
# Before any tracker history: the state a ticket had when it was created.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_TICKET = ["source", "ticket_id"]
# The changelog fields the timelines read.
TIMELINE_FIELDS = ("sprint", "story_points", "status")
# The order of a ticket's changes: time, then history id, then item within the history entry.
_CHANGE_ORDER = ["changed_at", "event_id", "position"]

TICKET_FACT_SCHEMA = {
    "source": pl.String,
    "tracker": pl.String,
    "ticket_id": pl.String,
    "key": pl.String,
    "project": pl.String,
    "type_category": pl.String,
    "status_category": pl.String,
    "story_points": pl.Float64,
    "assignee_id": pl.String,
    "person_id": pl.String,
    "team": pl.String,
    "team_via": pl.String,  # board | person | project
    "has_changelog": pl.Boolean,
    "created_at": UTC_TS,
    "resolved_at": UTC_TS,
    "done_at": UTC_TS,
    "is_bug": pl.Boolean,
    "created_sprint_id": pl.String,
    "created_org_sprint_id": pl.String,
}

SCOPE_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "org_sprint_id": pl.String,
    "source": pl.String,
    "ticket_id": pl.String,
    "key": pl.String,
    "type_category": pl.String,
    "person_id": pl.String,
    "method": pl.String,  # changelog | sprint_field | resolution
    "committed": pl.Boolean,
    "added": pl.Boolean,
    "removed": pl.Boolean,
    "completed": pl.Boolean,
    "carried_over": pl.Boolean,
    "points_start": pl.Float64,
    "points_end": pl.Float64,
    "done_at": UTC_TS,
}

RELEASE_FACT_SCHEMA = {
    "source": pl.String,
    "repo": pl.String,
    "release_id": pl.String,
    "tag_name": pl.String,
    "git_repo": pl.String,
    "team": pl.String,
    "released_at": UTC_TS,
    "sprint_id": pl.String,
    "org_sprint_id": pl.String,
}


@dataclass(frozen=True)
class TicketFacts:
    tickets: pl.LazyFrame  # mart_tickets
    scope: pl.LazyFrame  # mart_sprint_scope


# --------------------------------------------------------------------------- small helpers


def _id_list(column: str) -> pl.Expr:
    """Comma-separated ids ("101, 102") as a list; NULL is the empty list."""
    return (
        pl.col(column)
        .fill_null("")
        .str.split(",")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )


def _as_of(
    frame: pl.LazyFrame, timeline: pl.LazyFrame, *, at: str, before: bool, suffix: str
) -> pl.LazyFrame:
    """Each row of `frame` with the ticket's timeline values at `at` (strictly before it when `before`).

    Timelines hold one row per ticket and instant (ties resolved upstream), starting at _EARLIEST.
    """
    values = [c for c in timeline.collect_schema().names() if c not in (*_TICKET, "changed_at")]
    right = timeline.rename({c: f"{c}{suffix}" for c in values}).sort("changed_at")
    # Both sides are sorted by time; Polars cannot verify that per ticket group and would warn.
    return (
        frame.sort(at)
        .join_asof(
            right,
            left_on=at,
            right_on="changed_at",
            by=_TICKET,
            strategy="backward",
            allow_exact_matches=not before,
            check_sortedness=False,
        )
        .drop("changed_at")
    )


def _same_group(keys: list[str], offset: int) -> pl.Expr:
    """On rows sorted by `keys`: whether the row `offset` away belongs to the same group.

    Cheaper than a window (`over`) on large frames: the sort already groups the rows.
    """
    return pl.all_horizontal(
        [(pl.col(k) == pl.col(k).shift(offset)).fill_null(False) for k in keys]
    )


def _last_per_instant(timeline: pl.LazyFrame) -> pl.LazyFrame:
    """One row per ticket and instant: the last change at that instant (history id, then item order).

    The rows come out sorted by ticket and time.
    """
    return (
        timeline.sort(*_TICKET, *_CHANGE_ORDER)
        .unique([*_TICKET, "changed_at"], keep="last", maintain_order=True)
        .drop("event_id", "position")
    )


def project_owners(settings: Settings) -> pl.LazyFrame:
    """project -> owning team, for ticket projects exactly one team lists."""
    rows = [(project, team.name) for team in settings.teams for project in team.projects]
    frame = pl.LazyFrame(rows, schema={"project": pl.String, "owner_team": pl.String}, orient="row")
    return (
        frame.group_by("project")
        .agg(pl.col("owner_team").first(), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1)
        .drop("_n")
    )


def tracker_team_sprints(calendar: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """The tracker sprints of teams with a board: team, source, sprint_id, start, end, state."""
    rows = [(t.name, t.sprint_source) for t in settings.teams if t.sprint_source is not None]
    boards = pl.LazyFrame(rows, schema={"team": pl.String, "source": pl.String}, orient="row")
    return calendar.join(boards, on="team", how="inner").select(
        "team", "source", "sprint_id", "sprint_start", "sprint_end", "sprint_state"
    )


def org_sprint_of(calendar: pl.LazyFrame) -> pl.LazyFrame:
    """team, sprint_id -> org_sprint_id: the organisation's sprint containing the team sprint's midpoint.

    The midpoint maps a team sprint to the organisation sprint it overlaps most when both have the
    same length, whatever the offset between them (a board starting Monday 08:00, a cadence at
    midnight), so each team sprint counts exactly once for the organisation.
    """
    teams = calendar.filter(pl.col("team") != ORG).select(
        "team",
        "sprint_id",
        (pl.col("sprint_start") + (pl.col("sprint_end") - pl.col("sprint_start")) / 2).alias(
            "_mid"
        ),
        pl.lit(ORG).alias("_org"),
    )
    return assign_sprint(teams, calendar, team_col="_org", time_col="_mid", prefix="org_").select(
        "team", "sprint_id", "org_sprint_id"
    )


# --------------------------------------------------------------------------- timelines


def membership_intervals(
    tickets: pl.LazyFrame, events: pl.LazyFrame, ticket_sprints: pl.LazyFrame
) -> pl.LazyFrame:
    """source, ticket_id, sprint_id, in_from, in_to (NULL: still in it): when each ticket was in each sprint.

    The changelog's `sprint` items give every change; before the first one the ticket had the
    first item's `from` sprints since its creation. A ticket whose sprint field never changed
    (created into a sprint, or a source without a changelog) has its listed sprints since creation.
    """
    live = tickets.select(*_TICKET, "created_at", "sprint_id")
    changes = events.filter(pl.col("field") == "sprint").select(
        *_TICKET,
        "event_id",
        "position",
        pl.col("changed_at").alias("at"),
        _id_list("from_id").alias("from_ids"),
        _id_list("to_id").alias("to_ids"),
    )
    first = changes.group_by(_TICKET).agg(
        pl.col("from_ids").sort_by("at", "event_id", "position").first()
    )
    listed = (
        pl.concat(
            [
                ticket_sprints.select(*_TICKET, "sprint_id"),
                live.select(*_TICKET, "sprint_id").drop_nulls("sprint_id"),
            ]
        )
        .unique()
        .join(first, on=_TICKET, how="anti")
    )
    initial = (
        pl.concat(
            [
                first.explode("from_ids").select(*_TICKET, pl.col("from_ids").alias("sprint_id")),
                listed,
            ]
        )
        .drop_nulls("sprint_id")
        .join(live.select(*_TICKET, "created_at"), on=_TICKET, how="inner")
        .select(
            *_TICKET,
            "sprint_id",
            pl.col("created_at").alias("at"),
            pl.lit("").alias("event_id"),
            pl.lit(-1, pl.Int16).alias("position"),
            pl.lit(True).alias("enter"),
        )
    )
    moves = changes.join(live.select(_TICKET), on=_TICKET, how="semi")
    entered = moves.select(
        *_TICKET,
        pl.col("to_ids").list.set_difference("from_ids").alias("sprint_id"),
        "at",
        "event_id",
        "position",
        pl.lit(True).alias("enter"),
    )
    left = moves.select(
        *_TICKET,
        pl.col("from_ids").list.set_difference("to_ids").alias("sprint_id"),
        "at",
        "event_id",
        "position",
        pl.lit(False).alias("enter"),
    )
    keys = [*_TICKET, "sprint_id"]
    steps = (
        pl.concat([entered, left])
        .explode("sprint_id")
        .drop_nulls("sprint_id")
        .select(initial.collect_schema().names())
        .cast({"position": pl.Int16})
    )
    return (
        pl.concat([initial, steps])
        .sort(*keys, "at", "event_id", "position")
        # Only real changes of membership: a repeated entry (an inconsistent changelog) is no new interval.
        .filter(
            pl.col("enter")
            != pl.when(_same_group(keys, 1)).then(pl.col("enter").shift(1)).otherwise(False)
        )
        .with_columns(pl.when(_same_group(keys, -1)).then(pl.col("at").shift(-1)).alias("in_to"))
        .filter(pl.col("enter"))
        .select(*keys, pl.col("at").alias("in_from"), "in_to")
    )


def points_timeline(tickets: pl.LazyFrame, events: pl.LazyFrame) -> pl.LazyFrame:
    """source, ticket_id, changed_at, points: story points from each change on (first row at _EARLIEST)."""
    changes = events.filter(pl.col("field") == "story_points").select(
        *_TICKET,
        "changed_at",
        "event_id",
        "position",
        pl.col("from_value").cast(pl.Float64, strict=False).alias("_from"),
        pl.col("to_value").cast(pl.Float64, strict=False).alias("points"),
    )
    first = changes.group_by(_TICKET).agg(
        pl.col("_from").sort_by(*_CHANGE_ORDER).first(), pl.lit(True).alias("_changed")
    )
    initial = (
        tickets.select(*_TICKET, "story_points")
        .join(first, on=_TICKET, how="left")
        .select(
            *_TICKET,
            pl.lit(_EARLIEST, UTC_TS).alias("changed_at"),
            pl.lit("").alias("event_id"),
            pl.lit(-1, pl.Int16).alias("position"),
            # Without a points change the points never changed; else they were the first change's `from`.
            pl.when(pl.col("_changed").fill_null(False))
            .then(pl.col("_from"))
            .otherwise(pl.col("story_points"))
            .alias("points"),
        )
    )
    return _last_per_instant(
        pl.concat([initial, changes.drop("_from").cast({"position": pl.Int16})])
    )


def status_timeline(
    tickets: pl.LazyFrame,
    events: pl.LazyFrame,
    statuses: pl.LazyFrame,
    current_names: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """source, ticket_id, changed_at, category, done_since: the status category from each change on.

    Status ids are read through `ticket_statuses` (by id, else by name, else by the category the
    tickets now in that status have). A ticket without status
    changes was in a not-done state until `resolved_at` and in its current category since then
    (since creation when it has no resolution time). `done_since` is when the current run of
    done statuses began (NULL when not done): reopening and finishing again moves it.
    `current_names` (source, _name, category): that last fallback taken over more tickets than
    `tickets` (a latest-sprint recompute's tickets are a few of all).
    """
    by_id = statuses.select("source", "status_id", "category").unique(
        ["source", "status_id"], keep="first"
    )
    # Names as a fallback: the status table's, then what the tickets' current statuses say.
    if current_names is None:
        current_names = (
            tickets.filter(pl.col("status").is_not_null())
            .group_by("source", pl.col("status").str.to_lowercase().alias("_name"))
            .agg(pl.col("status_category").mode().sort().first().alias("category"))
        )
    by_name = pl.concat(
        [
            statuses.select("source", pl.col("name").str.to_lowercase().alias("_name"), "category"),
            current_names,
        ]
    ).unique(["source", "_name"], keep="first", maintain_order=True)

    def category(frame: pl.LazyFrame, id_col: str, name_col: str, out: str) -> pl.LazyFrame:
        """The category of a status given by id (else by name) in `frame`."""
        return (
            frame.with_columns(pl.col(name_col).str.to_lowercase().alias("_name"))
            .join(by_id.rename({"status_id": id_col, "category": "_by_id"}), on=["source", id_col], how="left")
            .join(by_name.rename({"category": "_by_name"}), on=["source", "_name"], how="left")
            .with_columns(pl.coalesce("_by_id", "_by_name").alias(out))
            .drop("_name", "_by_id", "_by_name")
        )  # fmt: skip

    raw = events.filter(pl.col("field") == "status")
    changes = raw.pipe(category, "to_id", "to_value", "category").select(
        *_TICKET, "changed_at", "event_id", "position", "category"
    )
    # Only the first change's `from` matters: the status the ticket had before it.
    first = (
        raw.group_by(_TICKET)
        .agg(pl.col("from_id", "from_value").sort_by(*_CHANGE_ORDER).first())
        .pipe(category, "from_id", "from_value", "_from")
        .select(*_TICKET, "_from", pl.lit(True).alias("_changed"))
    )
    current = tickets.select(*_TICKET, "status_category", "resolved_at").join(
        first, on=_TICKET, how="left"
    )
    changed = pl.col("_changed").fill_null(False)
    resolved = pl.col("resolved_at").is_not_null()
    start = current.select(
        *_TICKET,
        pl.lit(_EARLIEST, UTC_TS).alias("changed_at"),
        pl.lit("").alias("event_id"),
        pl.lit(-1, pl.Int16).alias("position"),
        pl.when(changed)
        .then(pl.col("_from"))
        .when(resolved)
        .then(pl.lit("todo"))
        .otherwise(pl.col("status_category"))
        .alias("category"),
    )
    resolution = current.filter(~changed & resolved).select(
        *_TICKET,
        pl.col("resolved_at").alias("changed_at"),
        pl.lit("").alias("event_id"),
        pl.lit(0, pl.Int16).alias("position"),
        pl.col("status_category").alias("category"),
    )
    done = pl.col("category") == "done"
    return (
        # Sorted by ticket and time: the shifts below compare neighbouring rows.
        _last_per_instant(pl.concat([start, resolution, changes.cast({"position": pl.Int16})]))
        .with_columns(done.fill_null(False).alias("_done"))
        .with_columns(
            pl.when(
                pl.col("_done")
                & ~(_same_group(_TICKET, 1) & pl.col("_done").shift(1).fill_null(False))
            )
            .then(pl.col("changed_at"))
            .alias("done_since")
        )
        # Every run of done rows starts with its own `done_since` within its ticket, so filling
        # forward across the sorted frame never carries a value into another ticket's run.
        .with_columns(
            pl.when(pl.col("_done")).then(pl.col("done_since").forward_fill()).alias("done_since")
        )
        .drop("_done")
    )


# --------------------------------------------------------------------------- facts


def _ticket_sprint_ids(
    tickets: pl.LazyFrame, intervals: pl.LazyFrame, ticket_sprints: pl.LazyFrame
) -> pl.LazyFrame:
    """Every sprint a ticket is or was in: changelog, the tracker's list, the current sprint field."""
    return pl.concat(
        [
            intervals.select(*_TICKET, "sprint_id"),
            ticket_sprints.select(*_TICKET, "sprint_id"),
            tickets.select(*_TICKET, "sprint_id").drop_nulls("sprint_id"),
        ]
    ).unique()


@dataclass(frozen=True)
class Timelines:
    """What the changelog says about each live ticket, shared by the ticket facts and the scope."""

    tickets: pl.LazyFrame  # live tickets
    events: pl.LazyFrame  # their changelog
    intervals: pl.LazyFrame  # membership_intervals
    points: pl.LazyFrame  # points_timeline
    status: pl.LazyFrame  # status_timeline
    changelog_sources: pl.LazyFrame  # source: sources whose live tickets have any changelog


def timelines(
    raw_tickets: pl.LazyFrame,
    raw_events: pl.LazyFrame,
    ticket_sprints: pl.LazyFrame,
    statuses: pl.LazyFrame,
    *,
    changelog_sources: pl.LazyFrame | None = None,
) -> Timelines:
    """The timelines of the live tickets.

    `changelog_sources`: the sources whose live tickets have any changelog entry, when
    `raw_events` holds only the fields the timelines read (else taken from `raw_events`).
    """
    tickets = raw_tickets.filter(~pl.col("is_deleted"))
    events = raw_events.join(tickets.select(_TICKET), on=_TICKET, how="semi")
    return Timelines(
        tickets=tickets,
        events=events,
        intervals=membership_intervals(tickets, events, ticket_sprints),
        points=points_timeline(tickets, events),
        status=status_timeline(tickets, events, statuses),
        changelog_sources=(
            events.select("source").unique() if changelog_sources is None else changelog_sources
        ),
    )


def ticket_facts(
    raw_tickets: pl.LazyFrame,
    raw_events: pl.LazyFrame,
    ticket_sprints: pl.LazyFrame,
    statuses: pl.LazyFrame,
    calendar: pl.LazyFrame,
    identity_map: pl.LazyFrame,
    members: pl.LazyFrame,
    settings: Settings,
) -> TicketFacts:
    """mart_tickets (one row per live ticket) and mart_sprint_scope (one row per team sprint and ticket)."""
    lines = timelines(raw_tickets, raw_events, ticket_sprints, statuses)
    facts = tickets_fact(lines, ticket_sprints, calendar, identity_map, members, settings)
    return TicketFacts(tickets=facts, scope=sprint_scope(lines, facts, calendar, settings))


def tickets_fact(
    lines: Timelines,
    ticket_sprints: pl.LazyFrame,
    calendar: pl.LazyFrame,
    identity_map: pl.LazyFrame,
    members: pl.LazyFrame,
    settings: Settings,
) -> pl.LazyFrame:
    """mart_tickets: one row per live ticket with its team, when it was done, and its creation sprint."""
    tickets, status = lines.tickets, lines.status
    # A source whose tickets have any history keeps one: an empty history there is a real one.
    with_changelog = lines.changelog_sources.with_columns(pl.lit(True).alias("_log"))
    boards = tracker_team_sprints(calendar, settings)
    # The latest status row of each ticket (one row per ticket and instant).
    now = status.group_by(_TICKET).agg(
        pl.col("done_since").get(pl.col("changed_at").arg_max()).alias("done_at")
    )
    board_team = (
        _ticket_sprint_ids(tickets, lines.intervals, ticket_sprints)
        .join(boards, on=["source", "sprint_id"], how="inner")
        .group_by(_TICKET)
        .agg(
            pl.col("team")
            .sort_by("sprint_start", "team", descending=[True, False])
            .first()
            .alias("_board_team")
        )
    )
    people = identity_map.select(pl.col("identity").alias("_assignee"), "person_id")
    return (
        tickets.select(
            "source",
            "tracker",
            "ticket_id",
            "key",
            "project",
            "type_category",
            "status_category",
            "story_points",
            "assignee_id",
            "created_at",
            "resolved_at",
            norm_expr("assignee_id").alias("_assignee"),
        )
        .join(people, on="_assignee", how="left")
        .join(now, on=_TICKET, how="left")
        .join(board_team, on=_TICKET, how="left")
        .join(with_changelog, on="source", how="left")
        .join(project_owners(settings), on="project", how="left")
        .with_columns(
            pl.col("_log").fill_null(False).alias("has_changelog"),
            # Dropped work (won't do, duplicate) is not done, whatever the status column says.
            pl.when(pl.col("status_category") != "canceled")
            .then(pl.col("done_at"))
            .alias("done_at"),
        )
        .with_columns(pl.coalesce("done_at", "created_at").alias("_credit_at"))
        .pipe(
            team_of,
            members,
            key=_TICKET,
            person_col="person_id",
            time_col="_credit_at",
            out="_person_team",
        )
        .with_columns(
            pl.coalesce("_board_team", "_person_team", "owner_team").alias("team"),
            pl.when(pl.col("_board_team").is_not_null())
            .then(pl.lit("board"))
            .when(pl.col("_person_team").is_not_null())
            .then(pl.lit("person"))
            .when(pl.col("owner_team").is_not_null())
            .then(pl.lit("project"))
            .alias("team_via"),
            ((pl.col("type_category") == "bug") & (pl.col("status_category") != "canceled")).alias(
                "is_bug"
            ),
        )
        # One sort by creation time for both sprints.
        .pipe(assign_sprints, calendar, team_col="team", time_col="created_at")
        .rename({"sprint_id": "created_sprint_id", "org_sprint_id": "created_org_sprint_id"})
        .select(list(TICKET_FACT_SCHEMA))
        .cast(TICKET_FACT_SCHEMA)  # type: ignore[arg-type]
    )


def sprint_scope(
    lines: Timelines, facts: pl.LazyFrame, calendar: pl.LazyFrame, settings: Settings
) -> pl.LazyFrame:
    """mart_sprint_scope: tracker sprints from the timelines, cadence sprints from resolution times."""
    boards = tracker_team_sprints(calendar, settings)
    scope = pl.concat(
        [
            _tracker_scope(lines.intervals, lines.points, lines.status, boards, facts),
            _cadence_scope(facts, calendar, settings),
        ]
    ).join(org_sprint_of(calendar), on=["team", "sprint_id"], how="left")
    return scope.select(list(SCOPE_SCHEMA)).cast(SCOPE_SCHEMA)  # type: ignore[arg-type]


def _tracker_scope(
    intervals: pl.LazyFrame,
    points: pl.LazyFrame,
    status: pl.LazyFrame,
    boards: pl.LazyFrame,
    facts: pl.LazyFrame,
) -> pl.LazyFrame:
    """Scope of tracker sprints: committed, added, removed, completed, carried over, points at start and end."""
    start, end = pl.col("sprint_start"), pl.col("sprint_end")
    in_from, in_to = pl.col("in_from"), pl.col("in_to")
    # In the sprint at its end: the state after every change strictly before the end (a sprint
    # is [start, end)); Jira's own carry-over at the closing instant keeps the closed sprint listed.
    in_at_end = in_to.is_null() | (in_to >= end)
    pairs = (
        intervals.join(boards, on=["source", "sprint_id"], how="inner")
        .filter((in_from < end) & (in_to.is_null() | (in_to > start)))
        .group_by("team", "sprint_id", *_TICKET, "sprint_start", "sprint_end")
        .agg(
            (in_from <= start).any().alias("_at_start"),
            in_at_end.any().alias("_at_end"),
            (in_from > start).any().alias("_entered"),
            in_from.filter(in_at_end).max().alias("_end_entry"),
        )
        .join(
            facts.select(
                *_TICKET, "key", "type_category", "status_category", "person_id", "has_changelog"
            ),
            on=_TICKET,
            how="inner",
        )
        .filter(~pl.col("type_category").is_in(NOT_SCOPE))
        .pipe(_as_of, points, at="sprint_start", before=False, suffix="_start")
        .pipe(_as_of, points, at="sprint_end", before=True, suffix="_end")
        .pipe(_as_of, status, at="sprint_start", before=False, suffix="_start")
        .pipe(_as_of, status, at="sprint_end", before=True, suffix="_end")
    )
    done_at_start = (pl.col("category_start") == "done").fill_null(False)
    done_at_end = (pl.col("category_end") == "done").fill_null(False)
    # Done while in the sprint: not before it started, nor before the issue (last) joined it.
    # Work resolved as dropped (won't do, duplicate) was never delivered, whatever its column.
    completed = (
        pl.col("_at_end")
        & done_at_end
        & (pl.col("done_since_end") >= pl.max_horizontal("sprint_start", "_end_entry"))
        & (pl.col("status_category") != "canceled")
    ).fill_null(False)
    return pairs.select(
        "team",
        "sprint_id",
        *_TICKET,
        "key",
        "type_category",
        "person_id",
        pl.when(pl.col("has_changelog"))
        .then(pl.lit("changelog"))
        .otherwise(pl.lit("sprint_field"))
        .alias("method"),
        # An issue already done at the start is "completed outside this sprint": no commitment.
        (pl.col("_at_start") & ~done_at_start).alias("committed"),
        (pl.col("_entered") & ~pl.col("_at_start")).alias("added"),
        (~pl.col("_at_end")).alias("removed"),
        completed.alias("completed"),
        (
            pl.col("_at_end")
            & pl.col("category_end").fill_null("todo").is_in(["todo", "in_progress"])
        ).alias("carried_over"),
        "points_start",
        "points_end",
        pl.when(completed).then(pl.col("done_since_end")).alias("done_at"),
    )


def _cadence_scope(facts: pl.LazyFrame, calendar: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Teams on a cadence have no tracker sprint: an issue counts where it was resolved."""
    cadence_teams = [t.name for t in settings.teams if t.sprint_source is None]
    return (
        facts.filter(
            pl.col("team").is_in(cadence_teams)
            & pl.col("done_at").is_not_null()
            & ~pl.col("type_category").is_in(NOT_SCOPE)
        )
        .pipe(assign_sprint, calendar, team_col="team", time_col="done_at")
        .filter(pl.col("sprint_id").is_not_null())
        .select(
            "team",
            "sprint_id",
            *_TICKET,
            "key",
            "type_category",
            "person_id",
            pl.lit("resolution").alias("method"),
            pl.lit(None, pl.Boolean).alias("committed"),
            pl.lit(None, pl.Boolean).alias("added"),
            pl.lit(None, pl.Boolean).alias("removed"),
            pl.lit(True).alias("completed"),
            pl.lit(None, pl.Boolean).alias("carried_over"),
            pl.lit(None, pl.Float64).alias("points_start"),
            pl.col("story_points").alias("points_end"),
            "done_at",
        )
    )


def release_facts(
    releases: pl.LazyFrame, forge_repos: pl.LazyFrame, calendar: pl.LazyFrame, settings: Settings
) -> pl.LazyFrame:
    """mart_releases: published releases (no drafts, pre-releases or deleted ones) with team and sprint.

    A release counts for the team that owns its git repository (`teams[].repos`, when exactly one
    team lists it), in the sprint containing its publication time.
    """
    return (
        releases.filter(~pl.col("is_deleted") & ~pl.col("is_draft") & ~pl.col("is_prerelease"))
        .join(forge_repos.select("source", "repo", "git_repo"), on=["source", "repo"], how="left")
        .join(repo_owners(settings, column="git_repo"), on="git_repo", how="left")
        .with_columns(
            pl.col("owner_team").alias("team"),
            pl.coalesce("published_at", "created_at").alias("released_at"),
            pl.lit(ORG).alias("_org"),
        )
        .pipe(assign_sprint, calendar, team_col="team", time_col="released_at")
        .pipe(assign_sprint, calendar, team_col="_org", time_col="released_at", prefix="org_")
        .select(list(RELEASE_FACT_SCHEMA))
        .cast(RELEASE_FACT_SCHEMA)  # type: ignore[arg-type]
    )


def delivery_facts(ctx: "Context") -> dict[str, pl.LazyFrame]:
    """mart_tickets, mart_sprint_scope and mart_releases, computed once per recompute and shared by the families.

    The timelines and the ticket facts are materialised before the scope is built from them: each
    is read several times, and one plan holding every reuse would be needlessly deep.
    """
    if "mart_sprint_scope" not in ctx.memo:
        inputs, settings, calendar = ctx.inputs, ctx.settings, ctx.calendar
        lazy = timelines(
            inputs.tickets, inputs.ticket_events, inputs.ticket_sprints, inputs.ticket_statuses
        )
        # The live tickets and their changelog first: each timeline reads them, and Polars would
        # redo the changelog's join for every reader.
        live, events = (frame.lazy() for frame in pl.collect_all([lazy.tickets, lazy.events]))
        intervals, points, status = pl.collect_all(
            [
                membership_intervals(live, events, inputs.ticket_sprints),
                points_timeline(live, events),
                status_timeline(live, events, inputs.ticket_statuses, inputs.status_names),
            ]
        )
        sources = inputs.changelog_sources
        if sources is not None and ctx.scope is not None:
            # The sources known to keep a changelog, and any the recomputed tickets show now.
            sources = pl.concat([sources, events.select("source")]).unique()
        lines = Timelines(
            live,
            events,
            intervals.lazy(),
            points.lazy(),
            status.lazy(),
            events.select("source").unique() if sources is None else sources,
        )
        tickets = tickets_fact(
            lines, inputs.ticket_sprints, calendar, ctx.identity_map, ctx.members, settings
        ).collect()
        scope_rows = sprint_scope(lines, tickets.lazy(), calendar, settings)
        releases = inputs.releases
        if ctx.scope is not None:
            # Only the recomputed sprints hold every ticket that was in them; releases count in
            # the sprint they were published in.
            scope_rows = scope_rows.join(
                ctx.scope.recomputed.lazy(), on=["team", "sprint_id"], how="semi"
            )
            releases = releases.filter(pl.coalesce("published_at", "created_at") >= ctx.scope.since)
        scope, released = pl.collect_all(
            [scope_rows, release_facts(releases, inputs.forge_repos, calendar, settings)]
        )
        ctx.memo.update(mart_tickets=tickets, mart_sprint_scope=scope, mart_releases=released)
    return {
        name: ctx.memo[name].lazy()
        for name in ("mart_tickets", "mart_sprint_scope", "mart_releases")
    }


def fact_marts(ctx: "Context") -> dict[str, pl.DataFrame]:
    """mart_tickets, mart_sprint_scope and mart_releases, built before the families that share them."""
    return {name: frame.collect() for name, frame in delivery_facts(ctx).items()}
