"""`sprintproof attribution`: the lines of a release by AI tool and by human, moved and copied code not new."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingestion.attribution import RuleSet
from ingestion.excludes import Excludes
from ingestion.git import GitSource, RulesSpec, ingest_repository
from ingestion.range_attribution import RangeError, attribute_range
from ingestion.warehouse import connect, migrate
from tests.conftest import GitRepo, MakeRepo
from tests.ingestion.test_git import git_ai_note

FUNCTION = "".join(f"    total_{i} = compute_something_long({i}, 'argument')\n" for i in range(6))
FEATURE = [f"feature_line_{i} = value({i})" for i in range(10)]
CLAUDE = "\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
CODEX = "\n\nCo-authored-by: Codex <noreply@openai.com>\n"
COPILOT_AGENT = "Copilot <198982749+Copilot@users.noreply.github.com>"
DEPENDABOT = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"


def text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


@pytest.fixture
def project(make_repo: MakeRepo) -> tuple[GitRepo, dict[str, str]]:
    """A release v1..v2 with human, AI, agent, bot and merged-branch work, a move and a copy.

    At v2, lines added in the range: feature.py 10 human (c1) + 2 claude (c2); ai.py 8 claude;
    lib/helpers.py 1 human (the moved function and its blank line are old); copy.py 1 copilot
    agent + 6 copied from feature.py (human, c1); requirements.txt 2 bot; package-lock.json
    excluded; codex.py 5 codex (merged branch).
    """
    repo = make_repo("web")
    shas: dict[str, str] = {}
    shas["base"] = repo.commit(
        "base", {"util.py": "import os\n\ndef helper():\n" + FUNCTION, "README.md": "r\n"}
    )
    repo.run("tag", "v1")
    shas["c1"] = repo.commit(
        "Add feature", {"feature.py": text(FEATURE)}, author="Ana <ana@acme.example>"
    )
    shas["c2"] = repo.commit("Add AI module" + CLAUDE, {"ai.py": text([f"ai_{i} = model({i})" for i in range(8)]),
                             "feature.py": text([*FEATURE, "extra_one = 1", "extra_two = 2"])})  # fmt: skip
    shas["c3"] = repo.commit("Move helper", {"util.py": "import os\n", "lib/helpers.py": "# helpers\n\ndef helper():\n" + FUNCTION})  # fmt: skip
    shas["c4"] = repo.commit(
        "Copy feature", {"copy.py": text(["def copied():", *FEATURE[:6]])}, author=COPILOT_AGENT
    )
    shas["c5"] = repo.commit(
        "Bump",
        {"requirements.txt": "a==1\nb==2\n", "package-lock.json": "{\n}\n\n"},
        author=DEPENDABOT,
    )
    repo.run("checkout", "-q", "-b", "topic")
    shas["c6"] = repo.commit(
        "Codex work" + CODEX, {"codex.py": text([f"codex_{i}()" for i in range(5)])}
    )
    repo.run("checkout", "-q", "main")
    repo.run("merge", "-q", "--no-ff", "--no-edit", "topic")
    shas["merge"] = repo.head()
    repo.run("tag", "v2")
    return repo, shas


def attribute(repo: GitRepo, start: str = "v1", end: str = "v2", **options: Any) -> dict[str, Any]:
    result = attribute_range(
        repo.path, start, end, rules=RuleSet.load(), excludes=Excludes.build(), **options
    )
    return result.to_json()


def file_entry(lines: int, ai: int = 0, bot: int = 0, **tools: int) -> dict[str, Any]:
    return {"lines": lines, "ai_lines": ai, "human_lines": lines - ai, "ai_share": ai / lines if lines else None,
            "bot_lines": bot, "by_tool": tools}  # fmt: skip


def test_a_release_by_tool_and_file(project: tuple[GitRepo, dict[str, str]]) -> None:
    repo, shas = project
    got = attribute(repo)
    assert (got["from"]["sha"], got["to"]["sha"], got["commits"]) == (
        shas["base"],
        shas["merge"],
        7,
    )
    assert got["by_file"] == {
        "ai.py": file_entry(8, 8, claude_code=8),
        "codex.py": file_entry(5, 5, codex=5),
        "copy.py": file_entry(7, 1, copilot_agent=1),
        "feature.py": file_entry(12, 2, claude_code=2),
        "lib/helpers.py": file_entry(1),
        "requirements.txt": file_entry(0, bot=2),
    }
    assert (got["total_lines"], got["ai_lines"], got["human_lines"], got["bot_lines"]) == (
        33,
        16,
        17,
        2,
    )
    assert got["ai_share"] == pytest.approx(16 / 33)
    assert got["by_tool"] == {"claude_code": 10, "codex": 5, "copilot_agent": 1}
    assert got["by_mode"] == {"agent": 1, "assisted": 15}
    assert got["attributed_by"] == {"rules_commits": 6}
    assert got["method"] == "lines.v1"


def test_path_filters(project: tuple[GitRepo, dict[str, str]]) -> None:
    repo, _ = project
    only = attribute(repo, include=["feature.py", "*.txt"])
    assert set(only["by_file"]) == {"feature.py", "requirements.txt"}
    assert (only["total_lines"], only["ai_lines"], only["bot_lines"]) == (12, 2, 2)
    without = attribute_range(repo.path, "v1", "v2", rules=RuleSet.load(),
                              excludes=Excludes.build(["ai.py", "lib/"])).to_json()  # fmt: skip
    assert (without["total_lines"], without["ai_lines"]) == (24, 8)
    # The configured defaults leave out the lock file; re-including it counts its bot lines.
    lock = attribute_range(repo.path, "v1", "v2", rules=RuleSet.load(),
                           excludes=Excludes.build(["!package-lock.json"])).to_json()  # fmt: skip
    assert lock["by_file"]["package-lock.json"]["bot_lines"] == 3


def test_a_range_inside_the_release_and_an_unrelated_start(
    project: tuple[GitRepo, dict[str, str]],
) -> None:
    repo, shas = project
    got = attribute(repo, shas["c2"], shas["c4"])
    # The copy's origin (c1) is before the range: only the copilot line is new.
    assert got["by_file"] == {
        "copy.py": file_entry(1, 1, copilot_agent=1),
        "lib/helpers.py": file_entry(1),
    }


def test_git_ai_notes_decide_the_lines_they_attest(project: tuple[GitRepo, dict[str, str]]) -> None:
    repo, shas = project
    note = git_ai_note({"feature.py": "1-4"}, human={"feature.py": "5"})
    repo.run("notes", "--ref=ai", "add", "-m", note, shas["c1"])
    got = attribute(repo)
    # feature.py lines 1-4 by claude per the note (line 5 attested human); copy.py copied lines 1-6
    # of feature.py: four of them keep the note's attribution too.
    assert got["by_file"]["feature.py"] == file_entry(12, 6, claude_code=6)
    assert got["by_file"]["copy.py"] == file_entry(7, 5, claude_code=4, copilot_agent=1)
    assert got["attributed_by"]["note_lines"] == 10


def test_the_warehouse_decides_for_ingested_commits(
    project: tuple[GitRepo, dict[str, str]], tmp_path: Path
) -> None:
    repo, shas = project
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        migrate(con)
        ingest_repository(con, GitSource(str(repo.path)), mirrors_dir=tmp_path / "m", excludes=Excludes.build(),
                          rules=RulesSpec(), workers=1)  # fmt: skip
        # As the linking step does for a squash merge of an AI pull request.
        con.execute("UPDATE commits SET ai_tool = 'devin', ai_mode = 'agent', ai_via_pr = 'acme/web#7' WHERE sha = ?",
                    [shas["c3"]])  # fmt: skip
    got = attribute(repo, warehouse=warehouse)
    assert got["by_file"]["lib/helpers.py"] == file_entry(1, 1, devin=1)
    assert got["attributed_by"] == {"warehouse_commits": 6}
    assert got["by_tool"]["devin"] == 1


def test_errors_are_range_errors(project: tuple[GitRepo, dict[str, str]], tmp_path: Path) -> None:
    repo, _ = project
    with pytest.raises(RangeError, match="'nope' is not a commit"):
        attribute(repo, "nope")
    with pytest.raises(RangeError, match="has no commits"):
        attribute(repo, "v2", "v1")
    with pytest.raises(RangeError, match="not a git repository"):
        attribute_range(tmp_path, "a", "b", rules=RuleSet.load(), excludes=Excludes.build())


# --------------------------------------------------------------------------- the command


def cli(cwd: Path, env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dagster_project", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, git_env: dict[str, str]) -> dict[str, str]:
    return {**git_env, "SPRINTPROOF_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}


def test_the_command_prints_one_json_object(project: tuple[GitRepo, dict[str, str]], tmp_path: Path, env: dict[str, str]) -> None:  # fmt: skip
    repo, _ = project
    done = cli(tmp_path, env, "attribution", "--repo", repo.path, "--from", "v1", "--to", "v2", "--format", "json",
               "--exclude", "ai.py")  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert (got["total_lines"], got["ai_lines"], got["ai_share"]) == (25, 8, 8 / 25)
    assert set(got) >= {"total_lines", "ai_lines", "ai_share", "by_tool", "by_file"}
    table = cli(tmp_path, env, "attribution", "--repo", repo.path, "--from", "v1", "--to", "v2")
    assert table.returncode == 0, table.stderr
    assert (
        "AI 16 (48.5 %)" in table.stdout
        and "claude_code" in table.stdout
        and "feature.py" in table.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "v9", "--to", "v2"), "--from 'v9' is not a commit"),
        (("--from", "v1", "--to", "nope"), "--to 'nope' is not a commit"),
        (("--from", "v2", "--to", "v1"), "v2..v1 has no commits"),
        (("--from", "v1", "--to", "v2", "--include", "[z"), "not a valid .gitignore-style glob"),
    ],
)
def test_bad_input_is_one_error_line(project: tuple[GitRepo, dict[str, str]], tmp_path: Path, env: dict[str, str],
                                     args: tuple[str, ...], message: str) -> None:  # fmt: skip
    repo, _ = project
    done = cli(tmp_path, env, "attribution", "--repo", repo.path, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert done.stdout == ""


def test_a_path_that_is_not_a_repository(tmp_path: Path, env: dict[str, str]) -> None:
    done = cli(tmp_path, env, "attribution", "--repo", tmp_path, "--from", "a", "--to", "b")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path}: not a git repository"


def test_json_is_stable_across_runs(project: tuple[GitRepo, dict[str, str]]) -> None:
    repo, _ = project
    first, second = attribute(repo), attribute(repo)
    del first["seconds"], second["seconds"]
    assert first == second
