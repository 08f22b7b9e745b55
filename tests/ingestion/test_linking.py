"""Linking: commits to PRs, ticket keys in branches, titles and subjects, and PR attribution inherited by squash commits."""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingestion.attribution import RuleSet
from ingestion.excludes import Excludes
from ingestion.git import GitSource, ingest_repository, reattribute
from ingestion.gitscan import RulesSpec
from ingestion.linking import link, reattribute_prs
from ingestion.sync import Replace, SyncContext
from ingestion.warehouse import connect, migrate
from tests.conftest import GitRepo, MakeRepo

T = datetime(2026, 5, 4, 10, tzinfo=UTC)


@pytest.fixture
def repo(make_repo: MakeRepo) -> GitRepo:
    r = make_repo("web")
    r.commit("Initial commit", {"a.txt": "a\n"}, author="Ana <ana@acme.example>")
    return r


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "w.duckdb") as c:
        migrate(c)
        yield c


def ingest(con: duckdb.DuckDBPyConnection, repo: GitRepo, tmp_path: Path) -> None:
    ingest_repository(con, GitSource(location=str(repo.path), name="web"), mirrors_dir=tmp_path / "m",
                      excludes=Excludes.build([]), rules=RulesSpec(), workers=1)  # fmt: skip


def pr(number: int, merge_sha: str | None, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source": "github", "forge": "github", "repo": "acme/web", "number": number, "forge_id": f"PR_{number}",
        "title": f"Change {number}", "author_login": "ana", "author_type": "user", "state": "merged" if merge_sha else "open",
        "is_draft": False, "created_at": T, "updated_at": T, "merged_at": T if merge_sha else None,
        "head_ref": f"feature/{number}", "labels": [], "merge_commit_sha": merge_sha, "body_length": 0,
        "synced_at": T, "run_id": "r",
    }  # fmt: skip
    return row | extra


def store(
    con: duckdb.DuckDBPyConnection,
    prs: list[dict[str, object]],
    tickets: Sequence[str] = (),
    pr_commits: Sequence[dict[str, object]] = (),
) -> None:
    ctx = SyncContext(con=con)
    forge = [
        {
            "source": "github",
            "forge": "github",
            "repo": "acme/web",
            "git_repo": "web",
            "synced_at": T,
        }
    ]
    ticket_rows = [
        {"source": "jira", "tracker": "jira", "ticket_id": str(i), "key": k, "project": k.split("-")[0], "title": "t",
         "type_category": "feature", "status_category": "done", "labels": [], "created_at": T, "updated_at": T,
         "body_length": 0, "synced_at": T, "run_id": "r"}
        for i, k in enumerate(tickets)
    ]  # fmt: skip
    ctx.commit_page("test", "all", "all", None, [
        Replace("forge_repos", forge, ("source", "repo")),
        Replace("pull_requests", prs, ("source", "repo", "number")),
        Replace("tickets", ticket_rows, ("source", "ticket_id")),
        Replace("pr_commits", list(pr_commits), ("source", "repo", "pr_number", "sha")),
    ])  # fmt: skip


def test_squash_commit_inherits_the_pr_attribution_and_it_is_rebuilt_not_stacked(
    con: duckdb.DuckDBPyConnection, repo: GitRepo, tmp_path: Path
) -> None:
    squash = repo.commit("Add retries (#7)", {"b.txt": "b\n"}, author="Ana <ana@acme.example>")
    plain = repo.commit("Tidy (#8)", {"c.txt": "c\n"}, author="Ana <ana@acme.example>")
    ingest(con, repo, tmp_path)
    store(
        con,
        [
            pr(7, squash, ai_tool="claude_code", ai_mode="assisted", ai_confidence=0.95),
            pr(8, plain),
        ],
    )
    for _ in range(2):
        result = link(con)
        assert result.inherited == 1 and result.commit_prs == 2
    rows = con.execute(
        "SELECT sha, ai_tool, ai_mode, ai_via_pr, own_ai_mode FROM commits WHERE sha IN (?, ?) ORDER BY subject",
        [squash, plain],
    ).fetchall()
    assert rows == [
        (squash, "claude_code", "assisted", "acme/web#7", None),
        (plain, None, None, None, None),
    ]
    evidence = con.execute(
        "SELECT subject_id, field, matched FROM ai_evidence WHERE rule_id = 'inherit.pr'"
    ).fetchall()
    assert evidence == [(squash, "pr", "acme/web#7")]
    # The PR loses its attribution (rules changed): the commit falls back to its own.
    con.execute("UPDATE pull_requests SET ai_tool = NULL, ai_mode = NULL, ai_confidence = NULL")
    assert link(con).inherited == 0
    assert con.execute(
        "SELECT ai_mode, ai_via_pr FROM commits WHERE sha = ?", [squash]
    ).fetchall() == [(None, None)]


