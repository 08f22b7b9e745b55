"""A Linear GraphQL API simulator: runs the connector's real queries against a subset of Linear's schema.

The schema below copies the names, types and arguments of Linear's public schema (`Query.issues`,
`Issue.history`, `IssueHistory.fromStateId`, `Cycle.startsAt`, `WorkflowState.type`, Relay
connections with `pageInfo { hasNextPage endCursor }`, the filter inputs) for the part SprintProof
reads, and graphql-core validates and executes every query against it: a misspelt field or an
argument Linear does not have fails here as it would on Linear. Around execution it behaves like
the real endpoint: `first` at most 250 (default 50), cursors, `orderBy: updatedAt` newest first,
`includeArchived`/`includeDisabled`, the comparators of the filters in use, a query complexity
estimate with the 10,000-point ceiling, request and complexity budgets with Linear's
`X-RateLimit-*` headers, `RATELIMITED` answers when a budget is spent, and `AUTHENTICATION_ERROR`
for a wrong key. Data are dicts in Linear's field names, references held as ids (`teamId`,
`stateId`, ...); `from_dir` loads them from JSON exports and `to_dir` writes such a folder.
"""

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_named_type,
    graphql_sync,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from ingestion.sim.base import SimRequest, SimResponse, Simulator

SCHEMA = """
scalar DateTime
scalar DateTimeOrDuration

enum PaginationOrderBy { createdAt updatedAt }

type PageInfo {
  startCursor: String
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
}

input IDComparator { eq: ID neq: ID in: [ID!] nin: [ID!] }
input IssueIDComparator { eq: ID neq: ID in: [ID!] nin: [ID!] }
input StringComparator { eq: String neq: String in: [String!] nin: [String!] }
input BooleanComparator { eq: Boolean neq: Boolean }
input DateComparator {
  eq: DateTimeOrDuration neq: DateTimeOrDuration
  gt: DateTimeOrDuration gte: DateTimeOrDuration lt: DateTimeOrDuration lte: DateTimeOrDuration
  in: [DateTimeOrDuration!] nin: [DateTimeOrDuration!]
}

input TeamFilter {
  id: IDComparator key: StringComparator name: StringComparator
  createdAt: DateComparator updatedAt: DateComparator
  and: [TeamFilter!] or: [TeamFilter!]
}
input NullableTeamFilter {
  id: IDComparator key: StringComparator name: StringComparator null: Boolean
  createdAt: DateComparator updatedAt: DateComparator
  and: [NullableTeamFilter!] or: [NullableTeamFilter!]
}
input UserFilter {
  id: IDComparator email: StringComparator name: StringComparator active: BooleanComparator
  app: BooleanComparator createdAt: DateComparator updatedAt: DateComparator
  and: [UserFilter!] or: [UserFilter!]
}
input WorkflowStateFilter {
  id: IDComparator name: StringComparator type: StringComparator team: TeamFilter
  createdAt: DateComparator updatedAt: DateComparator
  and: [WorkflowStateFilter!] or: [WorkflowStateFilter!]
}
input CycleFilter {
  id: IDComparator team: TeamFilter createdAt: DateComparator updatedAt: DateComparator
  startsAt: DateComparator endsAt: DateComparator completedAt: DateComparator
  and: [CycleFilter!] or: [CycleFilter!]
}
input IssueLabelFilter {
  id: IDComparator name: StringComparator team: NullableTeamFilter
  createdAt: DateComparator updatedAt: DateComparator
  and: [IssueLabelFilter!] or: [IssueLabelFilter!]
}
input IssueFilter {
  id: IssueIDComparator team: TeamFilter state: WorkflowStateFilter
  createdAt: DateComparator updatedAt: DateComparator
  and: [IssueFilter!] or: [IssueFilter!]
}

interface Node { id: ID! }

type Team implements Node {
  id: ID!
  key: String!
  name: String!
  displayName: String!
  description: String
  timezone: String!
  cyclesEnabled: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  archivedAt: DateTime
}
type TeamEdge { node: Team! cursor: String! }
type TeamConnection { edges: [TeamEdge!]! nodes: [Team!]! pageInfo: PageInfo! }

type User implements Node {
  id: ID!
  name: String!
  displayName: String!
  email: String!
  active: Boolean!
  admin: Boolean!
  app: Boolean!
  guest: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  archivedAt: DateTime
}
type UserEdge { node: User! cursor: String! }
type UserConnection { edges: [UserEdge!]! nodes: [User!]! pageInfo: PageInfo! }

type WorkflowState implements Node {
  id: ID!
  name: String!
  type: String!
  color: String!
  description: String
  position: Float!
  team: Team!
  createdAt: DateTime!
  updatedAt: DateTime!
  archivedAt: DateTime
}
type WorkflowStateEdge { node: WorkflowState! cursor: String! }
type WorkflowStateConnection {
  edges: [WorkflowStateEdge!]! nodes: [WorkflowState!]! pageInfo: PageInfo!
}

type Cycle implements Node {
  id: ID!
  number: Float!
  name: String
  description: String
  startsAt: DateTime!
  endsAt: DateTime!
  completedAt: DateTime
  isActive: Boolean!
  isFuture: Boolean!
  isPast: Boolean!
  team: Team!
  createdAt: DateTime!
  updatedAt: DateTime!
  archivedAt: DateTime
  autoArchivedAt: DateTime
}
type CycleEdge { node: Cycle! cursor: String! }
type CycleConnection { edges: [CycleEdge!]! nodes: [Cycle!]! pageInfo: PageInfo! }

type IssueLabel implements Node {
  id: ID!
  name: String!
  color: String!
  description: String
  isGroup: Boolean!
  parent: IssueLabel
  team: Team
  createdAt: DateTime!
  updatedAt: DateTime!
  archivedAt: DateTime
}
type IssueLabelEdge { node: IssueLabel! cursor: String! }
type IssueLabelConnection {
  edges: [IssueLabelEdge!]! nodes: [IssueLabel!]! pageInfo: PageInfo!
}

type IssueHistory implements Node {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  archivedAt: DateTime
  actorId: String
  fromStateId: String
  toStateId: String
  fromCycleId: String
  toCycleId: String
  fromEstimate: Float
  toEstimate: Float
  fromAssigneeId: String
  toAssigneeId: String
  fromTeamId: String
  toTeamId: String
  fromParentId: String
  toParentId: String
  fromProjectId: String
  toProjectId: String
  fromPriority: Float
  toPriority: Float
  fromTitle: String
  toTitle: String
  addedLabelIds: [String!]
  removedLabelIds: [String!]
  archived: Boolean
  trashed: Boolean
  autoArchived: Boolean
  autoClosed: Boolean
  updatedDescription: Boolean
  issue: Issue!
}
type IssueHistoryEdge { node: IssueHistory! cursor: String! }
type IssueHistoryConnection {
  edges: [IssueHistoryEdge!]! nodes: [IssueHistory!]! pageInfo: PageInfo!
}

type Issue implements Node {
  id: ID!
  identifier: String!
  number: Float!
  title: String!
  description: String
  url: String!
  branchName: String!
  priority: Float!
  priorityLabel: String!
  estimate: Float
  createdAt: DateTime!
  updatedAt: DateTime!
  startedAt: DateTime
  completedAt: DateTime
  canceledAt: DateTime
  archivedAt: DateTime
  autoArchivedAt: DateTime
  autoClosedAt: DateTime
  addedToCycleAt: DateTime
  trashed: Boolean
  labelIds: [String!]!
  previousIdentifiers: [String!]!
  team: Team!
  state: WorkflowState!
  assignee: User
  creator: User
  parent: Issue
  cycle: Cycle
  history(
    after: String, before: String, first: Int, includeArchived: Boolean, last: Int,
    orderBy: PaginationOrderBy
  ): IssueHistoryConnection!
}
type IssueEdge { node: Issue! cursor: String! }
type IssueConnection { edges: [IssueEdge!]! nodes: [Issue!]! pageInfo: PageInfo! }

type Query {
  viewer: User!
  issue(id: String!): Issue!
  team(id: String!): Team!
  teams(
    after: String, before: String, filter: TeamFilter, first: Int, includeArchived: Boolean,
    last: Int, orderBy: PaginationOrderBy
  ): TeamConnection!
  users(
    after: String, before: String, filter: UserFilter, first: Int, includeArchived: Boolean,
    includeDisabled: Boolean, last: Int, orderBy: PaginationOrderBy
  ): UserConnection!
  workflowStates(
    after: String, before: String, filter: WorkflowStateFilter, first: Int,
    includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy
  ): WorkflowStateConnection!
  cycles(
    after: String, before: String, filter: CycleFilter, first: Int, includeArchived: Boolean,
    last: Int, orderBy: PaginationOrderBy
  ): CycleConnection!
  issueLabels(
    after: String, before: String, filter: IssueLabelFilter, first: Int,
    includeArchived: Boolean, last: Int, orderBy: PaginationOrderBy
  ): IssueLabelConnection!
  issues(
    after: String, before: String, filter: IssueFilter, first: Int, includeArchived: Boolean,
    last: Int, orderBy: PaginationOrderBy
  ): IssueConnection!
}
"""

