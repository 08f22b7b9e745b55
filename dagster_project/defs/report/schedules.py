"""The sprint-end board pack: every hour, a run for each organisation sprint that ended lately and has no pack yet."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb

from dagster_project.config import ScheduleConfig
from dagster_project.defs.report.assets import in_flight, pack_request
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.runtime import board_pack_path
from dashboards import data
from dashboards.report import organisation_sprints, recent_closed
from ingestion.warehouse import WarehouseError, reader_path

# A sprint counts as ended once the published marts show it closed, which can be the morning after
# its last day (the daily ingest); packs missed while the daemon was down are made within this
# window. Older sprints are never backfilled: `sprintproof report --sprint ID` makes one on demand.
CATCH_UP = timedelta(days=14)


def board_pack_schedule(job: Any, config: ScheduleConfig) -> dg.ScheduleDefinition:
    """Hourly: the board pack of every organisation sprint closed in the last 14 days that has none."""

    @dg.schedule(
        name="board_pack_at_sprint_end",
        cron_schedule="0 * * * *",
        execution_timezone=config.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING
        if config.board_pack
        else dg.DefaultScheduleStatus.STOPPED,
        description="At each organisation sprint's end (once the published marts show it closed): "
        "its board pack in <workspace>/reports/. Off when schedule.board_pack is false.",
    )
    def board_pack_at_sprint_end(
        context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource
    ) -> list[dg.RunRequest] | dg.SkipReason:
        rt = warehouse.runtime()
        source = reader_path(rt.warehouse, rt.config.snapshot_path)
        state = data.status(source)
        if not state.ready:
            return dg.SkipReason(f"no metrics to report on yet: {state.detail or state.state}")
        now = context.scheduled_execution_time or datetime.now(UTC)
        try:
            sprints = organisation_sprints(source)
        except (WarehouseError, duckdb.Error) as exc:
            return dg.SkipReason(f"cannot read {source} now ({exc}); next hour")
        due = [
            s
            for s in recent_closed(sprints, now, CATCH_UP)
            if not board_pack_path(rt, s.sprint_id).exists()
            and not in_flight(context.instance, s.sprint_id)
        ]
        if not due:
            return dg.SkipReason(
                "every organisation sprint closed in the last 14 days has its board pack"
            )
        return [pack_request(s.sprint_id, f"board-pack-{s.sprint_id}") for s in due]

    return board_pack_at_sprint_end
