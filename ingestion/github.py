"""GitHub connector: pull requests with reviews and commits, issues, milestones, releases and deployments.

GraphQL first: one query per repository and round carries the next page of every stream still
running (pull requests with their reviews, commits, labels and closing references nested;
issues; milestones; releases; deployments), so a small incremental run costs one request per
repository. Nested connections that overflow are completed with batched `node(id:)` queries.
REST is used where GraphQL has nothing: the GitHub App installation-token exchange.

Streams are read newest-updated first and stop at the stored watermark minus the overlap; each
page is written with its stream's checkpoint in one transaction (see `ingestion/sync.py`), so a
killed run resumes where it stopped. Issue, release and deployment ids are reconciled at most
every `reconcile_days` to mark deleted or transferred items `is_deleted`.
"""

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import httpx
import jwt
import polars as pl

from ingestion.attribution import RuleSet, Signals, parse_trailers, split_message
from ingestion.connectors import make_client, secret
from ingestion.http import (
    ApiClient,
    SourceAccessError,
    SourceAuthError,
    SourceError,
    SourceNotFoundError,
    SourceResponseError,
    Throttle,
    require,
    retry_after_seconds,
)
from ingestion.settings import ForgeRepo, GitHubSettings
from ingestion.sync import Replace, SyncContext, SyncResult, parse_time

FORGE = "github"
MAX_PAGE = 100  # GitHub's limit for `first` on every connection
# Nested page sizes: large enough that overflow is rare, small enough that a page of 100 PRs
# stays far below GitHub's 500,000-node limit (100 * (40 + 100 + 25 + 10) nodes).
NESTED_REVIEWS, NESTED_COMMITS, NESTED_LABELS, NESTED_CLOSING = 40, 100, 25, 10
NESTED_STATUSES = 20
OVERFLOW_BATCH = 10  # pull requests completed per overflow query
DEPLOYMENT_SETTLE = timedelta(days=1)  # statuses of deployments this old may still change
APP_TOKEN_MARGIN = timedelta(minutes=5)  # refresh an installation token this long before expiry
SECONDARY_WAIT = 60.0  # GitHub: without Retry-After, wait at least a minute

_API_VERSION = "2022-11-28"
_SCOPE_HINT = (
    "classic tokens need the repo scope (public repositories only: public_repo); fine-grained "
    "tokens and GitHub Apps need read access to Metadata, Pull requests, Issues, Contents and "
    "Deployments"
)
# The fine-grained permission (as GitHub names it in token settings) behind each connection.
_PERMISSIONS = {
    "pullRequests": "Pull requests",
    "issues": "Issues",
    "milestones": "Issues",
    "releases": "Contents",
    "deployments": "Deployments",
}
_RATE_LIMIT_RE = re.compile(rb'"rateLimit":(\{[^{}]*\})')

# ---------------------------------------------------------------------------------------------
# GraphQL documents. Field names are GitHub's public schema (the simulator validates them).

_RATE = "rateLimit { cost remaining resetAt }"
_PAGE = "pageInfo { hasNextPage endCursor }"

_FRAGMENTS = {
    "who": "fragment who on Actor { __typename login ... on Node { id } }",
    "review": "fragment review on PullRequestReview { fullDatabaseId id state submittedAt author { ...who } }",
    "prCommit": (
        "fragment prCommit on PullRequestCommit { commit { oid message authoredDate committedDate "
        "additions deletions author { name email user { login } } "
        "committer { name email user { login } } } }"
    ),
    "pr": (
        "fragment pr on PullRequest { id number title body state isDraft createdAt "
        "updatedAt mergedAt closedAt baseRefName headRefName isCrossRepository "
        "headRepository { nameWithOwner } additions deletions changedFiles "
        "author { ...who } mergedBy { ...who } mergeCommit { oid } "
        f"labels(first: {NESTED_LABELS}) {{ totalCount {_PAGE} nodes {{ name }} }} "
        f"closingIssuesReferences(first: {NESTED_CLOSING}) {{ totalCount {_PAGE} "
        "nodes { number repository { nameWithOwner } } } "
        f"reviews(first: {NESTED_REVIEWS}) {{ totalCount {_PAGE} nodes {{ ...review }} }} "
        f"commits(first: {NESTED_COMMITS}) {{ totalCount {_PAGE} nodes {{ ...prCommit }} }} }}"
    ),
    "issue": (
        "fragment issue on Issue { id fullDatabaseId number title body state "
        "stateReason(enableDuplicate: true) createdAt updatedAt closedAt author { ...who } "
        "assignees(first: 10) { nodes { login } } labels(first: 50) { nodes { name } } "
        "milestone { number } parent { number repository { nameWithOwner } } }"
    ),
    "milestone": (
        "fragment milestone on Milestone { id number title state dueOn createdAt updatedAt closedAt }"
    ),
    "release": (
        "fragment release on Release { id tagName name isDraft isPrerelease createdAt "
        "publishedAt updatedAt tagCommit { oid } author { login } }"
    ),
    "deployment": (
        "fragment deployment on Deployment { id commitOid environment task createdAt "
        "updatedAt ref { name } creator { ...who } latestStatus { state createdAt } "
        f"statuses(first: {NESTED_STATUSES}) {{ totalCount {_PAGE} nodes {{ id state createdAt }} }} }}"
    ),
}
_FRAGMENT_NEEDS = {
    "pr": ("who", "review", "prCommit"),
    "review": ("who",),
    "issue": ("who",),
    "deployment": ("who",),
}


def _fragments(used: Iterable[str]) -> str:
    """The fragment definitions a document spreads (GitHub refuses unused fragments)."""
    wanted: list[str] = []

    def add(name: str) -> None:
        if name not in wanted:
            wanted.append(name)
            for needed in _FRAGMENT_NEEDS.get(name, ()):
                add(needed)

    for name in used:
        add(name)
    return " ".join(_FRAGMENTS[name] for name in wanted)


# ---------------------------------------------------------------------------------------------
# Rate limits


