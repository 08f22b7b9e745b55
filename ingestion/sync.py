"""Connector plumbing: per-page transactional writes with checkpoints, keyed slice replacement, runs, field drift.

A connector reads one page, turns it into rows, and hands them to `SyncContext.commit_page`
together with the stream's new cursor. Rows and cursor land in one transaction, so a run killed
at any moment leaves the warehouse at a page boundary and the next run resumes from the cursor
with nothing lost or duplicated. Writes replace keyed slices (delete the keys, insert the rows),
which makes re-reading a page (the cursor overlap, a resumed run) idempotent.
"""

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import httpx
import polars as pl

from ingestion import __version__
from ingestion.attribution import RuleSet

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Replace:
    """Rows for one table: every row whose key is in `scope` (default: the rows' own keys) is
    deleted, then `rows` are inserted. `scope` lets a page clear children that no longer exist
    (the reviews of a PR that now has none)."""

    table: str
    rows: pl.DataFrame | Sequence[Mapping[str, Any]]
    keys: tuple[str, ...]
    scope: pl.DataFrame | Sequence[Mapping[str, Any]] | None = None


@dataclass
class SyncResult:
    """What one source's run did: rows per table, requests sent, warnings for the operator."""

    source: str
    kind: str
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    warnings: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_written(self) -> int:
        return sum(self.rows.values())


@dataclass
class SyncContext:
    """Everything a connector needs from its caller; plain values so tests can build one."""

    con: duckdb.DuckDBPyConnection
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    rules: RuleSet | None = None
    git_repos: Mapping[str, str | None] = field(
        default_factory=dict
    )  # repos.repo -> default branch
    transport: httpx.BaseTransport | None = None  # tests and replay; None: the network
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Progress | None = None
    warn: Callable[[str], None] = lambda message: None

    def __post_init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._fields: dict[tuple[str, str], dict[str, str]] = {}

    # ------------------------------------------------------------------ cursors

    def cursor(self, source: str, scope: str, stream: str) -> dict[str, Any] | None:
        row = self.con.execute(
            "SELECT cursor FROM sync_state WHERE source = ? AND scope = ? AND stream = ?",
            [source, scope, stream],
        ).fetchall()
        return json.loads(row[0][0]) if row else None

    def commit_page(
        self,
        source: str,
        scope: str,
        stream: str,
        cursor: Mapping[str, Any] | None,
        replaces: Iterable[Replace] = (),
        *,
        statements: Iterable[tuple[str, Sequence[Any]]] = (),
    ) -> int:
        """Write a page's rows and its stream's cursor in one transaction; returns rows inserted.

        `cursor=None` leaves the stored cursor as it is. `statements` run in the same
        transaction after the replacements (e.g. marking rows deleted).
        """
        inserted = 0
        self.con.execute("BEGIN TRANSACTION")
        try:
            for replace in replaces:
                inserted += self._replace(replace)
            for sql, params in statements:
                self.con.execute(sql, list(params))
            if cursor is not None:
                self.con.execute(
                    "INSERT OR REPLACE INTO sync_state (source, scope, stream, cursor, updated_at, run_id) "
                    "VALUES (?, ?, ?, ?, now(), ?)",
                    [
                        source,
                        scope,
                        stream,
                        json.dumps(cursor, sort_keys=True, default=str),
                        self.run_id,
                    ],
                )
            self.con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise
        return inserted

    def clear_cursor(self, source: str, scope: str, stream: str) -> None:
        self.con.execute(
            "DELETE FROM sync_state WHERE source = ? AND scope = ? AND stream = ?",
            [source, scope, stream],
        )

    @property
    def rows_written(self) -> dict[str, int]:
        return dict(self._rows)

    def _replace(self, replace: Replace) -> int:
        rows = _frame(replace.rows)
        scope = _frame(replace.scope) if replace.scope is not None else rows
        keys = list(replace.keys)
        if scope.height:
            missing = [k for k in keys if k not in scope.columns]
            if missing:
                raise ValueError(f"{replace.table}: scope lacks key columns {missing}")
            self.con.register("_scope", scope.select(keys).unique().to_arrow())
            try:
                condition = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in keys)
                self.con.execute(
                    f'DELETE FROM "{replace.table}" t USING _scope s WHERE {condition}'
                )
            finally:
                _unregister(self.con, "_scope")
        if not rows.height:
            return 0
        rows = (
            rows.unique(subset=keys, keep="last", maintain_order=True)
            if replace.scope is None
            else rows
        )
        self.con.register("_rows", rows.to_arrow())
        try:
            columns = ", ".join(f'"{c}"' for c in rows.columns)
            self.con.execute(
                f'INSERT INTO "{replace.table}" ({columns}) SELECT {columns} FROM _rows'
            )
        finally:
            _unregister(self.con, "_rows")
        self._rows[replace.table] = self._rows.get(replace.table, 0) + rows.height
        return rows.height

    # ------------------------------------------------------------------ schema drift

    def observe(
        self,
        source: str,
        stream: str,
        record: Mapping[str, Any],
        *,
        known: Iterable[str],
        required: Iterable[str] = (),
    ) -> None:
        """Note the top-level fields of one API record against what the connector knows and needs."""
        seen = self._fields.setdefault((source, stream), {})
        known_set = set(known)
        for name in record:
            if name not in seen:
                seen[name] = "known" if name in known_set else "unknown"
        for name in required:
            if name not in record:
                seen[name] = "missing"

    def flush_fields(self) -> None:
        """Store what `observe` saw (one row per source, stream and field; newest status wins)."""
        rows = [
            {"source": s, "stream": st, "field": f, "status": status, "last_seen_at": self.now()}
            for (s, st), fields in self._fields.items()
            for f, status in fields.items()
        ]
        if rows:
            frame = pl.DataFrame(rows)
            self.con.register("_fields", frame.to_arrow())
            try:
                self.con.execute(
                    "INSERT OR REPLACE INTO source_fields SELECT source, stream, field, status, last_seen_at FROM _fields"
                )
            finally:
                self.con.unregister("_fields")
        self._fields.clear()

    # ------------------------------------------------------------------ runs

    def start_run(self, kind: str, scope: str) -> None:
        self.con.execute(
            "INSERT INTO ingest_runs (run_id, kind, scope, started_at, status, sprintproof_version) "
            "VALUES (?, ?, ?, now(), 'running', ?)",
            [self.run_id, kind, scope, __version__],
        )

    def finish_run(self, result: SyncResult | None, *, error: str | None = None) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")  # a failure may have left a transaction open
        status = "failed" if error else ("ok" if result and result.rows_written else "noop")
        self.con.execute(
            "UPDATE ingest_runs SET finished_at = now(), status = ?, rows_written = ?, requests = ?, "
            "warnings = ?, error = ? WHERE run_id = ?",
            [
                status,
                result.rows_written if result else sum(self._rows.values()),
                result.requests if result else 0,
                list(result.warnings) if result else [],
                error,
                self.run_id,
            ],
        )


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # In an aborted transaction unregistering fails too; the original error is the one to report
    # (registering the name again later replaces the view).
    with contextlib.suppress(duckdb.Error):
        con.unregister(name)


def _frame(rows: pl.DataFrame | Sequence[Mapping[str, Any]] | None) -> pl.DataFrame:
    if rows is None:
        return pl.DataFrame()
    if isinstance(rows, pl.DataFrame):
        return rows
    return pl.DataFrame(list(rows), infer_schema_length=None) if rows else pl.DataFrame()


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp from an API (Z, offsets, fractions, Jira's +0000) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # Jira: 2026-11-20T12:20:53.000+0000
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
