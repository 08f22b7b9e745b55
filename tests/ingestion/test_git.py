"""Tests for git ingestion: line counts, history flags, incremental runs and attribution in the warehouse."""

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pytest
from conftest import EPOCH, GitRepo, MakeRepo

from ingestion.attribution import RuleSet
from ingestion.excludes import Excludes
from ingestion.git import GitSource, GitSourceError, IngestResult, RulesSpec, ingest_repository
from ingestion.warehouse import connect, migrate, scalar

TABLES = (
    "repos",
    "repo_refs",
    "commits",
    "commit_files",
    "commit_trailers",
    "commit_ai_notes",
    "ai_evidence",
    "ingest_runs",
)
RUN_COLUMNS = frozenset(
    {"run_id", "started_at", "finished_at", "first_ingested_at", "last_changed_at"}
)
"""Columns that name or time a run: they differ between two ingests of the same history."""
CATALOGUE_VERSION = RuleSet.load().version

Con = duckdb.DuckDBPyConnection
Snapshot = dict[str, list[tuple[Any, ...]]]


class Ingest(Protocol):
    def __call__(
        self,
        con: Con,
        location: str | Path,
        *,
        excludes: Excludes | None = None,
        rules: RulesSpec | None = None,
        workers: int | None = None,
        name: str | None = None,
    ) -> IngestResult: ...


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def open_warehouse(tmp_path: Path) -> Iterator[Callable[[str], Con]]:
    """Factory: a migrated warehouse file per name, closed at the end of the test."""
    with ExitStack() as stack:

        def open_(name: str) -> Con:
            con = stack.enter_context(connect(tmp_path / "warehouses" / f"{name}.duckdb"))
            migrate(con)
            return con

        yield open_


@pytest.fixture
def con(open_warehouse: Callable[[str], Con]) -> Con:
    return open_warehouse("warehouse")


@pytest.fixture
def mirrors_dir(tmp_path: Path) -> Path:
    return tmp_path / "mirrors"


@pytest.fixture
def ingest(mirrors_dir: Path, git_env: dict[str, str]) -> Ingest:
    """ingest(con, path or URL, ...) with default excludes and rules, inside the hermetic git env."""

    def run(
        con: Con,
        location: str | Path,
        *,
        excludes: Excludes | None = None,
        rules: RulesSpec | None = None,
        workers: int | None = None,
        name: str | None = None,
    ) -> IngestResult:
        return ingest_repository(
            con,
            GitSource(location=str(location), name=name),
            mirrors_dir=mirrors_dir,
            excludes=excludes or Excludes.build(),
            rules=rules or RulesSpec(),
            workers=workers,
        )

    return run


