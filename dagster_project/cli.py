"""The `sprintproof` command line: init, ingest, attribute, attribution, status, metrics, demo, migrate."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
import yaml
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dagster_project.config import (
    CONFIG_NAME,
    ConfigError,
    demo_workspace,
    metrics_settings,
)
from dagster_project.runtime import Settings, UserError, api_sources, git_sources, settings
from ingestion import __version__
from ingestion.attribution import RuleError
from ingestion.connectors import SourceSettings, run_source
from ingestion.durability import DurabilityError, measure_durability
from ingestion.excludes import ExcludeError, Excludes
from ingestion.git import (
    GitSource,
    GitSourceError,
    IngestResult,
    finish_run,
    ingest_repository,
    open_source,
    reattribute,
    start_run,
)
from ingestion.http import SourceError
from ingestion.linking import link, reattribute_prs
from ingestion.range_attribution import RangeError, RangeResult, attribute_range
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import WarehouseError, connect, migrate, require_current

app = typer.Typer(
    name="sprintproof",
    help="SprintProof: audited, sprint-by-sprint numbers on how much of the engineering work AI produces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Without a terminal (pipes, CI logs) Rich would assume 80 columns and truncate tables.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

USER_ERRORS = (
    ConfigError,
    WarehouseError,
    GitSourceError,
    RuleError,
    ExcludeError,
    SourceError,
    RangeError,
)
ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="Configuration file (default: $SPRINTPROOF_CONFIG, ./sprintproof.yaml, then the demo workspace).", dir_okay=False)]  # fmt: skip


def _error(message: str) -> None:
    """One line on stderr, however long: scripts and log readers match on it."""
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)


def _warn(message: str) -> None:
    err.print(Text.assemble(("warning:", "yellow"), " ", message), highlight=False, soft_wrap=True)


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)  # fmt: skip
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total or None)
        bar.update(tasks[phase], completed=done, total=total or None)

    with bar:
        yield update


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the configuration.")] = Path(
        CONFIG_NAME
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented sprintproof.yaml to start from."""
    if path.exists() and not force:
        raise UserError(f"{path}: already exists; pass --force to overwrite it")
    template = Path(__file__).parent / "templates" / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    out.print(f"Wrote {path}. Edit its sources, then run `sprintproof ingest`.")


@app.command("migrate")
def migrate_cmd(
    config: ConfigOption = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file.")] = None,
) -> None:
    """Apply pending warehouse migrations."""
    path = warehouse or settings(config).warehouse
    with connect(path) as con:
        applied = migrate(con)
    out.print(
        f"{path}: "
        + (f"applied migrations {', '.join(map(str, applied))}" if applied else "schema is current")
    )


@app.command()
def ingest(
    config: ConfigOption = None,
    repo: Annotated[
        list[str] | None,
        typer.Option(
            "--repo", help="A repository path or URL (repeatable); replaces the configured sources."
        ),
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="Warehouse file (default: from the configuration).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Processes for line counting.")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source", help="Only this configured source (repeatable; git sources by name too)."
        ),
    ] = None,
    durability: Annotated[
        bool,
        typer.Option(help="Measure line survival of commits whose durability window has closed."),
    ] = True,
) -> None:
    """Bring the warehouse up to date with every configured source (incremental)."""
    s = settings(config)
    only = source or []
    gits = git_sources(s, repo or [])
    apis = [] if repo else api_sources(s, [n for n in only if n not in {g.repo_name for g in gits}])
    if only and not repo:
        gits = [g for g in gits if g.repo_name in only]
    if not gits and not apis:
        raise UserError(
            "nothing to ingest: the configuration has no sources; add one or pass --repo PATH_OR_URL"
        )
    path = warehouse or s.warehouse
    results = run_ingest(s, gits, path, workers) if gits else []
    api_results = run_api_ingest(s, apis, path) if apis else []
    run_linking(path)
    if durability:
        run_durability(s, [r.repo for r in results if isinstance(r, IngestResult)], path)
    failed = [r for r in [*results, *api_results] if isinstance(r, str)]
    if failed:
        raise typer.Exit(2)


