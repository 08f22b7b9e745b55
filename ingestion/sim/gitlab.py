"""A GitLab REST v4 simulator: merge requests, approvals, issues, iterations, releases, deployments in GitLab's own shapes.

The payloads follow GitLab's API documentation (doc/api/merge_requests.md, issues.md,
iterations.md, milestones.md, releases/index.md, deployments.md, users.md, rest/_index.md) and
the API entities behind them (`API::Entities::MergeRequestApprovals`, `Approvals`, `UserBasic`,
`User`). What matters for correctness is enforced as GitLab enforces it: `per_page` is capped at
100, `updated_after` is inclusive for merge requests and issues and strict for deployments, lists
are sorted by the requested field with the id as tie-breaker, keyset pagination is refused with
405 where GitLab does not offer it, project ids must be URL-encoded paths or numbers, and tokens
travel in `PRIVATE-TOKEN` or `Authorization: Bearer`. Rate limits come with GitLab's
`RateLimit-*` headers and a 429 with `Retry-After` when a client ignores them.
"""

import base64
import copy
import hashlib
import itertools
import json
import math
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlencode

from ingestion.sim.base import SimRequest, SimResponse, Simulator, base_url_of
from ingestion.sync import parse_time

API = "/api/v4"
PROJECT = rf"{API}/projects/(?P<pid>[^/]+)"
MAX_PER_PAGE = 100
# GitLab leaves out X-Total, X-Total-Pages and rel="last" above this many records.
TOTAL_HEADERS_LIMIT = 10_000
EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Fields of the single merge request that the list endpoint does not return.
SINGLE_MR_ONLY = (
    "subscribed",
    "changes_count",
    "latest_build_started_at",
    "latest_build_finished_at",
    "first_deployed_to_production_at",
    "pipeline",
    "head_pipeline",
    "diff_refs",
    "merge_error",
    "first_contribution",
    "user",
)
SIMPLE_MR_FIELDS = (
    "id",
    "iid",
    "project_id",
    "title",
    "description",
    "state",
    "created_at",
    "updated_at",
    "web_url",
)
INSUFFICIENT_SCOPE = {
    "error": "insufficient_scope",
    "error_description": "The request requires higher privileges than provided by the access token.",
    "scope": "api read_api",
}
_COLLECTIONS = (
    "users",
    "groups",
    "projects",
    "merge_requests",
    "mr_commits",
    "mr_approvals",
    "mr_reviewers",
    "mr_closes",
    "issues",
    "iterations",
    "milestones",
    "releases",
    "deployments",
)


def iso(when: datetime | str) -> str:
    """GitLab's timestamp format: UTC with milliseconds and a Z."""
    value = parse_time(when) if isinstance(when, str) else when.astimezone(UTC)
    assert value is not None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def at(minutes: float) -> str:
    """A timestamp `minutes` after the simulator's epoch (tests build timelines with it)."""
    return iso(EPOCH + timedelta(minutes=minutes))


def _sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def _time(value: Any) -> datetime:
    parsed = parse_time(value)
    return parsed if parsed is not None else datetime.min.replace(tzinfo=UTC)


