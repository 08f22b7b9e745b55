"""Git ingestion with pygit2: commits, per-file line counts, trailers and AI attribution into the warehouse.

Reads metadata only: blobs are read transiently to count lines; no content, diff text or message
body beyond the subject and the parsed trailers is kept. One walk of the commit graph gives the
new commits and the reachability flags; the new commits are read in contiguous chunks by worker
processes (`ingestion.gitscan`) and written in batches, each in one transaction.
"""

import contextlib
import multiprocessing
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pygit2
from pygit2.enums import SortMode

from ingestion import __version__
from ingestion.attribution import RuleSet, Signals, parse_trailers, split_message
from ingestion.excludes import Excludes
from ingestion.gitscan import (
    EVIDENCE_COLUMNS,
    RulesSpec,
    ScanRows,
    configure_libgit2,
    decode_text,
    init_worker,
    scan_commits,
)
from ingestion.notes import NOTES_REF, parse_notes
from ingestion.warehouse import one, replace_rows, scalar

Progress = Callable[[str, int, int], None]
"""Callback (phase, done, total) for progress bars; total is 0 when unknown."""

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", re.IGNORECASE)
_WORKER_THRESHOLD = 1500  # below this many new commits, forking workers costs more than it saves
_CHUNK = 2000
_BATCH = 10_000  # commits per write transaction


class GitSourceError(Exception):
    """A repository that cannot be read or fetched: the message names it and says what to do."""


@dataclass(frozen=True)
class GitSource:
    """One repository to ingest: a local path (bare or not) or a remote URL mirrored into a cache."""

    location: str
    name: str | None = None
    default_branch: str | None = None
    token_env: str | None = None

    @property
    def is_remote(self) -> bool:
        return bool(_URL.match(self.location))

    @property
    def repo_name(self) -> str:
        if self.name:
            return self.name
        tail = self.location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return tail.removesuffix(".git") or "repo"

    @property
    def public_location(self) -> str:
        return _CREDENTIALS.sub(r"\1", self.location)


@dataclass
class IngestResult:
    repo: str
    run_id: str
    status: str  # ok | noop
    commits_added: int = 0
    files_added: int = 0
    commits_updated: int = 0
    commits_incomplete: int = 0
    commits_total: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- repository access


def open_source(
    source: GitSource, mirrors_dir: Path, *, progress: Progress | None = None
) -> pygit2.Repository:
    """Open a local repository, or mirror a remote one into mirrors_dir and fetch it incrementally."""
    if source.is_remote:
        return _mirror(source, mirrors_dir, progress)
    path = Path(source.location).expanduser()
    if not path.exists():
        raise GitSourceError(
            f"{source.location}: no such path; give a local git repository or a remote URL"
        )
    # No search upwards: a folder inside some other repository must not ingest that repository.
    try:
        return pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        raise GitSourceError(
            f"{source.location}: not a git repository (neither a work tree with .git nor a bare repository)"
        ) from exc


_MIRROR_REFSPECS = [
    "+refs/heads/*:refs/heads/*",
    "+refs/tags/*:refs/tags/*",
    f"+{NOTES_REF}:{NOTES_REF}",
]


def _mirror(source: GitSource, mirrors_dir: Path, progress: Progress | None) -> pygit2.Repository:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", source.public_location.split("://", 1)[-1]).strip("_")
    target = mirrors_dir / f"{safe}.git"
    callbacks = _callbacks(source, progress)
    if target.exists():
        repo = pygit2.Repository(str(target))
        remote = repo.remotes["origin"]
    else:
        mirrors_dir.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(str(target), bare=True)
        remote = repo.remotes.create("origin", source.location, "+refs/heads/*:refs/heads/*")
    try:
        remote.fetch(_MIRROR_REFSPECS, callbacks=callbacks, prune=pygit2.enums.FetchPrune.PRUNE)
    except pygit2.GitError as exc:
        if "notes" not in str(exc):
            raise GitSourceError(
                f"{source.public_location}: fetch failed: {exc}. Check the URL, the network and, for a "
                f"private repository, the token in ${source.token_env or 'the source token_env'}"
            ) from exc
        # A remote without refs/notes/ai is normal; fetch the branches and tags alone.
        remote.fetch(_MIRROR_REFSPECS[:2], callbacks=callbacks, prune=pygit2.enums.FetchPrune.PRUNE)
    with contextlib.suppress(pygit2.GitError, KeyError):
        for head in remote.list_heads(callbacks=callbacks):
            target = getattr(head, "symref_target", None)
            if getattr(head, "name", None) == "HEAD" and isinstance(target, str) and target:
                repo.set_head(target)
    return repo


