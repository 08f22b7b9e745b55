"""The SQL in docs/metrics.md reproduces every delivery, quality and guard number from the fact marts."""

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from metrics.definitions import definitions
from metrics.marts import Marts, write
from metrics.model import ORG, Member, Settings, TeamSpec
from tests.metrics.delivery_support import (
    START,
    STATUSES,
    TODAY,
    commit,
    forge_repo,
    pr,
    release,
    review,
    run,
)
from tests.metrics.test_velocity import EVENTS, MOB_SPRINTS, TICKET_SPRINTS, TICKETS, WEB_SPRINTS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
FAMILIES = ("delivery", "quality", "guard")
ROLLOUT = {"Web": date(2026, 3, 30), "Mob": date(2026, 3, 31), "Ops": date(2026, 4, 13)}

WEB = TeamSpec(
    "Web",
    members=(Member("a@x"), Member("b@x"), Member("c@x")),
    repos=("web",),
    projects=("WEB",),
    ai_rollout=ROLLOUT["Web"],
    sprint_source="jira",
    sprint_board="7",
)
MOB = TeamSpec(
    "Mob",
    members=(Member("d@x"), Member("e@x"), Member("f@x")),
    ai_rollout=ROLLOUT["Mob"],
    sprint_source="gh",
    sprint_board="acme/mobile",
)
OPS = TeamSpec(
    "Ops",
    members=(Member("g@x"), Member("h@x"), Member("i@x")),
    projects=("OPS",),
    ai_rollout=ROLLOUT["Ops"],
)
DUO = TeamSpec("Duo", members=(Member("y@x"), Member("z@x")), projects=("DUO",))  # suppressed
SETTINGS = Settings(
    teams=(WEB, MOB, OPS, DUO),
    cadence_days=14,
    cadence_start=START.date(),
    min_sample=2,
    baseline_min_sprints=1,
    bootstrap_samples=200,
    today=TODAY,
)


def doc_queries() -> dict[str, str]:
    """metric id -> the first SQL block (indented, starting with SELECT or WITH) of its section."""
    text = DOCS.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)
    found: dict[str, str] = {}
    for section in sections[1:]:
        metric_id = section.split(" ", 1)[0]
        blocks = re.findall(r"(?:^    .*\n)+", section, flags=re.MULTILINE)
        for block in blocks:
            sql = "\n".join(line[4:] for line in block.splitlines() if line.strip())
            if sql.startswith(("SELECT", "WITH")):
                found[metric_id] = sql
                break
    return found