def run_durability(s: Settings, repos: list[str], path: Path) -> None:
    """Measure the line survival of commits whose windows closed since the last run (incremental)."""
    m = s.config.metrics
    excludes = s.excludes()
    with connect(path) as con:
        migrate(con)
        for name in repos:
            try:
                with _progress() as progress:
                    result = measure_durability(con, name, excludes=excludes, churn_days=m.churn_days,
                                                durability_days=m.durability_days, progress=progress)  # fmt: skip
            except DurabilityError as exc:
                _warn(str(exc))
                continue
            if result.status == "ok":
                out.print(
                    f"{name}: line survival of {result.measured} commits measured ({result.replayed} replayed) "
                    f"in {result.seconds:.1f}s; {result.waiting} wait for their {m.durability_days}-day window",
                    highlight=False,
                )
            for warning in result.warnings:
                _warn(f"{name}: {warning}")


def run_linking(path: Path) -> None:
    """Join what the sources stored: commits to PRs, tickets to PRs and commits, inherited attribution."""
    with connect(path) as con:
        migrate(con)
        linked = link(con)
    if linked.commit_prs or linked.ticket_links:
        out.print(
            f"links: {linked.commit_prs} commit-PR, {linked.ticket_links} ticket links; "
            f"{linked.inherited} merge commits inherit their PR's AI attribution",
            highlight=False,
        )


def run_api_ingest(
    s: Settings, sources: list[SourceSettings], path: Path
) -> list[SyncResult | str]:
    """Run the API and file sources one after the other; a failed source does not stop the others."""
    results: list[SyncResult | str] = []
    rules = s.rules().load()
    with connect(path) as con:
        migrate(con)
        git_repos = dict(con.execute("SELECT repo, default_branch FROM repos").fetchall())
        for src in sources:
            ctx = SyncContext(
                con=con,
                rules=rules,
                git_repos=git_repos,
                warn=lambda m, n=src.source_name: _warn(f"{n}: {m}"),
            )
            try:
                with _progress() as progress:
                    ctx.progress = progress
                    result = run_source(ctx, src)
            except SourceError as exc:
                _error(" ".join(str(exc).split()))
                results.append(str(exc))
                continue
            results.append(result)
            out.print(
                f"{result.source}: {result.rows_written} rows written, {result.requests} requests in {result.seconds:.1f}s",
                highlight=False,
            )
            for warning in result.warnings:
                _warn(f"{result.source}: {warning}")
    return results


def run_ingest(
    s: Settings, sources: list[GitSource], path: Path, workers: int | None
) -> list[IngestResult | str]:
    excludes, rules, hasher = s.excludes(), s.rules(), s.path_hasher()
    results: list[IngestResult | str] = []
    with connect(path) as con:
        migrate(con)
        for source in sources:
            try:
                with _progress() as progress:
                    result = ingest_repository(con, source, mirrors_dir=s.config.mirrors_dir, excludes=excludes, rules=rules,
                                               workers=workers or s.config.ingest.workers, path_hasher=hasher,
                                               progress=progress)  # fmt: skip
            except GitSourceError as exc:
                _error(str(exc))
                results.append(str(exc))
                continue
            results.append(result)
            verb = "unchanged" if result.status == "noop" else f"+{result.commits_added} commits"
            out.print(
                f"{result.repo}: {verb} ({result.commits_total} stored) in {result.seconds:.1f}s",
                highlight=False,
            )
            for warning in result.warnings:
                _warn(f"{result.repo}: {warning}")
    return results