def test_a_stronger_own_attribution_is_kept_and_reattribution_keeps_inheritance_consistent(
    con: duckdb.DuckDBPyConnection, repo: GitRepo, tmp_path: Path
) -> None:
    own = repo.commit("Fix (#9)\n\nCo-authored-by: Claude <noreply@anthropic.com>\n", {"d.txt": "d\n"},
                      author="Ana <ana@acme.example>")  # fmt: skip
    squash = repo.commit("Feature (#10)", {"e.txt": "e\n"}, author="Ana <ana@acme.example>")
    ingest(con, repo, tmp_path)
    store(con, [pr(9, own, ai_tool="cursor", ai_mode="assisted", ai_confidence=0.6),
                pr(10, squash, ai_tool="devin", ai_mode="agent", ai_confidence=0.99)])  # fmt: skip
    link(con)
    assert con.execute(
        "SELECT ai_tool, ai_via_pr FROM commits WHERE sha = ?", [own]
    ).fetchall() == [("claude_code", None)]
    reattribute(con, "web", None, RuleSet.load(), "run-2")
    link(con)
    assert con.execute(
        "SELECT ai_tool, ai_via_pr FROM commits WHERE sha = ?", [squash]
    ).fetchall() == [("devin", "acme/web#10")]


def test_ticket_keys_link_from_branches_titles_and_subjects_for_known_projects_only(
    con: duckdb.DuckDBPyConnection, repo: GitRepo, tmp_path: Path
) -> None:
    direct = repo.commit("WEB-3: hotfix for UTF-8 and ISO-8601 dates", {"f.txt": "f\n"})
    ingest(con, repo, tmp_path)
    store(
        con,
        [pr(11, None, head_ref="feature/web-1_login", title="Login page (WEB-2, WEB-99)")],
        tickets=["WEB-1", "WEB-2", "WEB-3", "PAY-4"],
        pr_commits=[{"source": "github", "repo": "acme/web", "pr_number": 11, "sha": "f" * 40, "position": 0,
                     "subject": "PAY-4 shared client", "trailers": []}],
    )  # fmt: skip
    link(con)
    rows = con.execute(
        "SELECT subject_kind, subject_id, ticket_key, via FROM ticket_links ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("commit", direct, "WEB-3", "subject"),
        ("pr", "11", "PAY-4", "commit_subject"),
        ("pr", "11", "WEB-1", "branch"),
        ("pr", "11", "WEB-2", "title"),
    ]


def test_stored_prs_are_reattributed_from_stored_fields_and_recorded_markers(
    con: duckdb.DuckDBPyConnection,
) -> None:
    commit = {"source": "github", "repo": "acme/web", "pr_number": 12, "sha": "a" * 40, "position": 0, "subject": "wip",
              "trailers": [{"key": "co-authored-by", "value": "Claude <noreply@anthropic.com>"}],
              "author_name": "Ana", "author_email": "ana@acme.example"}  # fmt: skip
    store(
        con,
        [pr(12, None), pr(13, None, head_ref="devin/1771599590-fix-login"), pr(14, None)],
        pr_commits=[commit],
    )
    marker = {"source": "github", "subject_kind": "pr", "repo": "acme/web", "subject_id": "14", "rule_id": "C2", "field": "body",
              "matched": "🤖 Generated with [Claude Code](https://claude.com/claude-code)", "tool": "claude_code",
              "mode": "assisted", "confidence": 0.95, "ruleset_version": "old", "run_id": "r"}  # fmt: skip
    SyncContext(con=con).commit_page(
        "t",
        "t",
        "t",
        None,
        [Replace("ai_evidence", [marker], ("subject_kind", "repo", "subject_id"))],
    )
    assert reattribute_prs(con, RuleSet.load()) == 3
    rows = con.execute(
        "SELECT number, ai_tool, ai_mode FROM pull_requests ORDER BY number"
    ).fetchall()
    assert rows == [
        (12, "claude_code", "assisted"),
        (13, "devin", "agent"),
        (14, "claude_code", "assisted"),
    ]
    assert con.execute("SELECT ai_tool FROM pr_commits").fetchall() == [("claude_code",)]
    via = con.execute(
        "SELECT subject_id, field, via_sha FROM ai_evidence WHERE subject_kind = 'pr' ORDER BY ALL"
    ).fetchall()
    assert ("12", "trailer", "a" * 40) in via and ("14", "body", None) in via
    assert reattribute_prs(con, RuleSet.load()) == 0  # stable
    disabled = RuleSet.load(disabled=["C1"])
    assert reattribute_prs(con, disabled) == 1
    assert con.execute("SELECT ai_mode FROM pull_requests WHERE number = 12").fetchall() == [
        (None,)
    ]
