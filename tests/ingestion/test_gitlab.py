"""The GitLab connector over real HTTP against the GitLab simulator: mapping, paging, limits, faults, resumption, deletions."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.connectors import run_source
from ingestion.http import SourceAccessError, SourceResponseError, SourceUnavailableError
from ingestion.settings import GitLabSettings
from ingestion.sim.base import Fault, SimRequest
from ingestion.sim.gitlab import GitLabSimulator, at
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import connect, migrate

TOKEN = "glpat-Zq8sVx2LwT4nRk7mPa9c"
PROJECT = "acme/platform/web"
ENCODED = "acme%2Fplatform%2Fweb"
# Unique strings placed in descriptions and commit message bodies: none may reach the warehouse.
MARKERS = ("MRBODY-b61f0c2e", "ISSUEBODY-4d8a7e19", "COMMITBODY-93c5a1f7", "RELEASEBODY-0e2b6d58")
CLAUDE_FOOTER = "🤖 Generated with [Claude Code](https://claude.com/claude-code)"
# Columns that differ between runs by design (when and by which run a row was written).
VOLATILE = {"synced_at", "run_id", "last_seen_at"}
TABLES = (
    "forge_repos",
    "pull_requests",
    "pr_reviews",
    "pr_commits",
    "ai_evidence",
    "ticket_links",
    "identities",
    "tickets",
    "ticket_sprints",
    "sprints",
    "boards",
    "releases",
    "deployments",
    "deployment_statuses",
)


def world(sim: GitLabSimulator) -> GitLabSimulator:
    """A small organisation: one project in a nested group, a fork, seven merge requests in every
    state and merge method, issues of every type, iterations in two ancestor groups, milestones,
    releases and deployments."""
    sim.add_user("ana", name="Ana Lima", public_email="ana@acme.example")
    sim.add_user("bo", name="Bo Chen")
    sim.add_user("cy", name="Cy Park")
    sim.add_user("project_17_bot_5f2a9c", name="deploy token bot", bot=True)
    sim.add_user("GitLabDuo", name="GitLab Duo", bot=True)
    sim.add_user("service_account_group_9_ab12", name="Release automation", bot=True)
    sim.add_project(PROJECT)
    sim.add_project("bo/web-fork")
    sprint_1 = sim.add_iteration(
        "acme", start_date="2026-02-16", due_date="2026-03-01", state="closed"
    )
    sprint_2 = sim.add_iteration(
        "acme/platform", start_date="2026-03-02", due_date="2026-03-15", state="current"
    )
    sim.add_iteration(
        "acme/platform",
        start_date="2026-03-16",
        due_date="2026-03-29",
        state="upcoming",
        title="Hardening",
    )
    release_ms = sim.add_milestone(
        title="v2.0",
        project=PROJECT,
        state="active",
        start_date="2026-03-02",
        due_date="2026-03-31",
    )
    sim.add_milestone(title="Q1 goals", group="acme", state="closed", due_date="2026-03-31")

    bug = sim.add_issue(
        PROJECT,
        title="Login fails on Safari",
        author="bo",
        labels=["type::bug", "frontend"],
        weight=3,
        iteration=sprint_2,
        assignees=["ana"],
        description=f"Steps: {MARKERS[1]}",
        epic=("acme", 4),
        created_at=at(1),
    )
    sim.add_issue(
        PROJECT,
        title="Checkout outage",
        author="cy",
        issue_type="incident",
        state="closed",
        created_at=at(2),
        closed_at=at(30),
    )
    sim.add_issue(
        PROJECT,
        title="Write migration",
        author="ana",
        issue_type="task",
        labels=["workflow::in dev"],
        iteration=sprint_1,
        created_at=at(3),
    )
    sim.add_issue(
        PROJECT,
        title="Dark mode",
        author="bo",
        labels=["feature"],
        milestone=release_ms,
        created_at=at(4),
        updated_at=at(44),
    )
    sim.add_issue(PROJECT, title="Tidy README", author="cy", created_at=at(5))

    def commits(
        n: int, *, claude: bool = False, author: str = "Ana Lima <ana@acme.example>"
    ) -> list[dict[str, Any]]:
        trailer = "\n\nCo-authored-by: Claude <noreply@anthropic.com>\n" if claude else "\n"
        return [
            sim.commit(
                f"Change {n}.{k}",
                message=f"Change {n}.{k}\n\nThis explains why {MARKERS[2]} matters.{trailer}",
                author=author,
                authored=at(10 * n + k),
            )
            for k in range(2)
        ]

    sim.add_merge_request(
        PROJECT,
        title="Fix Safari login",
        author="ana",
        created_at=at(10),
        merged_at=at(15),
        description=f"Closes #1. {MARKERS[0]}\n\n{CLAUDE_FOOTER}",
        labels=["frontend"],
        source_branch="fix/safari-login",
        commits=commits(1, claude=True),
        approvals=[("bo", at(14))],
        reviewers=[("bo", "approved"), ("GitLabDuo", "reviewed")],
        closes=[bug, sim.external_issue("OPS-77")],
        merge_user="bo",
    )
    sim.add_merge_request(
        PROJECT,
        title="Squash and fast-forward",
        author="bo",
        created_at=at(20),
        merged_at=at(25),
        squash=True,
        commits=commits(2),
        reviewers=[("cy", "requested_changes")],
    )
    sim.touch_merge_request(PROJECT, 2, at(25), merge_commit_sha=None)
    sim.add_merge_request(
        PROJECT,
        title="Rebase and fast-forward",
        author="cy",
        created_at=at(30),
        merged_at=at(35),
        commits=commits(3),
    )
    sim.touch_merge_request(PROJECT, 3, at(35), merge_commit_sha=None)
    sim.add_merge_request(
        PROJECT,
        title="Update dependency lodash to v4.17.21",
        author="project_17_bot_5f2a9c",
        state="opened",
        draft=True,
        created_at=at(40),
        updated_at=at(41),
        source_branch="renovate/lodash-4.x",
        labels=["dependencies"],
        commits=commits(4, author="deploy token bot <project17_bot@noreply.gitlab.example>"),
        reviewers=[("ana", "unreviewed")],
    )
    sim.add_merge_request(
        PROJECT,
        title="Abandoned spike",
        author="bo",
        state="closed",
        created_at=at(50),
        closed_at=at(52),
        commits=commits(5),
    )
    sim.add_merge_request(
        PROJECT,
        title="Merging right now",
        author="ana",
        state="locked",
        created_at=at(60),
        updated_at=at(61),
        commits=commits(6),
    )
    sim.add_merge_request(
        PROJECT,
        title="Contribution from a fork",
        author="bo",
        created_at=at(70),
        merged_at=at(75),
        source_project="bo/web-fork",
        changes_count="1000+",
        commits=commits(7),
    )

    sim.add_release(
        PROJECT, tag_name="v1.9.0", author="ana", released_at=at(16), description=MARKERS[3]
    )
    sim.add_release(
        PROJECT, tag_name="v2.0.0", author="service_account_group_9_ab12", released_at=at(76)
    )
    sim.add_deployment(
        PROJECT,
        environment="production",
        status="success",
        user="ana",
        created_at=at(17),
        started_at=at(18),
        finished_at=at(19),
    )
    sim.add_deployment(
        PROJECT,
        environment="production",
        status="failed",
        user="bo",
        created_at=at(36),
        started_at=at(37),
        finished_at=at(38),
    )
    sim.add_deployment(
        PROJECT,
        environment="staging",
        status="running",
        user="cy",
        created_at=at(77),
        started_at=at(78),
        updated_at=at(78),
    )
    sim.add_deployment(
        PROJECT,
        environment="staging",
        status="created",
        user="cy",
        created_at=at(79),
        with_job=False,
    )
    sim.add_deployment(
        PROJECT,
        environment="review/x",
        status="canceled",
        user="ana",
        created_at=at(80),
        started_at=at(81),
        finished_at=at(82),
    )
    return sim


@pytest.fixture
def sim() -> GitLabSimulator:
    return world(GitLabSimulator(token=TOKEN))


@pytest.fixture
def url(sim: GitLabSimulator) -> Iterator[str]:
    with sim.serve() as base:
        yield base


class Warehouse:
    """A fresh warehouse and the context a connector runs in (injected sleep, fixed clock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sleeps: list[float] = []
        self.warnings: list[str] = []
        self.now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
        self.result: SyncResult | None = None

    def run(self, url: str, **settings: Any) -> SyncResult:
        config = {
            "type": "gitlab",
            "base_url": url,
            "token_env": "GL_TOKEN",
            "repos": [PROJECT],
            "page_size": 3,
            "timeout_seconds": 2,
            **settings,
        }
        with connect(self.path) as con:
            migrate(con)
            ctx = SyncContext(
                con=con,
                env={"GL_TOKEN": TOKEN},
                sleep=self.sleeps.append,
                now=lambda: self.now,
                warn=self.warnings.append,
                git_repos={"web": "refs/heads/main"},
            )
            return run_source(ctx, GitLabSettings.model_validate(config))

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with connect(self.path, read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitLabSimulator, Warehouse]]:
    """One first run over the world, shared by the tests that only read what it wrote."""
    sim = world(GitLabSimulator(token=TOKEN))
    sim.merge_request(PROJECT, 1)[
        "reviewer_suggestions"
    ] = []  # a field this connector does not know
    warehouse = Warehouse(tmp_path_factory.mktemp("first") / "warehouse.duckdb")
    with sim.serve() as base:
        warehouse.result = warehouse.run(base)
    yield sim, warehouse