MAX_FIRST = 250
DEFAULT_FIRST = 50
MAX_COMPLEXITY = 10_000

# Export file per collection (`from_dir`/`to_dir`).
FILES: Mapping[str, str] = {
    "teams": "teams.json",
    "users": "users.json",
    "states": "workflow_states.json",
    "cycles": "cycles.json",
    "labels": "issue_labels.json",
    "issues": "issues.json",
}


class LinearApiError(Exception):
    """An error as Linear reports it: a message and `extensions.code`/`type`."""

    def __init__(self, message: str, code: str, kind: str, *, user_error: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.user_error = user_error

    def as_json(self) -> dict[str, Any]:
        return {
            "message": str(self),
            "extensions": {
                "code": self.code,
                "type": self.kind,
                "userError": self.user_error,
                "userPresentableMessage": str(self),
            },
        }


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def linear_time(value: datetime) -> str:
    """A timestamp as Linear writes it: UTC with milliseconds and Z."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


class LinearSimulator(Simulator):
    """Linear's GraphQL endpoint (`POST /graphql`) over a dataset of teams, users, states, cycles, labels and issues."""

    name = "linear"

    def __init__(
        self,
        *,
        token: str | None = None,
        latency: float = 0.0,
        requests_limit: int = 5_000,
        complexity_limit: int = 3_000_000,
        window_seconds: float = 3600.0,
        auth_status: int = 400,
        ratelimit_status: int = 400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(token=token, latency=latency)
        self.teams: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.cycles: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self.requests_limit = requests_limit
        self.complexity_limit = complexity_limit
        self.requests_remaining = requests_limit
        self.complexity_remaining = complexity_limit
        self.window_seconds = window_seconds
        self.auth_status = auth_status
        self.ratelimit_status = ratelimit_status
        self.clock = clock
        self.offset = 0.0  # seconds added to the clock (tests "wait" by advancing it)
        self._reset_at = self.now() + window_seconds
        self.stuck_cursor = False  # a buggy API: every issues page points back at itself
        self.complexities: list[int] = []  # estimated complexity of each executed query
        self.operations: list[str] = []  # operation name of each executed query
        self._budget = threading.Lock()
        self._schema = self._build()
        self.route("POST", "/graphql", self._graphql)

    # ------------------------------------------------------------------ data

    def add(self, collection: str, *items: dict[str, Any]) -> None:
        store: dict[str, dict[str, Any]] = getattr(self, collection)
        for item in items:
            store[item["id"]] = item

    @classmethod
    def from_dir(cls, path: Path) -> Self:
        """A simulator serving the JSON exports in `path` (see FILES); no token is checked."""
        sim = cls()
        for collection, filename in FILES.items():
            file = path / filename
            if file.is_file():
                sim.add(collection, *json.loads(file.read_text(encoding="utf-8")))
        return sim

    def to_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for collection, filename in FILES.items():
            items = list(getattr(self, collection).values())
            (path / filename).write_text(json.dumps(items, indent=1), encoding="utf-8")

    # ------------------------------------------------------------------ clock and budgets

    def now(self) -> float:
        return self.clock() + self.offset

    def advance(self, seconds: float) -> None:
        """Let time pass (tests pass this as the client's sleep)."""
        self.offset += seconds

    def _rate_headers(self, complexity: int) -> dict[str, str]:
        reset_ms = str(int(self._reset_at * 1000))
        return {
            "X-RateLimit-Requests-Limit": str(self.requests_limit),
            "X-RateLimit-Requests-Remaining": str(max(0, self.requests_remaining)),
            "X-RateLimit-Requests-Reset": reset_ms,
            "X-Complexity": str(complexity),
            "X-RateLimit-Complexity-Limit": str(self.complexity_limit),
            "X-RateLimit-Complexity-Remaining": str(max(0, self.complexity_remaining)),
            "X-RateLimit-Complexity-Reset": reset_ms,
        }

    def _refill(self) -> None:
        if self.now() >= self._reset_at:
            self.requests_remaining = self.requests_limit
            self.complexity_remaining = self.complexity_limit
            self._reset_at = self.now() + self.window_seconds

    # ------------------------------------------------------------------ auth

    def authorised(self, request: SimRequest) -> bool:
        if self.token is None:
            return True
        # Personal API keys travel bare; OAuth access tokens as Bearer.
        expected = self.token if self.token.startswith("lin_api_") else f"Bearer {self.token}"
        return request.headers.get("authorization", "") == expected

    def unauthorised(self, request: SimRequest) -> SimResponse:
        error = LinearApiError(
            "Authentication required, not authenticated",
            "AUTHENTICATION_ERROR",
            "authentication error",
        )
        return SimResponse(self.auth_status, {"errors": [error.as_json()]})

    # ------------------------------------------------------------------ endpoint

    def _graphql(self, request: SimRequest, match: object) -> SimResponse:
        try:
            body = request.json()
        except ValueError:
            return self._errors(
                400, [LinearApiError("Invalid JSON body", "INPUT_ERROR", "invalid input")]
            )
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return self._errors(400, [LinearApiError("Must provide query string.", "GRAPHQL_VALIDATION_FAILED", "graphql error")])  # fmt: skip
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            return self._errors(400, [LinearApiError(exc.message, "GRAPHQL_PARSE_FAILED", "graphql error")])  # fmt: skip
        problems = validate(self._schema, document)
        if problems:
            return self._errors(400, [LinearApiError(p.message, "GRAPHQL_VALIDATION_FAILED", "graphql error") for p in problems])  # fmt: skip
        variables = body.get("variables") or {}
        complexity = complexity_of(self._schema, document, variables)
        with self._budget:
            self._refill()
            if complexity > MAX_COMPLEXITY:
                return self._errors(400, [LinearApiError(
                    f"Query too complex: complexity {complexity} is above the maximum of {MAX_COMPLEXITY}",
                    "INPUT_ERROR", "invalid input")], complexity)  # fmt: skip
            if self.requests_remaining <= 0 or self.complexity_remaining < complexity:
                return self._errors(self.ratelimit_status, [LinearApiError(
                    "Rate limit exceeded", "RATELIMITED", "ratelimited")], complexity)  # fmt: skip
            self.requests_remaining -= 1
            self.complexity_remaining -= complexity
            self.complexities.append(complexity)
        operation = next(
            (d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None
        )
        self.operations.append(operation.name.value if operation and operation.name else "")
        result = graphql_sync(
            self._schema, body["query"], root_value=self, variable_values=variables
        )
        headers = self._rate_headers(complexity)
        if result.errors:
            errors = [
                e.original_error.as_json()
                if isinstance(e.original_error, LinearApiError)
                else {"message": e.message, "extensions": {"code": "INTERNAL_SERVER_ERROR", "type": "internal error"}}
                for e in result.errors
            ]  # fmt: skip
            for error, raw in zip(errors, result.errors, strict=True):
                if raw.path:
                    error["path"] = list(raw.path)
            return SimResponse(200, {"data": result.data, "errors": errors}, headers)
        return SimResponse(200, {"data": result.data}, headers)

    def _errors(
        self, status: int, errors: list[LinearApiError], complexity: int = 0
    ) -> SimResponse:
        return SimResponse(
            status, {"errors": [e.as_json() for e in errors]}, self._rate_headers(complexity)
        )

    # ------------------------------------------------------------------ schema and resolvers

    def _build(self) -> GraphQLSchema:
        schema = build_schema(SCHEMA)

        def ref(collection: str, key: str) -> Callable[..., Any]:
            def resolve(obj: Mapping[str, Any], info: Any) -> Any:
                value = obj.get(key)
                return getattr(self, collection).get(value) if value is not None else None

            return resolve

        def resolver(type_name: str, field: str, fn: Callable[..., Any]) -> None:
            graphql_type = schema.type_map[type_name]
            assert isinstance(graphql_type, GraphQLObjectType)
            graphql_type.fields[field].resolve = fn

        for type_name, field, collection, key in (
            ("WorkflowState", "team", "teams", "teamId"),
            ("Cycle", "team", "teams", "teamId"),
            ("IssueLabel", "team", "teams", "teamId"),
            ("IssueLabel", "parent", "labels", "parentId"),
            ("Issue", "team", "teams", "teamId"),
            ("Issue", "state", "states", "stateId"),
            ("Issue", "assignee", "users", "assigneeId"),
            ("Issue", "creator", "users", "creatorId"),
            ("Issue", "parent", "issues", "parentId"),
            ("Issue", "cycle", "cycles", "cycleId"),
            ("IssueHistory", "issue", "issues", "issueId"),
        ):
            resolver(type_name, field, ref(collection, key))
        resolver("Issue", "history", self._history)
        resolver("Query", "issue", lambda root, info, id: self._one("issues", id))
        resolver("Query", "team", lambda root, info, id: self._one("teams", id))
        resolver("Query", "viewer", lambda root, info: next(iter(self.users.values())))
        for field, collection in (
            ("teams", "teams"),
            ("users", "users"),
            ("workflowStates", "states"),
            ("cycles", "cycles"),
            ("issueLabels", "labels"),
        ):
            resolver("Query", field, self._lister(collection))
        resolver("Query", "issues", self._issues)
        for cycle_flag in ("isActive", "isFuture", "isPast"):
            resolver("Cycle", cycle_flag, self._cycle_flag(cycle_flag))
        return schema

    def _one(self, collection: str, id: str) -> dict[str, Any]:
        item = getattr(self, collection).get(id)
        if item is None:
            raise LinearApiError("Entity not found", "INVALID_INPUT", "invalid input")
        return item

    def _cycle_flag(self, flag: str) -> Callable[..., bool]:
        def resolve(obj: Mapping[str, Any], info: Any) -> bool:
            now = datetime.fromtimestamp(self.now(), UTC)
            starts, ends = _time(obj["startsAt"]), _time(obj["endsAt"])
            assert starts is not None and ends is not None
            return {"isActive": starts <= now < ends, "isFuture": now < starts, "isPast": ends <= now}[flag]  # fmt: skip

        return resolve

    def _lister(self, collection: str) -> Callable[..., dict[str, Any]]:
        def resolve(root: object, info: Any, **args: Any) -> dict[str, Any]:
            items = list(getattr(self, collection).values())
            if not args.get("includeArchived"):
                items = [i for i in items if not i.get("archivedAt")]
            if collection == "users" and not args.get("includeDisabled"):
                items = [i for i in items if i.get("active", True)]
            return self._connection(collection, items, args)

        return resolve

    def _issues(self, root: object, info: Any, **args: Any) -> dict[str, Any]:
        items = list(self.issues.values())
        if not args.get("includeArchived"):
            items = [i for i in items if not i.get("archivedAt")]
        connection = self._connection("issues", items, args)
        if self.stuck_cursor and connection["pageInfo"]["hasNextPage"]:
            connection["pageInfo"]["endCursor"] = args.get("after") or connection["pageInfo"]["endCursor"]  # fmt: skip
        return connection

    def _history(self, issue: Mapping[str, Any], info: Any, **args: Any) -> dict[str, Any]:
        entries = [{**entry, "issueId": issue["id"]} for entry in issue.get("history", [])]
        return self._connection("history", entries, args)

    def _connection(
        self, collection: str, items: list[dict[str, Any]], args: Mapping[str, Any]
    ) -> dict[str, Any]:
        if args.get("last") is not None or args.get("before") is not None:
            raise LinearApiError("The simulator pages forwards only (first/after)", "INPUT_ERROR", "invalid input")  # fmt: skip
        first = args.get("first")
        first = DEFAULT_FIRST if first is None else first
        if not 0 < first <= MAX_FIRST:
            raise LinearApiError(f"first must be between 1 and {MAX_FIRST}", "INPUT_ERROR", "invalid input")  # fmt: skip
        flt = args.get("filter")
        if flt:
            items = [i for i in items if self._matches(collection, i, flt)]
        order = args.get("orderBy") or "createdAt"
        # Linear lists newest first by the ordering field; the id breaks ties.
        items.sort(key=lambda i: (_time(i.get(order) or i["createdAt"]), i["id"]), reverse=True)
        start = 0
        after = args.get("after")
        if after is not None:
            ids = [i["id"] for i in items]
            if after not in ids:
                raise LinearApiError("Cursor is invalid or no longer valid", "INPUT_ERROR", "invalid input")  # fmt: skip
            start = ids.index(after) + 1
        page = items[start : start + first]
        has_next = start + first < len(items)
        return {
            "nodes": page,
            "edges": [{"node": i, "cursor": i["id"]} for i in page],
            "pageInfo": {
                "startCursor": page[0]["id"] if page else None,
                "endCursor": page[-1]["id"] if page else None,
                "hasNextPage": has_next,
                "hasPreviousPage": start > 0,
            },
        }

    # ------------------------------------------------------------------ filters

    _RELATIONS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "team": ("teams", "teamId"),
        "state": ("states", "stateId"),
    }

    def _matches(
        self, collection: str, item: Mapping[str, Any] | None, flt: Mapping[str, Any]
    ) -> bool:
        for field, condition in flt.items():
            if condition is None:
                continue
            if field == "and":
                if not all(self._matches(collection, item, c) for c in condition):
                    return False
            elif field == "or":
                if not any(self._matches(collection, item, c) for c in condition):
                    return False
            elif field == "null":
                if (item is None) != condition:
                    return False
            elif item is None:
                return False
            elif field in self._RELATIONS:
                target, key = self._RELATIONS[field]
                related = getattr(self, target).get(item.get(key)) if item.get(key) else None
                if not self._matches(target, related, condition):
                    return False
            elif not _compare(item.get(field), condition):
                return False
        return True


def _compare(value: Any, comparator: Mapping[str, Any]) -> bool:
    is_date = any(
        isinstance(v, str) and len(v) >= 10 and v[4:5] == "-" and v[7:8] == "-"
        for v in (value, *comparator.values())
        if not isinstance(v, list)
    )

    def norm(v: Any) -> Any:
        return _time(v) if is_date and isinstance(v, str) else v

    current = norm(value)
    for op, expected in comparator.items():
        if expected is None:
            continue
        if op in ("in", "nin"):
            hit = current in [norm(e) for e in expected]
            if hit != (op == "in"):
                return False
            continue
        wanted = norm(expected)
        if op == "eq" and current != wanted:
            return False
        if op == "neq" and current == wanted:
            return False
        if op in ("gt", "gte", "lt", "lte"):
            if current is None:
                return False
            if op == "gt" and not current > wanted:
                return False
            if op == "gte" and not current >= wanted:
                return False
            if op == "lt" and not current < wanted:
                return False
            if op == "lte" and not current <= wanted:
                return False
    return True


# ---------------------------------------------------------------------- complexity


def complexity_of(schema: GraphQLSchema, document: Any, variables: Mapping[str, Any]) -> int:
    """Linear's published rule of thumb: 0.1 point per scalar field, 1 per object, and a connection's
    nodes multiplied by its page size (`first`, default 50); rounded up."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    total = 0.0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.query_type
            assert root is not None
            total += _selection_cost(definition.selection_set, root, variables, fragments)
    return math.ceil(total)


def _fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterable[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            yield from _fields(fragments[selection.name.value].selection_set, fragments)


def _selection_cost(
    selection_set: SelectionSetNode,
    parent: Any,
    variables: Mapping[str, Any],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> float:
    total = 0.0
    for field in _fields(selection_set, fragments):
        name = field.name.value
        if name.startswith("__"):
            continue
        definition = parent.fields[name]
        target = get_named_type(definition.type)
        if field.selection_set is None:
            total += 0.1
            continue
        if target.name.endswith("Connection"):
            first = DEFAULT_FIRST
            for argument in field.arguments:
                if argument.name.value == "first":
                    value = value_from_ast_untyped(argument.value, dict(variables))
                    first = int(value) if value is not None else DEFAULT_FIRST
            inner = 0.0
            for child in _fields(field.selection_set, fragments):
                child_type = get_named_type(target.fields[child.name.value].type)  # type: ignore[union-attr]
                cost = (
                    _selection_cost(child.selection_set, child_type, variables, fragments) + 1
                    if child.selection_set is not None
                    else 0.1
                )
                inner += cost * first if child.name.value in ("nodes", "edges") else cost
            total += 1 + inner
        else:
            total += 1 + _selection_cost(field.selection_set, target, variables, fragments)
    return total
