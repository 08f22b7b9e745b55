"""Jira Cloud and Data Center: issues with their changelog, statuses, boards and sprints into the ticket tables.

Cloud is read through REST v3 (`POST /rest/api/3/search/jql`, `nextPageToken` pages) with the
changelog embedded; the histories Jira leaves out of an embedded changelog (`total` larger than
what came back) are fetched with `POST /rest/api/3/changelog/bulkfetch` for the whole page at
once (per issue from `/rest/api/3/issue/{id}/changelog` where that endpoint is missing). Data
Center is read through REST v2 (`POST /rest/api/2/search`, `startAt`/`total` pages; a truncated
changelog is completed from the issue itself). Boards and sprints come from the Agile REST API.

Issues are read oldest-updated first (`ORDER BY updated ASC, id ASC`) and every page is written
with the stream's watermark in one transaction, so a killed run resumes where it stopped. JQL
compares `updated` at minute precision in the token account's time zone (`/myself`), which is
why the lower bound is converted to that zone, rounded down and widened by `overlap_minutes`.
Every `reconcile_days` days the ids of everything in scope are listed and stored issues that
are gone (deleted, or moved out of scope) are marked `is_deleted`.
"""

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import polars as pl

from ingestion.connectors import make_client, secret
from ingestion.http import (
    ApiClient,
    SourceError,
    SourceNotFoundError,
    SourceResponseError,
    Throttle,
    require,
    retry_after_seconds,
)
from ingestion.settings import JiraSettings
from ingestion.sim.jira import JiraSimulator
from ingestion.sync import Replace, SyncContext, SyncResult, parse_time

TRACKER = "jira"
SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_SCHEMA = "com.pyxis.greenhopper.jira:gh-epic-link"
STORY_POINTS_SCHEMA = "com.pyxis.greenhopper.jira:jsw-story-points"
PAGE_SIZE = 100  # issues per search page; Cloud gives no more when fields are asked for
ID_PAGE_SIZE = {True: 5000, False: 1000}  # listing ids only: Cloud, Data Center
AGILE_PAGE_SIZE = 50
BULK_CHANGELOG_ISSUES = 1000
BULK_CHANGELOG_PAGE = 10000  # histories per bulk changelog page: the most Jira allows
DRIFT_STEPS = 50  # Data Center: how often one stream may step back after edits shifted its offsets
WIDEST_OFFSET = timedelta(hours=14)  # when the account's time zone is unknown
SYSTEM_FIELDS = (
    "summary",
    "issuetype",
    "status",
    "resolution",
    "priority",
    "assignee",
    "reporter",
    "labels",
    "parent",
    "project",
    "created",
    "updated",
    "resolutiondate",
    "description",
)
ISSUE_KEYS = frozenset(
    {
        "expand",
        "id",
        "self",
        "key",
        "fields",
        "changelog",
        "renderedFields",
        "names",
        "schema",
        "operations",
        "editmeta",
        "versionedRepresentations",
        "properties",
        "transitions",
        "fieldsToInclude",
    }
)
CATEGORIES = {"new": "todo", "indeterminate": "in_progress", "done": "done", "undefined": "todo"}

TICKET_SCHEMA: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "tracker": pl.String,
    "ticket_id": pl.String,
    "key": pl.String,
    "project": pl.String,
    "title": pl.String,
    "type": pl.String,
    "type_category": pl.String,
    "status": pl.String,
    "status_id": pl.String,
    "status_category": pl.String,
    "resolution": pl.String,
    "priority": pl.String,
    "story_points": pl.Float64,
    "assignee_id": pl.String,
    "reporter_id": pl.String,
    "labels": pl.List(pl.String),
    "parent_key": pl.String,
    "epic_key": pl.String,
    "sprint_id": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
    "resolved_at": pl.Datetime("us", "UTC"),
    "body_length": pl.Int32,
    "is_deleted": pl.Boolean,
    "synced_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
}
EVENT_SCHEMA: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "ticket_id": pl.String,
    "event_id": pl.String,
    "position": pl.Int16,
    "changed_at": pl.Datetime("us", "UTC"),
    "actor_id": pl.String,
    "field": pl.String,
    "from_id": pl.String,
    "to_id": pl.String,
    "from_value": pl.String,
    "to_value": pl.String,
}
SPRINT_SCHEMA_PL: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "tracker": pl.String,
    "sprint_id": pl.String,
    "board_id": pl.String,
    "name": pl.String,
    "state": pl.String,
    "start_at": pl.Datetime("us", "UTC"),
    "end_at": pl.Datetime("us", "UTC"),
    "completed_at": pl.Datetime("us", "UTC"),
    "is_deleted": pl.Boolean,
    "synced_at": pl.Datetime("us", "UTC"),
}
IDENTITY_SCHEMA: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "kind": pl.String,
    "account_id": pl.String,
    "login": pl.String,
    "name": pl.String,
    "email": pl.String,
    "account_type": pl.String,
    "last_seen_at": pl.Datetime("us", "UTC"),
}
TICKET_SPRINT_SCHEMA: Mapping[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "ticket_id": pl.String,
    "sprint_id": pl.String,
}


