"""Fixtures of the dashboard tests (the fixture warehouse, an AppTest on the entry point), loaded with `pytest_plugins`.

Not a conftest.py: tests/ingestion imports the root conftest by its bare module name, which a
second conftest.py would shadow.
"""

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from tests.dashboards import fixture_warehouse
from tests.dashboards.fixture_warehouse import Fixture

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
PAGES = {
    "overview": "app_pages/overview.py",
    "adoption": "app_pages/adoption.py",
    "delivery": "app_pages/delivery.py",
    "quality": "app_pages/quality.py",
    "teams": "app_pages/teams.py",
    "health": "app_pages/health.py",
    "sprint_report": "app_pages/sprint_report.py",
}
TIMEOUT = 60  # seconds per run: generous, the machine is shared


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return fixture_warehouse.build(tmp_path_factory.mktemp("dashboard") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def durable_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return fixture_warehouse.build(
        tmp_path_factory.mktemp("durable") / "warehouse.duckdb", durability=True
    )


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No launcher variables leak in, no cached read survives from another test's warehouse, and `__main__` is given back.

    A script run puts the app's module in `sys.modules["__main__"]`; left there, any later test of
    this worker that starts processes (forkserver, spawn) would make each child import the app.
    """
    for name in ("SPRINTPROOF_WAREHOUSE", "SPRINTPROOF_SNAPSHOT", "SPRINTPROOF_DASHBOARD_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    main = sys.modules["__main__"]
    st.cache_data.clear()
    # As `sprintproof dashboard` serves it: pages compiled from source, not through magic's
    # ast.parse, which CPython 3.11 can fail with "AST constructor recursion depth mismatch" while
    # another thread of the process (a Dagster test's leftovers) builds an AST too.
    magic = st_config.get_option("runner.magicEnabled")
    st_config.set_option("runner.magicEnabled", False)
    yield
    st_config.set_option("runner.magicEnabled", magic)
    st.cache_data.clear()
    sys.modules["__main__"] = main


Open = Callable[..., AppTest]


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated: None) -> Open:
    """open_app(path, page="overview", query={...}, settings={...}, user={...}): a rendered AppTest."""

    def run(
        path: Path | None,
        page: str = "overview",
        *,
        query: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
        secrets: dict[str, Any] | None = None,
    ) -> AppTest:
        if path is not None:
            monkeypatch.setenv("SPRINTPROOF_WAREHOUSE", str(path))
        if settings is not None:
            file = tmp_path / "dashboard.json"
            file.write_text(json.dumps(settings), encoding="utf-8")
            monkeypatch.setenv("SPRINTPROOF_DASHBOARD_SETTINGS", str(file))
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        if user is not None:
            at.user = user
        for key, value in (secrets or {}).items():
            at.secrets[key] = value
        at.run()
        if page != "overview" and not at.exception:
            at.switch_page(PAGES[page]).run()
        return at

    return run


def charts(at: AppTest) -> list[str]:
    """Each Plotly chart's title and notes as plain text (titles are wrapped with <br> for display)."""
    out = []
    for chart in at.get("plotly_chart"):
        layout = json.loads(chart.proto.spec)["layout"]  # type: ignore[attr-defined]
        parts = [layout.get("title", {}).get("text", "")]
        parts += [a.get("text", "") for a in layout.get("annotations", [])]
        out.append(" ".join(" | ".join(parts).replace("<br>", " ").split()))
    return out


def texts(at: AppTest) -> str:
    """Every text the page shows (markdown, captions, alerts, titles, metric labels and values), one string."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):  # fmt: skip
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value} {m.delta or ''}" for m in at.metric]
    return "\n".join(parts)
