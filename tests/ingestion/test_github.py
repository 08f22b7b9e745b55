"""GitHub connector against the GitHub simulator over real HTTP: streams, increments, attribution, limits, faults, resumption."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ingestion.attribution import RuleSet
from ingestion.connectors import run_source
from ingestion.demo import build_demo
from ingestion.github import GitHubThrottle, graphql_url, sync
from ingestion.http import (
    SourceAccessError,
    SourceAuthError,
    SourceNotFoundError,
    SourceResponseError,
    SourceUnavailableError,
)
from ingestion.settings import ForgeRepo, GitHubSettings
from ingestion.sim.base import Fault
from ingestion.sim.github import GitHubSimulator, SimRepo, synthetic_repo, touch_pulls
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import connect, migrate

TOKEN = "ghp_S3cr3tT0kenValue0123456789abcdefXYZ"
RULES = RuleSet.load()
MARKER = "SPRINTPROOF-PRIVATE-7f3a91"
PULLS = 40
TABLES = {
    "pull_requests": "repo, number",
    "pr_reviews": "repo, pr_number, review_id",
    "pr_commits": "repo, pr_number, sha",
    "ai_evidence": "subject_kind, repo, subject_id, rule_id, field, matched",
    "ticket_links": "repo, subject_id, ticket_key",
    "tickets": "ticket_id",
    "ticket_sprints": "ticket_id, sprint_id",
    "sprints": "sprint_id",
    "releases": "release_id",
    "deployments": "deployment_id",
    "deployment_statuses": "deployment_id, status_id",
    "identities": "account_id",
    "forge_repos": "repo",
    "boards": "board_id",
}
VOLATILE = {"run_id", "synced_at", "last_seen_at"}


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "w.duckdb") as connection:
        migrate(connection)
        yield connection


@pytest.fixture
def sim() -> GitHubSimulator:
    return GitHubSimulator([synthetic_repo("acme/web", pulls=PULLS, big_pulls=(5,), issues=12)], token=TOKEN)  # fmt: skip


@pytest.fixture
def url(sim: GitHubSimulator) -> Iterator[str]:
    with sim.serve() as base:
        yield base


def settings(url: str, **options: Any) -> GitHubSettings:
    values: dict[str, Any] = {"type": "github", "name": "gh", "base_url": url, "token_env": "GH_TOKEN", "repos": ["acme/web"]}  # fmt: skip
    return GitHubSettings.model_validate(values | options)


def run(
    con: duckdb.DuckDBPyConnection,
    url: str,
    *,
    sleeps: list[float] | None = None,
    now: Callable[[], datetime] | None = None,
    env: dict[str, str] | None = None,
    git_repos: dict[str, str | None] | None = None,
    sleep: Callable[[float], None] | None = None,
    **options: Any,
) -> SyncResult:
    waits = sleeps if sleeps is not None else []
    ctx = SyncContext(
        con=con, env=env or {"GH_TOKEN": TOKEN}, rules=RULES, git_repos=git_repos or {},
        sleep=sleep or waits.append, now=now or (lambda: datetime.now(UTC)),
    )  # fmt: skip
    return sync(ctx, settings(url, **options))


def count(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> Any:
    return con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def graphql_requests(sim: GitHubSimulator) -> int:
    return sim.requests_to(r"graphql$")


class FakeTime:
    """Time for ingestion.http that moves when the client sleeps, so injected waits behave like real ones."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr("ingestion.http.time", fake)
    return fake


# --------------------------------------------------------------------------------------------
# Streams and their mapping


