"""Line lineage: moves, copies, renames and merges on synthetic repositories, and agreement with git blame."""

import random
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pygit2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.lineage import OLD, Lineage, Replay, topological
from ingestion.range_attribution import range_commits
from tests.conftest import GitRepo, MakeRepo

FUNCTION = "".join(
    f"    total_{i} = compute_something_long({i}, 'argument')\n" for i in range(6)
)  # six lines, far above the move and copy scores


def origins(
    path: Path, start: str | None, end: str = "HEAD", *, copies: bool = True
) -> dict[str, list[str | None]]:
    """Per file at `end`, the commit each line came from (None: before `start`)."""
    repo = pygit2.Repository(str(path))
    tip = repo.revparse_single(end).peel(pygit2.Commit)
    if start is None:
        walker = repo.walk(tip.id, pygit2.enums.SortMode.NONE)
        parents = {str(c.id): [str(p) for p in c.parent_ids] for c in walker}
    else:
        parents = range_commits(repo, repo.revparse_single(start).peel(pygit2.Commit), tip)
    lineage = Lineage(repo, copies=copies)
    order = topological(list(parents), parents)
    replay = Replay(lineage, order, parents, keep=[str(tip.id)])
    for sha in order:
        replay.step(sha)
    state = replay.states[str(tip.id)]
    return {
        p.decode(): [lineage.origins[o].sha if o != OLD else None for o in lines]
        for p, lines in sorted(state.items())
    }