class GitLabSimulator(Simulator):
    """GitLab.com or a self-managed instance, holding a dataset tests build with the `add_*` helpers.

    `premium=False` answers the iteration endpoints with 404 as GitLab CE does; `issues_keyset`
    says whether project issues take `pagination=keyset` (GitLab 18.3 and later). `rate_limit`
    sets a budget of requests per `rate_window` seconds measured on `clock`; `scopes` the token's
    scopes; `repeat_next` (a path regex) makes list pages send a next link to themselves;
    `send_links=False` leaves out the `Link` header.
    """

    name = "gitlab"

    def __init__(
        self,
        *,
        token: str | None = None,
        latency: float = 0.0,
        host: str = "gitlab.example.com",
        premium: bool = True,
        issues_keyset: bool = True,
        scopes: Iterable[str] = ("read_api",),
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(token=token, latency=latency)
        self.host = host
        self.premium = premium
        self.issues_keyset = issues_keyset
        self.scopes = set(scopes)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.clock = clock
        self.repeat_next: str | None = None
        self.send_links = True  # False: pagination by X-Next-Page alone, as some proxies leave it
        # GitLab refuses offset pages beyond this many rows (max_offset_allowed, 50,000 by default).
        self.max_offset = 50_000
        self.rate_limited = 0  # 429s sent because a client ignored RateLimit-Remaining: 0
        self._window_start: float | None = None
        self._window_used = 0
        self._rate_lock = threading.Lock()
        self._ids = itertools.count(1000)
        self.data: dict[str, dict[str, Any]] = {name: {} for name in _COLLECTIONS}
        self._register()

    # ------------------------------------------------------------------ dataset files

    @classmethod
    def from_dir(cls, path: Path) -> Self:
        """A simulator over a folder of exports (`users.json`, `projects.json`, ...), no token check."""
        sim = cls()
        for name in _COLLECTIONS:
            file = Path(path) / f"{name}.json"
            if file.is_file():
                sim.data[name] = json.loads(file.read_text(encoding="utf-8"))
        numbers = [int(k) for k in sim.data["users"]] + [
            int(r["id"]) for rows in sim.data["issues"].values() for r in rows
        ]
        sim._ids = itertools.count(max([1000, *numbers]) + 1)
        return sim

    def to_dir(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in _COLLECTIONS:
            (path / f"{name}.json").write_text(json.dumps(self.data[name], indent=1), "utf-8")

    # ------------------------------------------------------------------ building the dataset

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        bot: bool = False,
        public_email: str = "",
        user_id: int | None = None,
    ) -> dict[str, Any]:
        uid = user_id or self.next_id()
        user = {
            "id": uid,
            "username": username,
            "public_email": public_email,
            "name": name or username.replace(".", " ").title(),
            "state": "active",
            "locked": False,
            "avatar_url": f"https://{self.host}/uploads/-/system/user/avatar/{uid}/avatar.png",
            "web_url": f"https://{self.host}/{username}",
            "created_at": at(-100_000),
            "bio": "",
            "location": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "website_url": "",
            "github": "",
            "job_title": "",
            "pronouns": None,
            "organization": "",
            "bot": bot,
            "work_information": None,
            "local_time": None,
            "followers": 0,
            "following": 0,
            "is_followed": False,
        }
        self.data["users"][str(uid)] = user
        return user

    def user(self, username: str) -> dict[str, Any]:
        for user in self.data["users"].values():
            if user["username"] == username:
                return user
        return self.add_user(username)

    def add_group(self, full_path: str) -> dict[str, Any]:
        for group in self.data["groups"].values():
            if group["full_path"] == full_path:
                return group
        parent_path, _, path = full_path.rpartition("/")
        parent = self.add_group(parent_path) if parent_path else None
        gid = self.next_id()
        group = {
            "id": gid,
            "web_url": f"https://{self.host}/groups/{full_path}",
            "name": path.replace("-", " ").title(),
            "path": path,
            "description": "",
            "visibility": "private",
            "full_name": full_path.replace("/", " / "),
            "full_path": full_path,
            "parent_id": parent["id"] if parent else None,
            "created_at": at(-200_000),
        }
        self.data["groups"][str(gid)] = group
        return group

    def add_project(
        self, full_path: str, *, default_branch: str = "main", archived: bool = False
    ) -> dict[str, Any]:
        namespace_path, _, path = full_path.rpartition("/")
        group = self.add_group(namespace_path)
        pid = self.next_id()
        project = {
            "id": pid,
            "description": None,
            "name": path.replace("-", " ").title(),
            "name_with_namespace": f"{group['full_name']} / {path}",
            "path": path,
            "path_with_namespace": full_path,
            "created_at": at(-150_000),
            "default_branch": default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{self.host}:{full_path}.git",
            "http_url_to_repo": f"https://{self.host}/{full_path}.git",
            "web_url": f"https://{self.host}/{full_path}",
            "readme_url": f"https://{self.host}/{full_path}/-/blob/{default_branch}/README.md",
            "forks_count": 0,
            "avatar_url": None,
            "star_count": 0,
            "last_activity_at": at(0),
            "namespace": {
                "id": group["id"],
                "name": group["name"],
                "path": group["path"],
                "kind": "group",
                "full_path": group["full_path"],
                "parent_id": group["parent_id"],
                "avatar_url": None,
                "web_url": group["web_url"],
            },
            "archived": archived,
            "visibility": "private",
            "empty_repo": False,
            "issues_enabled": True,
            "merge_requests_enabled": True,
            "merge_method": "merge",
            "squash_option": "default_off",
        }
        self.data["projects"][str(pid)] = project
        for collection in ("merge_requests", "issues", "releases", "deployments"):
            self.data[collection][str(pid)] = []
        return project

    def project(self, ref: str | int) -> dict[str, Any] | None:
        text = unquote(str(ref))
        if text.isdigit():
            return self.data["projects"].get(text)
        for project in self.data["projects"].values():
            if project["path_with_namespace"].lower() == text.lower():
                return project
        return None

    def _project(self, ref: str | int) -> dict[str, Any]:
        project = self.project(ref)
        if project is None:
            raise KeyError(f"no project {ref!r}")
        return project

    def _user_basic(self, username: str | dict[str, Any] | None) -> dict[str, Any] | None:
        if username is None:
            return None
        user = username if isinstance(username, dict) else self.user(username)
        keys = (
            "id",
            "username",
            "public_email",
            "name",
            "state",
            "locked",
            "avatar_url",
            "web_url",
        )
        return {k: user[k] for k in keys}

    def commit(
        self,
        title: str,
        *,
        message: str | None = None,
        author: str = "Ana Lima <ana@acme.example>",
        committer: str | None = None,
        authored: str | None = None,
        committed: str | None = None,
        sha: str | None = None,
    ) -> dict[str, Any]:
        """A commit as the merge request commits endpoint returns it."""
        name, _, email = author.partition(" <")
        cname, _, cemail = (committer or author).partition(" <")
        authored = authored or at(0)
        committed = committed or authored
        sha = sha or _sha(f"{title}{message}{author}{authored}{next(self._ids)}")
        return {
            "id": sha,
            "short_id": sha[:11],
            "created_at": _commit_time(committed),
            "parent_ids": [],
            "title": title,
            "message": message if message is not None else title,
            "author_name": name,
            "author_email": email.rstrip(">"),
            "authored_date": _commit_time(authored),
            "committer_name": cname,
            "committer_email": cemail.rstrip(">"),
            "committed_date": _commit_time(committed),
            "trailers": {},
            "extended_trailers": {},
            "web_url": f"https://{self.host}/-/commit/{sha}",
        }

    def add_merge_request(
        self,
        project: str,
        *,
        title: str,
        author: str,
        iid: int | None = None,
        description: str = "",
        state: str = "merged",
        created_at: str | None = None,
        updated_at: str | None = None,
        merged_at: str | None = None,
        closed_at: str | None = None,
        source_branch: str | None = None,
        target_branch: str = "main",
        labels: Iterable[str] = (),
        draft: bool = False,
        squash: bool = False,
        merge_user: str | None = None,
        commits: Iterable[dict[str, Any]] = (),
        approvals: Iterable[tuple[str, str]] = (),
        reviewers: Iterable[tuple[str, str]] = (),
        closes: Iterable[dict[str, Any]] = (),
        changes_count: str | None = "3",
        source_project: str | None = None,
        assignees: Iterable[str] = (),
    ) -> dict[str, Any]:
        """A merge request with its commits (oldest first), approvals and reviewers ((user, state))."""
        target = self._project(project)
        pid = target["id"]
        rows = self.data["merge_requests"][str(pid)]
        iid = iid or max([0, *(r["iid"] for r in rows)]) + 1
        created_at = created_at or at(0)
        updated_at = updated_at or merged_at or closed_at or created_at
        commit_list = list(commits) or [self.commit(title, authored=created_at)]
        head = commit_list[-1]["id"]
        merger = merge_user or (author if state == "merged" else None)
        merge_sha = squash_sha = None
        if state == "merged":
            merge_sha = _sha(f"merge {pid} {iid}")
            squash_sha = _sha(f"squash {pid} {iid}") if squash else None
        source_pid = self._project(source_project)["id"] if source_project else pid
        mr: dict[str, Any] = {
            "id": self.next_id(),
            "iid": iid,
            "project_id": pid,
            "title": title,
            "description": description,
            "state": state,
            "imported": False,
            "imported_from": "none",
            "created_at": created_at,
            "updated_at": updated_at,
            "merged_by": self._user_basic(merger) if state == "merged" else None,
            "merge_user": self._user_basic(merger),
            "merged_at": merged_at if state == "merged" else None,
            "merge_after": None,
            "prepared_at": created_at,
            "closed_by": self._user_basic(author) if state == "closed" else None,
            "closed_at": closed_at if state == "closed" else None,
            "target_branch": target_branch,
            "source_branch": source_branch or f"feature/{iid}",
            "user_notes_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "author": self._user_basic(author),
            "assignees": [self._user_basic(a) for a in assignees],
            "assignee": self._user_basic(next(iter(assignees), None)),
            "reviewers": [self._user_basic(r) for r, _ in reviewers],
            "source_project_id": source_pid,
            "target_project_id": pid,
            "labels": list(labels),
            "draft": draft,
            "work_in_progress": draft,
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "not_open" if state != "opened" else "mergeable",
            "sha": head,
            "merge_commit_sha": merge_sha,
            "squash_commit_sha": squash_sha,
            "discussion_locked": None,
            "should_remove_source_branch": True,
            "force_remove_source_branch": False,
            "allow_collaboration": False,
            "allow_maintainer_to_push": False,
            "reference": f"!{iid}",
            "references": {
                "short": f"!{iid}",
                "relative": f"!{iid}",
                "full": f"{target['path_with_namespace']}!{iid}",
            },
            "web_url": f"{target['web_url']}/-/merge_requests/{iid}",
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": squash,
            "squash_on_merge": squash,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": False,
            "blocking_discussions_resolved": True,
            "approvals_before_merge": None,
            # single merge request only
            "subscribed": False,
            "changes_count": changes_count,
            "latest_build_started_at": None,
            "latest_build_finished_at": None,
            "first_deployed_to_production_at": None,
            "pipeline": None,
            "head_pipeline": None,
            "diff_refs": {
                "base_sha": _sha(f"base {pid} {iid}"),
                "head_sha": head,
                "start_sha": _sha(f"base {pid} {iid}"),
            },
            "merge_error": None,
            "first_contribution": False,
            "user": {"can_merge": True},
        }
        rows.append(mr)
        key = f"{pid}/{iid}"
        # The endpoint lists the newest commit first, as `git log` does.
        self.data["mr_commits"][key] = list(reversed(commit_list))
        self.data["mr_approvals"][key] = [
            {"user": self._user_basic(user), "approved_at": when} for user, when in approvals
        ]
        self.data["mr_reviewers"][key] = [
            {"user": self._user_basic(user), "state": state_, "created_at": created_at}
            for user, state_ in reviewers
        ]
        self.data["mr_closes"][key] = list(closes)
        return mr

    def merge_request(self, project: str, iid: int) -> dict[str, Any]:
        pid = self._project(project)["id"]
        return next(m for m in self.data["merge_requests"][str(pid)] if m["iid"] == iid)

    def touch_merge_request(
        self, project: str, iid: int, when: str, **changes: Any
    ) -> dict[str, Any]:
        mr = self.merge_request(project, iid)
        mr.update(changes, updated_at=when)
        return mr

    def delete_merge_request(self, project: str, iid: int) -> None:
        pid = self._project(project)["id"]
        rows = self.data["merge_requests"][str(pid)]
        rows[:] = [m for m in rows if m["iid"] != iid]
        for name in ("mr_commits", "mr_approvals", "mr_reviewers", "mr_closes"):
            self.data[name].pop(f"{pid}/{iid}", None)

    def add_iteration(
        self,
        group: str,
        *,
        start_date: str,
        due_date: str,
        state: str = "closed",
        title: str | None = None,
        sequence: int | None = None,
        updated_at: str | None = None,
    ) -> dict[str, Any]:
        grp = self.add_group(group)
        rows = self.data["iterations"].setdefault(str(grp["id"]), [])
        iid = len(rows) + 1
        iteration = {
            "id": self.next_id(),
            "iid": iid,
            "sequence": sequence or iid,
            "group_id": grp["id"],
            "title": title,
            "description": None,
            "state": {"upcoming": 1, "current": 2, "closed": 3}[state],
            "created_at": at(-50_000),
            "updated_at": updated_at or at(-50_000),
            "start_date": start_date,
            "due_date": due_date,
            "web_url": f"https://{self.host}/groups/{group}/-/iterations/{iid}",
        }
        rows.append(iteration)
        return iteration

    def add_milestone(
        self,
        *,
        title: str,
        project: str | None = None,
        group: str | None = None,
        state: str = "active",
        start_date: str | None = None,
        due_date: str | None = None,
        updated_at: str | None = None,
    ) -> dict[str, Any]:
        owner: dict[str, Any] = {}
        if project is not None:
            proj = self._project(project)
            owner = {"project_id": proj["id"]}
            base = proj["web_url"]
        else:
            grp = self.add_group(group or "")
            owner = {"group_id": grp["id"]}
            base = grp["web_url"]
        mid = self.next_id()
        milestone = {
            "id": mid,
            "iid": len(self.data["milestones"]) + 1,
            **owner,
            "title": title,
            "description": "",
            "state": state,
            "created_at": at(-40_000),
            "updated_at": updated_at or at(-40_000),
            "due_date": due_date,
            "start_date": start_date,
            "expired": False,
            "web_url": f"{base}/-/milestones/{mid}",
        }
        self.data["milestones"][str(mid)] = milestone
        return milestone

    def add_issue(
        self,
        project: str,
        *,
        title: str,
        author: str,
        iid: int | None = None,
        description: str = "",
        state: str = "opened",
        issue_type: str = "issue",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
        weight: int | None = None,
        iteration: dict[str, Any] | None = None,
        milestone: dict[str, Any] | None = None,
        epic: tuple[str, int] | None = None,
        created_at: str | None = None,
        updated_at: str | None = None,
        closed_at: str | None = None,
    ) -> dict[str, Any]:
        proj = self._project(project)
        pid = proj["id"]
        rows = self.data["issues"][str(pid)]
        iid = iid or max([0, *(r["iid"] for r in rows)]) + 1
        created_at = created_at or at(0)
        people = [self._user_basic(a) for a in assignees]
        issue = {
            "id": self.next_id(),
            "iid": iid,
            "project_id": pid,
            "title": title,
            "description": description,
            "state": state,
            "created_at": created_at,
            "updated_at": updated_at or closed_at or created_at,
            "closed_at": closed_at if state == "closed" else None,
            "closed_by": self._user_basic(author) if state == "closed" else None,
            "labels": list(labels),
            "milestone": milestone,
            "assignees": people,
            "author": self._user_basic(author),
            "type": issue_type.upper(),
            "assignee": people[0] if people else None,
            "user_notes_count": 0,
            "merge_requests_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "due_date": None,
            "confidential": False,
            "discussion_locked": None,
            "issue_type": issue_type,
            "web_url": f"{proj['web_url']}/-/issues/{iid}",
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "task_completion_status": {"count": 0, "completed_count": 0},
            "weight": weight,
            "blocking_issues_count": 0,
            "has_tasks": False,
            "_links": {
                "self": f"https://{self.host}{API}/projects/{pid}/issues/{iid}",
                "notes": f"https://{self.host}{API}/projects/{pid}/issues/{iid}/notes",
                "award_emoji": f"https://{self.host}{API}/projects/{pid}/issues/{iid}/award_emoji",
                "project": f"https://{self.host}{API}/projects/{pid}",
                "closed_as_duplicate_of": None,
            },
            "references": {
                "short": f"#{iid}",
                "relative": f"#{iid}",
                "full": f"{proj['path_with_namespace']}#{iid}",
            },
            "severity": "UNKNOWN",
            "subscribed": False,
            "moved_to_id": None,
            "imported": False,
            "imported_from": "none",
            "service_desk_reply_to": None,
            "epic_iid": epic[1] if epic else None,
            "epic": self._epic(*epic) if epic else None,
            "iteration": iteration,
            "health_status": None,
        }
        rows.append(issue)
        return issue

    def _epic(self, group: str, iid: int) -> dict[str, Any]:
        return {
            "id": self.next_id(),
            "iid": iid,
            "title": f"Epic {iid}",
            "url": f"/groups/{group}/-/epics/{iid}",
            "group_id": self.add_group(group)["id"],
        }

    def issue(self, project: str, iid: int) -> dict[str, Any]:
        pid = self._project(project)["id"]
        return next(i for i in self.data["issues"][str(pid)] if i["iid"] == iid)

    def touch_issue(self, project: str, iid: int, when: str, **changes: Any) -> dict[str, Any]:
        issue = self.issue(project, iid)
        issue.update(changes, updated_at=when)
        return issue

    def delete_issue(self, project: str, iid: int) -> None:
        pid = self._project(project)["id"]
        rows = self.data["issues"][str(pid)]
        rows[:] = [i for i in rows if i["iid"] != iid]

    def move_issue(self, project: str, iid: int, to_project: str, when: str) -> dict[str, Any]:
        """GitLab's move: a copy in the other project, the original closed with `moved_to_id`."""
        old = self.issue(project, iid)
        dest = self._project(to_project)
        new = copy.deepcopy(old)
        rows = self.data["issues"][str(dest["id"])]
        new_iid = max([0, *(r["iid"] for r in rows)]) + 1
        new.update(
            id=self.next_id(),
            iid=new_iid,
            project_id=dest["id"],
            created_at=when,
            updated_at=when,
            web_url=f"{dest['web_url']}/-/issues/{new_iid}",
            references={
                "short": f"#{new_iid}",
                "relative": f"#{new_iid}",
                "full": f"{dest['path_with_namespace']}#{new_iid}",
            },
        )
        rows.append(new)
        old.update(state="closed", closed_at=when, updated_at=when, moved_to_id=new["id"])
        return new

    @staticmethod
    def external_issue(key: str, title: str = "External issue") -> dict[str, Any]:
        """An issue of an external tracker (Jira) as `closes_issues` lists it."""
        return {"id": key, "title": title}

    def add_release(
        self,
        project: str,
        *,
        tag_name: str,
        author: str,
        released_at: str,
        created_at: str | None = None,
        name: str | None = None,
        description: str = "",
        sha: str | None = None,
    ) -> dict[str, Any]:
        proj = self._project(project)
        sha = sha or _sha(f"tag {tag_name}")
        release = {
            "name": name or tag_name,
            "tag_name": tag_name,
            "description": description,
            "created_at": created_at or released_at,
            "released_at": released_at,
            "upcoming_release": False,
            "author": self._user_basic(author),
            "commit": {
                "id": sha,
                "short_id": sha[:8],
                "title": f"Release {tag_name}",
                "created_at": _commit_time(released_at),
                "parent_ids": [],
                "message": f"Release {tag_name}",
                "author_name": "Ana Lima",
                "author_email": "ana@acme.example",
                "authored_date": _commit_time(released_at),
                "committer_name": "Ana Lima",
                "committer_email": "ana@acme.example",
                "committed_date": _commit_time(released_at),
            },
            "milestones": [],
            "commit_path": f"/{proj['path_with_namespace']}/-/commit/{sha}",
            "tag_path": f"/{proj['path_with_namespace']}/-/tags/{tag_name}",
            "assets": {"count": 0, "sources": [], "links": []},
            "evidences": [],
            "_links": {
                "self": f"{proj['web_url']}/-/releases/{tag_name}",
                "edit_url": f"{proj['web_url']}/-/releases/{tag_name}/edit",
            },
        }
        self.data["releases"][str(proj["id"])].append(release)
        return release

    def add_deployment(
        self,
        project: str,
        *,
        environment: str,
        status: str,
        user: str,
        created_at: str,
        updated_at: str | None = None,
        started_at: str | None = None,
        finished_at: str | None = None,
        ref: str = "main",
        sha: str | None = None,
        with_job: bool = True,
    ) -> dict[str, Any]:
        proj = self._project(project)
        rows = self.data["deployments"][str(proj["id"])]
        did = self.next_id()
        sha = sha or _sha(f"deploy {did}")
        who = self._user_basic(user)
        job = None
        if with_job:
            job = {
                "id": self.next_id(),
                "status": status,
                "stage": "deploy",
                "name": f"deploy:{environment}",
                "ref": ref,
                "tag": False,
                "coverage": None,
                "allow_failure": False,
                "created_at": created_at,
                "started_at": started_at,
                "finished_at": finished_at,
                "erased_at": None,
                "duration": None,
                "queued_duration": 1.2,
                "user": who,
                "commit": {
                    "id": sha,
                    "short_id": sha[:8],
                    "created_at": _commit_time(created_at),
                    "parent_ids": [],
                    "title": "Deploy",
                    "message": "Deploy",
                    "author_name": "Ana Lima",
                    "author_email": "ana@acme.example",
                    "authored_date": _commit_time(created_at),
                    "committer_name": "Ana Lima",
                    "committer_email": "ana@acme.example",
                    "committed_date": _commit_time(created_at),
                    "web_url": f"{proj['web_url']}/-/commit/{sha}",
                },
                "pipeline": {
                    "id": self.next_id(),
                    "iid": len(rows) + 1,
                    "project_id": proj["id"],
                    "sha": sha,
                    "ref": ref,
                    "status": status,
                    "source": "push",
                    "created_at": created_at,
                    "updated_at": updated_at or created_at,
                    "web_url": f"{proj['web_url']}/-/pipelines/{did}",
                },
                "web_url": f"{proj['web_url']}/-/jobs/{did}",
                "project": {"ci_job_token_scope_enabled": False},
                "artifacts": [],
                "runner": None,
                "artifacts_expire_at": None,
                "tag_list": [],
            }
        deployment = {
            "id": did,
            "iid": len(rows) + 1,
            "ref": ref,
            "sha": sha,
            "created_at": created_at,
            "updated_at": updated_at or finished_at or created_at,
            "status": status,
            "user": who,
            "environment": {
                "id": zlib.crc32(environment.encode()) % 10_000,
                "name": environment,
                "slug": environment,
                "external_url": f"https://{environment}.acme.example",
                "created_at": at(-90_000),
                "updated_at": at(-90_000),
            },
            "deployable": job,
        }
        rows.append(deployment)
        return deployment

    def deployment(self, project: str, deployment_id: int) -> dict[str, Any]:
        pid = self._project(project)["id"]
        return next(d for d in self.data["deployments"][str(pid)] if d["id"] == deployment_id)

    def delete_deployment(self, project: str, deployment_id: int) -> None:
        pid = self._project(project)["id"]
        rows = self.data["deployments"][str(pid)]
        rows[:] = [d for d in rows if d["id"] != deployment_id]

    # ------------------------------------------------------------------ auth, limits, errors

    def authorised(self, request: SimRequest) -> bool:
        if self.token is None:
            return True
        return (
            request.headers.get("private-token") == self.token
            or request.headers.get("authorization") == f"Bearer {self.token}"
        )

    def unauthorised(self, request: SimRequest) -> SimResponse:
        return SimResponse(401, {"message": "401 Unauthorized"})

    def not_found(self, request: SimRequest) -> SimResponse:
        return SimResponse(404, {"error": "404 Not Found"})

    def _dispatch(self, request: SimRequest) -> SimResponse:
        limit_headers, refused = self._rate(request)
        if refused is not None:
            return refused
        if not self.scopes & {"api", "read_api"}:
            header = 'Bearer realm="", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", scope="api read_api"'
            return SimResponse(
                403, dict(INSUFFICIENT_SCOPE), {"WWW-Authenticate": header, **limit_headers}
            )
        try:
            response = super()._dispatch(request)
        except _NotFound as missing:
            response = SimResponse(404, {"message": f"404 {missing.what} Not Found"})
        response.headers.update(limit_headers)
        return response

    def _rate(self, request: SimRequest) -> tuple[dict[str, str], SimResponse | None]:
        if self.rate_limit is None:
            return {}, None
        with self._rate_lock:
            now = self.clock()
            # A microsecond of slack: a client that waits until the announced reset is on time.
            if self._window_start is None or now + 1e-6 >= self._window_start + self.rate_window:
                self._window_start, self._window_used = now, 0
            reset = self._window_start + self.rate_window
            headers = {
                "RateLimit-Limit": str(self.rate_limit),
                "RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Reset": str(math.ceil(reset)),
                "RateLimit-ResetTime": format_datetime(
                    datetime.fromtimestamp(reset, UTC), usegmt=True
                ),
            }
            if self._window_used >= self.rate_limit:
                self.rate_limited += 1
                headers |= {
                    "RateLimit-Observed": str(self._window_used),
                    "RateLimit-Remaining": "0",
                    "Retry-After": str(max(1, math.ceil(reset - now))),
                }
                return headers, SimResponse(
                    429, b"Retry later\n", {**headers, "Content-Type": "text/plain"}
                )
            self._window_used += 1
            headers |= {
                "RateLimit-Observed": str(self._window_used),
                "RateLimit-Remaining": str(self.rate_limit - self._window_used),
            }
            return headers, None

    # ------------------------------------------------------------------ routes

    def _register(self) -> None:
        routes: list[tuple[str, Callable[[SimRequest, re.Match[str]], SimResponse]]] = [
            (rf"{PROJECT}/merge_requests", self._list_merge_requests),
            (rf"{PROJECT}/merge_requests/(?P<iid>\d+)", self._get_merge_request),
            (rf"{PROJECT}/merge_requests/(?P<iid>\d+)/commits", self._mr_commits),
            (rf"{PROJECT}/merge_requests/(?P<iid>\d+)/approvals", self._mr_approvals),
            (rf"{PROJECT}/merge_requests/(?P<iid>\d+)/reviewers", self._mr_reviewers),
            (rf"{PROJECT}/merge_requests/(?P<iid>\d+)/closes_issues", self._mr_closes),
            (rf"{PROJECT}/issues", self._list_issues),
            (rf"{PROJECT}/issues/(?P<iid>\d+)", self._get_issue),
            (rf"{PROJECT}/iterations", self._project_iterations),
            (rf"{API}/groups/(?P<gid>[^/]+)/iterations", self._group_iterations),
            (rf"{PROJECT}/milestones", self._project_milestones),
            (rf"{PROJECT}/releases", self._list_releases),
            (rf"{PROJECT}/deployments", self._list_deployments),
            (rf"{PROJECT}/deployments/(?P<did>\d+)", self._get_deployment),
            (rf"{API}/users/(?P<uid>\d+)", self._get_user),
            (rf"{API}/groups/(?P<gid>[^/]+)", self._get_group),
            (PROJECT, self._get_project),
        ]
        for pattern, handler in routes:
            self.route("GET", pattern, handler)

    def _project_of(self, match: re.Match[str]) -> dict[str, Any]:
        project = self.project(match["pid"])
        if project is None:
            raise _NotFound("Project")
        return project

    def _get_project(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        return SimResponse(200, self._project_of(match))

    def _get_group(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        ref = unquote(match["gid"])
        for group in self.data["groups"].values():
            if str(group["id"]) == ref or group["full_path"] == ref:
                return SimResponse(200, group)
        raise _NotFound("Group")

    def _get_user(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        user = self.data["users"].get(match["uid"])
        if user is None:
            raise _NotFound("User")
        return SimResponse(200, user)

    def _mr_key(self, match: re.Match[str]) -> tuple[dict[str, Any], str]:
        project = self._project_of(match)
        iid = int(match["iid"])
        for mr in self.data["merge_requests"][str(project["id"])]:
            if mr["iid"] == iid:
                return mr, f"{project['id']}/{iid}"
        raise _NotFound("Merge Request")

    def _list_merge_requests(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        if request.arg("pagination") == "keyset":
            return SimResponse(
                405, {"error": "Keyset pagination is not yet available for this type of request"}
            )
        rows = list(self.data["merge_requests"][str(project["id"])])
        state = request.arg("state", "all")
        if state != "all":
            rows = [r for r in rows if r["state"] == state]
        iids = request.query.get("iids[]")
        if iids:
            rows = [r for r in rows if str(r["iid"]) in iids]
        rows = _time_filter(request, rows, strict=False, created=True)
        order = request.arg("order_by", "created_at") or "created_at"
        if order not in ("created_at", "updated_at", "merged_at", "title"):
            return SimResponse(400, {"error": "order_by does not have a valid value"})
        rows = _sorted(rows, order, request.arg("sort", "desc") == "desc")
        if request.arg("view") == "simple":
            rows = [{k: r[k] for k in SIMPLE_MR_FIELDS} for r in rows]
        else:
            rows = [{k: v for k, v in r.items() if k not in SINGLE_MR_ONLY} for r in rows]
        return self._offset_page(request, rows)

    def _get_merge_request(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        mr, _ = self._mr_key(match)
        return SimResponse(200, mr)

    def _mr_commits(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        _, key = self._mr_key(match)
        return self._offset_page(request, self.data["mr_commits"].get(key, []))

    def _mr_approvals(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        mr, key = self._mr_key(match)
        approved_by = self.data["mr_approvals"].get(key, [])
        return SimResponse(
            200,
            {
                "id": mr["id"],
                "iid": mr["iid"],
                "project_id": mr["project_id"],
                "title": mr["title"],
                "description": mr["description"],
                "state": mr["state"],
                "created_at": mr["created_at"],
                "updated_at": mr["updated_at"],
                "merge_status": mr["merge_status"],
                "approved": bool(approved_by),
                "approvals_required": 1,
                "approvals_left": 0 if approved_by else 1,
                "require_password_to_approve": False,
                "approved_by": approved_by,
                "suggested_approvers": [],
                "approvers": [],
                "approver_groups": [],
                "user_has_approved": False,
                "user_can_approve": True,
                "approval_rules_left": [],
                "has_approval_rules": True,
                "merge_request_approvers_available": True,
                "multiple_approval_rules_available": True,
                "invalid_approvers_rules": [],
            },
        )

    def _mr_reviewers(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        _, key = self._mr_key(match)
        return SimResponse(200, self.data["mr_reviewers"].get(key, []))

    def _mr_closes(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        _, key = self._mr_key(match)
        return self._offset_page(request, self.data["mr_closes"].get(key, []))

    def _list_issues(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        rows = list(self.data["issues"][str(project["id"])])
        state = request.arg("state", "all")
        if state != "all":
            rows = [r for r in rows if r["state"] == state]
        rows = _time_filter(request, rows, strict=False, created=True)
        order = request.arg("order_by", "created_at") or "created_at"
        descending = request.arg("sort", "desc") == "desc"
        if request.arg("pagination") == "keyset":
            if not self.issues_keyset or order not in ("created_at", "updated_at", "id"):
                return SimResponse(
                    405,
                    {"error": "Keyset pagination is not yet available for this type of request"},
                )
            return self._keyset_page(request, rows, order, descending)
        if order not in (
            "created_at",
            "updated_at",
            "title",
            "due_date",
            "weight",
            "relative_position",
            "priority",
        ):
            return SimResponse(400, {"error": "order_by does not have a valid value"})
        return self._offset_page(request, _sorted(rows, order, descending))

    def _get_issue(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        for issue in self.data["issues"][str(project["id"])]:
            if issue["iid"] == int(match["iid"]):
                return SimResponse(200, issue)
        raise _NotFound("Issue")

    def _ancestors(self, group_id: int) -> list[dict[str, Any]]:
        chain: list[dict[str, Any]] = []
        current: int | None = group_id
        while current is not None:
            group = self.data["groups"].get(str(current))
            if group is None:
                break
            chain.append(group)
            current = group["parent_id"]
        return chain

    def _iterations_of(self, groups: list[dict[str, Any]], request: SimRequest) -> SimResponse:
        if not self.premium:
            return self.not_found(request)
        rows = [it for g in groups for it in self.data["iterations"].get(str(g["id"]), [])]
        state = request.arg("state", "all")
        wanted = {
            "opened": {1, 2},
            "upcoming": {1},
            "current": {2},
            "started": {2},
            "closed": {3},
        }.get(state or "all")
        if wanted is not None:
            rows = [r for r in rows if r["state"] in wanted]
        rows = _time_filter(request, rows, strict=True)
        return self._offset_page(request, sorted(rows, key=lambda r: (r["due_date"], r["id"])))

    def _project_iterations(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        chain = self._ancestors(project["namespace"]["id"])
        if request.arg("include_ancestors", "true") == "false":
            chain = chain[:1]
        return self._iterations_of(chain, request)

    def _group_iterations(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        ref = unquote(match["gid"])
        group = next(
            (
                g
                for g in self.data["groups"].values()
                if str(g["id"]) == ref or g["full_path"] == ref
            ),
            None,
        )
        if group is None:
            raise _NotFound("Group")
        chain = self._ancestors(group["id"])
        if request.arg("include_ancestors", "true") == "false":
            chain = chain[:1]
        return self._iterations_of(chain, request)

    def _project_milestones(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        groups = {g["id"] for g in self._ancestors(project["namespace"]["id"])}
        ancestors = (
            request.arg("include_ancestors", request.arg("include_parent_milestones", "false"))
            == "true"
        )
        rows = [
            m
            for m in self.data["milestones"].values()
            if m.get("project_id") == project["id"] or (ancestors and m.get("group_id") in groups)
        ]
        state = request.arg("state")
        if state:
            rows = [r for r in rows if r["state"] == state]
        rows = _time_filter(request, rows, strict=True)
        return self._offset_page(request, sorted(rows, key=lambda r: r["id"], reverse=True))

    def _list_releases(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        rows = list(self.data["releases"][str(project["id"])])
        order = request.arg("order_by", "released_at") or "released_at"
        if order not in ("released_at", "created_at"):
            return SimResponse(400, {"error": "order_by does not have a valid value"})
        descending = request.arg("sort", "desc") == "desc"
        rows = sorted(rows, key=lambda r: (_time(r[order]), r["tag_name"]), reverse=descending)
        return self._offset_page(request, rows)

    def _list_deployments(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        rows = list(self.data["deployments"][str(project["id"])])
        order = request.arg("order_by", "id") or "id"
        if (
            request.arg("updated_after") or request.arg("updated_before")
        ) and order != "updated_at":
            return SimResponse(
                400,
                {
                    "message": "400 Bad request - `updated_at` filter and `updated_at` sorting must be paired"
                },
            )
        for name in ("environment", "status"):
            value = request.arg(name)
            if value:
                rows = [
                    r
                    for r in rows
                    if (r["environment"]["name"] if name == "environment" else r[name]) == value
                ]
        rows = _time_filter(request, rows, strict=True)
        if order not in ("id", "iid", "created_at", "updated_at", "finished_at", "ref"):
            return SimResponse(400, {"error": "order_by does not have a valid value"})
        return self._offset_page(
            request, _sorted(rows, order, request.arg("sort", "asc") == "desc")
        )

    def _get_deployment(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        project = self._project_of(match)
        for deployment in self.data["deployments"][str(project["id"])]:
            if deployment["id"] == int(match["did"]):
                return SimResponse(200, deployment)
        raise _NotFound("Deployment")

    # ------------------------------------------------------------------ pagination

    def _url(self, request: SimRequest, params: Mapping[str, Any]) -> str:
        pairs = [
            (k, v)
            for k, values in params.items()
            for v in (values if isinstance(values, list) else [values])
        ]
        return f"{base_url_of(request)}{request.path}?{urlencode(pairs)}"

    def _offset_page(self, request: SimRequest, rows: list[dict[str, Any]]) -> SimResponse:
        per_page = min(max(request.int_arg("per_page", 20), 1), MAX_PER_PAGE)
        page = max(request.int_arg("page", 1), 1)
        if (page - 1) * per_page >= self.max_offset:
            kind = {"merge_requests": "MergeRequest", "deployments": "Deployment", "issues": "Issue"}.get(request.path.rsplit("/", 1)[-1], "Object")  # fmt: skip
            return SimResponse(405, {"message": f"405 Method Not Allowed - Offset pagination has a maximum allowed offset of {self.max_offset} for requests that return objects of type {kind}. Remaining records can be retrieved using keyset pagination."})  # fmt: skip
        total = len(rows)
        pages = max(1, math.ceil(total / per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        query: dict[str, Any] = {
            k: (v if len(v) > 1 or k.endswith("[]") else v[0])
            for k, v in request.query.items()
            if k != "page"
        }
        query["per_page"] = str(per_page)
        links: list[str] = []
        next_page = page + 1 if page < pages else None
        if self.repeat_next and re.search(self.repeat_next, request.path):
            next_page = page
        if next_page is not None:
            links.append(f'<{self._url(request, {**query, "page": str(next_page)})}>; rel="next"')
        if page > 1:
            links.append(f'<{self._url(request, {**query, "page": str(page - 1)})}>; rel="prev"')
        links.append(f'<{self._url(request, {**query, "page": "1"})}>; rel="first"')
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(next_page or ""),
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        if total <= TOTAL_HEADERS_LIMIT:
            links.append(f'<{self._url(request, {**query, "page": str(pages)})}>; rel="last"')
            headers |= {"X-Total": str(total), "X-Total-Pages": str(pages)}
        if self.send_links:
            headers["Link"] = ", ".join(links)
        return SimResponse(200, chunk, headers)

    def _keyset_page(
        self, request: SimRequest, rows: list[dict[str, Any]], order: str, descending: bool
    ) -> SimResponse:
        per_page = min(max(request.int_arg("per_page", 20), 1), MAX_PER_PAGE)

        def key(row: dict[str, Any]) -> tuple[Any, int]:
            return ((_time(row[order]) if order != "id" else row["id"]), row["id"])

        rows = sorted(rows, key=key, reverse=descending)
        cursor = request.arg("cursor")
        if cursor:
            decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            mark = (
                (_time(decoded[order]) if order != "id" else int(decoded["id"])),
                int(decoded["id"]),
            )
            rows = [r for r in rows if (key(r) < mark if descending else key(r) > mark)]
        chunk = rows[:per_page]
        headers: dict[str, str] = {}
        if len(rows) > per_page or (self.repeat_next and re.search(self.repeat_next, request.path)):
            last = chunk[-1]
            token = (
                base64.urlsafe_b64encode(
                    json.dumps({order: last[order], "id": str(last["id"]), "_kd": "n"}).encode()
                )
                .decode()
                .rstrip("=")
            )
            if self.repeat_next and re.search(self.repeat_next, request.path) and cursor:
                token = cursor
            query: dict[str, Any] = {k: v[0] for k, v in request.query.items() if k != "cursor"}
            query["per_page"] = str(per_page)
            headers["Link"] = f'<{self._url(request, {**query, "cursor": token})}>; rel="next"'
            headers["X-Next-Cursor"] = token
        return SimResponse(200, chunk, headers)


class _NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _commit_time(value: str) -> str:
    parsed = _time(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _sorted(rows: list[dict[str, Any]], field: str, descending: bool) -> list[dict[str, Any]]:
    def key(row: dict[str, Any]) -> tuple[Any, int]:
        value = row.get(field)
        if field in ("id", "iid", "weight"):
            return (value if value is not None else -1, row["id"])
        if field in ("title", "ref"):
            return (value or "", row["id"])
        return (_time(value), row["id"])

    return sorted(rows, key=key, reverse=descending)


def _time_filter(
    request: SimRequest, rows: list[dict[str, Any]], *, strict: bool, created: bool = False
) -> list[dict[str, Any]]:
    """`updated_after`/`updated_before`, and `created_*` where the endpoint has them."""
    for field in ("updated", "created") if created else ("updated",):
        after = parse_time(request.arg(f"{field}_after"))
        before = parse_time(request.arg(f"{field}_before"))
        key = f"{field}_at"
        if after is not None:
            rows = [r for r in rows if (_time(r[key]) > after if strict else _time(r[key]) >= after)]  # fmt: skip
        if before is not None:
            rows = [r for r in rows if _time(r[key]) <= before]
    return rows
