"""Line survival measurement: hand-computed timelines, merges, moves, notes, incremental and resumable runs."""

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion import durability
from ingestion.durability import DurabilityError, measure_durability
from ingestion.excludes import Excludes
from ingestion.git import GitSource, RulesSpec, ingest_repository
from ingestion.warehouse import connect, migrate
from tests.conftest import GitRepo, MakeRepo
from tests.ingestion.test_git import git_ai_note

CLAUDE = "\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
CODEX = "\n\nCo-authored-by: Codex <noreply@openai.com>\n"
LATER = datetime(2026, 7, 1, tzinfo=UTC)
COLUMNS = ("lines_added", "alive_churn", "alive_durable")


def lines(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}_{i} = compute({i}, 'argument')" for i in range(start, start + n)]


def text(rows: list[str]) -> str:
    return "".join(f"{r}\n" for r in rows)


def day(month: int, d: int) -> str:
    return f"2026-{month:02d}-{d:02d}T10:00:00+00:00"


def at(month: int, d: int) -> datetime:
    return datetime(2026, month, d, 10, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "w.duckdb") as c:
        migrate(c)
        yield c


def ingest(con: duckdb.DuckDBPyConnection, repo: GitRepo, tmp_path: Path) -> str:
    result = ingest_repository(con, GitSource(str(repo.path)), mirrors_dir=tmp_path / "mirrors",
                               excludes=Excludes.build(), rules=RulesSpec(), workers=1)  # fmt: skip
    return result.repo


