"""`sprintproof report`: the board pack from the command line, its default sprint and file, and its user errors."""

import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.dagster_project.test_cli import Cli, assert_user_error, ok
from tests.dashboards import fixture_warehouse
from tests.dashboards.fixture_warehouse import Fixture


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"SPRINTPROOF_CONFIG", "BROWSER_PATH"}}
    return Cli(cwd, env | {"SPRINTPROOF_HOME": str(tmp_path / "sphome")})


def configured(tmp_path: Path, name: str = "sprintproof.yaml") -> Path:
    config = tmp_path / name
    config.write_text("organisation: Acme Robotics\nworkspace: ws\n", encoding="utf-8")
    return config


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Fixture]:
    """A configuration whose warehouse is the dashboard's fixture warehouse."""
    fixture = fixture_warehouse.build(tmp_path / "ws" / "warehouse.duckdb")
    return configured(tmp_path), fixture


def test_report_writes_the_last_closed_sprints_pack_into_the_workspace(cli: Cli, workspace: tuple[Path, Fixture]) -> None:  # fmt: skip
    config, fixture = workspace
    result = ok(cli("report", "--config", config))
    expected = config.parent / "ws" / "reports" / f"board-pack-{fixture.last_closed.org_id}.pdf"
    assert expected.exists()
    assert f"Board pack of {fixture.last_closed.org_name} ({fixture.last_closed.org_id})" in result.stdout  # fmt: skip
    assert str(expected) in result.stdout.replace("\n", "")
    cover = PdfReader(str(expected)).pages[0].extract_text() or ""
    assert "Acme Robotics" in cover


def test_report_on_a_named_sprint_to_a_named_file(cli: Cli, workspace: tuple[Path, Fixture], tmp_path: Path) -> None:  # fmt: skip
    config, fixture = workspace
    sprint = fixture.sprints[3]
    target = tmp_path / "out" / "pack.pdf"
    result = ok(cli("report", "--config", config, "--sprint", sprint.org_id, "--out", target))
    assert target.exists() and "Board pack of" in result.stdout
    assert f"Organisation sprint {sprint.org_id}, closed" in " ".join(
        (PdfReader(str(target)).pages[0].extract_text() or "").split()
    )


def test_an_unknown_sprint_is_one_error_line(cli: Cli, workspace: tuple[Path, Fixture]) -> None:
    config, _ = workspace
    assert_user_error(
        cli("report", "--config", config, "--sprint", "nope"), "unknown sprint 'nope'"
    )


def test_an_empty_or_uncomputed_warehouse_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    config = configured(tmp_path)
    assert_user_error(cli("report", "--config", config), "does not exist", "sprintproof demo")
    fixture_warehouse.build_empty(tmp_path / "ws" / "warehouse.duckdb")
    assert_user_error(cli("report", "--config", config), "the warehouse is empty")
    (tmp_path / "ws" / "warehouse.duckdb").unlink()
    fixture_warehouse.build_without_metrics(tmp_path / "ws" / "warehouse.duckdb")
    assert_user_error(cli("report", "--config", config), "run `sprintproof metrics`")


def test_no_browser_is_one_error_line_that_says_how_to_install_one(cli: Cli, workspace: tuple[Path, Fixture]) -> None:  # fmt: skip
    config, _ = workspace
    result = cli("report", "--config", config, env={"BROWSER_PATH": "/nonexistent/chromium"})
    assert_user_error(result, "no Chrome or Chromium at /nonexistent/chromium", "apt-get install chromium")  # fmt: skip
    assert not (config.parent / "ws" / "reports").exists()
