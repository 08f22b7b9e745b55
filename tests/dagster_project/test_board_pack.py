"""The board pack in Dagster: the asset materialises in process, the sprint-end schedule and the sprint-closed sensor ask for the right packs."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from pypdf import PdfReader

from dagster_project.defs.build import build_definitions
from dagster_project.defs.report.assets import SPRINT_TAG, BoardPackConfig, board_pack
from dagster_project.defs.report.sensors import write_cursor
from dagster_project.defs.warehouse.resources import WarehouseResource
from ingestion.warehouse import connect
from tests.dashboards import fixture_warehouse
from tests.dashboards.fixture_warehouse import Fixture


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return fixture_warehouse.build(tmp_path_factory.mktemp("pack") / "warehouse.duckdb")


def workspace(tmp_path: Path, fixture: Fixture, extra: str = "") -> Path:
    """A configuration whose warehouse is a copy of the fixture warehouse (no snapshot published)."""
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "warehouse.duckdb").write_bytes(fixture.path.read_bytes())
    config = tmp_path / "sprintproof.yaml"
    config.write_text(f"organisation: Acme Robotics\nworkspace: ws\n{extra}", encoding="utf-8")
    return config


def test_the_definitions_hold_the_pack_its_job_schedule_and_sensor(tmp_path: Path, fixture: Fixture) -> None:  # fmt: skip
    with dg.instance_for_test():
        defs = build_definitions(workspace(tmp_path, fixture))
        keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert "board_pack" in keys
        assert "report" in {j.name for j in defs.resolve_all_job_defs()}
        schedule = defs.resolve_schedule_def("board_pack_at_sprint_end")
        sensor = defs.resolve_sensor_def("board_pack_on_sprint_close")
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        # The derive job (what `sprintproof run` and the automation run) leaves the pack out.
        derive = defs.resolve_job_def("derive")
        assert dg.AssetKey(["board_pack"]) not in derive.asset_layer.selected_asset_keys


def test_schedule_board_pack_false_leaves_them_stopped(tmp_path: Path, fixture: Fixture) -> None:
    with dg.instance_for_test():
        defs = build_definitions(workspace(tmp_path, fixture, "schedule:\n  board_pack: false\n"))
        schedule = defs.resolve_schedule_def("board_pack_at_sprint_end")
        sensor = defs.resolve_sensor_def("board_pack_on_sprint_close")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_the_asset_materialises_the_last_closed_sprints_pack(tmp_path: Path, fixture: Fixture) -> None:  # fmt: skip
    config = workspace(tmp_path, fixture)
    result = dg.materialize(
        [board_pack], resources={"warehouse": WarehouseResource(config_path=str(config))}
    )
    assert result.success
    target = tmp_path / "ws" / "reports" / f"board-pack-{fixture.last_closed.org_id}.pdf"
    assert target.exists()
    metadata = result.asset_materializations_for_node("board_pack")[0].metadata
    assert metadata["path"].value == str(target)
    assert metadata["sprint"].value == fixture.last_closed.org_id
    assert set(metadata["seconds"].value) == {"read", "figures", "images", "pdf"}  # type: ignore[arg-type]
    assert "Acme Robotics" in (PdfReader(str(target)).pages[0].extract_text() or "")


def test_the_asset_fails_once_with_the_message_when_there_is_no_browser(tmp_path: Path, fixture: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    config = workspace(tmp_path, fixture)
    result = dg.materialize(
        [board_pack],
        resources={"warehouse": WarehouseResource(config_path=str(config))},
        run_config=dg.RunConfig(
            ops={"board_pack": BoardPackConfig(sprint_id=fixture.sprints[2].org_id)}
        ),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    user = failure.step_failure_data.user_failure_data
    assert user is not None and "apt-get install chromium" in str(user.description)
    assert not (tmp_path / "ws" / "reports").exists()


def tick(schedule: dg.ScheduleDefinition, instance: dg.DagsterInstance, config: Path, when: datetime | None = None) -> tuple[list[dg.RunRequest], str | None]:  # fmt: skip
    """One evaluation's run requests and skip message, its context closed afterwards (an open one
    leaves its instance current for the tests that follow)."""
    resources = {"warehouse": WarehouseResource(config_path=str(config))}
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources) as context:  # fmt: skip
        data = schedule.evaluate_tick(context)
    return list(data.run_requests or []), data.skip_message


def sense(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, config: Path, cursor: str | None = None) -> dg.SensorResult:  # fmt: skip
    resources = {"warehouse": WarehouseResource(config_path=str(config))}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_the_schedule_asks_once_for_each_sprint_that_ended_without_a_pack(tmp_path: Path, fixture: Fixture) -> None:  # fmt: skip
    config = workspace(tmp_path, fixture)
    last = fixture.last_closed
    pack = tmp_path / "ws" / "reports" / f"board-pack-{last.org_id}.pdf"
    with dg.instance_for_test() as instance:
        schedule = build_definitions(config).resolve_schedule_def("board_pack_at_sprint_end")
        requests, _ = tick(schedule, instance, config, fixture.now)
        assert [r.run_key for r in requests] == [f"board-pack-{last.org_id}"]
        assert requests[0].tags[SPRINT_TAG] == last.org_id
        wanted = {"board_pack": {"config": {"sprint_id": last.org_id}}}
        assert requests[0].run_config["ops"] == wanted
        # Once the pack exists, nothing more; a sprint that ended long ago is never backfilled.
        pack.parent.mkdir()
        pack.write_bytes(b"%PDF-")
        requests, skipped = tick(schedule, instance, config, fixture.now)
        assert not requests and skipped
        pack.unlink()
        assert tick(schedule, instance, config, fixture.now + timedelta(days=30))[0] == []


def test_the_schedule_skips_a_warehouse_without_metrics(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    fixture_warehouse.build_without_metrics(tmp_path / "ws" / "warehouse.duckdb")
    config = tmp_path / "sprintproof.yaml"
    config.write_text("workspace: ws\n", encoding="utf-8")
    with dg.instance_for_test() as instance:
        schedule = build_definitions(config).resolve_schedule_def("board_pack_at_sprint_end")
        requests, skipped = tick(schedule, instance, config)
    assert not requests
    assert "metrics have not been computed" in str(skipped)


def test_the_sensor_asks_for_the_pack_when_a_tracker_sprint_closes(tmp_path: Path, fixture: Fixture) -> None:  # fmt: skip
    config = workspace(tmp_path, fixture)
    last, running = fixture.last_closed, fixture.sprints[-1]
    with connect(tmp_path / "ws" / "warehouse.duckdb") as con:
        fixture_warehouse.insert(con, "sprints", [
            {"source": "jira", "tracker": "jira", "sprint_id": "101", "board_id": "1", "name": "WEB 7",
             "state": "closed", "start_at": last.start, "end_at": last.end, "completed_at": last.end - timedelta(hours=3)},
            {"source": "jira", "tracker": "jira", "sprint_id": "102", "board_id": "2", "name": "MOB 7",
             "state": "closed", "start_at": last.start, "end_at": last.end, "completed_at": last.end - timedelta(hours=2)},
            {"source": "linear", "tracker": "linear", "sprint_id": "c9", "board_id": "t", "name": "Cycle 9",
             "state": "closed", "start_at": running.start, "end_at": running.end, "completed_at": running.start + timedelta(hours=1)},
        ])  # fmt: skip
    with dg.instance_for_test() as instance:
        # Resolved inside the test instance: Dagster binds definitions to the instance in scope.
        sensor = build_definitions(config).resolve_sensor_def("board_pack_on_sprint_close")
        # The first evaluation only starts watching: recent sprints are the schedule's.
        first = sense(sensor, instance, config)
        assert not first.run_requests and first.cursor
        assert set(json.loads(first.cursor)["seen"]) == {"jira:101", "jira:102", "linear:c9"}
        # Watching since before they closed: one pack for the ended sprint, none for the running one.
        result = sense(sensor, instance, config, write_cursor(last.start, []))
        assert [r.run_key for r in result.run_requests or []] == [f"board-pack-{last.org_id}-jira:101"]  # fmt: skip
        assert (result.run_requests or [])[0].tags[SPRINT_TAG] == last.org_id
        # Nothing new: nothing asked, and the cursor keeps what it handled.
        again = sense(sensor, instance, config, result.cursor)
        assert not again.run_requests
        assert "no sprint closed" in str(again.skip_reason)
