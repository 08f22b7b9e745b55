"""GitLab connector: merge requests with approvals, reviews and commits, issues, iterations, milestones, releases and deployments over REST v4.

One run reads every configured project (addressed by its URL-encoded path) stream by stream and
writes each API page, with its stream's cursor, in one transaction (`SyncContext.commit_page`).

Merge requests and deployments have no keyset pagination in GitLab, and following offset pages of
a list sorted by `updated_at` skips items whenever one already read is updated (it moves to the
end and everything after it shifts one place left). So every page of those streams is a new query
anchored at the last committed `updated_at` (keyset pagination emulated with `updated_after`); the
page's `Link: rel="next"` is followed only through a page of already-written items that share one
timestamp. Issues use GitLab's own keyset pagination (`pagination=keyset`, GitLab 18.3 and later)
and follow `Link: rel="next"`; older servers answer 405 and get the anchored queries. Sub-lists
(MR commits, closing issues, iterations, milestones, releases) follow `Link: rel="next"` (else
`X-Next-Page`), and a next link that points to a page already read fails the run instead of
looping. Deleted merge requests, issues and deployments are found by a periodic listing of ids
(`reconcile_days`), each confirmed by a 404 before its row is marked `is_deleted`; a moved issue
(`moved_to_id`) is marked at once. Descriptions and commit message bodies are read for attribution
markers and their length, then dropped (SPEC §4).
"""

import contextlib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import polars as pl

from ingestion.attribution import Attribution, RuleSet, Signals, parse_trailers, split_message
from ingestion.connectors import make_client, secret
from ingestion.http import (
    ApiClient,
    SourceAccessError,
    SourceNotFoundError,
    SourceResponseError,
    Throttle,
    require,
    retry_after_seconds,
)
from ingestion.settings import ForgeRepo, GitLabSettings
from ingestion.sim.gitlab import GitLabSimulator
from ingestion.sync import Replace, SyncContext, SyncResult, parse_time

FORGE = "gitlab"
MAX_PAGE = 100
STATES = {"opened": "open", "locked": "open", "closed": "closed", "merged": "merged"}
# Reviewer states of GET /merge_requests/:iid/reviewers (the MergeRequestReviewState enum).
REVIEW_STATES = {
    "requested_changes": "changes_requested",
    "reviewed": "commented",
    "approved": "approved",
    "unapproved": "dismissed",
    "unreviewed": "pending",
    "review_started": "pending",
}
DEPLOYMENT_STATES = {
    "created": "pending",
    "running": "in_progress",
    "success": "success",
    "failed": "failure",
    "canceled": "canceled",
    "blocked": "pending",
    "skipped": "canceled",
}
# Iterations report their state as an integer (1 upcoming, 2 current, 3 closed); names are
# accepted too.
ITERATION_STATES = {
    1: "future",
    2: "active",
    3: "closed",
    "upcoming": "future",
    "current": "active",
    "started": "active",
    "closed": "closed",
}
TYPE_CATEGORIES = {"incident": "incident", "task": "subtask", "test_case": "other"}
# Accounts GitLab creates for access tokens and service accounts, for when /users/:id is hidden.
_BOT_USERNAME = re.compile(
    r"^(project|group)_\d+_bot(_[0-9a-f]+)?$|^service_account_", re.IGNORECASE
)
_GHOST = re.compile(r"^ghost\d*$")
_EPIC_URL = re.compile(r"/groups/(?P<group>.+?)/-/epics/(?P<iid>\d+)")
_GROUP_URL = re.compile(r"/groups/(?P<group>.+?)/-/")


def _fields(names: str) -> frozenset[str]:
    return frozenset(names.split())


# Top-level fields each stream knows (from GitLab's API documentation); others are schema drift.
MR_FIELDS = _fields(
    """
    id iid project_id title description state imported imported_from created_at updated_at
    merged_by merge_user merged_at merge_after prepared_at closed_by closed_at target_branch
    source_branch user_notes_count upvotes downvotes author assignees assignee reviewers
    source_project_id target_project_id labels draft work_in_progress milestone
    merge_when_pipeline_succeeds merge_status detailed_merge_status sha merge_commit_sha
    squash_commit_sha discussion_locked should_remove_source_branch force_remove_source_branch
    allow_collaboration allow_maintainer_to_push reference references web_url time_stats squash
    squash_on_merge task_completion_status has_conflicts blocking_discussions_resolved
    approvals_before_merge subscribed changes_count latest_build_started_at
    latest_build_finished_at first_deployed_to_production_at pipeline head_pipeline diff_refs
    merge_error first_contribution user rebase_in_progress diverged_commits_count
    """
)
COMMIT_FIELDS = _fields(
    """
    id short_id created_at parent_ids title message author_name author_email authored_date
    committer_name committer_email committed_date trailers extended_trailers web_url
    """
)
ISSUE_FIELDS = _fields(
    """
    id iid project_id title description state created_at updated_at closed_at closed_by labels
    milestone assignees author type assignee user_notes_count merge_requests_count upvotes
    downvotes due_date confidential discussion_locked issue_type web_url time_stats
    task_completion_status weight blocking_issues_count has_tasks task_status _links references
    severity subscribed moved_to_id imported imported_from service_desk_reply_to epic_iid epic
    iteration health_status
    """
)
ITERATION_FIELDS = _fields(
    """
    id iid sequence group_id title description state created_at updated_at start_date due_date
    web_url
    """
)
MILESTONE_FIELDS = _fields(
    """
    id iid project_id group_id title description state created_at updated_at due_date
    start_date expired web_url
    """
)
RELEASE_FIELDS = _fields(
    """
    name tag_name description created_at released_at upcoming_release author commit milestones
    commit_path tag_path assets evidences _links
    """
)
DEPLOYMENT_FIELDS = _fields(
    """
    id iid ref sha created_at updated_at status user environment deployable
    pending_approval_count approvals approval_summary
    """
)
USER_FIELDS = _fields(
    """
    id username public_email name state locked avatar_url web_url created_at bio location
    linkedin twitter discord website_url github job_title pronouns organization bot
    work_information local_time followers following is_followed skype
    """
)

