"""The raw git asset: commits, files, trailers, notes, attribution and line survival of each configured repository."""

import dagster as dg

from dagster_project.defs.git.partitions import GIT_REPOS
from dagster_project.defs.policy import STEP_RETRY, WAREHOUSE_POOL
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.runtime import git_sources
from ingestion.durability import DurabilityError, measure_durability
from ingestion.git import GitSourceError, ingest_repository

RAW_GIT = dg.AssetKey(["raw", "git"])


@dg.asset(
    key=RAW_GIT,
    partitions_def=GIT_REPOS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    retry_policy=STEP_RETRY,
    group_name="ingest",
    kinds={"git", "duckdb"},
    description="Commits, per-file line counts, trailers, git-ai notes and AI attribution, incremental per repository; "
    "then the line survival of commits whose durability window has closed.",
)
def raw_git(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    rt = warehouse.runtime()
    by_name = {s.repo_name: s for s in git_sources(rt, [])}
    wanted = (
        context.partition_keys
        if context.has_partition_key_range or context.has_partition_key
        else list(by_name)
    )
    missing = [key for key in wanted if key not in by_name]
    if missing:
        raise dg.Failure(
            f"no git source named {', '.join(missing)} in {rt.path}; the partitions are out of date"
        )
    added: dict[str, int] = {}
    measured: dict[str, int] = {}
    seconds = 0.0
    warnings: list[str] = []
    with warehouse.writer() as con:
        for key in wanted:
            try:
                result = ingest_repository(con, by_name[key], mirrors_dir=rt.config.mirrors_dir, excludes=rt.excludes(),
                                           rules=rt.rules(), workers=rt.config.ingest.workers, path_hasher=rt.path_hasher())  # fmt: skip
            except GitSourceError as exc:
                # A repository that cannot be read is fixed by a person, not by retrying.
                raise dg.Failure(str(exc), allow_retries=False) from None
            added[key] = result.commits_added
            seconds += result.seconds
            warnings += [f"{key}: {w}" for w in result.warnings]
            context.log.info(
                f"{key}: {result.status}, +{result.commits_added} commits ({result.commits_total} stored)"
            )
            # Windows close as days pass, so survival is measured on every run, even a no-op one.
            m = rt.config.metrics
            try:
                survival = measure_durability(con, result.repo, excludes=rt.excludes(), churn_days=m.churn_days,
                                              durability_days=m.durability_days)  # fmt: skip
            except DurabilityError as exc:
                warnings.append(f"{key}: {exc}")
                continue
            measured[key] = survival.measured
            seconds += survival.seconds
    for warning in warnings:
        context.log.warning(warning)
    return dg.MaterializeResult(
        metadata={
            "commits_added": sum(added.values()),
            "by_repository": dg.MetadataValue.json(added),
            "durability_measured": sum(measured.values()),
            "seconds": round(seconds, 2),
            "warnings": dg.MetadataValue.json(warnings),
        }
    )
