"""The daily schedule: every raw asset over all its partitions, one run per source; derived assets follow by automation."""

from typing import Any

import dagster as dg

from dagster_project.config import ScheduleConfig

# `define_asset_job` returns a type Dagster does not export; jobs are passed through untyped.


def range_tags(keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover all the given partitions (assets use a single-run backfill policy)."""
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


def daily_schedule(job: Any, partitions: str, config: ScheduleConfig) -> dg.ScheduleDefinition:
    """At the configured time, one run of `job` over every current partition (none: no run)."""

    def execution_fn(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        keys = context.instance.get_dynamic_partitions(partitions)
        if not keys:
            return dg.SkipReason(
                f"no partitions in {partitions} yet (the partitions sensor adds them from the configuration)"
            )
        return dg.RunRequest(run_key=None, tags=range_tags(list(keys)))

    return dg.ScheduleDefinition(
        name=f"daily_{job.name}",
        cron_schedule=config.daily,
        execution_timezone=config.timezone,
        job=job,
        execution_fn=execution_fn,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily incremental ingest; links, marts and the snapshot follow when it succeeds.",
    )


def plain_daily_schedule(job: Any, config: ScheduleConfig) -> dg.ScheduleDefinition:
    """At the configured time, one run of an unpartitioned job (the staged git ingest)."""
    return dg.ScheduleDefinition(
        name=f"daily_{job.name}",
        cron_schedule=config.daily,
        execution_timezone=config.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily incremental ingest; links, marts and the snapshot follow when it succeeds.",
    )
