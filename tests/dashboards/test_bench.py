"""The dashboard benchmark runs on a warehouse and reports every page against the bar (no timing asserted here)."""

import pytest

from benchmarks import bench_dashboard
from tests.dashboards.fixture_warehouse import Fixture

pytest_plugins = ("tests.dashboards.support",)


def test_benchmark_reports_every_page(
    warehouse: Fixture, capsys: pytest.CaptureFixture[str], isolated: None
) -> None:
    # A bar no page can miss: this checks the report, the benchmark itself measures.
    assert bench_dashboard.main([str(warehouse.path), "--repeat", "1", "--bar", "600"]) == 0
    out = capsys.readouterr().out
    for page in bench_dashboard.PAGES:
        assert page in out
    assert "every page within the bar" in out


def test_benchmark_refuses_a_warehouse_without_metrics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        bench_dashboard.main([str(tmp_path / "missing.duckdb")])