def _callbacks(source: GitSource, progress: Progress | None) -> pygit2.RemoteCallbacks:
    token = os.environ.get(source.token_env) if source.token_env else None
    if source.token_env and not token:
        raise GitSourceError(
            f"{source.public_location}: environment variable {source.token_env} is not set"
        )

    class _Callbacks(pygit2.RemoteCallbacks):
        def credentials(self, url: str, username_from_url: str | None, allowed_types: Any) -> Any:
            if token:
                return pygit2.UserPass(username_from_url or "x-access-token", token)
            raise GitSourceError(
                f"{source.public_location}: the remote asks for credentials; set token_env"
            )

        def transfer_progress(self, stats: Any) -> None:
            if progress:
                progress("fetch", stats.received_objects, stats.total_objects)

    return _Callbacks()


def read_refs(repo: pygit2.Repository) -> dict[str, str]:
    """Branches, remote-tracking branches and tags peeled to commits, plus the git-ai notes ref."""
    refs: dict[str, str] = {}
    for name in repo.references:
        if name.endswith("/HEAD") or not name.startswith(
            ("refs/heads/", "refs/remotes/", "refs/tags/", NOTES_REF)
        ):
            continue
        if name.startswith("refs/notes/") and name != NOTES_REF:
            continue
        try:
            target = repo.references[name].peel(pygit2.Commit)
        except (pygit2.GitError, KeyError, ValueError, pygit2.InvalidSpecError):
            continue  # a tag on a blob or tree, or a dangling ref
        refs[name] = str(target.id)
    return refs


def resolve_default_branch(
    repo: pygit2.Repository, refs: Mapping[str, str], configured: str | None
) -> str | None:
    """The ref whose first-parent chain is 'the default branch'."""
    if configured:
        for candidate in (
            configured,
            f"refs/heads/{configured}",
            f"refs/remotes/origin/{configured}",
        ):
            if candidate in refs:
                return candidate
        raise GitSourceError(
            f"default branch {configured!r} not found; branches: {', '.join(_branches(refs))}"
        )
    with contextlib.suppress(KeyError, pygit2.GitError):
        target = repo.references["refs/remotes/origin/HEAD"].target
        if isinstance(target, str) and target in refs:
            return target
    if not repo.head_is_unborn:
        with contextlib.suppress(pygit2.GitError):
            name = repo.head.name
            if name in refs:
                return name
    for candidate in ("main", "master", "trunk", "develop"):
        for prefix in ("refs/heads/", "refs/remotes/origin/"):
            if prefix + candidate in refs:
                return prefix + candidate
    branches = _branches(refs)
    return branches[0] if branches else None


def _branches(refs: Mapping[str, str]) -> list[str]:
    return sorted(r for r in refs if r.startswith(("refs/heads/", "refs/remotes/")))


# --------------------------------------------------------------------------- per-commit extraction (workers)


@dataclass
class _Graph:
    """Every commit reachable from the tips, children before parents, with parent lists."""

    order: list[str]
    parents: dict[str, tuple[str, ...]]

    def ancestors(self, tip: str | None, *, first_parent: bool = False) -> set[str]:
        seen: set[str] = set()
        stack = [tip] if tip else []
        while stack:
            sha = stack.pop()
            if sha in seen or sha not in self.parents:
                continue
            seen.add(sha)
            parents = self.parents[sha]
            stack.extend(parents[:1] if first_parent else parents)
        return seen

    def flags(self, default_tip: str | None) -> pl.DataFrame:
        """(sha, is_reachable, in_default_history, on_default_branch) for every reachable commit."""
        history = self.ancestors(default_tip)
        chain = self.ancestors(default_tip, first_parent=True)
        return pl.DataFrame(
            {
                "sha": self.order,
                "is_reachable": [True] * len(self.order),
                "in_default_history": [s in history for s in self.order],
                "on_default_branch": [s in chain for s in self.order],
            },
            schema={
                "sha": pl.String,
                "is_reachable": pl.Boolean,
                "in_default_history": pl.Boolean,
                "on_default_branch": pl.Boolean,
            },
        )


