"""GitHub simulator: REST v3 and GraphQL (a subset of GitHub's public schema, run by graphql-core) over REST-shaped data.

The dataset is what GitHub's REST API returns (pull requests, reviews, PR commits, issues,
milestones, releases, deployments with their statuses), one `SimRepo` per repository; tests and
the benchmark build it with `synthetic_repo`, the demo and `replay_dir` sources load it from
exports with `GitHubSimulator.from_dir`. GraphQL documents are parsed and validated against the
schema below (field names, argument names and types exactly as in GitHub's public schema), so a
misspelt field fails as it would on GitHub, then executed over the same data. GitHub's limits are
enforced: `first`/`last` required and at most 100 on connections, 500,000 nodes per query, point
costs and rate limits, keyset cursors that stay valid while data changes, REST `per_page` at most
100 with `Link` headers.
"""

import base64
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from ingestion.sim.base import SimRequest, SimResponse, Simulator, base_url_of, link_header

SCHEMA_SDL = """
# A subset of GitHub's public GraphQL schema: the types and fields SprintProof reads, with
# names, arguments and types exactly as GitHub publishes them.
type Query {
  node(id: ID!): Node
  rateLimit(dryRun: Boolean): RateLimit
  repository(followRenames: Boolean, name: String!, owner: String!): Repository
}

interface Node {
  id: ID!
}

interface Actor {
  avatarUrl(size: Int): URI!
  login: String!
  resourcePath: URI!
  url: URI!
}

type Bot implements Actor & Node {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  resourcePath: URI!
  url: URI!
}

type User implements Actor & Node {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  name: String
  resourcePath: URI!
  url: URI!
}

type Mannequin implements Actor & Node {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  resourcePath: URI!
  url: URI!
}

type Organization implements Actor & Node {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  name: String
  resourcePath: URI!
  url: URI!
}

type EnterpriseUserAccount implements Actor & Node {
  avatarUrl(size: Int): URI!
  id: ID!
  login: String!
  name: String
  resourcePath: URI!
  url: URI!
}

type Repository implements Node {
  databaseId: Int
  defaultBranchRef: Ref
  deployments(after: String, before: String, environments: [String!], first: Int, last: Int, orderBy: DeploymentOrder): DeploymentConnection!
  id: ID!
  isArchived: Boolean!
  isPrivate: Boolean!
  issues(after: String, before: String, filterBy: IssueFilters, first: Int, labels: [String!], last: Int, orderBy: IssueOrder, states: [IssueState!]): IssueConnection!
  milestones(after: String, before: String, first: Int, last: Int, orderBy: MilestoneOrder, query: String, states: [MilestoneState!]): MilestoneConnection
  name: String!
  nameWithOwner: String!
  pullRequests(after: String, baseRefName: String, before: String, first: Int, headRefName: String, labels: [String!], last: Int, orderBy: IssueOrder, states: [PullRequestState!]): PullRequestConnection!
  releases(after: String, before: String, first: Int, last: Int, orderBy: ReleaseOrder): ReleaseConnection!
  url: URI!
}

type Ref implements Node {
  id: ID!
  name: String!
  prefix: String!
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

type PullRequestConnection {
  nodes: [PullRequest]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequest implements Node {
  fullDatabaseId: BigInt
  additions: Int!
  author: Actor
  baseRefName: String!
  body: String!
  changedFiles: Int!
  closedAt: DateTime
  closingIssuesReferences(after: String, before: String, first: Int, last: Int, orderBy: IssueOrder, userLinkedOnly: Boolean): IssueConnection
  commits(after: String, before: String, first: Int, last: Int): PullRequestCommitConnection!
  createdAt: DateTime!
  databaseId: Int
  deletions: Int!
  headRefName: String!
  headRepository: Repository
  id: ID!
  isCrossRepository: Boolean!
  isDraft: Boolean!
  labels(after: String, before: String, first: Int, last: Int, orderBy: LabelOrder): LabelConnection
  mergeCommit: Commit
  mergedAt: DateTime
  mergedBy: Actor
  milestone: Milestone
  number: Int!
  repository: Repository!
  reviews(after: String, author: String, before: String, first: Int, last: Int, states: [PullRequestReviewState!]): PullRequestReviewConnection
  state: PullRequestState!
  title: String!
  updatedAt: DateTime!
  url: URI!
}

type PullRequestReviewConnection {
  nodes: [PullRequestReview]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestReview implements Node {
  fullDatabaseId: BigInt
  author: Actor
  databaseId: Int
  id: ID!
  state: PullRequestReviewState!
  submittedAt: DateTime
  url: URI!
}

type PullRequestCommitConnection {
  nodes: [PullRequestCommit]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestCommit implements Node {
  commit: Commit!
  id: ID!
}

type Commit implements Node {
  additions: Int!
  author: GitActor
  authoredDate: DateTime!
  committedDate: DateTime!
  committer: GitActor
  deletions: Int!
  id: ID!
  message: String!
  messageBody: String!
  messageHeadline: String!
  oid: GitObjectID!
  url: URI!
}

type GitActor {
  date: GitTimestamp
  email: String
  name: String
  user: User
}

type LabelConnection {
  nodes: [Label]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Label implements Node {
  id: ID!
  name: String!
}

type IssueConnection {
  nodes: [Issue]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Issue implements Node {
  fullDatabaseId: BigInt
  assignees(after: String, before: String, first: Int, last: Int): UserConnection!
  author: Actor
  body: String!
  closedAt: DateTime
  createdAt: DateTime!
  databaseId: Int
  id: ID!
  labels(after: String, before: String, first: Int, last: Int, orderBy: LabelOrder): LabelConnection
  milestone: Milestone
  number: Int!
  parent: Issue
  repository: Repository!
  state: IssueState!
  stateReason(enableDuplicate: Boolean): IssueStateReason
  title: String!
  updatedAt: DateTime!
  url: URI!
}

type UserConnection {
  nodes: [User]
  pageInfo: PageInfo!
  totalCount: Int!
}

type MilestoneConnection {
  nodes: [Milestone]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Milestone implements Node {
  closed: Boolean!
  closedAt: DateTime
  createdAt: DateTime!
  dueOn: DateTime
  id: ID!
  number: Int!
  state: MilestoneState!
  title: String!
  updatedAt: DateTime!
  url: URI!
}

type ReleaseConnection {
  nodes: [Release]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Release implements Node {
  author: User
  createdAt: DateTime!
  databaseId: Int
  id: ID!
  isDraft: Boolean!
  isPrerelease: Boolean!
  name: String
  publishedAt: DateTime
  tagCommit: Commit
  tagName: String!
  updatedAt: DateTime!
  url: URI!
}

type DeploymentConnection {
  nodes: [Deployment]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Deployment implements Node {
  commitOid: String!
  createdAt: DateTime!
  creator: Actor!
  databaseId: Int
  environment: String
  id: ID!
  latestStatus: DeploymentStatus
  ref: Ref
  state: DeploymentState
  statuses(after: String, before: String, first: Int, last: Int): DeploymentStatusConnection
  task: String
  updatedAt: DateTime!
}

type DeploymentStatusConnection {
  nodes: [DeploymentStatus]
  pageInfo: PageInfo!
  totalCount: Int!
}

type DeploymentStatus implements Node {
  createdAt: DateTime!
  environment: String
  id: ID!
  state: DeploymentStatusState!
  updatedAt: DateTime!
}

type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

scalar DateTime

enum DeploymentStatusState {
  ERROR
  FAILURE
  INACTIVE
  IN_PROGRESS
  PENDING
  QUEUED
  SUCCESS
  WAITING
}

enum DeploymentState {
  ABANDONED
  ACTIVE
  DESTROYED
  ERROR
  FAILURE
  INACTIVE
  IN_PROGRESS
  PENDING
  QUEUED
  SUCCESS
  WAITING
}

scalar URI

enum MilestoneState {
  CLOSED
  OPEN
}

enum IssueStateReason {
  COMPLETED
  DUPLICATE
  NOT_PLANNED
  REOPENED
}

enum IssueState {
  CLOSED
  OPEN
}

input LabelOrder {
  direction: OrderDirection!
  field: LabelOrderField!
}

enum LabelOrderField {
  CREATED_AT
  NAME
}

enum OrderDirection {
  ASC
  DESC
}

scalar BigInt

scalar GitTimestamp

scalar GitObjectID

enum PullRequestReviewState {
  APPROVED
  CHANGES_REQUESTED
  COMMENTED
  DISMISSED
  PENDING
}

enum PullRequestState {
  CLOSED
  MERGED
  OPEN
}

input IssueOrder {
  direction: OrderDirection!
  field: IssueOrderField!
}

enum IssueOrderField {
  COMMENTS
  CREATED_AT
  UPDATED_AT
}

input ReleaseOrder {
  direction: OrderDirection!
  field: ReleaseOrderField!
}

enum ReleaseOrderField {
  CREATED_AT
  NAME
}

input MilestoneOrder {
  direction: OrderDirection!
  field: MilestoneOrderField!
}

enum MilestoneOrderField {
  CREATED_AT
  DUE_DATE
  NUMBER
  UPDATED_AT
}

input IssueFilters {
  assignee: String
  createdBy: String
  labels: [String!]
  mentioned: String
  milestone: String
  milestoneNumber: String
  since: DateTime
  states: [IssueState!]
  viewerSubscribed: Boolean
}

input DeploymentOrder {
  direction: OrderDirection!
  field: DeploymentOrderField!
}

enum DeploymentOrderField {
  CREATED_AT
}
"""