def measured(con: duckdb.DuckDBPyConnection, *columns: str) -> dict[str, tuple[Any, ...]]:
    """subject -> the chosen columns, for every measured commit."""
    cols = ", ".join(f"d.{c}" for c in columns or COLUMNS)
    rows = con.execute(
        f"SELECT c.subject, {cols} FROM commit_durability d JOIN commits c USING (repo, sha)"
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.fixture
def rewrites(make_repo: MakeRepo) -> GitRepo:
    """base (Jan 1) 10 lines; AI commit c1 (Jan 5) 10 lines in b.py; c2 (Jan 15) rewrites 4 of them;
    c3 (Jan 30, after 21 days, before 30) deletes 2 more; c4 (Feb 10, after 30 days) deletes 4 more;
    c5 (Feb 20) renames the file.

    c1: 10 added, 6 alive at Jan 26 (+21 d), 4 at Feb 4 (+30 d): the last deletion is too late
    to count. c2: 4 added, all alive at Feb 5 and Feb 14.
    """
    repo = make_repo()
    repo.commit("base", {"a.py": text(lines("base", 10))}, date=day(1, 1))
    b = lines("ai", 10)
    repo.commit("c1" + CLAUDE, {"b.py": text(b)}, date=day(1, 5))
    b[0:4] = lines("human", 4)
    repo.commit("c2", {"b.py": text(b)}, date=day(1, 15))
    del b[4:6]
    repo.commit("c3", {"b.py": text(b)}, date=day(1, 30))
    del b[4:8]
    repo.commit("c4", {"b.py": text(b)}, date=day(2, 10))
    repo.run("mv", "b.py", "c.py")
    repo.commit("c5", date=day(2, 20))
    return repo


def test_rewritten_within_21_days_deleted_after_30(con: duckdb.DuckDBPyConnection, rewrites: GitRepo, tmp_path: Path) -> None:  # fmt: skip
    name = ingest(con, rewrites, tmp_path)
    result = measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert (result.status, result.measured, result.waiting) == ("ok", 6, 0)
    assert measured(con) == {
        "base": (10, 10, 10),
        "c1": (10, 6, 4),
        "c2": (4, 4, 4),
        "c3": (0, 0, 0),
        "c4": (0, 0, 0),
        "c5": (0, 0, 0),
    }
    windows = measured(con, "churn_at", "durable_at", "landed_at")
    assert windows["c1"] == (at(1, 26), at(2, 4), at(1, 5))


@pytest.fixture
def branches(make_repo: MakeRepo) -> GitRepo:
    """Mar 1 base with a helper; a topic branch (t1 Mar 2 codex: feature.py 6 lines and a lock file;
    t2 Mar 3 rewrites one of them) merged on Mar 10 while main had m1 (Mar 4, 3 lines, a git-ai
    note attests 2 as AI); m2 (Mar 20) moves the feature into lib/; m3 (Apr 5) deletes 2 of t1's.

    t1 lands with the merge (Mar 10): churn read at Mar 31, durability at Apr 9. 6 added (the lock
    file is excluded), 5 alive at Mar 31 (one rewritten on the branch, the move keeps them), 3
    alive at Apr 9.
    """
    repo = make_repo()
    repo.commit("base", {"util.py": text(lines("util", 4))}, date=day(3, 1))
    repo.run("checkout", "-q", "-b", "topic")
    feature = lines("feature", 6)
    repo.commit(
        "t1" + CODEX, {"feature.py": text(feature), "yarn.lock": "a\nb\nc\nd\ne\n"}, date=day(3, 2)
    )
    feature[2] = "rewritten_on_branch = True  # a human edit"
    repo.commit("t2", {"feature.py": text(feature)}, date=day(3, 3))
    repo.run("checkout", "-q", "main")
    m1 = repo.commit("m1", {"other.py": text(lines("other", 3))}, date=day(3, 4))
    repo.run("notes", "--ref=ai", "add", "-m", git_ai_note({"other.py": "1-2"}), m1)
    stamp = {"GIT_AUTHOR_DATE": day(3, 10), "GIT_COMMITTER_DATE": day(3, 10)}
    repo.run("merge", "-q", "--no-ff", "--no-edit", "topic", env=stamp)
    repo.commit(
        "m2", {"feature.py": None, "lib/feature.py": text(["# moved", *feature])}, date=day(3, 20)
    )
    repo.commit(
        "m3", {"lib/feature.py": text(["# moved", *feature[:3], *feature[5:]])}, date=day(4, 5)
    )
    return repo


def test_merged_branches_land_with_their_merge_and_moves_survive(con: duckdb.DuckDBPyConnection, branches: GitRepo, tmp_path: Path) -> None:  # fmt: skip
    name = ingest(con, branches, tmp_path)
    measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    subjects = measured(
        con, *COLUMNS, "landed_at", "note_ai_lines", "note_ai_alive_durable", "note_human_lines"
    )
    merge = at(3, 10)
    assert subjects["t1"] == (6, 5, 3, merge, 0, 0, 0)
    assert subjects["t2"] == (1, 1, 1, merge, 0, 0, 0)
    assert subjects["m1"] == (3, 3, 3, at(3, 4), 2, 2, 0)
    assert subjects["m2"][:3] == (1, 1, 1)  # the "# moved" line; the move itself adds nothing
    assert not any(s.startswith("Merge") for s in subjects)  # merges are not measured


def test_incremental_runs_measure_each_commit_once_when_its_window_closes(con: duckdb.DuckDBPyConnection, rewrites: GitRepo, tmp_path: Path) -> None:  # fmt: skip
    name = ingest(con, rewrites, tmp_path)
    early = measure_durability(
        con, name, excludes=Excludes.build(), as_of=datetime(2026, 2, 3, tzinfo=UTC)
    )
    assert (early.status, early.measured, early.waiting) == ("ok", 1, 5)
    assert set(measured(con)) == {"base"}
    rest = measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert (rest.status, rest.measured, rest.waiting) == ("ok", 5, 0)
    again = measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert (again.status, again.measured, again.replayed) == ("noop", 0, 0)
    incremental = measured(con)
    con.execute("DELETE FROM commit_durability")
    measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert measured(con) == incremental
    runs = con.execute(
        "SELECT status, commits_added FROM ingest_runs WHERE kind = 'durability' ORDER BY started_at"
    ).fetchall()
    assert runs == [("ok", 1), ("ok", 5), ("noop", 0), ("ok", 6)]


def test_changed_settings_measure_again(
    con: duckdb.DuckDBPyConnection, rewrites: GitRepo, tmp_path: Path
) -> None:
    name = ingest(con, rewrites, tmp_path)
    measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    shorter = measure_durability(con, name, excludes=Excludes.build(), churn_days=14, as_of=LATER)
    assert (shorter.remeasured, shorter.measured) == (6, 6)
    # c1 at +14 days (Jan 19): c2's rewrite of 4 lines has happened.
    assert measured(con)["c1"] == (10, 6, 4)
    excluded = measure_durability(
        con, name, excludes=Excludes.build(["b.py", "c.py"]), churn_days=14, as_of=LATER
    )
    assert excluded.remeasured == 6
    assert {s: v[0] for s, v in measured(con).items()} == {
        "base": 10,
        "c1": 0,
        "c2": 0,
        "c3": 0,
        "c4": 0,
        "c5": 0,
    }


def test_a_killed_run_resumes_with_nothing_lost_or_duplicated(
    con: duckdb.DuckDBPyConnection,
    rewrites: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = ingest(con, rewrites, tmp_path)
    monkeypatch.setattr(durability, "SLICE_DAYS", 3)  # several slices: base; c1; c2; c3; c4; c5
    write = durability._write
    calls: list[int] = []

    def dies(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        write(*args, **kwargs)

    monkeypatch.setattr(durability, "_write", dies)
    with pytest.raises(KeyboardInterrupt):
        measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert len(measured(con)) == 2
    monkeypatch.setattr(durability, "_write", write)
    resumed = measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert resumed.measured == 4
    after_resume = measured(con)
    con.execute("DELETE FROM commit_durability")
    monkeypatch.setattr(durability, "SLICE_DAYS", 90)
    measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
    assert measured(con) == after_resume
    statuses = [
        r[0]
        for r in con.execute(
            "SELECT status FROM ingest_runs WHERE kind = 'durability' ORDER BY started_at"
        ).fetchall()
    ]
    assert statuses == ["failed", "ok", "ok"]


def test_windows_start_at_the_last_git_ingest_and_missing_repositories_are_clear(
    con: duckdb.DuckDBPyConnection, rewrites: GitRepo, tmp_path: Path
) -> None:
    name = ingest(con, rewrites, tmp_path)
    # The ingest ran now (2026-11 or later on this clock): every window has closed.
    assert measure_durability(con, name, excludes=Excludes.build()).measured == 6
    with pytest.raises(DurabilityError, match="not in the warehouse"):
        measure_durability(con, "nope", excludes=Excludes.build())
    con.execute("DELETE FROM commit_durability")
    con.execute("UPDATE repos SET local_path = ?", [str(tmp_path / "gone")])
    with pytest.raises(DurabilityError, match="not readable"):
        measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)


def test_an_empty_repository_is_a_noop(
    con: duckdb.DuckDBPyConnection, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("empty")
    name = ingest(con, repo, tmp_path)
    assert measure_durability(con, name, excludes=Excludes.build(), as_of=LATER).status == "noop"


# --------------------------------------------------------------------------- properties

_STEP = st.tuples(
    st.sampled_from(["add", "delete", "rewrite", "move"]),
    st.integers(0, 40),  # position
    st.integers(1, 6),  # lines
    st.integers(1, 9),  # days after the previous commit
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_STEP, min_size=2, max_size=10))
def test_slices_do_not_change_the_measurement_and_survival_is_bounded(
    git_env: dict[str, str], steps: list[tuple[str, int, int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        repo = GitRepo(root / "repo", git_env)
        repo.path.mkdir()
        repo.run("-c", "init.defaultBranch=main", "init", "-q")
        files = {"a.py": lines("seed", 8), "b.py": []}
        when, fresh = datetime(2026, 1, 1, 10, tzinfo=UTC), 0
        repo.commit("base", {p: text(v) for p, v in files.items()}, date=when.isoformat())
        for i, (op, at_line, n, days) in enumerate(steps):
            source = files["a.py"] if i % 2 == 0 else files["b.py"]
            target = files["b.py"] if source is files["a.py"] else files["a.py"]
            at_line = min(at_line, len(source))
            if op == "add":
                source[at_line:at_line] = lines(f"n{i}", n, fresh)
                fresh += n
            elif op == "delete":
                del source[at_line : at_line + n]
            elif op == "rewrite":
                source[at_line : at_line + n] = lines(f"r{i}", min(n, len(source) - at_line), fresh)
                fresh += n
            else:
                block = source[at_line : at_line + n]
                del source[at_line : at_line + n]
                target.extend(block)
            when += timedelta(days=days)
            repo.commit(f"s{i}", {p: text(v) for p, v in files.items()}, date=when.isoformat())
        with connect(root / "w.duckdb") as con:
            migrate(con)
            name = ingest(con, repo, root)
            measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
            whole = measured(con, *COLUMNS, "landed_at", "churn_sha", "durable_sha")
            con.execute("DELETE FROM commit_durability")
            original = durability.SLICE_DAYS
            durability.SLICE_DAYS = 2
            try:
                measure_durability(con, name, excludes=Excludes.build(), as_of=LATER)
            finally:
                durability.SLICE_DAYS = original
            assert measured(con, *COLUMNS, "landed_at", "churn_sha", "durable_sha") == whole
            for added, churn, durable, *_ in whole.values():
                assert 0 <= churn <= added and 0 <= durable <= added