def _graph(
    repo: pygit2.Repository, tips: Sequence[str], on_commit: Callable[[str], None] | None = None
) -> _Graph:
    """One walk of the whole history, children before parents, calling on_commit as it goes.

    libgit2's unsorted walk streams (its time and topological sorts first sort the whole graph,
    1.4 s on git's history), so chunks can go to the workers while the walk goes on. A shallow
    clone makes libgit2 stop with a missing parent: then a tolerant walk by hand starts over
    (on_commit is not called twice for a commit).
    """
    seen_by_callback: set[str] = set()

    def report(sha: str) -> None:
        if on_commit is not None and sha not in seen_by_callback:
            seen_by_callback.add(sha)
            on_commit(sha)

    order: list[str] = []
    parents: dict[str, tuple[str, ...]] = {}
    if not tips:
        return _Graph(order, parents)
    try:
        walker = repo.walk(pygit2.Oid(hex=tips[0]), SortMode.NONE)
        for tip in tips[1:]:
            walker.push(pygit2.Oid(hex=tip))
        for commit in walker:
            sha = str(commit.id)
            order.append(sha)
            parents[sha] = tuple(map(str, commit.parent_ids))
            report(sha)
        return _Graph(order, parents)
    except (KeyError, pygit2.GitError):
        pass  # a parent is missing (shallow clone): walk by hand and stop at the boundary
    order.clear()
    parents.clear()
    stack = list(tips)
    while stack:
        sha = stack.pop()
        if sha in parents:
            continue
        try:
            found = repo[pygit2.Oid(hex=sha)].peel(pygit2.Commit)
        except KeyError:
            continue
        ids = tuple(str(p) for p in found.parent_ids)
        parents[sha] = ids
        order.append(sha)
        report(sha)
        stack.extend(reversed(ids))
    return _Graph(order, parents)


# --------------------------------------------------------------------------- the ingest run


