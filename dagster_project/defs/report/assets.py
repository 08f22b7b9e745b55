"""The board pack asset: the PDF of one organisation sprint, written to <workspace>/reports/."""

import dagster as dg

from dagster_project.defs.warehouse.assets import SNAPSHOT, mart_key
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.runtime import board_pack_path, board_pack_settings
from dashboards.report import BoardPackError, build_board_pack, require_ready, resolve_sprint
from ingestion.warehouse import reader_path

BOARD_PACK = dg.AssetKey(["board_pack"])
SPRINT_TAG = "sprintproof/sprint"
IN_FLIGHT = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


class BoardPackConfig(dg.Config):
    """Which organisation sprint to report on (its id in mart_calendar); none: the last closed one."""

    sprint_id: str | None = None


@dg.asset(
    key=BOARD_PACK,
    deps=[
        mart_key("mart_calendar"),
        mart_key("sprint_metrics"),
        mart_key("sprint_tool_mix"),
        SNAPSHOT,
    ],
    group_name="report",
    kinds={"pdf"},
    description="The board pack PDF of one organisation sprint (run config sprint_id; default: the "
    "last closed one), read from the published snapshot, written to <workspace>/reports/.",
)
def board_pack(
    context: dg.AssetExecutionContext, config: BoardPackConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    rt = warehouse.runtime()
    # The snapshot: reading it never blocks a writer of the warehouse.
    source = reader_path(rt.warehouse, rt.config.snapshot_path)
    timings: dict[str, float] = {}
    try:
        ready = require_ready(source)
        sprint = resolve_sprint(ready, config.sprint_id)
        target = build_board_pack(
            ready,
            sprint_id=sprint.sprint_id,
            out=board_pack_path(rt, sprint.sprint_id),
            settings=board_pack_settings(rt),
            timings=timings,
        )
    except BoardPackError as exc:
        # Nothing a retry would change: a missing browser, an unknown sprint, no metrics yet.
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    assert not isinstance(target, bytes)
    context.log.info(f"board pack of {sprint.name} written to {target}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "sprint": sprint.sprint_id,
            "sprint_name": sprint.name,
            "closed": sprint.closed,
            "bytes": target.stat().st_size,
            "source": str(source),
            "seconds": dg.MetadataValue.json({part: round(s, 2) for part, s in timings.items()}),
        }
    )


def pack_request(sprint_id: str, run_key: str) -> dg.RunRequest:
    """A run of the board pack job for one organisation sprint, tagged with it."""
    return dg.RunRequest(
        run_key=run_key,
        run_config=dg.RunConfig(ops={"board_pack": BoardPackConfig(sprint_id=sprint_id)}),
        tags={SPRINT_TAG: sprint_id},
    )


def in_flight(instance: dg.DagsterInstance, sprint_id: str) -> bool:
    """Whether a board pack run for this sprint is queued or running (the schedule and the sensor may both ask)."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(tags={SPRINT_TAG: sprint_id}, statuses=IN_FLIGHT), limit=1
    )
    return bool(runs)
