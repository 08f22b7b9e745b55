"""End-to-end tests of the `sprintproof` command line, run as a subprocess against tiny git repositories."""

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

TEMPLATE = (
    Path(__file__).resolve().parents[2] / "dagster_project" / "templates" / "sprintproof.yaml"
)
BOT = "Acme Bot <bot@acme.example>"

HOLDER = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(300)
"""


class Cli:
    """Runs `python -m dagster_project` with SPRINTPROOF_HOME and the working directory under tmp_path."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env

    def __call__(
        self, *args: str | Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dagster_project", *map(str, args)],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture
def cli(tmp_path: Path, git_env: dict[str, str]) -> Cli:
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in {"SPRINTPROOF_CONFIG", "COLUMNS", "LINES"}
    }
    env |= git_env | {"SPRINTPROOF_HOME": str(tmp_path / "sphome")}
    return Cli(cwd, env)


@pytest.fixture
def alpha(make_repo: Callable[..., Any]) -> Path:
    """Three commits: a human one, one co-authored by Claude, one by a bot account no catalogue rule knows."""
    repo = make_repo("alpha")
    repo.commit("Add service", {"src/app.py": "print('hi')\n", "README.md": "# alpha\n"})
    repo.commit(
        "Add retries\n\nRetry twice.\n\nCo-authored-by: Claude <noreply@anthropic.com>\n",
        {"src/app.py": "print('hi')\nretry = 2\n"},
    )
    repo.commit("Bump dependencies", {"deps.txt": "a==1\nb==2\n"}, author=BOT)
    return repo.path


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr
    return result


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2, exactly one line on stderr starting with `error:`, no traceback; returns that line."""
    both = result.stdout + result.stderr
    assert result.returncode == 2, f"exit {result.returncode}\n{both}"
    assert "Traceback" not in both, both
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} missing from: {lines[0]}"
    return lines[0]


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def ingested(cli: Cli, repo: Path, warehouse: Path) -> Path:
    ok(cli("ingest", "--repo", repo, "--warehouse", warehouse))
    return warehouse


# --------------------------------------------------------------------------- init


def test_init_writes_the_template_and_refuses_to_overwrite(cli: Cli) -> None:
    target = cli.cwd / "sprintproof.yaml"
    result = ok(cli("init"))
    assert target.read_bytes() == TEMPLATE.read_bytes()
    assert "sprintproof.yaml" in result.stdout

    target.write_text("organisation: Mine\n", encoding="utf-8")
    assert_user_error(cli("init"), "sprintproof.yaml", "already exists", "--force")
    assert target.read_text(encoding="utf-8") == "organisation: Mine\n"

    ok(cli("init", "--force"))
    assert target.read_bytes() == TEMPLATE.read_bytes()


def test_init_to_an_explicit_path(cli: Cli) -> None:
    target = cli.cwd / "conf" / "other.yaml"
    target.parent.mkdir()
    ok(cli("init", target))
    assert target.read_bytes() == TEMPLATE.read_bytes()
    assert not (cli.cwd / "sprintproof.yaml").exists()


def test_init_into_a_missing_folder_is_not_a_crash(cli: Cli) -> None:
    target = cli.cwd / "no" / "such" / "folder" / "sprintproof.yaml"
    result = cli("init", target)
    if result.returncode == 0:
        assert target.read_bytes() == TEMPLATE.read_bytes()
    else:
        assert_user_error(result, str(target.parent))


# --------------------------------------------------------------------------- ingest and status


def test_ingest_and_status_without_any_configuration(cli: Cli, alpha: Path) -> None:
    warehouse = cli.cwd / "data" / "wh.duckdb"
    result = ok(cli("ingest", "--repo", alpha, "--warehouse", warehouse))
    assert re.search(r"^alpha: \+3 commits \(3 stored\)", result.stdout, re.MULTILINE), (
        result.stdout
    )
    assert warehouse.is_file()
    assert not (cli.cwd / "sprintproof.yaml").exists()
    assert query(warehouse, "SELECT repo, count(*) FROM commits GROUP BY repo") == [("alpha", 3)]

    again = ok(cli("ingest", "--repo", alpha, "--warehouse", warehouse))
    assert "alpha: unchanged (3 stored)" in again.stdout

    status = ok(cli("status", "--warehouse", warehouse))
    assert re.search(r"^\W*alpha\s*\W\s*3\s*\W", status.stdout, re.MULTILINE), status.stdout
    assert "By tool: claude_code 1" in status.stdout


def test_status_of_an_empty_warehouse(cli: Cli) -> None:
    warehouse = cli.cwd / "wh.duckdb"
    ok(cli("migrate", "--warehouse", warehouse))
    result = ok(cli("status", "--warehouse", warehouse))
    assert "No repositories yet" in result.stdout


@pytest.mark.parametrize(
    "command",
    [("status",), ("ingest", "--repo", "."), ("attribute",)],
    ids=["status", "ingest", "attribute"],
)
def test_bad_config_file_is_a_user_error(cli: Cli, command: tuple[str, ...]) -> None:
    config = cli.cwd / "sprintproof.yaml"
    config.write_text("privacy:\n  min_group_size: many\n", encoding="utf-8")
    assert_user_error(cli(*command), str(config), "privacy.min_group_size", "integer")


def test_missing_config_given_with_flag_is_named(cli: Cli) -> None:
    missing = cli.cwd / "nowhere.yaml"
    assert_user_error(cli("status", "--config", missing), str(missing), "--config")


def test_missing_config_named_by_environment_is_named(cli: Cli) -> None:
    missing = cli.cwd / "nowhere.yaml"
    result = cli("status", env={"SPRINTPROOF_CONFIG": str(missing)})
    assert_user_error(result, str(missing), "SPRINTPROOF_CONFIG")


def test_missing_repo_path_is_a_user_error(cli: Cli) -> None:
    missing = cli.cwd / "does-not-exist"
    assert_user_error(
        cli("ingest", "--repo", missing, "--warehouse", cli.cwd / "wh.duckdb"),
        str(missing),
        "no such path",
    )


def test_a_folder_that_is_not_a_repository_is_a_user_error(cli: Cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain-folder"
    plain.mkdir()
    (plain / "notes.txt").write_text("hello\n", encoding="utf-8")
    result = cli("ingest", "--repo", plain, "--warehouse", cli.cwd / "wh.duckdb")
    assert_user_error(result, str(plain), "not a git repository")


def test_bad_repo_among_good_ones_still_ingests_the_good_one(cli: Cli, alpha: Path) -> None:
    missing = cli.cwd / "gone"
    warehouse = cli.cwd / "wh.duckdb"
    result = cli("ingest", "--repo", missing, "--repo", alpha, "--warehouse", warehouse)
    assert_user_error(result, str(missing))
    assert "alpha: +3 commits" in result.stdout
    assert query(warehouse, "SELECT repo, count(*) FROM commits GROUP BY repo") == [("alpha", 3)]


@pytest.mark.parametrize(
    ("content", "command"),
    [
        *(("text", c) for c in ("ingest", "status", "migrate", "attribute")),
        *(("random", c) for c in ("ingest", "status")),
    ],
)
def test_unreadable_warehouse_is_refused_and_left_untouched(
    cli: Cli, alpha: Path, content: str, command: str
) -> None:
    warehouse = cli.cwd / "wh.duckdb"
    original = (
        b"These are my notes, not a database.\n" * 40
        if content == "text"
        else os.urandom(64 * 1024)
    )
    warehouse.write_bytes(original)
    before = sorted(p.name for p in cli.cwd.iterdir())
    args = ("--repo", alpha) if command == "ingest" else ()
    assert_user_error(cli(command, *args, "--warehouse", warehouse), "wh.duckdb")
    assert warehouse.read_bytes() == original
    assert sorted(p.name for p in cli.cwd.iterdir()) == before


def test_status_on_a_missing_warehouse(cli: Cli) -> None:
    warehouse = cli.cwd / "nothing-here.duckdb"
    assert_user_error(
        cli("status", "--warehouse", warehouse), "nothing-here.duckdb", "sprintproof ingest"
    )
    assert not warehouse.exists()


def test_warehouse_held_open_by_another_writer(cli: Cli, alpha: Path) -> None:
    warehouse = ingested(cli, alpha, cli.cwd / "wh.duckdb")
    command = [sys.executable, "-c", HOLDER, str(warehouse)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert (
                holder.stdout.readline().strip() == "ready"
            )  # the other process holds the file now
            result = cli("ingest", "--repo", alpha, "--warehouse", warehouse)
            assert_user_error(result, "wh.duckdb")
        finally:
            holder.kill()
    # Nothing was damaged: once the other process is gone, the warehouse reads as before.
    assert query(warehouse, "SELECT count(*) FROM commits") == [(3,)]


# --------------------------------------------------------------------------- attribute


def test_attribute_unknown_repo_is_a_user_error(cli: Cli, alpha: Path) -> None:
    warehouse = ingested(cli, alpha, cli.cwd / "wh.duckdb")
    assert_user_error(
        cli("attribute", "--repo", "unknown", "--warehouse", warehouse), "unknown", "alpha"
    )


def test_attribute_applies_a_custom_rule_from_the_configuration(cli: Cli, alpha: Path) -> None:
    warehouse = ingested(cli, alpha, cli.cwd / "wh.duckdb")
    tools = "SELECT subject, ai_tool, ai_mode FROM commits ORDER BY authored_at"
    before = query(warehouse, tools)
    assert [(subject, tool) for subject, tool, _ in before] == [
        ("Add service", None),
        ("Add retries", "claude_code"),
        ("Bump dependencies", None),
    ]

    config = cli.cwd / "custom.yaml"
    config.write_text(
        "attribution:\n"
        "  rules:\n"
        "    - id: acme-bot\n"
        "      field: author\n"
        "      pattern: 'bot@acme\\.example'\n"
        "      tool: acme_agent\n"
        "      mode: agent\n"
        "      confidence: 0.9\n",
        encoding="utf-8",
    )
    result = ok(cli("attribute", "--config", config, "--warehouse", warehouse))
    assert "alpha:" in result.stdout and "1 commits changed attribution" in result.stdout

    after = query(warehouse, tools)
    assert after == [before[0], before[1], ("Bump dependencies", "acme_agent", "agent")]
    evidence = query(
        warehouse,
        "SELECT e.rule_id, e.tool FROM ai_evidence e JOIN commits c ON c.sha = e.subject_id "
        "WHERE c.subject = 'Bump dependencies'",
    )
    assert evidence == [("acme-bot", "acme_agent")]
