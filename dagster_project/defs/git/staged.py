"""The git asset for fan-out: repositories staged in parallel (one op each), merged into the warehouse by one writer."""

import dagster as dg

from dagster_project.defs.git.assets import RAW_GIT
from dagster_project.defs.policy import STEP_RETRY, WAREHOUSE_POOL
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.runtime import git_sources
from ingestion.durability import DurabilityError, measure_durability
from ingestion.git import GitSourceError, ingest_repository
from ingestion.staging import StagingArea, export_repository, merge_repository, safe_name
from ingestion.warehouse import connect, migrate

# Staging writes only a repository's own files, so any number may run at once.
STAGING_POOL = "sprintproof_staging"


def _area(warehouse: WarehouseResource) -> StagingArea:
    rt = warehouse.runtime()
    return StagingArea(rt.config.ingest.staging_dir or rt.config.workspace / "staging" / "git")


@dg.op(out=dg.DynamicOut(str), description="One output per configured git repository.")
def configured_repositories(warehouse: WarehouseResource):
    for source in git_sources(warehouse.runtime(), []):
        yield dg.DynamicOutput(
            source.repo_name,
            mapping_key=safe_name(source.repo_name).replace(".", "_").replace("-", "_"),
        )


@dg.op(
    pool=STAGING_POOL,
    retry_policy=STEP_RETRY,
    description="Ingest one repository into its staging file, measure its line survival; export it as Parquet.",
)
def stage_repository(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, repo: str
) -> str:
    rt = warehouse.runtime()
    area = _area(warehouse)
    source = next(s for s in git_sources(rt, []) if s.repo_name == repo)
    database = area.database(repo)
    database.parent.mkdir(parents=True, exist_ok=True)
    with connect(database) as con:
        migrate(con)
        try:
            result = ingest_repository(con, source, mirrors_dir=rt.config.mirrors_dir, excludes=rt.excludes(),
                                       rules=rt.rules(), workers=rt.config.ingest.workers, path_hasher=rt.path_hasher())  # fmt: skip
        except GitSourceError as exc:
            raise dg.Failure(str(exc), allow_retries=False) from None
        # Survival is measured here, in parallel, next to the repository's own rows; windows close
        # as days pass, so on every run.
        m = rt.config.metrics
        try:
            survival = measure_durability(con, result.repo, excludes=rt.excludes(), churn_days=m.churn_days,
                                          durability_days=m.durability_days)  # fmt: skip
            measured = survival.measured
        except DurabilityError as exc:
            context.log.warning(f"{repo}: {exc}")
            measured = 0
    counts = export_repository(area, repo)
    context.log.info(
        f"{repo}: {result.status}, +{result.commits_added} commits, {measured} measured for "
        f"durability; staged {counts['commits']} commits"
    )
    return repo


@dg.op(
    pool=WAREHOUSE_POOL,
    description="Replace each staged repository's slice of the warehouse, one writer.",
)
def merge_staged(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, repos: list[str]
) -> dict[str, int]:
    area = _area(warehouse)
    merged: dict[str, int] = {}
    with warehouse.writer() as con:
        for repo in sorted(repos):
            merged[repo] = merge_repository(con, area, repo)
    context.add_output_metadata({"commits": dg.MetadataValue.json(merged)})
    return merged


@dg.graph_asset(
    key=RAW_GIT,
    group_name="ingest",
    kinds={"git", "duckdb", "parquet"},
    description="Commits and attribution of every configured repository, staged in parallel and merged by one writer.",
)
def raw_git_staged() -> dict[str, int]:
    return merge_staged(configured_repositories().map(stage_repository).collect())
