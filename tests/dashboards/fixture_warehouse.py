"""A small warehouse with every table the dashboard reads, filled with known numbers (teams, sprints, facts, runs).

Marts are written directly with the schemas `metrics.marts.compute` gives them, so the
dashboard is tested against exactly the columns and types the metrics engine produces, with
values chosen by hand:

- three teams: Web and Mobile (shown), Tiny (below the minimum group size: suppressed), and the
  organisation; eight fortnightly sprints ending with the running one, which contains today;
- headline series with known values (ORG_SERIES), Web above and Mobile below the organisation,
  Mobile's ACR (lines) `insufficient_data` in sprint index 5;
- for the last closed sprint, work commits, merged PRs and their attribution evidence;
- ingest runs (one stale source, one failed run, one warning), schema drift, unmatched identities.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ingestion.warehouse import connect, migrate
from metrics.definitions import definitions
from metrics.marts import Marts, board_summary, compute, load_inputs, write
from metrics.model import Settings

ORG = "__org__"
TEAMS = ("Web", "Mobile", "Tiny")
PREFIX = {"Web": "WEB", "Mobile": "MOB", "Tiny": "TNY"}
SPRINTS = 8  # the last one is running
LAST_CLOSED = SPRINTS - 2
GAP = 5  # Mobile's acr_lines has insufficient data in this sprint index
SECRET_NOTE = "Tiny private detail 4242"  # kept in the suppressed rows' note: must never be shown

# The organisation's headline values by sprint index (None: insufficient data).
ORG_SERIES: dict[str, list[float | None]] = {
    "acr_lines": [0.12, 0.15, 0.2, 0.26, 0.31, 0.38, 0.43, 0.45],
    "agentic_commit_rate": [0.0, 0.02, 0.04, 0.06, 0.09, 0.12, 0.15, 0.16],
    "velocity_acceleration": [0.9, 1.05, 1.05, 1.2, 1.4, 1.5, 1.6, None],
    "bug_density_change": [-0.1, 0.05, 0.05, -0.05, -0.08, -0.1, -0.12, None],
    "cycle_time_p50": [30.0, 29.0, 28.0, 26.0, 25.0, 24.0, 22.5, 20.0],
}
TEAM_OFFSET = {"Web": 0.05, "Mobile": -0.03}

# The organisation's shares in the last closed sprint, as the listed facts count them.
COUNTED = {
    "acr_commits": (7.0, 20.0),
    "agentic_commit_rate": (3.0, 20.0),
    "acr_prs": (2.0, 3.0),
    "agentic_pr_rate": (1.0, 3.0),
}


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def first_start(today: date) -> datetime:
    """The first sprint starts so that the eighth (running) one contains today."""
    start = monday(today) - timedelta(days=14 * (SPRINTS - 1))
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


@dataclass(frozen=True)
class Sprint:
    index: int
    start: datetime
    end: datetime

    @property
    def org_id(self) -> str:
        return f"{self.start:%Y-%m-%d}"

    @property
    def org_name(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start:%d %b} – {last:%d %b %Y}" if self.start.year == last.year else f"{self.start:%d %b %Y} – {last:%d %b %Y}"  # fmt: skip

    @property
    def state(self) -> str:
        return "active" if self.index == SPRINTS - 1 else "closed"

    def team_id(self, team: str) -> str:
        return f"{PREFIX[team]}-{self.index + 1}"

    def team_name(self, team: str) -> str:
        return f"{PREFIX[team]} Sprint {self.index + 1}"


def sprints(today: date | None = None) -> list[Sprint]:
    start = first_start(today or datetime.now(UTC).date())
    return [
        Sprint(i, start + timedelta(days=14 * i), start + timedelta(days=14 * (i + 1)))
        for i in range(SPRINTS)
    ]


def sha(label: str) -> str:
    return label.encode().hex().ljust(40, "0")[:40]


# --------------------------------------------------------------------------- values


def team_value(metric_id: str, team: str, index: int) -> float | None:
    """The value of a headline metric for a team (the organisation's, shifted), None for a gap."""
    base = ORG_SERIES[metric_id][index]
    if base is None or (team == "Mobile" and metric_id == "acr_lines" and index == GAP):
        return None
    if team == ORG:
        return base
    shift = TEAM_OFFSET[team]
    unit = definitions()[metric_id].unit
    if unit == "share":
        return round(min(max(base + shift, 0.0), 1.0), 4)
    if unit == "hours":
        return base + shift * 20
    return round(base + shift, 4)


def generic_value(metric_id: str, team: str, index: int) -> float:
    """Any other metric: a smooth made-up series in the metric's unit."""
    unit = definitions()[metric_id].unit
    bump = {ORG: 0.0, "Web": 0.02, "Mobile": -0.01, "Tiny": 0.0}[team]
    if unit == "share":
        return round(0.1 + 0.01 * index + bump, 4)
    if unit == "hours":
        return 5.0 + index
    if unit in ("count", "points", "lines"):
        return float(40 + 2 * index)
    return round(1.0 + 0.1 * index + bump, 4)


def metric_row(
    metric_id: str, team: str, sprint: Sprint, *, durability: bool
) -> dict[str, Any] | None:
    definition = definitions()[metric_id]
    if definition.family == "durability" and not durability:
        return None
    row: dict[str, Any] = {
        "team": team,
        "sprint_id": sprint.org_id if team == ORG else sprint.team_id(team),
        "sprint_name": sprint.org_name if team == ORG else sprint.team_name(team),
        "sprint_start": sprint.start if team == ORG else sprint.start + timedelta(hours=8),
        "sprint_end": sprint.end if team == ORG else sprint.end + timedelta(hours=7),
        "sprint_state": sprint.state,
        "metric_id": metric_id,
        "definition_version": definition.version,
        "note": None,
    }
    if team == "Tiny":
        return row | {"status": "suppressed", "note": SECRET_NOTE}
    value = (
        team_value(metric_id, team, sprint.index)
        if metric_id in ORG_SERIES
        else generic_value(metric_id, team, sprint.index)
    )
    if value is None:
        note = (
            "velocity of a running sprint is not compared"
            if sprint.state == "active"
            else "4 work commits (fewer than 5)"
        )
        return row | {"status": "insufficient_data", "numerator": 4.0, "denominator": 4.0, "note": note}  # fmt: skip
    numerator, denominator = (value * 2000, 2000.0) if definition.unit == "share" else (value, None)
    if team == ORG and sprint.index == LAST_CLOSED and metric_id in COUNTED:
        numerator, denominator = COUNTED[metric_id]
        value = numerator / denominator
    spread = 0.04 if definition.unit == "share" else (2.0 if definition.unit == "hours" else 0.15)
    return row | {
        "status": "ok",
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "ci_low": value - spread,
        "ci_high": value + spread,
        "coverage": 1.0,
    }


# --------------------------------------------------------------------------- raw rows


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows by column name, NOT NULL columns the rows leave out taking a neutral default."""
    if not rows:
        return
    columns = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    defaults = {"VARCHAR": "", "BOOLEAN": False, "DOUBLE": 0.0, "VARCHAR[]": []}
    names = [c for c, _, _ in columns]
    filled = []
    for row in rows:
        record = {}
        for name, kind, nullable in columns:
            if name in row:
                record[name] = row[name]
            elif nullable == "NO":
                if kind.startswith("TIMESTAMP"):
                    record[name] = datetime(2026, 1, 1, tzinfo=UTC)
                elif kind in ("INTEGER", "SMALLINT", "BIGINT"):
                    record[name] = 0
                else:
                    record[name] = defaults.get(kind, "")
            else:
                record[name] = None
        filled.append(record)
    placeholders = ", ".join("?" for _ in names)
    con.executemany(
        f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({placeholders})',
        [[r[n] for n in names] for r in filled],
    )


@dataclass(frozen=True)
class Fixture:
    path: Path
    sprints: list[Sprint]
    now: datetime

    @property
    def last_closed(self) -> Sprint:
        return self.sprints[LAST_CLOSED]


def build(
    path: Path,
    *,
    durability: bool = False,
    now: datetime | None = None,
) -> Fixture:
    """Write the fixture warehouse at `path` and return what a test needs to know about it."""
    now = now or datetime.now(UTC)
    calendar = sprints(now.date())
    with connect(path) as con:
        migrate(con)
        schemas = {name: frame.schema for name, frame in compute(load_inputs(con), Settings()).tables.items()}  # fmt: skip
        _raw(con, calendar, now)
        tables = _marts(calendar, schemas, durability=durability)
        write(con, Marts(tables=tables, seconds={"fixture": 0.0}, warnings=["identity conflict: ana@acme.example"]))  # fmt: skip
    return Fixture(path, calendar, now)


def _raw(con: duckdb.DuckDBPyConnection, calendar: list[Sprint], now: datetime) -> None:
    insert(con, "repos", [
        {"repo": r, "source": f"/src/{r}", "local_path": f"/src/{r}", "default_branch": "refs/heads/main",
         "excludes_hash": "x", "ruleset_version": "2026.11.0", "first_ingested_at": now, "last_changed_at": now}
        for r in ("web-app", "mobile-app", "tiny-svc")
    ])  # fmt: skip
    insert(con, "ingest_runs", [
        {"run_id": "r1", "kind": "git", "scope": "web-app", "started_at": now - timedelta(hours=2),
         "finished_at": now - timedelta(hours=2) + timedelta(seconds=3), "status": "ok", "commits_added": 12,
         "sprintproof_version": "0.1.0"},
        {"run_id": "r2", "kind": "git", "scope": "mobile-app", "started_at": now - timedelta(days=3),
         "finished_at": now - timedelta(days=3) + timedelta(seconds=2), "status": "ok", "commits_added": 5,
         "sprintproof_version": "0.1.0"},
        {"run_id": "r3", "kind": "git", "scope": "mobile-app", "started_at": now - timedelta(hours=1),
         "finished_at": now - timedelta(hours=1), "status": "failed", "error": "mirror fetch refused: authentication failed",
         "sprintproof_version": "0.1.0"},
        {"run_id": "r4", "kind": "github", "scope": "github", "started_at": now - timedelta(hours=3),
         "finished_at": now - timedelta(hours=3) + timedelta(seconds=30), "status": "ok", "rows_written": 40,
         "warnings": ["rate limit reached; resumed after 60 s"], "sprintproof_version": "0.1.0"},
        {"run_id": "r5", "kind": "git", "scope": "tiny-svc", "started_at": now - timedelta(hours=2),
         "finished_at": now - timedelta(hours=2) + timedelta(seconds=1), "status": "noop",
         "sprintproof_version": "0.1.0"},
    ])  # fmt: skip
    insert(
        con,
        "source_fields",
        [
            {
                "source": "github",
                "stream": "pull_requests",
                "field": "title",
                "status": "known",
                "last_seen_at": now,
            },
            {
                "source": "github",
                "stream": "pull_requests",
                "field": "auto_merge_request",
                "status": "unknown",
                "last_seen_at": now,
            },
            {
                "source": "github",
                "stream": "issues",
                "field": "milestone",
                "status": "missing",
                "last_seen_at": now,
            },
        ],
    )
    commits, evidence = [], []
    for row in COMMITS:
        commit_sha = sha(row["label"])
        when = calendar[LAST_CLOSED].start + timedelta(days=2, hours=row["hour"])
        commits.append({
            "repo": row["repo"], "sha": commit_sha, "parent_count": 1, "is_merge": False, "on_default_branch": True,
            "in_default_history": True, "is_reachable": True, "author_email": row["author"],
            "author_canonical_email": row["author"], "authored_at": when, "committed_at": when,
            "subject": row["subject"], "is_revert": False, "additions": 20, "deletions": 2, "stats_complete": True,
            "ai_tool": row["tool"], "ai_mode": row["mode"], "run_id": "r1",
        })  # fmt: skip
        for rule_id, field, matched, tool, mode, confidence in row["evidence"]:
            evidence.append({
                "subject_kind": "commit", "repo": row["repo"], "subject_id": commit_sha, "rule_id": rule_id,
                "field": field, "matched": matched, "tool": tool, "mode": mode, "confidence": confidence,
                "ruleset_version": "2026.11.0", "run_id": "r1",
            })  # fmt: skip
    insert(con, "commits", commits)
    prs = []
    for number, tool, mode, title, rules in PRS:
        merged = calendar[LAST_CLOSED].start + timedelta(days=3, hours=number)
        prs.append({
            "source": "github", "forge": "github", "repo": "acme/web-app", "number": number, "forge_id": str(number),
            "title": title, "author_login": "ana", "author_type": "user", "state": "merged", "is_draft": False,
            "created_at": merged - timedelta(days=1), "updated_at": merged, "merged_at": merged,
            "base_ref": "main", "head_ref": f"feature/{number}", "labels": [], "body_length": 0,
            "ai_tool": tool, "ai_mode": mode, "is_deleted": False, "synced_at": now, "run_id": "r4",
        })  # fmt: skip
        for rule_id, field, matched, r_tool, r_mode, confidence in rules:
            evidence.append({
                "subject_kind": "pr", "repo": "acme/web-app", "subject_id": str(number), "rule_id": rule_id,
                "field": field, "matched": matched, "tool": r_tool, "mode": r_mode, "confidence": confidence,
                "ruleset_version": "2026.11.0", "run_id": "r4", "source": "github",
            })  # fmt: skip
    insert(con, "pull_requests", prs)
    insert(con, "ai_evidence", evidence)


# Commits of the last closed sprint: (label, repo, team, author, hour, tool, mode, subject, evidence).
_CLAUDE = (
    "C1",
    "trailer",
    "Co-Authored-By: Claude <noreply@anthropic.com>",
    "claude_code",
    "assisted",
    0.95,
)
_AGENT = ("C4", "author", "Claude <noreply@anthropic.com>", "claude_code", "agent", 0.95)
_CURSOR = (
    "U1",
    "trailer",
    "Co-authored-by: Cursor Agent <cursoragent@cursor.com>",
    "cursor",
    "assisted",
    0.9,
)
_COPILOT = (
    "G1",
    "author",
    "Copilot <198982749+Copilot@users.noreply.github.com>",
    "copilot_agent",
    "agent",
    0.95,
)
_SESSION = ("C3.body", "body", "https://claude.ai/code/session_01", "claude_code", "agent", 0.9)

COMMITS: list[dict[str, Any]] = [
    {
        "label": "web-a1",
        "repo": "web-app",
        "team": "Web",
        "author": "ana@acme.example",
        "hour": 1,
        "tool": "claude_code",
        "mode": "agent",
        "subject": "Add retry budget to checkout",
        "evidence": [_AGENT, _SESSION],
    },
    {
        "label": "web-a2",
        "repo": "web-app",
        "team": "Web",
        "author": "ben@acme.example",
        "hour": 2,
        "tool": "copilot_agent",
        "mode": "agent",
        "subject": "Fix flaky cart test",
        "evidence": [_COPILOT],
    },
    {
        "label": "web-a3",
        "repo": "web-app",
        "team": "Web",
        "author": "ana@acme.example",
        "hour": 3,
        "tool": "claude_code",
        "mode": "assisted",
        "subject": "Refactor price rounding",
        "evidence": [_CLAUDE],
    },
    {
        "label": "web-a4",
        "repo": "web-app",
        "team": "Web",
        "author": "cleo@acme.example",
        "hour": 4,
        "tool": "cursor",
        "mode": "assisted",
        "subject": "Tidy up session store",
        "evidence": [_CURSOR],
    },
    *[
        {
            "label": f"web-h{i}",
            "repo": "web-app",
            "team": "Web",
            "author": "ben@acme.example",
            "hour": 5 + i,
            "tool": None,
            "mode": None,
            "subject": f"Human change {i}",
            "evidence": [],
        }
        for i in range(6)
    ],
    {
        "label": "mob-a1",
        "repo": "mobile-app",
        "team": "Mobile",
        "author": "dan@acme.example",
        "hour": 1,
        "tool": "cursor",
        "mode": "assisted",
        "subject": "Speed up image cache",
        "evidence": [_CURSOR],
    },
    *[
        {
            "label": f"mob-h{i}",
            "repo": "mobile-app",
            "team": "Mobile",
            "author": "eve@acme.example",
            "hour": 2 + i,
            "tool": None,
            "mode": None,
            "subject": f"Mobile change {i}",
            "evidence": [],
        }
        for i in range(4)
    ],
    {
        "label": "tny-a1",
        "repo": "tiny-svc",
        "team": "Tiny",
        "author": "fay@acme.example",
        "hour": 1,
        "tool": "claude_code",
        "mode": "agent",
        "subject": "Tiny secret agent change",
        "evidence": [_AGENT],
    },
    {
        "label": "tny-a2",
        "repo": "tiny-svc",
        "team": "Tiny",
        "author": "fay@acme.example",
        "hour": 2,
        "tool": "claude_code",
        "mode": "assisted",
        "subject": "Tiny secret assisted change",
        "evidence": [_CLAUDE],
    },
    *[
        {
            "label": f"tny-h{i}",
            "repo": "tiny-svc",
            "team": "Tiny",
            "author": "fay@acme.example",
            "hour": 3 + i,
            "tool": None,
            "mode": None,
            "subject": f"Tiny change {i}",
            "evidence": [],
        }
        for i in range(3)
    ],
]

# Merged PRs of Web in the last closed sprint: (number, tool, mode, title, evidence).
PRS: list[tuple[int, str | None, str | None, str, list[tuple[str, str, str, str, str, float]]]] = [
    (
        11,
        "copilot_agent",
        "agent",
        "Copilot: fix flaky cart test",
        [("G2", "author", "Copilot", "copilot_agent", "agent", 0.95)],
    ),
    (12, "claude_code", "assisted", "Refactor price rounding", [_CLAUDE]),
    (13, None, None, "Update dependencies by hand", []),
]


def _marts(calendar: list[Sprint], schemas: Mapping[str, pl.Schema], *, durability: bool) -> dict[str, pl.DataFrame]:  # fmt: skip
    def frame(name: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
        schema = schemas[name]
        return pl.DataFrame(
            [{c: r.get(c) for c in schema.names()} for r in rows], schema=schema, orient="row"
        )

    calendar_rows = []
    for s in calendar:
        calendar_rows.append({"team": ORG, "sprint_id": s.org_id, "sprint_name": s.org_name, "sprint_start": s.start,
                              "sprint_end": s.end, "sprint_state": s.state, "origin": "cadence:14d"})  # fmt: skip
        for team in TEAMS:
            calendar_rows.append({"team": team, "sprint_id": s.team_id(team), "sprint_name": s.team_name(team),
                                  "sprint_start": s.start + timedelta(hours=8), "sprint_end": s.end + timedelta(hours=7),
                                  "sprint_state": s.state, "origin": f"jira:{PREFIX[team]}"})  # fmt: skip
    metric_rows = [
        row
        for s in calendar
        for team in (ORG, *TEAMS)
        for metric_id in definitions()
        if (row := metric_row(metric_id, team, s, durability=durability)) is not None
    ]
    sprint_metrics = frame("sprint_metrics", metric_rows).sort("team", "sprint_start", "metric_id")

    mix = []
    for s in calendar[2:]:
        grow = s.index - 1
        for team, scale in ((ORG, 3), ("Web", 2), ("Mobile", 1)):
            sprint_id = s.org_id if team == ORG else s.team_id(team)
            mix += [
                {
                    "team": team,
                    "sprint_id": sprint_id,
                    "tool": "claude_code",
                    "mode": "assisted",
                    "commits": 3 * grow * scale,
                    "lines": 300 * grow * scale,
                    "prs": grow * scale,
                },
                {
                    "team": team,
                    "sprint_id": sprint_id,
                    "tool": "claude_code",
                    "mode": "agent",
                    "commits": grow * scale,
                    "lines": 150 * grow * scale,
                    "prs": grow,
                },
                {
                    "team": team,
                    "sprint_id": sprint_id,
                    "tool": "cursor",
                    "mode": "assisted",
                    "commits": 2 * scale,
                    "lines": 100 * scale,
                    "prs": 1,
                },
                {
                    "team": team,
                    "sprint_id": sprint_id,
                    "tool": "copilot_agent",
                    "mode": "agent",
                    "commits": scale,
                    "lines": 80 * scale,
                    "prs": scale,
                },
            ]
    last = calendar[LAST_CLOSED]
    commits = []
    for row in COMMITS:
        when = last.start + timedelta(days=2, hours=row["hour"])
        commits.append({
            "repo": row["repo"], "sha": sha(row["label"]), "authored_at": when, "committed_at": when,
            "author_identity": row["author"], "is_merge": False, "in_default_history": True,
            "ai_tool": row["tool"], "ai_mode": row["mode"], "ai_via_pr": None, "is_revert": False,
            "stats_complete": True, "lines_added": 20, "lines_deleted": 2, "person_id": row["author"],
            "is_bot": False, "is_ai": row["mode"] is not None, "is_agent": row["mode"] == "agent", "is_work": True,
            "team": row["team"], "team_via": "person", "sprint_id": last.team_id(row["team"]), "org_sprint_id": last.org_id,
        })  # fmt: skip
    prs = []
    for number, tool, mode, _, _ in PRS:
        merged = last.start + timedelta(days=3, hours=number)
        prs.append({
            "source": "github", "repo": "acme/web-app", "number": number, "author_identity": "ana",
            "author_type": "user", "state": "merged", "is_draft": False, "created_at": merged - timedelta(days=1),
            "merged_at": merged, "additions": 40, "deletions": 4, "changed_files": 3, "ai_tool": tool, "ai_mode": mode,
            "git_repo": "web-app", "changes_requested": 0, "human_reviews": 1, "person_id": "ana@acme.example",
            "is_bot": False, "is_ai": mode is not None, "is_agent": mode == "agent", "is_merged": True,
            "is_abandoned": False, "finished_at": merged, "team": "Web", "team_via": "person",
            "sprint_id": last.team_id("Web"), "org_sprint_id": last.org_id,
        })  # fmt: skip
    unmatched = [
        {
            "identity": "old-laptop@users.example",
            "kind": "email",
            "seen": 14,
            "suggestion": "ana@acme.example",
        },
        {"identity": "712020:abcd", "kind": "account", "seen": 3, "suggestion": None},
    ]
    tables = {name: pl.DataFrame(schema=schema) for name, schema in schemas.items()}
    tables |= {
        "mart_calendar": frame("mart_calendar", calendar_rows),
        "sprint_metrics": sprint_metrics,
        "sprint_tool_mix": frame("sprint_tool_mix", mix),
        "board_summary": board_summary(sprint_metrics),
        "mart_commits": frame("mart_commits", commits),
        "mart_prs": frame("mart_prs", prs),
        "mart_unmatched_identities": frame("mart_unmatched_identities", unmatched),
    }
    return tables


def build_empty(path: Path) -> Path:
    """A migrated warehouse with nothing ingested: what `sprintproof migrate` leaves."""
    with connect(path) as con:
        migrate(con)
    return path


def build_without_metrics(path: Path) -> Path:
    """Commits ingested, metrics never computed."""
    now = datetime.now(UTC)
    with connect(path) as con:
        migrate(con)
        insert(con, "commits", [{"repo": "web-app", "sha": sha("only"), "authored_at": now, "committed_at": now,
                                 "subject": "First", "run_id": "r"}])  # fmt: skip
    return path