def test_added_lines_belong_to_their_commit_and_edits_replace_them(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit("base", {"a.txt": "one\ntwo\nthree\n"})
    second = repo.commit("second", {"a.txt": "one\n2\nthree\nfour\n"})
    assert origins(repo.path, base) == {"a.txt": [None, second, None, second]}
    assert origins(repo.path, None) == {"a.txt": [base, second, base, second]}


def test_a_function_moved_to_another_file_keeps_its_commit(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit(
        "base",
        {"a.py": "def keep():\n    return 1\n\ndef moved():\n" + FUNCTION, "b.py": "x = 1\n"},
    )
    added = repo.commit(
        "more",
        {
            "a.py": "def keep():\n    return 1\n\ndef moved():\n"
            + FUNCTION
            + "def late():\n"
            + FUNCTION.replace("total", "late")
        },
    )
    move = repo.commit(
        "move",
        {
            "a.py": "def keep():\n    return 1\n",
            "b.py": "x = 1\n\ndef moved():\n"
            + FUNCTION
            + "def late():\n"
            + FUNCTION.replace("total", "late"),
        },
    )
    got = origins(repo.path, base)
    # The blank line went with the function; each line keeps its origin: before the range (None)
    # for moved(), the range commit that wrote it for late(). The move itself adds nothing.
    assert got["b.py"] == [*[None] * 9, *[added] * 7]
    assert move not in got["b.py"]
    assert "a.py" not in got or set(got["a.py"]) == {None}


def test_small_or_trivial_blocks_are_not_moves(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit("base", {"a.c": "int a;\n}\n}\n}\nint b;\n", "b.c": "x\n"})
    move = repo.commit("move", {"a.c": "int a;\nint b;\n", "b.c": "x\n}\n}\n}\n"})
    # Three closing braces carry no alphanumerics: below the move score, so they are new.
    assert origins(repo.path, base)["b.c"] == [None, move, move, move]


def test_code_copied_into_a_new_file_keeps_its_commit(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit("base", {"util.py": "def helper():\n" + FUNCTION, "other.py": "y = 2\n"})
    copy = repo.commit("copy", {"new.py": "import os\n\ndef helper2():\n" + FUNCTION})
    got = origins(repo.path, base)
    assert got["new.py"] == [copy, copy, copy, *[None] * 6]
    # Without the tree-wide search (git blame -C -C), the copy is new code.
    assert origins(repo.path, base, copies=False)["new.py"] == [copy] * 9


def test_code_copied_from_a_file_the_commit_modifies_keeps_its_commit(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit("base", {"a.py": "def one():\n" + FUNCTION})
    copy = repo.commit("copy", {"a.py": "def one():\n" + FUNCTION + "\ndef two():\n" + FUNCTION})
    assert origins(repo.path, base, copies=False)["a.py"] == [*[None] * 7, copy, copy, *[None] * 6]


def test_a_renamed_file_keeps_every_origin(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit("base", {"old.txt": "a\n"})
    write = repo.commit("write", {"old.txt": "a\nb\nc\n"})
    repo.run("mv", "old.txt", "new.txt")
    repo.commit("rename")
    edit = repo.commit("rename and edit", {"new.txt": None, "newer.txt": "a\nb\nc\nd\n"})
    assert origins(repo.path, base) == {"newer.txt": [None, write, write, edit]}


def test_merged_branches_keep_their_commits_and_conflict_resolutions_belong_to_the_merge(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo()
    base = repo.commit("base", {"a.txt": "1\n2\n3\n", "b.txt": "b\n"})
    repo.run("checkout", "-q", "-b", "topic")
    topic = repo.commit("topic", {"a.txt": "1\n2\n3\ntopic\n", "c.txt": "new file\n"})
    repo.run("checkout", "-q", "main")
    main = repo.commit("main", {"b.txt": "b\nmain\n", "a.txt": "one\n2\n3\n"})
    repo.run("merge", "-q", "--no-edit", "topic")
    merge = repo.head()
    assert origins(repo.path, base) == {
        "a.txt": [main, None, None, topic],
        "b.txt": [None, main],
        "c.txt": [topic],
    }
    # A conflict resolved by hand: the resolution's lines are the merge's own.
    repo.run("checkout", "-q", "-b", "left", base)
    left = repo.commit("left", {"b.txt": "left\n"})
    repo.run("checkout", "-q", "main")
    done = subprocess.run(
        ["git", "merge", "-q", "--no-edit", "left"],
        cwd=repo.path,
        env=dict(repo.env),
        capture_output=True,
        check=False,
    )
    assert done.returncode != 0  # conflict in b.txt
    resolved = repo.commit("resolve", {"b.txt": "left\nmain\nboth\n"})
    got = origins(repo.path, base)
    assert got["b.txt"] == [left, main, resolved]
    assert merge != resolved


def test_binary_files_have_no_lines_and_uncounted_paths_introduce_nothing(
    make_repo: MakeRepo,
) -> None:
    repo = make_repo()
    base = repo.commit("base", {"keep.txt": "k\n"})
    add = repo.commit(
        "add", {"blob.bin": b"\x00\x01\n\x02\n", "yarn.lock": "a\nb\n", "src.txt": "s\n"}
    )
    git = pygit2.Repository(str(repo.path))
    parents = range_commits(
        git,
        git.revparse_single(base).peel(pygit2.Commit),
        git.revparse_single(add).peel(pygit2.Commit),
    )
    lineage = Lineage(git, counted=lambda paths: [not p.endswith(".lock") for p in paths])
    replay = Replay(lineage, list(parents), parents, keep=[add])
    state = replay.step(add)
    assert b"blob.bin" not in state
    assert state[b"yarn.lock"] == [OLD, OLD]
    assert [lineage.origins[o].sha for o in state[b"src.txt"]] == [add]
    assert sum(lineage.introduced.values()) == 1


def test_git_ai_note_classes_lines(make_repo: MakeRepo) -> None:
    from tests.ingestion.test_git import git_ai_note

    repo = make_repo()
    base = repo.commit("base", {"k.txt": "k\n"})
    work = repo.commit("work", {"src/main.py": "".join(f"v{i}\n" for i in range(6))})
    repo.run(
        "notes",
        "--ref=ai",
        "add",
        "-m",
        git_ai_note({"src/main.py": "1-3"}, human={"src/main.py": "4"}),
        work,
    )
    git = pygit2.Repository(str(repo.path))
    parents = range_commits(
        git,
        git.revparse_single(base).peel(pygit2.Commit),
        git.revparse_single(work).peel(pygit2.Commit),
    )
    lineage = Lineage(git)
    state = Replay(lineage, list(parents), parents).step(work)
    kinds = [(lineage.origins[o].kind, lineage.origins[o].tool) for o in state[b"src/main.py"]]
    assert kinds == [("ai", "claude_code")] * 3 + [("human", None)] + [("commit", None)] * 2


def test_delta_of_a_landing_commit_is_the_change_of_its_branch(make_repo: MakeRepo) -> None:
    repo = make_repo()
    base = repo.commit("base", {"a.txt": "a\nb\nc\n"})
    repo.run("checkout", "-q", "-b", "topic")
    repo.commit("t1", {"a.txt": "a\nb\nc\nt1\n", "t.txt": "t\nt\n"})
    repo.commit("t2", {"a.txt": "a\nc\nt1\nt2\n"})
    repo.run("checkout", "-q", "main")
    repo.commit("m1", {"m.txt": "m\n"})
    repo.run("merge", "-q", "--no-edit", "topic")
    git = pygit2.Repository(str(repo.path))
    tip = git.revparse_single("HEAD").peel(pygit2.Commit)
    parents = range_commits(git, git.revparse_single(base).peel(pygit2.Commit), tip)
    lineage = Lineage(git)
    order = topological(list(parents), parents)
    replay = Replay(lineage, order, parents, keep=[str(tip.id)])
    chain = {str(tip.id), str(tip.parent_ids[0])}
    alive: Counter[int] = Counter()
    for sha in order:
        delta: Counter[int] = Counter()
        replay.step(sha, delta=delta if sha in chain else None)
        alive.update(delta)
    final = Counter(o for lines in replay.states[str(tip.id)].values() for o in lines if o)
    assert +alive == final


# --------------------------------------------------------------------------- agreement with git blame

_EDIT = st.lists(st.tuples(st.sampled_from(["insert", "delete"]), st.integers(0, 30), st.integers(1, 4)),
                 min_size=1, max_size=4)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history=st.lists(st.tuples(st.sampled_from(["a.txt", "b.txt"]), _EDIT), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_without_moves_origins_are_git_blames(git_env: dict[str, str], history: list[tuple[str, list[tuple[str, int, int]]]], seed: int) -> None:  # fmt: skip
    """Insertions and deletions of distinct lines: every line's commit is the one git blame names."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        repo = GitRepo(Path(folder), git_env)
        repo.run("-c", "init.defaultBranch=main", "init", "-q")
        files = {"a.txt": [f"a{i}" for i in range(8)], "b.txt": [f"b{i}" for i in range(5)]}
        repo.commit("base", {p: "".join(f"{x}\n" for x in lines) for p, lines in files.items()})
        fresh = 0
        for path, edits in history:
            lines = files[path]
            for op, at, n in edits:
                at = min(at, len(lines))
                if op == "insert":
                    lines[at:at] = [f"n{fresh + k}x{rng.randrange(99)}" for k in range(n)]
                    fresh += n
                else:
                    del lines[at : at + n]
            repo.commit("edit", {path: "".join(f"{x}\n" for x in lines)})
        ours = origins(repo.path, None)
        for path in files:
            blame = repo.git("blame", "--line-porcelain", "--", path).splitlines()
            theirs = [line[:40] for line in blame if re.match(r"^[0-9a-f]{40} \d", line)]
            assert ours.get(path, []) == theirs, path
