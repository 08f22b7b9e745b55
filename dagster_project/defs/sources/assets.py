"""One raw asset per configured API or file source (GitHub, GitLab, Jira, Linear, Copilot, Jira CSV), partitioned by scope."""

import dagster as dg

from dagster_project.defs.policy import STEP_RETRY, WAREHOUSE_POOL
from dagster_project.defs.sources.partitions import source_partitions
from dagster_project.defs.sources.resources import secrets_key
from dagster_project.defs.warehouse.resources import SourceSecrets, WarehouseResource
from ingestion.connectors import SourceSettings, narrow, run_source, scopes
from ingestion.http import SourceError, SourceUnavailableError
from ingestion.sync import SyncContext


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def source_asset(settings: SourceSettings) -> dg.AssetsDefinition:
    """The asset of one source; its body calls the connector once per scope in the run."""
    name = settings.source_name
    kind = str(getattr(settings, "type", "source"))
    secrets = secrets_key(name)

    @dg.asset(
        key=raw_key(name),
        partitions_def=source_partitions(name),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        retry_policy=STEP_RETRY,
        group_name="ingest",
        kinds={kind, "duckdb"},
        required_resource_keys={"warehouse", secrets},
        description=f"{kind} source {name!r}: incremental, checkpointed per page.",
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse: WarehouseResource = context.resources.warehouse
        env: SourceSecrets = getattr(context.resources, secrets)
        rt = warehouse.runtime()
        current = next(
            (s for s in rt.config.sources if getattr(s, "source_name", None) == name), None
        )
        if current is None:
            raise dg.Failure(f"source {name!r} is no longer in {rt.path}; reload the definitions")
        known = scopes(current)  # type: ignore[arg-type]
        wanted = (
            context.partition_keys
            if context.has_partition_key_range or context.has_partition_key
            else known
        )
        rows: dict[str, int] = {}
        requests = 0
        warnings: list[str] = []
        with warehouse.writer() as con:
            git_repos = dict(con.execute("SELECT repo, default_branch FROM repos").fetchall())
            for scope in wanted:
                if scope not in known:
                    raise dg.Failure(
                        f"{name}: scope {scope!r} is no longer configured; the partitions are out of date"
                    )
                ctx = SyncContext(con=con, env=env.env(), rules=rt.rules().load(), git_repos=git_repos,
                                  warn=context.log.warning)  # fmt: skip
                try:
                    result = run_source(ctx, narrow(current, scope))  # type: ignore[arg-type]
                except SourceUnavailableError as exc:
                    raise dg.Failure(str(exc)) from None  # the service may be back for the retry
                except SourceError as exc:
                    # Credentials, permissions, unknown projects: a person has to act; retrying will not help.
                    raise dg.Failure(str(exc), allow_retries=False) from None
                rows[scope] = result.rows_written
                requests += result.requests
                warnings += result.warnings
                context.log.info(
                    f"{name} {scope}: {result.rows_written} rows, {result.requests} requests"
                )
        return dg.MaterializeResult(
            metadata={
                "rows_written": sum(rows.values()),
                "by_scope": dg.MetadataValue.json(rows),
                "requests": requests,
                "warnings": dg.MetadataValue.json(warnings),
            }
        )

    return _asset
