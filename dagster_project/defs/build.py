"""Builds the Definitions from the configuration: which raw assets, partitions, checks, jobs, schedules and sensors exist."""

import os
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_project.config import CONFIG_ENV
from dagster_project.defs.automation.schedules import daily_schedule, plain_daily_schedule
from dagster_project.defs.automation.sensors import notify_run_failure, partitions_sensor
from dagster_project.defs.git.assets import RAW_GIT, raw_git
from dagster_project.defs.git.partitions import GIT_REPOS_NAME
from dagster_project.defs.git.staged import raw_git_staged
from dagster_project.defs.report.assets import BOARD_PACK, board_pack
from dagster_project.defs.report.schedules import board_pack_schedule
from dagster_project.defs.report.sensors import board_pack_sensor
from dagster_project.defs.sources.assets import raw_key, source_asset
from dagster_project.defs.sources.partitions import partitions_name
from dagster_project.defs.sources.resources import secrets_key, source_secrets
from dagster_project.defs.warehouse.assets import derived_assets
from dagster_project.defs.warehouse.checks import mart_checks, source_checks
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.runtime import api_sources, git_sources, settings
from ingestion.connectors import scopes


def desired_partitions(warehouse: WarehouseResource) -> dict[str, list[str]]:
    """Partition keys the configuration asks for, per dynamic partitions definition."""
    rt = warehouse.runtime()
    wanted = (
        {}
        if rt.config.ingest.staged
        else {GIT_REPOS_NAME: [s.repo_name for s in git_sources(rt, [])]}
    )
    for source in api_sources(rt, []):
        wanted[partitions_name(source.source_name)] = scopes(source)
    return wanted


def build_definitions(
    config_path: Path | None = None, *, executor: dg.ExecutorDefinition | None = None
) -> dg.Definitions:
    """The definitions the configuration asks for; `executor` replaces the multiprocess executor
    of the staged git job (e.g. Kubernetes' `k8s_job_executor`, docs/deploy.md)."""
    explicit = config_path or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    rt = settings(explicit)
    warehouse = WarehouseResource(config_path=str(rt.path) if rt.path else None)
    assets: list[dg.AssetsDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    jobs: list[Any] = []  # unresolved asset jobs (a type Dagster does not export)
    schedules: list[dg.ScheduleDefinition] = []
    resources: dict[str, object] = {"warehouse": warehouse}
    raw: list[dg.AssetKey] = []

    gits = git_sources(rt, [])
    if gits:
        raw.append(RAW_GIT)
        checks += source_checks(
            RAW_GIT, "git", "git", lambda w: [s.repo_name for s in git_sources(w.runtime(), [])]
        )
        if rt.config.ingest.staged:
            # Fan-out: repositories staged in parallel processes (pods on Kubernetes), one merge writer.
            assets.append(raw_git_staged)
            fan_out = executor or dg.multiprocess_executor.configured(
                {"max_concurrent": rt.config.ingest.max_concurrent}
            )
            job = dg.define_asset_job("ingest_git", selection=[RAW_GIT], executor_def=fan_out)
            jobs.append(job)
            schedules.append(plain_daily_schedule(job, rt.config.schedule))
        else:
            assets.append(raw_git)
            job = dg.define_asset_job("ingest_git", selection=[RAW_GIT])
            jobs.append(job)
            schedules.append(daily_schedule(job, GIT_REPOS_NAME, rt.config.schedule))
    for source in api_sources(rt, []):
        name = source.source_name
        kind = str(getattr(source, "type", ""))
        assets.append(source_asset(source))
        raw.append(raw_key(name))
        resources[secrets_key(name)] = source_secrets(source)
        # A source runs all its scopes in one step and records one run: freshness is per source.
        checks += source_checks(raw_key(name), kind, name, lambda w, n=name: [n])
        job = dg.define_asset_job(
            f"ingest_{partitions_name(name).removeprefix('scopes_')}", selection=[raw_key(name)]
        )
        jobs.append(job)
        schedules.append(daily_schedule(job, partitions_name(name), rt.config.schedule))
    derived = derived_assets(raw, set(raw))
    assets += derived
    checks += mart_checks()
    jobs.append(dg.define_asset_job("derive", selection=dg.AssetSelection.assets(*derived)))
    # The board pack runs only when asked: at a sprint's end, when a tracker sprint closes, or by hand.
    assets.append(board_pack)
    pack_job = dg.define_asset_job(
        "report",
        selection=[BOARD_PACK],
        description="The board pack of one organisation sprint.",
    )
    jobs.append(pack_job)
    schedules.append(board_pack_schedule(pack_job, rt.config.schedule))
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=schedules,
        sensors=[
            partitions_sensor(desired_partitions),
            notify_run_failure,
            board_pack_sensor(pack_job, rt.config.schedule),
        ],
        resources=resources,
    )