def rows(con: Con, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def commit_row(con: Con, sha: str) -> dict[str, Any]:
    result = con.execute("SELECT * FROM commits WHERE sha = ?", [sha])
    names = [d[0] for d in result.description or ()]
    found = result.fetchall()
    assert len(found) == 1, f"{sha}: {len(found)} rows"
    return dict(zip(names, found[0], strict=True))


def column(con: Con, sql: str, *params: Any) -> list[Any]:
    return [row[0] for row in rows(con, sql, *params)]


def snapshot(
    con: Con, tables: Sequence[str] = TABLES, ignore: frozenset[str] = frozenset()
) -> Snapshot:
    """Every row of each table, sorted, without the ignored columns."""
    out: Snapshot = {}
    for table in tables:
        names = column(
            con,
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            table,
        )
        kept = ", ".join(n for n in names if n not in ignore)
        out[table] = con.execute(f"SELECT {kept} FROM {table} ORDER BY ALL").fetchall()
    return out


NumstatKey = tuple[str, str]


def git_numstat(repo: GitRepo) -> dict[NumstatKey, tuple[int | None, int | None]]:
    """(sha, path) -> (added, deleted) as `git log --numstat --no-renames` reports it (None: binary)."""
    out = repo.run("log", "--branches", "--tags", "--numstat", "--no-renames", "--format=@%H", "-z")
    found: dict[NumstatKey, tuple[int | None, int | None]] = {}
    sha = ""
    for token in out.split(b"\0"):
        token = token.lstrip(b"\n")
        if not token:
            continue
        if re.fullmatch(rb"@[0-9a-f]{40}", token):
            sha = token[1:].decode()
            continue
        added, deleted, path = token.split(b"\t", 2)
        key = (sha, path.decode("utf-8", "replace"))
        assert key not in found, f"git listed {key} twice"
        found[key] = (
            None if added == b"-" else int(added),
            None if deleted == b"-" else int(deleted),
        )
    return found


def warehouse_numstat(con: Con) -> dict[NumstatKey, tuple[int | None, int | None]]:
    found = rows(con, "SELECT sha, path, added, deleted FROM commit_files")
    table = {(sha, path): (added, deleted) for sha, path, added, deleted in found}
    assert len(table) == len(found), "duplicate (sha, path) rows in commit_files"
    return table


def assert_numstat_parity(
    con: Con, repo: GitRepo
) -> dict[NumstatKey, tuple[int | None, int | None]]:
    """commit_files equals git's numstat, and every complete commit's totals are the sums."""
    expected = git_numstat(repo)
    assert warehouse_numstat(con) == expected
    binary = rows(con, "SELECT sha, path FROM commit_files WHERE is_binary")
    assert sorted(binary) == sorted(k for k, (a, _) in expected.items() if a is None)
    sums = rows(
        con,
        "SELECT c.sha, c.additions, c.deletions, c.files_changed, c.binary_files, "
        "  coalesce(sum(f.added), 0), coalesce(sum(f.deleted), 0), count(f.sha), "
        "  count(f.sha) FILTER (WHERE f.is_binary) "
        "FROM commits c LEFT JOIN commit_files f USING (repo, sha) "
        "WHERE c.stats_complete GROUP BY ALL",
    )
    for sha, additions, deletions, files, binaries, s_add, s_del, n_files, n_bin in sums:
        assert (additions, deletions, files, binaries) == (s_add, s_del, n_files, n_bin), sha
    return expected


def stamp(offset: int = 0) -> str:
    return f"@{EPOCH + offset} +0000"


# --------------------------------------------------------------------------- 1. numstat parity


def test_numstat_matches_git_for_every_kind_of_change(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    main_py = [f"line {i}\n" for i in range(30)]
    os.symlink("README.md", repo.path / "link")
    (repo.path / "sub").mkdir()
    repo.run("update-index", "--add", "--cacheinfo", f"160000,{'a' * 40},sub")
    c1 = repo.commit(
        "root",
        {
            "README.md": "hello\nworld\n",
            "src/app/main.py": "".join(main_py),
            "src/app/deep/nested/mod.py": "a\nb\nc\nd\ne\n",
            "empty.txt": "",
            "noeol.txt": "one\ntwo",
            "data.bin": b"\x00\x01\x02binary\n" * 10,
            "script.sh": "#!/bin/sh\necho hi\n",
            "thing": "a file\n",
            "old_name.txt": "rename me\n" * 5,
            b"caf\xe9.txt": "latin-1 named\n",
            "crlf.txt": "a\r\nb\r\nc\r\n",
            "late_nul.txt": b"x" * 9000 + b"\n\x00tail\n",
        },
    )
    main_py[5] = "changed five\n"
    main_py[6] = "changed six\n"
    main_py += ["new a\n", "new b\n", "new c\n"]
    os.chmod(repo.path / "script.sh", 0o755)
    (repo.path / "link").unlink()
    os.symlink("noeol.txt", repo.path / "link")
    repo.run("update-index", "--cacheinfo", f"160000,{'b' * 40},sub")
    repo.run("mv", "old_name.txt", "new_name.txt")
    c2 = repo.commit(
        "every kind of change",
        {
            "README.md": "hello\nthere\nworld\n",
            "src/app/main.py": "".join(main_py),
            "src/app/deep/nested/mod.py": None,
            "empty.txt": "now\nfilled\n",
            "noeol.txt": "one\ntwo\nthree",
            "data.bin": b"\x00\xff" * 50,
            "thing": None,
            "thing/inner.txt": "a directory now\n",
            b"caf\xe9.txt": "latin-1 named\nagain\n",
            "r\u00e9sum\u00e9.md": "utf-8 named\n",
            "crlf.txt": "a\nb\nc\n",
        },
    )
    repo.run("rm", "-q", "--cached", "sub")
    (repo.path / "noeol.txt").unlink()
    os.symlink("README.md", repo.path / "noeol.txt")
    c3 = repo.commit(
        "type changes, emptied and removed files",
        {
            "data.bin": "text now\n",
            "README.md": "",
            "thing/inner.txt": None,
            "thing": "a file again\n",
            "src/app/main.py": "".join(reversed(main_py)),
            "late_nul.txt": b"x" * 9000 + b"\n\x00tail\nmore\n",
        },
    )
    c4 = repo.commit("empty commit")

    result = ingest(con, repo.path)

    assert result.status == "ok"
    assert (result.commits_added, result.commits_total, result.commits_incomplete) == (4, 4, 0)
    expected = assert_numstat_parity(con, repo)
    assert result.files_added == len(expected)
    changes = {(s, p): c for s, p, c in rows(con, "SELECT sha, path, change FROM commit_files")}
    assert changes[(c1, "sub")] == "A"
    assert changes[(c2, "sub")] == "M"
    assert changes[(c3, "sub")] == "D"
    assert changes[(c2, "old_name.txt")] == "D" and changes[(c2, "new_name.txt")] == "A"
    assert changes[(c2, "thing")] == "D" and changes[(c2, "thing/inner.txt")] == "A"
    assert changes[(c3, "thing")] == "A" and changes[(c3, "thing/inner.txt")] == "D"
    assert changes[(c2, "script.sh")] == "M"
    assert changes[(c3, "noeol.txt")] == "T"
    assert (c2, "src/app/deep/nested/mod.py") in changes
    assert (c2, "r\u00e9sum\u00e9.md") in changes
    assert (c1, "caf\ufffd.txt") in changes  # not UTF-8: decoded with replacement, as git's bytes
    assert warehouse_numstat(con)[(c2, "script.sh")] == (0, 0)
    assert warehouse_numstat(con)[(c1, "empty.txt")] == (0, 0)
    assert warehouse_numstat(con)[(c2, "data.bin")] == (None, None)
    assert warehouse_numstat(con)[(c1, "late_nul.txt")] == (2, 0)
    root = commit_row(con, c1)
    assert (root["parent_count"], root["first_parent_sha"], root["files_changed"]) == (0, None, 14)
    assert root["binary_files"] == 1 and root["stats_complete"]
    empty = commit_row(con, c4)
    assert (empty["additions"], empty["deletions"], empty["files_changed"]) == (0, 0, 0)


# --------------------------------------------------------------------------- 2. merges and branch flags


def test_merge_commits_and_default_branch_membership(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    c1 = repo.commit("c1", {"a.txt": "a\n"})
    c2 = repo.commit("c2", {"b.txt": "b\n"})
    repo.run("checkout", "-q", "-b", "feature", c1)
    f1 = repo.commit("f1", {"f.txt": "f\n"})
    f2 = repo.commit("f2", {"f.txt": "f\ng\n"})
    repo.run("checkout", "-q", "main")
    c3 = repo.commit("c3", {"c.txt": "c\n"})
    repo.run("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", env={"GIT_AUTHOR_DATE": stamp(9000), "GIT_COMMITTER_DATE": stamp(9000)})  # fmt: skip
    merge = repo.head()
    repo.run("checkout", "-q", "-b", "unmerged")
    u1 = repo.commit("u1", {"u.txt": "u\n"})
    repo.run("checkout", "-q", "-b", "tagged", c2)
    t1 = repo.commit("t1", {"t.txt": "t\n"})
    repo.run("tag", "-a", "-m", "release", "v1", t1, env={"GIT_COMMITTER_DATE": stamp(9900)})
    repo.run("checkout", "-q", "main")
    repo.run("branch", "-q", "-D", "tagged")

    result = ingest(con, repo.path)

    assert result.commits_total == 8
    m = commit_row(con, merge)
    assert m["is_merge"] and m["parent_count"] == 2 and m["first_parent_sha"] == c3
    assert (m["additions"], m["deletions"], m["files_changed"]) == (0, 0, 0)
    assert m["source_branch"] == "feature"
    assert column(con, "SELECT count(*) FROM commit_files WHERE sha = ?", merge) == [0]
    for sha in (c1, c2, c3, merge):
        row = commit_row(con, sha)
        assert row["on_default_branch"] and row["in_default_history"] and row["is_reachable"], sha
    for sha in (f1, f2):
        row = commit_row(con, sha)
        assert row["in_default_history"] and not row["on_default_branch"] and row["is_reachable"], (
            sha
        )
        assert not row["is_merge"]
    for sha in (u1, t1):
        row = commit_row(con, sha)
        assert (
            row["is_reachable"] and not row["in_default_history"] and not row["on_default_branch"]
        ), sha
    assert rows(con, "SELECT default_branch, default_branch_sha FROM repos") == [
        ("refs/heads/main", merge)
    ]
    refs = dict(rows(con, "SELECT ref, sha FROM repo_refs"))
    assert refs == {
        "refs/heads/main": merge,
        "refs/heads/feature": f2,
        "refs/heads/unmerged": u1,
        "refs/tags/v1": t1,  # an annotated tag, peeled to its commit
    }
    assert_numstat_parity(con, repo)


# --------------------------------------------------------------------------- 3. incremental runs


def test_incremental_ingest_adds_only_new_commits_and_noop_changes_nothing(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    repo.commit("one", {"a.txt": "1\n"})
    repo.commit(
        "two\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>\n", {"a.txt": "1\n2\n"}
    )
    first = ingest(con, repo.path)
    assert (first.status, first.commits_added) == ("ok", 2)

    new = [
        repo.commit(f"more {i}", {f"n{i}.txt": "x\n" * (i + 1), "a.txt": f"{i}\n"})
        for i in range(3)
    ]
    second = ingest(con, repo.path)
    assert (second.status, second.commits_added, second.commits_total) == ("ok", 3, 5)
    assert second.files_added == 6
    assert sorted(column(con, "SELECT sha FROM commits WHERE run_id = ?", second.run_id)) == sorted(
        new
    )
    assert rows(con, "SELECT default_branch_sha FROM repos") == [(new[-1],)]

    before = snapshot(con, TABLES[:-1])
    runs_before = rows(con, "SELECT run_id, status FROM ingest_runs")
    third = ingest(con, repo.path)
    assert (third.status, third.commits_added, third.commits_updated, third.commits_total) == (
        "noop",
        0,
        0,
        5,
    )
    assert snapshot(con, TABLES[:-1]) == before
    runs_after = rows(con, "SELECT run_id, status FROM ingest_runs")
    assert sorted(set(runs_after) - set(runs_before)) == [(third.run_id, "noop")]
    assert rows(con, "SELECT status FROM ingest_runs WHERE run_id = ?", second.run_id) == [("ok",)]


# --------------------------------------------------------------------------- 4. idempotence


def history_with_everything(repo: GitRepo) -> None:
    """Merges, an annotated tag, trailers, a revert, a mailmap and a git-ai note."""
    repo.commit(
        "init", {".mailmap": "Ada Lovelace <ada@example.com> <ada@old.example>\n", "a.txt": "a\n"}
    )
    base = repo.commit(
        "feat: add b (#12)\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>\n",
        {"b.txt": "b\n" * 4},
        author="ada <ada@old.example>",
    )
    repo.run("checkout", "-q", "-b", "topic")
    repo.commit("topic work", {"t.txt": "t\n"})
    repo.run("checkout", "-q", "main")
    repo.commit(f'Revert "x"\n\nThis reverts commit {base}.\n', {"b.txt": None})
    repo.run("merge", "-q", "--no-ff", "-m", "Merge pull request #7 from org/topic", "topic", env={"GIT_AUTHOR_DATE": stamp(5000), "GIT_COMMITTER_DATE": stamp(5000)})  # fmt: skip
    repo.run("tag", "-a", "-m", "v1", "v1", env={"GIT_COMMITTER_DATE": stamp(5100)})
    repo.run("notes", "--ref=ai", "add", "-m", git_ai_note({"b.txt": "1-4"}), base)


def test_two_fresh_warehouses_hold_the_same_rows(
    open_warehouse: Callable[[str], Con], make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    history_with_everything(repo)
    one, two = open_warehouse("one"), open_warehouse("two")

    results = [ingest(one, repo.path), ingest(two, repo.path)]

    assert [r.commits_added for r in results] == [5, 5]
    first = snapshot(one, ignore=RUN_COLUMNS)
    assert first == snapshot(two, ignore=RUN_COLUMNS)
    assert all(first[t] for t in TABLES), "the history should fill every table"
    pr = rows(
        one, "SELECT pr_number, is_revert, reverted_sha IS NOT NULL FROM commits ORDER BY ALL"
    )
    assert (7, False, False) in pr and (12, False, False) in pr and (None, True, True) in pr


def test_a_rerun_after_losing_the_ref_cursor_writes_no_duplicates(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    history_with_everything(repo)
    ingest(con, repo.path)
    before = snapshot(con, TABLES[:-1], ignore=RUN_COLUMNS)
    con.execute("DELETE FROM repo_refs")  # forces a full walk over commits that are all stored

    again = ingest(con, repo.path)

    assert (again.status, again.commits_added) == ("ok", 0)
    assert snapshot(con, TABLES[:-1], ignore=RUN_COLUMNS) == before


# --------------------------------------------------------------------------- 5. odd repositories and bad paths


def test_empty_repository_ingests_nothing_with_a_warning(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()

    result = ingest(con, repo.path)

    assert (result.status, result.commits_added, result.commits_total) == ("ok", 0, 0)
    assert any("empty" in w for w in result.warnings)
    assert rows(con, "SELECT default_branch, default_branch_sha FROM repos") == [(None, None)]
    assert column(con, "SELECT count(*) FROM commits") == [0]

    first = repo.commit("first", {"a.txt": "a\n"})
    later = ingest(con, repo.path)

    assert (later.status, later.commits_added) == ("ok", 1)
    assert rows(con, "SELECT default_branch, default_branch_sha FROM repos") == [
        ("refs/heads/main", first)
    ]


def test_head_on_a_missing_branch_falls_back_to_an_existing_one(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    shas = [repo.commit(f"c{i}", {"a.txt": f"{i}\n"}) for i in range(3)]
    repo.run("branch", "-m", "main", "feature")
    repo.run("symbolic-ref", "HEAD", "refs/heads/gone")

    result = ingest(con, repo.path)

    assert (result.status, result.commits_total) == ("ok", 3)
    assert rows(con, "SELECT default_branch, default_branch_sha FROM repos") == [
        ("refs/heads/feature", shas[-1])
    ]
    assert column(con, "SELECT bool_and(on_default_branch) FROM commits") == [True]


def test_a_directory_that_is_not_a_repository_is_refused(
    con: Con, tmp_path: Path, ingest: Ingest
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "file.txt").write_text("not a repository\n")

    with pytest.raises(GitSourceError, match=re.escape(str(plain))):
        ingest(con, plain)

    assert rows(con, "SELECT status, error LIKE '%' || ? || '%' FROM ingest_runs", str(plain)) == [
        ("failed", True)
    ]
    assert column(con, "SELECT count(*) FROM repos") == [0]


def test_a_folder_inside_a_repository_is_not_that_repository(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo("outer")
    repo.write("docs/readme.md", "hello\n")
    repo.commit("Add docs")

    with pytest.raises(GitSourceError, match="not a git repository"):
        ingest(con, repo.path / "docs")

    assert column(con, "SELECT count(*) FROM commits") == [0]


def test_a_missing_path_is_refused(con: Con, tmp_path: Path, ingest: Ingest) -> None:
    missing = tmp_path / "does" / "not" / "exist"

    with pytest.raises(GitSourceError, match=re.escape(str(missing))):
        ingest(con, missing)

    assert column(con, "SELECT status FROM ingest_runs") == ["failed"]


# --------------------------------------------------------------------------- 6-7. missing objects


def test_shallow_clone_marks_the_boundary_commit_incomplete(
    con: Con, make_repo: MakeRepo, ingest: Ingest, tmp_path: Path
) -> None:
    src = make_repo("src")
    shas = [src.commit(f"c{i}", {"a.txt": "x\n" * (i + 1), f"f{i}.txt": "y\n"}) for i in range(6)]
    GitRepo(tmp_path, src.env).run("clone", "-q", "--depth", "3", f"file://{src.path}", "shallow")

    result = ingest(con, tmp_path / "shallow")

    assert result.commits_total == 3
    assert sorted(column(con, "SELECT sha FROM commits")) == sorted(shas[3:])
    assert any("shallow" in w for w in result.warnings)
    boundary = commit_row(con, shas[3])
    assert not boundary["stats_complete"]
    assert boundary["additions"] is None and boundary["deletions"] is None
    for sha in shas[4:]:
        row = commit_row(con, sha)
        assert row["stats_complete"] and (row["additions"], row["deletions"]) == (2, 0), sha
    assert result.commits_incomplete == 1
    assert boundary["parent_count"] == 1 and boundary["first_parent_sha"] == shas[2]
    assert rows(con, "SELECT is_shallow FROM repos") == [(True,)]


def test_partial_clone_keeps_commits_whose_blobs_are_missing(
    con: Con, make_repo: MakeRepo, ingest: Ingest, tmp_path: Path
) -> None:
    src = make_repo("src")
    src.run("config", "uploadpack.allowFilter", "true")
    c1 = src.commit("add", {"a.txt": "a\nb\n", "run.sh": "#!/bin/sh\n"})
    c2 = src.commit("modify", {"a.txt": "a\nb\nc\n"})
    os.chmod(src.path / "run.sh", 0o755)
    c3 = src.commit("mode only")
    c4 = src.commit("nothing")
    GitRepo(tmp_path, src.env).run(
        "clone", "-q", "--bare", "--filter=blob:none", f"file://{src.path}", "part.git"
    )

    result = ingest(con, tmp_path / "part.git")

    assert (result.status, result.commits_total) == ("ok", 4)
    complete = dict(rows(con, "SELECT sha, stats_complete FROM commits"))
    assert complete == {c1: False, c2: False, c3: True, c4: True}
    assert result.commits_incomplete == 2
    assert any(w.startswith("2 commits have incomplete line counts") for w in result.warnings)
    assert rows(
        con, "SELECT additions, deletions, files_changed FROM commits WHERE sha = ?", c1
    ) == [(None, None, 2)]
    assert rows(
        con, "SELECT additions, deletions, files_changed FROM commits WHERE sha = ?", c3
    ) == [(0, 0, 1)]
    assert rows(con, "SELECT path, added, deleted FROM commit_files WHERE sha = ?", c2) == [
        ("a.txt", None, None)
    ]


# --------------------------------------------------------------------------- 8. rewritten history


@pytest.mark.parametrize("remote", [False, True], ids=["local", "mirror"])
def test_force_pushed_history_marks_dropped_commits_unreachable(
    con: Con, make_repo: MakeRepo, ingest: Ingest, remote: bool
) -> None:
    repo = make_repo("src")
    old = [repo.commit(f"c{i}", {"a.txt": f"{i}\n"}) for i in range(5)]
    location = f"file://{repo.path}" if remote else str(repo.path)
    assert ingest(con, location).commits_added == 5

    repo.run("reset", "-q", "--hard", "HEAD~2")
    new = [repo.commit(f"rewritten {i}", {"b.txt": f"{i}\n"}) for i in range(2)]
    result = ingest(con, location)

    assert (result.status, result.commits_added, result.commits_total) == ("ok", 2, 7)
    assert column(con, "SELECT count(*) - count(DISTINCT sha) FROM commits") == [0]
    reachable = dict(rows(con, "SELECT sha, is_reachable FROM commits"))
    assert reachable == {
        **dict.fromkeys(old[:3], True),
        **dict.fromkeys(old[3:], False),
        **dict.fromkeys(new, True),
    }
    for sha in old[3:]:
        row = commit_row(con, sha)
        assert not row["in_default_history"] and not row["on_default_branch"]
    assert result.commits_updated == 2
    assert any(w.startswith("2 stored commits are no longer reachable") for w in result.warnings)
    dupes = "SELECT count(*) FROM (SELECT sha, path, count(*) AS n FROM commit_files GROUP BY ALL HAVING n > 1)"
    assert column(con, dupes) == [0]

    before = snapshot(con, TABLES[:-1])
    assert ingest(con, location).status == "noop"
    assert snapshot(con, TABLES[:-1]) == before


# --------------------------------------------------------------------------- 9-11. identities and time


def test_legacy_encodings_and_invalid_utf8_are_decoded(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    latin = repo.commit(
        b"\xdcber caf\xe9\n\nK\xf6rper.\n\nReviewed-by: J\xfcrgen M\xfcller <j@example.com>\n",
        {"a.txt": "a\n"},
        config=("i18n.commitEncoding=ISO-8859-1",),
        env={
            "GIT_AUTHOR_NAME": b"J\xfcrgen M\xfcller",
            "GIT_COMMITTER_NAME": b"J\xfcrgen M\xfcller",
        },
    )
    sjis = repo.commit(
        "\u4fee\u6b63".encode("shift_jis"),
        {"b.txt": "b\n"},
        config=("i18n.commitEncoding=Shift_JIS",),
        env={"GIT_AUTHOR_NAME": "\u5c71\u7530".encode("shift_jis")},
    )
    # git commit would rewrite invalid UTF-8 as Latin-1, so the object is written by hand.
    raw = (
        f"tree {repo.git('rev-parse', 'HEAD^{tree}')}\nparent {repo.head()}\n".encode()
        + b"author Bj\xf6rn <bjorn@example.com> 1700009000 +0200\n"
        + b"committer Bj\xf6rn <bjorn@example.com> 1700009000 +0200\n\nfix \xff\xfe stray bytes\n"
    )
    broken = repo.git("hash-object", "-t", "commit", "-w", "--literally", "--stdin", stdin=raw)
    repo.run("update-ref", "refs/heads/main", broken)
    assert b"\nencoding ISO-8859-1\n" in repo.run("cat-file", "commit", latin)
    assert repo.run("cat-file", "commit", broken) == raw

    result = ingest(con, repo.path)

    assert result.commits_total == 3
    row = commit_row(con, latin)
    assert (row["author_name"], row["committer_name"], row["subject"]) == (
        "J\u00fcrgen M\u00fcller",
        "J\u00fcrgen M\u00fcller",
        "\u00dcber caf\u00e9",
    )
    assert rows(con, "SELECT key, value FROM commit_trailers WHERE sha = ?", latin) == [
        ("reviewed-by", "J\u00fcrgen M\u00fcller <j@example.com>")
    ]
    row = commit_row(con, sjis)
    assert (row["author_name"], row["subject"]) == ("\u5c71\u7530", "\u4fee\u6b63")
    row = commit_row(con, broken)
    assert row["author_name"] == "Bj\u00f6rn"
    assert row["subject"].startswith("fix ") and row["subject"].endswith(" stray bytes")


OFFSETS = [("+0545", 345), ("-0930", -570), ("+1400", 840), ("-1200", -720), ("+0000", 0)]


def test_odd_timezone_offsets_keep_the_offset_and_the_utc_instant(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    made = []
    for i, ((text, minutes), (c_text, c_minutes)) in enumerate(
        zip(OFFSETS, reversed(OFFSETS), strict=True)
    ):
        when = EPOCH + i * 86_400 + 1234
        sha = repo.commit(
            f"tz {text}",
            {"a.txt": f"{i}\n"},
            date=f"@{when} {text}",
            committer_date=f"@{when + 30} {c_text}",
        )
        made.append((sha, when, minutes, c_minutes))

    ingest(con, repo.path)

    for sha, when, minutes, c_minutes in made:
        row = commit_row(con, sha)
        assert row["author_tz_offset_min"] == minutes
        assert row["committer_tz_offset_min"] == c_minutes
        assert row["authored_at"] == datetime.fromtimestamp(when, UTC)
        assert row["committed_at"] == datetime.fromtimestamp(when + 30, UTC)
    local = scalar(
        con,
        "SELECT strftime(authored_at, '%Y-%m-%d %H:%M:%S') FROM commits WHERE sha = ?",
        [made[0][0]],
    )
    assert local == datetime.fromtimestamp(made[0][1], UTC).strftime("%Y-%m-%d %H:%M:%S")


MAILMAP = """\
Grace Hopper <grace@example.com>
<linus@work.example> <linus@personal.example>
Ada Lovelace <ada@example.com> <ada@old.example>
Alan Turing <alan@example.com> Alan <shared@example.com>
"""
IDENTITY_COLUMNS = (
    "sha, author_name, author_email, author_canonical_name, author_canonical_email, committer_name, "
    "committer_email, committer_canonical_name, committer_canonical_email"
)


def git_identities(repo: GitRepo) -> list[tuple[str, ...]]:
    """(sha, raw and mailmapped author and committer) as git log prints them."""
    fields = "%H%x00%an%x00%ae%x00%aN%x00%aE%x00%cn%x00%ce%x00%cN%x00%cE"
    return sorted(
        tuple(line.split("\0")) for line in repo.git("log", f"--format={fields}").splitlines()
    )


def test_mailmap_maps_canonical_identities_and_keeps_raw_ones(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    repo.commit("mailmap", {".mailmap": MAILMAP})
    authors = [
        "grace <grace@example.com>",
        "Linus <linus@personal.example>",
        "ada (laptop) <ada@old.example>",
        "Alan <shared@example.com>",
        "Build Bot <shared@example.com>",
        "Zed <zed@example.com>",
    ]
    for i, author in enumerate(authors):
        repo.commit(f"by {author}", {"a.txt": f"{i}\n"}, author=author)
    repo.commit("committed by linus", {"a.txt": "x\n"}, env={"GIT_COMMITTER_NAME": "Linus", "GIT_COMMITTER_EMAIL": "linus@personal.example"})  # fmt: skip

    ingest(con, repo.path)

    stored = rows(con, f"SELECT {IDENTITY_COLUMNS} FROM commits ORDER BY ALL")
    assert stored == git_identities(repo)
    by_raw = {(r[1], r[2]): (r[3], r[4]) for r in stored}
    assert by_raw[("grace", "grace@example.com")] == ("Grace Hopper", "grace@example.com")
    assert by_raw[("Linus", "linus@personal.example")] == ("Linus", "linus@work.example")
    assert by_raw[("ada (laptop)", "ada@old.example")] == ("Ada Lovelace", "ada@example.com")
    assert by_raw[("Alan", "shared@example.com")] == ("Alan Turing", "alan@example.com")
    assert by_raw[("Build Bot", "shared@example.com")] == ("Build Bot", "shared@example.com")
    assert by_raw[("Zed", "zed@example.com")] == ("Zed", "zed@example.com")
    committer = {r[5:7]: r[7:9] for r in stored}
    assert committer[("Linus", "linus@personal.example")] == ("Linus", "linus@work.example")


def test_mailmap_matches_emails_and_names_without_regard_to_case_like_git(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    repo.commit("mailmap", {".mailmap": MAILMAP})
    repo.commit("upper-case email", {"a.txt": "1\n"}, author="Grace <GRACE@Example.com>")
    repo.commit("lower-case name", {"a.txt": "2\n"}, author="alan <shared@example.com>")

    ingest(con, repo.path)

    stored = rows(con, f"SELECT {IDENTITY_COLUMNS} FROM commits ORDER BY ALL")
    by_raw = {(r[1], r[2]): (r[3], r[4]) for r in stored}
    assert by_raw[("Grace", "GRACE@Example.com")] == ("Grace Hopper", "GRACE@Example.com")
    assert by_raw[("alan", "shared@example.com")] == ("Alan Turing", "alan@example.com")
    assert stored == git_identities(repo)


# --------------------------------------------------------------------------- 12. exclusions


def test_excluded_paths_are_flagged_and_recomputed_when_patterns_change(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    c1 = repo.commit(
        "add",
        {
            "package-lock.json": "l1\nl2\nl3\nl4\nl5\n",
            "vendor/x.go": "v\n" * 3,
            "src/app.min.js": "m\n" * 2,
            "src/main.py": "p\n" * 4,
            "docs/readme.md": "d\n",
        },
    )
    c2 = repo.commit("edit", {"package-lock.json": "l1\nl2\nl3\nnew\n", "src/main.py": "p\n" * 5})

    ingest(con, repo.path)

    def state() -> dict[str, tuple[Any, ...]]:
        found = rows(
            con,
            "SELECT sha, additions, deletions, excluded_additions, excluded_deletions FROM commits",
        )
        return {sha: tuple(rest) for sha, *rest in found}

    def flagged() -> list[str]:
        return column(
            con, "SELECT path FROM commit_files WHERE sha = ? AND is_excluded ORDER BY path", c1
        )

    assert state() == {c1: (15, 0, 10, 0), c2: (2, 2, 1, 2)}
    assert flagged() == ["package-lock.json", "src/app.min.js", "vendor/x.go"]

    custom = Excludes.build(["src/"])
    result = ingest(con, repo.path, excludes=custom)

    assert (result.status, result.commits_added) == ("ok", 0)
    assert result.commits_updated == 2
    assert state() == {c1: (15, 0, 14, 0), c2: (2, 2, 2, 2)}
    assert flagged() == ["package-lock.json", "src/app.min.js", "src/main.py", "vendor/x.go"]
    assert rows(con, "SELECT excludes_hash FROM repos") == [(custom.fingerprint,)]
    assert ingest(con, repo.path, excludes=custom).status == "noop"

    ingest(con, repo.path, excludes=Excludes.build(["!vendor/"]))
    assert state() == {c1: (15, 0, 7, 0), c2: (2, 2, 1, 2)}
    assert flagged() == ["package-lock.json", "src/app.min.js"]


def test_default_excludes_know_generated_directories_and_leave_look_alikes() -> None:
    paths = {
        "src/generated/graphql.ts": True,
        "android/app/src/main/java/com/acme/generated/Proto.kt": True,
        "web/src/__generated__/query.graphql.ts": True,
        "api/openapi.generated.ts": True,
        "yarn.lock": True,
        "src/generator.py": False,
        "src/generated_by_hand.md": False,
        "docs/how-code-is-generated.md": False,
    }
    assert dict(zip(paths, Excludes.build().matches(list(paths)), strict=True)) == paths


# --------------------------------------------------------------------------- 13. AI attribution


CORP_RULE = {
    "id": "corp.build-agent",
    "field": "author",
    "pattern": r"<agent@corp\.example>",
    "tool": "corp_agent",
    "mode": "agent",
    "confidence": 0.9,
}


def test_ai_attribution_end_to_end_and_after_a_rule_change(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    assisted = repo.commit(
        "feat: parser\n\nWritten with help.\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>\n",
        {"a.txt": "a\n"},
    )
    agent = repo.commit(
        "fix: flaky test\n\nCo-authored-by: Bob Builder <bob@example.com>\n",
        {"b.txt": "b\n"},
        author="copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
    )
    bot = repo.commit(
        "Bump lodash from 4.17.20 to 4.17.21",
        {"package.json": "{}\n"},
        author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
    )
    human = repo.commit(
        "docs: typo", {"c.txt": "c\n"}, author="Claude Dubois <claude.dubois@example.com>"
    )
    corp = repo.commit(
        "chore: regenerate", {"d.txt": "d\n"}, author="Build Agent <agent@corp.example>"
    )

    ingest(con, repo.path)

    def decisions() -> dict[str, tuple[str | None, str | None]]:
        return {
            sha: (tool, mode)
            for sha, tool, mode in rows(con, "SELECT sha, ai_tool, ai_mode FROM commits")
        }

    def evidence() -> dict[str, list[tuple[Any, ...]]]:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for sha, *rest in rows(
            con, "SELECT subject_id, rule_id, field, tool, mode FROM ai_evidence ORDER BY ALL"
        ):
            found.setdefault(sha, []).append(tuple(rest))
        return found

    assert decisions() == {
        assisted: ("claude_code", "assisted"),
        agent: ("copilot_agent", "agent"),
        bot: ("dependabot", "bot"),
        human: (None, None),
        corp: (None, None),
    }
    found = evidence()
    assert ("C1", "trailer", "claude_code", "assisted") in found[assisted]
    assert ("G1", "author", "copilot_agent", "agent") in found[agent]
    assert ("BOT.dependabot", "author", "dependabot", "bot") in found[bot]
    assert human not in found and corp not in found
    assert column(con, "SELECT DISTINCT ruleset_version FROM ai_evidence") == [CATALOGUE_VERSION]
    assert column(con, "SELECT DISTINCT subject_kind FROM ai_evidence") == ["commit"]
    assert rows(con, "SELECT ruleset_version FROM repos") == [(CATALOGUE_VERSION,)]
    assert rows(con, "SELECT key, value FROM commit_trailers WHERE sha = ?", agent) == [
        ("co-authored-by", "Bob Builder <bob@example.com>")
    ]
    assert commit_row(con, assisted)["trailer_count"] == 1
    evidence_rows = column(con, "SELECT count(*) FROM ai_evidence")[0]

    custom = RulesSpec(custom_rules=(CORP_RULE,))
    version = custom.load().version
    result = ingest(con, repo.path, rules=custom)

    assert version != CATALOGUE_VERSION
    assert (result.status, result.commits_added, result.commits_updated) == ("ok", 0, 1)
    assert decisions()[corp] == ("corp_agent", "agent")
    assert evidence()[corp] == [("corp.build-agent", "author", "corp_agent", "agent")]
    assert rows(con, "SELECT ruleset_version FROM repos") == [(version,)]
    assert column(con, "SELECT DISTINCT ruleset_version FROM ai_evidence") == [version]
    assert column(con, "SELECT count(*) FROM ai_evidence") == [evidence_rows + 1]
    same = "SELECT count(*) FROM (SELECT subject_id, rule_id, field, matched, count(*) AS n FROM ai_evidence GROUP BY ALL HAVING n > 1)"
    assert column(con, same) == [0]
    assert {k: v for k, v in decisions().items() if k != corp} == {
        assisted: ("claude_code", "assisted"),
        agent: ("copilot_agent", "agent"),
        bot: ("dependabot", "bot"),
        human: (None, None),
    }
    assert ingest(con, repo.path, rules=custom).status == "noop"

    ingest(con, repo.path)
    assert decisions()[corp] == (None, None)
    assert corp not in evidence()
    assert column(con, "SELECT count(*) FROM ai_evidence") == [evidence_rows]
    assert rows(con, "SELECT ruleset_version FROM repos") == [(CATALOGUE_VERSION,)]


def test_only_metadata_is_stored(con: Con, make_repo: MakeRepo, ingest: Ingest) -> None:
    repo = make_repo()
    repo.commit(
        "feat: visible subject\n\nBODY-SECRET-7f3a stays in git.\n\nSigned-off-by: Ada <ada@example.com>\n",
        {"secret.py": "TOKEN = 'FILE-SECRET-91c2'\n"},
    )
    repo.run("notes", "--ref=ai", "add", "-m", git_ai_note({"secret.py": "1"}), "HEAD")

    ingest(con, repo.path)

    dump = repr(snapshot(con))
    assert (
        "feat: visible subject" in dump and "Signed-off-by" not in dump and "signed-off-by" in dump
    )
    assert "BODY-SECRET-7f3a" not in dump
    assert "FILE-SECRET-91c2" not in dump
    assert "s_0db412aeb21ffe" not in dump


# --------------------------------------------------------------------------- 14. git-ai notes


def git_ai_note(files: dict[str, str], *, human: dict[str, str] | None = None) -> str:
    """A Git AI Standard v3 authorship log: claude session lines, optional human lines, then metadata."""
    lines: list[str] = []
    for path, ranges in files.items():
        lines.append(f'"{path}"' if " " in path else path)
        lines.append(f"  s_0db412aeb21ffe::t_3b57a74c5ecd87 {ranges}")
        if human and path in human:
            lines.append(f"  h_1a35d9c51a69d7 {human[path]}")
    meta = {
        "schema_version": "authorship/3.0.0",
        "git_ai_version": "1.5.6",
        "base_commit_sha": "0" * 40,
        "prompts": {},
        "sessions": {
            "s_0db412aeb21ffe": {
                "agent_id": {"tool": "claude", "id": "bfef8749-0000", "model": "claude-opus-4-6"},
                "human_author": "Ada Lovelace <ada@example.com>",
            }
        },
        "humans": {"h_1a35d9c51a69d7": {"author": "Ada Lovelace <ada@example.com>"}},
    }
    return "\n".join([*lines, "---", json.dumps(meta, indent=2)])


def test_git_ai_notes_are_counted_and_picked_up_later(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    c1 = repo.commit("one", {"src/main.py": "x\n" * 20, "src/with space.py": "y\n" * 5})
    c2 = repo.commit("two", {"src/main.py": "x\n" * 25})
    note = git_ai_note(
        {"src/main.py": "1-10,15", "src/with space.py": "1-3"}, human={"src/main.py": "11-14"}
    )
    repo.run("notes", "--ref=ai", "add", "-m", note, c1)

    first = ingest(con, repo.path)

    assert first.status == "ok"
    query = "SELECT sha, kind, tool, model, lines, files, schema_version FROM commit_ai_notes ORDER BY ALL"
    claude = (c1, "ai", "claude_code", "claude-opus-4-6", 14, 2, "authorship/3.0.0")
    human = (c1, "human", None, None, 4, 1, "authorship/3.0.0")
    assert rows(con, query) == sorted([claude, human], key=repr)
    assert "refs/notes/ai" in column(con, "SELECT ref FROM repo_refs")

    repo.run("notes", "--ref=ai", "add", "-m", git_ai_note({"src/main.py": "21-25"}), c2)
    second = ingest(con, repo.path)

    assert (second.status, second.commits_added) == ("ok", 0)
    later = (c2, "ai", "claude_code", "claude-opus-4-6", 5, 1, "authorship/3.0.0")
    assert rows(con, query) == sorted([claude, human, later], key=repr)
    assert ingest(con, repo.path).status == "noop"


# --------------------------------------------------------------------------- 15. remote mirror


def test_remote_url_is_mirrored_and_fetched_incrementally(
    con: Con, make_repo: MakeRepo, ingest: Ingest, mirrors_dir: Path
) -> None:
    src = make_repo("src.git", bare=True)
    work = make_repo("work")
    work.run("remote", "add", "origin", str(src.path))
    first = [work.commit(f"c{i}", {"a.txt": f"{i}\n"}) for i in range(3)]
    work.run("notes", "--ref=ai", "add", "-m", git_ai_note({"a.txt": "1"}), first[0])
    work.run("push", "-q", "origin", "main", "refs/notes/ai")
    url = f"file://{src.path}"

    result = ingest(con, url)

    assert (result.status, result.commits_added) == ("ok", 3)
    mirrors = list(mirrors_dir.iterdir())
    assert len(mirrors) == 1 and mirrors[0].name.endswith(".git")
    local_path, source, is_bare, default_branch = rows(
        con, "SELECT local_path, source, is_bare, default_branch FROM repos"
    )[0]
    assert Path(local_path).resolve() == mirrors[0].resolve()
    assert (source, is_bare, default_branch) == (url, True, "refs/heads/main")
    assert column(con, "SELECT sha FROM commit_ai_notes") == [first[0]]

    more = [work.commit(f"d{i}", {"b.txt": f"{i}\n"}) for i in range(2)]
    work.run("notes", "--ref=ai", "add", "-m", git_ai_note({"b.txt": "1"}), more[1])
    work.run("push", "-q", "origin", "main", "refs/notes/ai")
    again = ingest(con, url)

    assert (again.status, again.commits_added, again.commits_total) == ("ok", 2, 5)
    assert sorted(column(con, "SELECT sha FROM commits WHERE run_id = ?", again.run_id)) == sorted(
        more
    )
    assert sorted(column(con, "SELECT DISTINCT sha FROM commit_ai_notes")) == sorted(
        [first[0], more[1]]
    )
    assert list(mirrors_dir.iterdir()) == mirrors
    assert ingest(con, url).status == "noop"


# --------------------------------------------------------------------------- 16. very large commit


@pytest.mark.slow
def test_very_large_commit_counts_every_file_and_line(
    con: Con, make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo()
    big = [f"line {i}\n" for i in range(100_000)]
    files: dict[str, str | None] = {
        f"pkg{i // 100:02d}/file{i:04d}.txt": "x\n" * (i % 7 + 1) for i in range(3000)
    }
    c1 = repo.commit("huge import", {**files, "big.txt": "".join(big)})
    for i in range(0, len(big), 10):
        big[i] = f"changed {i}\n"
    edits: dict[str, str | None] = {f"pkg{i // 100:02d}/file{i:04d}.txt": None for i in range(500)}
    edits |= {f"pkg{i // 100:02d}/file{i:04d}.txt": "y\n" for i in range(500, 1000)}
    c2 = repo.commit("huge edit", {**edits, "big.txt": "".join(big)})

    ingest(con, repo.path)

    assert_numstat_parity(con, repo)
    expected_lines = sum(i % 7 + 1 for i in range(3000)) + 100_000
    assert rows(
        con, "SELECT additions, deletions, files_changed FROM commits WHERE sha = ?", c1
    ) == [(expected_lines, 0, 3001)]
    deleted = sum(i % 7 + 1 for i in range(500)) + sum(i % 7 + 1 for i in range(500, 1000)) + 10_000
    assert rows(
        con, "SELECT additions, deletions, files_changed FROM commits WHERE sha = ?", c2
    ) == [(500 + 10_000, deleted, 1001)]
    assert rows(
        con, "SELECT added, deleted FROM commit_files WHERE sha = ? AND path = 'big.txt'", c2
    ) == [(10_000, 10_000)]


# --------------------------------------------------------------------------- 17. worker processes


def fast_import_stream(commits: int) -> bytes:
    """A history of `commits` commits on main plus a merged side branch, for git fast-import."""
    out: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        out.append(b"data %d\n%s\n" % (len(raw), raw))

    def commit(
        ref: str, mark: int, when: int, message: str, *, parents: Sequence[int] = ()
    ) -> None:
        out.append(f"commit {ref}\nmark :{mark}\n".encode())
        out.append(f"author Dev {mark % 5} <dev{mark % 5}@example.com> {when} +0100\n".encode())
        out.append(f"committer Dev {mark % 5} <dev{mark % 5}@example.com> {when} +0100\n".encode())
        data(message)
        for n, parent in enumerate(parents):
            out.append(f"{'from' if n == 0 else 'merge'} :{parent}\n".encode())

    side_start, side_len = commits // 2, 40
    for i in range(1, commits + 1):
        trailer = (
            "\n\nCo-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>" if i % 17 == 0 else ""
        )
        parents = [i - 1] if i > 1 else []
        if i == side_start + 5:
            parents.append(commits + side_len)
        commit("refs/heads/main", i, EPOCH + i * 60, f"commit {i}{trailer}", parents=parents)
        path = f"d{i % 13}/file{i % 97}.txt"
        out.append(f"M 100644 inline {path}\n".encode())
        data("".join(f"line {j} {(i * j) % 5}\n" for j in range(i % 23 + 1)))
        if i % 101 == 0:
            out.append(f"D d{(i + 1) % 13}/file{(i + 1) % 97}.txt\n".encode())
        if i == side_start:
            for k in range(side_len):
                mark = commits + k + 1
                commit(
                    "refs/heads/side",
                    mark,
                    EPOCH + i * 60 + k,
                    f"side {k}",
                    parents=[mark - 1 if k else i],
                )
                out.append(f"M 100644 inline side/s{k % 7}.txt\n".encode())
                data(f"side {k}\n" * (k + 1))
    return b"".join(out)


@pytest.mark.slow
def test_worker_processes_store_the_same_rows_as_one_process(
    open_warehouse: Callable[[str], Con], make_repo: MakeRepo, ingest: Ingest
) -> None:
    repo = make_repo(bare=True)
    repo.run("fast-import", "--quiet", stdin=fast_import_stream(2100))
    total = int(repo.git("rev-list", "--all", "--count"))
    assert total == 2140
    one, two = open_warehouse("one"), open_warehouse("two")

    single = ingest(one, repo.path, workers=1)
    pooled = ingest(two, repo.path, workers=2)

    assert single.commits_added == pooled.commits_added == total
    assert single.files_added == pooled.files_added
    tables = ("commits", "commit_files", "commit_trailers", "ai_evidence", "repos", "repo_refs")
    first = snapshot(one, tables, ignore=RUN_COLUMNS)
    assert first == snapshot(two, tables, ignore=RUN_COLUMNS)
    assert column(one, "SELECT count(*) FROM commits WHERE is_merge") == [1]
    assert column(one, "SELECT count(*) FROM commits WHERE ai_tool = 'claude_code'") == [2100 // 17]
    assert_numstat_parity(one, repo)
