"""A sprint closed in Jira or Linear: the board pack of its organisation sprint, rebuilt with the team's final scope."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb

from dagster_project.config import ScheduleConfig
from dagster_project.defs.report.assets import in_flight, pack_request
from dagster_project.defs.warehouse.resources import WarehouseResource
from dashboards.report import ClosedSprint, closed_tracker_sprints, organisation_sprints
from ingestion.warehouse import WarehouseError, reader_path

# Sources sync at different times, so a sprint closed earlier can reach the warehouse after one
# closed later: the cursor keeps looking this far behind the newest closure it has seen, and
# remembers which closures in that stretch it has already handled.
LAG = timedelta(days=14)


def _key(c: ClosedSprint) -> str:
    return f"{c.source}:{c.sprint_id}"


def read_cursor(cursor: str | None) -> tuple[datetime | None, set[str]]:
    """(look for closures after this instant, closures already handled) from the sensor's cursor."""
    if not cursor:
        return None, set()
    state = json.loads(cursor)
    return datetime.fromisoformat(state["since"]), set(state.get("seen", []))


def write_cursor(since: datetime, closed: list[ClosedSprint]) -> str:
    seen = sorted(_key(c) for c in closed if c.completed_at > since)
    return json.dumps({"since": since.isoformat(), "seen": seen})


def board_pack_sensor(job: Any, config: ScheduleConfig) -> dg.SensorDefinition:
    """New closed rows in `sprints` → the board pack of the organisation sprint they belong to, once it has ended."""

    @dg.sensor(
        name="board_pack_on_sprint_close",
        job=job,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING
        if config.board_pack
        else dg.DefaultSensorStatus.STOPPED,
        description="A sprint closed in Jira, Linear, GitLab or GitHub (a new closed row in `sprints`): "
        "the board pack of its organisation sprint, once that has ended. Off when schedule.board_pack is false.",
    )
    def board_pack_on_sprint_close(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        rt = warehouse.runtime()
        source = reader_path(rt.warehouse, rt.config.snapshot_path)
        since, seen = read_cursor(context.cursor)
        try:
            closed = closed_tracker_sprints(source, since)
            org = {s.sprint_id: s for s in organisation_sprints(source)} if closed else {}
        except (WarehouseError, duckdb.Error) as exc:
            return dg.SkipReason(f"cannot read {source} now ({exc})")
        if since is None:
            # First evaluation: watch from here on. Recent sprints are the sprint-end schedule's.
            start = datetime.now(UTC) - LAG
            return dg.SensorResult(
                cursor=write_cursor(start, [c for c in closed if c.completed_at > start]),
                skip_reason="watching for sprints that close from now on",
            )
        fresh = [c for c in closed if _key(c) not in seen]
        requests: dict[str, dg.RunRequest] = {}
        waiting: list[str] = []
        for c in fresh:
            sprint = org.get(c.org_sprint_id or "")
            if sprint is None:
                continue
            if not sprint.closed:
                # Its pack comes from the sprint-end schedule, with this closure in the data by then.
                waiting.append(f"{c.name} ({sprint.sprint_id} still running)")
                continue
            if sprint.sprint_id not in requests and not in_flight(
                context.instance, sprint.sprint_id
            ):
                run_key = f"board-pack-{sprint.sprint_id}-{_key(c)}"
                requests[sprint.sprint_id] = pack_request(sprint.sprint_id, run_key)
        newest = max((c.completed_at for c in closed), default=None)
        moved = max(since, newest - LAG) if newest else since
        cursor = write_cursor(moved, closed)
        if requests:
            return dg.SensorResult(run_requests=list(requests.values()), cursor=cursor)
        reason = (
            f"closed, but their organisation sprints are still running: {', '.join(waiting)}"
            if waiting
            else "no sprint closed since the last evaluation"
        )
        return dg.SensorResult(cursor=cursor, skip_reason=reason)

    return board_pack_on_sprint_close