SCHEMA = build_schema(SCHEMA_SDL)
NODE_LIMIT = 500_000
GRAPHQL_POINTS = 5000
REST_LIMIT = 5000
_CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+(?:([\w.-]+/[\w.-]+))?#(\d+)\b", re.IGNORECASE
)
_REST = r"(?:/api/v3)?"
_REPO = _REST + r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


class GraphQLFailure(Exception):
    """A GitHub GraphQL error with its `type` (NOT_FOUND, FORBIDDEN, RATE_LIMITED, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class SimRepo:
    """One repository's data in REST shapes (see GitHub's REST reference for each list)."""

    full_name: str
    id: int
    default_branch: str = "main"
    archived: bool = False
    private: bool = True
    pulls: list[dict[str, Any]] = field(default_factory=list)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(
        default_factory=list
    )  # `statuses` inlined, newest first

    def pull(self, number: int) -> dict[str, Any]:
        return next(p for p in self.pulls if p["number"] == number)

    def issue(self, number: int) -> dict[str, Any]:
        return next(i for i in self.issues if i["number"] == number)

    def rest(self) -> dict[str, Any]:
        owner, name = self.full_name.split("/", 1)
        return {
            "id": self.id, "node_id": node_id("R", self.full_name), "name": name,
            "full_name": self.full_name, "private": self.private,
            "owner": {"login": owner, "type": "Organization"},
            "html_url": f"https://github.com/{self.full_name}", "archived": self.archived,
            "default_branch": self.default_branch,
        }  # fmt: skip


def node_id(prefix: str, *key: Any) -> str:
    """A global id that says what it points to (GitHub's are opaque too; only the simulator reads these)."""
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return f"{prefix}_{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"


def _read_node_id(value: str) -> tuple[str, list[Any]] | None:
    prefix, _, rest = value.partition("_")
    try:
        key = json.loads(base64.urlsafe_b64decode(rest + "=" * (-len(rest) % 4)))
    except ValueError:
        return None
    return (prefix, key) if isinstance(key, list) else None


def _cursor(key: Any) -> str:
    return base64.b64encode(b"cursor:v2:" + json.dumps(key).encode()).decode()


def _uncursor(value: str, name: str) -> Any:
    try:
        raw = base64.b64decode(value, validate=True)
        if raw.startswith(b"cursor:v2:"):
            return json.loads(raw[len(b"cursor:v2:") :])
    except ValueError:
        pass
    raise GraphQLFailure("INVALID_CURSOR_ARGUMENTS", f"`{value}` does not appear to be a valid cursor.")  # fmt: skip


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubSimulator(Simulator):
    """GitHub.com (or Enterprise Server under /api/v3 and /api/graphql) over `SimRepo` data.

    `token`: the accepted personal access token (None: any request is accepted). `scopes`: the
    classic token's scopes (sent as X-OAuth-Scopes; without `repo`, private repositories answer
    INSUFFICIENT_SCOPES / 403). `permissions`: a fine-grained token's permissions (e.g.
    {"issues": "read"}); a stream it lacks answers FORBIDDEN. `app`: (app id, PEM public key,
    installation id) accepting installation-token exchanges; tokens live `token_ttl` seconds
    by `clock`. `repeat_cursor`: a connection name whose pages point back at themselves.
    """

    name = "github"

    def __init__(
        self,
        repos: Iterable[SimRepo] = (),
        *,
        token: str | None = None,
        latency: float = 0.0,
        scopes: Sequence[str] | None = None,
        permissions: Mapping[str, str] | None = None,
        app: tuple[int, str, int] | None = None,
        token_ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(token=token, latency=latency)
        self.repos: dict[str, SimRepo] = {r.full_name.lower(): r for r in repos}
        self.scopes = list(scopes) if scopes is not None else None
        self.permissions = dict(permissions) if permissions is not None else None
        self.app = app
        self.token_ttl = token_ttl
        self.clock = clock
        self.app_tokens: dict[str, float] = {}
        self.repeat_cursor: str | None = None
        self.exhaust_after: int | None = None  # GraphQL queries after which the points are spent
        self.graphql_remaining = GRAPHQL_POINTS
        self.rest_remaining = REST_LIMIT
        self.reset_at = clock() + 3600
        self.costs: list[int] = []
        self._count_lock = threading.Lock()
        self.route("POST", r"(?:/api)?/graphql", self._graphql)
        self.route("POST", _REST + r"/app/installations/(?P<id>\d+)/access_tokens", self._access_token)  # fmt: skip
        self.route("GET", _REST + r"/rate_limit", self._rate_limit)
        self.route("GET", _REPO, lambda r, m: self._rest(r, m, lambda repo: repo.rest()))
        self.route("GET", _REPO + r"/pulls", self._pulls)
        self.route("GET", _REPO + r"/pulls/(?P<number>\d+)", self._pull)
        self.route("GET", _REPO + r"/pulls/(?P<number>\d+)/reviews", self._pull_reviews)
        self.route("GET", _REPO + r"/pulls/(?P<number>\d+)/commits", self._pull_commits)
        self.route("GET", _REPO + r"/issues", self._issues)
        self.route("GET", _REPO + r"/milestones", self._milestones)
        self.route("GET", _REPO + r"/releases", self._releases)
        self.route("GET", _REPO + r"/deployments", self._deployments)
        self.route("GET", _REPO + r"/deployments/(?P<id>\d+)/statuses", self._statuses)

    # ------------------------------------------------------------------ data

    def add(self, repo: SimRepo) -> SimRepo:
        self.repos[repo.full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> SimRepo:
        return self.repos[full_name.lower()]

    @classmethod
    def from_dir(cls, path: Path | str, **options: Any) -> "GitHubSimulator":
        """Load `<path>/<repo>/{pulls,reviews,pr_commits,issues,milestones,releases,deployments}.json`
        (REST shapes, as `sprintproof demo` writes them) plus an optional `repo.json`."""
        sim = cls(**options)
        for folder in sorted(p for p in Path(path).iterdir() if p.is_dir()):

            def load(name: str, empty: Any, folder: Path = folder) -> Any:
                file = folder / f"{name}.json"
                return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else empty

            pulls = load("pulls", [])
            if not pulls and not (folder / "issues.json").is_file():
                continue
            meta = load("repo", {})
            lists = [pulls, load("issues", []), load("releases", []), load("deployments", [])]
            full_name = meta.get("full_name") or _full_name(lists) or f"local/{folder.name}"
            commits = {int(k): v for k, v in load("pr_commits", {}).items()}
            sim.add(SimRepo(
                full_name=full_name,
                id=int(meta.get("id") or 700_000_000 + sum(map(ord, full_name))),
                default_branch=meta.get("default_branch") or next((p["base"]["ref"] for p in pulls), "main"),
                archived=bool(meta.get("archived")), private=bool(meta.get("private", True)),
                pulls=pulls, reviews={int(k): v for k, v in load("reviews", {}).items()},
                commits=commits, issues=lists[1], milestones=load("milestones", []),
                releases=lists[2], deployments=lists[3],
            ))  # fmt: skip
        return sim

    # ------------------------------------------------------------------ auth

    def authorised(self, request: SimRequest) -> bool:
        if request.path.endswith("/access_tokens"):
            return True  # the handler checks the JWT
        header = request.headers.get("authorization", "")
        value = header.split(" ", 1)[1] if " " in header else ""
        expires = self.app_tokens.get(value)
        if expires is not None:
            return expires > self.clock()
        return super().authorised(request)

    def unauthorised(self, request: SimRequest) -> SimResponse:
        return SimResponse(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})  # fmt: skip

    def not_found(self, request: SimRequest) -> SimResponse:
        return SimResponse(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})  # fmt: skip

    def _access_token(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        header = request.headers.get("authorization", "")
        token = header.split(" ", 1)[1] if header.lower().startswith("bearer ") else ""
        if self.app is None:
            return self.not_found(request)
        app_id, public_key, installation = self.app
        try:
            claims = jwt.decode(token, public_key, algorithms=["RS256"], options={"require": ["exp", "iat", "iss"]})  # fmt: skip
        except jwt.PyJWTError:
            return SimResponse(401, {"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest", "status": "401"})  # fmt: skip
        if str(claims["iss"]) != str(app_id) or claims["exp"] - time.time() > 600:
            return SimResponse(401, {"message": "'Expiration time' claim ('exp') is too far in the future", "status": "401"})  # fmt: skip
        if int(match["id"]) != installation:
            return self.not_found(request)
        value = "ghs_" + secrets.token_urlsafe(27)
        expires = self.clock() + self.token_ttl
        self.app_tokens[value] = expires
        return SimResponse(201, {
            "token": value, "expires_at": _iso(expires),
            "permissions": {"metadata": "read", "pull_requests": "read", "issues": "read",
                            "contents": "read", "deployments": "read"},
            "repository_selection": "all",
        })  # fmt: skip

    def _headers(self, resource: str, remaining: int, limit: int) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": str(int(self.reset_at)), "X-RateLimit-Used": str(limit - max(remaining, 0)),
            "X-RateLimit-Resource": resource, "X-GitHub-Media-Type": "github.v3; format=json",
        }  # fmt: skip
        if self.scopes is not None:
            headers["X-OAuth-Scopes"] = ", ".join(self.scopes)
        return headers

    def _scope_missing(self, repo: SimRepo) -> bool:
        return self.scopes is not None and repo.private and "repo" not in self.scopes

    # ------------------------------------------------------------------ GraphQL

    def _graphql(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        try:
            body = request.json()
        except ValueError:
            return SimResponse(400, {"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"})  # fmt: skip
        query = body.get("query") if isinstance(body, dict) else None
        variables = (body.get("variables") if isinstance(body, dict) else None) or {}
        if not isinstance(query, str):
            return self._gql({"errors": [{"message": "A query attribute must be specified and must be a string."}]})  # fmt: skip
        try:
            document = parse(query)
        except GraphQLError as exc:
            return self._gql({"errors": [_error(exc, "PARSE_ERROR")]})
        problems = validate(SCHEMA, document)
        if problems:
            return self._gql({"errors": [_error(p, None) for p in problems]})
        try:
            nodes, requests = _measure(document, variables)
        except GraphQLFailure as exc:
            return self._gql({"errors": [{"type": exc.kind, "message": exc.message}]})
        if nodes > NODE_LIMIT:
            message = f"This query requests up to {nodes:,} possible nodes which exceeds the maximum limit of {NODE_LIMIT:,}."  # fmt: skip
            return self._gql({"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": message}]})
        cost = max(1, round(requests / 100))
        with self._count_lock:
            if self.graphql_remaining < cost:
                return self._gql(
                    {
                        "errors": [
                            {
                                "type": "RATE_LIMITED",
                                "message": "API rate limit already exceeded for user ID 1.",
                            }
                        ]
                    },
                    remaining=0,
                )
            self.graphql_remaining -= cost
            self.costs.append(cost)
            if len(self.costs) == self.exhaust_after:
                self.graphql_remaining = 0
            remaining = self.graphql_remaining
        view = _View(self, {"cost": cost, "remaining": remaining, "nodeCount": nodes})
        result = execute_sync(SCHEMA, document, root_value=view.root(), variable_values=variables)
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [_error(e, None) for e in result.errors]
        return self._gql(out, remaining=remaining)

    def _gql(self, body: dict[str, Any], remaining: int | None = None) -> SimResponse:
        left = self.graphql_remaining if remaining is None else remaining
        return SimResponse(200, body, self._headers("graphql", left, GRAPHQL_POINTS))

    # ------------------------------------------------------------------ REST

    def _rest(
        self,
        request: SimRequest,
        match: re.Match[str],
        answer: Callable[[SimRepo], Any],
        *,
        items: Callable[[SimRepo], list[Any]] | None = None,
        permission: str | None = None,
        max_items: int | None = None,
    ) -> SimResponse:
        repo = self.repos.get(f"{match['owner']}/{match['name']}".lower())
        with self._count_lock:
            self.rest_remaining -= 1
            remaining = self.rest_remaining
        headers = self._headers("core", remaining, REST_LIMIT)
        if repo is None:
            return SimResponse(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}, headers)  # fmt: skip
        if self._scope_missing(repo):
            return SimResponse(403, {"message": "Resource not accessible by personal access token", "status": "403"},
                               headers | {"X-Accepted-OAuth-Scopes": "repo"})  # fmt: skip
        if permission and self.permissions is not None and permission not in self.permissions:
            return SimResponse(403, {"message": "Resource not accessible by personal access token", "status": "403"},
                               headers | {"X-Accepted-GitHub-Permissions": f"{permission}=read"})  # fmt: skip
        try:
            body = answer(repo) if items is None else None
        except (StopIteration, KeyError):
            return SimResponse(404, {"message": "Not Found", "status": "404"}, headers)
        if items is not None:
            try:
                everything = items(repo)
            except (StopIteration, KeyError):
                return SimResponse(404, {"message": "Not Found", "status": "404"}, headers)
            if max_items is not None:
                everything = everything[:max_items]
            per_page = max(1, min(request.int_arg("per_page", 30), 100))
            page = max(1, request.int_arg("page", 1))
            last = max(1, -(-len(everything) // per_page))
            body = everything[(page - 1) * per_page : page * per_page]
            query = {k: v[0] for k, v in request.query.items() if k != "page"}
            link = link_header(base_url_of(request), request.path, query, page, last)
            if link:
                headers["Link"] = link
        return SimResponse(200, body, headers)

    def _pulls(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        state = request.arg("state", "open")
        sort = request.arg("sort", "created")
        descending = request.arg("direction", "desc") == "desc"
        key = {"created": "created_at", "updated": "updated_at"}.get(sort or "", "created_at")

        def items(repo: SimRepo) -> list[Any]:
            found = [p for p in repo.pulls if state == "all" or p["state"] == state]
            found.sort(key=lambda p: (p[key], p["number"]), reverse=descending)
            return [_rest_pull(repo, p, detail=False) for p in found]

        return self._rest(request, match, lambda r: None, items=items, permission="pull_requests")

    def _pull(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        number = int(match["number"])
        return self._rest(request, match, lambda r: _rest_pull(r, r.pull(number), detail=True), permission="pull_requests")  # fmt: skip

    def _pull_reviews(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        number = int(match["number"])
        return self._rest(request, match, lambda r: None, items=lambda r: (r.pull(number), r.reviews.get(number, []))[1], permission="pull_requests")  # fmt: skip

    def _pull_commits(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        number = int(match["number"])
        # GitHub lists at most 250 commits of a pull request.
        return self._rest(request, match, lambda r: None, items=lambda r: (r.pull(number), r.commits.get(number, []))[1],
                          permission="pull_requests", max_items=250)  # fmt: skip

    def _issues(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        state = request.arg("state", "open")
        since = request.arg("since")
        descending = request.arg("direction", "desc") == "desc"
        key = {"created": "created_at", "updated": "updated_at"}.get(request.arg("sort", "created") or "", "created_at")  # fmt: skip

        def items(repo: SimRepo) -> list[Any]:
            # REST lists pull requests as issues too (with a `pull_request` key).
            everything = list(repo.issues) + [_pull_as_issue(repo, p) for p in repo.pulls]
            found = [
                i for i in everything
                if (state == "all" or i["state"] == state) and (since is None or i["updated_at"] >= _rest_time(since))
            ]  # fmt: skip
            found.sort(key=lambda i: (i[key], i["number"]), reverse=descending)
            return found

        return self._rest(request, match, lambda r: None, items=items, permission="issues")

    def _milestones(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        state = request.arg("state", "open")
        return self._rest(request, match, lambda r: None, items=lambda r: [m for m in r.milestones if state == "all" or m["state"] == state], permission="issues")  # fmt: skip

    def _releases(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        return self._rest(request, match, lambda r: None, items=lambda r: sorted(r.releases, key=lambda x: (x["created_at"], x["id"]), reverse=True), permission="contents")  # fmt: skip

    def _deployments(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        environment = request.arg("environment")

        def items(repo: SimRepo) -> list[Any]:
            found = [
                d
                for d in repo.deployments
                if environment is None or d.get("environment") == environment
            ]
            found.sort(key=lambda d: (d["created_at"], d["id"]), reverse=True)
            return [{k: v for k, v in d.items() if k != "statuses"} for d in found]

        return self._rest(request, match, lambda r: None, items=items, permission="deployments")

    def _statuses(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        ident = int(match["id"])
        return self._rest(request, match, lambda r: None, items=lambda r: list(next(d for d in r.deployments if d["id"] == ident).get("statuses", [])), permission="deployments")  # fmt: skip

    def _rate_limit(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        core = {"limit": REST_LIMIT, "remaining": self.rest_remaining, "reset": int(self.reset_at), "used": REST_LIMIT - self.rest_remaining}  # fmt: skip
        graphql = {"limit": GRAPHQL_POINTS, "remaining": self.graphql_remaining, "reset": int(self.reset_at), "used": GRAPHQL_POINTS - self.graphql_remaining}  # fmt: skip
        return SimResponse(200, {"resources": {"core": core, "graphql": graphql}, "rate": core}, self._headers("core", self.rest_remaining, REST_LIMIT))  # fmt: skip

    def reset_budget(self) -> None:
        """A new rate-limit window (what waiting until X-RateLimit-Reset brings)."""
        with self._count_lock:
            self.graphql_remaining, self.rest_remaining = GRAPHQL_POINTS, REST_LIMIT
            self.reset_at = self.clock() + 3600


def _full_name(lists: Iterable[list[dict[str, Any]]]) -> str | None:
    for items in lists:
        for item in items[:1]:
            found = re.search(r"/repos/([^/]+/[^/]+)/", str(item.get("url", ""))) or re.search(
                r"github\.com/([^/]+/[^/]+)/", str(item.get("html_url", ""))
            )
            if found:
                return found.group(1)
    return None


def _rest_time(value: str) -> str:
    parsed = datetime.fromisoformat(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rest_pull(repo: SimRepo, pull: Mapping[str, Any], *, detail: bool) -> dict[str, Any]:
    out = dict(pull)
    out.setdefault("node_id", node_id("PR", repo.full_name, pull["number"]))
    detail_keys = (
        "additions",
        "deletions",
        "changed_files",
        "commits",
        "merged_by",
        "merged",
        "comments",
    )
    if detail:
        commits = repo.commits.get(pull["number"], [])
        out.setdefault("commits", len(commits))
        out.setdefault(
            "additions", sum((c.get("stats") or {}).get("additions", 0) for c in commits)
        )
        out.setdefault(
            "deletions", sum((c.get("stats") or {}).get("deletions", 0) for c in commits)
        )
        out.setdefault("changed_files", 0)
        out.setdefault("merged_by", None)
        out["merged"] = pull.get("merged_at") is not None
    else:
        for key in detail_keys:
            out.pop(key, None)
    return out


def _pull_as_issue(repo: SimRepo, pull: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("url", "id", "html_url", "number", "state", "title", "user", "labels", "created_at",
            "updated_at", "closed_at", "body", "assignee", "assignees", "milestone")  # fmt: skip
    out = {k: pull.get(k) for k in keys}
    out["pull_request"] = {"url": pull.get("url"), "merged_at": pull.get("merged_at")}
    return out


def _error(error: GraphQLError, kind: str | None) -> dict[str, Any]:
    original = error.original_error
    out: dict[str, Any] = {}
    if isinstance(original, GraphQLFailure):
        out["type"] = original.kind
    elif kind:
        out["type"] = kind
    if error.path:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    out["message"] = original.message if isinstance(original, GraphQLFailure) else error.message
    return out


def _measure(document: Any, variables: Mapping[str, Any]) -> tuple[int, int]:
    """GitHub's static limits: (possible nodes, connection requests); refuses connections without
    `first`/`last` or with more than 100."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}  # fmt: skip
    totals = [0, 0]

    def walk(selection_set: SelectionSetNode | None, parent: Any, multiplier: int) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__"):
                    continue
                definition = getattr(parent, "fields", {}).get(name)
                if definition is None:
                    continue
                target = get_named_type(definition.type)
                size = None
                if target.name.endswith("Connection"):
                    args = {a.name.value: value_from_ast_untyped(a.value, dict(variables)) for a in selection.arguments}  # fmt: skip
                    size = args.get("first") if args.get("first") is not None else args.get("last")
                    if size is None:
                        raise GraphQLFailure("MISSING_PAGINATION_BOUNDARIES", f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.")  # fmt: skip
                    if not 0 <= int(size) <= 100:
                        label = "first" if args.get("first") is not None else "last"
                        raise GraphQLFailure("EXCESSIVE_PAGINATION", f"Requesting {size} records on the `{name}` connection exceeds the `{label}` limit of 100 records.")  # fmt: skip
                    totals[1] += multiplier
                    totals[0] += multiplier * int(size)
                    walk(selection.selection_set, target, multiplier * int(size))
                else:
                    walk(selection.selection_set, target, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                condition = SCHEMA.get_type(selection.type_condition.name.value) if selection.type_condition else parent  # fmt: skip
                walk(selection.selection_set, condition, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(fragment.selection_set, SCHEMA.get_type(fragment.type_condition.name.value), multiplier)  # fmt: skip

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, SCHEMA.query_type, 1)
    return totals[0], totals[1]


# GitHub's fine-grained permission behind each repository connection.
_PERMISSION = {"pullRequests": "pull_requests", "issues": "issues", "milestones": "issues",
               "releases": "contents", "deployments": "deployments"}  # fmt: skip


class _View:
    """One GraphQL request's view of the data: REST records turned into GraphQL objects on demand."""

    def __init__(self, sim: GitHubSimulator, rate: dict[str, int]) -> None:
        self.sim = sim
        self.rate = rate

    def root(self) -> dict[str, Any]:
        return {"repository": self.repository, "node": self.node, "rateLimit": self.rate_limit}

    def rate_limit(self, info: Any, dryRun: bool | None = None) -> dict[str, Any]:
        used = GRAPHQL_POINTS - self.rate["remaining"]
        return {"cost": self.rate["cost"], "remaining": self.rate["remaining"], "limit": GRAPHQL_POINTS,
                "used": used, "nodeCount": self.rate["nodeCount"], "resetAt": _iso(self.sim.reset_at)}  # fmt: skip

    def repository(
        self, info: Any, owner: str, name: str, followRenames: bool | None = None
    ) -> Any:
        repo = self.sim.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise GraphQLFailure("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")  # fmt: skip
        if self.sim._scope_missing(repo):
            granted = ", ".join(f"'{s}'" for s in self.sim.scopes or [])
            raise GraphQLFailure(
                "INSUFFICIENT_SCOPES",
                "Your token has not been granted the required scopes to execute this query. The "
                f"'repository' field requires one of the following scopes: ['repo'], but your token "
                f"has only been granted the: [{granted}] scopes. Please modify your token's scopes at: "
                "https://github.com/settings/tokens.",
            )
        return self.repo(repo)

    def node(self, info: Any, id: str) -> Any:
        read = _read_node_id(id)
        repo = self.sim.repos.get(str(read[1][0]).lower()) if read and read[1] else None
        try:
            if read is not None and repo is not None:
                prefix, key = read
                if prefix == "PR":
                    return self.pull(repo, repo.pull(int(key[1])))
                if prefix == "I":
                    return self.issue(repo, repo.issue(int(key[1])))
                if prefix == "DE":
                    return self.deployment(repo, next(d for d in repo.deployments if d["id"] == key[1]))  # fmt: skip
                if prefix == "R":
                    return self.repo(repo)
        except StopIteration:
            pass
        raise GraphQLFailure("NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'")  # fmt: skip

    # ------------------------------------------------------------------ connections

    def page(
        self,
        name: str,
        args: Mapping[str, Any],
        records: Sequence[Any],
        convert: Callable[[Any], Any],
        key: Callable[[Any], Any] | None = None,
        descending: bool = False,
    ) -> dict[str, Any]:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise GraphQLFailure("MISSING_PAGINATION_BOUNDARIES", f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.")  # fmt: skip
        keys = [list(key(r)) for r in records] if key else list(range(len(records)))

        def beyond(k: Any, bound: Any) -> bool:
            return k < bound if descending else k > bound

        start, end = 0, len(records)
        after, before = args.get("after"), args.get("before")
        if after:
            bound = _uncursor(after, name)
            start = next((i for i, k in enumerate(keys) if beyond(k, bound)), len(keys))
        if before:
            bound = _uncursor(before, name)
            end = next((i for i, k in enumerate(keys) if not beyond(bound, k)), len(keys))
        end = max(start, end)
        lo, hi = start, end
        if first is not None:
            hi = min(hi, lo + first)
        if last is not None:
            lo = max(lo, hi - last)
        cursors = [_cursor(keys[i]) for i in range(lo, hi)]
        end_cursor = cursors[-1] if cursors else None
        if self.sim.repeat_cursor == name and after:
            end_cursor = after  # a buggy page that points back at itself
        return {
            "nodes": [convert(records[i]) for i in range(lo, hi)],
            "totalCount": len(records),
            "pageInfo": {
                "hasNextPage": hi < end,
                "hasPreviousPage": lo > 0,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": end_cursor,
            },
        }

    def _allowed(self, connection: str) -> None:
        permission = _PERMISSION.get(connection)
        if (
            permission
            and self.sim.permissions is not None
            and permission not in self.sim.permissions
        ):
            raise GraphQLFailure("FORBIDDEN", "Resource not accessible by personal access token")

    # ------------------------------------------------------------------ objects

    def repo(self, repo: SimRepo) -> dict[str, Any]:
        _owner, name = repo.full_name.split("/", 1)

        def ordered(
            connection: str,
            records: list[dict[str, Any]],
            convert: Callable[[Any], Any],
            default: tuple[str, str],
            fields: Mapping[str, str],
        ) -> Callable[..., Any]:
            def resolve(info: Any, **args: Any) -> Any:
                self._allowed(connection)
                order = args.get("orderBy") or {"field": default[0], "direction": default[1]}
                column = fields[order["field"]]
                wanted = self._filter(connection, records, args)
                descending = order["direction"] == "DESC"
                wanted.sort(key=lambda r: _sort_key(r, column), reverse=descending)
                return self.page(connection, args, wanted, convert,
                                 key=lambda r: _sort_key(r, column), descending=descending)  # fmt: skip

            return resolve

        issue_order = {
            "CREATED_AT": "created_at",
            "UPDATED_AT": "updated_at",
            "COMMENTS": "comments",
        }
        return {
            "__typename": "Repository",
            "id": node_id("R", repo.full_name),
            "databaseId": repo.id,
            "name": name,
            "nameWithOwner": repo.full_name,
            "isArchived": repo.archived,
            "isPrivate": repo.private,
            "url": f"https://github.com/{repo.full_name}",
            "defaultBranchRef": self.ref(repo, repo.default_branch),
            "pullRequests": ordered(
                "pullRequests",
                repo.pulls,
                lambda p: self.pull(repo, p),
                ("CREATED_AT", "ASC"),
                issue_order,
            ),
            "issues": ordered(
                "issues",
                repo.issues,
                lambda i: self.issue(repo, i),
                ("CREATED_AT", "ASC"),
                issue_order,
            ),
            "milestones": ordered(
                "milestones",
                repo.milestones,
                self.milestone,
                ("NUMBER", "ASC"),
                {
                    "NUMBER": "number",
                    "DUE_DATE": "due_on",
                    "CREATED_AT": "created_at",
                    "UPDATED_AT": "updated_at",
                },
            ),
            "releases": ordered(
                "releases",
                repo.releases,
                lambda r: self.release(repo, r),
                ("CREATED_AT", "DESC"),
                {"CREATED_AT": "created_at", "NAME": "name"},
            ),
            "deployments": ordered(
                "deployments",
                repo.deployments,
                lambda d: self.deployment(repo, d),
                ("CREATED_AT", "ASC"),
                {"CREATED_AT": "created_at"},
            ),
        }

    def _filter(self, connection: str, records: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
        found = [
            r for r in records if "pull_request" not in r
        ]  # REST issue lists carry PRs; GraphQL's do not
        states = args.get("states")
        filters = args.get("filterBy") or {}
        states = states or filters.get("states")
        if states:
            if connection == "pullRequests":
                found = [r for r in found if _pr_state(r) in states]
            else:
                found = [r for r in found if str(r.get("state", "")).upper() in states]
        since = filters.get("since")
        if since:
            floor = _rest_time(str(since))
            found = [r for r in found if r.get("updated_at", "") >= floor]
        labels = args.get("labels") or filters.get("labels")
        if labels:
            found = [r for r in found if {x["name"] for x in r.get("labels", [])} & set(labels)]
        environments = args.get("environments")
        if environments:
            found = [r for r in found if r.get("environment") in environments]
        return found

    def ref(self, repo: SimRepo, name: str | None) -> Any:
        if not name:
            return None
        prefix = "refs/tags/" if re.fullmatch(r"v?\d+(\.\d+)+", name) else "refs/heads/"
        return {"id": node_id("REF", repo.full_name, name), "name": name, "prefix": prefix}

    def actor(self, user: Mapping[str, Any] | None, *, users_only: bool = False) -> Any:
        if not user:
            return None
        kind = user.get("type", "User")
        login = str(user["login"])
        typename = {"Bot": "Bot", "Organization": "Organization", "Mannequin": "Mannequin"}.get(kind, "User")  # fmt: skip
        if typename == "Bot":
            url = str(user.get("html_url", ""))
            # GraphQL names a bot by its app's slug, without REST's "[bot]" suffix.
            login = url.rsplit("/apps/", 1)[1] if "/apps/" in url else login.removesuffix("[bot]")
        if users_only and typename != "User":
            return None
        return {
            "__typename": typename, "id": node_id(typename[:3].upper(), user.get("id")),
            "databaseId": user.get("id"), "login": login, "name": user.get("name"),
            "url": f"https://github.com/{login}", "resourcePath": f"/{login}",
            "avatarUrl": f"https://avatars.githubusercontent.com/u/{user.get('id')}?v=4",
        }  # fmt: skip

    def pull(self, repo: SimRepo, p: Mapping[str, Any]) -> dict[str, Any]:
        number = p["number"]
        commits = repo.commits.get(number, [])
        reviews = repo.reviews.get(number, [])
        head = p.get("head") or {}
        head_repo = (head.get("repo") or {}).get("full_name")
        merged = p.get("merged_at") is not None
        closing = self._closing(repo, p.get("body") or "")
        return {
            "__typename": "PullRequest",
            "id": node_id("PR", repo.full_name, number),
            "databaseId": p["id"],
            "fullDatabaseId": str(p["id"]),
            "number": number,
            "title": p["title"],
            "body": p.get("body") or "",
            "state": _pr_state(p),
            "isDraft": bool(p.get("draft")),
            "createdAt": p["created_at"],
            "updatedAt": p["updated_at"],
            "mergedAt": p.get("merged_at"),
            "closedAt": p.get("closed_at"),
            "baseRefName": (p.get("base") or {}).get("ref", repo.default_branch),
            "headRefName": head.get("ref", ""),
            "headRepository": {"nameWithOwner": head_repo, "id": node_id("R", head_repo)}
            if head_repo
            else None,
            "isCrossRepository": head_repo != repo.full_name,
            "additions": p.get(
                "additions", sum((c.get("stats") or {}).get("additions", 0) for c in commits)
            ),
            "deletions": p.get(
                "deletions", sum((c.get("stats") or {}).get("deletions", 0) for c in commits)
            ),
            "changedFiles": p.get("changed_files", 0),
            "author": self.actor(p.get("user")),
            "mergedBy": self.actor(p.get("merged_by")),
            "mergeCommit": {"oid": p["merge_commit_sha"], "id": node_id("C", p["merge_commit_sha"])}
            if merged and p.get("merge_commit_sha")
            else None,
            "milestone": self.milestone(p["milestone"]) if p.get("milestone") else None,
            "url": p.get("html_url") or f"https://github.com/{repo.full_name}/pull/{number}",
            "repository": lambda info: self.repo(repo),
            "labels": lambda info, **a: self.page("labels", a, p.get("labels") or [], self.label),
            "closingIssuesReferences": lambda info, **a: self.page(
                "closingIssuesReferences", a, closing, lambda x: self.issue(*x)
            ),
            "reviews": lambda info, **a: self.page(
                "reviews", a, reviews, lambda r: self.review(repo, number, r)
            ),
            "commits": lambda info, **a: self.page(
                "commits",
                a,
                commits,
                lambda c: {"id": node_id("PRC", c["sha"]), "commit": self.commit(c)},
            ),
        }

    def _closing(self, repo: SimRepo, body: str) -> list[tuple[SimRepo, dict[str, Any]]]:
        found: list[tuple[SimRepo, dict[str, Any]]] = []
        for match in _CLOSING.finditer(body):
            target = self.sim.repos.get((match.group(1) or repo.full_name).lower())
            number = int(match.group(2))
            issue = (
                next((i for i in target.issues if i["number"] == number), None) if target else None
            )
            if target and issue is not None and (target, issue) not in found:
                found.append((target, issue))
        return found

    def label(self, label: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": node_id("LA", label.get("id"), label["name"]), "name": label["name"]}

    def review(self, repo: SimRepo, number: int, r: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "__typename": "PullRequestReview", "id": node_id("PRR", r["id"]), "databaseId": r["id"],
            "fullDatabaseId": str(r["id"]),
            "state": r["state"], "submittedAt": r.get("submitted_at"), "author": self.actor(r.get("user")),
            "url": r.get("html_url") or f"https://github.com/{repo.full_name}/pull/{number}#pullrequestreview-{r['id']}",
        }  # fmt: skip

    def commit(self, c: Mapping[str, Any]) -> dict[str, Any]:
        data = c.get("commit") or {}
        message = data.get("message", "")
        headline, _, rest = message.partition("\n")
        stats = c.get("stats") or {}

        def actor(part: str) -> Any:
            who = data.get(part) or {}
            return {"name": who.get("name"), "email": who.get("email"), "date": who.get("date"),
                    "user": self.actor(c.get(part), users_only=True)}  # fmt: skip

        return {
            "__typename": "Commit", "id": node_id("C", c["sha"]), "oid": c["sha"], "message": message,
            "messageHeadline": headline, "messageBody": rest.strip("\n"),
            "authoredDate": (data.get("author") or {}).get("date"),
            "committedDate": (data.get("committer") or {}).get("date"),
            "author": actor("author"), "committer": actor("committer"),
            "additions": stats.get("additions", 0), "deletions": stats.get("deletions", 0),
            "url": c.get("html_url", ""),
        }  # fmt: skip

    def issue(self, repo: SimRepo, i: Mapping[str, Any]) -> dict[str, Any]:
        reason = str(i.get("state_reason") or "").upper() or None

        def state_reason(info: Any, enableDuplicate: bool | None = None) -> Any:
            return "NOT_PLANNED" if reason == "DUPLICATE" and not enableDuplicate else reason

        parent = i.get("parent")
        return {
            "__typename": "Issue", "id": node_id("I", repo.full_name, i["number"]), "databaseId": i["id"],
            "fullDatabaseId": str(i["id"]),
            "number": i["number"], "title": i["title"], "body": i.get("body") or "",
            "state": str(i["state"]).upper(), "stateReason": state_reason,
            "createdAt": i["created_at"], "updatedAt": i["updated_at"], "closedAt": i.get("closed_at"),
            "author": self.actor(i.get("user")),
            "milestone": self.milestone(i["milestone"]) if i.get("milestone") else None,
            "parent": self.issue(repo, repo.issue(parent)) if isinstance(parent, int) else None,
            "url": i.get("html_url") or f"https://github.com/{repo.full_name}/issues/{i['number']}",
            "repository": lambda info: self.repo(repo),
            "labels": lambda info, **a: self.page("labels", a, i.get("labels") or [], self.label),
            "assignees": lambda info, **a: self.page("assignees", a, i.get("assignees") or [], self.actor),
        }  # fmt: skip

    def milestone(self, m: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": node_id("MI", m["id"]), "number": m["number"], "title": m["title"],
            "state": str(m["state"]).upper(), "closed": m["state"] == "closed",
            "dueOn": m.get("due_on"), "createdAt": m["created_at"], "updatedAt": m["updated_at"],
            "closedAt": m.get("closed_at"), "url": m.get("html_url", ""),
        }  # fmt: skip

    def release(self, repo: SimRepo, r: Mapping[str, Any]) -> dict[str, Any]:
        target = str(r.get("target_commitish") or "")
        oid = r.get("target_sha") or (target if re.fullmatch(r"[0-9a-f]{40}", target) else None)
        return {
            "id": node_id("RE", r["id"]), "databaseId": r["id"], "tagName": r["tag_name"],
            "name": r.get("name"), "isDraft": bool(r.get("draft")), "isPrerelease": bool(r.get("prerelease")),
            "createdAt": r["created_at"], "publishedAt": r.get("published_at"),
            "updatedAt": r.get("updated_at") or r.get("published_at") or r["created_at"],
            "tagCommit": {"oid": oid, "id": node_id("C", oid)} if oid else None,
            "author": self.actor(r.get("author"), users_only=True),
            "url": r.get("html_url") or f"https://github.com/{repo.full_name}/releases/tag/{r['tag_name']}",
        }  # fmt: skip

    def deployment(self, repo: SimRepo, d: Mapping[str, Any]) -> dict[str, Any]:
        statuses = list(d.get("statuses") or [])
        newest = max(statuses, key=lambda s: (s["created_at"], s["id"])) if statuses else None
        state = {"SUCCESS": "ACTIVE"}.get(str(newest["state"]).upper(), str(newest["state"]).upper()) if newest else "PENDING"  # fmt: skip
        return {
            "id": node_id("DE", repo.full_name, d["id"]), "databaseId": d["id"], "commitOid": d.get("sha") or "",
            "environment": d.get("environment"), "task": d.get("task"), "createdAt": d["created_at"],
            "updatedAt": max([d.get("updated_at") or d["created_at"], *(s["created_at"] for s in statuses)]),
            "ref": self.ref(repo, d.get("ref")), "creator": self.actor(d.get("creator")), "state": state,
            "latestStatus": self.status(newest) if newest else None,
            "statuses": lambda info, **a: self.page("statuses", a, statuses, self.status),
        }  # fmt: skip

    def status(self, s: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": node_id("DES", s["id"]), "state": str(s["state"]).upper(), "createdAt": s["created_at"],
                "updatedAt": s.get("updated_at") or s["created_at"], "environment": s.get("environment")}  # fmt: skip


def _sort_key(record: Mapping[str, Any], column: str) -> tuple[str, int]:
    value = record.get(column)
    text = f"{value:012d}" if isinstance(value, int) else str(value or "")
    return text, int(record["id"])


def _pr_state(p: Mapping[str, Any]) -> str:
    if p.get("merged_at"):
        return "MERGED"
    return "CLOSED" if p.get("state") == "closed" else "OPEN"


# ---------------------------------------------------------------------------------------------
# Synthetic data for tests and the benchmark

_PEOPLE = (("ana-dev", 1001, "Ana Silva"), ("bo-chen", 1002, "Bo Chen"), ("cy-ortiz", 1003, "Cy Ortiz"),
           ("dee-k", 1004, "Dee Kaur"), ("eli-m", 1005, "Eli Moss"))  # fmt: skip
_BOTS = {
    "dependabot": {"login": "dependabot[bot]", "id": 49699333, "type": "Bot", "html_url": "https://github.com/apps/dependabot"},
    "copilot": {"login": "Copilot", "id": 198982749, "type": "Bot", "html_url": "https://github.com/apps/copilot-swe-agent"},
    "coderabbit": {"login": "coderabbitai[bot]", "id": 136622811, "type": "Bot", "html_url": "https://github.com/apps/coderabbitai"},
}  # fmt: skip


def rest_user(login: str, ident: int) -> dict[str, Any]:
    return {"login": login, "id": ident, "type": "User", "site_admin": False, "html_url": f"https://github.com/{login}"}  # fmt: skip


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def synthetic_repo(
    full_name: str = "acme/web",
    *,
    pulls: int = 20,
    issues: int = 10,
    milestones: int = 3,
    releases: int = 4,
    deployments: int = 6,
    big_pulls: Sequence[int] = (),
    commits_per_pull: tuple[int, int] = (1, 10),
    reviews_per_pull: tuple[int, int] = (0, 4),
    start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    seed: int = 1,
    marker: str = "",
) -> SimRepo:
    """A repository with realistic pull requests (reviews, 1-10 commits, bots, agents, trailers,
    closing references), issues, milestones, releases and deployments. `big_pulls` are numbers of
    PRs given 101-260 commits. `marker` is put in every body and commit message body."""
    rng = random.Random(seed)
    repo = SimRepo(full_name=full_name, id=500_000 + seed)
    api = f"https://api.github.com/repos/{full_name}"
    people = [rest_user(login, ident) | {"name": name} for login, ident, name in _PEOPLE]
    for n in range(1, milestones + 1):
        created = start + timedelta(days=14 * (n - 1) - 3)
        due = start + timedelta(days=14 * n)
        closed = n < milestones
        repo.milestones.append({
            "url": f"{api}/milestones/{n}", "id": 9_000_000 + seed * 1000 + n, "number": n,
            "title": f"Sprint {n}", "description": f"Goals {marker}", "state": "closed" if closed else "open",
            "created_at": _stamp(created), "updated_at": _stamp(due if closed else created),
            "due_on": _stamp(due), "closed_at": _stamp(due) if closed else None,
        })  # fmt: skip
    labels_for = {"bug": "bug", "feature": "enhancement", "task": "chore"}
    for n in range(1, issues + 1):
        created = start + timedelta(hours=5 * n)
        kind = rng.choice(["bug", "feature", "task", "none"])
        closed = rng.random() < 0.5
        reason = rng.choice(["completed", "completed", "not_planned"]) if closed else None
        milestone = (
            repo.milestones[(n - 1) % len(repo.milestones)] if repo.milestones and n % 2 else None
        )
        updated = created + timedelta(hours=rng.randint(1, 48))
        repo.issues.append({
            "url": f"{api}/issues/{n}", "id": 7_000_000 + seed * 10_000 + n, "number": n,
            "title": f"Issue {n}: {kind}", "user": rng.choice(people),
            "labels": [{"id": 1, "name": labels_for[kind]}] if kind in labels_for else [],
            "state": "closed" if closed else "open", "state_reason": reason,
            "assignee": None, "assignees": [rng.choice(people)] if rng.random() < 0.6 else [],
            "milestone": milestone, "comments": 0,
            "created_at": _stamp(created), "updated_at": _stamp(updated),
            "closed_at": _stamp(updated) if closed else None,
            "body": f"Steps to reproduce {n}. {marker}",
        })  # fmt: skip
    sha = iter(f"{rng.getrandbits(160):040x}" for _ in range(10**9))
    for n in range(1, pulls + 1):
        created = start + timedelta(hours=3 * n)
        roll = rng.random()
        human = rng.choice(people)
        if roll < 0.08:
            author, branch, title = (
                _BOTS["dependabot"],
                f"dependabot/npm_and_yarn/lib-{n}",
                f"Bump lib from 1.{n} to 1.{n + 1}",
            )
            body = f"Bumps lib. {marker}"
        elif roll < 0.16:
            author, branch, title = _BOTS["copilot"], f"copilot/fix-{n}", f"Fix flaky test {n}"
            body = f"Fixes the flaky test.\n\n<!-- START COPILOT CODING AGENT SUFFIX -->\n{marker}"
        else:
            author, branch, title = human, f"feature/{n}-work", f"Feature {n}"
            body = f"## Summary\nWork {n}. {marker}"
        if issues and rng.random() < 0.3:
            body += f"\n\nFixes #{rng.randint(1, issues)}"
        count = rng.randint(260, 260) if n in big_pulls else rng.randint(*commits_per_pull)
        commits = []
        t = created - timedelta(hours=2)
        for i in range(count):
            t += timedelta(minutes=rng.randint(1, 30)) if count < 100 else timedelta(seconds=20)
            trailers = ""
            who = author if author["type"] == "User" else human
            name, email = who.get("name", who["login"]), f"{who['login']}@example.com"
            if author is _BOTS["copilot"]:
                name, email = "copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"
            elif author["type"] == "User" and rng.random() < 0.25:
                trailers = "\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>"
            message = f"Change {n}.{i}\n\nDetails {marker}{trailers}"
            commits.append({
                "sha": next(sha),
                "commit": {"author": {"name": name, "email": email, "date": _stamp(t)},
                           "committer": {"name": name, "email": email, "date": _stamp(t)},
                           "message": message},
                "author": who if who["type"] == "User" and author is not _BOTS["copilot"] else None,
                "committer": None, "parents": [], "stats": {"additions": rng.randint(1, 80), "deletions": rng.randint(0, 30)},
            })  # fmt: skip
        repo.commits[n] = commits
        outcome = rng.random()
        end = t + timedelta(hours=rng.randint(1, 30))
        merged = end if outcome < 0.75 else None
        closed = end if outcome < 0.85 else None
        reviews = []
        rt = t
        for r in range(rng.randint(*reviews_per_pull)):
            rt += timedelta(minutes=rng.randint(5, 120))
            reviewer = _BOTS["coderabbit"] if r == 0 and rng.random() < 0.3 else rng.choice(people)
            reviews.append({"id": 3_000_000_000 + seed * 1_000_000 + n * 10 + r, "user": reviewer,
                            "body": f"Looks fine {marker}", "state": rng.choice(["APPROVED", "COMMENTED", "CHANGES_REQUESTED"]),
                            "submitted_at": _stamp(rt), "commit_id": commits[-1]["sha"]})  # fmt: skip
        repo.reviews[n] = reviews
        updated = max([end if closed else t, rt])
        labels = [{"id": 2, "name": "dependencies"}] if author is _BOTS["dependabot"] else []
        repo.pulls.append({
            "url": f"{api}/pulls/{n}", "id": 100_000_000 + seed * 100_000 + n, "number": n,
            "html_url": f"https://github.com/{full_name}/pull/{n}",
            "state": "closed" if closed else "open", "title": title, "user": author, "body": body,
            "labels": labels, "created_at": _stamp(created), "updated_at": _stamp(updated),
            "closed_at": _stamp(closed) if closed else None, "merged_at": _stamp(merged) if merged else None,
            "merge_commit_sha": next(sha) if merged else None, "draft": False,
            "merged_by": human if merged else None,
            "head": {"ref": branch, "sha": commits[-1]["sha"], "repo": {"full_name": full_name}},
            "base": {"ref": "main", "sha": next(sha), "repo": {"full_name": full_name}},
            "changed_files": rng.randint(1, 12),
        })  # fmt: skip
    for n in range(1, releases + 1):
        created = start + timedelta(days=7 * n)
        repo.releases.append({
            "url": f"{api}/releases/{n}", "id": 180_000 + seed * 1000 + n, "tag_name": f"v1.{n}.0",
            "target_commitish": next(sha), "name": f"v1.{n}.0", "draft": False, "prerelease": False,
            "created_at": _stamp(created), "published_at": _stamp(created + timedelta(minutes=5)),
            "author": people[0], "body": f"Notes {marker}",
        })  # fmt: skip
    for n in range(1, deployments + 1):
        created = start + timedelta(days=3 * n)
        ident = 1_800_000 + seed * 1000 + n
        repo.deployments.append({
            "url": f"{api}/deployments/{ident}", "id": ident, "sha": next(sha), "ref": "main", "task": "deploy",
            "environment": "production", "creator": _BOTS["dependabot"] | {"login": "github-actions[bot]", "id": 41898282, "html_url": "https://github.com/apps/github-actions"},
            "created_at": _stamp(created), "updated_at": _stamp(created + timedelta(minutes=6)),
            "statuses": [
                {"id": ident * 10 + 2, "state": "success" if n % 4 else "failure", "created_at": _stamp(created + timedelta(minutes=6))},
                {"id": ident * 10 + 1, "state": "in_progress", "created_at": _stamp(created + timedelta(minutes=1))},
            ],
        })  # fmt: skip
    return repo


def touch_pulls(repo: SimRepo, numbers: Iterable[int], when: datetime) -> None:
    """Mark pull requests updated at `when` (a new review would do the same upstream)."""
    for offset, number in enumerate(numbers):
        pull = repo.pull(number)
        pull["updated_at"] = _stamp(when + timedelta(seconds=offset))
        pull["title"] = pull["title"].split(" (edited", 1)[0] + f" (edited {offset})"
