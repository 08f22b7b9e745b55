"""Helpers for the Linear and Copilot end-to-end tests: run `sprintproof ingest` as a subprocess, kill it, compare warehouses."""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import yaml

from ingestion.sim.base import SimRequest, Simulator

SPRINTPROOF = Path(sys.executable).parent / "sprintproof"
VOLATILE = {"synced_at", "run_id", "last_seen_at"}


def write_config(path: Path, warehouse: Path, source: Mapping[str, Any]) -> Path:
    path.write_text(
        yaml.safe_dump({"warehouse": str(warehouse), "sources": [dict(source)]}), encoding="utf-8"
    )
    return path


def ingest(config: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SPRINTPROOF), "ingest", "--config", str(config)],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def ingest_killed_at(
    sim: Simulator, config: Path, env: Mapping[str, str], request_number: int
) -> int:
    """Start an ingest and SIGKILL it when the simulator receives its Nth request; returns the exit code."""
    seen = 0
    lock = threading.Lock()
    proc: subprocess.Popen[str] | None = None
    killed = threading.Event()

    def hook(request: SimRequest) -> None:
        nonlocal seen
        with lock:
            seen += 1
            if seen == request_number and proc is not None:
                os.kill(proc.pid, signal.SIGKILL)
                killed.set()

    sim.on_request = hook
    try:
        proc = subprocess.Popen(
            [str(SPRINTPROOF), "ingest", "--config", str(config)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        code = proc.wait(timeout=120)
    finally:
        sim.on_request = None
    assert killed.is_set(), f"the run ended before request {request_number} (exit {code})"
    return code


def table_rows(warehouse: Path, tables: Iterable[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table without the columns that record when or by which run it was written."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in tables:
            columns = [
                c[0] for c in con.execute(f'DESCRIBE "{table}"').fetchall() if c[0] not in VOLATILE
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows[table] = con.execute(f'SELECT {listed} FROM "{table}" ORDER BY ALL').fetchall()
    return rows


def text_containing(warehouse: Path, needle: str) -> list[tuple[str, str]]:
    """(table, column) of every text column, in any table, with a value that contains `needle`."""
    hits = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'VARCHAR[]') OR data_type LIKE 'STRUCT%'"
        ).fetchall()
        for table, column, kind in columns:
            value = f'"{column}"' if kind == "VARCHAR" else f'CAST("{column}" AS VARCHAR)'
            found = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains({value}, ?)', [needle]
            ).fetchall()
            if found[0][0]:
                hits.append((table, column))
    return hits