@app.command()
def attribute(
    config: ConfigOption = None,
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", help="Only these repositories (names as in status)."),
    ] = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file.")] = None,
) -> None:
    """Re-apply the attribution rules (catalogue + configuration) to every stored commit."""
    s = settings(config)
    ruleset = s.rules().load()
    path = warehouse or s.warehouse
    with connect(path) as con:
        require_current(con, path)
        stored = con.execute("SELECT repo, local_path FROM repos ORDER BY repo").fetchall()
        names = {name for name, _ in stored}
        unknown = sorted(set(repo or []) - names)
        if unknown:
            raise UserError(
                f"{path}: no repository named {', '.join(unknown)}; known: {', '.join(sorted(names)) or 'none'}"
            )
        for name, local_path in stored:
            if repo and name not in repo:
                continue
            try:
                git_repo = open_source(GitSource(location=local_path), s.config.mirrors_dir)
            except GitSourceError:
                git_repo = None
                _warn(f"{name}: {local_path} is gone; re-attributing from stored subjects and trailers only "
                      "(body markers cannot be re-read)")  # fmt: skip
            run_id = str(uuid.uuid4())
            start_run(con, run_id, "attribution", name, ruleset.version)
            with _progress() as progress:
                changed = reattribute(con, name, git_repo, ruleset, run_id, progress=progress)
            finish_run(
                con,
                run_id,
                "ok",
                result=IngestResult(repo=name, run_id=run_id, status="ok", commits_updated=changed),
            )
            out.print(
                f"{name}: rules {ruleset.version}; {changed} commits changed attribution",
                highlight=False,
            )
        if not repo:
            changed_prs = reattribute_prs(con, ruleset)
            linked = link(con)
            out.print(
                f"pull requests: {changed_prs} changed attribution; {linked.inherited} merge commits inherit their PR's",
                highlight=False,
            )


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("attribution")
def attribution_cmd(
    repo: Annotated[Path, typer.Option("--repo", help="Local git repository (bare or not).", file_okay=False)],
    from_ref: Annotated[str, typer.Option("--from", help="Start of the range, excluded (a tag, branch or commit).")],
    to_ref: Annotated[str, typer.Option("--to", help="End of the range, included: the lines counted are those at this commit.")] = "HEAD",
    include: Annotated[list[str] | None, typer.Option("--include", help="Only paths matching this glob (.gitignore syntax; an exact path is a pattern too; repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Leave out paths matching this glob, besides the configured excludes (repeatable; '!GLOB' re-includes).")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, or one JSON object.")] = OutputFormat.table,
    config: ConfigOption = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse whose stored attribution is used (default: from the configuration, when it exists).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Files listed in the table (JSON lists all).")] = 20,
    copies: Annotated[bool, typer.Option(help="Look for code copied into new files from any file of the parent commit (git blame -C -C).")] = True,
) -> None:  # fmt: skip
    """Lines at TO that commits in FROM..TO added, attributed to AI tools and to humans (moved and copied code is not new)."""
    s = settings(config)
    _check_globs("--include", include or [])
    _check_globs("--exclude", exclude or [])
    e = s.config.excludes
    excludes = Excludes.build([*e.paths, *(exclude or [])], use_defaults=e.use_defaults)
    with _progress() as progress:
        result = attribute_range(repo.expanduser(), from_ref, to_ref, rules=s.rules().load(), excludes=excludes,
                                 include=include or [], warehouse=warehouse or s.warehouse, copies=copies,
                                 progress=progress)  # fmt: skip
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        return
    _print_range(result, limit)


def _check_globs(option: str, patterns: list[str]) -> None:
    """A bad pattern fails before any work, named by the option that gave it."""
    for pattern in patterns:
        try:
            Excludes.build([pattern], use_defaults=False)
        except ExcludeError:
            raise UserError(
                f"{option} {pattern!r}: not a valid .gitignore-style glob (empty, a comment, or an unclosed '[')"
            ) from None


def _print_range(r: RangeResult, limit: int) -> None:
    out.print(
        f"[bold]{r.repo}[/bold] {r.from_ref} ({r.from_sha[:10]})..{r.to_ref} ({r.to_sha[:10]}): {r.commits} commits",
        highlight=False,
    )
    bots = f"; bots {r.bot_lines:,} (not counted)" if r.bot_lines else ""
    out.print(
        f"Lines at {r.to_ref} added in the range: {r.total_lines:,} — AI {r.ai_lines:,} ({_pct(r.ai_lines, r.total_lines)}), "
        f"human {r.human_lines:,}{bots}. Moved and copied code keeps its original commit.",
        highlight=False,
    )
    if r.by_tool:
        tools = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for title, justify in (("tool", "left"), ("lines", "right"), ("share of lines", "right")):
            tools.add_column(title, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for tool, n in r.by_tool.most_common():
            tools.add_row(tool, f"{n:,}", _pct(n, r.total_lines))
        out.print(tools)
    ranked = sorted((f for f in r.files if f.lines), key=lambda f: (-f.lines, f.path))
    if ranked:
        files = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for title, justify in (
            ("file", "left"),
            ("lines", "right"),
            ("AI", "right"),
            ("AI share", "right"),
            ("tools", "left"),
        ):
            files.add_column(title, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for f in ranked[:limit]:
            files.add_row(f.path, f"{f.lines:,}", f"{f.ai_lines:,}", _pct(f.ai_lines, f.lines),
                          ", ".join(t for t, _ in f.by_tool.most_common()))  # fmt: skip
        out.print(files)
        if len(ranked) > limit:
            out.print(
                f"… and {len(ranked) - limit} more files (--limit, or --format json for all)."
            )
    sources = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(r.attributed_by.items()))
    out.print(
        f"Attribution: {sources}. Detection is a floor: unmarked AI use is invisible.",
        highlight=False,
    )


STATUS_SQL = """
WITH c AS (
    SELECT repo, is_merge, in_default_history, on_default_branch, is_reachable, ai_mode, ai_tool,
           additions - coalesce(excluded_additions, 0) AS lines
    FROM commits
)
SELECT r.repo,
       count(c.repo) AS commits,
       count(c.repo) FILTER (WHERE c.on_default_branch) AS default_branch_commits,
       count(c.repo) FILTER (WHERE NOT c.is_reachable) AS unreachable,
       count(c.repo) FILTER (WHERE c.in_default_history AND NOT c.is_merge AND coalesce(c.ai_mode, '') <> 'bot') AS work_commits,
       count(c.repo) FILTER (WHERE c.in_default_history AND NOT c.is_merge AND c.ai_mode IN ('agent', 'assisted')) AS ai_commits,
       count(c.repo) FILTER (WHERE c.in_default_history AND NOT c.is_merge AND c.ai_mode = 'agent') AS agent_commits,
       coalesce(sum(c.lines) FILTER (WHERE c.in_default_history AND NOT c.is_merge AND coalesce(c.ai_mode, '') <> 'bot'), 0) AS lines,
       coalesce(sum(c.lines) FILTER (WHERE c.in_default_history AND NOT c.is_merge AND c.ai_mode IN ('agent', 'assisted')), 0) AS ai_lines,
       (SELECT max(finished_at) FROM ingest_runs i WHERE i.scope = r.repo AND i.kind = 'git') AS last_run,
       (SELECT status FROM ingest_runs i WHERE i.scope = r.repo AND i.kind = 'git' ORDER BY started_at DESC LIMIT 1) AS last_status
FROM repos r LEFT JOIN c ON c.repo = r.repo
GROUP BY r.repo ORDER BY r.repo
"""


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


@app.command()
def status(
    config: ConfigOption = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file.")] = None,
) -> None:
    """What the warehouse holds: repositories, commits, last runs and the detected AI share so far."""
    s = settings(config)
    path = warehouse or s.warehouse
    with connect(path, read_only=True) as con:
        require_current(con, path)
        rows = con.sql(STATUS_SQL).fetchall()
        tools = con.sql(
            "SELECT ai_tool, count(*) FROM commits WHERE in_default_history AND NOT is_merge "
            "AND ai_mode IN ('agent', 'assisted') GROUP BY ai_tool ORDER BY count(*) DESC, ai_tool"
        ).fetchall()
    source = f" ({s.path})" if s.path else ""
    out.print(f"[bold]{s.config.organisation}[/bold] — warehouse {path}{source}", highlight=False)
    if not rows:
        out.print(
            "No repositories yet: run `sprintproof ingest --repo PATH` or `sprintproof demo`."
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("repository", no_wrap=True)
    for title in ("commits", "first-parent", "AI commits", "agent", "AI lines"):
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column("last run (UTC)", no_wrap=True)
    for (
        repo,
        commits,
        default,
        unreachable,
        work,
        ai,
        agent,
        lines,
        ai_lines,
        last_run,
        last_status,
    ) in rows:
        when = f"{last_run:%m-%d %H:%M} {last_status}" if last_run else "never"
        note = f" ({unreachable} rewritten)" if unreachable else ""
        table.add_row(
            repo,
            f"{commits}{note}",
            str(default),
            _pct(ai, work),
            _pct(agent, work),
            _pct(ai_lines, lines),
            when,
        )
    out.print(table)
    all_work = sum(r[4] for r in rows)
    all_ai = sum(r[5] for r in rows)
    all_lines = sum(r[7] for r in rows)
    all_ai_lines = sum(r[8] for r in rows)
    out.print(
        f"Detected AI share so far: {_pct(all_ai, all_work)} of commits, {_pct(all_ai_lines, all_lines)} of added lines "
        "(default-branch history, bots, merges and excluded paths left out; detection is a floor: unmarked AI use is invisible)."
    )
    if tools:
        out.print("By tool: " + ", ".join(f"{tool} {n}" for tool, n in tools))


def _today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--today {value!r}: expected a date as YYYY-MM-DD") from None


@app.command("metrics")
def metrics_cmd(
    config: ConfigOption = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file.")] = None,
    today: Annotated[
        str | None, typer.Option(help="Compute as of this day (YYYY-MM-DD; default: today).")
    ] = None,
    latest: Annotated[
        bool, typer.Option(help="Only the newest sprint of each team (a full recompute otherwise).")
    ] = False,
) -> None:
    """Recompute every mart (sprint calendar, identities, facts, sprint metrics, board summary)."""
    from metrics.marts import recompute

    s = settings(config)
    path = warehouse or s.warehouse
    with connect(path) as con:
        require_current(con, path)
        marts = recompute(con, metrics_settings(s.config, today=_today(today)), latest=latest)
    total = sum(marts.seconds.values())
    metrics_rows = marts.tables["sprint_metrics"]
    ok = metrics_rows.filter(metrics_rows["status"] == "ok").height
    sprints = (
        f"{marts.tables['mart_calendar'].height} team sprints"
        if marts.scope is None
        else f"the newest sprint of {marts.scope.sprints.height - 1} teams and the organisation"
    )
    out.print(
        f"{path}: {metrics_rows.height} metric rows ({ok} ok) for {sprints} in {total:.1f}s",
        highlight=False,
    )
    for warning in marts.warnings:
        _warn(warning)
    unmatched = marts.tables["mart_unmatched_identities"]
    if unmatched.height:
        _warn(
            f"{unmatched.height} identities belong to no configured person; `sprintproof identities` lists them"
        )


@app.command()
def identities(
    config: ConfigOption = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
) -> None:
    """List identities that belong to no configured person, with suggested matches to review."""
    from metrics.marts import _observed, load_inputs
    from metrics.people import resolve

    s = settings(config)
    path = warehouse or s.warehouse
    with connect(path, read_only=True) as con:
        require_current(con, path)
        inputs = load_inputs(con)
        observed, links = _observed(inputs)
        bots = inputs.evidence_authors.collect().get_column("identity").drop_nulls().to_list()
    resolution = resolve(metrics_settings(s.config), observed, links, bots)
    unmatched = resolution.unmatched
    for conflict in resolution.conflicts:
        _warn(f"identity conflict: {conflict}")
    if unmatched.is_empty():
        out.print(
            "Every identity in the warehouse belongs to a configured person (bots and agents left out)."
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for title in ("identity", "kind", "seen", "suggested person"):
        table.add_column(title, no_wrap=True)
    for ident, kind, seen, suggestion in unmatched.head(limit).iter_rows():
        table.add_row(ident, kind, str(seen), suggestion or "")
    out.print(table)
    out.print(
        f"{unmatched.height} unmatched. To accept a suggestion, add the identity to that person's ids under "
        "`people:` in the configuration (or to a team's members)."
    )


@app.command("report")
def report_cmd(
    config: ConfigOption = None,
    sprint: Annotated[
        str | None,
        typer.Option(
            "--sprint",
            help="Organisation sprint id, as in mart_calendar (default: the last closed one).",
        ),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="PDF to write (default: <workspace>/reports/board-pack-<sprint>.pdf).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Build the board pack PDF of one organisation sprint: summary, numbers, trends, teams, methodology, data health."""
    from dagster_project.runtime import board_pack_path, board_pack_settings, report_source
    from dashboards.report import BoardPackError, build_board_pack, require_ready, resolve_sprint

    s = settings(config)
    started = time.perf_counter()
    try:
        path = require_ready(report_source(s))
        chosen = resolve_sprint(path, sprint)
        target = out_file or board_pack_path(s, chosen.sprint_id)
        built = build_board_pack(
            path, sprint_id=chosen.sprint_id, out=target, settings=board_pack_settings(s)
        )
    except BoardPackError as exc:
        raise UserError(str(exc)) from None
    state = "" if chosen.closed else ", still running"
    out.print(
        f"Board pack of {chosen.name} ({chosen.sprint_id}{state}): {built} "
        f"in {time.perf_counter() - started:.1f}s",
        highlight=False,
        soft_wrap=True,
    )


@app.command("run")
def run_cmd(config: ConfigOption = None) -> None:
    """Materialise everything once, in process: every source, links, marts, snapshot (the graph the schedule runs)."""
    from dagster_project.runner import run_all

    s = settings(config, required=True)
    started: dict[str, float] = {}

    def step(state: str, label: str) -> None:
        if state == "start":
            started[label] = time.perf_counter()
            err.print(f"… {label}", highlight=False)
        else:
            mark = "[green]done[/green]" if state == "done" else "[red]failed[/red]"
            out.print(
                f"{label}: {mark} in {time.perf_counter() - started[label]:.1f}s", highlight=False
            )

    report = run_all(s, on_step=step)
    for name, seconds in sorted(report.steps.items(), key=lambda kv: -kv[1]):
        out.print(f"  {name:<40} {seconds:6.1f}s", highlight=False)
    passed_checks = sum(report.checks.values())
    out.print(f"checks: {passed_checks} of {len(report.checks)} passed", highlight=False)
    failed_checks = sorted(name for name, passed in report.checks.items() if not passed)
    for name in failed_checks:
        found = " ".join(report.check_notes.get(name, "").split())
        _warn(f"check {name} did not pass" + (f": {found}" if found else ""))
    if report.failed:
        for message in report.errors[:-1]:
            _error(" ".join(message.split()))
        last = report.errors[-1] if report.errors else f"{', '.join(report.failed)} failed"
        raise UserError(f"{last} (`sprintproof dagster` shows the runs and their logs)")


@app.command("dagster")
def dagster_cmd(
    config: ConfigOption = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the Dagster UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start the Dagster UI and daemon (schedules, sensors) for this configuration, with a persistent instance."""
    from dagster_project.runner import instance_for

    s = settings(config, required=True)
    instance_for(s)  # writes the instance settings (serialised writers, no telemetry)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(s.config.dagster_home),
        "SPRINTPROOF_CONFIG": str(s.path),
    }
    command = [str(Path(sys.executable).with_name("dagster")), "dev", "-m", "dagster_project.definitions",
               "-h", host, "-p", str(port)]  # fmt: skip
    out.print(
        f"Dagster UI on http://{host}:{port} (instance in {s.config.dagster_home}); Ctrl-C stops it."
    )
    try:
        completed = subprocess.run(command, env=env, check=False)
    except KeyboardInterrupt:
        return
    if completed.returncode not in (0, 130, -2):
        raise typer.Exit(completed.returncode)


def dashboard_settings(s: Settings) -> Path:
    """Write the settings the dashboard reads (it never imports the orchestration's configuration)."""
    c = s.config
    folder = c.workspace / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.json"
    payload = {
        "organisation": c.organisation,
        "warehouse": str(c.warehouse_path),
        "snapshot": str(c.snapshot_path),
        "privacy": {
            "min_group_size": c.privacy.min_group_size,
            "per_person_views": c.privacy.per_person_views,
        },
        "auth": {"enabled": c.dashboard.auth.enabled, "roles": c.dashboard.auth.roles},
    }
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


@app.command()
def dashboard(
    config: ConfigOption = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: dashboard.port, 8501).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Interface (default: dashboard.host, 127.0.0.1).")
    ] = None,
) -> None:
    """Start the dashboard on the published snapshot (or the warehouse) of this configuration."""
    s = settings(config, required=True)
    if not s.config.snapshot_path.exists() and not s.warehouse.exists():
        raise UserError(
            f"{s.warehouse}: no warehouse yet; run `sprintproof run` (or `sprintproof demo`) first"
        )
    settings_path = dashboard_settings(s)
    app_file = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
    bind_host = host or s.config.dashboard.host
    bind_port = port or s.config.dashboard.port
    env = {
        **os.environ,
        "SPRINTPROOF_WAREHOUSE": str(s.warehouse),
        "SPRINTPROOF_SNAPSHOT": str(s.config.snapshot_path),
        "SPRINTPROOF_DASHBOARD_SETTINGS": str(settings_path),
    }
    command = [sys.executable, "-m", "streamlit", "run", str(app_file), "--server.address", bind_host,
               "--server.port", str(bind_port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               # The app writes everything through st calls; without magic, pages compile from source.
               "--runner.magicEnabled", "false",
               # A viewer's toolbar: no "Deploy" button or developer options on a board-facing app.
               "--client.toolbarMode", "viewer"]  # fmt: skip
    out.print(
        f"Dashboard on http://{bind_host}:{bind_port} ({s.config.organisation}); Ctrl-C stops it."
    )
    try:
        completed = subprocess.run(command, env=env, cwd=settings_path.parent, check=False)
    except KeyboardInterrupt:
        return
    if completed.returncode not in (0, 130, -2):
        raise typer.Exit(completed.returncode)


@app.command()
def demo(
    workspace: Annotated[
        Path | None, typer.Option(help="Where to build it (default: $SPRINTPROOF_HOME/demo).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same organisation.")
    ] = 7,
    end: Annotated[
        str, typer.Option(help="Last day of the generated history (YYYY-MM-DD).")
    ] = "2026-11-20",
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Processes for line counting.")
    ] = None,
) -> None:
    """Build a realistic synthetic organisation, ingest it, and print a summary."""
    from ingestion.demo import build_demo

    root = (workspace or demo_workspace()).expanduser().resolve()
    try:
        last_day = date.fromisoformat(end)
    except ValueError:
        raise UserError(f"--end {end!r}: expected a date as YYYY-MM-DD") from None
    if root.exists() and any(root.iterdir()) and not (root / "data" / ".sprintproof-demo").exists():
        raise UserError(
            f"{root}: exists and is not a SprintProof demo workspace; choose another --workspace"
        )
    warehouse = root / "workspace" / "warehouse.duckdb"
    for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)  # the demo is rebuilt from scratch, deterministically
    shutil.rmtree(root / "workspace" / "mirrors", ignore_errors=True)
    out.print(f"Building the demo organisation in {root} (seed {seed}) ...")
    manifest = build_demo(root / "data", seed=seed, end=last_day)
    config_path = root / CONFIG_NAME
    write_demo_config(manifest, root, config_path, workers=workers)
    out.print(
        "Running every source, the links, the metrics and the snapshot (the graph the daily schedule runs) ..."
    )
    run_cmd(config=config_path)
    out.print(
        f"Configuration: {config_path}  (every sprintproof command now finds it when no other is given)"
    )
    status(config=config_path)


def write_demo_config(
    manifest: Any, root: Path, config_path: Path, *, workers: int | None = None
) -> None:
    """The demo's configuration: its repositories, GitHub and Jira served from the demo's exports
    through the built-in simulators (`replay_dir`), its teams with their boards, and its people."""
    repos = [p.name.removesuffix(".git") for p in manifest.repos]
    config = {
        "organisation": manifest.organisation,
        "workspace": "workspace",
        "sources": [
            *({"type": "git", "name": p.name.removesuffix(".git"), "path": str(p.relative_to(root))} for p in manifest.repos),
            {"type": "github", "name": "github", "replay_dir": str(manifest.github_dir.relative_to(root)),
             "repos": [f"{manifest.github_org}/{repo}" for repo in repos]},
            {"type": "jira", "name": "jira", "replay_dir": str(manifest.jira_dir.relative_to(root)),
             "projects": [t.project_key for t in manifest.teams]},
        ],
        "people": [
            {"name": p.name, "ids": [*p.emails, p.github_login, p.jira_account_id]} for p in manifest.people
        ],
        "teams": [
            {"name": t.name, "ai_rollout": t.rollout_date.isoformat(), "members": list(t.members), "repos": [t.repo],
             "projects": [t.project_key], "sprints": {"source": "jira", "board": str(t.board_id)}}
            for t in manifest.teams
        ],
        "sprints": {
            "length_days": manifest.sprint_length_days,
            "first_start": manifest.first_sprint_start.isoformat(),
        },
        **({"ingest": {"workers": workers}} if workers else {}),
    }  # fmt: skip
    header = ("# Demo organisation written by `sprintproof demo`; rebuilt on every run.\n"
              "# GitHub and Jira are replayed from the demo's vendor-shaped exports by the built-in simulators\n"
              "# (replay_dir): the real connectors run against them over the same client as for a real site.\n")  # fmt: skip
    config_path.write_text(header + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except (UserError, *USER_ERRORS) as exc:
        _error(" ".join(str(exc).split()))
        sys.exit(2)
    except duckdb.Error as exc:
        _error(f"warehouse: {str(exc).splitlines()[0]}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click's usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["__version__", "app", "main"]