def rows_of(sim: GitLabSimulator, collection: str) -> list[dict[str, Any]]:
    """The simulator's stored records of one collection for the project."""
    project = sim.project(PROJECT)
    assert project is not None
    return sim.data[collection][str(project["id"])]


def utc(minutes: float) -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


# ---------------------------------------------------------------------------- mapping


def test_merge_requests_map_to_pull_requests(first: tuple[GitLabSimulator, Warehouse]) -> None:
    _sim, wh = first
    prs = {
        r[0]: r
        for r in wh.rows(
            "SELECT number, state, is_draft, author_login, author_type, base_ref, head_ref, head_repo, is_cross_repository, "
            "merge_commit_sha, merged_by_login, commit_count, changed_files, labels, body_length, merged_at, closed_at, "
            "first_commit_at, is_deleted FROM pull_requests WHERE source = 'gitlab' AND repo = ?",
            [PROJECT],
        )
    }
    assert sorted(prs) == [1, 2, 3, 4, 5, 6, 7]
    assert {n: prs[n][1] for n in prs} == {
        1: "merged",
        2: "merged",
        3: "merged",
        4: "open",
        5: "closed",
        6: "open",
        7: "merged",
    }
    one = prs[1]
    assert one[3:9] == ("ana", "user", "main", "fix/safari-login", PROJECT, False)
    assert one[10:15] == (
        "bo",
        2,
        3,
        ["frontend"],
        len(f"Closes #1. {MARKERS[0]}\n\n{CLAUDE_FOOTER}"),
    )
    assert (one[15], one[16], one[17]) == (utc(15), None, utc(10))
    assert prs[4][2:5] == (True, "project_17_bot_5f2a9c", "bot")
    assert prs[5][15:17] == (None, utc(52))
    # The fork's head is the fork; GitLab caps changes_count ("1000+"), which is not a count.
    assert prs[7][7:9] == ("bo/web-fork", True) and prs[7][12] is None
    assert not any(p[18] for p in prs.values())


