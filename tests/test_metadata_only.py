"""SPEC §4 on every build: file content, diff text and message bodies never reach the warehouse; paths can be keyed hashes."""

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
import pytest

KEY_ENV = "SPRINTPROOF_TEST_PATH_KEY"


def marker(label: str) -> str:
    """A random string that can only be in the warehouse if the thing it was put into was copied there."""
    return f"{label}{uuid.uuid4().hex}"


def run_cli(
    cwd: Path, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if k not in {"SPRINTPROOF_CONFIG", "COLUMNS", "LINES"}
    }
    environ |= {"SPRINTPROOF_HOME": str(cwd / "sphome")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "dagster_project", *map(str, args)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def columns_containing(warehouse: Path, needles: Iterable[str]) -> dict[str, list[str]]:
    """For each needle, the `table.column`s (every column of every table, as text) where it occurs."""
    wanted = list(needles)
    found: dict[str, list[str]] = {n: [] for n in wanted}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cols = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
        assert {"commits", "commit_files", "commit_trailers", "ai_evidence"} <= {t for t, _ in cols}
        for table, column in cols:
            # Every column, not only VARCHAR ones: lists (ingest_runs.warnings) are searched as text too.
            hits = con.execute(
                "SELECT n FROM unnest(?::VARCHAR[]) AS needles(n) WHERE EXISTS ("
                f"SELECT 1 FROM \"{table}\" WHERE CAST(\"{column}\" AS VARCHAR) ILIKE '%' || n || '%')",
                [wanted],
            ).fetchall()
            for (needle,) in hits:
                found[needle].append(f"{table}.{column}")
    finally:
        con.close()
    return found


def file_bytes(warehouse: Path) -> bytes:
    """The database file (and its WAL, if any) after a checkpoint."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    wal = warehouse.with_name(warehouse.name + ".wal")
    return warehouse.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def work(tmp_path: Path, git_env: dict[str, str]) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- content, diffs and bodies


@pytest.fixture
def secret_repo(make_repo: Callable[..., Any]) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A repository whose content, bodies, tag message and note prompt carry markers; subject and trailers carry controls."""
    hidden = {
        name: marker(name)
        for name in (
            "content",
            "module",
            "binary",
            "modified",
            "deleted",
            "body",
            "footer",
            "tag",
            "prompt",
        )
    }
    shown = {"subject": marker("subject"), "trailer": marker("trailer")}
    repo = make_repo("secret")
    first = repo.commit(
        f"Add payment service {shown['subject']}\n"
        "\n"
        f"Context paragraph that is body text: {hidden['body']}.\n"
        "\n"
        f"🤖 Generated with [Claude Code](https://claude.com/claude-code) {hidden['footer']}\n"
        "\n"
        "Co-authored-by: Claude <noreply@anthropic.com>\n"
        f"Refs: {shown['trailer']}\n",
        {
            "README.md": f"# Service\n\n{hidden['content']}\n",
            "src/lib.py": f"SECRET = '{hidden['module']}'\n",
            "src/old.py": f"# {hidden['deleted']}\nx = 1\n",
            "assets/logo.bin": b"\x89PNG\x00\x01" + hidden["binary"].encode() + b"\x00\xff",
        },
    )
    repo.commit("Tune retries", {"README.md": f"# Service\n\n{hidden['modified']}\nretries = 3\n"})
    repo.commit("Remove old module", {"src/old.py": None})
    repo.git("tag", "-a", "v1.0.0", "-m", f"Release notes: {hidden['tag']}")
    note = (
        "README.md\n"
        "  s_0a1b2c3d 1-2\n"
        "---\n"
        + json.dumps(
            {
                "schema_version": "authorship/3.0.0",
                "sessions": {
                    "s_0a1b2c3d": {
                        "agent_id": {"tool": "claude", "model": "claude-sonnet-4"},
                        "messages": [{"type": "user", "text": f"Please write {hidden['prompt']}"}],
                    }
                },
            }
        )
        + "\n"
    )
    repo.run("notes", "--ref=ai", "add", "-F", "-", first, stdin=note.encode())
    return repo.path, hidden, shown


def test_no_content_diff_or_body_reaches_the_warehouse(
    work: Path, secret_repo: tuple[Path, dict[str, str], dict[str, str]]
) -> None:
    repo, hidden, shown = secret_repo
    warehouse = work / "wh.duckdb"
    result = ok(run_cli(work, "ingest", "--repo", repo, "--warehouse", warehouse))
    for value in hidden.values():
        assert value not in result.stdout + result.stderr

    # (c) first, so that (a) and (b) are known to be able to fail: subject and trailers are stored ...
    found = columns_containing(warehouse, [*hidden.values(), *shown.values()])
    assert "commits.subject" in found[shown["subject"]]
    assert "commit_trailers.value" in found[shown["trailer"]]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        subjects = con.execute(
            "SELECT subject, ai_tool FROM commits ORDER BY authored_at"
        ).fetchall()
        trailers = con.execute(
            "SELECT key, value FROM commit_trailers ORDER BY position"
        ).fetchall()
        body_evidence = con.execute(
            "SELECT count(*) FROM ai_evidence WHERE field = 'body'"
        ).fetchall()[0][0]
        notes = con.execute("SELECT kind, tool, lines, files FROM commit_ai_notes").fetchall()
        files = con.execute("SELECT path, change FROM commit_files ORDER BY sha, path").fetchall()
        survival = con.execute(
            "SELECT count(*), sum(lines_added) FROM commit_durability"
        ).fetchall()[0]
    finally:
        con.close()
    assert subjects[0] == (f"Add payment service {shown['subject']}", "claude_code")
    assert [s for s, _ in subjects[1:]] == ["Tune retries", "Remove old module"]
    assert trailers == [
        ("co-authored-by", "Claude <noreply@anthropic.com>"),
        ("refs", shown["trailer"]),
    ]
    assert body_evidence >= 1  # the body was read (the footer attributed the commit) ...
    assert notes == [("ai", "claude_code", 2, 1)]  # ... and so was the note
    assert ("src/old.py", "D") in files
    assert survival[0] == 3 and survival[1] > 0  # the lines were followed too (counts only)

    # (a) ... but no text column of any table holds content, diff text, body, tag message or prompt.
    leaks = {name: found[value] for name, value in hidden.items() if found[value]}
    assert leaks == {}

    # (b) nor do the raw bytes of the file, where deleted or not-yet-compacted data would also show.
    raw = file_bytes(warehouse)
    assert shown["subject"].encode() in raw, (
        "positive control: stored strings are visible in the raw file"
    )
    assert shown["trailer"].encode() in raw
    leaked = sorted(name for name, value in hidden.items() if value.encode() in raw)
    assert leaked == []


# --------------------------------------------------------------------------- keyed path hashes


@pytest.fixture
def path_repo(make_repo: Callable[..., Any]) -> tuple[Path, list[str]]:
    unique = uuid.uuid4().hex
    paths = [f"src/pathmark{unique}/module.py", f"docs/guide{unique}.md", "package-lock.json"]
    repo = make_repo("hashed")
    repo.commit("Add files", {p: f"line {i}\n" for i, p in enumerate(paths)})
    repo.commit("Change docs", {paths[1]: "line 1\nline 2\n"})
    return repo.path, paths


def test_hashed_paths_hide_paths_and_the_key(work: Path, path_repo: tuple[Path, list[str]]) -> None:
    repo, paths = path_repo
    key = marker("key")
    config = work / "sprintproof.yaml"
    config.write_text(
        f"privacy:\n  hash_paths: true\n  path_hash_key_env: {KEY_ENV}\n", encoding="utf-8"
    )
    warehouse = work / "wh.duckdb"
    env = {KEY_ENV: key}
    ingest = ok(
        run_cli(
            work, "ingest", "--config", config, "--repo", repo, "--warehouse", warehouse, env=env
        )
    )
    status = ok(run_cli(work, "status", "--config", config, "--warehouse", warehouse, env=env))

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        stored = con.execute("SELECT path, is_excluded FROM commit_files").fetchall()
    finally:
        con.close()
    # Positive control: rows were written, as 32 hex characters, one distinct hash per path.
    assert len(stored) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", p) for p, _ in stored), stored
    assert len({p for p, _ in stored}) == len(paths)
    # Exclusions were decided on the real path before hashing (package-lock.json is a default exclude).
    assert sum(excluded for _, excluded in stored) == 1
    # Keyed: not a plain digest anyone could recompute from a guessed path.
    plain = {hashlib.md5(p.encode()).hexdigest() for p in paths} | {
        hashlib.sha256(p.encode()).hexdigest()[:32] for p in paths
    }
    assert not plain & {p for p, _ in stored}

    parts = [
        *paths,
        *(part for p in paths for part in p.split("/") if "pathmark" in part or "guide" in part),
    ]
    found = columns_containing(warehouse, [*parts, key])
    assert {needle: where for needle, where in found.items() if where} == {}
    raw = file_bytes(warehouse)
    assert key.encode() not in raw
    assert [p for p in parts if p.encode() in raw] == []
    for output in (ingest, status):
        assert key not in output.stdout + output.stderr


def test_hash_paths_without_the_key_is_a_user_error(
    work: Path, path_repo: tuple[Path, list[str]]
) -> None:
    repo, _ = path_repo
    config = work / "sprintproof.yaml"
    config.write_text(
        f"privacy:\n  hash_paths: true\n  path_hash_key_env: {KEY_ENV}\n", encoding="utf-8"
    )
    warehouse = work / "wh.duckdb"
    result = run_cli(work, "ingest", "--repo", repo, "--warehouse", warehouse, env={KEY_ENV: ""})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and KEY_ENV in lines[0], result.stderr
    assert not warehouse.exists()  # nothing was stored with clear-text paths
