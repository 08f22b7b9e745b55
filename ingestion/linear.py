"""The Linear connector: teams, workflow states, cycles, users and issues with their history, over GraphQL.

One run reads, in this order: the teams in scope (`boards`), the labels (to name `labelIds`), the
teams' workflow states (`ticket_statuses`), their cycles (`sprints`), the users updated since the
last run (`identities`), then per team the issues updated since its watermark (`tickets`,
`ticket_events`, `ticket_sprints`) and, every `reconcile_days`, the ids of all the team's issues
to notice deletions and moves. Issues come newest-updated first (Linear's `orderBy: updatedAt`), so
the watermark moves only when a team's pass ends; meanwhile the stream's cursor holds the pass's
lower bound and the page cursor, and a killed run continues the same pass page by page.
"""

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ingestion.connectors import make_client, secret_unless_replayed
from ingestion.http import (
    ApiClient,
    SourceAccessError,
    SourceAuthError,
    SourceNotFoundError,
    SourceResponseError,
    SourceUnavailableError,
    Throttle,
    require,
    retry_after_seconds,
)
from ingestion.settings import LinearSettings
from ingestion.sim.linear import LinearSimulator
from ingestion.sync import Replace, SyncContext, SyncResult, parse_time

# Page sizes keep each query's complexity (Linear's per-query ceiling is 10,000 points) moderate:
# an issues page of 50 with 20 history entries each is about 3,100 points (docs/sources/linear.md).
MAX_PAGE = 250
MAX_ISSUE_PAGE = 100
DEFAULT_ISSUE_PAGE = 50
HISTORY_INLINE = 20
HISTORY_PAGE = 100

STATUS_CATEGORY: Mapping[str, str] = {
    "triage": "todo",
    "backlog": "todo",
    "unstarted": "todo",
    "started": "in_progress",
    "completed": "done",
    "canceled": "canceled",
    "duplicate": "canceled",
}

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"

TEAMS_QUERY = f"""
query Teams($filter: TeamFilter, $first: Int!, $after: String) {{
  teams(filter: $filter, first: $first, after: $after) {{
    {_PAGE_INFO}
    nodes {{ id key name }}
  }}
}}"""

LABELS_QUERY = f"""
query IssueLabels($first: Int!, $after: String) {{
  issueLabels(first: $first, after: $after, includeArchived: true) {{
    {_PAGE_INFO}
    nodes {{ id name parent {{ id name }} }}
  }}
}}"""

STATES_QUERY = f"""
query WorkflowStates($filter: WorkflowStateFilter, $first: Int!, $after: String) {{
  workflowStates(filter: $filter, first: $first, after: $after, includeArchived: true) {{
    {_PAGE_INFO}
    nodes {{ id name type team {{ id key }} }}
  }}
}}"""

CYCLES_QUERY = f"""
query Cycles($filter: CycleFilter, $first: Int!, $after: String) {{
  cycles(filter: $filter, first: $first, after: $after, includeArchived: true) {{
    {_PAGE_INFO}
    nodes {{ id number name startsAt endsAt completedAt archivedAt team {{ id key }} }}
  }}
}}"""

USERS_QUERY = f"""
query Users($filter: UserFilter, $first: Int!, $after: String) {{
  users(filter: $filter, first: $first, after: $after, orderBy: updatedAt,
        includeDisabled: true, includeArchived: true) {{
    {_PAGE_INFO}
    nodes {{ id name displayName email active app updatedAt }}
  }}
}}"""

HISTORY_FIELDS = """
fragment HistoryFields on IssueHistory {
  id createdAt actorId
  fromStateId toStateId fromCycleId toCycleId fromEstimate toEstimate
  fromAssigneeId toAssigneeId fromTeamId toTeamId fromParentId toParentId
  addedLabelIds removedLabelIds
}"""

ISSUES_QUERY = f"""
query Issues($filter: IssueFilter, $first: Int!, $after: String, $history: Int!) {{
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt, includeArchived: true) {{
    {_PAGE_INFO}
    nodes {{
      id identifier title description priorityLabel estimate
      createdAt updatedAt completedAt canceledAt archivedAt trashed labelIds
      team {{ id key }}
      state {{ id name type }}
      assignee {{ id }}
      creator {{ id }}
      parent {{ id identifier }}
      cycle {{ id }}
      history(first: $history) {{
        {_PAGE_INFO}
        nodes {{ ...HistoryFields }}
      }}
    }}
  }}
}}
{HISTORY_FIELDS}"""