class GitHubThrottle(Throttle):
    """GitHub's rate limits: primary (`X-RateLimit-*`), secondary (403/429, `Retry-After` or at
    least a minute, growing when it repeats) and GraphQL (`RATE_LIMITED` errors, `rateLimit`)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._secondary_hits = 0

    def retry_after(self, response: httpx.Response) -> float | None:
        status = response.status_code
        headers = response.headers
        if status in (403, 429):
            after = retry_after_seconds(headers)
            if after is not None:
                return after
            if headers.get("x-ratelimit-remaining") == "0":
                return self._until_reset(headers)
            if status == 429 or "rate limit" in response.text.lower():
                self._secondary_hits += 1
                return SECONDARY_WAIT * 2 ** min(self._secondary_hits - 1, 4)
            return None
        if status == 200 and b'"RATE_LIMITED"' in response.content:
            errors = _json_or_none(response.content)
            if isinstance(errors, dict) and any(
                isinstance(e, dict) and e.get("type") == "RATE_LIMITED"
                for e in errors.get("errors") or []
            ):
                return self._until_reset(headers) if "x-ratelimit-reset" in headers else 60.0
        if status < 400:
            self._secondary_hits = 0
        return super().retry_after(response) if status == 503 else None

    def pause(self, response: httpx.Response) -> float:
        if response.status_code >= 400:
            return 0.0
        headers = response.headers
        if headers.get("x-ratelimit-remaining") == "0":
            return self._until_reset(headers)
        found = _RATE_LIMIT_RE.search(response.content[:2048])
        if found is not None:
            rate = _json_or_none(found.group(1))
            if isinstance(rate, dict):
                remaining, cost = rate.get("remaining"), rate.get("cost")
                reset = parse_time(rate.get("resetAt"))
                spent = (
                    isinstance(remaining, int)
                    and isinstance(cost, int)
                    and remaining < max(cost, 1)
                )
                if spent and reset is not None:
                    return max(0.0, reset.timestamp() - self._clock()) + 1.0
        return 0.0

    def forbidden_hint(self, response: httpx.Response) -> str:
        headers = response.headers
        sso = headers.get("x-github-sso")
        if sso:
            url = sso.partition("url=")[2]
            return "the organisation enforces SAML single sign-on: authorise the token for it" + (
                f" at {url}" if url else ""
            )
        permissions = headers.get("x-accepted-github-permissions")
        if permissions:
            return (
                f"the token lacks the fine-grained permission this endpoint needs ({permissions}); "
                "grant it to the fine-grained token or the GitHub App installation"
            )
        accepted = headers.get("x-accepted-oauth-scopes")
        if accepted is not None:
            has = headers.get("x-oauth-scopes") or "none"
            return (
                f"this endpoint needs one of the scopes [{accepted or 'none listed'}] and the token "
                f"has [{has}]; {_SCOPE_HINT}"
            )
        return f"the token lacks a permission this request needs; {_SCOPE_HINT}"

    def _until_reset(self, headers: httpx.Headers) -> float:
        try:
            reset = float(headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return SECONDARY_WAIT
        return max(0.0, reset - self._clock()) + 1.0


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Authentication


def graphql_url(api_url: str) -> str:
    """GraphQL endpoint of a REST root: api.github.com/graphql, HOST/api/v3 -> HOST/api/graphql."""
    url = api_url.rstrip("/")
    return url[: -len("/v3")] + "/graphql" if url.endswith("/api/v3") else url + "/graphql"


class _AppToken:
    """GitHub App installation tokens: a JWT (RS256, the app's private key) exchanged for an
    installation token, refreshed before it expires."""

    def __init__(
        self, ctx: SyncContext, settings: GitHubSettings, client: ApiClient, private_key: str
    ) -> None:
        self._ctx = ctx
        self._settings = settings
        self._client = client
        self._key = private_key
        self._expires: datetime | None = None
        self.refreshes = 0

    def ensure(self) -> None:
        if self._expires is None or self._expires - self._ctx.now() < APP_TOKEN_MARGIN:
            self.refresh()

    def refresh(self) -> None:
        now = self._ctx.now()
        issued = int(time.time())  # GitHub checks the JWT against its own clock, not the run's
        try:
            token = jwt.encode(
                # iat in the past and a 9-minute lifetime absorb clock drift (GitHub allows 10).
                {"iat": issued - 60, "exp": issued + 540, "iss": str(self._settings.app_id)},
                self._key,
                algorithm="RS256",
            )
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise SourceAuthError(
                f"{self._settings.source_name}: the private key in ${self._settings.private_key_env} "
                f"cannot sign a GitHub App token ({type(exc).__name__}); export the app's PEM private key"
            ) from None
        self._client.set_header("Authorization", f"Bearer {token}", secret=True)
        what = f"POST /app/installations/{self._settings.installation_id}/access_tokens"
        body = self._client.json(
            "POST", f"/app/installations/{self._settings.installation_id}/access_tokens", what=what
        )
        source = self._settings.source_name
        body = require(body, dict, source, what, "a JSON object with token and expires_at")
        value = require(body.get("token"), str, source, what, "a token string")
        expires = parse_time(body.get("expires_at")) or now + timedelta(minutes=55)
        self._client.set_header("Authorization", f"Bearer {value}", secret=True)
        self._expires = expires
        self.refreshes += 1


# ---------------------------------------------------------------------------------------------
# Row schemas (explicit, so an all-null page keeps the warehouse's types)

_TS = pl.Datetime("us", "UTC")
_TRAILERS = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))
SCHEMAS: dict[str, dict[str, Any]] = {
    "forge_repos": {"source": pl.String, "forge": pl.String, "repo": pl.String, "forge_id": pl.String,
                    "git_repo": pl.String, "default_branch": pl.String, "is_archived": pl.Boolean,
                    "synced_at": _TS},
    "boards": {"source": pl.String, "board_id": pl.String, "kind": pl.String, "name": pl.String,
               "project": pl.String, "synced_at": _TS},
    "pull_requests": {
        "source": pl.String, "forge": pl.String, "repo": pl.String, "number": pl.Int32,
        "forge_id": pl.String, "title": pl.String, "author_login": pl.String,
        "author_type": pl.String, "author_id": pl.String, "state": pl.String,
        "is_draft": pl.Boolean, "created_at": _TS, "updated_at": _TS, "merged_at": _TS,
        "closed_at": _TS, "base_ref": pl.String, "head_ref": pl.String, "head_repo": pl.String,
        "is_cross_repository": pl.Boolean, "additions": pl.Int32, "deletions": pl.Int32,
        "changed_files": pl.Int32, "commit_count": pl.Int32, "labels": pl.List(pl.String),
        "merge_commit_sha": pl.String, "merged_by_login": pl.String, "body_length": pl.Int32,
        "first_commit_at": _TS, "ai_tool": pl.String, "ai_mode": pl.String,
        "ai_confidence": pl.Float64, "is_deleted": pl.Boolean, "synced_at": _TS,
        "run_id": pl.String,
    },
    "pr_reviews": {"source": pl.String, "repo": pl.String, "pr_number": pl.Int32,
                   "review_id": pl.String, "reviewer_login": pl.String, "reviewer_type": pl.String,
                   "state": pl.String, "submitted_at": _TS, "ai_tool": pl.String,
                   "ai_mode": pl.String, "is_human": pl.Boolean},
    "pr_commits": {
        "source": pl.String, "repo": pl.String, "pr_number": pl.Int32, "sha": pl.String,
        "position": pl.Int32, "author_name": pl.String, "author_email": pl.String,
        "author_login": pl.String, "committer_name": pl.String, "committer_email": pl.String,
        "committer_login": pl.String, "authored_at": _TS, "committed_at": _TS,
        "subject": pl.String, "trailers": _TRAILERS, "additions": pl.Int32,
        "deletions": pl.Int32, "ai_tool": pl.String, "ai_mode": pl.String,
        "ai_confidence": pl.Float64,
    },
    "ai_evidence": {"source": pl.String, "subject_kind": pl.String, "repo": pl.String, "subject_id": pl.String,
                    "rule_id": pl.String, "field": pl.String, "matched": pl.String,
                    "tool": pl.String, "mode": pl.String, "confidence": pl.Float64,
                    "ruleset_version": pl.String, "run_id": pl.String, "via_sha": pl.String},
    "ticket_links": {"source": pl.String, "subject_kind": pl.String, "repo": pl.String, "subject_id": pl.String,
                     "ticket_key": pl.String, "via": pl.String},
    "identities": {"source": pl.String, "kind": pl.String, "account_id": pl.String,
                   "login": pl.String, "name": pl.String, "email": pl.String,
                   "account_type": pl.String, "last_seen_at": _TS},
    "tickets": {
        "source": pl.String, "tracker": pl.String, "ticket_id": pl.String, "key": pl.String,
        "project": pl.String, "title": pl.String, "type": pl.String, "type_category": pl.String,
        "status": pl.String, "status_category": pl.String, "resolution": pl.String,
        "priority": pl.String, "story_points": pl.Float64, "assignee_id": pl.String,
        "reporter_id": pl.String, "labels": pl.List(pl.String), "parent_key": pl.String,
        "epic_key": pl.String, "sprint_id": pl.String, "created_at": _TS, "updated_at": _TS,
        "resolved_at": _TS, "body_length": pl.Int32, "is_deleted": pl.Boolean,
        "synced_at": _TS, "run_id": pl.String,
    },
    "ticket_sprints": {"source": pl.String, "ticket_id": pl.String, "sprint_id": pl.String},
    "ticket_statuses": {"source": pl.String, "status_id": pl.String, "name": pl.String,
                        "category": pl.String},
    "sprints": {"source": pl.String, "tracker": pl.String, "sprint_id": pl.String,
                "board_id": pl.String, "name": pl.String, "state": pl.String, "start_at": _TS,
                "end_at": _TS, "completed_at": _TS, "is_deleted": pl.Boolean, "synced_at": _TS},
    "releases": {"source": pl.String, "repo": pl.String, "release_id": pl.String,
                 "tag_name": pl.String, "name": pl.String, "target_sha": pl.String,
                 "author_login": pl.String, "is_draft": pl.Boolean, "is_prerelease": pl.Boolean,
                 "created_at": _TS, "published_at": _TS, "is_deleted": pl.Boolean,
                 "synced_at": _TS},
    "deployments": {"source": pl.String, "repo": pl.String, "deployment_id": pl.String,
                    "sha": pl.String, "ref": pl.String, "environment": pl.String,
                    "task": pl.String, "creator_login": pl.String, "created_at": _TS,
                    "updated_at": _TS, "latest_state": pl.String, "latest_state_at": _TS,
                    "is_deleted": pl.Boolean, "synced_at": _TS},
    "deployment_statuses": {"source": pl.String, "repo": pl.String,
                            "deployment_id": pl.String, "status_id": pl.String,
                            "state": pl.String, "created_at": _TS},
}  # fmt: skip


def _frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMAS[table])


# GitHub's open/closed and close reasons as ticket statuses.
_STATUSES = (
    ("open", "todo"),
    ("closed", "done"),
    ("closed: not planned", "canceled"),
    ("closed: duplicate", "canceled"),
)
_DEPLOY_STATES = {
    "SUCCESS": "success", "FAILURE": "failure", "ERROR": "error", "INACTIVE": "inactive",
    "IN_PROGRESS": "in_progress", "QUEUED": "queued", "PENDING": "pending",
    "WAITING": "pending",  # waiting for a protection rule's approval
}  # fmt: skip
_REVIEW_STATES = frozenset({"approved", "changes_requested", "commented", "dismissed", "pending"})

PR_FIELDS = frozenset(
    [
        "id",
        "number",
        "title",
        "body",
        "state",
        "isDraft",
        "createdAt",
        "updatedAt",
        "mergedAt",
        "closedAt",
        "baseRefName",
        "headRefName",
        "isCrossRepository",
        "headRepository",
        "additions",
        "deletions",
        "changedFiles",
        "author",
        "mergedBy",
        "mergeCommit",
        "labels",
        "closingIssuesReferences",
        "reviews",
        "commits",
    ]
)
ISSUE_FIELDS = frozenset(
    [
        "id",
        "fullDatabaseId",
        "number",
        "title",
        "body",
        "state",
        "stateReason",
        "createdAt",
        "updatedAt",
        "closedAt",
        "author",
        "assignees",
        "labels",
        "milestone",
        "parent",
    ]
)


# ---------------------------------------------------------------------------------------------
# The run


def sync(ctx: SyncContext, settings: GitHubSettings) -> SyncResult:
    """Bring every configured repository's streams up to date (incremental, checkpointed)."""
    with _GitHub(ctx, settings) as github:
        for repo in settings.repos:
            github.sync_repo(repo)
        return github.result()


@dataclass
class _Stream:
    """One stream of one repository during a run: where its pass stands."""

    name: str  # the sync_state stream and the GraphQL connection it reads
    connection: str
    fragment: str
    watermark: str | None = None
    after: str | None = None
    floor: datetime | None = None
    high: str | None = None
    done: bool = False
    full: bool = False  # the first pass over everything
    cursors: set[str] = field(default_factory=set)
    read: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)  # milestones: collected per run

    def resume(self, stored: Mapping[str, Any] | None, since: datetime | None, overlap: timedelta) -> None:  # fmt: skip
        stored = stored or {}
        self.watermark = stored.get("watermark")
        running = stored.get("pass")
        if isinstance(running, dict):
            self.after = running.get("after")
            self.floor = parse_time(running.get("floor"))
            self.high = running.get("high")
            self.full = bool(running.get("full"))
        else:
            mark = parse_time(self.watermark)
            self.floor = mark - overlap if mark else since
            self.full = mark is None

    def checkpoint(self, finished: bool) -> dict[str, Any]:
        if finished:
            marks = {m: when for m in (self.watermark, self.high) if (when := parse_time(m))}
            newest = max(marks, key=marks.__getitem__) if marks else None
            return {"watermark": newest, "pass": None}
        return {
            "watermark": self.watermark,
            "pass": {
                "after": self.after,
                "floor": self.floor.isoformat() if self.floor else None,
                "high": self.high,
                "full": self.full,
            },
        }

    def raise_high(self, stamp: str | None) -> None:
        when = parse_time(stamp)
        if when is not None and (self.high is None or when > (parse_time(self.high) or when)):
            self.high = stamp


