"""Data health figures read from the warehouse: freshness, row-count anomalies, schema drift, coverage, metric drift.

Plain functions over a DuckDB connection, shared by the orchestration's asset checks and the
dashboard's Data health page.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl


@dataclass(frozen=True)
class Freshness:
    scope: str
    last_ok_at: datetime | None
    age_hours: float | None


def freshness(
    con: duckdb.DuckDBPyConnection, kind: str, scopes: list[str], now: datetime | None = None
) -> list[Freshness]:
    """The last successful (ok or no-op) run of each scope of a source kind, and its age."""
    now = now or datetime.now(UTC)
    rows = dict(
        con.execute(
            "SELECT scope, max(finished_at) FROM ingest_runs WHERE kind = ? AND status IN ('ok', 'noop') GROUP BY scope",
            [kind],
        ).fetchall()
    )
    out = []
    for scope in scopes:
        last = rows.get(scope)
        out.append(Freshness(scope, last, (now - last).total_seconds() / 3600 if last else None))
    return out


@dataclass(frozen=True)
class RowCount:
    scope: str
    last: int | None
    usual: float | None
    anomalous: bool


def row_count(
    con: duckdb.DuckDBPyConnection, kind: str, scope: str, factor: float, history: int = 14
) -> RowCount:
    """Rows written by the newest successful run against the median of the runs before it.

    Anomalous when the newest run wrote more than `factor` times the usual amount, or nothing
    while the usual amount is well above zero (a source that went silent).
    """
    column = "commits_added" if kind == "git" else "rows_written"
    values = [
        int(r[0] or 0)
        for r in con.execute(
            f"SELECT {column} FROM ingest_runs WHERE kind = ? AND scope = ? AND status IN ('ok', 'noop') "
            "ORDER BY started_at DESC LIMIT ?",
            [kind, scope, history + 1],
        ).fetchall()
    ]
    if len(values) < 4:
        return RowCount(scope, values[0] if values else None, None, False)
    last, before = values[0], sorted(values[1:])
    usual = float(before[len(before) // 2])
    anomalous = (usual > 0 and last > factor * usual) or (usual >= 10 and last == 0)
    return RowCount(scope, last, usual, anomalous)


def schema_drift(con: duckdb.DuckDBPyConnection, source: str) -> tuple[list[str], list[str]]:
    """(unknown fields, missing fields) the source's last runs saw, as `stream.field`."""
    rows = con.execute(
        "SELECT stream || '.' || field, status FROM source_fields WHERE source = ? AND status <> 'known' ORDER BY 1",
        [source],
    ).fetchall()
    return [f for f, s in rows if s == "unknown"], [f for f, s in rows if s == "missing"]


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(found and found[0][0])


@dataclass(frozen=True)
class Coverage:
    covered: int
    total: int

    @property
    def share(self) -> float | None:
        return self.covered / self.total if self.total else None


def identity_coverage(con: duckdb.DuckDBPyConnection, days: int) -> Coverage | None:
    """Work commits of the last `days` days credited to a team."""
    if not _table_exists(con, "mart_commits"):
        return None
    row = con.execute(
        "SELECT count(*) FILTER (WHERE team IS NOT NULL), count(*) FROM mart_commits "
        "WHERE is_work AND committed_at >= now() - to_days(?)",
        [days],
    ).fetchall()[0]
    return Coverage(int(row[0]), int(row[1]))


def attribution_coverage(con: duckdb.DuckDBPyConnection, days: int) -> Coverage | None:
    """Work commits of the last `days` days, in repositories a forge feeds, whose pull request is known.

    Without its PR a squash commit is judged on its own message only; PR authors, branches,
    labels and the PR's commits' trailers are lost. None when no forge source feeds a repository.
    """
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM commit_pull_requests l WHERE l.git_repo = c.repo AND l.sha = c.sha)),
               count(*)
        FROM commits c
        WHERE c.in_default_history AND NOT c.is_merge AND coalesce(c.ai_mode, '') <> 'bot'
          AND c.committed_at >= now() - to_days(?)
          AND c.repo IN (SELECT git_repo FROM forge_repos WHERE git_repo IS NOT NULL)
        """,
        [days],
    ).fetchall()[0]
    return Coverage(int(row[0]), int(row[1])) if row[1] else None


def ticket_link_coverage(con: duckdb.DuckDBPyConnection, days: int) -> Coverage | None:
    """Merged PRs of the last `days` days that link at least one ticket; None without tickets or PRs."""
    has_tickets = con.execute("SELECT count(*) FROM tickets WHERE NOT is_deleted").fetchall()[0][0]
    if not has_tickets:
        return None
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ticket_links t WHERE t.subject_kind = 'pr'
                                              AND t.repo = p.repo AND t.subject_id = CAST(p.number AS VARCHAR))),
               count(*)
        FROM pull_requests p
        WHERE p.state = 'merged' AND NOT p.is_deleted AND coalesce(p.ai_mode, '') <> 'bot'
          AND p.merged_at >= now() - to_days(?)
        """,
        [days],
    ).fetchall()[0]
    return Coverage(int(row[0]), int(row[1])) if row[1] else None


DRIFT_METRICS = ("acr_lines", "bug_density_points", "cycle_time_p50")


def metric_drift(
    con: duckdb.DuckDBPyConnection,
    *,
    window: int,
    threshold: float,
    metric_ids: tuple[str, ...] = DRIFT_METRICS,
) -> pl.DataFrame:
    """Sprints outside the recent envelope: each team's newest closed sprint against its `window` before.

    Robust z-score (median and MAD, scaled to a standard deviation); a sprint is flagged when
    |z| > threshold. Needs `window` earlier sprints with an `ok` value; a flat history (MAD 0)
    flags any change larger than 10 % of the median.
    """
    schema = {"team": pl.String, "metric_id": pl.String, "sprint_id": pl.String, "value": pl.Float64,
              "median": pl.Float64, "z": pl.Float64}  # fmt: skip
    if not _table_exists(con, "sprint_metrics"):
        return pl.DataFrame(schema=schema)
    frame = con.sql(
        "SELECT team, metric_id, sprint_id, sprint_start, value FROM sprint_metrics "
        "WHERE sprint_state = 'closed' AND status = 'ok' AND metric_id IN (SELECT unnest(?))",
        params=[list(metric_ids)],
    ).pl()
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    ranked = frame.sort("sprint_start", descending=True).with_columns(
        pl.int_range(pl.len()).over("team", "metric_id").alias("age")
    )
    latest = ranked.filter(pl.col("age") == 0)
    history = (
        ranked.filter((pl.col("age") >= 1) & (pl.col("age") <= window))
        .group_by("team", "metric_id")
        .agg(
            pl.col("value").median().alias("median"),
            pl.len().alias("n"),
            pl.col("value").alias("values"),
        )
        .filter(pl.col("n") >= window)
        .with_columns(
            (
                pl.col("values")
                .list.eval((pl.element() - pl.element().median()).abs())
                .list.median()
                * 1.4826
            ).alias("mad")
        )
    )
    scored = latest.join(history, on=["team", "metric_id"], how="inner").with_columns(
        pl.when(pl.col("mad") > 0)
        .then((pl.col("value") - pl.col("median")) / pl.col("mad"))
        .when((pl.col("value") - pl.col("median")).abs() > 0.1 * pl.col("median").abs())
        .then(pl.lit(float("inf")) * (pl.col("value") - pl.col("median")).sign())
        .otherwise(0.0)
        .alias("z")
    )
    return scored.filter(pl.col("z").abs() > threshold).select(list(schema)).cast(schema)  # type: ignore[arg-type]