_S, _I, _B, _F = pl.String, pl.Int32, pl.Boolean, pl.Float64
_T = pl.Datetime("us", "UTC")
FORGE_REPO_SCHEMA = {
    "source": _S, "forge": _S, "repo": _S, "forge_id": _S, "git_repo": _S, "default_branch": _S,
    "is_archived": _B, "synced_at": _T,
}  # fmt: skip
PR_SCHEMA = {
    "source": _S, "forge": _S, "repo": _S, "number": _I, "forge_id": _S, "title": _S,
    "author_login": _S, "author_type": _S, "author_id": _S, "state": _S, "is_draft": _B,
    "created_at": _T, "updated_at": _T, "merged_at": _T, "closed_at": _T, "base_ref": _S,
    "head_ref": _S, "head_repo": _S, "is_cross_repository": _B, "additions": _I, "deletions": _I,
    "changed_files": _I, "commit_count": _I, "labels": pl.List(_S), "merge_commit_sha": _S,
    "merged_by_login": _S, "body_length": _I, "first_commit_at": _T, "ai_tool": _S, "ai_mode": _S,
    "ai_confidence": _F, "is_deleted": _B, "synced_at": _T, "run_id": _S,
}  # fmt: skip
REVIEW_SCHEMA = {
    "source": _S, "repo": _S, "pr_number": _I, "review_id": _S, "reviewer_login": _S,
    "reviewer_type": _S, "state": _S, "submitted_at": _T, "ai_tool": _S, "ai_mode": _S,
    "is_human": _B,
}  # fmt: skip
COMMIT_SCHEMA = {
    "source": _S, "repo": _S, "pr_number": _I, "sha": _S, "position": _I, "author_name": _S,
    "author_email": _S, "author_login": _S, "committer_name": _S, "committer_email": _S,
    "committer_login": _S, "authored_at": _T, "committed_at": _T, "subject": _S,
    "trailers": pl.List(pl.Struct({"key": _S, "value": _S})), "additions": _I, "deletions": _I,
    "ai_tool": _S, "ai_mode": _S, "ai_confidence": _F,
}  # fmt: skip
EVIDENCE_SCHEMA = {
    "source": _S, "subject_kind": _S, "repo": _S, "subject_id": _S, "rule_id": _S, "field": _S, "matched": _S,
    "tool": _S, "mode": _S, "confidence": _F, "ruleset_version": _S, "run_id": _S, "via_sha": _S,
}  # fmt: skip
LINK_SCHEMA = {
    "source": _S,
    "subject_kind": _S,
    "repo": _S,
    "subject_id": _S,
    "ticket_key": _S,
    "via": _S,
}
IDENTITY_SCHEMA = {
    "source": _S, "kind": _S, "account_id": _S, "login": _S, "name": _S, "email": _S,
    "account_type": _S, "last_seen_at": _T,
}  # fmt: skip
TICKET_SCHEMA = {
    "source": _S, "tracker": _S, "ticket_id": _S, "key": _S, "project": _S, "title": _S,
    "type": _S, "type_category": _S, "status": _S, "status_category": _S, "resolution": _S,
    "priority": _S, "story_points": _F, "assignee_id": _S, "reporter_id": _S,
    "labels": pl.List(_S), "parent_key": _S, "epic_key": _S, "sprint_id": _S, "created_at": _T,
    "updated_at": _T, "resolved_at": _T, "body_length": _I, "is_deleted": _B, "synced_at": _T,
    "run_id": _S,
}  # fmt: skip
TICKET_SPRINT_SCHEMA = {"source": _S, "ticket_id": _S, "sprint_id": _S}
SPRINT_SCHEMA = {
    "source": _S, "tracker": _S, "sprint_id": _S, "board_id": _S, "name": _S, "state": _S,
    "start_at": _T, "end_at": _T, "completed_at": _T, "is_deleted": _B, "synced_at": _T,
}  # fmt: skip
BOARD_SCHEMA = {
    "source": _S, "board_id": _S, "kind": _S, "name": _S, "project": _S, "synced_at": _T,
}  # fmt: skip
RELEASE_SCHEMA = {
    "source": _S, "repo": _S, "release_id": _S, "tag_name": _S, "name": _S, "target_sha": _S,
    "author_login": _S, "is_draft": _B, "is_prerelease": _B, "created_at": _T, "published_at": _T,
    "is_deleted": _B, "synced_at": _T,
}  # fmt: skip
DEPLOYMENT_SCHEMA = {
    "source": _S, "repo": _S, "deployment_id": _S, "sha": _S, "ref": _S, "environment": _S,
    "task": _S, "creator_login": _S, "created_at": _T, "updated_at": _T, "latest_state": _S,
    "latest_state_at": _T, "is_deleted": _B, "synced_at": _T,
}  # fmt: skip
STATUS_SCHEMA = {
    "source": _S, "repo": _S, "deployment_id": _S, "status_id": _S, "state": _S, "created_at": _T,
}  # fmt: skip


def _frame(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=dict(schema))


# ---------------------------------------------------------------------------- rate limits


class GitLabThrottle(Throttle):
    """GitLab's limits: 429 with Retry-After, `RateLimit-Remaining: 0` until `RateLimit-Reset`."""

    def __init__(
        self, credential: str = "the token", clock: Callable[[], float] | None = None
    ) -> None:
        self.credential = credential
        # RateLimit-Reset is an epoch time: read against the run's clock.
        self.clock = clock or (lambda: datetime.now(UTC).timestamp())

    def retry_after(self, response: httpx.Response) -> float | None:
        if response.status_code == 429:
            return (
                retry_after_seconds(response.headers)
                or _reset_in(response.headers, self.clock())
                or 60.0
            )
        if response.status_code == 503:
            return retry_after_seconds(response.headers)
        return None

    def pause(self, response: httpx.Response) -> float:
        remaining = response.headers.get("ratelimit-remaining")
        if remaining is None or response.status_code == 429:
            return 0.0
        try:
            spent = int(remaining.strip()) <= 0
        except ValueError:
            return 0.0
        return (_reset_in(response.headers, self.clock()) or 1.0) if spent else 0.0

    def forbidden_hint(self, response: httpx.Response) -> str:
        if _insufficient_scope(response):
            return (
                f"{self.credential} lacks the read_api scope; create a personal, group or project "
                "access token (or an OAuth token) with read_api"
            )
        return (
            f"the account of {self.credential} may not read this; merge requests, approvals and "
            "deployments need at least the Reporter role on the project"
        )


def _reset_in(headers: Mapping[str, str], now: float) -> float | None:
    value = headers.get("ratelimit-reset")
    if value is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(value) - now)
    value = headers.get("ratelimit-resettime")
    if value is not None:
        return retry_after_seconds({"retry-after": value}, now=now)
    return None