def test_full_ingest_reads_every_stream_in_few_requests(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    repo = sim.repo("acme/web")
    result = run(con, url)
    assert count(con, "SELECT count(*) FROM pull_requests") == len(repo.pulls) == PULLS
    assert count(con, "SELECT count(*) FROM pr_reviews") == sum(map(len, repo.reviews.values()))
    assert count(con, "SELECT count(*) FROM pr_commits") == sum(map(len, repo.commits.values()))
    assert count(con, "SELECT count(*) FROM tickets") == len(repo.issues)
    assert count(con, "SELECT count(*) FROM releases") == len(repo.releases)
    assert count(con, "SELECT count(*) FROM deployments") == len(repo.deployments)
    assert count(con, "SELECT count(*) FROM deployment_statuses") == 2 * len(repo.deployments)
    assert count(con, "SELECT count(*) FROM sprints") == len(repo.milestones)
    # One combined round plus the rest of PR 5's 260 commits (two more pages, one query each).
    assert result.requests == graphql_requests(sim) == 3
    assert result.rows["pull_requests"] == PULLS

    big = con.execute(
        "SELECT commit_count, (SELECT count(*) FROM pr_commits WHERE pr_number = 5), "
        "(SELECT max(position) FROM pr_commits WHERE pr_number = 5) FROM pull_requests WHERE number = 5"
    ).fetchone()
    assert big == (260, 260, 259)

    pull = next(p for p in repo.pulls if p["merged_at"])
    row = con.execute(
        "SELECT state, merge_commit_sha, head_ref, base_ref, body_length, additions, changed_files, "
        "strftime(merged_at, '%Y-%m-%dT%H:%M:%SZ'), is_cross_repository, head_repo, commit_count "
        "FROM pull_requests WHERE number = ?",
        [pull["number"]],
    ).fetchone()
    commits = repo.commits[pull["number"]]
    assert row == (
        "merged", pull["merge_commit_sha"], pull["head"]["ref"], "main", len(pull["body"]),
        sum(c["stats"]["additions"] for c in commits), pull["changed_files"], pull["merged_at"],
        False, "acme/web", len(commits),
    )  # fmt: skip


def test_pr_commits_keep_subject_and_trailers_and_drop_the_body(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    run(con, url)
    repo = sim.repo("acme/web")
    number, commit = next(
        (n, c) for n, cs in repo.commits.items() for c in cs if "Co-Authored-By" in c["commit"]["message"]
    )  # fmt: skip
    row = con.execute(
        "SELECT subject, trailers, author_email, ai_tool, ai_mode FROM pr_commits WHERE sha = ?",
        [commit["sha"]],
    ).fetchone()
    assert row == (
        commit["commit"]["message"].splitlines()[0],
        [{"key": "co-authored-by", "value": "Claude Opus 4.6 <noreply@anthropic.com>"}],
        commit["commit"]["author"]["email"], "claude_code", "assisted",
    )  # fmt: skip
    via = con.execute(
        "SELECT via_sha, field FROM ai_evidence WHERE subject_kind = 'pr' AND subject_id = ? AND field = 'trailer'",
        [str(number)],
    ).fetchall()
    assert via and all(v[0] in {c["sha"] for c in repo.commits[number]} for v in via)


def test_pr_attribution_bots_agents_and_review_bots(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    run(con, url)
    agent = con.execute(
        "SELECT DISTINCT author_login, author_type, ai_tool, ai_mode FROM pull_requests WHERE head_ref LIKE 'copilot/%'"
    ).fetchall()
    assert agent == [("copilot-swe-agent[bot]", "bot", "copilot_agent", "agent")]
    deps = con.execute(
        "SELECT DISTINCT author_login, ai_mode, labels FROM pull_requests WHERE head_ref LIKE 'dependabot/%'"
    ).fetchall()
    assert deps == [("dependabot[bot]", "bot", ["dependencies"])]
    body_evidence = con.execute(
        "SELECT DISTINCT matched FROM ai_evidence WHERE field IN ('body', 'pr_body') AND via_sha IS NULL"
    ).fetchall()
    assert body_evidence == [("<!-- START COPILOT CODING AGENT SUFFIX -->",)]
    reviews = con.execute(
        "SELECT reviewer_login, reviewer_type, is_human, ai_mode FROM pr_reviews "
        "GROUP BY ALL ORDER BY is_human, reviewer_login"
    ).fetchall()
    assert reviews[0] == ("coderabbitai[bot]", "bot", False, "review")
    assert all(r[2] and r[1] == "user" and r[3] is None for r in reviews[1:])
    identities = dict(con.execute("SELECT account_id, account_type FROM identities").fetchall())
    assert identities["coderabbitai[bot]"] == "bot" and identities["ana-dev"] == "user"


def test_issues_become_tickets_and_milestones_sprints(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    repo = sim.repo("acme/web")
    now = datetime(2026, 1, 24, tzinfo=UTC)  # sprint 2 is due Feb 2: sprint 3 is later
    repo.milestones[1].update(state="open", closed_at=None)
    run(con, url, now=lambda: now)
    sprints = con.execute("SELECT sprint_id, name, state, board_id, start_at FROM sprints ORDER BY sprint_id").fetchall()  # fmt: skip
    assert sprints == [
        ("acme/web/milestone/1", "Sprint 1", "closed", "acme/web", None),
        ("acme/web/milestone/2", "Sprint 2", "active", "acme/web", None),
        ("acme/web/milestone/3", "Sprint 3", "future", "acme/web", None),
    ]
    for issue in repo.issues:
        row = con.execute(
            "SELECT key, project, type, type_category, status_category, sprint_id, body_length, labels, assignee_id "
            "FROM tickets WHERE ticket_id = ?",
            [str(issue["id"])],
        ).fetchone()
        label = issue["labels"][0]["name"] if issue["labels"] else None
        category = {"bug": "bug", "enhancement": "feature", "chore": "task", None: "other"}[label]
        status = {None: "todo", "completed": "done", "not_planned": "canceled"}[
            issue["state_reason"]
        ]
        milestone = (
            f"acme/web/milestone/{issue['milestone']['number']}" if issue["milestone"] else None
        )
        assignee = issue["assignees"][0]["login"] if issue["assignees"] else None
        assert row == (
            f"acme/web#{issue['number']}", "acme/web", label, category, status, milestone,
            len(issue["body"]), [label] if label else [], assignee,
        )  # fmt: skip
    assert count(con, "SELECT count(*) FROM ticket_sprints") == sum(1 for i in repo.issues if i["milestone"])  # fmt: skip
    assert count(con, "SELECT count(*) FROM boards WHERE kind = 'github_repo'") == 1


def test_closing_references_become_ticket_links(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    repo = sim.repo("acme/web")
    repo.pulls[0]["body"] = "Fixes #3 and closes acme/web#4; mentions #5"
    run(con, url)
    links = con.execute(
        "SELECT ticket_key, via FROM ticket_links WHERE subject_id = '1' ORDER BY ticket_key"
    ).fetchall()
    assert links == [("acme/web#3", "closing_ref"), ("acme/web#4", "closing_ref")]
    repo.pulls[0]["body"] = "No longer closes anything"
    touch_pulls(repo, [1], datetime(2026, 6, 1, tzinfo=UTC))
    run(con, url)
    assert count(con, "SELECT count(*) FROM ticket_links WHERE subject_id = '1'") == 0


@pytest.mark.parametrize(
    ("repos", "git_repos", "expected"),
    [
        (["acme/web"], {"web": "refs/heads/main"}, "web"),
        (["acme/web"], {}, None),
        ([{"name": "acme/web", "git_repo": "frontend"}], {}, "frontend"),
    ],
)
def test_forge_repo_row_names_the_git_repository(
    con: duckdb.DuckDBPyConnection, url: str, repos: list[Any], git_repos: dict[str, str | None], expected: str | None
) -> None:  # fmt: skip
    run(con, url, repos=repos, git_repos=git_repos)
    row = con.execute("SELECT forge, repo, git_repo, default_branch, is_archived FROM forge_repos").fetchall()  # fmt: skip
    assert row == [("github", "acme/web", expected, "main", False)]
    assert isinstance(GitHubSettings.model_validate({"type": "github", "token_env": "T", "repos": repos}).repos[0], ForgeRepo)  # fmt: skip


def test_enterprise_server_paths(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    assert graphql_url("https://ghe.example.com/api/v3") == "https://ghe.example.com/api/graphql"
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    run(con, f"{url}/api/v3")
    assert {r.path for r in sim.log} == {"/api/graphql"}
    assert count(con, "SELECT count(*) FROM pull_requests") == PULLS


# --------------------------------------------------------------------------------------------
# Increments, overlap, deletions


def test_incremental_run_reads_only_what_changed(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    repo = sim.repo("acme/web")
    run(con, url)
    before = graphql_requests(sim)
    newest = max(datetime.fromisoformat(p["updated_at"]) for p in repo.pulls)
    overlapping = sum(
        1 for p in repo.pulls
        if p["number"] not in (7, 21, 33) and datetime.fromisoformat(p["updated_at"]) >= newest - timedelta(minutes=10)
    )  # fmt: skip
    touch_pulls(repo, [7, 21, 33], datetime(2026, 6, 1, tzinfo=UTC))
    repo.pulls[20]["labels"] = [{"id": 9, "name": "hotfix"}]
    result = run(con, url)
    assert graphql_requests(sim) - before == result.requests == 1
    assert result.rows["pull_requests"] == 3 + overlapping  # and those re-read in the overlap
    assert count(con, "SELECT count(*) FROM pull_requests") == PULLS
    assert con.execute("SELECT labels FROM pull_requests WHERE number = 21").fetchone() == (["hotfix"],)  # fmt: skip
    titles = con.execute("SELECT title FROM pull_requests WHERE number IN (7, 21, 33) ORDER BY number").fetchall()  # fmt: skip
    assert [t[0][-10:] for t in titles] == ["(edited 0)", "(edited 1)", "(edited 2)"]
    cursor = json.loads(con.execute("SELECT cursor FROM sync_state WHERE stream = 'pull_requests'").fetchone()[0])  # type: ignore[index]  # fmt: skip
    assert cursor == {"watermark": "2026-06-01T00:00:02Z", "pass": None}
    # Nothing changed: one request, only the overlap is re-read.
    result = run(con, url)
    assert result.requests == 1 and result.rows.get("pull_requests", 0) <= 3


def test_since_limits_the_first_run(con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str) -> None:  # fmt: skip
    repo = sim.repo("acme/web")
    since = "2026-01-08"
    run(con, url, since=since)
    expected = sum(1 for p in repo.pulls if p["updated_at"] >= "2026-01-08")
    assert 0 < count(con, "SELECT count(*) FROM pull_requests") == expected < PULLS


def test_deleted_and_transferred_items_are_marked_at_the_daily_reconcile(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    repo = sim.repo("acme/web")
    t0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
    clock = {"now": t0}
    run(con, url, now=lambda: clock["now"])
    gone_issue = repo.issues.pop(2)  # deleted or transferred to another repository
    gone_release = repo.releases.pop(0)
    gone_deployment = repo.deployments.pop(1)
    clock["now"] = t0 + timedelta(hours=3)
    before = graphql_requests(sim)
    run(con, url, now=lambda: clock["now"])
    assert graphql_requests(sim) - before == 1  # reconciled less than a day ago: no id listing
    assert count(con, "SELECT count(*) FROM tickets WHERE is_deleted") == 0
    clock["now"] = t0 + timedelta(days=1, hours=1)
    before = graphql_requests(sim)
    run(con, url, now=lambda: clock["now"])
    assert graphql_requests(sim) - before == 2  # the round plus one page of ids per stream
    assert con.execute("SELECT ticket_id FROM tickets WHERE is_deleted").fetchall() == [(str(gone_issue["id"]),)]  # fmt: skip
    assert count(con, "SELECT count(*) FROM releases WHERE is_deleted") == 1
    assert count(con, "SELECT count(*) FROM deployments WHERE is_deleted") == 1
    repo.issues.insert(2, gone_issue)  # transferred back
    repo.releases.insert(0, gone_release)
    repo.deployments.insert(1, gone_deployment)
    clock["now"] = t0 + timedelta(days=3)
    run(con, url, now=lambda: clock["now"], reconcile_days=0)
    assert count(con, "SELECT count(*) FROM tickets WHERE is_deleted") == 0
    assert count(con, "SELECT count(*) FROM releases WHERE is_deleted") == 0
    repo.milestones.pop()
    run(con, url, now=lambda: clock["now"])
    assert con.execute("SELECT sprint_id FROM sprints WHERE is_deleted").fetchall() == [("acme/web/milestone/3",)]  # fmt: skip


def test_pull_requests_are_not_issues(con: duckdb.DuckDBPyConnection, url: str) -> None:
    run(con, url)
    assert count(con, "SELECT count(*) FROM tickets") == 12
    with httpx.Client() as client:  # REST lists PRs among issues; GraphQL and the tickets do not
        rest = client.get(f"{url}/repos/acme/web/issues", params={"state": "all", "per_page": 100},
                          headers={"Authorization": f"Bearer {TOKEN}"}).json()  # fmt: skip
    assert len(rest) == PULLS + 12 and sum(1 for i in rest if "pull_request" in i) == PULLS


# --------------------------------------------------------------------------------------------
# The simulator holds the connector to GitHub's schema and limits


def test_simulator_refuses_what_github_refuses(sim: GitHubSimulator, url: str) -> None:
    def ask(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        with httpx.Client() as client:
            response = client.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                                   headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        return response.json()

    misspelt = ask('{ repository(owner: "acme", name: "web") { pullRequests(first: 1) { nodes { mergedCommit { oid } } } } }')  # fmt: skip
    assert (
        "Cannot query field 'mergedCommit' on type 'PullRequest'"
        in misspelt["errors"][0]["message"]
    )
    unbounded = ask('{ repository(owner: "acme", name: "web") { pullRequests { totalCount } } }')
    assert unbounded["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    too_many = ask('{ repository(owner: "acme", name: "web") { pullRequests(first: 101) { totalCount } } }')  # fmt: skip
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    nodes = ask('{ repository(owner: "acme", name: "web") { pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit { parents: author { name } } } } reviews(first: 100) { nodes { id } } labels(first: 100) { nodes { name } } closingIssuesReferences(first: 100) { nodes { labels(first: 100) { nodes { name } } } } } } } }')  # fmt: skip
    assert nodes["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    schema_names = ask('{ rateLimit { cost remaining resetAt } repository(owner: "acme", name: "web") { issues(first: 1) { nodes { stateReason(enableDuplicate: true) closedAt milestone { dueOn } } } deployments(first: 1) { nodes { statuses(first: 1) { nodes { state } } latestStatus { state } } } pullRequests(first: 1) { nodes { mergeCommit { oid } closingIssuesReferences(first: 1) { totalCount } author { __typename login } } } } }')  # fmt: skip
    assert "errors" not in schema_names and schema_names["data"]["rateLimit"]["cost"] == 1


# --------------------------------------------------------------------------------------------
# Rate limits and faults over real HTTP


def _rate_limited_body() -> dict[str, Any]:
    return {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
    }


@pytest.mark.parametrize(
    ("fault", "least_wait"),
    [
        (Fault("status", path="graphql", status=429, headers={"Retry-After": "7"}), 7.0),
        (Fault("status", path="graphql", status=403, headers={"Retry-After": "11"},
               body={"message": "You have exceeded a secondary rate limit."}), 11.0),
        (Fault("status", path="graphql", status=403,
               body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}), 60.0),
        (Fault("status", path="graphql", status=429), 60.0),
        (Fault("status", path="graphql", status=403, body={"message": "API rate limit exceeded for user ID 1."},
               headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "{reset}"}), 30.0),
        (Fault("status", path="graphql", status=200, body=_rate_limited_body(),
               headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "{reset}"}), 30.0),
        (Fault("status", path="graphql", status=502, times=3), 0.0),
        (Fault("status", path="graphql", status=503, times=2, after=1), 0.0),
        (Fault("truncate", path="graphql"), 0.0),
        (Fault("reset", path="graphql"), 0.0),
    ],
    ids=["429-retry-after", "403-secondary-retry-after", "403-secondary-no-header", "429-no-header",
         "primary-exhausted", "graphql-rate-limited", "502-burst", "503-burst", "truncated-json", "connection-reset"],
)  # fmt: skip
def test_rate_limits_and_transient_faults_are_waited_out(
    con: duckdb.DuckDBPyConnection,
    sim: GitHubSimulator,
    url: str,
    fault: Fault,
    least_wait: float,
    fake_time: FakeTime,
) -> None:
    reset = str(int(time.time()) + 30)
    fault.headers = {k: v.replace("{reset}", reset) for k, v in fault.headers.items()}
    sim.inject(fault)
    run(con, url, sleep=fake_time.sleep)
    assert count(con, "SELECT count(*) FROM pull_requests") == PULLS
    sleeps = fake_time.sleeps
    assert sleeps and max(sleeps) >= least_wait - 1.5
    assert least_wait == 0 or len(sleeps) == 1  # one wait, not the reset twice
    assert not sim.faults


def test_a_timeout_is_retried(con: duckdb.DuckDBPyConnection) -> None:
    sim = GitHubSimulator([synthetic_repo("acme/web", pulls=5)], token=TOKEN)
    sim.inject(Fault("delay", path="graphql", seconds=2.0))
    sleeps: list[float] = []
    with sim.serve() as url:
        run(con, url, sleeps=sleeps, timeout_seconds=0.7)
    assert count(con, "SELECT count(*) FROM pull_requests") == 5 and len(sleeps) == 1


def test_a_spent_budget_pauses_before_the_next_request(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str, fake_time: FakeTime
) -> None:
    sim.exhaust_after = 1  # the first query spends the last point
    sim.reset_at = time.time() + 40

    def sleep(seconds: float) -> None:
        fake_time.sleep(seconds)
        sim.reset_budget()  # waiting until the reset brings a new window

    run(con, url, sleep=sleep)
    assert count(con, "SELECT count(*) FROM pull_requests") == PULLS
    assert len(fake_time.sleeps) == 1 and 35 <= fake_time.sleeps[0] <= 42
    assert graphql_requests(sim) == 3  # nothing was refused: the pause came first


def test_a_reset_beyond_the_allowed_wait_fails_clearly(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    sim.inject(Fault("status", path="graphql", status=403, body={"message": "API rate limit exceeded"},
                     headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3000)}))  # fmt: skip
    with pytest.raises(SourceUnavailableError, match="more than the allowed wait"):
        run(con, url, max_wait_seconds=600)


def test_endless_server_errors_give_up_with_a_clear_error(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    sim.inject(Fault("status", path="graphql", status=502, times=100))
    with pytest.raises(SourceUnavailableError, match=r"HTTP 502.*gave up after 3 attempts"):
        run(con, url, retries=2)


def test_a_repeating_cursor_fails_instead_of_looping(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    sim.repeat_cursor = "pullRequests"
    with pytest.raises(SourceResponseError, match=r"page cursor .* again"):
        run(con, url, page_size=10)
    assert graphql_requests(sim) == 2


def test_a_malformed_payload_names_the_endpoint_and_what_was_expected(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    broken = {"data": {"rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "2026-06-01T00:00:00Z"},
                       "repository": {"id": "R_1", "nameWithOwner": "acme/web", "isArchived": False, "defaultBranchRef": None}}}  # fmt: skip
    sim.inject(Fault("status", path="graphql", status=200, body=broken))
    with pytest.raises(SourceResponseError, match=r"GraphQL repository acme/web .*expected a pullRequests connection"):  # fmt: skip
        run(con, url, issues=False, releases=False, deployments=False)


def test_bad_token_is_refused_without_showing_it(con: duckdb.DuckDBPyConnection, url: str) -> None:
    with pytest.raises(SourceAuthError) as caught:
        run(con, url, env={"GH_TOKEN": "ghp_wrongwrongwrong"})
    assert "HTTP 401" in str(caught.value) and "$GH_TOKEN" in str(caught.value)
    assert "ghp_wrongwrongwrong" not in str(caught.value)


def test_missing_classic_scope_is_named(con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str) -> None:  # fmt: skip
    sim.scopes = ["read:org"]
    with pytest.raises(SourceAccessError, match=r"requires one of the following scopes: \['repo'\].*repo scope"):  # fmt: skip
        run(con, url)


def test_missing_fine_grained_permission_is_named(
    con: duckdb.DuckDBPyConnection, sim: GitHubSimulator, url: str
) -> None:
    sim.permissions = {"metadata": "read", "pull_requests": "read", "contents": "read", "deployments": "read"}  # fmt: skip
    with pytest.raises(SourceAccessError, match="needs the Issues permission"):
        run(con, url)


def test_rest_forbidden_hints_name_the_scope_or_permission() -> None:
    throttle = GitHubThrottle()
    request = httpx.Request("GET", "https://api.github.com/repos/acme/web")
    classic = httpx.Response(403, headers={"X-Accepted-OAuth-Scopes": "repo", "X-OAuth-Scopes": "read:org"}, request=request)  # fmt: skip
    fine = httpx.Response(403, headers={"X-Accepted-GitHub-Permissions": "issues=read"}, request=request)  # fmt: skip
    sso = httpx.Response(403, headers={"X-GitHub-SSO": "required; url=https://github.com/orgs/acme/sso?x=1"}, request=request)  # fmt: skip
    assert throttle.retry_after(classic) is None
    assert "needs one of the scopes [repo] and the token has [read:org]" in throttle.forbidden_hint(classic)  # fmt: skip
    assert "issues=read" in throttle.forbidden_hint(fine)
    assert "single sign-on" in throttle.forbidden_hint(sso)


def test_unknown_repository_is_a_clear_not_found(con: duckdb.DuckDBPyConnection, url: str) -> None:
    with pytest.raises(SourceNotFoundError, match=r"Could not resolve to a Repository with the name 'acme/nope'.*check the repository name"):  # fmt: skip
        run(con, url, repos=["acme/nope"])


# --------------------------------------------------------------------------------------------
# GitHub App installation tokens


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip
    return private, public


def test_github_app_installation_token_is_fetched_and_refreshed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    private, public = _key_pair()
    clock = {"now": datetime.now(UTC)}
    sim = GitHubSimulator([synthetic_repo("acme/web", pulls=PULLS, big_pulls=(5,))], token="not-used",
                          app=(321, public, 654), clock=lambda: clock["now"].timestamp())  # fmt: skip

    def later(request: Any) -> None:
        if request.path.endswith("graphql"):
            clock["now"] += timedelta(minutes=28)  # two queries later the token nears its expiry

    sim.on_request = later
    app: dict[str, Any] = {
        "token_env": None,
        "app_id": 321,
        "installation_id": 654,
        "private_key_env": "GH_APP_KEY",
    }
    with sim.serve() as url:
        result = run(con, url, env={"GH_APP_KEY": private}, now=lambda: clock["now"], **app)
        exchanges = [r for r in sim.log if r.path.endswith("/access_tokens")]
        assert len(exchanges) == 2 and result.requests == 3 + 2
        assert all(r.headers["authorization"].startswith("Bearer ghs_") for r in sim.log if r.path.endswith("graphql"))  # fmt: skip
        assert count(con, "SELECT count(*) FROM pull_requests") == PULLS
        with pytest.raises(SourceNotFoundError):
            run(con, url, env={"GH_APP_KEY": private}, **{**app, "installation_id": 999})
        with pytest.raises(SourceAuthError, match="cannot sign a GitHub App token"):
            run(con, url, env={"GH_APP_KEY": "not a key"}, **app)
        with pytest.raises(SourceAuthError, match="HTTP 401"):
            run(con, url, env={"GH_APP_KEY": _key_pair()[0]}, **app)  # another app's key


# --------------------------------------------------------------------------------------------
# Metadata only, secrets, drift


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return [
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type LIKE '%VARCHAR%' AND table_schema = 'main'"
        ).fetchall()
    ]


def test_no_body_text_and_no_token_reach_the_warehouse(tmp_path: Path) -> None:
    sim = GitHubSimulator([synthetic_repo("acme/web", pulls=40, issues=10, marker=MARKER)], token=TOKEN)  # fmt: skip
    path = tmp_path / "w.duckdb"
    with sim.serve() as url, connect(path) as con:
        migrate(con)
        ctx = SyncContext(con=con, env={"GH_TOKEN": TOKEN}, rules=RULES)
        run_source(ctx, settings(url))
        assert count(con, "SELECT count(*) FROM pull_requests") == 40
        for table, column in _text_columns(con):
            hits = count(con, f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?', f"%{MARKER}%")  # fmt: skip
            assert hits == 0, f"{table}.{column}"
            hits = count(con, f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?', f"%{TOKEN}%")  # fmt: skip
            assert hits == 0, f"{table}.{column}"
        con.execute("CHECKPOINT")
    data = path.read_bytes()
    assert MARKER.encode() not in data and TOKEN.encode() not in data


def test_fields_are_recorded_for_drift(con: duckdb.DuckDBPyConnection, url: str) -> None:
    ctx = SyncContext(con=con, env={"GH_TOKEN": TOKEN}, rules=RULES)
    run_source(ctx, settings(url))
    fields = dict(
        con.execute("SELECT stream || '.' || field, status FROM source_fields WHERE source = 'gh'").fetchall()
    )  # fmt: skip
    assert fields["pull_requests.closingIssuesReferences"] == "known"
    assert fields["issues.stateReason"] == "known"
    assert set(fields.values()) == {"known"}


# --------------------------------------------------------------------------------------------
# Through the command line: one error line, and a killed run that resumes exactly

SPRINTPROOF = str(Path(sys.executable).with_name("sprintproof"))


def _config(tmp_path: Path, url: str, name: str, **extra: Any) -> Path:
    source = {"type": "github", "name": "gh", "base_url": url, "token_env": "GH_TOKEN",
              "repos": ["acme/web", "acme/api"], "page_size": 25} | extra  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps({"workspace": str(tmp_path / name), "sources": [source]}))
    return path


def _cli(config: Path, token: str = TOKEN) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPRINTPROOF")} | {"GH_TOKEN": token}  # fmt: skip
    return subprocess.Popen([SPRINTPROOF, "ingest", "--config", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_cli_prints_one_error_line_and_exits_2(
    tmp_path: Path, sim: GitHubSimulator, url: str
) -> None:
    sim.add(synthetic_repo("acme/api", pulls=5, seed=2))
    process = _cli(_config(tmp_path, url, "bad"), token="ghp_not-the-right-one-123")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: gh: ") and "HTTP 401" in lines[0]
    assert "ghp_not-the-right-one-123" not in out + err


def _snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with connect(path, read_only=True) as con:
        tables: dict[str, list[tuple[Any, ...]]] = {}
        for table, order in TABLES.items():
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall() if c not in VOLATILE]  # fmt: skip
            quoted = ", ".join(f'"{c}"' for c in columns)
            tables[table] = con.execute(f'SELECT {quoted} FROM "{table}" ORDER BY {order}, {quoted}').fetchall()  # fmt: skip
        return tables


def test_a_killed_run_resumes_with_exactly_the_rows_of_a_clean_run(tmp_path: Path) -> None:
    repos = [
        synthetic_repo("acme/web", pulls=120, big_pulls=(30,), issues=40, seed=3),
        synthetic_repo("acme/api", pulls=40, issues=30, seed=4),
    ]
    sim = GitHubSimulator(repos, token=TOKEN, latency=0.01)
    running: list[subprocess.Popen[str]] = []
    kill_at = [2, 5]  # GraphQL requests into each killed run: mid-stream, then mid-overflow

    def hook(request: Any) -> None:
        if running and running[-1].poll() is None and sim.requests_to("graphql") == kill_at[0]:
            running[-1].send_signal(signal.SIGKILL)
            running[-1].wait()

    with sim.serve() as url:
        clean = tmp_path / "clean" / "warehouse.duckdb"
        with connect(clean) as con:  # the reference: one uninterrupted run (as `ingest` runs it)
            migrate(con)
            source = settings(url, repos=["acme/web", "acme/api"], page_size=25)
            run_source(SyncContext(con=con, env={"GH_TOKEN": TOKEN}, rules=RULES), source)
        clean_requests = sim.requests_to("graphql")
        resumed = _config(tmp_path, url, "resumed")
        sim.on_request = hook
        for _ in range(len(kill_at)):
            sim.log.clear()
            running.append(_cli(resumed))
            assert running[-1].wait(timeout=120) == -signal.SIGKILL
            kill_at.pop(0)
        sim.on_request = None
        sim.log.clear()
        last = _cli(resumed)
        out, err = last.communicate(timeout=120)
        assert last.returncode == 0, err
        assert TOKEN not in out + err
        # The last run resumed where the second stopped instead of starting over.
        assert sim.requests_to("graphql") < clean_requests - 2
    want = _snapshot(clean)
    got = _snapshot(tmp_path / "resumed" / "warehouse.duckdb")
    assert want["pull_requests"] and want["pr_commits"] and want["tickets"]
    for table in TABLES:
        assert got[table] == want[table], table


# --------------------------------------------------------------------------------------------
# The demo organisation's exports, replayed


def test_demo_exports_replay_through_the_connector(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    manifest = build_demo(tmp_path / "org", months=3)
    folder = manifest.github_dir
    names = sorted(p.name for p in folder.iterdir())
    values = {"type": "github", "replay_dir": str(folder), "repos": [f"acme-robotics/{n}" for n in names]}  # fmt: skip
    ctx = SyncContext(con=con, rules=RULES, env={})
    result = run_source(ctx, GitHubSettings.model_validate(values))

    def exported(file: str) -> int:
        total = 0
        for name in names:
            data = json.loads((folder / name / file).read_text(encoding="utf-8"))
            total += len(data) if isinstance(data, list) else sum(map(len, data.values()))
        return total

    assert count(con, "SELECT count(*) FROM pull_requests") == exported("pulls.json") > 0
    assert count(con, "SELECT count(*) FROM pr_reviews") == exported("reviews.json")
    assert count(con, "SELECT count(*) FROM pr_commits") == exported("pr_commits.json")
    assert count(con, "SELECT count(*) FROM tickets") == exported("issues.json")
    assert count(con, "SELECT count(*) FROM releases") == exported("releases.json")
    assert count(con, "SELECT count(*) FROM deployments") == exported("deployments.json")
    assert count(con, "SELECT count(*) FROM deployment_statuses") == count(con, "SELECT count(*) FROM deployments")  # fmt: skip
    # Demo PR bodies say "Fixes #N" for the GitHub issue they close.
    assert count(con, "SELECT count(*) FROM ticket_links WHERE via = 'closing_ref'") > 0
    assert count(con, "SELECT count(*) FROM forge_repos") == len(names)
    agents = con.execute("SELECT DISTINCT author_login FROM pull_requests WHERE ai_mode = 'agent' AND author_type = 'bot'").fetchall()  # fmt: skip
    assert {a for (a,) in agents} <= {
        "copilot-swe-agent[bot]",
        "devin-ai-integration[bot]",
    } and agents
    assert result.requests < 20 and not result.warnings
    assert isinstance(GitHubSimulator.from_dir(folder).repo(f"acme-robotics/{names[0]}"), SimRepo)