HISTORY_QUERY = f"""
query IssueHistory($id: String!, $first: Int!, $after: String) {{
  issue(id: $id) {{
    id
    history(first: $first, after: $after) {{
      {_PAGE_INFO}
      nodes {{ ...HistoryFields }}
    }}
  }}
}}
{HISTORY_FIELDS}"""

ISSUE_IDS_QUERY = f"""
query IssueIds($filter: IssueFilter, $first: Int!, $after: String) {{
  issues(filter: $filter, first: $first, after: $after, includeArchived: true) {{
    {_PAGE_INFO}
    nodes {{ id }}
  }}
}}"""

_MARK_CYCLES_DELETED = (
    "UPDATE sprints SET is_deleted = true WHERE source = ? AND list_contains(?::VARCHAR[], board_id) "
    "AND NOT list_contains(?::VARCHAR[], sprint_id) AND NOT is_deleted"
)
_MARK_ISSUES_DELETED = (
    "UPDATE tickets SET is_deleted = true, synced_at = ?, run_id = ? WHERE source = ? AND project = ? "
    "AND NOT is_deleted AND NOT list_contains(?::VARCHAR[], ticket_id)"
)

ISSUE_FIELDS = (
    "id", "identifier", "title", "description", "priorityLabel", "estimate", "createdAt",
    "updatedAt", "completedAt", "canceledAt", "archivedAt", "trashed", "labelIds", "team", "state",
    "assignee", "creator", "parent", "cycle", "history",
)  # fmt: skip
ISSUE_REQUIRED = ("id", "identifier", "title", "createdAt", "updatedAt", "team", "state", "history")


# ---------------------------------------------------------------------- auth and rate limits


def authorization(token: str) -> str:
    """The Authorization header for a Linear credential: personal API keys go bare, OAuth tokens as Bearer."""
    token = token.strip()
    if token.lower().startswith("bearer "):
        return token
    return token if token.startswith("lin_api_") else f"Bearer {token}"


def _error_code(error: Any) -> str:
    """A GraphQL error's kind, upper-case: `extensions.code`, else Linear's `extensions.type`."""
    if not isinstance(error, Mapping):
        return ""
    extensions = error.get("extensions")
    if not isinstance(extensions, Mapping):
        return ""
    code = extensions.get("code") or extensions.get("type") or ""
    return str(code).upper().replace(" ", "_")


def _errors(response: httpx.Response) -> list[Any]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, Mapping) else None
    return errors if isinstance(errors, list) else []