@pytest.fixture(scope="module")
def warehouse() -> duckdb.DuckDBPyConnection:
    day = [1, 2, 3, 4, 5, 16, 17, 18, 30, 31]
    commits = [
        commit(i, f"{'abcdg'[i % 5]}@x", d, lines=50 * (i + 1), revert=i == 3)
        for i, d in enumerate(day)
    ] + [commit(99, "bot@x", 2, lines=500, mode="bot"), commit(98, "a@x", 3, complete=False)]
    prs = [
        pr(1, "a@x", 1, merged=3),
        pr(2, "b@x", 2, merged=5),
        pr(3, "c@x", 2, closed=6),
        pr(4, "d@x", 3, merged=8),
        pr(5, "g@x", 15, merged=17),
        pr(6, "a@x", 15, merged=20),
        pr(7, "b@x", 29, merged=31),
        pr(8, "renovate", 2, merged=3, mode="bot"),
        pr(9, "y@x", 3, merged=4),
    ]
    reviews = [
        review(1, "b@x", "changes_requested", 2),
        review(1, "coderabbit", "changes_requested", 2, human=False),
        review(2, "a@x", "approved", 3),
        review(3, "a@x", "changes_requested", 4),
        review(4, "coderabbit", "changes_requested", 4, human=False),
        review(5, "h@x", "approved", 16),
        review(6, "c@x", "changes_requested", 16),
        review(8, "a@x", "changes_requested", 2),
    ]
    extra_tickets = [
        {**TICKETS[0], "ticket_id": "BUG2", "key": "WEB-BUG2", "type_category": "bug",
         "created_at": START.replace(day=20), "sprint_id": None, "status_category": "todo", "resolved_at": None},
        {**TICKETS[0], "ticket_id": "DUO1", "key": "DUO-1", "project": "DUO", "sprint_id": None,
         "created_at": START.replace(day=3), "resolved_at": START.replace(day=5)},
    ]  # fmt: skip
    marts: Marts = run(
        SETTINGS,
        tickets=TICKETS + extra_tickets,
        ticket_events=EVENTS,
        ticket_sprints=TICKET_SPRINTS,
        ticket_statuses=STATUSES,
        sprints=WEB_SPRINTS + MOB_SPRINTS,
        commits=commits,
        prs=prs,
        reviews=reviews,
        releases=[release("1", 4), release("2", 18), release("3", 19, prerelease=True)],
        forge_repos=[forge_repo()],
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    write(con, marts)
    return con


def substitute(sql: str, team: str, sprint: str) -> str:
    org = team == ORG
    rollout = min(ROLLOUT.values()) if org else ROLLOUT.get(team)
    values = {
        "{scope}": f"org_sprint_id = '{sprint}'" if org else f"team = '{team}' AND sprint_id = '{sprint}'",
        "{created_scope}": f"created_org_sprint_id = '{sprint}'" if org
        else f"team = '{team}' AND created_sprint_id = '{sprint}'",
        "{sprint_col}": "org_sprint_id" if org else "sprint_id",
        "{created_col}": "created_org_sprint_id" if org else "created_sprint_id",
        "{teams}": "TRUE" if org else f"team = '{team}'",
        "{rollout}": rollout.isoformat() if rollout else "1900-01-01",
        "{min_sample}": str(SETTINGS.min_sample),
        "'S'": f"'{sprint}'",
        "'T'": f"'{team}'",
    }  # fmt: skip
    for key, value in values.items():
        sql = sql.replace(key, value)
    return sql


def test_every_delivery_quality_and_guard_metric_has_its_sql_in_the_docs() -> None:
    ours = {d.id for d in definitions().values() if d.family in FAMILIES}
    assert ours <= set(doc_queries()), sorted(ours - set(doc_queries()))


def test_the_documented_sql_reproduces_numerators_and_denominators(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    queries = doc_queries()
    rows = warehouse.execute(
        "SELECT m.team, m.sprint_id, m.metric_id, m.numerator, m.denominator, m.status, m.note "
        "FROM sprint_metrics m WHERE m.metric_id IN ("
        + ", ".join(f"'{d.id}'" for d in definitions().values() if d.family in FAMILIES)
        + ")"
    ).fetchall()
    checked = ok = 0
    for team, sprint, metric_id, numerator, denominator, status, note in rows:
        if status == "suppressed":
            assert team == "Duo" and numerator is None
            continue
        got = warehouse.execute(substitute(queries[metric_id], team, sprint)).fetchone()
        assert got is not None
        k, n = got
        if metric_id == "velocity_per_engineer" and "story points" not in (note or ""):
            k = numerator  # the documented numerator is the points basis
        assert (numerator or 0) == pytest.approx(k or 0), (team, sprint, metric_id, "numerator")
        if (
            metric_id not in ("velocity_acceleration", "bug_density_change")
            or numerator is not None
        ):
            assert (denominator or 0) == pytest.approx(n or 0), (
                team,
                sprint,
                metric_id,
                "denominator",
            )
        checked += 1
        ok += status == "ok"
    assert checked > 150 and ok > 60, (checked, ok)


def test_the_guard_mart_follows_the_documented_envelope(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rows = warehouse.execute(
        "SELECT value, after_rollout, baseline_mean, baseline_sd, envelope_high, inflated FROM mart_guards"
    ).fetchall()
    enveloped = 0
    for value, after, mean, sd, envelope, inflated in rows:
        if envelope is None:
            assert not inflated
            continue
        enveloped += 1
        assert envelope == pytest.approx(max(mean + 2 * (sd or 0), 1.3 * mean))
        assert inflated == bool(after and value is not None and value > envelope)
    assert enveloped > 0