class _GitHub:
    """One source's run: the client, the rules, the rows written and what to tell the operator."""

    def __init__(self, ctx: SyncContext, settings: GitHubSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.source = settings.source_name
        self.rules = ctx.rules or RuleSet.load()
        self.warnings: list[str] = []
        self.page_size = min(settings.page_size or MAX_PAGE, MAX_PAGE)
        self.overlap = timedelta(minutes=settings.overlap_minutes)
        self.since = (
            datetime.combine(settings.since, datetime.min.time(), tzinfo=UTC)
            if settings.since
            else None
        )
        secrets: list[str] = []
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": _API_VERSION}
        self.app: _AppToken | None = None
        private_key: str | None = None
        if settings.app_id is not None:
            private_key = secret(
                ctx, settings, "private_key_env", "the GitHub App's PEM private key"
            )
            secrets.append(private_key)
            hint = f"the GitHub App (app_id {settings.app_id}, installation {settings.installation_id})"
        elif settings.token_env is not None:
            token = secret(ctx, settings, "token_env", "a GitHub token (classic: repo scope)")
            secrets.append(token)
            headers["Authorization"] = f"Bearer {token}"
            hint = f"the token in ${settings.token_env}"
        else:
            hint = "the replayed exports"
        self.credential_hint = hint
        self.throttle = GitHubThrottle()
        self.client = make_client(
            ctx,
            settings,
            base_url=settings.api_url,
            headers=headers,
            secrets=secrets,
            credential_hint=hint,
            throttle=self.throttle,
            simulator=_simulator,
        )
        if settings.app_id is not None and private_key is not None:
            self.app = _AppToken(ctx, settings, self.client, private_key)
        self.graphql_url = graphql_url(settings.api_url)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def result(self) -> SyncResult:
        return SyncResult(
            source=self.source,
            kind=FORGE,
            rows=self.ctx.rows_written,
            requests=self.client.stats.requests,
            warnings=self.warnings,
            scopes=[r.name for r in self.settings.repos],
        )

    def warn(self, message: str) -> None:
        # Returned in the result (and so in ingest_runs); the CLI prints them once, after the run.
        if message not in self.warnings:
            self.warnings.append(message)

    # ------------------------------------------------------------------ requests

    def graphql(self, query: str, variables: Mapping[str, Any], what: str) -> dict[str, Any]:
        """POST a query; returns `data`. Errors on nested items are warnings, others fail."""
        if self.app is not None:
            self.app.ensure()
        try:
            body = self.client.json(
                "POST", self.graphql_url, json_body={"query": query, "variables": dict(variables)},
                what=what,
            )  # fmt: skip
        except SourceAuthError:
            if self.app is None:
                raise
            self.app.refresh()  # revoked or expired early: one fresh installation token
            body = self.client.json(
                "POST", self.graphql_url, json_body={"query": query, "variables": dict(variables)},
                what=what,
            )  # fmt: skip
        body = require(body, dict, self.source, what, "a JSON object with data")
        data = body.get("data")
        for error in body.get("errors") or []:
            if not isinstance(error, dict):
                raise SourceResponseError(f"{self.source}: {what}: the API answered with an error: {error}")  # fmt: skip
            kind, message = error.get("type"), str(error.get("message", error))
            path = error.get("path") or []
            if kind == "NOT_FOUND" and len(path) <= 1:
                raise SourceNotFoundError(
                    f"{self.source}: {what}: {message}; check the repository name in repos and "
                    f"that {self.credential_hint} can see it"
                )
            if kind == "INSUFFICIENT_SCOPES" or (kind == "FORBIDDEN" and len(path) <= 2):
                needed = _PERMISSIONS.get(str(path[-1]) if path else "")
                hint = (
                    f"a fine-grained token or GitHub App needs the {needed} permission (read)"
                    if kind == "FORBIDDEN" and needed
                    else _SCOPE_HINT
                )
                raise SourceAccessError(f"{self.source}: {what}: {message}; {hint}")
            if kind in ("NOT_FOUND", "FORBIDDEN") and isinstance(data, dict):
                # A linked item in a repository the credentials cannot see comes back null.
                self.warn(f"{what}: {'/'.join(map(str, path))}: {message}")
                continue
            raise SourceResponseError(f"{self.source}: {what}: the API answered with an error: {message}")  # fmt: skip
        return require(data, dict, self.source, what, "a JSON object with data")

    # ------------------------------------------------------------------ one repository

    def sync_repo(self, repo: ForgeRepo) -> None:
        owner, _, name = repo.name.partition("/")
        streams: list[_Stream] = [_Stream("milestones", "milestones", "milestone")]
        enabled = {
            "issues": self.settings.issues,
            "pull_requests": self.settings.pulls,
            "releases": self.settings.releases,
            "deployments": self.settings.deployments,
        }
        for stream_name, connection, fragment in (
            ("issues", "issues", "issue"),
            ("pull_requests", "pullRequests", "pr"),
            ("releases", "releases", "release"),
            ("deployments", "deployments", "deployment"),
        ):
            if enabled[stream_name]:
                streams.append(_Stream(stream_name, connection, fragment))
        if not self.settings.issues:
            streams = [s for s in streams if s.name != "milestones"]
        for stream in streams:
            stream.resume(self.ctx.cursor(self.source, repo.name, stream.name), self.since, self.overlap)  # fmt: skip
        if any(s.name == "milestones" for s in streams):
            streams[0].floor = None  # milestones are few: every run lists them all
        first = True
        while first or any(not s.done for s in streams):
            active = [s for s in streams if not s.done]
            query, variables = self._round_query(owner, name, active, meta=first)
            what = f"GraphQL repository {repo.name} ({', '.join(s.name for s in active) or 'metadata'})"
            data = self.graphql(query, variables, what)
            node = require(data.get("repository"), dict, self.source, what, "a repository object")
            if first:
                self._repository(repo, node, what)
                first = False
            for stream in active:
                connection = require(
                    node.get(stream.connection), dict, self.source, what,
                    f"a {stream.connection} connection",
                )  # fmt: skip
                getattr(self, f"_page_{stream.name}")(repo.name, stream, connection, what)
        self._reconcile(repo.name, owner, name, enabled)

    def _round_query(
        self, owner: str, name: str, active: Sequence[_Stream], *, meta: bool
    ) -> tuple[str, dict[str, Any]]:
        variables: dict[str, Any] = {"owner": owner, "name": name}
        params = ["$owner: String!", "$name: String!"]
        parts = ["id nameWithOwner isArchived defaultBranchRef { name }"] if meta else []
        for stream in active:
            key = stream.connection
            params.append(f"${key}After: String")
            variables[f"{key}After"] = stream.after
            args = f"first: {self.page_size}, after: ${key}After"
            if stream.name == "issues":
                params.append("$issuesSince: DateTime")
                variables["issuesSince"] = stream.floor.isoformat() if stream.floor else None
                args += ", orderBy: {field: UPDATED_AT, direction: DESC}, filterBy: {since: $issuesSince}"
            elif stream.name == "pull_requests":
                args += ", orderBy: {field: UPDATED_AT, direction: DESC}"
            elif stream.name == "milestones":
                args = f"first: {MAX_PAGE}, after: ${key}After, orderBy: {{field: NUMBER, direction: ASC}}"
            else:
                args += ", orderBy: {field: CREATED_AT, direction: DESC}"
            parts.append(f"{key}({args}) {{ totalCount {_PAGE} nodes {{ ...{stream.fragment} }} }}")
        if not parts:
            parts = ["id"]
        query = (
            f"query({', '.join(params)}) {{ {_RATE} repository(owner: $owner, name: $name) "
            f"{{ {' '.join(parts)} }} }} {_fragments(s.fragment for s in active)}"
        )
        return query.strip(), variables

    # ------------------------------------------------------------------ pages

    def _connection(
        self, stream: _Stream, connection: Mapping[str, Any], what: str
    ) -> tuple[list[dict[str, Any]], str | None, bool]:
        """A connection's nodes, end cursor and whether more follow; a cursor that repeats is refused."""
        nodes = require(connection.get("nodes"), list, self.source, what, f"{stream.connection}.nodes as a list")  # fmt: skip
        info = require(connection.get("pageInfo"), dict, self.source, what, f"{stream.connection}.pageInfo")  # fmt: skip
        more = bool(info.get("hasNextPage"))
        end = info.get("endCursor")
        if more:
            if not isinstance(end, str) or end == stream.after or end in stream.cursors:
                raise SourceResponseError(
                    f"{self.source}: {what}: {stream.connection} returned the page cursor {end!r} "
                    "again (a page pointing back at itself); stopping instead of looping — "
                    "run again later, and report it if it persists"
                )
            stream.cursors.add(end)
        kept = [require(n, dict, self.source, what, f"{stream.connection} nodes as objects") for n in nodes]  # fmt: skip
        return kept, end, more

    def _advance(self, stream: _Stream, end: str | None, finished: bool) -> dict[str, Any]:
        stream.after = end
        stream.done = finished
        return stream.checkpoint(finished)

    def _page_pull_requests(
        self, repo: str, stream: _Stream, connection: Mapping[str, Any], what: str
    ) -> None:
        nodes, end, more = self._connection(stream, connection, what)
        fresh = [n for n in nodes if _newer(n.get("updatedAt"), stream.floor)]
        finished = len(fresh) < len(nodes) or not more
        for node in fresh:
            self.ctx.observe(self.source, "pull_requests", node, known=PR_FIELDS,
                             required=("number", "updatedAt", "state", "commits", "reviews"))  # fmt: skip
            stream.raise_high(node.get("updatedAt"))
        self._complete_pulls(repo, fresh, what)
        rows = _PullRows(self, repo)
        for node in fresh:
            rows.add(node, what)
        cursor = self._advance(stream, end, finished)
        self.ctx.commit_page(self.source, repo, "pull_requests", cursor, rows.replaces())
        stream.read += len(fresh)
        if self.ctx.progress is not None:
            total = connection.get("totalCount") if stream.full else None
            self.ctx.progress(
                f"{repo} pull requests", stream.read, total if isinstance(total, int) else 0
            )

    def _complete_pulls(self, repo: str, nodes: Sequence[dict[str, Any]], what: str) -> None:
        """Fetch the rest of every nested connection that overflowed its first page."""
        sizes = {"reviews": (MAX_PAGE, "...review"), "commits": (MAX_PAGE, "...prCommit"),
                 "labels": (MAX_PAGE, "name"), "closingIssuesReferences": (MAX_PAGE, "number repository { nameWithOwner }")}  # fmt: skip
        self._complete(repo, nodes, "PullRequest", sizes, ("review", "prCommit"), what)

    def _complete(
        self,
        repo: str,
        nodes: Sequence[dict[str, Any]],
        typename: str,
        connections: Mapping[str, tuple[int, str]],
        fragments: Sequence[str],
        what: str,
    ) -> None:
        pending: dict[int, dict[str, str]] = {}
        seen: dict[tuple[int, str], set[str]] = {}
        for index, node in enumerate(nodes):
            for key in connections:
                part = node.get(key)
                if isinstance(part, dict) and (part.get("pageInfo") or {}).get("hasNextPage"):
                    pending.setdefault(index, {})[key] = part["pageInfo"].get("endCursor")
        while pending:
            batch = list(pending.items())[:OVERFLOW_BATCH]
            params, body, variables, spread = [], [], {}, set()
            for slot, (index, wanted) in enumerate(batch):
                params.append(f"$id{slot}: ID!")
                variables[f"id{slot}"] = nodes[index]["id"]
                inner = []
                for key, after in wanted.items():
                    params.append(f"${key}{slot}: String")
                    variables[f"{key}{slot}"] = after
                    size, selection = connections[key]
                    spread.update(re.findall(r"\.\.\.(\w+)", selection))
                    inner.append(f"{key}(first: {size}, after: ${key}{slot}) {{ {_PAGE} nodes {{ {selection} }} }}")  # fmt: skip
                body.append(f"n{slot}: node(id: $id{slot}) {{ ... on {typename} {{ {' '.join(inner)} }} }}")  # fmt: skip
            query = (
                f"query({', '.join(params)}) {{ {_RATE} {' '.join(body)} }} {_fragments(spread)}"
            )
            label = f"GraphQL {repo}: rest of {len(batch)} {typename} connections"
            data = self.graphql(query.strip(), variables, label)
            for slot, (index, wanted) in enumerate(batch):
                part = require(data.get(f"n{slot}"), dict, self.source, label, f"the {typename} n{slot}")  # fmt: skip
                for key in list(wanted):
                    more = require(part.get(key), dict, self.source, label, f"a {key} connection")
                    nodes_more = require(more.get("nodes"), list, self.source, label, f"{key}.nodes")  # fmt: skip
                    info = require(more.get("pageInfo"), dict, self.source, label, f"{key}.pageInfo")  # fmt: skip
                    target = nodes[index].setdefault(key, {}).setdefault("nodes", [])
                    target.extend(nodes_more)
                    end = info.get("endCursor")
                    used = seen.setdefault((index, key), {wanted[key]})
                    if info.get("hasNextPage"):
                        if not isinstance(end, str) or end in used:
                            raise SourceResponseError(
                                f"{self.source}: {label}: {key} returned the page cursor {end!r} "
                                "again; stopping instead of looping"
                            )
                        used.add(end)
                        wanted[key] = end
                    else:
                        del wanted[key]
                if not wanted:
                    del pending[index]

    def _page_issues(
        self, repo: str, stream: _Stream, connection: Mapping[str, Any], what: str
    ) -> None:
        nodes, end, more = self._connection(stream, connection, what)
        fresh = [n for n in nodes if _newer(n.get("updatedAt"), stream.floor)]
        finished = len(fresh) < len(nodes) or not more
        now = self.ctx.now()
        tickets, sprints, identities = [], [], _Identities(self)
        for node in fresh:
            self.ctx.observe(self.source, "issues", node, known=ISSUE_FIELDS,
                             required=("number", "updatedAt", "state"))  # fmt: skip
            stream.raise_high(node.get("updatedAt"))
            ticket = self._ticket(repo, node, now, what)
            tickets.append(ticket)
            if ticket["sprint_id"]:
                sprints.append({"source": self.source, "ticket_id": ticket["ticket_id"], "sprint_id": ticket["sprint_id"]})  # fmt: skip
            identities.actor(node.get("author"))
            for assignee in _nodes(node.get("assignees")):
                identities.login(assignee.get("login"), "user")
        scope = [{"source": self.source, "ticket_id": t["ticket_id"]} for t in tickets]
        statuses = [{"source": self.source, "status_id": s, "name": s, "category": c} for s, c in _STATUSES]  # fmt: skip
        replaces = [
            Replace("tickets", _frame("tickets", tickets), ("source", "ticket_id")),
            Replace(
                "ticket_sprints",
                _frame("ticket_sprints", sprints),
                ("source", "ticket_id"),
                scope=scope,
            ),
            Replace(
                "ticket_statuses", _frame("ticket_statuses", statuses), ("source", "status_id")
            ),
            identities.replace(),
        ]
        cursor = self._advance(stream, end, finished)
        self.ctx.commit_page(self.source, repo, "issues", cursor, replaces if tickets else [])

    def _ticket(self, repo: str, node: Mapping[str, Any], now: datetime, what: str) -> dict[str, Any]:  # fmt: skip
        number = require(node.get("number"), int, self.source, what, "an issue number")
        labels = [label["name"] for label in _nodes(node.get("labels")) if label.get("name")]
        folded = {label.lower(): label for label in labels}
        type_label, category = None, None
        for name, kind in self.settings.issue_type_labels.items():
            if name.lower() in folded:
                type_label, category = folded[name.lower()], kind
                break
        state = str(node.get("state") or "OPEN").lower()
        reason = str(node.get("stateReason") or "").lower() or None
        status, status_category = "open", "todo"
        if state == "closed":
            if reason == "not_planned":
                status, status_category = "closed: not planned", "canceled"
            elif reason == "duplicate":
                status, status_category = "closed: duplicate", "canceled"
            else:
                status, status_category = "closed", "done"
        milestone = node.get("milestone")
        parent = node.get("parent")
        assignees = [a.get("login") for a in _nodes(node.get("assignees")) if a.get("login")]
        return {
            "source": self.source,
            "tracker": FORGE,
            "ticket_id": str(node.get("fullDatabaseId") or node.get("id")),
            "key": f"{repo}#{number}",
            "project": repo,
            "title": node.get("title") or "",
            "type": type_label,
            "type_category": category or "other",
            "status": status,
            "status_category": status_category,
            "resolution": reason if state == "closed" else None,
            "priority": None,
            "story_points": None,
            "assignee_id": assignees[0] if assignees else None,
            "reporter_id": _login(node.get("author"))[0],
            "labels": labels,
            "parent_key": f"{parent['repository']['nameWithOwner']}#{parent['number']}"
            if isinstance(parent, dict) and isinstance(parent.get("repository"), dict)
            else None,
            "epic_key": None,
            "sprint_id": _sprint_id(repo, milestone["number"])
            if isinstance(milestone, dict) and milestone.get("number") is not None
            else None,
            "created_at": parse_time(node.get("createdAt")),
            "updated_at": parse_time(node.get("updatedAt")),
            "resolved_at": parse_time(node.get("closedAt")) if state == "closed" else None,
            "body_length": len(node.get("body") or ""),
            "is_deleted": False,
            "synced_at": now,
            "run_id": self.ctx.run_id,
        }

    def _page_milestones(
        self, repo: str, stream: _Stream, connection: Mapping[str, Any], what: str
    ) -> None:
        nodes, end, more = self._connection(stream, connection, what)
        stream.items.extend(nodes)
        stream.after, stream.done = end, not more
        if more:
            return
        now = self.ctx.now()
        rows = [self._sprint(repo, node, stream.items, now) for node in stream.items]
        keep = {r["sprint_id"] for r in rows}
        stored = self.ctx.con.execute(
            "SELECT sprint_id FROM sprints WHERE source = ? AND board_id = ? AND tracker = ? AND NOT is_deleted",
            [self.source, repo, FORGE],
        ).fetchall()
        gone = sorted(s for (s,) in stored if s not in keep)
        changed = self._changed("sprints", ("source", "sprint_id"), rows)
        statements = [
            ("UPDATE sprints SET is_deleted = true, synced_at = ? WHERE source = ? AND sprint_id = ?",
             (now, self.source, sprint_id)) for sprint_id in gone
        ]  # fmt: skip
        if changed or statements:
            self.ctx.commit_page(
                self.source, repo, "milestones", {"listed": len(rows)},
                [Replace("sprints", _frame("sprints", changed), ("source", "sprint_id"))],
                statements=statements,
            )  # fmt: skip

    def _sprint(
        self, repo: str, node: Mapping[str, Any], every: Sequence[Mapping[str, Any]], now: datetime
    ) -> dict[str, Any]:
        due = parse_time(node.get("dueOn"))
        closed = str(node.get("state") or "").upper() == "CLOSED"
        if closed:
            state = "closed"
        elif due is None:
            state = "future"
        else:
            # The open milestone due next (or overdue) is the running sprint; later ones are planned.
            upcoming = sorted(
                d for m in every
                if str(m.get("state") or "").upper() == "OPEN"
                and (d := parse_time(m.get("dueOn"))) is not None and d >= now
            )  # fmt: skip
            state = "active" if due < now or (upcoming and due == upcoming[0]) else "future"
        return {
            "source": self.source,
            "tracker": FORGE,
            "sprint_id": _sprint_id(repo, node.get("number")),
            "board_id": repo,
            "name": node.get("title") or f"milestone {node.get('number')}",
            "state": state,
            "start_at": None,  # GitHub milestones have no start date
            "end_at": due,
            "completed_at": parse_time(node.get("closedAt")) if closed else None,
            "is_deleted": False,
            "synced_at": now,
        }

    def _page_releases(
        self, repo: str, stream: _Stream, connection: Mapping[str, Any], what: str
    ) -> None:
        nodes, end, more = self._connection(stream, connection, what)
        now = self.ctx.now()
        rows, identities = [], _Identities(self)
        for node in nodes:
            self.ctx.observe(self.source, "releases", node, known=_RELEASE_FIELDS, required=("id", "tagName"))  # fmt: skip
            if not (stream.full or _newer(node.get("updatedAt"), stream.floor)):
                continue
            stream.raise_high(node.get("updatedAt"))
            author = _login(node.get("author"))[0]
            identities.login(author, "user")
            rows.append({
                "source": self.source, "repo": repo,
                "release_id": str(node.get("fullDatabaseId") or node.get("id")),
                "tag_name": node.get("tagName") or "", "name": node.get("name"),
                "target_sha": (node.get("tagCommit") or {}).get("oid"), "author_login": author,
                "is_draft": bool(node.get("isDraft")), "is_prerelease": bool(node.get("isPrerelease")),
                "created_at": parse_time(node.get("createdAt")),
                "published_at": parse_time(node.get("publishedAt")),
                "is_deleted": False, "synced_at": now,
            })  # fmt: skip
        oldest = parse_time(nodes[-1].get("createdAt")) if nodes else None
        finished = not more or (
            stream.floor is not None and oldest is not None and oldest < stream.floor
        )
        cursor = self._advance(stream, end, finished)
        replaces = [Replace("releases", _frame("releases", rows), ("source", "repo", "release_id")), identities.replace()]  # fmt: skip
        self.ctx.commit_page(self.source, repo, "releases", cursor, replaces if rows else [])

    def _page_deployments(
        self, repo: str, stream: _Stream, connection: Mapping[str, Any], what: str
    ) -> None:
        nodes, end, more = self._connection(stream, connection, what)
        self._complete(
            repo, nodes, "Deployment", {"statuses": (MAX_PAGE, "id state createdAt")}, (), what
        )
        now = self.ctx.now()
        rows, statuses, identities = [], [], _Identities(self)
        for node in nodes:
            self.ctx.observe(self.source, "deployments", node, known=_DEPLOYMENT_FIELDS, required=("id", "createdAt"))  # fmt: skip
            latest = node.get("latestStatus") or {}
            touched = [node.get("updatedAt"), latest.get("createdAt")]
            if not (stream.full or any(_newer(t, stream.floor) for t in touched if t)):
                continue
            stream.raise_high(node.get("updatedAt"))
            deployment_id = str(node.get("fullDatabaseId") or node.get("id"))
            creator = identities.actor(node.get("creator"))
            rows.append({
                "source": self.source, "repo": repo, "deployment_id": deployment_id,
                "sha": node.get("commitOid"), "ref": (node.get("ref") or {}).get("name"),
                "environment": node.get("environment") or "", "task": node.get("task"),
                "creator_login": creator, "created_at": parse_time(node.get("createdAt")),
                "updated_at": parse_time(node.get("updatedAt")),
                "latest_state": _DEPLOY_STATES.get(str(latest.get("state")), "pending") if latest else None,
                "latest_state_at": parse_time(latest.get("createdAt")),
                "is_deleted": False, "synced_at": now,
            })  # fmt: skip
            for status in _nodes(node.get("statuses")):
                statuses.append({
                    "source": self.source, "repo": repo, "deployment_id": deployment_id,
                    "status_id": str(status.get("id")),
                    "state": _DEPLOY_STATES.get(str(status.get("state")), "pending"),
                    "created_at": parse_time(status.get("createdAt")),
                })  # fmt: skip
        oldest = parse_time(nodes[-1].get("createdAt")) if nodes else None
        settled = stream.floor - DEPLOYMENT_SETTLE if stream.floor else None
        finished = not more or (settled is not None and oldest is not None and oldest < settled)
        cursor = self._advance(stream, end, finished)
        keys = ("source", "repo", "deployment_id")
        scope = [{k: r[k] for k in keys} for r in rows]
        replaces = [
            Replace("deployments", _frame("deployments", rows), keys),
            Replace(
                "deployment_statuses", _frame("deployment_statuses", statuses), keys, scope=scope
            ),
            identities.replace(),
        ]
        self.ctx.commit_page(self.source, repo, "deployments", cursor, replaces if rows else [])

    # ------------------------------------------------------------------ repository rows

    def _repository(self, repo: ForgeRepo, node: Mapping[str, Any], what: str) -> None:
        short = repo.name.rsplit("/", 1)[-1]
        git_repo = repo.git_repo or (short if short in self.ctx.git_repos else None)
        now = self.ctx.now()
        branch = node.get("defaultBranchRef")
        forge = {
            "source": self.source, "forge": FORGE, "repo": repo.name,
            "forge_id": node.get("id"), "git_repo": git_repo,
            "default_branch": branch.get("name") if isinstance(branch, dict) else None,
            "is_archived": bool(node.get("isArchived")), "synced_at": now,
        }  # fmt: skip
        board = {"source": self.source, "board_id": repo.name, "kind": "github_repo",
                 "name": repo.name, "project": repo.name, "synced_at": now}  # fmt: skip
        replaces = []
        if self._changed("forge_repos", ("source", "repo"), [forge]):
            replaces.append(Replace("forge_repos", _frame("forge_repos", [forge]), ("source", "repo")))  # fmt: skip
        if self.settings.issues and self._changed("boards", ("source", "board_id"), [board]):
            replaces.append(Replace("boards", _frame("boards", [board]), ("source", "board_id")))
        if replaces:
            self.ctx.commit_page(self.source, repo.name, "repository", {"seen": True}, replaces)

    def _changed(
        self, table: str, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> list[Mapping[str, Any]]:
        """The rows that differ from what is stored (ignoring synced_at), so a quiet run writes nothing."""
        if not rows:
            return []
        columns = [c for c in SCHEMAS[table] if c not in ("synced_at", "run_id")]
        selected = ", ".join(f'"{c}"' for c in columns)
        condition = " AND ".join(f'"{k}" = ?' for k in keys)
        changed = []
        for row in rows:
            stored = self.ctx.con.execute(
                f'SELECT {selected} FROM "{table}" WHERE {condition}', [row[k] for k in keys]
            ).fetchall()
            wanted = tuple(row[c] for c in columns)
            if len(stored) != 1 or tuple(stored[0]) != wanted:
                changed.append(row)
        return changed

    # ------------------------------------------------------------------ deletions

    def _reconcile(self, repo: str, owner: str, name: str, enabled: Mapping[str, bool]) -> None:
        """Every reconcile_days: list the ids of issues, releases and deployments and mark stored
        rows that are gone (deleted, transferred) `is_deleted`, and those back again not."""
        now = self.ctx.now()
        state = self.ctx.cursor(self.source, repo, "reconcile")
        if state is None:
            # Everything stored was read by this source's own first full pass.
            self.ctx.commit_page(self.source, repo, "reconcile", {"at": now.isoformat()})
            return
        last = parse_time(state.get("at"))
        if last is not None and now - last < timedelta(days=self.settings.reconcile_days):
            return
        targets = {
            "issues": ("issues", "tickets", "ticket_id", "project"),
            "releases": ("releases", "releases", "release_id", "repo"),
            "deployments": ("deployments", "deployments", "deployment_id", "repo"),
        }
        streams = {k: _Stream(k, v[0], "") for k, v in targets.items() if enabled[k]}
        ids: dict[str, list[str]] = {k: [] for k in streams}
        while any(not s.done for s in streams.values()):
            active = [s for s in streams.values() if not s.done]
            params = ["$owner: String!", "$name: String!"] + [f"${s.connection}After: String" for s in active]  # fmt: skip
            body = " ".join(
                f"{s.connection}(first: {MAX_PAGE}, after: ${s.connection}After) {{ {_PAGE} nodes {{ {_ID_FIELD.get(s.name, 'id')} }} }}"
                for s in active
            )
            variables = {"owner": owner, "name": name} | {f"{s.connection}After": s.after for s in active}  # fmt: skip
            what = f"GraphQL repository {repo} (ids of {', '.join(s.name for s in active)})"
            data = self.graphql(
                f"query({', '.join(params)}) {{ {_RATE} repository(owner: $owner, name: $name) {{ {body} }} }}",
                variables, what,
            )  # fmt: skip
            node = require(data.get("repository"), dict, self.source, what, "a repository object")
            for stream in active:
                connection = require(node.get(stream.connection), dict, self.source, what, f"a {stream.connection} connection")  # fmt: skip
                nodes, end, more = self._connection(stream, connection, what)
                ids[stream.name] += [str(n.get("fullDatabaseId") or n.get("id")) for n in nodes]
                stream.after, stream.done = end, not more
        statements: list[tuple[str, Sequence[Any]]] = []
        for key, found in ids.items():
            _, table, column, scope = targets[key]
            extra = " AND tracker = 'github'" if table == "tickets" else ""
            statements += [
                ((f'UPDATE "{table}" SET is_deleted = NOT list_contains(?, {column}), synced_at = ? '
                 f"WHERE source = ? AND {scope} = ?{extra} AND is_deleted = list_contains(?, {column})"),
                 (found, now, self.source, repo, found)),
            ]  # fmt: skip
        self.ctx.commit_page(self.source, repo, "reconcile", {"at": now.isoformat()}, statements=statements)  # fmt: skip


_ID_FIELD = {
    "issues": "fullDatabaseId"
}  # tickets keep REST's issue id; releases and deployments their node id
_RELEASE_FIELDS = frozenset(
    [
        "id",
        "tagName",
        "name",
        "isDraft",
        "isPrerelease",
        "createdAt",
        "publishedAt",
        "updatedAt",
        "tagCommit",
        "author",
    ]
)
_DEPLOYMENT_FIELDS = frozenset(
    [
        "id",
        "commitOid",
        "environment",
        "task",
        "createdAt",
        "updatedAt",
        "ref",
        "creator",
        "latestStatus",
        "statuses",
    ]
)


class _Identities:
    """Accounts seen on a page, as `identities` rows (login is the account id on forges)."""

    def __init__(self, github: _GitHub) -> None:
        self._github = github
        self._rows: dict[str, dict[str, Any]] = {}

    def actor(self, node: Any) -> str | None:
        login, kind = _login(node)
        self.login(login, kind)
        return login

    def login(self, login: str | None, kind: str | None) -> None:
        if not login:
            return
        row = self._rows.get(login)
        if row is None or (row["account_type"] is None and kind):
            self._rows[login] = {
                "source": self._github.source, "kind": FORGE, "account_id": login,
                "login": login, "name": None, "email": None, "account_type": kind,
                "last_seen_at": self._github.ctx.now(),
            }  # fmt: skip

    def replace(self) -> Replace:
        rows = sorted(self._rows.values(), key=lambda r: r["account_id"])
        return Replace("identities", _frame("identities", rows), ("source", "kind", "account_id"))


class _PullRows:
    """The rows of one page of pull requests in every table they feed."""

    def __init__(self, github: _GitHub, repo: str) -> None:
        self.github = github
        self.repo = repo
        self.source = github.source
        self.now = github.ctx.now()
        self.pulls: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.commits: list[dict[str, Any]] = []
        self.evidence: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.identities = _Identities(github)

    def add(self, node: Mapping[str, Any], what: str) -> None:
        github, rules = self.github, self.github.rules
        number = require(node.get("number"), int, self.source, what, "a pull request number")
        author, author_type = _login(node.get("author"))
        typename = (node.get("author") or {}).get("__typename")
        self.identities.actor(node.get("author"))
        merged_by = self.identities.actor(node.get("mergedBy"))
        labels = [label["name"] for label in _nodes(node.get("labels")) if label.get("name")]
        body = node.get("body") or ""
        created = parse_time(node.get("createdAt"))
        commits_conn = node.get("commits") or {}
        commit_nodes = [c.get("commit") or {} for c in _nodes(commits_conn)]
        total = commits_conn.get("totalCount") if isinstance(commits_conn, dict) else None
        if isinstance(total, int) and total > len(commit_nodes):
            github.warn(
                f"{self.repo}#{number}: GitHub lists {len(commit_nodes)} of its {total} commits "
                "(its API stops at 250); the PR's attribution uses those"
            )
        signals: list[tuple[str, Signals]] = []
        authored: list[datetime] = []
        for position, commit in enumerate(commit_nodes):
            sha = require(commit.get("oid"), str, self.source, what, "a commit oid")
            message = commit.get("message") or ""
            subject, message_body = split_message(message)
            trailers = parse_trailers(message)
            a, c = commit.get("author") or {}, commit.get("committer") or {}
            when = parse_time(commit.get("authoredDate"))
            if when is not None:
                authored.append(when)
            commit_signals = Signals(
                subject=subject, body=message_body, trailers=trailers,
                authors=(f"{a.get('name') or ''} <{a.get('email') or ''}>",),
                committers=(f"{c.get('name') or ''} <{c.get('email') or ''}>",),
                when=when,
            )  # fmt: skip
            decided = rules.attribute(commit_signals)
            signals.append((sha, commit_signals))
            a_login = ((a.get("user") or {}).get("login")) or None
            c_login = ((c.get("user") or {}).get("login")) or None
            self.identities.login(a_login, "user")
            self.identities.login(c_login, "user")
            self.commits.append({
                "source": self.source, "repo": self.repo, "pr_number": number, "sha": sha,
                "position": position, "author_name": a.get("name"), "author_email": a.get("email"),
                "author_login": a_login, "committer_name": c.get("name"),
                "committer_email": c.get("email"), "committer_login": c_login,
                "authored_at": when, "committed_at": parse_time(commit.get("committedDate")),
                "subject": subject,
                "trailers": [{"key": k.lower(), "value": v} for k, v in trailers],
                "additions": commit.get("additions"), "deletions": commit.get("deletions"),
                "ai_tool": decided.tool, "ai_mode": decided.mode,
                "ai_confidence": decided.confidence,
            })  # fmt: skip
        head_ref = node.get("headRefName")
        decided_pr = rules.attribute_pr(
            Signals(
                subject=node.get("title") or "", body=body, branch=head_ref,
                pr_author=author, pr_author_type=typename or "", labels=labels, when=created,
            ),
            signals,
        )  # fmt: skip
        for evidence, via in zip(decided_pr.evidence, decided_pr.via, strict=True):
            self.evidence.append({
                "source": self.source, "subject_kind": "pr", "repo": self.repo, "subject_id": str(number),
                "rule_id": evidence.rule_id, "field": evidence.field, "matched": evidence.matched,
                "tool": evidence.tool, "mode": evidence.mode, "confidence": evidence.confidence,
                "ruleset_version": rules.version, "run_id": github.ctx.run_id, "via_sha": via,
            })  # fmt: skip
        for review in _nodes(node.get("reviews")):
            login, kind = _login(review.get("author"))
            review_type = (review.get("author") or {}).get("__typename")
            self.identities.actor(review.get("author"))
            account = rules.classify_account(login, review_type) if login else None
            mode = account.mode if account else None
            state = str(review.get("state") or "").lower()
            self.reviews.append({
                "source": self.source, "repo": self.repo, "pr_number": number,
                "review_id": str(review.get("fullDatabaseId") or review.get("id")),
                "reviewer_login": login, "reviewer_type": kind,
                "state": state if state in _REVIEW_STATES else "commented",
                "submitted_at": parse_time(review.get("submittedAt")),
                "ai_tool": account.tool if account else None, "ai_mode": mode,
                "is_human": kind != "bot" and mode is None,
            })  # fmt: skip
        for issue in _nodes(node.get("closingIssuesReferences")):
            owner_repo = (issue.get("repository") or {}).get("nameWithOwner")
            if owner_repo and issue.get("number") is not None:
                self.links.append({
                    "source": self.source, "subject_kind": "pr", "repo": self.repo, "subject_id": str(number),
                    "ticket_key": f"{owner_repo}#{issue['number']}", "via": "closing_ref",
                })  # fmt: skip
        merge = node.get("mergeCommit")
        head_repo = node.get("headRepository")
        state = str(node.get("state") or "OPEN").lower()
        self.pulls.append({
            "source": self.source, "forge": FORGE, "repo": self.repo, "number": number,
            "forge_id": str(node.get("id")), "title": node.get("title") or "",
            "author_login": author, "author_type": author_type,
            "author_id": (node.get("author") or {}).get("id"),
            "state": state if state in ("open", "closed", "merged") else "open",
            "is_draft": bool(node.get("isDraft")), "created_at": created,
            "updated_at": parse_time(node.get("updatedAt")),
            "merged_at": parse_time(node.get("mergedAt")),
            "closed_at": parse_time(node.get("closedAt")),
            "base_ref": node.get("baseRefName"), "head_ref": head_ref,
            "head_repo": head_repo.get("nameWithOwner") if isinstance(head_repo, dict) else None,
            "is_cross_repository": node.get("isCrossRepository"),
            "additions": node.get("additions"), "deletions": node.get("deletions"),
            "changed_files": node.get("changedFiles"),
            "commit_count": total if isinstance(total, int) else len(commit_nodes),
            "labels": labels,
            "merge_commit_sha": merge.get("oid") if isinstance(merge, dict) and state == "merged" else None,
            "merged_by_login": merged_by, "body_length": len(body),
            "first_commit_at": min(authored) if authored else None,
            "ai_tool": decided_pr.tool, "ai_mode": decided_pr.mode,
            "ai_confidence": decided_pr.confidence, "is_deleted": False,
            "synced_at": self.now, "run_id": github.ctx.run_id,
        })  # fmt: skip

    def replaces(self) -> list[Replace]:
        if not self.pulls:
            return []
        source, repo = self.source, self.repo
        numbers = [p["number"] for p in self.pulls]
        per_pr = [{"source": source, "repo": repo, "pr_number": n} for n in numbers]
        subjects = [
            {"source": source, "subject_kind": "pr", "repo": repo, "subject_id": str(n)}
            for n in numbers
        ]
        links = [s | {"via": "closing_ref"} for s in subjects]
        child = ("source", "repo", "pr_number")
        return [
            Replace(
                "pull_requests", _frame("pull_requests", self.pulls), ("source", "repo", "number")
            ),
            Replace("pr_reviews", _frame("pr_reviews", self.reviews), child, scope=per_pr),
            Replace("pr_commits", _frame("pr_commits", self.commits), child, scope=per_pr),
            Replace(
                "ai_evidence",
                _frame("ai_evidence", self.evidence),
                ("source", "subject_kind", "repo", "subject_id"),
                scope=subjects,
            ),
            Replace(
                "ticket_links",
                _frame("ticket_links", self.links),
                ("source", "subject_kind", "repo", "subject_id", "via"),
                scope=links,
            ),
            self.identities.replace(),
        ]


# ---------------------------------------------------------------------------------------------
# Helpers


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]


def _login(actor: Any) -> tuple[str | None, str | None]:
    """(login, lower-cased type) of a GraphQL actor. Bots get REST's `<slug>[bot]` form, the one
    their commits and the REST API use, so one account has one login across sources."""
    if not isinstance(actor, dict) or not actor.get("login"):
        return None, None
    login = str(actor["login"])
    typename = actor.get("__typename")
    if typename == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return login, typename.lower() if isinstance(typename, str) else None


def _newer(stamp: Any, floor: datetime | None) -> bool:
    if floor is None:
        return True
    when = parse_time(stamp)
    return when is None or when >= floor


def _sprint_id(repo: str, number: Any) -> str:
    return f"{repo}/milestone/{number}"


def _simulator(path: Any) -> Any:
    from ingestion.sim.github import GitHubSimulator

    return GitHubSimulator.from_dir(path)


__all__ = ["GitHubThrottle", "SourceError", "graphql_url", "sync"]
