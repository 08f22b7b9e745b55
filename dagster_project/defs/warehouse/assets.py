"""Derived assets: cross-source links, every metrics mart, and the read-only snapshot the dashboard reads."""

from collections.abc import Sequence

import dagster as dg

from dagster_project.config import metrics_settings
from dagster_project.defs.policy import WAREHOUSE_POOL
from dagster_project.defs.warehouse.resources import WarehouseResource
from ingestion.linking import link
from ingestion.warehouse import publish_snapshot
from metrics.marts import recompute

LINKS = dg.AssetKey(["links"])
MART_TABLES = (
    "mart_calendar",
    "mart_identities",
    "mart_unmatched_identities",
    "mart_commits",
    "mart_prs",
    "sprint_metrics",
    "sprint_tool_mix",
    "board_summary",
)
SNAPSHOT = dg.AssetKey(["snapshot"])


def mart_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", table])


def derived_assets(
    raw_keys: Sequence[dg.AssetKey], partitioned: set[dg.AssetKey]
) -> list[dg.AssetsDefinition]:
    """Links after every raw asset, marts after links, the snapshot after the marts; each runs when its inputs change."""

    deps = [
        dg.AssetDep(key, partition_mapping=dg.AllPartitionMapping())
        if key in partitioned
        else dg.AssetDep(key)
        for key in raw_keys
    ]

    @dg.asset(
        key=LINKS,
        deps=deps,
        pool=WAREHOUSE_POOL,
        group_name="derive",
        kinds={"duckdb"},
        automation_condition=dg.AutomationCondition.eager(),
        description="Commits to PRs, tickets to PRs and commits, merge commits inheriting their PR's attribution.",
    )
    def links(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with warehouse.writer() as con:
            result = link(con)
        return dg.MaterializeResult(
            metadata={
                "commit_prs": result.commit_prs,
                "ticket_links": result.ticket_links,
                "inherited": result.inherited,
            }
        )

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                mart_key(t),
                deps=[LINKS],
                group_name="derive",
                kinds={"polars", "duckdb"},
                automation_condition=dg.AutomationCondition.eager(),
            )
            for t in MART_TABLES
        ],
        pool=WAREHOUSE_POOL,
        can_subset=False,
    )
    def marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        rt = warehouse.runtime()
        with warehouse.writer() as con:
            computed = recompute(con, metrics_settings(rt.config))
        for warning in computed.warnings:
            context.log.warning(warning)
        timings = {step: round(s, 3) for step, s in computed.seconds.items()}
        for table in MART_TABLES:
            frame = computed.tables[table]
            yield dg.MaterializeResult(
                asset_key=mart_key(table),
                metadata={"rows": frame.height, "seconds": dg.MetadataValue.json(timings)},
            )

    @dg.asset(
        key=SNAPSHOT,
        deps=[mart_key(t) for t in MART_TABLES],
        pool=WAREHOUSE_POOL,
        group_name="derive",
        kinds={"duckdb"},
        automation_condition=dg.AutomationCondition.eager(),
        description="A consistent read-only copy of the warehouse, published atomically for the dashboard.",
    )
    def snapshot(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        rt = warehouse.runtime()
        path = publish_snapshot(rt.warehouse, rt.config.snapshot_path)
        return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})

    return [links, marts, snapshot]
