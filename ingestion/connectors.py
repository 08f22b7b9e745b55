"""The connector registry: which module reads which source type, clients built from settings, one run per source."""

import importlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from ingestion.http import ApiClient, RetryPolicy, SourceError, Throttle
from ingestion.settings import (
    ApiSourceSettings,
    CopilotSettings,
    GitHubSettings,
    GitLabSettings,
    JiraCsvSettings,
    JiraSettings,
    LinearSettings,
)
from ingestion.sim.base import Simulator
from ingestion.sync import SyncContext, SyncResult

# type -> module; each module has `sync(ctx: SyncContext, settings) -> SyncResult`.
CONNECTORS: Mapping[str, str] = {
    "github": "ingestion.github",
    "gitlab": "ingestion.gitlab",
    "jira": "ingestion.jira",
    "linear": "ingestion.linear",
    "copilot": "ingestion.copilot",
    "jira_csv": "ingestion.jira_csv",
}

SourceSettings = ApiSourceSettings | JiraCsvSettings
ALL_SCOPES = "*"  # a Linear source without configured teams reads every team in one scope


class Connector(Protocol):
    def sync(self, ctx: SyncContext, settings: Any) -> SyncResult: ...


def secret(
    ctx: SyncContext, settings: ApiSourceSettings | JiraCsvSettings, key: str, what: str
) -> str:
    """The value of the environment variable a `*_env` key names; a clear error when it is unset."""
    name = getattr(settings, key)
    value = ctx.env.get(name or "") if name else None
    if not value:
        raise SourceError(
            f"{settings.source_name}: {key} names ${name}, which is not set; export it with {what}"
        )
    return value


def secret_unless_replayed(
    ctx: SyncContext, settings: ApiSourceSettings, key: str, what: str
) -> str:
    """`secret`, except that a replayed source (`replay_dir`) may leave the variable unset: ""."""
    name = getattr(settings, key)
    if not name or (settings.replay_dir is not None and not ctx.env.get(name)):
        return ""
    return secret(ctx, settings, key, what)


def make_client(
    ctx: SyncContext,
    settings: ApiSourceSettings,
    *,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    credential_hint: str = "the configured token",
    throttle: Throttle | None = None,
    simulator: Callable[[Path], Simulator] | None = None,
) -> ApiClient:
    """An ApiClient for a source: its retry policy from the settings, the replay simulator if set."""
    transport: httpx.BaseTransport | None = ctx.transport
    if settings.replay_dir is not None:
        if simulator is None:
            raise SourceError(
                f"{settings.source_name}: replay_dir is not supported for this source type"
            )
        folder = Path(settings.replay_dir)
        if not folder.is_dir():
            raise SourceError(
                f"{settings.source_name}: replay_dir {folder} is not a folder of exports"
            )
        transport = simulator(folder).transport()
    policy = RetryPolicy(
        attempts=settings.retries + 1,
        max_wait=settings.max_wait_seconds,
        timeout=settings.timeout_seconds,
    )
    return ApiClient(
        source=settings.source_name,
        base_url=base_url,
        headers=headers,
        secrets=secrets,
        credential_hint=credential_hint,
        throttle=throttle,
        policy=policy,
        transport=transport,
        sleep=ctx.sleep,
    )


def connector(source_type: str) -> Connector:
    try:
        module_name = CONNECTORS[source_type]
    except KeyError:
        raise SourceError(f"no connector for source type {source_type!r}") from None
    return importlib.import_module(module_name)  # type: ignore[return-value]


def run_source(ctx: SyncContext, settings: SourceSettings) -> SyncResult:
    """Run one source with its `ingest_runs` record; a failure is recorded, then raised."""
    started = time.monotonic()
    source_type = str(getattr(settings, "type", ""))
    ctx.run_id = str(uuid.uuid4())
    ctx.start_run(source_type, settings.source_name)
    try:
        result = connector(source_type).sync(ctx, settings)
    except BaseException as exc:
        message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        ctx.flush_fields()
        ctx.finish_run(None, error=message)
        raise
    result.seconds = time.monotonic() - started
    ctx.flush_fields()
    ctx.finish_run(result)
    return result


def scopes(settings: SourceSettings) -> list[str]:
    """The independent scopes of a source (one Dagster partition each): repositories, projects, boards, teams."""
    kind = getattr(settings, "type", "")
    if isinstance(settings, GitHubSettings | GitLabSettings):
        return [repo.name for repo in settings.repos]
    if isinstance(settings, JiraSettings):
        return [*settings.projects, *(f"board:{board}" for board in settings.boards)]
    if isinstance(settings, LinearSettings):
        return list(settings.teams) or [ALL_SCOPES]
    if isinstance(settings, CopilotSettings):
        return [settings.org]
    if kind == "jira_csv":
        return ["file"]
    raise SourceError(f"{settings.source_name}: no scopes for source type {kind!r}")


def narrow(settings: SourceSettings, scope: str) -> SourceSettings:
    """The same source restricted to one of its scopes."""
    if scope not in scopes(settings):
        raise SourceError(
            f"{settings.source_name}: {scope!r} is not one of its scopes ({', '.join(scopes(settings))})"
        )
    if isinstance(settings, GitHubSettings | GitLabSettings):
        return settings.model_copy(update={"repos": [r for r in settings.repos if r.name == scope]})
    if isinstance(settings, JiraSettings):
        if scope.startswith("board:"):
            return settings.model_copy(
                update={"projects": [], "boards": [int(scope.removeprefix("board:"))]}
            )
        return settings.model_copy(update={"projects": [scope], "boards": []})
    if isinstance(settings, LinearSettings) and scope != ALL_SCOPES:
        return settings.model_copy(update={"teams": [scope]})
    return settings