def frame(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    """Rows as a frame with the warehouse's column types (empty pages and all-null columns too)."""
    return pl.DataFrame(list(rows), schema=dict(schema))


# ------------------------------------------------------------------------------------ mapping


def type_category(
    name: str | None,
    *,
    subtask: bool = False,
    hierarchy: int | None = None,
    incident_types: Sequence[str] = ("Incident",),
) -> str:
    """Jira's issue type as a warehouse type category."""
    lowered = (name or "").strip().lower()
    if subtask or hierarchy == -1 or lowered in ("sub-task", "subtask", "sub task"):
        return "subtask"
    if lowered in {t.lower() for t in incident_types}:
        return "incident"
    if lowered == "epic" or (hierarchy is not None and hierarchy >= 1):
        return "epic"
    return {
        "bug": "bug",
        "defect": "bug",
        "story": "feature",
        "user story": "feature",
        "feature": "feature",
        "new feature": "feature",
        "task": "task",
    }.get(lowered, "other")


def status_category(
    category_key: str | None,
    *,
    status: str | None = None,
    resolution: str | None = None,
    canceled_resolutions: Sequence[str] = (),
    canceled_statuses: Sequence[str] = (),
) -> str:
    """Jira's status category (new/indeterminate/done) as todo/in_progress/done, or canceled
    when the resolution or the status says the work was dropped."""
    if resolution and resolution.lower() in {r.lower() for r in canceled_resolutions}:
        return "canceled"
    if status and status.lower() in {s.lower() for s in canceled_statuses}:
        return "canceled"
    return CATEGORIES.get((category_key or "").lower(), "todo")


def adf_length(node: Any) -> int:
    """Characters of text in an Atlassian Document Format document (mentions, emoji and dates
    count as the text they show)."""
    if isinstance(node, str):
        return len(node)
    if isinstance(node, list):
        return sum(adf_length(n) for n in node)
    if not isinstance(node, dict):
        return 0
    kind = node.get("type")
    if kind == "text":
        return len(str(node.get("text") or ""))
    attrs = node.get("attrs") or {}
    if kind in ("mention", "emoji", "status") and isinstance(attrs, dict):
        return len(str(attrs.get("text") or attrs.get("shortName") or ""))
    if kind == "hardBreak":
        return 1
    return adf_length(node.get("content") or [])


_GREENHOPPER = re.compile(r"\[(.*)\]\s*$", re.DOTALL)
_GREENHOPPER_KEYS = (
    "id|rapidViewId|state|name|goal|startDate|endDate|completeDate|activatedDate|sequence"
    "|autoStartStop|synced|incompleteIssuesDestinationId"
)
_GREENHOPPER_SPLIT = re.compile(rf",(?=(?:{_GREENHOPPER_KEYS})=)")


def parse_sprint(value: Any) -> dict[str, Any] | None:
    """A sprint from the sprint field: Cloud's object, or Data Center's GreenHopper string
    (`com.atlassian.greenhopper.service.sprint.Sprint@1a[id=3,rapidViewId=1,state=ACTIVE,...]`)."""
    if isinstance(value, dict):
        return value if value.get("id") is not None else None
    if not isinstance(value, str):
        return None
    match = _GREENHOPPER.search(value)
    if not match:
        return None
    parts: dict[str, Any] = {}
    for chunk in _GREENHOPPER_SPLIT.split(match[1]):
        name, _, text = chunk.partition("=")
        parts[name] = None if text == "<null>" else text
    if not parts.get("id"):
        return None
    return {
        "id": parts["id"],
        "name": parts.get("name") or "",
        "state": (parts.get("state") or "").lower(),
        "boardId": parts.get("rapidViewId"),
        "startDate": parts.get("startDate"),
        "endDate": parts.get("endDate"),
        "completeDate": parts.get("completeDate"),
    }


def current_sprint(sprints: Sequence[Mapping[str, Any]]) -> str | None:
    """The sprint an issue is in now: the active one, else the future one it is planned for,
    else the last closed one."""
    if not sprints:
        return None
    for state in ("active", "future"):
        matching = [s for s in sprints if str(s.get("state", "")).lower() == state]
        if matching:
            return str(matching[0]["id"])

    def when(sprint: Mapping[str, Any]) -> tuple[datetime, int]:
        moment = (
            parse_time(sprint.get("completeDate"))
            or parse_time(sprint.get("endDate"))
            or parse_time(sprint.get("startDate"))
            or datetime.min.replace(tzinfo=UTC)
        )
        return moment, _int(sprint.get("id"))

    return str(max(sprints, key=when)["id"])


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def normalise_ids(value: Any) -> str | None:
    """Comma-separated ids without spaces ("101, 102" -> "101,102")."""
    if value is None or value == "":
        return None
    return ",".join(part.strip() for part in str(value).split(",") if part.strip()) or None


def history_time(value: Any) -> datetime | None:
    """A history's `created`: ISO text, or epoch milliseconds (the bulk changelog's example)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return parse_time(value)


# ------------------------------------------------------------------------------------ site


@dataclass(frozen=True)
class FieldIds:
    """The custom fields SprintProof reads, found by name and schema or given in the settings."""

    story_points: tuple[str, ...]
    sprint: str | None
    epic_link: str | None
    names: Mapping[str, str]  # field id -> name (Data Center changelog items name fields only)

    def requested(self) -> list[str]:
        return [
            *SYSTEM_FIELDS,
            *self.story_points,
            *(f for f in (self.sprint, self.epic_link) if f),
        ]


@dataclass
class Site:
    cloud: bool
    zone: ZoneInfo | None = None
    bulk_changelog: bool = True
    fields: FieldIds = field(default_factory=lambda: FieldIds((), None, None, {}))

    @property
    def api(self) -> str:
        return "/rest/api/3" if self.cloud else "/rest/api/2"


class JiraThrottle(Throttle):
    """Jira's rate limits: 429 with Retry-After (or X-RateLimit-Reset), 503 with Retry-After,
    a budget spent (X-RateLimit-Remaining: 0) and Cloud's X-RateLimit-NearLimit warning."""

    def __init__(self, projects: Sequence[str]) -> None:
        self.projects = list(projects)

    def retry_after(self, response: httpx.Response) -> float | None:
        status = response.status_code
        if status not in (429, 503):
            return None
        seconds = retry_after_seconds(response.headers)
        if seconds is None and status == 429:
            seconds = _reset_in(response.headers)
        if seconds is None and status == 429:
            return 10.0  # no advice: a short wait, then tenacity's backoff takes over
        return seconds

    def pause(self, response: httpx.Response) -> float:
        headers = response.headers
        if headers.get("x-ratelimit-remaining", "").strip() == "0":
            return (
                retry_after_seconds(headers)
                or _reset_in(headers)
                or _float(headers.get("x-ratelimit-interval-seconds"))
                or 1.0
            )
        if headers.get("x-ratelimit-nearlimit", "").strip().lower() == "true":
            return 1.0  # less than a fifth of the budget left: slow down before Jira says stop
        return 0.0

    def forbidden_hint(self, response: httpx.Response) -> str:
        scope = ", ".join(self.projects) or "the configured projects"
        return (
            f"the account needs the 'Browse projects' permission on {scope} (and Jira Software "
            "access for boards and sprints); ask a Jira administrator to grant it in the "
            "projects' permission scheme"
        )


def _reset_in(headers: Mapping[str, str]) -> float | None:
    value = headers.get("x-ratelimit-reset")
    if not value:
        return None
    when = parse_time(value.strip()) if not value.strip().isdigit() else None
    if when is None and value.strip().isdigit():
        when = datetime.fromtimestamp(int(value.strip()), UTC)
    if when is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------------ sync


def sync(ctx: SyncContext, settings: JiraSettings) -> SyncResult:
    """Read statuses, boards, sprints and issues (incrementally), and reconcile deletions."""
    result = SyncResult(source=settings.source_name, kind=TRACKER)
    email, token = _credentials(ctx, settings)
    secrets = [s for s in (token,) if s]
    if token and email:
        secrets.append(base64.b64encode(f"{email}:{token}".encode()).decode())
    client = make_client(
        ctx,
        settings,
        base_url=settings.base_url or "https://jira.replay.invalid",
        secrets=secrets,
        credential_hint=_credential_hint(settings, settings.is_cloud),
        throttle=JiraThrottle(settings.projects),
        simulator=JiraSimulator.from_dir,
    )
    with client:
        try:
            _Reader(ctx, settings, client, result, email, token).run()
        finally:
            result.requests = client.stats.requests
    result.rows = ctx.rows_written
    return result


def _credentials(ctx: SyncContext, settings: JiraSettings) -> tuple[str | None, str | None]:
    """(email, token); both None for a replayed source without credentials."""
    if not settings.token_env:
        return None, None
    token = secret(
        ctx,
        settings,
        "token_env",
        "a Jira API token (Cloud) or personal access token (Data Center)",
    )
    email = None
    if settings.email_env:
        email = secret(
            ctx, settings, "email_env", "the email address of the token's Atlassian account"
        )
    return email, token


def _credential_hint(settings: JiraSettings, cloud: bool) -> str:
    if cloud:
        return (
            f"the email in ${settings.email_env} and the API token in ${settings.token_env} "
            "(an API token of that same Atlassian account)"
        )
    return f"the personal access token in ${settings.token_env}"


class _Reader:
    def __init__(
        self,
        ctx: SyncContext,
        settings: JiraSettings,
        client: ApiClient,
        result: SyncResult,
        email: str | None,
        token: str | None,
    ) -> None:
        self.ctx = ctx
        self.email = email
        self.token = token
        self.settings = settings
        self.client = client
        self.result = result
        self.source = settings.source_name
        self.now = ctx.now()
        self.site = Site(cloud=settings.is_cloud)
        self.listed_sprints: set[str] = set()
        self._users_seen: set[str] = set()
        self.filters: list[str] = []
        self.scope = _scope_name(settings)
        result.scopes = [self.scope]

    # ------------------------------------------------------------------ steps

    def run(self) -> None:
        self._detect()
        self.site.fields = self._fields()
        self._statuses()
        boards = self._boards()
        self._sprints(boards)
        self._issues()
        self._reconcile()

    def _detect(self) -> None:
        settings = self.settings
        if settings.deployment == "auto" and not settings.is_cloud:
            info = self.client.get_json("/rest/api/2/serverInfo", what="GET /rest/api/2/serverInfo")
            kind = str((info or {}).get("deploymentType", "")) if isinstance(info, dict) else ""
            self.site.cloud = kind.lower() == "cloud"
        email, token = self.email, self.token
        if token:
            if self.site.cloud:
                if not email:
                    raise SourceError(
                        f"{self.source}: the site is Jira Cloud (serverInfo says so), which needs "
                        "email_env: the variable holding the email of the token's account"
                    )
                basic = base64.b64encode(f"{email}:{token}".encode()).decode()
                self.client.set_header("Authorization", f"Basic {basic}", secret=True)
            else:
                self.client.set_header("Authorization", f"Bearer {token}", secret=True)
        self.client.credential_hint = _credential_hint(settings, self.site.cloud)

    def _fields(self) -> FieldIds:
        api = self.site.api
        what = f"GET {api}/field"
        data = require(
            self.client.get_json(f"{api}/field", what=what),
            list,
            self.source,
            what,
            "a list of fields",
        )
        by_id: dict[str, dict[str, Any]] = {}
        for entry in data:
            if isinstance(entry, dict) and entry.get("id"):
                by_id[str(entry["id"])] = entry
        names = {ident: str(f.get("name") or ident) for ident, f in by_id.items()}
        overrides = self.settings.fields

        def known(ident: str | None, key: str) -> str | None:
            if ident is not None and ident not in by_id:
                raise SourceError(
                    f"{self.source}: fields.{key} is {ident}, which is not a field this account "
                    f"can see ({what}); check the id (Jira: Settings > Issues > Custom fields)"
                )
            return ident

        def schema(entry: Mapping[str, Any]) -> str:
            return str((entry.get("schema") or {}).get("custom") or "")

        if overrides.story_points:
            points: tuple[str, ...] = (known(overrides.story_points, "story_points") or "",)
        else:
            wanted = [n.lower() for n in self.settings.story_point_field_names]
            found = sorted(
                (wanted.index(str(f.get("name", "")).lower()), ident)
                for ident, f in by_id.items()
                if str(f.get("name", "")).lower() in wanted
            )
            points = tuple(ident for _, ident in found) or tuple(
                ident for ident, f in by_id.items() if schema(f) == STORY_POINTS_SCHEMA
            )
        sprint = known(overrides.sprint, "sprint") or next(
            (ident for ident, f in by_id.items() if schema(f) == SPRINT_SCHEMA), None
        )
        epic = known(overrides.epic_link, "epic_link") or next(
            (ident for ident, f in by_id.items() if schema(f) == EPIC_LINK_SCHEMA), None
        )
        if not points:
            self.result.warnings.append(
                "no story-point field found by the names in story_point_field_names; "
                "story points stay empty (set fields.story_points)"
            )
        if sprint is None:
            self.result.warnings.append(
                "no sprint field (Jira Software) found; sprint membership stays empty"
            )
        return FieldIds(points, sprint, epic, names)

    def _statuses(self) -> None:
        api = self.site.api
        what = f"GET {api}/status"
        data = require(
            self.client.get_json(f"{api}/status", what=what),
            list,
            self.source,
            what,
            "a list of statuses",
        )
        rows = []
        for status in data:
            if not isinstance(status, dict) or status.get("id") is None:
                continue
            self.ctx.observe(
                self.source,
                "statuses",
                status,
                known=(
                    "self",
                    "description",
                    "iconUrl",
                    "name",
                    "untranslatedName",
                    "id",
                    "statusCategory",
                    "scope",
                ),
                required=("id", "name", "statusCategory"),
            )
            category = (status.get("statusCategory") or {}).get("key")
            rows.append(
                {
                    "source": self.source,
                    "status_id": str(status["id"]),
                    "name": str(status.get("name") or status["id"]),
                    "category": status_category(
                        category,
                        status=status.get("name"),
                        canceled_statuses=self.settings.canceled_statuses,
                    ),
                }
            )
        self.ctx.commit_page(
            self.source,
            self.scope,
            "statuses",
            {"synced_at": self.now.isoformat()},
            [Replace("ticket_statuses", rows, ("source", "status_id"))],
        )

    # ------------------------------------------------------------------ boards and sprints

    def _agile_pages(
        self, path: str, params: Mapping[str, Any], what: str
    ) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            page = self.client.get_json(
                path, params={**params, "startAt": start, "maxResults": AGILE_PAGE_SIZE}, what=what
            )
            page = require(page, dict, self.source, what, "a page with 'values'")
            values = require(page.get("values"), list, self.source, what, "'values' as a list")
            yield [v for v in values if isinstance(v, dict)]
            if page.get("isLast") is True or not values:
                return
            total = page.get("total")
            start += len(values)
            if isinstance(total, int) and start >= total:
                return

    def _boards(self) -> list[dict[str, Any]]:
        boards: dict[str, dict[str, Any]] = {}
        for key in self.settings.projects:
            what = f"GET /rest/agile/1.0/board?projectKeyOrId={key}"
            try:
                for values in self._agile_pages(
                    "/rest/agile/1.0/board", {"projectKeyOrId": key}, what
                ):
                    for board in values:
                        boards.setdefault(str(board.get("id")), board)
            except SourceError as exc:
                if _is_client_error(exc, (400, 404)):
                    raise SourceNotFoundError(
                        f"{self.source}: project {key} does not exist or the account cannot "
                        f"browse it ({exc}); check `projects` in the configuration and the "
                        "account's 'Browse projects' permission"
                    ) from None
                raise
        for board_id in self.settings.boards:
            what = f"GET /rest/agile/1.0/board/{board_id}"
            try:
                board = self.client.get_json(f"/rest/agile/1.0/board/{board_id}", what=what)
                config = self.client.get_json(
                    f"/rest/agile/1.0/board/{board_id}/configuration",
                    what=f"GET /rest/agile/1.0/board/{board_id}/configuration",
                )
            except SourceNotFoundError:
                raise SourceNotFoundError(
                    f"{self.source}: board {board_id} does not exist or the account cannot see "
                    "it; check `boards` in the configuration (the number in the board's URL)"
                ) from None
            board = require(board, dict, self.source, what, "a board")
            config = require(
                config, dict, self.source, what + "/configuration", "a board configuration"
            )
            filter_id = (config.get("filter") or {}).get("id")
            if filter_id is None:
                raise SourceResponseError(
                    f"{self.source}: {what}/configuration: expected the board's filter id"
                )
            self.filters.append(str(filter_id))
            boards[str(board_id)] = board
        rows = []
        for board_id, board in boards.items():
            self.ctx.observe(
                self.source,
                "boards",
                board,
                known=("id", "self", "name", "type", "location", "isPrivate"),
                required=("id", "name", "type"),
            )
            location = board.get("location") or {}
            rows.append(
                {
                    "source": self.source,
                    "board_id": board_id,
                    "kind": str(board.get("type") or "scrum"),
                    "name": str(board.get("name") or board_id),
                    "project": location.get("projectKey"),
                    "synced_at": self.now,
                }
            )
        self.ctx.commit_page(
            self.source,
            self.scope,
            "boards",
            {"synced_at": self.now.isoformat()},
            [Replace("boards", rows, ("source", "board_id"))],
        )
        return list(boards.values())

    def _sprints(self, boards: Sequence[Mapping[str, Any]]) -> None:
        for board in boards:
            board_id = str(board.get("id"))
            if str(board.get("type") or "scrum") == "kanban":
                continue
            path = f"/rest/agile/1.0/board/{board_id}/sprint"
            what = f"GET {path}"
            listed: list[str] = []
            try:
                for values in self._agile_pages(path, {}, what):
                    rows = [
                        self._sprint_row(s, board_id) for s in values if s.get("id") is not None
                    ]
                    for sprint in values:
                        self.ctx.observe(
                            self.source,
                            "sprints",
                            sprint,
                            known=(
                                "id",
                                "self",
                                "state",
                                "name",
                                "startDate",
                                "endDate",
                                "completeDate",
                                "createdDate",
                                "originBoardId",
                                "goal",
                                "activatedDate",
                                "autoStartStop",
                                "synced",
                            ),
                            required=("id", "state", "name"),
                        )
                    listed += [r["sprint_id"] for r in rows]
                    self.ctx.commit_page(
                        self.source,
                        self.scope,
                        "sprints",
                        None,
                        [
                            Replace(
                                "sprints", frame(rows, SPRINT_SCHEMA_PL), ("source", "sprint_id")
                            )
                        ],
                    )
            except SourceError as exc:
                if _is_client_error(exc, (400,)) and "support sprints" in str(exc):
                    continue  # a board without sprints (kanban-like simple board)
                raise
            self.listed_sprints.update(listed)
            # Sprints deleted on the board: those of this board no longer listed.
            gone = (
                "UPDATE sprints SET is_deleted = true WHERE source = ? AND board_id = ? "
                "AND NOT is_deleted AND NOT list_contains(?::VARCHAR[], sprint_id)"
            )
            self.ctx.commit_page(
                self.source,
                self.scope,
                "sprints",
                {"synced_at": self.now.isoformat()},
                statements=[(gone, [self.source, board_id, listed])],
            )

    def _sprint_row(self, sprint: Mapping[str, Any], board_id: str | None) -> dict[str, Any]:
        state = str(sprint.get("state") or "").lower()
        origin = sprint.get("originBoardId", sprint.get("boardId"))
        return {
            "source": self.source,
            "tracker": TRACKER,
            "sprint_id": str(sprint["id"]),
            "board_id": str(origin) if origin not in (None, "") else board_id,
            "name": str(sprint.get("name") or sprint["id"]),
            "state": state if state in ("future", "active", "closed") else "future",
            "start_at": parse_time(sprint.get("startDate")),
            "end_at": parse_time(sprint.get("endDate")),
            "completed_at": parse_time(sprint.get("completeDate")),
            "is_deleted": False,
            "synced_at": self.now,
        }

    # ------------------------------------------------------------------ issues

    def _scope_jql(self) -> str:
        parts = []
        if self.settings.projects:
            keys = ", ".join(f'"{k}"' for k in self.settings.projects)
            parts.append(f"project in ({keys})")
        if self.filters:
            parts.append(f"filter in ({', '.join(self.filters)})")
        jql = " OR ".join(parts)
        jql = f"({jql})" if len(parts) > 1 else jql
        if self.settings.jql:
            jql = f"{jql} AND ({self.settings.jql})"
        return jql

    def _zone(self) -> ZoneInfo | None:
        api = self.site.api
        me = self.client.get_json(f"{api}/myself", what=f"GET {api}/myself")
        name = me.get("timeZone") if isinstance(me, dict) else None
        try:
            return ZoneInfo(str(name)) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def _lower_bound(self, since: datetime) -> str:
        """`since` as a JQL date in the account's time zone, rounded down to the minute."""
        zone = self.site.zone
        if zone is None:
            self.result.warnings.append(
                "the account's time zone is unknown (/myself); the incremental window was "
                "widened by 14 hours to stay correct"
            )
            local = (since - WIDEST_OFFSET).replace(tzinfo=None)
        else:
            local = since.astimezone(zone).replace(tzinfo=None)
            # A wall-clock time that occurs twice (the autumn clock change) may be read as the
            # later one: step back an hour so nothing in between is skipped.
            first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
            second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
            if first != second:
                local -= timedelta(hours=1)
        return local.strftime("%Y-%m-%d %H:%M")

    def _issues(self) -> None:
        settings = self.settings
        state = self.ctx.cursor(self.source, self.scope, "issues") or {}
        watermark = parse_time(state.get("watermark"))
        jql = self._scope_jql()
        since: datetime | None = None
        if watermark is not None:
            since = watermark - timedelta(minutes=settings.overlap_minutes)
        elif settings.since is not None:
            since = datetime.combine(settings.since, datetime.min.time(), UTC)
        if since is not None:
            self.site.zone = self._zone()
            if self.site.zone is not None and watermark is None and settings.since is not None:
                since = datetime.combine(settings.since, datetime.min.time(), self.site.zone)
            jql += f' AND updated >= "{self._lower_bound(since)}"'
        jql += " ORDER BY updated ASC, id ASC"
        size = min(settings.page_size or PAGE_SIZE, PAGE_SIZE * 10)
        pages = self._cloud_pages if self.site.cloud else self._dc_pages
        done = 0
        found = pages(jql, self.site.fields.requested(), size, changelog=True)
        for issues, total in lookahead(found):
            watermark = self._write_issues(issues, watermark)
            done += len(issues)
            if self.ctx.progress is not None:
                self.ctx.progress("jira issues", done, total or done)

    def _search(self, body: Mapping[str, Any]) -> dict[str, Any]:
        api = self.site.api
        path = f"{api}/search/jql" if self.site.cloud else f"{api}/search"
        what = f"POST {path}"
        response = self.client.request(
            "POST", path, json_body=dict(body), what=what, ok_statuses=(400,)
        )
        page = response.json() if response.content else None
        if response.status_code == 400:
            self._refused(page, str(body.get("jql", "")))
        return require(page, dict, self.source, what, "an object with 'issues'")

    def _refused(self, body: Any, jql: str) -> None:
        messages = []
        if isinstance(body, dict):
            messages = [str(m) for m in body.get("errorMessages") or []]
            messages += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        text = "; ".join(messages) or "no reason given"
        for key in self.settings.projects:
            if re.search(rf"'{re.escape(key)}'", text, re.IGNORECASE):
                raise SourceNotFoundError(
                    f"{self.source}: project {key} does not exist or the account cannot browse it "
                    f"(Jira: {text}); check `projects` in the configuration and the account's "
                    "'Browse projects' permission"
                )
        raise SourceError(
            f"{self.source}: Jira refused the search (HTTP 400: {text}); JQL: {jql}; check `jql` and `projects` in the configuration"
        )

    def _cloud_pages(
        self, jql: str, fields: list[str], size: int, *, changelog: bool
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        token: str | None = None
        seen: set[str] = set()
        empty = 0
        what = "POST /rest/api/3/search/jql"
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": size}
            if changelog:
                body["expand"] = "changelog"
            if token:
                body["nextPageToken"] = token
            page = self._search(body)
            issues = require(page.get("issues"), list, self.source, what, "'issues' as a list")
            yield [i for i in issues if isinstance(i, dict)], None
            following = page.get("nextPageToken")
            if page.get("isLast") is True or not following:
                return
            if following in seen or following == token:
                raise SourceResponseError(
                    f"{self.source}: {what}: the API returned a nextPageToken it had already "
                    "given; stopping instead of reading the same pages forever (run again; if it "
                    "persists, Jira's search is misbehaving)"
                )
            seen.add(str(following))
            empty = empty + 1 if not issues else 0
            if empty >= 3:
                raise SourceResponseError(
                    f"{self.source}: {what}: three empty pages in a row that still point to more; stopping"
                )
            token = str(following)

    def _dc_pages(
        self, jql: str, fields: list[str], size: int, *, changelog: bool
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Offset pages; each page repeats the previous page's last issue. An issue edited during
        the run moves to the end of `ORDER BY updated` and shifts every later offset by one; when
        the repeated issue is not where it was, the stream steps back a page and skips what it
        has already read, so nothing is missed."""
        what = "POST /rest/api/2/search"
        start, last_id, steps = 0, None, 0
        done: dict[str, str] = {}  # issue id -> updated, read in this run
        while True:
            ask = max(0, start - 1) if last_id is not None else start
            body: dict[str, Any] = {
                "jql": jql,
                "startAt": ask,
                "maxResults": size,
                "fields": fields,
            }
            if changelog:
                body["expand"] = ["changelog"]
            page = self._search(body)
            issues = [
                i
                for i in require(page.get("issues"), list, self.source, what, "'issues' as a list")
                if isinstance(i, dict)
            ]
            total = page.get("total") if isinstance(page.get("total"), int) else None
            if last_id is not None and ask < start:
                if issues and str(issues[0].get("id")) == last_id:
                    issues_new = issues[1:]
                else:
                    steps += 1
                    if steps > DRIFT_STEPS:
                        raise SourceResponseError(
                            f"{self.source}: {what}: results kept shifting under concurrent edits; run again later"
                        )
                    start, last_id = max(0, start - size), None
                    continue
            else:
                issues_new = issues
            fresh = [
                i
                for i in issues_new
                if done.get(str(i.get("id"))) != str((i.get("fields") or {}).get("updated"))
            ]
            for issue in fresh:
                done[str(issue.get("id"))] = str((issue.get("fields") or {}).get("updated"))
            if fresh:
                yield fresh, total
            if not issues_new:
                if total is not None and ask + len(issues) < total:
                    raise SourceResponseError(
                        f"{self.source}: {what}: no issues at startAt={start} although total={total}; "
                        "the API's paging is inconsistent, stopping"
                    )
                return
            start = ask + len(issues)
            last_id = str(issues[-1].get("id"))
            if total is not None and start >= total:
                return

    # ------------------------------------------------------------------ one page of issues

    def _write_issues(
        self, issues: list[dict[str, Any]], watermark: datetime | None
    ) -> datetime | None:
        histories = self._complete_changelogs(issues)
        self._users_seen = set()
        tickets, sprints_rows, events, identities, field_sprints = [], [], [], {}, {}
        scope = []
        for issue in issues:
            self.ctx.observe(
                self.source, "issues", issue, known=ISSUE_KEYS, required=("id", "key", "fields")
            )
            fields = issue.get("fields")
            if issue.get("id") is None or not isinstance(fields, dict):
                raise SourceResponseError(
                    f"{self.source}: issue search: issue {issue.get('key')!r} came without 'id' or 'fields'"
                )
            self.ctx.observe(
                self.source,
                "issue_fields",
                fields,
                known=self.site.fields.requested(),
                required=("summary", "issuetype", "status", "project", "created", "updated"),
            )
            ticket_id = str(issue["id"])
            scope.append({"source": self.source, "ticket_id": ticket_id})
            ticket, sprint_values = self._ticket(issue, fields)
            tickets.append(ticket)
            for sprint in sprint_values:
                sprints_rows.append(
                    {"source": self.source, "ticket_id": ticket_id, "sprint_id": str(sprint["id"])}
                )
                if str(sprint["id"]) not in self.listed_sprints:
                    field_sprints[str(sprint["id"])] = self._sprint_row(sprint, None)
            for user in (fields.get("assignee"), fields.get("reporter")):
                self._identity(user, identities)
            events += self._events(ticket_id, histories.get(ticket_id, []), identities)
            updated = ticket["updated_at"]
            if watermark is None or updated > watermark:
                watermark = updated
        unique_sprints = list({(r["ticket_id"], r["sprint_id"]): r for r in sprints_rows}.values())
        self.ctx.commit_page(
            self.source,
            self.scope,
            "issues",
            {"watermark": watermark.isoformat() if watermark else None},
            [
                Replace("tickets", frame(tickets, TICKET_SCHEMA), ("source", "ticket_id")),
                Replace(
                    "ticket_sprints",
                    frame(unique_sprints, TICKET_SPRINT_SCHEMA),
                    ("source", "ticket_id"),
                    scope=scope,
                ),
                Replace(
                    "ticket_events",
                    frame(events, EVENT_SCHEMA),
                    ("source", "ticket_id"),
                    scope=scope,
                ),
                Replace(
                    "identities",
                    frame(list(identities.values()), IDENTITY_SCHEMA),
                    ("source", "kind", "account_id"),
                ),
                Replace(
                    "sprints",
                    frame(list(field_sprints.values()), SPRINT_SCHEMA_PL),
                    ("source", "sprint_id"),
                ),
            ],
        )
        return watermark

    def _ticket(
        self, issue: Mapping[str, Any], fields: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        settings = self.settings
        ids = self.site.fields
        issuetype = fields.get("issuetype") or {}
        status = fields.get("status") or {}
        resolution = (fields.get("resolution") or {}).get("name")
        project = fields.get("project") or {}
        points = None
        for ident in ids.story_points:
            value = fields.get(ident)
            if isinstance(value, int | float) and not isinstance(value, bool):
                points = float(value)
                break
        raw_sprints = fields.get(ids.sprint) if ids.sprint else None
        parsed = (
            [parse_sprint(v) for v in raw_sprints or []] if isinstance(raw_sprints, list) else []
        )
        sprint_values = [s for s in parsed if s]
        if raw_sprints and not sprint_values:
            self.result.warnings.append(
                f"issue {issue.get('key')}: the sprint field could not be read"
            )
        parent = fields.get("parent") or {}
        parent_key = parent.get("key") if isinstance(parent, dict) else None
        parent_type = (
            ((parent.get("fields") or {}).get("issuetype") or {})
            if isinstance(parent, dict)
            else {}
        )
        epic_link = fields.get(ids.epic_link) if ids.epic_link else None
        epic_key = epic_link if isinstance(epic_link, str) and epic_link else None
        if (
            epic_key is None
            and parent_key
            and type_category(parent_type.get("name"), hierarchy=parent_type.get("hierarchyLevel"))
            == "epic"
        ):
            epic_key = parent_key
        description = fields.get("description")
        body_length = adf_length(description) if description is not None else 0
        created = parse_time(fields.get("created"))
        updated = parse_time(fields.get("updated")) or created
        if created is None or updated is None:
            raise SourceResponseError(
                f"{self.source}: issue {issue.get('key')}: expected 'created' and 'updated' timestamps"
            )
        labels = fields.get("labels") or []
        key = str(issue.get("key") or issue["id"])
        return (
            {
                "source": self.source,
                "tracker": TRACKER,
                "ticket_id": str(issue["id"]),
                "key": key,
                "project": str(project.get("key") or key.rsplit("-", 1)[0]),
                "title": str(fields.get("summary") or ""),
                "type": issuetype.get("name"),
                "type_category": type_category(
                    issuetype.get("name"),
                    subtask=bool(issuetype.get("subtask")),
                    hierarchy=issuetype.get("hierarchyLevel"),
                    incident_types=settings.incident_types,
                ),
                "status": status.get("name"),
                "status_id": str(status["id"]) if status.get("id") is not None else None,
                "status_category": status_category(
                    (status.get("statusCategory") or {}).get("key"),
                    status=status.get("name"),
                    resolution=resolution,
                    canceled_resolutions=settings.canceled_resolutions,
                    canceled_statuses=settings.canceled_statuses,
                ),
                "resolution": resolution,
                "priority": (fields.get("priority") or {}).get("name"),
                "story_points": points,
                "assignee_id": _account(fields.get("assignee")),
                "reporter_id": _account(fields.get("reporter")),
                "labels": [str(label) for label in labels if isinstance(label, str)],
                "parent_key": parent_key,
                "epic_key": epic_key,
                "sprint_id": current_sprint(sprint_values),
                "created_at": created,
                "updated_at": updated,
                "resolved_at": parse_time(fields.get("resolutiondate")),
                "body_length": body_length,
                "is_deleted": False,
                "synced_at": self.now,
                "run_id": self.ctx.run_id,
            },
            sprint_values,
        )

    def _identity(self, user: Any, out: dict[str, dict[str, Any]]) -> str | None:
        account = _account(user)
        if account is None or not isinstance(user, dict):
            return account
        if account in self._users_seen:
            return account  # the same person on many histories of the page
        self._users_seen.add(account)
        out[account] = {
            "source": self.source,
            "kind": TRACKER,
            "account_id": account,
            "login": user.get("name") if not self.site.cloud else None,
            "name": user.get("displayName"),
            "email": user.get("emailAddress") or None,
            "account_type": user.get("accountType") or ("user" if not self.site.cloud else None),
            "last_seen_at": self.now,
        }
        return account

    # ------------------------------------------------------------------ changelog

    def _complete_changelogs(
        self, issues: list[dict[str, Any]]
    ) -> dict[str, list[tuple[datetime, dict[str, Any]]]]:
        """Every issue's complete history list with its time, oldest first (embedded plus fetched)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        missing: list[str] = []
        for issue in issues:
            ticket_id = str(issue.get("id"))
            changelog = issue.get("changelog")
            if changelog is None:
                changelog = {"histories": [], "total": None}
            changelog = require(
                changelog,
                dict,
                self.source,
                f"issue {issue.get('key')}: changelog",
                "an object with 'histories'",
            )
            histories = require(
                changelog.get("histories", []),
                list,
                self.source,
                f"issue {issue.get('key')}: changelog",
                "'histories' as a list",
            )
            out[ticket_id] = {str(h.get("id")): h for h in histories if isinstance(h, dict)}
            total = changelog.get("total")
            if isinstance(total, int) and total > len(histories):
                missing.append(ticket_id)
        if missing:
            fetched = self._fetch_changelogs(missing)
            for ticket_id, histories in fetched.items():
                for history in histories:
                    out.setdefault(ticket_id, {})[str(history.get("id"))] = history

        ordered: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
        for ticket_id, by_id in out.items():
            timed = []
            for ident, history in by_id.items():
                when = history_time(history.get("created"))
                if when is None:
                    raise SourceResponseError(
                        f"{self.source}: issue {ticket_id}: history {ident} has no 'created' time"
                    )
                timed.append((when, _int(ident), ident, history))
            timed.sort(key=lambda t: t[:3])
            ordered[ticket_id] = [(when, history) for when, _, _, history in timed]
        return ordered

    def _fetch_changelogs(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not self.site.cloud:
            return {i: self._dc_issue_changelog(i) for i in ids}
        if self.site.bulk_changelog:
            try:
                return self._bulk_changelogs(ids)
            except SourceNotFoundError:
                self.site.bulk_changelog = False  # an older site: read per issue from now on
                self.result.warnings.append(
                    "POST /rest/api/3/changelog/bulkfetch is not available; long changelogs are "
                    "read issue by issue"
                )
        return {i: self._issue_changelog(i) for i in ids}

    def _bulk_changelogs(self, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        what = "POST /rest/api/3/changelog/bulkfetch"
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk in range(0, len(ids), BULK_CHANGELOG_ISSUES):
            batch = ids[chunk : chunk + BULK_CHANGELOG_ISSUES]
            token: str | None = None
            seen: set[str] = set()
            while True:
                body: dict[str, Any] = {"issueIdsOrKeys": batch, "maxResults": BULK_CHANGELOG_PAGE}
                if token:
                    body["nextPageToken"] = token
                page = require(
                    self.client.json(
                        "POST", "/rest/api/3/changelog/bulkfetch", json_body=body, what=what
                    ),
                    dict,
                    self.source,
                    what,
                    "an object with 'issueChangeLogs'",
                )
                logs = require(
                    page.get("issueChangeLogs", []),
                    list,
                    self.source,
                    what,
                    "'issueChangeLogs' as a list",
                )
                for log in logs:
                    if not isinstance(log, dict):
                        continue
                    histories = require(
                        log.get("changeHistories", []),
                        list,
                        self.source,
                        what,
                        "'changeHistories' as a list",
                    )
                    out.setdefault(str(log.get("issueId")), []).extend(
                        h for h in histories if isinstance(h, dict)
                    )
                following = page.get("nextPageToken")
                if not following:
                    break
                if following in seen or following == token:
                    raise SourceResponseError(
                        f"{self.source}: {what}: the API returned a nextPageToken it had already given; stopping instead of looping"
                    )
                seen.add(str(following))
                token = str(following)
        return out

    def _issue_changelog(self, ticket_id: str) -> list[dict[str, Any]]:
        path = f"/rest/api/3/issue/{ticket_id}/changelog"
        what = f"GET {path}"
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            page = require(
                self.client.get_json(path, params={"startAt": start, "maxResults": 100}, what=what),
                dict,
                self.source,
                what,
                "a page with 'values'",
            )
            values = require(page.get("values"), list, self.source, what, "'values' as a list")
            out += [v for v in values if isinstance(v, dict)]
            total = page.get("total")
            if page.get("isLast") is True or not values:
                return out
            start += len(values)
            if isinstance(total, int) and start >= total:
                return out

    def _dc_issue_changelog(self, ticket_id: str) -> list[dict[str, Any]]:
        path = f"/rest/api/2/issue/{ticket_id}"
        what = f"GET {path}?expand=changelog"
        issue = require(
            self.client.get_json(
                path, params={"expand": "changelog", "fields": "updated"}, what=what
            ),
            dict,
            self.source,
            what,
            "an issue",
        )
        changelog = require(issue.get("changelog"), dict, self.source, what, "'changelog'")
        histories = require(
            changelog.get("histories"), list, self.source, what, "'histories' as a list"
        )
        total = changelog.get("total")
        if isinstance(total, int) and total > len(histories):
            self.result.warnings.append(
                f"issue {ticket_id}: Jira returned {len(histories)} of {total} histories; the oldest are missing"
            )
        return [h for h in histories if isinstance(h, dict)]

    def _events(
        self,
        ticket_id: str,
        histories: list[tuple[datetime, dict[str, Any]]],
        identities: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        ids = self.site.fields
        point_fields = set(ids.story_points)
        point_names = {ids.names.get(f, f).lower() for f in ids.story_points}
        sprint_name = ids.names.get(ids.sprint or "", "sprint").lower()
        epic_name = ids.names.get(ids.epic_link or "", "epic link").lower()
        rows = []
        for changed, history in histories:
            author = history.get("author")
            actor = self._identity(author, identities) if isinstance(author, dict) else None
            kept_points = False
            for position, item in enumerate(history.get("items") or []):
                if not isinstance(item, dict):
                    continue
                field_id = str(item.get("fieldId") or "")
                name = str(item.get("field") or "").lower()
                if field_id in point_fields or (not field_id and name in point_names):
                    if kept_points:
                        continue  # "Story Points" mirrored into "Story point estimate": one change
                    kept_points = True
                    kind = "story_points"
                elif (
                    field_id == ids.sprint
                    or (not field_id and name == sprint_name)
                    or (not ids.sprint and name == "sprint")
                ):
                    kind = "sprint"
                elif (ids.epic_link and field_id == ids.epic_link) or (
                    not field_id and name == epic_name
                ):
                    kind = "epic"
                elif field_id and str(item.get("fieldtype")) == "custom":
                    continue  # a custom field SprintProof does not read (e.g. one named "Status")
                else:
                    kind = _CHANGELOG_FIELDS.get(field_id.lower()) or _CHANGELOG_FIELDS.get(name)
                if kind is None:
                    continue
                source_from, source_to = item.get("from"), item.get("to")
                from_value, to_value = item.get("fromString"), item.get("toString")
                if kind == "sprint":
                    source_from, source_to = normalise_ids(source_from), normalise_ids(source_to)
                elif kind == "story_points":
                    source_from = source_to = None
                elif kind == "assignee":
                    for ident, display in ((source_from, from_value), (source_to, to_value)):
                        if ident:
                            identities.setdefault(
                                str(ident),
                                {
                                    "source": self.source,
                                    "kind": TRACKER,
                                    "account_id": str(ident),
                                    "login": None,
                                    "name": display,
                                    "email": None,
                                    "account_type": None,
                                    "last_seen_at": self.now,
                                },
                            )
                rows.append(
                    {
                        "source": self.source,
                        "ticket_id": ticket_id,
                        "event_id": str(history.get("id")),
                        "position": position,
                        "changed_at": changed,
                        "actor_id": actor,
                        "field": kind,
                        "from_id": _text(source_from),
                        "to_id": _text(source_to),
                        "from_value": _text(from_value),
                        "to_value": _text(to_value),
                    }
                )
        return rows

    # ------------------------------------------------------------------ deletions and moves

    def _reconcile(self) -> None:
        settings = self.settings
        state = self.ctx.cursor(self.source, self.scope, "reconcile")
        last = parse_time((state or {}).get("at"))
        stamp = {"at": self.now.isoformat()}
        if last is None:
            # The first run has just read everything in scope: nothing to reconcile yet.
            self.ctx.commit_page(self.source, self.scope, "reconcile", stamp)
            return
        if settings.reconcile_days and self.now - last < timedelta(days=settings.reconcile_days):
            return
        jql = self._scope_jql() + " ORDER BY id ASC"
        pages = self._cloud_pages if self.site.cloud else self._dc_pages
        live: set[str] = set()
        for issues, _ in pages(jql, ["id"], ID_PAGE_SIZE[self.site.cloud], changelog=False):
            live.update(str(i.get("id")) for i in issues if i.get("id") is not None)
        [(stored,)] = self.ctx.con.execute(
            "SELECT count(*) FROM tickets WHERE source = ? AND NOT is_deleted", [self.source]
        ).fetchall()
        if not live and stored:
            self.result.warnings.append(
                f"the scope lists no issues while {stored} are stored; nothing was marked "
                "deleted (check the account's 'Browse projects' permission)"
            )
            self.ctx.commit_page(self.source, self.scope, "reconcile", stamp)
            return
        listed = pl.DataFrame({"ticket_id": sorted(live)}, schema={"ticket_id": pl.String})
        self.ctx.con.register("_jira_live", listed.to_arrow())
        try:
            gone = (
                "UPDATE tickets SET is_deleted = true WHERE source = ? AND NOT is_deleted "
                "AND ticket_id NOT IN (SELECT ticket_id FROM _jira_live)"
            )
            back = (
                "UPDATE tickets SET is_deleted = false WHERE source = ? AND is_deleted "
                "AND ticket_id IN (SELECT ticket_id FROM _jira_live)"
            )
            self.ctx.commit_page(
                self.source,
                self.scope,
                "reconcile",
                stamp,
                statements=[(gone, [self.source]), (back, [self.source])],
            )
        finally:
            self.ctx.con.unregister("_jira_live")


_CHANGELOG_FIELDS = {
    "status": "status",
    "assignee": "assignee",
    "issuetype": "type",
    "resolution": "resolution",
    "project": "project",
    "issuekey": "key",
    "key": "key",
    "parent": "parent",
    "issueparentassociation": "parent",
    "labels": "labels",
}


_END = object()
_Page = TypeVar("_Page")


def lookahead(pages: Iterator[_Page]) -> Iterator[_Page]:
    """The items of `pages`, the next one already being fetched while the caller handles the
    current one: Jira's time to answer a search page overlaps with writing the previous page.
    Pages are still handed over (and checkpointed) one by one, in order."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-page") as pool:
        pending = pool.submit(next, pages, _END)
        while True:
            page = pending.result()
            if page is _END:
                return
            pending = pool.submit(next, pages, _END)
            yield page  # type: ignore[misc]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def _account(user: Any) -> str | None:
    """Cloud accountId, or Data Center's user key (then name)."""
    if not isinstance(user, dict):
        return None
    for key in ("accountId", "key", "name"):
        value = user.get(key)
        if value:
            return str(value)
    return None


def _scope_name(settings: JiraSettings) -> str:
    """The cursor scope: changing the projects, boards or JQL starts a new full read."""
    parts = []
    if settings.projects:
        parts.append("projects=" + ",".join(settings.projects))
    if settings.boards:
        parts.append("boards=" + ",".join(str(b) for b in settings.boards))
    if settings.jql:
        parts.append("jql=" + hashlib.sha256(settings.jql.encode()).hexdigest()[:12])
    return ";".join(parts)


def _is_client_error(exc: SourceError, statuses: Sequence[int]) -> bool:
    if isinstance(exc, SourceNotFoundError) and 404 in statuses:
        return True
    return any(f"HTTP {s}" in str(exc) for s in statuses)