def _insufficient_scope(response: httpx.Response) -> bool:
    if "insufficient_scope" in response.headers.get("www-authenticate", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "insufficient_scope"


# ---------------------------------------------------------------------------- pagination


class _NoKeyset(Exception):
    """The server refused `pagination=keyset` (405): GitLab before 18.3 for issues."""


@dataclass
class _Page:
    items: list[Any]
    url: str
    next_url: str | None
    total: int | None
    status: int


@dataclass(frozen=True)
class _Mark:
    """An updated-since cursor: the newest `updated_at` written and the ids written at exactly it."""

    at: datetime | None
    seen: frozenset[str] = frozenset()

    def fresh(self, when: datetime, item_id: str) -> bool:
        return self.at is None or when > self.at or (when == self.at and item_id not in self.seen)

    def after(self, stamped: Sequence[tuple[datetime, str]]) -> "_Mark":
        last = stamped[-1][0]
        ids = {i for t, i in stamped if t == last}
        return _Mark(last, frozenset(ids | (self.seen if last == self.at else set())))

    def cursor(self, **extra: Any) -> dict[str, Any]:
        return {"updated_at": _iso(self.at), "seen": sorted(self.seen), **extra}


class _Api:
    """GET helpers over one ApiClient: JSON objects, list pages, all pages, updated-since streams."""

    def __init__(self, client: ApiClient, source: str) -> None:
        self.client = client
        self.source = source
        parts = urlsplit(client.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"

    def object(
        self, path: str, what: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body = self.client.get_json(path, params=params, what=what)
        return require(body, dict, self.source, what, "a JSON object")

    def page(
        self, url: str, params: Mapping[str, Any] | None, what: str, ok: Sequence[int] = ()
    ) -> _Page:
        response = self.client.request("GET", url, params=params, what=what, ok_statuses=ok)
        fetched = self._same_origin(str(response.request.url))
        if response.status_code >= 300:
            return _Page([], fetched, None, None, response.status_code)
        body = response.json() if response.content else None
        items = require(body, list, self.source, what, "a JSON list")
        for item in items:
            require(item, dict, self.source, what, "a list of JSON objects")
        total = response.headers.get("x-total", "").strip()
        return _Page(
            items,
            fetched,
            self._next(response),
            int(total) if total.isdigit() else None,
            response.status_code,
        )

    def pages(
        self, path: str, params: Mapping[str, Any], what: str, read: set[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        url: str = path
        query: Mapping[str, Any] | None = params or None
        read = set(read or ())
        while True:
            page = self.page(url, query, what)
            if page.url in read:
                raise self.loop(what, page.url)
            read.add(page.url)
            yield page.items
            if page.next_url is None:
                return
            if page.next_url in read:
                raise self.loop(what, page.next_url)
            url, query = page.next_url, None

    def all(self, path: str, params: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        return [item for items in self.pages(path, params, what) for item in items]

    def updated_since(
        self,
        path: str,
        params: Mapping[str, Any],
        what: str,
        mark: _Mark,
        *,
        keyset: bool = False,
        on_total: Callable[[int | None], None] | None = None,
        field: str = "updated_at",
    ) -> Iterator[tuple[list[dict[str, Any]], _Mark]]:
        """Pages of items whose `field` is at or after the mark, oldest first, each with the mark after it.

        Keyset lists follow their next links. Offset lists are queried again from the new mark
        (`<field without _at>_after`) after every page that advanced it (see the module
        docstring), following the next link only past pages that held nothing new; this also
        keeps them clear of GitLab's cap on offsets (50,000 rows by default).
        """
        after = f"{field.removesuffix('_at')}_after"

        def anchored() -> dict[str, Any]:
            query = dict(params)
            if mark.at is not None:
                # One millisecond early: GitLab's updated_after is inclusive for merge requests and
                # issues but strict for deployments; what is already written is skipped below.
                query[after] = _iso(mark.at - timedelta(milliseconds=1))
            return query

        url: str = path
        query: Mapping[str, Any] | None = anchored()
        read: set[str] = set()
        first = True
        while True:
            page = self.page(url, query, what, ok=(405,) if keyset and first else ())
            if page.status == 405:
                raise _NoKeyset
            if page.url in read:
                raise self.loop(what, page.url)
            read.add(page.url)
            if first and on_total is not None:
                on_total(page.total)
            first = False
            stamped = [(self._stamp(item, field, what), str(item.get("id"))) for item in page.items]
            if any(a[0] > b[0] for a, b in itertools.pairwise(stamped)):
                raise SourceResponseError(
                    f"{self.source}: {what}: the list is not sorted by {field} ascending as requested; "
                    "the API's answer is not in the documented shape"
                )
            fresh = [
                (item, s) for item, s in zip(page.items, stamped, strict=True) if mark.fresh(*s)
            ]
            before = mark.at
            if fresh:
                new = mark.after([s for _, s in fresh])
                yield [item for item, _ in fresh], new
                mark = new
            if page.next_url is None:
                return
            if keyset or not fresh or mark.at == before:
                if page.next_url in read:
                    raise self.loop(what, page.next_url)
                url, query = page.next_url, None
            else:
                url, query = path, anchored()

    def loop(self, what: str, url: str) -> SourceResponseError:
        return SourceResponseError(
            f"{self.source}: {what}: the next-page link points back to a page already read "
            f"({url}); stopped instead of reading it again"
        )

    def _stamp(self, item: dict[str, Any], field: str, what: str) -> datetime:
        value = require(
            item.get(field), str, self.source, what, f"an '{field}' timestamp in every item"
        )
        parsed = _parse(value, self.source, what)
        assert parsed is not None
        return parsed

    def _next(self, response: httpx.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if link:
            return self._same_origin(link)
        page = response.headers.get("x-next-page", "").strip()
        if page:
            return self._same_origin(str(response.request.url.copy_set_param("page", page)))
        return None

    def _same_origin(self, url: str) -> str:
        # Links carry the host GitLab believes it has (a proxy may rewrite it); the token only ever
        # goes to the configured one.
        parts = urlsplit(url)
        return f"{self.origin}{parts.path}" + (f"?{parts.query}" if parts.query else "")


# ---------------------------------------------------------------------------- the run


@dataclass
class _Account:
    login: str
    account_type: str
    name: str | None
    email: str | None


@dataclass
class _Project:
    path: str
    enc: str
    data: dict[str, Any]

    def endpoint(self, tail: str = "") -> str:
        return f"projects/{self.enc}{tail}"

    def what(self, tail: str = "") -> str:
        return f"GET /projects/{self.enc}{tail}"


@dataclass
class _Run:
    ctx: SyncContext
    settings: GitLabSettings
    api: _Api
    rules: RuleSet
    now: datetime
    warnings: list[str] = field(default_factory=list)
    accounts: dict[int, _Account] = field(default_factory=dict)
    classified: dict[tuple[str, str], Attribution] = field(default_factory=dict)
    fork_paths: dict[int, str | None] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    sprints_seen: dict[str, set[str]] = field(
        default_factory=lambda: {"iteration": set(), "milestone": set()}
    )
    sprints_complete: dict[str, bool] = field(
        default_factory=lambda: {"iteration": True, "milestone": True}
    )

    @property
    def source(self) -> str:
        return self.settings.source_name

    @property
    def page_size(self) -> int:
        return min(self.settings.page_size or MAX_PAGE, MAX_PAGE)

    def warn(self, message: str) -> None:
        # Returned in the result (printed once by the CLI and kept in ingest_runs).
        if message not in self.warnings:
            self.warnings.append(message)

    def progress(self, phase: str, done: int, total: int | None) -> None:
        if self.ctx.progress is not None:
            self.ctx.progress(phase, done, max(total or 0, done))

    # ------------------------------------------------------------------ projects

    def project(self, configured: ForgeRepo) -> None:
        enc = quote(configured.name, safe="")
        data = self.api.object(f"projects/{enc}", f"GET /projects/{enc}")
        path = require(
            data.get("path_with_namespace"),
            str,
            self.source,
            f"GET /projects/{enc}",
            "'path_with_namespace'",
        )
        project = _Project(path, quote(path, safe=""), data)
        row = {
            "source": self.source,
            "forge": FORGE,
            "repo": path,
            "forge_id": str(data.get("id")),
            "git_repo": self._git_repo(configured),
            "default_branch": data.get("default_branch"),
            "is_archived": bool(data.get("archived", False)),
            "synced_at": self.now,
        }
        self.ctx.commit_page(
            self.source,
            path,
            "project",
            None,
            [Replace("forge_repos", _frame([row], FORGE_REPO_SCHEMA), ("source", "repo"))],
        )
        if self.settings.merge_requests:
            self.merge_requests(project)
        if self.settings.issues:
            self.issues(project)
        if self.settings.iterations:
            self.iterations(project)
        if self.settings.milestones_as_sprints:
            self.milestones(project)
        if self.settings.releases:
            self.releases(project)
        if self.settings.deployments:
            self.deployments(project)
        self.reconcile(project)

    def _git_repo(self, configured: ForgeRepo) -> str | None:
        known = self.ctx.git_repos
        if configured.git_repo is not None:
            if configured.git_repo in known:
                return configured.git_repo
            self.warn(
                f"{configured.name}: git_repo {configured.git_repo!r} is not an ingested git source; forge_repos.git_repo stays empty"
            )
            return None
        for candidate in (configured.name, configured.name.rsplit("/", 1)[-1]):
            if candidate in known:
                return candidate
        return None

    def _start(self, cursor: Mapping[str, Any] | None) -> _Mark:
        if cursor and cursor.get("updated_at"):
            at = parse_time(cursor["updated_at"])
            overlap = timedelta(minutes=self.settings.overlap_minutes)
            if overlap:
                return _Mark(at - overlap if at else None)
            return _Mark(at, frozenset(str(s) for s in cursor.get("seen", [])))
        since = self.settings.since
        return _Mark(datetime.combine(since, time(), UTC) if since else None)

    # ------------------------------------------------------------------ accounts

    def account(self, user: Any) -> _Account | None:
        """The account behind a user object (None for a deleted account), remembered as an identity."""
        if not isinstance(user, dict) or not isinstance(user.get("username"), str):
            return None
        username: str = user["username"]
        if _GHOST.match(username) and user.get("name") == "Ghost User":
            return None
        uid = user.get("id")
        key = uid if isinstance(uid, int) else hash(username)
        if key not in self.accounts:
            self.accounts[key] = self._lookup(user, username)
        account = self.accounts[key]
        self.identities[account.login] = {
            "source": self.source,
            "kind": FORGE,
            "account_id": account.login,
            "login": account.login,
            "name": account.name,
            "email": account.email,
            "account_type": account.account_type,
            "last_seen_at": self.now,
        }
        return account

    def _lookup(self, user: dict[str, Any], username: str) -> _Account:
        stored = self.ctx.con.execute(
            "SELECT account_type, name, email FROM identities WHERE source = ? AND kind = ? AND account_id = ?",
            [self.source, FORGE, username],
        ).fetchall()
        if stored and stored[0][0]:
            return _Account(username, stored[0][0], stored[0][1], stored[0][2])
        kind = "bot" if _BOT_USERNAME.match(username) else "user"
        email: str | None = None
        name = user.get("name")
        uid = user.get("id")
        if isinstance(uid, int):
            # The bot flag is only on the full user entity, not on the user objects inside lists.
            with contextlib.suppress(SourceNotFoundError):
                full = self.api.object(f"users/{uid}", f"GET /users/{uid}")
                self.ctx.observe(self.source, "users", full, known=USER_FIELDS, required=("bot",))
                if "bot" in full:
                    kind = "bot" if full.get("bot") else "user"
                email = full.get("public_email") or None
                name = full.get("name") or name
        return _Account(username, kind, name, email)

    def classify(self, account: _Account | None) -> Attribution | None:
        if account is None:
            return None
        key = (account.login, account.account_type)
        if key not in self.classified:
            self.classified[key] = self.rules.classify_account(account.login, account.account_type)
        return self.classified[key]

    def _identity_replace(self) -> Replace:
        rows = list(self.identities.values())
        self.identities = {}
        return Replace(
            "identities", _frame(rows, IDENTITY_SCHEMA), ("source", "kind", "account_id")
        )

    # ------------------------------------------------------------------ merge requests

    def merge_requests(self, project: _Project) -> None:
        stream = "merge_requests"
        mark = self._start(self.ctx.cursor(self.source, project.path, stream))
        params = {
            "state": "all",
            "order_by": "updated_at",
            "sort": "asc",
            "per_page": self.page_size,
        }
        phase = f"{project.path}: merge requests"
        total: list[int | None] = [None]
        done = 0
        for items, new in self.api.updated_since(
            project.endpoint("/merge_requests"),
            params,
            project.what("/merge_requests"),
            mark,
            on_total=lambda t: total.__setitem__(0, t),
        ):
            page = _MrPage()
            for listed in items:
                self._merge_request(project, listed, page)
            self.ctx.commit_page(
                self.source,
                project.path,
                stream,
                new.cursor(),
                page.replaces(self, project),
                statements=page.statements(self, project),
            )
            done += len(items)
            self.progress(phase, done, total[0])

    def _merge_request(self, project: _Project, listed: dict[str, Any], page: "_MrPage") -> None:
        what = project.what("/merge_requests")
        iid = require(
            listed.get("iid"), int, self.source, what, "an integer 'iid' in every merge request"
        )
        page.numbers.append(iid)
        tail = f"/merge_requests/{iid}"
        try:
            mr = {**listed, **self.api.object(project.endpoint(tail), project.what(tail))}
        except SourceNotFoundError:
            page.gone.append(iid)  # deleted since it was listed
            return
        required = ("id", "title", "state", "created_at", "updated_at", "author", "source_branch", "target_branch")  # fmt: skip
        self.ctx.observe(self.source, "merge_requests", mr, known=MR_FIELDS, required=required)
        commits = self.api.all(
            project.endpoint(f"{tail}/commits"),
            {"per_page": MAX_PAGE},
            project.what(f"{tail}/commits"),
        )
        try:
            approvals = self.api.object(
                project.endpoint(f"{tail}/approvals"), project.what(f"{tail}/approvals")
            )
        except SourceNotFoundError:
            self.warn(
                f"{project.path}: this GitLab has no merge request approvals API; approvals are not read"
            )
            approvals = {}
        reviewers = self.api.all(
            project.endpoint(f"{tail}/reviewers"),
            {"per_page": MAX_PAGE},
            project.what(f"{tail}/reviewers"),
        )
        closes = self.api.all(
            project.endpoint(f"{tail}/closes_issues"),
            {"per_page": MAX_PAGE},
            project.what(f"{tail}/closes_issues"),
        )

        author = self.account(mr.get("author"))
        merger = self.account(mr.get("merge_user") or mr.get("merged_by"))
        state = STATES.get(str(mr.get("state")))
        if state is None:
            raise SourceResponseError(
                f"{self.source}: {what}: unknown merge request state {mr.get('state')!r}; expected opened, closed, merged or locked"
            )
        description = mr.get("description") or ""
        labels = [
            str(label.get("name") if isinstance(label, dict) else label)
            for label in mr.get("labels") or []
        ]
        created = _parse(mr.get("created_at"), self.source, what)

        commit_rows, commit_signals = self._commits(project, iid, commits)
        pr_signals = Signals(
            subject=str(mr.get("title") or ""),
            body=description,
            branch=mr.get("source_branch"),
            pr_author=author.login if author else None,
            pr_author_type=author.account_type if author else None,
            labels=labels,
            when=created,
        )
        decided = self.rules.attribute_pr(pr_signals, commit_signals)
        page.evidence += [
            {
                "source": self.source,
                "subject_kind": "pr",
                "repo": project.path,
                "subject_id": str(iid),
                "rule_id": e.rule_id,
                "field": e.field,
                "matched": e.matched,
                "tool": e.tool,
                "mode": e.mode,
                "confidence": e.confidence,
                "ruleset_version": self.rules.version,
                "run_id": self.ctx.run_id,
                "via_sha": via,
            }
            for e, via in zip(decided.evidence, decided.via, strict=True)
        ]
        source_pid, target_pid = mr.get("source_project_id"), mr.get("target_project_id")
        cross = source_pid is not None and target_pid is not None and source_pid != target_pid
        page.prs.append(
            {
                "source": self.source,
                "forge": FORGE,
                "repo": project.path,
                "number": iid,
                "forge_id": str(mr.get("id")),
                "title": str(mr.get("title") or ""),
                "author_login": author.login if author else None,
                "author_type": author.account_type if author else None,
                "author_id": str(mr["author"]["id"])
                if author and isinstance(mr.get("author"), dict)
                else None,
                "state": state,
                "is_draft": bool(mr.get("draft", mr.get("work_in_progress", False))),
                "created_at": created,
                "updated_at": _parse(mr.get("updated_at"), self.source, what),
                "merged_at": _parse(mr.get("merged_at"), self.source, what),
                "closed_at": _parse(mr.get("closed_at"), self.source, what),
                "base_ref": mr.get("target_branch"),
                "head_ref": mr.get("source_branch"),
                "head_repo": self._fork_path(source_pid) if cross else project.path,
                "is_cross_repository": cross,
                "additions": None,
                "deletions": None,
                "changed_files": self._changes_count(project, mr.get("changes_count")),
                "commit_count": len(commits),
                "labels": labels,
                "merge_commit_sha": _landed_sha(mr),
                "merged_by_login": merger.login if merger else None,
                "body_length": len(description),
                "first_commit_at": min(
                    (r["authored_at"] for r in commit_rows if r["authored_at"]), default=None
                ),
                "ai_tool": decided.tool,
                "ai_mode": decided.mode,
                "ai_confidence": decided.confidence,
                "is_deleted": False,
                "synced_at": self.now,
                "run_id": self.ctx.run_id,
            }
        )
        page.commits += commit_rows
        page.reviews += self._reviews(project, iid, approvals, reviewers)
        page.links += self._closing_links(project, iid, closes)

    def _commits(
        self, project: _Project, iid: int, commits: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, Signals]]]:
        what = project.what(f"/merge_requests/{iid}/commits")
        rows: list[dict[str, Any]] = []
        signals: list[tuple[str, Signals]] = []
        # GitLab lists the newest commit first; positions count from the oldest.
        for position, commit in enumerate(reversed(commits)):
            self.ctx.observe(
                self.source,
                "merge_request_commits",
                commit,
                known=COMMIT_FIELDS,
                required=("id", "message", "author_email", "authored_date"),
            )
            sha = require(
                commit.get("id"), str, self.source, what, "a string 'id' (the sha) in every commit"
            )
            message = str(commit.get("message") or commit.get("title") or "")
            subject, body = split_message(message)
            trailers = parse_trailers(message)
            authored = _parse(commit.get("authored_date"), self.source, what)
            author = f"{commit.get('author_name') or ''} <{commit.get('author_email') or ''}>"
            committer = (
                f"{commit.get('committer_name') or ''} <{commit.get('committer_email') or ''}>"
            )
            signal = Signals(
                subject=subject,
                body=body,
                trailers=trailers,
                authors=(author,),
                committers=(committer,),
                when=authored,
            )
            decided = self.rules.attribute(signal)
            signals.append((sha, signal))
            rows.append(
                {
                    "source": self.source,
                    "repo": project.path,
                    "pr_number": iid,
                    "sha": sha,
                    "position": position,
                    "author_name": commit.get("author_name"),
                    "author_email": commit.get("author_email"),
                    "author_login": None,
                    "committer_name": commit.get("committer_name"),
                    "committer_email": commit.get("committer_email"),
                    "committer_login": None,
                    "authored_at": authored,
                    "committed_at": _parse(commit.get("committed_date"), self.source, what),
                    "subject": subject or str(commit.get("title") or ""),
                    "trailers": [{"key": k.lower(), "value": v} for k, v in trailers],
                    "additions": None,
                    "deletions": None,
                    "ai_tool": decided.tool,
                    "ai_mode": decided.mode,
                    "ai_confidence": decided.confidence,
                }
            )
        return rows, signals

    def _reviews(
        self,
        project: _Project,
        iid: int,
        approvals: dict[str, Any],
        reviewers: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        approved: set[str] = set()
        what = project.what(f"/merge_requests/{iid}/approvals")
        approved_by = approvals.get("approved_by") or []
        require(approved_by, list, self.source, what, "'approved_by' as a list")
        for entry in approved_by:
            user = entry.get("user") if isinstance(entry, dict) else None
            account = self.account(user)
            if account is None or not isinstance(user, dict):
                continue
            approved.add(str(user.get("id")))
            review_id = f"approval:{user.get('id')}"
            rows[review_id] = self._review_row(
                project,
                iid,
                review_id,
                account,
                "approved",
                _parse(entry.get("approved_at"), self.source, what),
            )
        for entry in reviewers:
            user = entry.get("user")
            account = self.account(user)
            if account is None or not isinstance(user, dict):
                continue
            state = REVIEW_STATES.get(str(entry.get("state")))
            if state is None:
                self.warn(f"{project.path}: unknown reviewer state {entry.get('state')!r} skipped")
                continue
            if state == "approved" and str(user.get("id")) in approved:
                continue
            # The reviewers endpoint has no time of the review itself (created_at is when the
            # review was requested), so only approvals carry submitted_at.
            review_id = f"reviewer:{user.get('id')}"
            rows[review_id] = self._review_row(project, iid, review_id, account, state, None)
        return list(rows.values())

    def _review_row(
        self,
        project: _Project,
        iid: int,
        review_id: str,
        account: _Account,
        state: str,
        when: datetime | None,
    ) -> dict[str, Any]:
        decided = self.classify(account)
        mode = decided.mode if decided else None
        if mode is None and account.account_type == "bot":
            mode = "bot"  # an automation account no rule names
        return {
            "source": self.source,
            "repo": project.path,
            "pr_number": iid,
            "review_id": review_id,
            "reviewer_login": account.login,
            "reviewer_type": account.account_type,
            "state": state,
            "submitted_at": when,
            "ai_tool": decided.tool if decided else None,
            "ai_mode": mode,
            "is_human": mode is None,
        }

    def _closing_links(
        self, project: _Project, iid: int, closes: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        keys: dict[str, None] = {}
        for issue in closes:
            key = _issue_key(issue, project)
            if key:
                keys[key] = None
        return [
            {
                "source": self.source,
                "subject_kind": "pr",
                "repo": project.path,
                "subject_id": str(iid),
                "ticket_key": key,
                "via": "closing_ref",
            }
            for key in keys
        ]

    def _fork_path(self, project_id: Any) -> str | None:
        if not isinstance(project_id, int):
            return None
        if project_id not in self.fork_paths:
            try:
                fork = self.api.object(f"projects/{project_id}", f"GET /projects/{project_id}")
                self.fork_paths[project_id] = fork.get("path_with_namespace")
            except (SourceNotFoundError, SourceAccessError):
                self.fork_paths[project_id] = None  # the fork is gone or private
        return self.fork_paths[project_id]

    def _changes_count(self, project: _Project, value: Any) -> int | None:
        if value is None:
            return None
        text = str(value)
        if text.isdigit():
            return int(text)
        # GitLab caps the count ("1000+"); a floor is not the count.
        self.warn(
            f"{project.path}: some merge requests change more files than GitLab counts ({text}); their changed_files is empty"
        )
        return None

    # ------------------------------------------------------------------ issues

    def issues(self, project: _Project) -> None:
        cursor = self.ctx.cursor(self.source, project.path, "issues") or {}
        mark = self._start(cursor)
        if cursor.get("keyset", True) is not False:
            try:
                self._issue_pages(project, mark, keyset=True)
                return
            except _NoKeyset:
                self._no_keyset(project)
        self._issue_pages(project, mark, keyset=False)

    def _no_keyset(self, project: _Project) -> None:
        self.warn(
            f"{project.path}: this GitLab has no keyset pagination for issues (it came with 18.3); offset pages are read instead"
        )

    def _issue_pages(self, project: _Project, mark: _Mark, *, keyset: bool) -> None:
        stream = "issues"
        params: dict[str, Any] = {
            "state": "all",
            "order_by": "updated_at",
            "sort": "asc",
            "per_page": self.page_size,
        }
        if keyset:
            params["pagination"] = "keyset"
        phase = f"{project.path}: issues"
        done = 0
        for items, new in self.api.updated_since(
            project.endpoint("/issues"), params, project.what("/issues"), mark, keyset=keyset
        ):
            tickets, sprints, scope = [], [], []
            for issue in items:
                row = self._ticket(project, issue)
                tickets.append(row)
                scope.append({"source": self.source, "ticket_id": row["ticket_id"]})
                if row["sprint_id"] and not row["is_deleted"]:
                    sprints.append(
                        {
                            "source": self.source,
                            "ticket_id": row["ticket_id"],
                            "sprint_id": row["sprint_id"],
                        }
                    )
            self.ctx.commit_page(
                self.source,
                project.path,
                stream,
                new.cursor(keyset=keyset),
                [
                    Replace("tickets", _frame(tickets, TICKET_SCHEMA), ("source", "ticket_id")),
                    Replace(
                        "ticket_sprints",
                        _frame(sprints, TICKET_SPRINT_SCHEMA),
                        ("source", "ticket_id"),
                        scope=_frame(scope, {"source": _S, "ticket_id": _S}),
                    ),
                    self._identity_replace(),
                ],
            )
            done += len(items)
            self.progress(phase, done, None)

    def _ticket(self, project: _Project, issue: dict[str, Any]) -> dict[str, Any]:
        what = project.what("/issues")
        self.ctx.observe(
            self.source,
            "issues",
            issue,
            known=ISSUE_FIELDS,
            required=("id", "iid", "title", "state", "created_at", "updated_at", "author"),
        )
        issue_id = require(
            issue.get("id"), int, self.source, what, "an integer 'id' in every issue"
        )
        labels = [
            str(label.get("name") if isinstance(label, dict) else label)
            for label in issue.get("labels") or []
        ]
        issue_type = str(issue.get("issue_type") or str(issue.get("type") or "issue").lower())
        type_name, category = issue_type, TYPE_CATEGORIES.get(issue_type)
        if category is None:
            lookup = {k.lower(): v for k, v in self.settings.issue_type_labels.items()}
            hit = next((label for label in labels if label.lower() in lookup), None)
            type_name, category = (hit, lookup[hit.lower()]) if hit else (issue_type, "other")
        state = str(issue.get("state") or "")
        in_progress = {label.lower() for label in self.settings.in_progress_labels}
        if state == "closed":
            status_category = "done"
        elif any(label.lower() in in_progress for label in labels):
            status_category = "in_progress"
        else:
            status_category = "todo"
        author = self.account(issue.get("author"))
        assignees = [a for a in (self.account(u) for u in issue.get("assignees") or []) if a]
        iteration = issue.get("iteration")
        milestone = issue.get("milestone")
        sprint_id = None
        if isinstance(iteration, dict) and iteration.get("id") is not None:
            sprint_id = f"iteration:{iteration['id']}"
        elif (
            self.settings.milestones_as_sprints
            and isinstance(milestone, dict)
            and milestone.get("id") is not None
        ):
            sprint_id = f"milestone:{milestone['id']}"
        weight = issue.get("weight")
        description = issue.get("description") or ""
        return {
            "source": self.source,
            "tracker": FORGE,
            "ticket_id": str(issue_id),
            "key": _issue_key(issue, project) or f"{project.path}#{issue.get('iid')}",
            "project": project.path,
            "title": str(issue.get("title") or ""),
            "type": type_name,
            "type_category": category,
            "status": state,
            "status_category": status_category,
            "resolution": None,
            "priority": None,
            "story_points": float(weight) if isinstance(weight, int | float) else None,
            "assignee_id": assignees[0].login if assignees else None,
            "reporter_id": author.login if author else None,
            "labels": labels,
            "parent_key": None,
            "epic_key": _epic_key(issue.get("epic")),
            "sprint_id": sprint_id,
            "created_at": _parse(issue.get("created_at"), self.source, what),
            "updated_at": _parse(issue.get("updated_at"), self.source, what),
            "resolved_at": _parse(issue.get("closed_at"), self.source, what),
            "body_length": len(description),
            # A moved issue lives on under another id; the original must not count twice.
            "is_deleted": issue.get("moved_to_id") is not None,
            "synced_at": self.now,
            "run_id": self.ctx.run_id,
        }

    # ------------------------------------------------------------------ sprints

    def iterations(self, project: _Project) -> None:
        what = project.what("/iterations")
        try:
            items = self.api.all(
                project.endpoint("/iterations"),
                {"include_ancestors": "true", "state": "all", "per_page": MAX_PAGE},
                what,
            )
        except (SourceNotFoundError, SourceAccessError) as exc:
            if "insufficient_scope" in str(exc) or "read_api" in str(exc):
                raise
            self.warn(
                f"{project.path}: iterations are not available (GitLab Premium); no sprints read from iterations"
            )
            self.sprints_complete["iteration"] = False
            return
        sprints, boards = [], {}
        for it in items:
            self.ctx.observe(
                self.source,
                "iterations",
                it,
                known=ITERATION_FIELDS,
                required=("id", "state", "start_date", "due_date"),
            )
            iteration_id = require(
                it.get("id"), int, self.source, what, "an integer 'id' in every iteration"
            )
            state = ITERATION_STATES.get(it.get("state"))  # type: ignore[arg-type]
            if state is None:
                raise SourceResponseError(
                    f"{self.source}: {what}: unknown iteration state {it.get('state')!r}; expected 1, 2 or 3 (upcoming, current, closed)"
                )
            start, end = _day(it.get("start_date")), _day_end(it.get("due_date"))
            board = f"group:{it.get('group_id')}"
            name = it.get("title") or f"Iteration {it.get('start_date')} – {it.get('due_date')}"
            sprint_id = f"iteration:{iteration_id}"
            self.sprints_seen["iteration"].add(sprint_id)
            sprints.append(
                {
                    "source": self.source,
                    "tracker": FORGE,
                    "sprint_id": sprint_id,
                    "board_id": board,
                    "name": str(name),
                    "state": state,
                    "start_at": start,
                    "end_at": end,
                    # Iterations close by themselves when their last day ends.
                    "completed_at": end if state == "closed" else None,
                    "is_deleted": False,
                    "synced_at": self.now,
                }
            )
            group = _GROUP_URL.search(str(it.get("web_url") or ""))
            boards[board] = {
                "source": self.source,
                "board_id": board,
                "kind": "gitlab_group",
                "name": group["group"] if group else board,
                "project": None,
                "synced_at": self.now,
            }
        self.ctx.commit_page(
            self.source,
            project.path,
            "iterations",
            None,
            [
                Replace("sprints", _frame(sprints, SPRINT_SCHEMA), ("source", "sprint_id")),
                Replace(
                    "boards", _frame(list(boards.values()), BOARD_SCHEMA), ("source", "board_id")
                ),
            ],
        )

    def milestones(self, project: _Project) -> None:
        what = project.what("/milestones")
        items = self.api.all(
            project.endpoint("/milestones"),
            {"include_ancestors": "true", "per_page": MAX_PAGE},
            what,
        )
        sprints, boards = [], {}
        today = self.now.date()
        for ms in items:
            self.ctx.observe(
                self.source,
                "milestones",
                ms,
                known=MILESTONE_FIELDS,
                required=("id", "title", "state"),
            )
            milestone_id = require(
                ms.get("id"), int, self.source, what, "an integer 'id' in every milestone"
            )
            start = _day(ms.get("start_date"))
            if ms.get("state") == "closed":
                state = "closed"
            elif start is not None and start.date() > today:
                state = "future"
            else:
                state = "active"
            if ms.get("group_id") is not None:
                board, kind = f"group:{ms['group_id']}", "gitlab_group"
                found = _GROUP_URL.search(str(ms.get("web_url") or ""))
                board_name = found["group"] if found else board
            else:
                board, kind, board_name = (
                    f"project:{ms.get('project_id')}",
                    "gitlab_project",
                    project.path,
                )
            sprint_id = f"milestone:{milestone_id}"
            self.sprints_seen["milestone"].add(sprint_id)
            sprints.append(
                {
                    "source": self.source,
                    "tracker": FORGE,
                    "sprint_id": sprint_id,
                    "board_id": board,
                    "name": str(ms.get("title") or sprint_id),
                    "state": state,
                    "start_at": start,
                    "end_at": _day_end(ms.get("due_date")),
                    # Closing a milestone is its last update; GitLab keeps no closed_at.
                    "completed_at": _parse(ms.get("updated_at"), self.source, what)
                    if state == "closed"
                    else None,
                    "is_deleted": False,
                    "synced_at": self.now,
                }
            )
            boards[board] = {
                "source": self.source,
                "board_id": board,
                "kind": kind,
                "name": board_name,
                "project": None,
                "synced_at": self.now,
            }
        self.ctx.commit_page(
            self.source,
            project.path,
            "milestones",
            None,
            [
                Replace("sprints", _frame(sprints, SPRINT_SCHEMA), ("source", "sprint_id")),
                Replace(
                    "boards", _frame(list(boards.values()), BOARD_SCHEMA), ("source", "board_id")
                ),
            ],
        )

    # ------------------------------------------------------------------ releases and deployments

    def releases(self, project: _Project) -> None:
        what = project.what("/releases")
        tags: list[str] = []
        params = {"order_by": "created_at", "sort": "asc", "per_page": self.page_size}
        for items in self.api.pages(project.endpoint("/releases"), params, what):
            rows = []
            for release in items:
                self.ctx.observe(
                    self.source,
                    "releases",
                    release,
                    known=RELEASE_FIELDS,
                    required=("tag_name", "created_at"),
                )
                tag = require(
                    release.get("tag_name"), str, self.source, what, "a 'tag_name' in every release"
                )
                tags.append(tag)
                commit = _object(release.get("commit"))
                author = self.account(release.get("author"))
                rows.append(
                    {
                        "source": self.source,
                        "repo": project.path,
                        "release_id": tag,
                        "tag_name": tag,
                        "name": release.get("name"),
                        "target_sha": commit.get("id"),
                        "author_login": author.login if author else None,
                        # GitLab releases have neither drafts nor pre-releases.
                        "is_draft": False,
                        "is_prerelease": False,
                        "created_at": _parse(release.get("created_at"), self.source, what),
                        "published_at": _parse(release.get("released_at"), self.source, what),
                        "is_deleted": False,
                        "synced_at": self.now,
                    }
                )
            self.ctx.commit_page(
                self.source,
                project.path,
                "releases",
                None,
                [
                    Replace(
                        "releases", _frame(rows, RELEASE_SCHEMA), ("source", "repo", "release_id")
                    ),
                    self._identity_replace(),
                ],
            )
        # The list is complete: a stored release it lacks was deleted.
        self.ctx.commit_page(
            self.source,
            project.path,
            "releases",
            None,
            statements=[
                (
                    "UPDATE releases SET is_deleted = true WHERE source = ? AND repo = ? AND NOT is_deleted AND NOT list_contains(?::VARCHAR[], release_id)",
                    [self.source, project.path, tags],
                )
            ],
        )

    def deployments(self, project: _Project) -> None:
        stream = "deployments"
        mark = self._start(self.ctx.cursor(self.source, project.path, stream))
        params = {"order_by": "updated_at", "sort": "asc", "per_page": self.page_size}
        what = project.what("/deployments")
        for items, new in self.api.updated_since(
            project.endpoint("/deployments"), params, what, mark
        ):
            rows, statuses, scope = [], [], []
            for deployment in items:
                row, states = self._deployment(project, deployment)
                rows.append(row)
                statuses += states
                scope.append(
                    {
                        "source": self.source,
                        "repo": project.path,
                        "deployment_id": row["deployment_id"],
                    }
                )
            keys = ("source", "repo", "deployment_id")
            self.ctx.commit_page(
                self.source,
                project.path,
                stream,
                new.cursor(),
                [
                    Replace("deployments", _frame(rows, DEPLOYMENT_SCHEMA), keys),
                    Replace(
                        "deployment_statuses",
                        _frame(statuses, STATUS_SCHEMA),
                        keys,
                        scope=_frame(scope, {k: _S for k in keys}),
                    ),
                    self._identity_replace(),
                ],
            )

    def _deployment(
        self, project: _Project, deployment: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        what = project.what("/deployments")
        self.ctx.observe(
            self.source,
            "deployments",
            deployment,
            known=DEPLOYMENT_FIELDS,
            required=("id", "status", "created_at", "updated_at", "environment"),
        )
        deployment_id = str(
            require(
                deployment.get("id"), int, self.source, what, "an integer 'id' in every deployment"
            )
        )
        status = str(deployment.get("status"))
        state = DEPLOYMENT_STATES.get(status)
        if state is None:
            raise SourceResponseError(
                f"{self.source}: {what}: unknown deployment status {status!r}; expected one of {', '.join(DEPLOYMENT_STATES)}"
            )
        job = _object(deployment.get("deployable"))
        created = _parse(deployment.get("created_at"), self.source, what)
        updated = _parse(deployment.get("updated_at"), self.source, what)
        started = _parse(job.get("started_at"), self.source, what)
        finished = _parse(job.get("finished_at"), self.source, what)
        # GitLab keeps no status history for a deployment: the statuses are rebuilt from its
        # current status and the times of its job (created, started, finished).
        history: list[tuple[str, datetime | None]] = [("pending", created)]
        if started is not None and state != "pending":
            history.append(("in_progress", started))
        if state not in ("pending", "in_progress"):
            history.append((state, finished or updated))
        elif state == "in_progress" and started is None:
            history.append(("in_progress", updated))
        environment = deployment.get("environment")
        user = self.account(deployment.get("user"))
        row = {
            "source": self.source,
            "repo": project.path,
            "deployment_id": deployment_id,
            "sha": deployment.get("sha"),
            "ref": deployment.get("ref"),
            "environment": str(environment.get("name")) if isinstance(environment, dict) else "",
            "task": None,
            "creator_login": user.login if user else None,
            "created_at": created,
            "updated_at": updated,
            "latest_state": history[-1][0],
            "latest_state_at": history[-1][1],
            "is_deleted": False,
            "synced_at": self.now,
        }
        statuses = [
            {
                "source": self.source,
                "repo": project.path,
                "deployment_id": deployment_id,
                "status_id": f"{deployment_id}:{name}",
                "state": name,
                "created_at": when,
            }
            for name, when in history
            if when is not None
        ]
        return row, statuses

    # ------------------------------------------------------------------ deletions

    def reconcile(self, project: _Project) -> None:
        """Every `reconcile_days`, mark stored merge requests, issues and deployments that are gone."""
        stream = "reconcile"
        cursor = self.ctx.cursor(self.source, project.path, stream)
        last = parse_time(cursor.get("at")) if cursor else None
        if last is not None and self.now - last < timedelta(days=self.settings.reconcile_days):
            return
        if cursor is None:
            # A project's first pass just read everything there is: nothing to compare with yet.
            self.ctx.commit_page(self.source, project.path, stream, {"at": _iso(self.now)})
            return
        statements: list[tuple[str, Sequence[Any]]] = []
        if self.settings.merge_requests:
            statements += self._gone_merge_requests(project)
        if self.settings.issues:
            statements += self._gone_issues(project)
        if self.settings.deployments:
            statements += self._gone_deployments(project)
        self.ctx.commit_page(
            self.source, project.path, stream, {"at": _iso(self.now)}, statements=statements
        )

    def _stored(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return [row[0] for row in self.ctx.con.execute(sql, list(params)).fetchall()]

    def _gone_merge_requests(self, project: _Project) -> list[tuple[str, Sequence[Any]]]:
        stored = set(
            self._stored(
                "SELECT number FROM pull_requests WHERE source = ? AND repo = ? AND NOT is_deleted",
                [self.source, project.path],
            )
        )
        if not stored:
            return []
        params = {"state": "all", "view": "simple", "order_by": "created_at", "sort": "asc", "per_page": self.page_size}  # fmt: skip
        listed = {
            item.get("iid")
            for items, _ in self.api.updated_since(
                project.endpoint("/merge_requests"),
                params,
                project.what("/merge_requests"),
                _Mark(None),
                field="created_at",
            )
            for item in items
        }
        gone = [
            n for n in sorted(stored - listed) if not self._exists(project, f"/merge_requests/{n}")
        ]
        return _mr_deletions(self.source, project.path, gone) if gone else []

    def _gone_issues(self, project: _Project) -> list[tuple[str, Sequence[Any]]]:
        stored = dict(
            self.ctx.con.execute(
                "SELECT ticket_id, key FROM tickets WHERE source = ? AND project = ? AND NOT is_deleted",
                [self.source, project.path],
            ).fetchall()
        )
        if not stored:
            return []
        cursor = self.ctx.cursor(self.source, project.path, "issues") or {}
        listed: set[str] = set()
        keyset = cursor.get("keyset", True) is not False
        for items in self._all_issues(project, keyset=keyset):
            listed |= {str(i.get("id")) for i in items if i.get("moved_to_id") is None}
        gone = []
        for ticket_id in sorted(set(stored) - listed):
            iid = str(stored[ticket_id]).rsplit("#", 1)[-1]
            try:
                found = self.api.object(
                    project.endpoint(f"/issues/{iid}"), project.what(f"/issues/{iid}")
                )
            except SourceNotFoundError:
                gone.append(ticket_id)
                continue
            if found.get("moved_to_id") is not None or str(found.get("id")) != ticket_id:
                gone.append(ticket_id)
        if not gone:
            return []
        return [
            (
                "UPDATE tickets SET is_deleted = true WHERE source = ? AND list_contains(?::VARCHAR[], ticket_id)",
                [self.source, gone],
            ),
            (
                "DELETE FROM ticket_sprints WHERE source = ? AND list_contains(?::VARCHAR[], ticket_id)",
                [self.source, gone],
            ),
        ]

    def _all_issues(self, project: _Project, *, keyset: bool) -> Iterator[list[dict[str, Any]]]:
        what = project.what("/issues")
        params: dict[str, Any] = {
            "state": "all",
            "order_by": "created_at",
            "sort": "asc",
            "per_page": self.page_size,
        }
        if keyset:
            first = self.api.page(
                project.endpoint("/issues"),
                {**params, "pagination": "keyset", "order_by": "id"},
                what,
                ok=(405,),
            )
            if first.status != 405:
                yield first.items
                if first.next_url is not None:
                    yield from self.api.pages(first.next_url, {}, what, read={first.url})
                return
            self._no_keyset(project)
        for items, _ in self.api.updated_since(project.endpoint("/issues"), params, what, _Mark(None), field="created_at"):  # fmt: skip
            yield items

    def _gone_deployments(self, project: _Project) -> list[tuple[str, Sequence[Any]]]:
        stored = set(
            self._stored(
                "SELECT deployment_id FROM deployments WHERE source = ? AND repo = ? AND NOT is_deleted",
                [self.source, project.path],
            )
        )
        if not stored:
            return []
        params = {"order_by": "updated_at", "sort": "asc", "per_page": self.page_size}
        listed = {
            str(d.get("id"))
            for items, _ in self.api.updated_since(
                project.endpoint("/deployments"), params, project.what("/deployments"), _Mark(None)
            )
            for d in items
        }
        gone = [
            d for d in sorted(stored - listed) if not self._exists(project, f"/deployments/{d}")
        ]
        if not gone:
            return []
        return [
            (
                "UPDATE deployments SET is_deleted = true WHERE source = ? AND repo = ? AND list_contains(?::VARCHAR[], deployment_id)",
                [self.source, project.path, gone],
            ),
            (
                "DELETE FROM deployment_statuses WHERE source = ? AND repo = ? AND list_contains(?::VARCHAR[], deployment_id)",
                [self.source, project.path, gone],
            ),
        ]

    def _exists(self, project: _Project, tail: str) -> bool:
        try:
            self.api.object(project.endpoint(tail), project.what(tail))
        except SourceNotFoundError:
            return False
        return True

    def finish(self) -> None:
        """Mark sprints no project lists any more, when every project's list was read."""
        for kind, enabled in (
            ("iteration", self.settings.iterations),
            ("milestone", self.settings.milestones_as_sprints),
        ):
            if not enabled or not self.sprints_complete[kind]:
                continue
            self.ctx.commit_page(
                self.source,
                "",
                "sprints",
                None,
                statements=[
                    (
                        "UPDATE sprints SET is_deleted = true WHERE source = ? AND starts_with(sprint_id, ?) AND NOT is_deleted AND NOT list_contains(?::VARCHAR[], sprint_id)",
                        [self.source, f"{kind}:", sorted(self.sprints_seen[kind])],
                    )
                ],
            )


@dataclass
class _MrPage:
    """The rows of one page of merge requests, written together with the stream's cursor."""

    numbers: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    prs: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)

    def replaces(self, run: _Run, project: _Project) -> list[Replace]:
        pr_keys = ("source", "repo", "pr_number")
        scope = _frame(
            [{"source": run.source, "repo": project.path, "pr_number": n} for n in self.numbers],
            {"source": _S, "repo": _S, "pr_number": _I},
        )
        subjects = [
            {"source": run.source, "subject_kind": "pr", "repo": project.path, "subject_id": str(n)}
            for n in self.numbers
        ]
        evidence_keys = ("source", "subject_kind", "repo", "subject_id")
        link_keys = ("source", "subject_kind", "repo", "subject_id", "via")
        return [
            Replace("pull_requests", _frame(self.prs, PR_SCHEMA), ("source", "repo", "number")),
            Replace("pr_reviews", _frame(self.reviews, REVIEW_SCHEMA), pr_keys, scope=scope),
            Replace("pr_commits", _frame(self.commits, COMMIT_SCHEMA), pr_keys, scope=scope),
            Replace(
                "ai_evidence",
                _frame(self.evidence, EVIDENCE_SCHEMA),
                evidence_keys,
                scope=_frame(subjects, {k: _S for k in evidence_keys}),
            ),
            Replace(
                "ticket_links",
                _frame(self.links, LINK_SCHEMA),
                link_keys,
                scope=_frame(
                    [{**s, "via": "closing_ref"} for s in subjects], {k: _S for k in link_keys}
                ),
            ),
            run._identity_replace(),
        ]

    def statements(self, run: _Run, project: _Project) -> list[tuple[str, Sequence[Any]]]:
        return _mr_deletions(run.source, project.path, self.gone) if self.gone else []


def _mr_deletions(
    source: str, repo: str, numbers: Sequence[int]
) -> list[tuple[str, Sequence[Any]]]:
    """Mark merge requests deleted and drop what hangs off them (reviews, commits, evidence, links)."""
    ids = [str(n) for n in numbers]
    return [
        (
            "UPDATE pull_requests SET is_deleted = true WHERE source = ? AND repo = ? AND list_contains(?::INTEGER[], number)",
            [source, repo, list(numbers)],
        ),
        (
            "DELETE FROM pr_reviews WHERE source = ? AND repo = ? AND list_contains(?::INTEGER[], pr_number)",
            [source, repo, list(numbers)],
        ),
        (
            "DELETE FROM pr_commits WHERE source = ? AND repo = ? AND list_contains(?::INTEGER[], pr_number)",
            [source, repo, list(numbers)],
        ),
        (
            "DELETE FROM ai_evidence WHERE source = ? AND subject_kind = 'pr' AND repo = ? AND list_contains(?::VARCHAR[], subject_id)",
            [source, repo, ids],
        ),
        (
            "DELETE FROM ticket_links WHERE source = ? AND subject_kind = 'pr' AND via = 'closing_ref' AND repo = ? AND list_contains(?::VARCHAR[], subject_id)",
            [source, repo, ids],
        ),
    ]


# ---------------------------------------------------------------------------- helpers


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    value = when.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _parse(value: Any, source: str, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise SourceResponseError(
            f"{source}: {what}: expected an ISO 8601 timestamp, got {str(value)[:40]!r}; the API's answer is not in the documented shape"
        ) from None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _day(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    with contextlib.suppress(ValueError):
        return datetime.combine(date.fromisoformat(value[:10]), time(), UTC)
    return None


def _day_end(value: Any) -> datetime | None:
    """The end of a due date: GitLab's dates include their last day."""
    start = _day(value)
    return start + timedelta(days=1) if start else None


def _landed_sha(mr: Mapping[str, Any]) -> str | None:
    """The commit the merge put on the target branch.

    A merge commit (with or without squashing) is what lands; with fast-forward merges it is the
    squash commit, or, without squashing, the (rebased) head of the merge request.
    """
    if mr.get("state") != "merged":
        return None
    return mr.get("merge_commit_sha") or mr.get("squash_commit_sha") or mr.get("sha")


def _issue_key(issue: Mapping[str, Any], project: _Project) -> str | None:
    """`group/project#iid` for a GitLab issue, the key itself for an external (Jira) issue."""
    references = issue.get("references")
    if isinstance(references, dict) and isinstance(references.get("full"), str):
        return references["full"]
    if isinstance(issue.get("id"), str) and "iid" not in issue:
        return issue["id"]  # external tracker: {"id": "PROJ-123", "title": ...}
    iid = issue.get("iid")
    web = str(issue.get("web_url") or "")
    found = re.search(r"^https?://[^/]+/(?P<path>.+?)/-/issues/\d+", web)
    if found and iid is not None:
        return f"{found['path']}#{iid}"
    if iid is not None and issue.get("project_id") == project.data.get("id"):
        return f"{project.path}#{iid}"
    return None


def _epic_key(epic: Any) -> str | None:
    if not isinstance(epic, dict):
        return None
    found = _EPIC_URL.search(str(epic.get("url") or epic.get("web_url") or ""))
    if found:
        return f"{found['group']}&{found['iid']}"
    return f"&{epic['iid']}" if epic.get("iid") is not None else None


def sync(ctx: SyncContext, settings: GitLabSettings) -> SyncResult:
    """Read every configured project into the warehouse, incrementally and page by page."""
    token = None
    if settings.token_env is not None or settings.replay_dir is None:
        token = secret(ctx, settings, "token_env", "a GitLab access token with the read_api scope")
    headers: dict[str, str] = {}
    if token:
        headers = (
            {"Authorization": f"Bearer {token}"}
            if settings.auth_header == "bearer"
            else {"PRIVATE-TOKEN": token}
        )
    credential = f"the token in ${settings.token_env}" if settings.token_env else "the token"
    client = make_client(
        ctx,
        settings,
        base_url=settings.rest_url,
        headers=headers,
        secrets=[token] if token else [],
        credential_hint=credential,
        throttle=GitLabThrottle(credential, lambda: ctx.now().timestamp()),
        simulator=GitLabSimulator.from_dir,
    )
    with client:
        run = _Run(
            ctx,
            settings,
            _Api(client, settings.source_name),
            ctx.rules or RuleSet.load(),
            ctx.now(),
        )
        for repo in settings.repos:
            run.project(repo)
        run.finish()
        return SyncResult(
            source=settings.source_name,
            kind=FORGE,
            rows=ctx.rows_written,
            requests=client.stats.requests,
            warnings=list(run.warnings),
            scopes=[r.name for r in settings.repos],
        )