class LinearThrottle(Throttle):
    """Linear's request and complexity budgets (`X-RateLimit-*`, resets in epoch milliseconds)."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock or (lambda: time.time())
        self.last_complexity = 0

    def _reset_in(self, response: httpx.Response, budget: str) -> float | None:
        value = response.headers.get(f"x-ratelimit-{budget}-reset")
        try:
            return max(0.0, float(value) / 1000 - self.clock()) if value else None
        except ValueError:
            return None

    def _remaining(self, response: httpx.Response, budget: str) -> float | None:
        value = response.headers.get(f"x-ratelimit-{budget}-remaining")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def retry_after(self, response: httpx.Response) -> float | None:
        status = response.status_code
        limited = status == 429 or (
            status in (200, 400)
            and b"RATELIMITED" in response.content.upper()
            and any(_error_code(e) == "RATELIMITED" for e in _errors(response))
        )
        if not limited:
            return None
        waits = [
            w
            for w in (
                retry_after_seconds(response.headers),
                self._reset_in(response, "requests")
                if (self._remaining(response, "requests") or 0) <= 0
                else None,
                self._reset_in(response, "complexity")
                if (self._remaining(response, "complexity") or 0) < max(1, self.last_complexity)
                else None,
            )
            if w is not None
        ]
        return max(waits) if waits else 60.0

    def pause(self, response: httpx.Response) -> float:
        complexity = response.headers.get("x-complexity")
        if complexity and complexity.isdigit() and int(complexity) > 0:
            self.last_complexity = int(complexity)
        if self.retry_after(response) is not None:
            return 0.0  # the retry waits for the reset already
        waits = [0.0]
        requests = self._remaining(response, "requests")
        if requests is not None and requests <= 0:
            waits.append(self._reset_in(response, "requests") or 0.0)
        points = self._remaining(response, "complexity")
        if points is not None and self.last_complexity and points < self.last_complexity:
            waits.append(self._reset_in(response, "complexity") or 0.0)
        return max(waits)

    def forbidden_hint(self, response: httpx.Response) -> str:
        return (
            "the key's user cannot see this (an API key has its user's access; an OAuth token "
            "needs the read scope and access to the team)"
        )


# ---------------------------------------------------------------------- helpers


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _number(value: Any) -> str | None:
    return None if value is None else f"{float(value):g}"


def _join(values: Iterable[Any]) -> str | None:
    items = [str(v) for v in values]
    return ",".join(items) if items else None


class _Linear:
    """One run over one Linear workspace."""

    def __init__(self, ctx: SyncContext, settings: LinearSettings, client: ApiClient) -> None:
        self.ctx = ctx
        self.settings = settings
        self.client = client
        self.source = settings.source_name
        self.result = SyncResult(source=self.source, kind="linear")
        self.page = min(settings.page_size or MAX_PAGE, MAX_PAGE)
        self.issue_page = min(settings.page_size or DEFAULT_ISSUE_PAGE, MAX_ISSUE_PAGE)
        self.labels: dict[str, tuple[str, str | None]] = {}  # id -> (name, group name)
        self.states: dict[str, str] = {}  # id -> name
        self.cycles: dict[str, str] = {}  # id -> display name
        self.team_keys: dict[str, str] = {}  # id -> key

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)
        self.ctx.warn(message)

    # ------------------------------------------------------------------ transport

    def query(self, query: str, variables: Mapping[str, Any], what: str) -> dict[str, Any]:
        response = self.client.request(
            "POST",
            "/graphql",
            json_body={"query": query, "variables": dict(variables)},
            what=what,
            ok_statuses=(400, 401, 403),
        )
        try:
            body = response.json()
        except ValueError:
            raise SourceResponseError(f"{self.source}: {what}: the answer is not JSON (HTTP {response.status_code})") from None  # fmt: skip
        require(body, dict, self.source, what, "a JSON object with 'data'")
        errors = body.get("errors")
        status = response.status_code
        if errors or status >= 400:
            self._raise(errors if isinstance(errors, list) else [], status, what)
        return require(body.get("data"), dict, self.source, what, "an object in 'data'")

    def _raise(self, errors: list[Any], status: int, what: str) -> None:
        first = errors[0] if errors else {}
        message = first.get("message", "") if isinstance(first, Mapping) else str(first)
        message = self.client._redact(str(message))[:300]
        code = _error_code(first)
        hint = f"${self.settings.token_env}" if self.settings.token_env else "the configured key"
        if code in ("AUTHENTICATION_ERROR", "UNAUTHENTICATED") or status == 401:
            raise SourceAuthError(
                f"{self.source}: {what}: Linear refused the credentials ({message or f'HTTP {status}'}); "
                f"check that {hint} holds a valid personal API key (lin_api_..., sent as it is) or an "
                "OAuth access token (sent as Bearer), not revoked or expired"
            )
        if code in ("FORBIDDEN", "UNAUTHORIZED") or status == 403:
            raise SourceAccessError(
                f"{self.source}: {what}: access denied ({message or f'HTTP {status}'}); the key's user "
                "must be a member of the teams read (private teams too), and an OAuth token needs the read scope"
            )
        if code == "RATELIMITED":
            raise SourceUnavailableError(f"{self.source}: {what}: rate limited ({message}); run again later")  # fmt: skip
        if "ENTITY_NOT_FOUND" in code or message.lower().startswith("entity not found"):
            raise SourceNotFoundError(f"{self.source}: {what}: {message}")
        raise SourceResponseError(
            f"{self.source}: {what}: the API refused the query ({code or f'HTTP {status}'}: {message}); "
            "if it names a field, Linear's schema changed; if it is about complexity, lower page_size"
        )

    def connection(
        self, data: Mapping[str, Any], field: str, what: str
    ) -> tuple[list[dict[str, Any]], str | None, bool]:
        conn: Any = data
        for part in field.split("."):
            conn = require(conn.get(part), dict, self.source, what, f"an object in '{field}'")
        nodes = require(conn.get("nodes"), list, self.source, what, f"a list in '{field}.nodes'")
        info = require(conn.get("pageInfo"), dict, self.source, what, f"an object in '{field}.pageInfo'")  # fmt: skip
        has_next = require(info.get("hasNextPage"), bool, self.source, what, "pageInfo.hasNextPage (true/false)")  # fmt: skip
        end = info.get("endCursor")
        if has_next and not isinstance(end, str):
            raise SourceResponseError(f"{self.source}: {what}: pageInfo says there is a next page but gives no endCursor")  # fmt: skip
        for node in nodes:
            require(node, dict, self.source, what, f"objects in '{field}.nodes'")
            require(node.get("id"), str, self.source, what, "an id on every node")
        return nodes, end, has_next

    def pages(
        self,
        query: str,
        field: str,
        variables: Mapping[str, Any],
        what: str,
        *,
        first: int,
        after: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str | None, bool]]:
        """Every page of a connection; a cursor the API already gave stops the stream with an error."""
        seen: set[str] = set()
        while True:
            data = self.query(query, {**variables, "first": first, "after": after}, what)
            nodes, end, has_next = self.connection(data, field, what)
            if has_next and (end == after or end in seen):
                raise SourceResponseError(
                    f"{self.source}: {what}: the API returned a page cursor it had already returned "
                    f"({end!r}); stopping instead of reading the same pages forever"
                )
            yield nodes, end, has_next
            if not has_next:
                return
            assert end is not None
            seen.add(end)
            after = end

    def progress(self, phase: str, done: int) -> None:
        if self.ctx.progress is not None:
            self.ctx.progress(phase, done, 0)

    # ------------------------------------------------------------------ teams, labels, states, cycles

    def read_teams(self) -> list[dict[str, Any]]:
        wanted = [k.upper() for k in self.settings.teams]
        variables = {"filter": {"key": {"in": wanted}}} if wanted else {}
        teams: list[dict[str, Any]] = []
        for nodes, _end, _next in self.pages(
            TEAMS_QUERY, "teams", variables, "teams", first=self.page
        ):
            for team in nodes:
                self.ctx.observe(self.source, "teams", team, known=("id", "key", "name"), required=("id", "key", "name"))  # fmt: skip
                require(team.get("key"), str, self.source, "teams", "a key on every team")
                teams.append(team)
        found = {t["key"].upper() for t in teams}
        missing = [k for k in wanted if k not in found]
        if missing:
            hint = f"${self.settings.token_env}" if self.settings.token_env else "the key"
            raise SourceNotFoundError(
                f"{self.source}: teams: no team with key {', '.join(missing)} (or it is archived, or "
                f"{hint}'s user is not a member of it); check `teams` in the configuration"
            )
        self.team_keys = {t["id"]: t["key"] for t in teams}
        rows = [
            {"source": self.source, "board_id": t["id"], "kind": "linear_team", "name": t.get("name") or t["key"],
             "project": t["key"], "synced_at": self.ctx.now()}
            for t in teams
        ]  # fmt: skip
        ids = [t["id"] for t in teams]
        self.ctx.commit_page(
            self.source, "", "teams", None,
            [Replace("boards", rows, ("source", "board_id"))],
            statements=[("DELETE FROM boards WHERE source = ? AND NOT list_contains(?::VARCHAR[], board_id)", [self.source, ids])],
        )  # fmt: skip
        return teams

    def read_labels(self) -> None:
        for nodes, _end, _next in self.pages(LABELS_QUERY, "issueLabels", {}, "issue labels", first=self.page):  # fmt: skip
            for label in nodes:
                parent = label.get("parent")
                group = parent.get("name") if isinstance(parent, Mapping) else None
                self.labels[label["id"]] = (str(label.get("name") or ""), group)

    def read_states(self, team_ids: list[str]) -> None:
        variables = {"filter": {"team": {"id": {"in": team_ids}}}}
        for nodes, _end, _next in self.pages(STATES_QUERY, "workflowStates", variables, "workflow states", first=self.page):  # fmt: skip
            rows = []
            for state in nodes:
                self.ctx.observe(self.source, "workflow_states", state, known=("id", "name", "type", "team"), required=("id", "name", "type"))  # fmt: skip
                kind = str(state.get("type") or "")
                category = STATUS_CATEGORY.get(kind)
                if category is None:
                    self.warn(f"workflow state {state.get('name')!r} has an unknown type {kind!r}; counted as todo")  # fmt: skip
                    category = "todo"
                self.states[state["id"]] = str(state.get("name") or "")
                rows.append({"source": self.source, "status_id": state["id"], "name": str(state.get("name") or ""), "category": category})  # fmt: skip
            self.ctx.commit_page(self.source, "", "workflow_states", None, [Replace("ticket_statuses", rows, ("source", "status_id"))])  # fmt: skip

    def read_cycles(self, team_ids: list[str]) -> None:
        now = self.ctx.now()
        variables = {"filter": {"team": {"id": {"in": team_ids}}}}
        listed: list[str] = []
        for nodes, _end, _next in self.pages(CYCLES_QUERY, "cycles", variables, "cycles", first=self.page):  # fmt: skip
            rows = []
            for cycle in nodes:
                self.ctx.observe(self.source, "cycles", cycle,
                                 known=("id", "number", "name", "startsAt", "endsAt", "completedAt", "archivedAt", "team"),
                                 required=("id", "number", "startsAt", "endsAt", "team"))  # fmt: skip
                team = _obj(cycle.get("team"))
                starts, ends = parse_time(cycle.get("startsAt")), parse_time(cycle.get("endsAt"))
                completed = parse_time(cycle.get("completedAt"))
                number = cycle.get("number")
                name = cycle.get("name") or (f"Cycle {float(number):g}" if number is not None else cycle["id"])  # fmt: skip
                if completed is not None or (ends is not None and ends <= now):
                    state = "closed"
                elif starts is not None and starts <= now:
                    state = "active"
                else:
                    state = "future"
                # An archived cycle that never completed was removed (cycles turned off, fewer
                # upcoming cycles); a completed one that Linear archived still holds its work.
                deleted = bool(cycle.get("archivedAt")) and completed is None
                self.cycles[cycle["id"]] = str(name)
                listed.append(cycle["id"])
                rows.append({"source": self.source, "tracker": "linear", "sprint_id": cycle["id"], "board_id": team.get("id"),
                             "name": str(name), "state": state, "start_at": starts, "end_at": ends, "completed_at": completed,
                             "is_deleted": deleted, "synced_at": now})  # fmt: skip
            self.ctx.commit_page(self.source, "", "cycles", None, [Replace("sprints", rows, ("source", "sprint_id"))])  # fmt: skip
        # Cycles no longer listed (deleted with their team, or for good) stay, marked deleted.
        self.ctx.commit_page(
            self.source, "", "cycles", None,
            statements=[(_MARK_CYCLES_DELETED, [self.source, team_ids, listed])],
        )  # fmt: skip

    # ------------------------------------------------------------------ users

    def read_users(self) -> None:
        stream = "users"
        state = self.ctx.cursor(self.source, "", stream) or {}
        since, after, newest = self._pass_start(state)
        variables = {"filter": {"updatedAt": {"gt": since}}} if since else {}
        count = 0
        for nodes, end, has_next in self._resumable(USERS_QUERY, "users", variables, "users", self.page, after):  # fmt: skip
            rows = []
            for user in nodes:
                self.ctx.observe(self.source, stream, user,
                                 known=("id", "name", "displayName", "email", "active", "app", "updatedAt"),
                                 required=("id", "name", "email", "updatedAt"))  # fmt: skip
                newest = _later(newest, user.get("updatedAt"))
                rows.append({"source": self.source, "kind": "linear", "account_id": user["id"],
                             "login": user.get("displayName"), "name": user.get("name"), "email": user.get("email") or None,
                             "account_type": "app" if user.get("app") else "user", "last_seen_at": self.ctx.now()})  # fmt: skip
            count += len(rows)
            self.progress("linear users", count)
            cursor = (
                {"since": since, "after": end, "newest": newest}
                if has_next
                else {"watermark": newest}
            )
            self.ctx.commit_page(self.source, "", stream, cursor, [Replace("identities", rows, ("source", "kind", "account_id"))])  # fmt: skip

    def _pass_start(self, state: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
        """(lower bound of the pass, page cursor to resume from, newest updatedAt seen so far)."""
        if state.get("after"):
            return state.get("since"), state["after"], state.get("newest")
        watermark = state.get("watermark")
        if watermark:
            since = parse_time(watermark)
            assert since is not None
            return _iso(since - timedelta(minutes=self.settings.overlap_minutes)), None, watermark
        if self.settings.since is not None:
            start = datetime(self.settings.since.year, self.settings.since.month, self.settings.since.day, tzinfo=UTC)  # fmt: skip
            return _iso(start), None, None
        return None, None, None

    def _resumable(
        self,
        query: str,
        field: str,
        variables: Mapping[str, Any],
        what: str,
        first: int,
        after: str | None,
    ) -> Iterator[tuple[list[dict[str, Any]], str | None, bool]]:
        """Pages of a pass; when the page cursor a killed run left is refused, the pass starts over."""
        pages = self.pages(query, field, variables, what, first=first, after=after)
        try:
            page = next(pages)
        except StopIteration:
            return
        except SourceResponseError as exc:
            if after is None:
                raise
            self.warn(f"{what}: the saved page cursor was refused ({exc}); reading the pass again from its start")  # fmt: skip
            pages = self.pages(query, field, variables, what, first=first)
            page = next(pages)
        yield page
        yield from pages

    # ------------------------------------------------------------------ issues

    def read_issues(self, team: Mapping[str, Any]) -> None:
        key, stream = team["key"], "issues"
        state = self.ctx.cursor(self.source, key, stream) or {}
        since, after, newest = self._pass_start(state)
        variables: dict[str, Any] = {
            "filter": {"team": {"id": {"eq": team["id"]}}},
            "history": HISTORY_INLINE,
        }
        if since:
            variables["filter"]["updatedAt"] = {"gt": since}
        count = 0
        what = f"issues of team {key}"
        for nodes, end, has_next in self._resumable(ISSUES_QUERY, "issues", variables, what, self.issue_page, after):  # fmt: skip
            tickets, events, sprints = [], [], []
            for issue in nodes:
                self.ctx.observe(
                    self.source, stream, issue, known=ISSUE_FIELDS, required=ISSUE_REQUIRED
                )
                history = self._history(issue, what)
                newest = _later(newest, issue.get("updatedAt"))
                tickets.append(self._ticket(issue, what))
                issue_events, cycle_ids = self._events(issue["id"], history)
                events += issue_events
                current = issue.get("cycle")
                if isinstance(current, Mapping) and current.get("id"):
                    cycle_ids.add(str(current["id"]))
                sprints += [
                    {"source": self.source, "ticket_id": issue["id"], "sprint_id": c}
                    for c in sorted(cycle_ids)
                ]
            scope = [{"source": self.source, "ticket_id": t["ticket_id"]} for t in tickets]
            count += len(tickets)
            self.progress(f"linear {key} issues", count)
            cursor = (
                {"since": since, "after": end, "newest": newest}
                if has_next
                else {"watermark": newest}
            )
            self.ctx.commit_page(self.source, key, stream, cursor, [
                Replace("tickets", tickets, ("source", "ticket_id")),
                Replace("ticket_events", events, ("source", "ticket_id"), scope=scope),
                Replace("ticket_sprints", sprints, ("source", "ticket_id"), scope=scope),
            ])  # fmt: skip

    def _history(self, issue: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        entries, end, has_next = self.connection(
            issue, "history", f"{what}: history of {issue.get('identifier')}"
        )
        entries = list(entries)
        if has_next:
            label = f"history of {issue.get('identifier')}"
            for nodes, _end, _next in self.pages(HISTORY_QUERY, "issue.history", {"id": issue["id"]}, label, first=HISTORY_PAGE, after=end):  # fmt: skip
                entries += nodes
        return entries

    def _ticket(self, issue: Mapping[str, Any], what: str) -> dict[str, Any]:
        team = require(issue.get("team"), dict, self.source, what, "a team on every issue")
        state = require(issue.get("state"), dict, self.source, what, "a state on every issue")
        kind = str(state.get("type") or "")
        status_category = STATUS_CATEGORY.get(kind, "todo")
        labels = [self.labels[i] for i in issue.get("labelIds") or [] if i in self.labels]
        type_label, type_category = self._type(labels)
        closed = status_category in ("done", "canceled")
        # Trashed issues are deleted; Linear also archives finished work (auto-archive), which
        # still counts for its cycle, so only an archived issue that was never closed is gone.
        deleted = bool(issue.get("trashed")) or (bool(issue.get("archivedAt")) and not closed)
        parent = _obj(issue.get("parent"))
        cycle = _obj(issue.get("cycle"))
        assignee = _obj(issue.get("assignee"))
        creator = _obj(issue.get("creator"))
        created = parse_time(issue.get("createdAt"))
        updated = parse_time(issue.get("updatedAt"))
        if created is None or updated is None:
            raise SourceResponseError(f"{self.source}: {what}: issue {issue.get('identifier')} has no createdAt/updatedAt")  # fmt: skip
        estimate = issue.get("estimate")
        return {
            "source": self.source,
            "tracker": "linear",
            "ticket_id": issue["id"],
            "key": str(issue.get("identifier")),
            "project": str(team.get("key")),
            "title": str(issue.get("title") or ""),
            "type": type_label,
            "type_category": type_category,
            "status": state.get("name"),
            "status_id": state.get("id"),
            "status_category": status_category,
            "resolution": state.get("name") if closed else None,
            "priority": issue.get("priorityLabel"),
            "story_points": float(estimate) if isinstance(estimate, int | float) else None,
            "assignee_id": assignee.get("id"),
            "reporter_id": creator.get("id"),
            "labels": [name for name, _group in labels],
            "parent_key": parent.get("identifier"),
            "epic_key": None,
            "sprint_id": cycle.get("id"),
            "created_at": created,
            "updated_at": updated,
            "resolved_at": parse_time(issue.get("completedAt"))
            or parse_time(issue.get("canceledAt")),
            "body_length": len(issue.get("description") or ""),
            "is_deleted": deleted,
            "synced_at": self.ctx.now(),
            "run_id": self.ctx.run_id,
        }

    def _type(self, labels: list[tuple[str, str | None]]) -> tuple[str | None, str]:
        names: dict[str, str] = {}
        for name, group in labels:
            names.setdefault(name.lower(), name)
            if group:
                names.setdefault(f"{group.lower()}/{name.lower()}", name)
        for label, category in self.settings.issue_type_labels.items():
            if label in names:
                return names[label], category
        return None, "task"

    def _events(
        self, ticket_id: str, history: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], set[str]]:
        rows: list[dict[str, Any]] = []
        cycles: set[str] = set()
        for entry in history:
            changed = parse_time(entry.get("createdAt"))
            if changed is None:
                continue
            items: list[tuple[str, Any, Any, str | None, str | None]] = []

            old, new = entry.get("fromStateId"), entry.get("toStateId")
            if old != new and (old or new):
                items.append(
                    ("status", old, new, self.states.get(old or ""), self.states.get(new or ""))
                )
            old, new = entry.get("fromCycleId"), entry.get("toCycleId")
            if old != new and (old or new):
                cycles.update(c for c in (old, new) if c)
                items.append(
                    ("sprint", old, new, self.cycles.get(old or ""), self.cycles.get(new or ""))
                )
            old, new = entry.get("fromEstimate"), entry.get("toEstimate")
            if old != new and (old is not None or new is not None):
                items.append(("story_points", None, None, _number(old), _number(new)))
            old, new = entry.get("fromAssigneeId"), entry.get("toAssigneeId")
            if old != new and (old or new):
                items.append(("assignee", old, new, None, None))
            old, new = entry.get("fromTeamId"), entry.get("toTeamId")
            if old != new and (old or new):
                items.append(
                    (
                        "project",
                        old,
                        new,
                        self.team_keys.get(old or ""),
                        self.team_keys.get(new or ""),
                    )
                )
            old, new = entry.get("fromParentId"), entry.get("toParentId")
            if old != new and (old or new):
                items.append(("parent", old, new, None, None))
            removed, added = entry.get("removedLabelIds") or [], entry.get("addedLabelIds") or []
            if removed or added:
                items.append(("labels", _join(removed), _join(added),
                              _join(self.labels[i][0] for i in removed if i in self.labels),
                              _join(self.labels[i][0] for i in added if i in self.labels)))  # fmt: skip
            for position, (field, from_id, to_id, from_value, to_value) in enumerate(items):
                rows.append({"source": self.source, "ticket_id": ticket_id, "event_id": str(entry["id"]), "position": position,
                             "changed_at": changed, "actor_id": entry.get("actorId"), "field": field,
                             "from_id": None if from_id is None else str(from_id), "to_id": None if to_id is None else str(to_id),
                             "from_value": from_value, "to_value": to_value})  # fmt: skip
        return rows, cycles

    # ------------------------------------------------------------------ deletions and moves

    def reconcile(self, team: Mapping[str, Any]) -> None:
        key, stream = team["key"], "reconcile"
        state = self.ctx.cursor(self.source, key, stream) or {}
        last = parse_time(state.get("at"))
        now = self.ctx.now()
        if last is not None and self.settings.reconcile_days and now - last < timedelta(days=self.settings.reconcile_days):  # fmt: skip
            return
        ids: list[str] = []
        variables = {"filter": {"team": {"id": {"eq": team["id"]}}}}
        for nodes, _end, _next in self.pages(ISSUE_IDS_QUERY, "issues", variables, f"issue ids of team {key}", first=MAX_PAGE):  # fmt: skip
            ids += [n["id"] for n in nodes]
        before = self.ctx.con.execute(
            "SELECT count(*) FROM tickets WHERE source = ? AND project = ? AND NOT is_deleted", [self.source, key]
        ).fetchall()[0][0]  # fmt: skip
        self.ctx.commit_page(self.source, key, stream, {"at": _iso(now)}, statements=[(
            _MARK_ISSUES_DELETED, [now, self.ctx.run_id, self.source, key, ids])])  # fmt: skip
        after = self.ctx.con.execute(
            "SELECT count(*) FROM tickets WHERE source = ? AND project = ? AND NOT is_deleted", [self.source, key]
        ).fetchall()[0][0]  # fmt: skip
        if before != after:
            self.result.rows["tickets"] = self.result.rows.get("tickets", 0) + (before - after)


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _later(current: str | None, candidate: Any) -> str | None:
    when = parse_time(candidate) if candidate else None
    if when is None:
        return current
    best = parse_time(current) if current else None
    return _iso(when) if best is None or when > best else current


def sync(ctx: SyncContext, settings: LinearSettings) -> SyncResult:
    """Bring the warehouse up to date with one Linear workspace."""
    token = secret_unless_replayed(ctx, settings, "token_env", "a Linear personal API key (Settings → Security & access) or an OAuth access token")  # fmt: skip
    headers = {"Authorization": authorization(token)} if token else {}
    client = make_client(
        ctx,
        settings,
        base_url=f"{settings.api_url}",
        headers={**headers, "Content-Type": "application/json"},
        secrets=[token] if token else [],
        credential_hint=f"${settings.token_env}" if settings.token_env else "the configured key",
        throttle=LinearThrottle(),
        simulator=LinearSimulator.from_dir,
    )
    reader = _Linear(ctx, settings, client)
    written = ctx.rows_written
    with client:
        try:
            teams = reader.read_teams()
            team_ids = [t["id"] for t in teams]
            reader.read_labels()
            reader.read_states(team_ids)
            reader.read_cycles(team_ids)
            reader.read_users()
            for team in teams:
                reader.read_issues(team)
            for team in teams:
                reader.reconcile(team)
        finally:
            reader.result.requests = client.stats.requests
    result = reader.result
    for table, rows in ctx.rows_written.items():
        if rows - written.get(table, 0):
            result.rows[table] = result.rows.get(table, 0) + rows - written.get(table, 0)
    result.scopes = [t["key"] for t in teams]
    return result
