"""`sprintproof dashboard`: the settings file it writes, the server it starts on the configured warehouse, and its user errors."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dagster_project.test_cli import Cli, assert_user_error
from tests.dashboards import fixture_warehouse
from tests.dashboards.browser import free_port

CONFIG = (
    "organisation: Acme Robotics\nworkspace: ws\n"
    "privacy:\n  min_group_size: 4\n"
    "dashboard:\n  auth:\n    enabled: false\n"
)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SPRINTPROOF_CONFIG"}
    return Cli(cwd, env | {"SPRINTPROOF_HOME": str(tmp_path / "sphome")})


def test_no_warehouse_yet_is_one_clear_error(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "sprintproof.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    line = assert_user_error(cli("dashboard", "--config", config), "no warehouse yet")
    assert "sprintproof run" in line


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


def test_the_dashboard_serves_the_configured_warehouse(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "sprintproof.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    fixture_warehouse.build(tmp_path / "ws" / "warehouse.duckdb")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster_project", "dashboard", "--config", str(config),
         "--port", str(port)],
        cwd=cli.cwd, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline, health = time.monotonic() + 90, ""
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = _get(f"http://127.0.0.1:{port}/_stcore/health")[1]
                break
            except OSError:
                time.sleep(0.3)
        assert health == "ok", f"no server on {port}"
        status, page = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "<html" in page.lower()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert f"Dashboard on http://127.0.0.1:{port} (Acme Robotics)" in output
    assert "Traceback" not in output, output
    written = json.loads((tmp_path / "ws" / "dashboard" / "settings.json").read_text("utf-8"))
    assert written["organisation"] == "Acme Robotics"
    assert written["warehouse"] == str((tmp_path / "ws" / "warehouse.duckdb").resolve())
    assert written["snapshot"].endswith(str(Path("ws") / "snapshot" / "warehouse.duckdb"))
    assert written["privacy"] == {"min_group_size": 4, "per_person_views": False}
    assert written["auth"]["enabled"] is False