def test_the_recorded_merge_sha_is_the_commit_that_lands_on_the_target_branch(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    sim, wh = first
    landed = dict(wh.rows("SELECT number, merge_commit_sha FROM pull_requests"))
    one, two, three = (sim.merge_request(PROJECT, n) for n in (1, 2, 3))
    assert landed[1] == one["merge_commit_sha"]  # merge commit
    assert landed[2] == two["squash_commit_sha"] and two["merge_commit_sha"] is None  # squash, ff
    assert landed[3] == three["sha"]  # rebase and fast-forward: the head itself lands
    assert landed[4] is None and landed[5] is None


def test_approvals_and_reviewer_states_become_reviews_and_bots_are_not_human(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    sim, wh = first
    reviews = wh.rows(
        "SELECT pr_number, review_id, reviewer_login, reviewer_type, state, submitted_at, ai_mode, is_human "
        "FROM pr_reviews ORDER BY pr_number, review_id"
    )
    bo, duo = sim.user("bo")["id"], sim.user("GitLabDuo")["id"]
    ana, cy = sim.user("ana")["id"], sim.user("cy")["id"]
    assert reviews == [
        # bo approved (the reviewers endpoint says so too: one row), Duo left a review
        (1, f"approval:{bo}", "bo", "user", "approved", utc(14), None, True),
        (1, f"reviewer:{duo}", "GitLabDuo", "bot", "commented", None, "bot", False),
        (2, f"reviewer:{cy}", "cy", "user", "changes_requested", None, None, True),
        (4, f"reviewer:{ana}", "ana", "user", "pending", None, None, True),
    ]


def test_mr_commits_keep_trailers_and_drive_the_attribution_with_evidence(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    _sim, wh = first
    commits = wh.rows(
        "SELECT position, subject, trailers, ai_tool, ai_mode FROM pr_commits WHERE pr_number = 1 ORDER BY position"
    )
    assert [c[:2] for c in commits] == [(0, "Change 1.0"), (1, "Change 1.1")]
    assert commits[0][2] == [{"key": "co-authored-by", "value": "Claude <noreply@anthropic.com>"}]
    assert commits[0][3] == "claude_code"
    pr = wh.rows("SELECT ai_tool, ai_mode, ai_confidence FROM pull_requests WHERE number = 1")[0]
    assert pr[0] == "claude_code" and pr[2] is not None and pr[2] >= 0.5
    evidence = wh.rows(
        "SELECT field, matched, via_sha FROM ai_evidence WHERE subject_kind = 'pr' AND repo = ? AND subject_id = '1'",
        [PROJECT],
    )
    by_field = {e[0]: e for e in evidence}
    assert by_field["trailer"][2] is not None  # carried by a commit
    assert by_field["body"][1] == CLAUDE_FOOTER and by_field["body"][2] is None  # the description
    # The bot account's MR carries its branch and label, and its author type.
    bot = wh.rows("SELECT ai_mode FROM pull_requests WHERE number = 4")[0][0]
    assert bot == "bot"


def test_closing_issues_become_ticket_links(first: tuple[GitLabSimulator, Warehouse]) -> None:
    _sim, wh = first
    assert wh.rows(
        "SELECT subject_kind, repo, subject_id, ticket_key, via FROM ticket_links ORDER BY ticket_key"
    ) == [
        ("pr", PROJECT, "1", "OPS-77", "closing_ref"),
        ("pr", PROJECT, "1", f"{PROJECT}#1", "closing_ref"),
    ]


def test_issues_map_to_tickets_with_types_points_sprints_and_epics(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    sim, wh = first
    tickets = {
        r[0]: r[1:]
        for r in wh.rows(
            "SELECT key, type, type_category, status, status_category, story_points, assignee_id, reporter_id, sprint_id, "
            "epic_key, resolved_at, body_length, is_deleted FROM tickets WHERE tracker = 'gitlab' AND project = ?",
            [PROJECT],
        )
    }
    sprint_2 = sim.issue(PROJECT, 1)["iteration"]["id"]
    assert tickets[f"{PROJECT}#1"] == (
        "type::bug",
        "bug",
        "opened",
        "todo",
        3.0,
        "ana",
        "bo",
        f"iteration:{sprint_2}",
        "acme&4",
        None,
        len(f"Steps: {MARKERS[1]}"),
        False,
    )
    assert tickets[f"{PROJECT}#2"][:4] == ("incident", "incident", "closed", "done")
    assert tickets[f"{PROJECT}#2"][9] == utc(30)
    assert tickets[f"{PROJECT}#3"][:4] == ("task", "subtask", "opened", "in_progress")
    assert tickets[f"{PROJECT}#4"][:2] == ("feature", "feature")
    assert tickets[f"{PROJECT}#4"][7] is None  # milestones are not sprints unless configured
    assert tickets[f"{PROJECT}#5"][:2] == ("issue", "other")
    assert wh.rows("SELECT count(*) FROM ticket_sprints") == [(2,)]


def test_iterations_of_every_ancestor_group_are_sprints(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    sim, wh = first
    sprints = wh.rows(
        "SELECT name, state, start_at, end_at, completed_at, board_id FROM sprints ORDER BY start_at"
    )
    groups = {g["full_path"]: g["id"] for g in sim.data["groups"].values()}
    assert sprints == [
        (
            "Iteration 2026-02-16 – 2026-03-01",
            "closed",
            datetime(2026, 2, 16, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            f"group:{groups['acme']}",
        ),
        (
            "Iteration 2026-03-02 – 2026-03-15",
            "active",
            datetime(2026, 3, 2, tzinfo=UTC),
            datetime(2026, 3, 16, tzinfo=UTC),
            None,
            f"group:{groups['acme/platform']}",
        ),
        (
            "Hardening",
            "future",
            datetime(2026, 3, 16, tzinfo=UTC),
            datetime(2026, 3, 30, tzinfo=UTC),
            None,
            f"group:{groups['acme/platform']}",
        ),
    ]
    assert wh.rows("SELECT name, kind FROM boards ORDER BY name") == [
        ("acme", "gitlab_group"),
        ("acme/platform", "gitlab_group"),
    ]


def test_milestones_can_be_the_sprints(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    wh.run(url, milestones_as_sprints=True, iterations=False)
    assert wh.rows("SELECT name, state, board_id LIKE 'project:%' FROM sprints ORDER BY name") == [
        ("Q1 goals", "closed", False),
        ("v2.0", "active", True),
    ]
    milestone = sim.issue(PROJECT, 4)["milestone"]["id"]
    assert wh.rows("SELECT sprint_id FROM tickets WHERE key = ?", [f"{PROJECT}#4"]) == [
        (f"milestone:{milestone}",)
    ]


def test_iterations_on_a_tier_without_them_warn_once(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    sim.premium = False
    result = wh.run(url)
    assert any("iterations are not available" in w for w in result.warnings)
    assert wh.rows("SELECT count(*) FROM sprints") == [(0,)]
    assert wh.rows("SELECT count(*) FROM tickets") == [(5,)]


def test_releases_and_deployments_with_statuses(first: tuple[GitLabSimulator, Warehouse]) -> None:
    _sim, wh = first
    assert wh.rows(
        "SELECT tag_name, author_login, published_at, is_draft, is_prerelease FROM releases ORDER BY tag_name"
    ) == [
        ("v1.9.0", "ana", utc(16), False, False),
        ("v2.0.0", "service_account_group_9_ab12", utc(76), False, False),
    ]
    deployments = wh.rows(
        "SELECT environment, latest_state, latest_state_at, creator_login FROM deployments ORDER BY created_at"
    )
    assert deployments == [
        ("production", "success", utc(19), "ana"),
        ("production", "failure", utc(38), "bo"),
        ("staging", "in_progress", utc(78), "cy"),
        ("staging", "pending", utc(79), "cy"),
        ("review/x", "canceled", utc(82), "ana"),
    ]
    history = wh.rows(
        "SELECT d.environment, s.state, s.created_at FROM deployment_statuses s JOIN deployments d USING (deployment_id) "
        "WHERE d.latest_state = 'success' ORDER BY s.created_at"
    )
    assert history == [
        ("production", "pending", utc(17)),
        ("production", "in_progress", utc(18)),
        ("production", "success", utc(19)),
    ]


def test_accounts_are_identities_with_their_bot_flag_and_the_repo_maps_to_git(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    _sim, wh = first
    identities = {
        r[0]: r[1:]
        for r in wh.rows(
            "SELECT account_id, account_type, name, email FROM identities WHERE kind = 'gitlab'"
        )
    }
    assert identities["ana"] == ("user", "Ana Lima", "ana@acme.example")
    assert identities["GitLabDuo"][0] == "bot"
    assert identities["project_17_bot_5f2a9c"][0] == "bot"
    assert identities["service_account_group_9_ab12"][0] == "bot"
    assert {"bo", "cy"} <= set(identities)
    # the git source named after the project's last path segment
    assert wh.rows(
        "SELECT forge, repo, git_repo, default_branch, is_archived FROM forge_repos"
    ) == [("gitlab", PROJECT, "web", "main", False)]


def test_schema_drift_is_recorded(first: tuple[GitLabSimulator, Warehouse]) -> None:
    _sim, wh = first
    drift = wh.rows(
        "SELECT stream, field, status FROM source_fields WHERE source = 'gitlab' AND status <> 'known' ORDER BY field"
    )
    assert ("merge_requests", "reviewer_suggestions", "unknown") in drift


# ---------------------------------------------------------------------------- incremental runs


def requests_by_route(sim: GitLabSimulator, since: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in sim.log[since:]:
        route = request.path.replace(ENCODED, ":id")
        for number in ("/merge_requests/", "/users/", "/issues/", "/deployments/"):
            head, sep, tail = route.partition(number)
            if sep:
                rest = tail.split("/", 1)
                route = f"{head}{number}{rest[0]}" + (f"/{rest[1]}" if len(rest) > 1 else "")
        counts[route] = counts.get(route, 0) + 1
    return counts


def test_an_incremental_run_reads_only_what_changed(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    wh.run(url, overlap_minutes=0)
    before = len(sim.log)
    sim.touch_merge_request(PROJECT, 3, at(90), title="Rebase and fast-forward (renamed)")
    sim.touch_issue(PROJECT, 2, at(91), labels=["postmortem"])
    wh.now += timedelta(hours=1)
    result = wh.run(url, overlap_minutes=0)
    routes = requests_by_route(sim, before)
    assert routes == {
        "/api/v4/projects/:id": 1,
        "/api/v4/projects/:id/merge_requests": 1,
        "/api/v4/projects/:id/merge_requests/3": 1,
        "/api/v4/projects/:id/merge_requests/3/commits": 1,
        "/api/v4/projects/:id/merge_requests/3/approvals": 1,
        "/api/v4/projects/:id/merge_requests/3/reviewers": 1,
        "/api/v4/projects/:id/merge_requests/3/closes_issues": 1,
        "/api/v4/projects/:id/issues": 1,
        "/api/v4/projects/:id/iterations": 1,
        "/api/v4/projects/:id/releases": 1,
        "/api/v4/projects/:id/deployments": 1,
    }
    assert result.requests == sum(routes.values())
    assert wh.rows("SELECT title FROM pull_requests WHERE number = 3") == [
        ("Rebase and fast-forward (renamed)",)
    ]
    assert wh.rows("SELECT labels FROM tickets WHERE key = ?", [f"{PROJECT}#2"]) == [
        (["postmortem"],)
    ]
    # The merge request list was asked for what changed since the last run, oldest first.
    listed = next(r for r in sim.log[before:] if r.path.endswith("/merge_requests"))
    assert listed.arg("updated_after") == "2026-03-02T10:14:59.999Z"
    assert (listed.arg("order_by"), listed.arg("sort"), listed.arg("state")) == (
        "updated_at",
        "asc",
        "all",
    )


def test_the_overlap_rereads_recent_items(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    wh.run(url)
    before = len(sim.log)
    wh.run(url, overlap_minutes=30)
    routes = requests_by_route(sim, before)
    # the last MR update was at minute 75; MRs updated from minute 45 on are read again
    reread = sorted(
        int(r.rsplit("/", 1)[1]) for r in routes if r.count("/") == 6 and "/merge_requests/" in r
    )
    assert reread == [5, 6, 7]
    assert wh.rows("SELECT count(*) FROM pull_requests") == [(7,)]


def test_first_run_starts_at_since(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    wh.run(url, since="2026-03-02")
    first = next(r for r in sim.log if r.path.endswith("/merge_requests"))
    assert first.arg("updated_after") == "2026-03-01T23:59:59.999Z"


def test_an_mr_updated_while_pages_are_read_does_not_hide_another(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    # With plain offset paging, MR 1 moving to the end of the list after page 1 shifts MR 3 onto
    # page 1 and page 2 would never show it.
    lists = 0

    def touch_after_first_page(request: SimRequest) -> None:
        nonlocal lists
        if request.path.endswith("/merge_requests"):
            lists += 1
            if lists == 2:
                sim.touch_merge_request(PROJECT, 1, at(95), title="Fix Safari login (edited)")

    sim.on_request = touch_after_first_page
    wh.run(url)
    assert wh.rows("SELECT number FROM pull_requests ORDER BY number") == [
        (n,) for n in range(1, 8)
    ]
    assert wh.rows("SELECT title FROM pull_requests WHERE number = 1") == [
        ("Fix Safari login (edited)",)
    ]


def test_issues_use_keyset_pagination_and_older_servers_get_offset_pages(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    wh.run(url)
    keyset = [r for r in sim.log if r.path.endswith("/issues")]
    assert all(r.arg("pagination") == "keyset" for r in keyset)
    assert any(r.arg("cursor") for r in keyset)  # the next links were followed

    older = Warehouse(wh.path.with_name("older.duckdb"))
    sim.issues_keyset = False
    before = len(sim.log)
    result = older.run(url)
    assert any("no keyset pagination for issues" in w for w in result.warnings)
    assert older.rows("SELECT count(*) FROM tickets") == [(5,)]
    offset = [r for r in sim.log[before:] if r.path.endswith("/issues")]
    assert offset[0].arg("pagination") == "keyset" and all(
        r.arg("pagination") is None for r in offset[1:]
    )
    # the next run does not ask for keyset pages again
    before = len(sim.log)
    older.run(url)
    assert all(r.arg("pagination") is None for r in sim.log[before:] if r.path.endswith("/issues"))


def test_link_headers_are_followed_and_x_next_page_without_them(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    for n in range(5):
        sim.add_release(PROJECT, tag_name=f"v0.{n}", author="ana", released_at=at(-100 + n))
    wh.run(url, page_size=2)
    pages = [r for r in sim.log if r.path.endswith("/releases")]
    assert [r.arg("page") for r in pages] == [None, "2", "3", "4"]
    assert wh.rows("SELECT count(*) FROM releases") == [(7,)]

    sim.send_links = False
    other = Warehouse(wh.path.with_name("nolinks.duckdb"))
    before = len(sim.log)
    other.run(url, page_size=2)
    assert [r.arg("page") for r in sim.log[before:] if r.path.endswith("/releases")] == [
        None,
        "2",
        "3",
        "4",
    ]
    assert other.rows("SELECT count(*) FROM releases") == [(7,)]


def test_no_list_pages_past_gitlabs_offset_cap(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    # Only the first offset page is allowed: the updated-since streams and the id listings of the
    # deletion check must get everything by anchored queries.
    sim.max_offset = 2
    wh.run(url, page_size=2, releases=False)
    sim.delete_merge_request(PROJECT, 4)
    wh.now += timedelta(days=2)
    wh.run(url, page_size=2, releases=False, reconcile_days=0)
    assert all(r.arg("page") in (None, "1") for r in sim.log if not r.path.endswith("/releases"))
    assert wh.rows("SELECT number FROM pull_requests WHERE is_deleted") == [(4,)]
    assert wh.rows("SELECT count(*) FROM deployments") == [(5,)]


def test_page_size_is_capped_at_gitlabs_maximum(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    wh.run(url, page_size=500)
    assert {r.arg("per_page") for r in sim.log if r.path.endswith("/merge_requests")} == {"100"}


def test_oauth_tokens_travel_as_bearer(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    wh.run(url, auth_header="bearer")
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in sim.log)
    assert all("private-token" not in r.headers for r in sim.log)


def test_project_paths_are_url_encoded(first: tuple[GitLabSimulator, Warehouse]) -> None:
    sim, _wh = first
    assert sim.log[0].path == f"/api/v4/projects/{ENCODED}"
    by_path = [
        r.path
        for r in sim.log
        if r.path.startswith("/api/v4/projects/") and not r.path.split("/")[4].isdigit()
    ]
    assert by_path and all(p.startswith(f"/api/v4/projects/{ENCODED}") for p in by_path)


# ---------------------------------------------------------------------------- rate limits and faults


def test_429_with_retry_after_is_waited_out(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    sim.inject(
        Fault(
            "status",
            path=r"/merge_requests$",
            status=429,
            headers={"Retry-After": "7"},
            body={"message": "429 Too Many Requests"},
        )
    )
    wh.run(url)
    assert any(7.0 <= s <= 8.0 for s in wh.sleeps)
    assert wh.rows("SELECT count(*) FROM pull_requests") == [(7,)]


def test_a_spent_budget_pauses_until_the_reset(wh: Warehouse) -> None:
    # One clock for the simulator's rate-limit window and the run: it runs, and sleeping (which
    # returns at once) moves it on by the time slept.
    slept = [0.0]

    def clock() -> float:
        return time.time() + slept[0]

    sim = world(GitLabSimulator(token=TOKEN, rate_limit=10, rate_window=60, clock=clock))

    def sleep(seconds: float) -> None:
        wh.sleeps.append(seconds)
        slept[0] += seconds

    with sim.serve() as url, connect(wh.path) as con:
        migrate(con)
        ctx = SyncContext(
            con=con,
            env={"GL_TOKEN": TOKEN},
            sleep=sleep,
            now=lambda: datetime.fromtimestamp(clock(), UTC),
        )
        settings = GitLabSettings.model_validate(
            {
                "type": "gitlab",
                "base_url": url,
                "token_env": "GL_TOKEN",
                "repos": [PROJECT],
                "page_size": 2,
            }
        )
        run_source(ctx, settings)
    assert sim.rate_limited == 0  # never ran into a 429: RateLimit-Remaining: 0 was honoured
    assert len(wh.sleeps) >= 3 and all(55 <= s <= 61 for s in wh.sleeps)
    assert wh.rows("SELECT count(*) FROM pull_requests") == [(7,)]


def test_502_and_503_bursts_are_retried(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    sim.inject(
        Fault(
            "status",
            path=r"/merge_requests$",
            status=502,
            times=3,
            body=b"<html>502 Bad Gateway</html>",
        ),
        Fault("status", path=r"/commits$", status=503, times=2),
    )
    wh.run(url)
    assert len(wh.sleeps) == 5
    assert wh.rows("SELECT count(*) FROM pr_commits") == [(14,)]


def test_a_timeout_is_retried(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    sim.inject(Fault("delay", path=r"/issues$", seconds=1.5))
    wh.run(url, timeout_seconds=0.5)
    assert len(wh.sleeps) == 1
    assert wh.rows("SELECT count(*) FROM tickets") == [(5,)]


def test_truncated_json_is_retried(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    sim.inject(Fault("truncate", path=r"/approvals$"), Fault("reset", path=r"/releases$"))
    wh.run(url)
    assert len(wh.sleeps) == 2
    assert wh.rows("SELECT count(*) FROM pr_reviews WHERE state = 'approved'") == [(1,)]


def test_retries_end_with_a_clear_failure(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    sim.inject(Fault("status", path=r"/merge_requests$", status=503, times=99))
    with pytest.raises(
        SourceUnavailableError, match=r"server error \(HTTP 503\).*gave up after 3 attempts"
    ):
        wh.run(url, retries=2)


def test_a_next_link_pointing_back_fails_instead_of_looping(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    sim.repeat_next = r"/issues$"
    with pytest.raises(
        SourceResponseError, match="next-page link points back to a page already read"
    ):
        wh.run(url)
    sim.repeat_next = r"/releases$"
    with pytest.raises(SourceResponseError, match="points back"):
        Warehouse(wh.path.with_name("again.duckdb")).run(url, merge_requests=False, issues=False)


def test_a_list_out_of_order_is_refused(sim: GitLabSimulator, url: str, wh: Warehouse) -> None:
    sim.touch_merge_request(PROJECT, 1, "2030-01-01T00:00:00.000Z")
    sim.inject(
        Fault(
            "status",
            path=r"/merge_requests$",
            status=200,
            body=[sim.merge_request(PROJECT, 1), sim.merge_request(PROJECT, 2)],
        )
    )
    with pytest.raises(SourceResponseError, match="not sorted by updated_at ascending"):
        wh.run(url)


def test_insufficient_scope_names_read_api(url: str, sim: GitLabSimulator, wh: Warehouse) -> None:
    sim.scopes = {"read_user"}
    with pytest.raises(SourceAccessError) as info:
        wh.run(url)
    assert "read_api" in str(info.value) and "HTTP 403" in str(info.value)
    assert TOKEN not in str(info.value)


def test_a_merge_request_deleted_between_list_and_detail_is_marked(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    wh.run(url)
    sim.touch_merge_request(PROJECT, 5, at(99))
    sim.inject(
        Fault("status", path=r"/merge_requests/5$", status=404, body={"message": "404 Not found"})
    )
    wh.now += timedelta(hours=1)
    wh.run(url)
    assert wh.rows("SELECT is_deleted FROM pull_requests WHERE number = 5") == [(True,)]
    assert wh.rows("SELECT count(*) FROM pr_commits WHERE pr_number = 5") == [(0,)]


# ---------------------------------------------------------------------------- deletions


def test_deleted_and_moved_items_are_marked_and_lose_their_children(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    sim.add_project("acme/platform/archive")
    wh.run(url)
    sim.delete_merge_request(PROJECT, 1)
    sim.delete_issue(PROJECT, 5)
    sim.move_issue(PROJECT, 4, "acme/platform/archive", at(120))
    gone = rows_of(sim, "deployments")[1]["id"]
    sim.delete_deployment(PROJECT, gone)
    rows_of(sim, "releases").pop(0)
    last = sim.data["iterations"][str(sim.add_group("acme")["id"])].pop()
    wh.now += timedelta(days=2)
    wh.run(url)
    assert wh.rows("SELECT number FROM pull_requests WHERE is_deleted") == [(1,)]
    for table in ("pr_reviews", "pr_commits"):
        assert wh.rows(f"SELECT count(*) FROM {table} WHERE pr_number = 1") == [(0,)]
    assert wh.rows(
        "SELECT count(*) FROM ai_evidence WHERE subject_kind = 'pr' AND subject_id = '1'"
    ) == [(0,)]
    assert wh.rows("SELECT count(*) FROM ticket_links WHERE subject_id = '1'") == [(0,)]
    assert wh.rows("SELECT key FROM tickets WHERE is_deleted ORDER BY key") == [
        (f"{PROJECT}#4",),
        (f"{PROJECT}#5",),
    ]
    assert wh.rows(
        "SELECT count(*) FROM ticket_sprints t JOIN tickets USING (ticket_id) WHERE is_deleted"
    ) == [(0,)]
    assert wh.rows("SELECT deployment_id FROM deployments WHERE is_deleted") == [(str(gone),)]
    assert wh.rows(
        "SELECT count(*) FROM deployment_statuses WHERE deployment_id = ?", [str(gone)]
    ) == [(0,)]
    assert wh.rows("SELECT tag_name FROM releases WHERE is_deleted") == [("v1.9.0",)]
    assert wh.rows("SELECT sprint_id FROM sprints WHERE is_deleted") == [
        (f"iteration:{last['id']}",)
    ]
    # the live rows are untouched
    assert wh.rows("SELECT count(*) FROM pull_requests WHERE NOT is_deleted") == [(6,)]


def test_reconciliation_waits_for_reconcile_days(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    wh.run(url)
    sim.delete_merge_request(PROJECT, 2)
    wh.now += timedelta(hours=3)
    wh.run(url)
    assert wh.rows("SELECT count(*) FROM pull_requests WHERE is_deleted") == [(0,)]
    wh.run(url, reconcile_days=0)
    assert wh.rows("SELECT number FROM pull_requests WHERE is_deleted") == [(2,)]


def test_a_listing_that_misses_an_item_does_not_delete_it(
    sim: GitLabSimulator, url: str, wh: Warehouse
) -> None:
    wh.run(url)
    listing = [m for m in rows_of(sim, "merge_requests") if m["iid"] != 6]
    sim.inject(
        Fault(
            "status",
            path=r"/merge_requests$",
            status=200,
            after=1,
            body=[
                {
                    k: m[k]
                    for k in (
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
                }
                for m in listing
            ],
        )
    )
    wh.run(url, reconcile_days=0)
    assert wh.rows("SELECT count(*) FROM pull_requests WHERE is_deleted") == [(0,)]


# ---------------------------------------------------------------------------- metadata only, replay


def test_bodies_never_reach_the_warehouse_and_neither_does_the_token(
    first: tuple[GitLabSimulator, Warehouse],
) -> None:
    _sim, wh = first
    with connect(wh.path) as con:
        con.execute("CHECKPOINT").fetchall()
        texts = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR' OR data_type LIKE '%VARCHAR%'"
        ).fetchall()
        for table, column in texts:
            for needle in (*MARKERS, TOKEN):
                found = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?',
                    [f"%{needle}%"],
                ).fetchall()
                assert found == [(0,)], f"{needle} in {table}.{column}"
    data = wh.path.read_bytes()
    for needle in (*MARKERS, TOKEN):
        assert needle.encode() not in data


def test_replay_dir_serves_the_source_from_exported_files(tmp_path: Path, wh: Warehouse) -> None:
    world(GitLabSimulator()).to_dir(tmp_path / "export")
    with connect(wh.path) as con:
        migrate(con)
        ctx = SyncContext(con=con, env={})
        settings = GitLabSettings.model_validate(
            {"type": "gitlab", "repos": [PROJECT], "replay_dir": str(tmp_path / "export")}
        )
        result = run_source(ctx, settings)
    assert result.rows["pull_requests"] == 7 and result.rows["tickets"] == 5


# ---------------------------------------------------------------------------- the command line


def cli(config: Path, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("SPRINTPROOF_CONFIG", "GL_TOKEN")}
    environ |= {"GL_TOKEN": TOKEN, "SPRINTPROOF_HOME": str(config.parent / "home"), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "dagster_project", "ingest", "--config", str(config)],
        cwd=config.parent,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def config(folder: Path, url: str, **extra: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = {
        "type": "gitlab",
        "base_url": url,
        "token_env": "GL_TOKEN",
        "repos": [PROJECT],
        "page_size": 2,
        "timeout_seconds": 5,
        **extra,
    }
    path = folder / "sprintproof.yaml"
    path.write_text(
        json.dumps(
            {
                "workspace": str(folder / "ws"),
                "warehouse": str(folder / "w.duckdb"),
                "sources": [source],
            }
        )
    )
    return path


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


@pytest.mark.parametrize(
    ("setup", "repos", "fragments"),
    [
        ("bad_token", [PROJECT], ["HTTP 401", "401 Unauthorized", "$GL_TOKEN"]),
        ("scope", [PROJECT], ["HTTP 403", "insufficient_scope", "read_api"]),
        ("none", ["acme/nope"], ["HTTP 404", "404 Project Not Found", "acme%2Fnope"]),
        ("malformed", [PROJECT], ["merge_requests", "expected a JSON list, got dict"]),
        ("no_iid", [PROJECT], ["merge_requests", "an integer 'iid'"]),
    ],
)
def test_the_cli_reports_one_clear_error_and_exits_2(
    sim: GitLabSimulator,
    url: str,
    tmp_path: Path,
    setup: str,
    repos: list[str],
    fragments: list[str],
) -> None:
    env: dict[str, str] = {}
    if setup == "bad_token":
        sim.token = "glpat-another-token-entirely"
    elif setup == "scope":
        sim.scopes = {"read_user"}
    elif setup == "malformed":
        sim.inject(
            Fault("status", path=r"/merge_requests$", status=200, body={"merge_requests": []})
        )
    elif setup == "no_iid":
        broken = {k: v for k, v in sim.merge_request(PROJECT, 1).items() if k != "iid"}
        sim.inject(Fault("status", path=r"/merge_requests$", status=200, body=[broken]))
    code, output = finish(cli(config(tmp_path, url, repos=repos), env=env))
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in output and TOKEN not in output


def table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in TABLES:
            columns = [
                c[0] for c in con.execute(f'DESCRIBE "{table}"').fetchall() if c[0] not in VOLATILE
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f'SELECT {listed} FROM "{table}" ORDER BY ALL').fetchall()
        out["sync_state"] = con.execute(
            "SELECT source, scope, stream, CASE WHEN stream = 'reconcile' THEN '' ELSE cursor END FROM sync_state ORDER BY ALL"
        ).fetchall()
    return out


def test_a_killed_run_resumes_and_ends_with_exactly_the_rows_of_a_clean_run(
    sim: GitLabSimulator, url: str, tmp_path: Path
) -> None:
    clean = config(tmp_path / "clean", url)
    code, output = finish(cli(clean))
    assert code == 0, output

    killed = config(tmp_path / "killed", url)
    # Three runs die mid-stream, each on its stream's second list request (so after a committed
    # page): merge requests, then issues, then deployments. A fourth run finishes.
    for stream, done in (("merge_requests", set()), ("issues", {"merge_requests"}), ("deployments", {"merge_requests", "issues"})):  # fmt: skip
        start = len(sim.log)
        process = cli(killed)

        def kill(request: SimRequest, start: int = start, stream: str = stream, pid: int = process.pid) -> None:  # fmt: skip
            lists = [r for r in sim.log[start:] if r.path.endswith(f"/{stream}")]
            if len(lists) == 2 and lists[-1] is request:
                os.kill(pid, signal.SIGKILL)

        sim.on_request = kill
        code, _ = finish(process)
        sim.on_request = None
        assert code == -signal.SIGKILL
        with duckdb.connect(str(tmp_path / "killed" / "w.duckdb"), read_only=True) as con:
            streams = {row[0] for row in con.execute("SELECT stream FROM sync_state").fetchall()}
        assert streams == done | {stream}, stream
    code, output = finish(cli(killed))
    assert code == 0, output
    assert TOKEN not in output

    expected, got = (
        table_rows(tmp_path / "clean" / "w.duckdb"),
        table_rows(tmp_path / "killed" / "w.duckdb"),
    )
    assert got["pull_requests"] and got["tickets"]
    for table in (*TABLES, "sync_state"):
        assert got[table] == expected[table], table