def ingest_repository(
    con: duckdb.DuckDBPyConnection,
    source: GitSource,
    *,
    mirrors_dir: Path,
    excludes: Excludes,
    rules: RulesSpec,
    workers: int | None = None,
    path_hasher: Callable[[str], str] | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Bring one repository up to date in the warehouse: new commits only, idempotent, resumable."""
    started = time.perf_counter()
    configure_libgit2(object_cache=True)  # this process walks the graph; workers switch it off
    run_id = str(uuid.uuid4())
    name = source.repo_name
    ruleset = rules.load()
    start_run(con, run_id, "git", name, ruleset.version)
    try:
        result = _ingest(
            con,
            source,
            name,
            run_id,
            mirrors_dir,
            excludes,
            rules,
            ruleset,
            workers,
            path_hasher,
            progress,
        )
    except BaseException as exc:
        finish_run(con, run_id, "failed", error=str(exc) or type(exc).__name__)
        raise
    result.seconds = time.perf_counter() - started
    finish_run(con, run_id, result.status, result=result)
    return result


def _ingest(
    con: duckdb.DuckDBPyConnection, source: GitSource, name: str, run_id: str, mirrors_dir: Path,
    excludes: Excludes, rules: RulesSpec, ruleset: RuleSet, workers: int | None,
    path_hasher: Callable[[str], str] | None, progress: Progress | None,
) -> IngestResult:  # fmt: skip
    repo = open_source(source, mirrors_dir, progress=progress)
    result = IngestResult(repo=name, run_id=run_id, status="ok")
    refs = read_refs(repo)
    commit_refs = {r: s for r, s in refs.items() if r != NOTES_REF}
    default_ref = resolve_default_branch(repo, commit_refs, source.default_branch)
    stored = _stored_repo(con, name)
    stored_refs = dict(
        con.execute("SELECT ref, sha FROM repo_refs WHERE repo = ?", [name]).fetchall()
    )
    if stored and stored["local_path"] != repo.path.rstrip("/"):
        other = one(con, "SELECT source FROM repos WHERE repo = ?", [name])
        if other and other[0] != source.public_location:
            raise GitSourceError(
                f"{source.location}: the warehouse already has a repository named {name!r} from {other[0]}; "
                "give this source another name"
            )
    unchanged = (
        stored is not None
        and stored_refs == refs
        and stored["excludes_hash"] == excludes.fingerprint
        and stored["ruleset_version"] == ruleset.version
        and stored["default_branch"] == default_ref
    )
    if repo.is_shallow:
        result.warnings.append(
            "shallow clone: commits at the boundary have no line counts (stats_complete = false)"
        )
    if not commit_refs:
        result.warnings.append("no branches or tags: the repository is empty")
    if unchanged:
        result.status = "noop"
        result.commits_total = _count(con, name)
        return result

    now = datetime.now(UTC)
    tips = sorted(set(commit_refs.values()))
    known = {
        row[0] for row in con.execute("SELECT sha FROM commits WHERE repo = ?", [name]).fetchall()
    }
    scanner = _Scanner(repo.path, rules, workers)
    try:
        if _worth_warming(repo, len(known)):
            scanner.warm()
        # Commits stored with incomplete line counts are read again: after `git fetch --unshallow`
        # or a fetch of missing blobs they become complete.
        retry = {
            row[0]
            for row in con.execute(
                "SELECT sha FROM commits WHERE repo = ? AND NOT stats_complete", [name]
            ).fetchall()
        }
        new: list[bytes] = []

        def on_commit(sha: str) -> None:
            if sha not in known or sha in retry:
                new.append(bytes.fromhex(sha))
                scanner.offer(new)

        graph = _graph(repo, tips, on_commit)
        default_sha = commit_refs.get(default_ref) if default_ref else None
        flags = graph.flags(default_sha)
        del graph
        _upsert_repo(
            con, name, source, repo, default_ref, default_sha, excludes, ruleset, stored, now
        )

        total = len(new)
        if progress:
            progress("commits", 0, total)
        # Chunks are merged into batches before writing: DuckDB's per-statement cost would otherwise
        # compete with the workers for the same cores.
        batch: ScanRows | None = None

        def written(rows: ScanRows) -> None:
            _write_batch(
                con,
                name,
                run_id,
                rows,
                flags,
                excludes,
                ruleset.version,
                path_hasher,
                result,
                retry,
            )

        for rows in scanner.run(new):
            batch = rows if batch is None else batch.extend(rows)
            if len(batch.commits["sha"]) >= _BATCH:
                written(batch)
                batch = None
            if progress:
                pending = len(batch.commits["sha"]) if batch else 0
                progress("commits", result.commits_added + result.commits_updated + pending, total)
        if batch is not None:
            written(batch)
    finally:
        scanner.close()

    result.commits_updated += _update_reachability(con, name, flags)
    if stored is not None and stored["excludes_hash"] != excludes.fingerprint:
        result.commits_updated += _reapply_excludes(
            con, name, excludes, path_hasher is not None, result
        )
    if stored is not None and stored["ruleset_version"] != ruleset.version:
        result.commits_updated += reattribute(con, name, repo, ruleset, run_id, progress=progress)
    if refs.get(NOTES_REF) != stored_refs.get(NOTES_REF):
        _load_notes(con, name, repo)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM repo_refs WHERE repo = ?", [name])
    if refs:
        con.executemany(
            "INSERT INTO repo_refs VALUES (?, ?, ?)",
            [[name, r, s] for r, s in sorted(refs.items())],
        )
    con.execute("COMMIT")
    if result.commits_incomplete:
        result.warnings.append(
            f"{result.commits_incomplete} commits have incomplete line counts (missing objects: shallow or partial "
            "clone); they are kept with stats_complete = false"
        )
    unreachable = scalar(
        con, "SELECT count(*) FROM commits WHERE repo = ? AND NOT is_reachable", [name]
    )
    if unreachable:
        result.warnings.append(
            f"{unreachable} stored commits are no longer reachable (history rewritten); they are marked, not counted"
        )
    result.commits_total = _count(con, name)
    return result


class _Scanner:
    """Runs `scan_commits` over chunks, in worker processes when the work is large enough.

    The pool can be started before the graph walk (`warm`), so that workers open the repository
    and take chunks (`offer`) while the parent still walks; otherwise it starts when the chunks
    are known.
    """

    def __init__(self, path: str, rules: RulesSpec, workers: int | None) -> None:
        self.path, self.rules = path, rules
        self.n = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self.pool: ProcessPoolExecutor | None = None
        self.pending: deque[Future[ScanRows]] = deque()
        self.handed_out = 0  # commits of `new` already submitted during the walk

    def warm(self) -> None:
        if self.n > 1 and self.pool is None:
            context = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(
                max_workers=self.n,
                mp_context=context,
                initializer=init_worker,
                initargs=(self.path, self.rules),
            )
            for _ in range(self.n):
                self.pool.submit(int)  # starts every worker now; `int()` is a no-op task

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def offer(self, new: list[bytes]) -> None:
        """During the walk: hand out a full chunk when workers are running and not yet busy."""
        if (
            self.pool is not None
            and len(new) - self.handed_out >= _CHUNK
            and len(self.pending) < 2 * self.n
        ):
            chunk = new[self.handed_out : self.handed_out + _CHUNK]
            self.pending.append(self.pool.submit(scan_commits, chunk))
            self.handed_out += len(chunk)

    def run(self, new: list[bytes]) -> Iterator[ScanRows]:
        """Results for every commit of new, in chunk order (chunks offered earlier come first)."""
        if self.pool is None and (self.n <= 1 or len(new) < _WORKER_THRESHOLD):
            init_worker(self.path, self.rules)
            for start in range(0, len(new), _CHUNK):
                yield scan_commits(new[start : start + _CHUNK])
            return
        self.warm()
        assert self.pool is not None
        queue = iter(_chunks(new[self.handed_out :], self.n))
        for chunk in queue:
            if len(self.pending) >= 2 * self.n:
                self.pending.append(self.pool.submit(scan_commits, chunk))
                break
            self.pending.append(self.pool.submit(scan_commits, chunk))
        while self.pending:
            rows = self.pending.popleft().result()
            nxt = next(queue, None)
            if nxt is not None:
                self.pending.append(self.pool.submit(scan_commits, nxt))
            yield rows


def _chunks(new: list[bytes], workers: int) -> list[list[bytes]]:
    """Contiguous chunks (neighbouring commits share trees and blobs), smaller at the end so that
    no worker is left alone with a long last chunk."""
    tail = min(len(new), _CHUNK * workers)
    head = len(new) - tail
    cut = [*range(0, head, _CHUNK), *range(head, len(new), max(1, _CHUNK // 4))]
    return [new[a:b] for a, b in zip(cut, [*cut[1:], len(new)], strict=True) if b > a]


def _worth_warming(repo: pygit2.Repository, stored_commits: int) -> bool:
    """A first ingest of a large repository: start workers before the walk (pack size is a cheap proxy)."""
    if stored_commits:
        return False
    packs = Path(repo.path, "objects", "pack")
    size = sum(p.stat().st_size for p in packs.glob("*.pack")) if packs.is_dir() else 0
    return size > 32 * 2**20


# --------------------------------------------------------------------------- warehouse writes


def _stored_repo(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any] | None:
    rel = one(
        con,
        "SELECT local_path, excludes_hash, ruleset_version, default_branch FROM repos WHERE repo = ?",
        [name],
    )
    if rel is None:
        return None
    return dict(
        zip(("local_path", "excludes_hash", "ruleset_version", "default_branch"), rel, strict=True)
    )


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return int(scalar(con, "SELECT count(*) FROM commits WHERE repo = ?", [name]))


def _upsert_repo(
    con: duckdb.DuckDBPyConnection, name: str, source: GitSource, repo: pygit2.Repository, default_ref: str | None,
    default_sha: str | None, excludes: Excludes, ruleset: RuleSet, stored: Mapping[str, Any] | None, now: datetime,
) -> None:  # fmt: skip
    # excludes_hash and ruleset_version move only after the stored rows were brought in line with them.
    values = [name, source.public_location, repo.path.rstrip("/"), repo.is_bare, repo.is_shallow, default_ref,
              default_sha, stored["excludes_hash"] if stored else excludes.fingerprint,
              stored["ruleset_version"] if stored else ruleset.version, now, now]  # fmt: skip
    con.execute(
        "INSERT INTO repos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repo) DO UPDATE SET "
        "source = excluded.source, local_path = excluded.local_path, is_bare = excluded.is_bare, "
        "is_shallow = excluded.is_shallow, default_branch = excluded.default_branch, "
        "default_branch_sha = excluded.default_branch_sha, last_changed_at = excluded.last_changed_at",
        values,
    )


_COMMITS_SCHEMA = {
    "sha": pl.String, "parent_count": pl.Int16, "first_parent_sha": pl.String, "author_name": pl.String,
    "author_email": pl.String, "author_canonical_name": pl.String, "author_canonical_email": pl.String,
    "author_time": pl.Int64, "author_tz_offset_min": pl.Int16, "committer_name": pl.String,
    "committer_email": pl.String, "committer_canonical_name": pl.String, "committer_canonical_email": pl.String,
    "commit_time": pl.Int64, "committer_tz_offset_min": pl.Int16, "subject": pl.String, "trailer_count": pl.Int16,
    "pr_number": pl.Int32, "source_branch": pl.String, "is_revert": pl.Boolean, "reverted_sha": pl.String,
    "stats_complete": pl.Boolean, "ai_tool": pl.String, "ai_mode": pl.String, "ai_confidence": pl.Float64,
}  # fmt: skip
_FILES_SCHEMA = {"sha": pl.String, "path": pl.String, "change": pl.String, "added": pl.Int32, "deleted": pl.Int32, "is_binary": pl.Boolean}  # fmt: skip
_TRAILERS_SCHEMA = {"sha": pl.String, "position": pl.Int16, "key": pl.String, "value": pl.String}
_EVIDENCE_SCHEMA = {"subject_id": pl.String, "rule_id": pl.String, "field": pl.String, "matched": pl.String, "tool": pl.String, "mode": pl.String, "confidence": pl.Float64}  # fmt: skip


def _write_batch(
    con: duckdb.DuckDBPyConnection, name: str, run_id: str, rows: ScanRows, flags: pl.DataFrame, excludes: Excludes,
    ruleset_version: str, path_hasher: Callable[[str], str] | None, result: IngestResult, retry: set[str] | None = None,
) -> None:  # fmt: skip
    """Write one batch of scanned commits with their files, trailers and evidence in one transaction.

    The commits are new by construction (the walk left out stored ones), except those read again
    because their line counts were incomplete (`retry`): their old rows are deleted in the
    same transaction. The primary key on commits refuses a duplicate rather than storing it twice.
    """
    files = pl.DataFrame(rows.files, schema=_FILES_SCHEMA).with_columns(
        excludes.expr(pl.col("path")).alias("is_excluded")
    )
    per_commit = files.group_by("sha").agg(
        pl.col("added").sum().alias("additions"),
        pl.col("deleted").sum().alias("deletions"),
        pl.len().cast(pl.Int32).alias("files_changed"),
        pl.col("is_binary").sum().cast(pl.Int32).alias("binary_files"),
        pl.col("added").filter(pl.col("is_excluded")).sum().alias("excluded_additions"),
        pl.col("deleted").filter(pl.col("is_excluded")).sum().alias("excluded_deletions"),
    )
    commits = (
        pl.DataFrame(rows.commits, schema=_COMMITS_SCHEMA)
        .join(per_commit, on="sha", how="left")
        .join(flags, on="sha", how="left")
        .with_columns(
            pl.lit(name).alias("repo"),
            (pl.col("parent_count") > 1).alias("is_merge"),
            *[
                pl.col(c).fill_null(False)
                for c in ("is_reachable", "in_default_history", "on_default_branch")
            ],
            pl.from_epoch("author_time", "s").dt.replace_time_zone("UTC").alias("authored_at"),
            pl.from_epoch("commit_time", "s").dt.replace_time_zone("UTC").alias("committed_at"),
            # Incomplete commits keep their file count but no line totals: a partial sum would mislead.
            *[
                pl.when(pl.col("stats_complete"))
                .then(pl.col(c).fill_null(0).cast(pl.Int32))
                .alias(c)
                for c in ("additions", "deletions", "excluded_additions", "excluded_deletions")
            ],
            *[
                pl.col(c).fill_null(0).cast(pl.Int32).alias(c)
                for c in ("files_changed", "binary_files")
            ],
            pl.lit(run_id).alias("run_id"),
            pl.col("ai_tool").alias("own_ai_tool"),
            pl.col("ai_mode").alias("own_ai_mode"),
            pl.col("ai_confidence").alias("own_ai_confidence"),
        )
        .drop("author_time", "commit_time")
    )
    if path_hasher is not None:
        files = files.with_columns(
            pl.col("path").map_batches(
                lambda s: pl.Series([path_hasher(p) for p in s]), return_dtype=pl.String
            )
        )
    files = files.with_columns(pl.lit(name).alias("repo"))
    trailers = pl.DataFrame(rows.trailers, schema=_TRAILERS_SCHEMA).with_columns(
        pl.lit(name).alias("repo")
    )
    evidence = pl.DataFrame(rows.evidence, schema=_EVIDENCE_SCHEMA).with_columns(
        pl.lit("commit").alias("subject_kind"), pl.lit(name).alias("repo"),
        pl.lit(ruleset_version).alias("ruleset_version"), pl.lit(run_id).alias("run_id"),
    )  # fmt: skip
    tables = {
        "commits": commits,
        "commit_files": files,
        "commit_trailers": trailers,
        "ai_evidence": evidence,
    }
    retried = commits.filter(pl.col("sha").is_in(list(retry))).height if retry else 0
    con.execute("BEGIN TRANSACTION")
    try:
        if retried:
            con.register("_shas", commits.select("sha"))
            for table, key in (
                ("commits", "sha"),
                ("commit_files", "sha"),
                ("commit_trailers", "sha"),
                ("ai_evidence", "subject_id"),
            ):
                extra = " AND subject_kind = 'commit'" if table == "ai_evidence" else ""
                con.execute(
                    f"DELETE FROM {table} WHERE repo = ?{extra} AND {key} IN (SELECT sha FROM _shas)",
                    [name],
                )
            con.unregister("_shas")
        for table, frame in tables.items():
            con.register("_batch", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch")
            con.unregister("_batch")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result.commits_added += commits.height - retried
    result.commits_updated += retried
    result.files_added += files.height
    result.commits_incomplete += rows.incomplete


def _update_reachability(con: duckdb.DuckDBPyConnection, name: str, flags: pl.DataFrame) -> int:
    """Bring the stored commits' graph flags in line with the current refs; returns rows changed."""
    flags = flags.rename({"is_reachable": "r", "in_default_history": "h", "on_default_branch": "c"})
    con.register("_reach", flags)
    try:
        con.execute("BEGIN TRANSACTION")
        row = con.execute(
            "UPDATE commits SET is_reachable = f.r, in_default_history = f.h, on_default_branch = f.c "
            "FROM (SELECT c.sha, coalesce(x.r, false) AS r, coalesce(x.h, false) AS h, coalesce(x.c, false) AS c "
            "      FROM commits c LEFT JOIN _reach x USING (sha) WHERE c.repo = $repo) AS f "
            "WHERE commits.repo = $repo AND commits.sha = f.sha AND ("
            "  commits.is_reachable IS DISTINCT FROM f.r OR commits.in_default_history IS DISTINCT FROM f.h "
            "  OR commits.on_default_branch IS DISTINCT FROM f.c)",
            {"repo": name},
        ).fetchall()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_reach")
    return int(row[0]) if row else 0


def _reapply_excludes(
    con: duckdb.DuckDBPyConnection,
    name: str,
    excludes: Excludes,
    hashed: bool,
    result: IngestResult,
) -> int:
    if hashed:
        result.warnings.append(
            "exclusion patterns changed but paths are stored hashed: the change applies to new commits only"
        )
        con.execute(
            "UPDATE repos SET excludes_hash = ? WHERE repo = ?", [excludes.fingerprint, name]
        )
        return 0
    files = con.sql(
        f"SELECT rowid AS rid, path, is_excluded FROM commit_files WHERE repo = '{_quote(name)}'"
    ).pl()
    changed = files.with_columns(excludes.expr(pl.col("path")).alias("now")).filter(
        pl.col("now") != pl.col("is_excluded")
    )
    con.register("_excl", changed.select("rid", "now"))
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "UPDATE commit_files SET is_excluded = _excl.now FROM _excl WHERE commit_files.rowid = _excl.rid"
        )
        row = con.execute(
            "UPDATE commits SET excluded_additions = s.a, excluded_deletions = s.d FROM ("
            "  SELECT sha, CAST(coalesce(sum(added) FILTER (WHERE is_excluded), 0) AS INTEGER) AS a,"
            "         CAST(coalesce(sum(deleted) FILTER (WHERE is_excluded), 0) AS INTEGER) AS d"
            "  FROM commit_files WHERE repo = $repo GROUP BY sha) AS s "
            "WHERE commits.repo = $repo AND commits.sha = s.sha AND commits.stats_complete "
            "AND (commits.excluded_additions IS DISTINCT FROM s.a OR commits.excluded_deletions IS DISTINCT FROM s.d)",
            {"repo": name},
        ).fetchall()[0]
        con.execute(
            "UPDATE repos SET excludes_hash = ? WHERE repo = ?", [excludes.fingerprint, name]
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_excl")
    return int(row[0]) if row else 0


def _quote(value: str) -> str:
    return value.replace("'", "''")


def reattribute(
    con: duckdb.DuckDBPyConnection, name: str, repo: pygit2.Repository | None, ruleset: RuleSet, run_id: str,
    *, progress: Progress | None = None,
) -> int:  # fmt: skip
    """Re-apply the rule set to every stored commit of a repository; returns how many changed.

    Messages are re-read from git (the warehouse keeps no body); when the repository is gone, the
    stored subject, trailers and identities are used, so body-only markers cannot be re-evaluated.
    """
    stored = con.sql(
        "SELECT sha, subject, source_branch, authored_at, author_name, author_email, author_canonical_name, "
        "author_canonical_email, committer_name, committer_email, committer_canonical_name, "
        f"committer_canonical_email, own_ai_tool, own_ai_mode, own_ai_confidence FROM commits WHERE repo = '{_quote(name)}'"
    ).pl()
    trailer_rows = con.sql(
        f"SELECT sha, list(struct_pack(key, value) ORDER BY position) AS t FROM commit_trailers WHERE repo = '{_quote(name)}' GROUP BY sha"
    ).pl()
    stored_trailers = {
        row["sha"]: [(t["key"], t["value"]) for t in row["t"]]
        for row in trailer_rows.iter_rows(named=True)
    }
    updates: list[tuple[str, str | None, str | None, float | None]] = []
    evidence: dict[str, list[Any]] = {c: [] for c in EVIDENCE_COLUMNS}
    total = stored.height
    for i, row in enumerate(stored.iter_rows(named=True)):
        sha = row["sha"]
        subject, body, trailers = row["subject"], "", stored_trailers.get(sha, [])
        if repo is not None:
            with contextlib.suppress(KeyError, ValueError):
                commit = repo[pygit2.Oid(hex=sha)]
                assert isinstance(commit, pygit2.Commit)
                message = decode_text(commit.raw_message, commit.message_encoding)
                subject, body = split_message(message)
                trailers = parse_trailers(message)
        result = ruleset.attribute(
            Signals(
                subject=subject, body=body, trailers=trailers,
                authors=(f"{row['author_name']} <{row['author_email']}>", f"{row['author_canonical_name']} <{row['author_canonical_email']}>"),
                committers=(f"{row['committer_name']} <{row['committer_email']}>", f"{row['committer_canonical_name']} <{row['committer_canonical_email']}>"),
                branch=row["source_branch"], when=row["authored_at"],
            )
        )  # fmt: skip
        if (result.tool, result.mode, result.confidence) != (
            row["own_ai_tool"],
            row["own_ai_mode"],
            row["own_ai_confidence"],
        ):
            updates.append((sha, result.tool, result.mode, result.confidence))
        for ev in result.evidence:
            for column, value in zip(
                EVIDENCE_COLUMNS,
                (sha, ev.rule_id, ev.field, ev.matched, ev.tool, ev.mode, ev.confidence),
                strict=True,
            ):
                evidence[column].append(value)
        if progress and i % 5000 == 0:
            progress("attribution", i, total)
    frame = pl.DataFrame(evidence, schema=_EVIDENCE_SCHEMA).with_columns(
        pl.lit("commit").alias("subject_kind"), pl.lit(name).alias("repo"),
        pl.lit(ruleset.version).alias("ruleset_version"), pl.lit(run_id).alias("run_id"),
    )  # fmt: skip
    changes = pl.DataFrame(
        updates,
        schema={"sha": pl.String, "t": pl.String, "m": pl.String, "c": pl.Float64},
        orient="row",
    )
    con.register("_ev", frame)
    con.register("_upd", changes)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM ai_evidence WHERE subject_kind = 'commit' AND repo = ?", [name])
        con.execute("INSERT INTO ai_evidence BY NAME SELECT * FROM _ev")
        # The effective attribution follows the commit's own unless it was inherited from a PR;
        # the linking step that runs after re-attribution decides inheritance again.
        con.execute(
            "UPDATE commits SET own_ai_tool = _upd.t, own_ai_mode = _upd.m, own_ai_confidence = _upd.c, "
            "ai_tool = CASE WHEN ai_via_pr IS NULL THEN _upd.t ELSE ai_tool END, "
            "ai_mode = CASE WHEN ai_via_pr IS NULL THEN _upd.m ELSE ai_mode END, "
            "ai_confidence = CASE WHEN ai_via_pr IS NULL THEN _upd.c ELSE ai_confidence END "
            "FROM _upd WHERE commits.repo = ? AND commits.sha = _upd.sha",
            [name],
        )
        con.execute("UPDATE repos SET ruleset_version = ? WHERE repo = ?", [ruleset.version, name])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_ev")
        con.unregister("_upd")
    return len(updates)


def _load_notes(con: duckdb.DuckDBPyConnection, name: str, repo: pygit2.Repository) -> None:
    rows = parse_notes(repo)
    frame = pl.DataFrame(
        rows,
        schema={"sha": pl.String, "kind": pl.String, "tool": pl.String, "model": pl.String, "lines": pl.Int32, "files": pl.Int32, "schema_version": pl.String},
        orient="row",
    ).with_columns(pl.lit(name).alias("repo"))  # fmt: skip
    replace_rows(con, "commit_ai_notes", frame, "repo = ?", [name])


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, kind: str, scope: str, ruleset_version: str | None
) -> None:
    con.execute(
        "INSERT INTO ingest_runs (run_id, kind, scope, started_at, status, ruleset_version, sprintproof_version) "
        "VALUES (?, ?, ?, now(), 'running', ?, ?)",
        [run_id, kind, scope, ruleset_version, __version__],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    *,
    result: IngestResult | None = None,
    error: str | None = None,
) -> None:
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")  # a failure may have left a transaction open; no-op otherwise
    r = result or IngestResult(repo="", run_id=run_id, status=status)
    con.execute(
        "UPDATE ingest_runs SET finished_at = now(), status = ?, commits_added = ?, files_added = ?, "
        "commits_updated = ?, commits_incomplete = ?, warnings = ?, error = ? WHERE run_id = ?",
        [
            status,
            r.commits_added,
            r.files_added,
            r.commits_updated,
            r.commits_incomplete,
            r.warnings,
            error,
            run_id,
        ],
    )
