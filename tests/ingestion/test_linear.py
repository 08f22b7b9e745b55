"""The Linear connector over real HTTP against the Linear simulator: mapping, history, increments, resumption, limits, errors, privacy."""

import json
import logging
import time as _time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from linear_copilot_cli import ingest, ingest_killed_at, table_rows, text_containing, write_config
from linear_data import MARKER, NOW, TOKEN, Workspace, at, build

from ingestion import http, linear
from ingestion.connectors import run_source
from ingestion.http import (
    SourceAccessError,
    SourceAuthError,
    SourceNotFoundError,
    SourceResponseError,
    SourceUnavailableError,
)
from ingestion.settings import LinearSettings
from ingestion.sim.base import Fault
from ingestion.sim.linear import MAX_COMPLEXITY, LinearApiError, LinearSimulator
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import connect, migrate

TABLES = ("boards", "ticket_statuses", "sprints", "tickets", "ticket_events", "ticket_sprints", "identities")  # fmt: skip


class Clock:
    """Time that the client's sleeps move forward (the simulator and the HTTP client read it)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return _time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    fake = SimpleNamespace(time=clock.time, monotonic=_time.monotonic, sleep=clock.sleep)
    monkeypatch.setattr(http, "time", fake)
    monkeypatch.setattr(linear, "time", fake)
    return clock


@pytest.fixture
def sim(clock: Clock) -> LinearSimulator:
    sim = LinearSimulator(token=TOKEN, clock=clock.time)
    build(sim)
    return sim


@pytest.fixture
def url(sim: LinearSimulator) -> Iterator[str]:
    with sim.serve() as base:
        yield base


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


class Runner:
    """Runs the connector in process (with `run_source`) against the served simulator."""

    def __init__(
        self, warehouse: Path, url: str, sim: LinearSimulator, clock: Clock | None = None
    ) -> None:
        self.warehouse = warehouse
        self.clock = clock
        self.url = url
        self.sim = sim
        self.sleeps: list[float] = []
        self.warnings: list[str] = []
        self.now = NOW

    def settings(self, **keys: Any) -> LinearSettings:
        base = {"type": "linear", "base_url": self.url, "token_env": "LINEAR_API_KEY", "teams": ["ENG", "OPS"],
                "timeout_seconds": 2, "retries": 4}  # fmt: skip
        return LinearSettings.model_validate({**base, **keys})

    def __call__(self, token: str = TOKEN, **keys: Any) -> SyncResult:
        with connect(self.warehouse) as con:
            migrate(con)

            def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)
                if self.clock is not None:
                    self.clock.sleep(seconds)
                else:
                    self.sim.advance(seconds)

            ctx = SyncContext(con=con, env={"LINEAR_API_KEY": token}, sleep=sleep, now=lambda: self.now,
                              warn=self.warnings.append)  # fmt: skip
            return run_source(ctx, self.settings(**keys))

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with connect(self.warehouse) as con:
            return con.execute(sql, list(params)).fetchall()


@pytest.fixture
def run(warehouse: Path, url: str, sim: LinearSimulator, clock: Clock) -> Runner:
    return Runner(warehouse, url, sim, clock)


def issue_requests(sim: LinearSimulator) -> list[dict[str, Any]]:
    bodies = [json.loads(r.body) for r in sim.log if r.path == "/graphql"]
    return [b["variables"] for b in bodies if b["query"].lstrip().startswith("query Issues(")]


# ---------------------------------------------------------------------- mapping


def test_first_run_maps_teams_states_cycles_users_and_issues(
    run: Runner, sim: LinearSimulator
) -> None:
    result = run()
    assert result.rows["tickets"] == 24 and result.scopes == ["ENG", "OPS"]
    assert run.rows("SELECT kind, name, project FROM boards ORDER BY project") == [
        ("linear_team", "Engineering", "ENG"), ("linear_team", "Operations", "OPS")]  # fmt: skip
    assert run.rows("SELECT DISTINCT name, category FROM ticket_statuses ORDER BY ALL") == [
        ("Backlog", "todo"), ("Canceled", "canceled"), ("Done", "done"), ("Duplicate", "canceled"),
        ("In Progress", "in_progress"), ("In Review", "in_progress"), ("Todo", "todo"), ("Triage", "todo")]  # fmt: skip
    # Cycle 4 runs at NOW, cycle 3 ended and was completed; unnamed cycles get Linear's "Cycle N".
    assert run.rows("SELECT s.name, state, completed_at IS NOT NULL FROM sprints s JOIN boards b ON s.board_id = b.board_id "
                    "WHERE b.project = 'ENG' ORDER BY start_at") == [
        ("Cycle 1", "closed", True), ("ENG sprint 2", "closed", True), ("Cycle 3", "closed", True), ("ENG sprint 4", "active", False)]  # fmt: skip
    assert run.rows("SELECT login, email, account_type FROM identities WHERE kind = 'linear' ORDER BY login") == [
        ("ada", "ada@acme.example", "user"), ("bo", "bo@acme.example", "user"), ("cursor", "cursor@acme.example", "app"),
        ("cy", "cy@acme.example", "user"), ("former", "former@acme.example", "user")]  # fmt: skip
    eng2 = run.rows("SELECT key, project, type, type_category, status, status_category, resolution, priority, story_points, "
                    "labels, parent_key, sprint_id IS NOT NULL, body_length > 0, is_deleted, resolved_at IS NOT NULL "
                    "FROM tickets WHERE key IN ('ENG-2', 'ENG-3', 'ENG-5', 'ENG-8') ORDER BY key")  # fmt: skip
    assert eng2 == [
        ("ENG-2", "ENG", "Feature", "feature", "In Progress", "in_progress", None, "High", 3.0, ["Feature", "backend"], None, True, True, False, False),
        ("ENG-3", "ENG", None, "task", "Done", "done", "Done", "High", 2.0, [], None, True, True, False, True),
        ("ENG-5", "ENG", None, "task", "Canceled", "canceled", "Canceled", "High", 2.0, ["backend"], "ENG-1", True, True, False, True),
        ("ENG-8", "ENG", None, "task", "Duplicate", "canceled", "Duplicate", "High", 2.0, [], None, True, True, False, True),
    ]  # fmt: skip
    assert run.rows("SELECT type, type_category FROM tickets WHERE key = 'ENG-4'") == [
        ("Incident", "incident")
    ]
    assert run.rows("SELECT type, type_category FROM tickets WHERE key = 'ENG-1'") == [
        ("Bug", "bug")
    ]
    assert run.rows("SELECT count(*) FROM tickets WHERE project = 'MKT'") == [(0,)]


def test_history_becomes_ticket_events_with_names_and_every_cycle_of_the_ticket(
    run: Runner, sim: LinearSimulator
) -> None:
    run()
    events = run.rows("SELECT e.field, e.from_value, e.to_value, e.from_id IS NOT NULL, e.to_id IS NOT NULL "
                      "FROM ticket_events e JOIN tickets t USING (source, ticket_id) WHERE t.key = 'ENG-1' "
                      "ORDER BY e.changed_at DESC, e.position")  # fmt: skip
    assert events == [
        ("status", "Backlog", "Todo", True, True),
        ("assignee", None, None, False, True),
        ("labels", None, "Bug", False, True),
        ("sprint", "ENG sprint 2", "Cycle 3", True, True),
        ("story_points", None, "2", False, False),
        ("status", "Triage", "Backlog", True, True),
    ]  # fmt: skip
    sprints = run.rows("SELECT s.name FROM ticket_sprints ts JOIN tickets t USING (source, ticket_id) "
                       "JOIN sprints s ON s.sprint_id = ts.sprint_id WHERE t.key = 'ENG-1' ORDER BY s.start_at")  # fmt: skip
    assert sprints == [("ENG sprint 2",), ("Cycle 3",)]
    assert (
        run.rows("SELECT count(DISTINCT actor_id) FROM ticket_events WHERE actor_id IS NOT NULL")[
            0
        ][0]
        >= 3
    )


def test_a_long_history_is_read_in_further_pages(run: Runner, sim: LinearSimulator) -> None:
    w = Workspace(sim)
    team = {"id": sim.issues[next(iter(sim.issues))]["teamId"], "key": "ENG"}
    states = [w.state_id("ENG", s) for s in ("Todo", "In Progress", "In Review")]
    history = [
        w.change(20 - i * 0.1, None, fromStateId=states[i % 3], toStateId=states[(i + 1) % 3])
        for i in range(130)
    ]
    w.numbers["ENG"] = iter(range(100, 200))  # type: ignore[assignment]
    sim.add("issues", {**next(iter(sim.issues.values())), "id": "long", "identifier": "ENG-100", "history": history,
                       "teamId": team["id"], "updatedAt": at(1)})  # fmt: skip
    run()
    assert run.rows("SELECT count(*) FROM ticket_events WHERE ticket_id = 'long'") == [(130,)]
    assert sim.operations.count("IssueHistory") == 2  # 20 inline, then 100 and 10


# ---------------------------------------------------------------------- increments and checkpoints


def test_an_incremental_run_asks_for_updates_since_the_watermark_minus_the_overlap(
    run: Runner, sim: LinearSimulator
) -> None:
    run(overlap_minutes=30)
    first = table_rows(run.warehouse, TABLES)
    newest = max(i["updatedAt"] for i in sim.issues.values() if i["teamId"] == sim.issues[next(iter(sim.issues))]["teamId"])  # fmt: skip
    sim.log.clear()
    result = run(overlap_minutes=30)
    eng = issue_requests(sim)[0]["filter"]
    assert eng["updatedAt"]["gt"] == linear._iso(linear.parse_time(newest) - timedelta(minutes=30))  # type: ignore[operator]
    assert result.rows.get("tickets", 0) <= 2  # the overlap re-reads the newest issue of each team
    assert table_rows(run.warehouse, TABLES) == first
    # An issue changed upstream is read again and replaced, not duplicated.
    issue = next(i for i in sim.issues.values() if i["identifier"] == "OPS-3")
    issue.update(title="Renamed", estimate=8.0, updatedAt=at(0.01))
    run()
    assert run.rows("SELECT title, story_points FROM tickets WHERE key = 'OPS-3'") == [
        ("Renamed", 8.0)
    ]
    assert run.rows("SELECT count(*) FROM tickets") == [(24,)]


def test_since_bounds_the_first_run(run: Runner, sim: LinearSimulator) -> None:
    run(since=(NOW - timedelta(days=10)).date().isoformat())
    assert issue_requests(sim)[0]["filter"]["updatedAt"] == {"gt": "2026-11-10T00:00:00Z"}
    assert 0 < run.rows("SELECT count(*) FROM tickets")[0][0] < 24


def test_each_page_is_checkpointed_and_a_failed_run_resumes_where_it_stopped(
    run: Runner, sim: LinearSimulator, tmp_path: Path
) -> None:
    # Request 11 is ENG's second issues page: it fails for good (a 403), after page one was stored.
    sim.inject(
        Fault("status", path="/graphql", status=403, body={"message": "nope"}, after=10, times=1)
    )
    with pytest.raises(SourceAccessError):
        run(page_size=5)
    cursor = run.rows("SELECT cursor FROM sync_state WHERE scope = 'ENG' AND stream = 'issues'")
    saved = json.loads(cursor[0][0])
    assert saved["after"] and "watermark" not in saved
    assert run.rows("SELECT count(*) FROM tickets") == [(5,)]
    sim.log.clear()
    run(page_size=5)
    assert issue_requests(sim)[0]["after"] == saved["after"]  # continued, not restarted
    clean = Runner(tmp_path / "clean.duckdb", run.url, sim, run.clock)
    clean(page_size=5)
    assert table_rows(run.warehouse, TABLES) == table_rows(clean.warehouse, TABLES)


def test_a_saved_page_cursor_the_api_refuses_restarts_the_pass(
    run: Runner, sim: LinearSimulator
) -> None:
    sim.inject(
        Fault("status", path="/graphql", status=403, body={"message": "nope"}, after=10, times=1)
    )
    with pytest.raises(SourceAccessError):
        run(page_size=5)
    saved = json.loads(
        run.rows("SELECT cursor FROM sync_state WHERE scope = 'ENG' AND stream = 'issues'")[0][0]
    )
    del sim.issues[saved["after"]]  # the issue the cursor pointed at was deleted for good
    run(page_size=5)
    assert any("saved page cursor was refused" in w for w in run.warnings)
    assert run.rows("SELECT count(*) FROM tickets WHERE project = 'ENG' AND NOT is_deleted") == [
        (11,)
    ]


@pytest.fixture(scope="module")
def clean_cli_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    """The tables after one uninterrupted `sprintproof ingest` of the test workspace."""
    folder = tmp_path_factory.mktemp("clean")
    sim = LinearSimulator(token=TOKEN)
    build(sim)
    with sim.serve() as base:
        config = write_config(folder / "clean.yaml", folder / "clean.duckdb", cli_source(base))
        done = ingest(config, {"LINEAR_API_KEY": TOKEN})
    assert done.returncode == 0, done.stderr
    return table_rows(folder / "clean.duckdb", TABLES)


def cli_source(url: str) -> dict[str, Any]:
    return {
        "type": "linear",
        "base_url": url,
        "token_env": "LINEAR_API_KEY",
        "teams": ["ENG", "OPS"],
        "page_size": 5,
    }


@pytest.mark.parametrize("kill_at", [11, 14])  # ENG's second issues page, OPS's second
def test_a_killed_cli_run_resumes_with_exactly_the_rows_of_a_clean_run(
    sim: LinearSimulator,
    url: str,
    tmp_path: Path,
    kill_at: int,
    clean_cli_rows: dict[str, list[tuple[Any, ...]]],
) -> None:
    env = {"LINEAR_API_KEY": TOKEN}
    config = write_config(tmp_path / "killed.yaml", tmp_path / "killed.duckdb", cli_source(url))
    assert ingest_killed_at(sim, config, env, kill_at) < 0
    with connect(tmp_path / "killed.duckdb") as con:  # the kill left some pages, not all
        assert 0 < con.execute("SELECT count(*) FROM tickets").fetchall()[0][0] < 24
    again = ingest(config, env)
    assert again.returncode == 0, again.stderr
    resumed = table_rows(tmp_path / "killed.duckdb", TABLES)
    assert resumed == clean_cli_rows
    assert len(resumed["tickets"]) == 24 and len(resumed["ticket_events"]) > 80


# ---------------------------------------------------------------------- rate limits and retries


def ratelimited(
    status: int = 400, reset_in: float = 40.0, sim: LinearSimulator | None = None
) -> Fault:
    assert sim is not None
    reset = str(int((sim.now() + reset_in) * 1000))
    body = {
        "errors": [LinearApiError("Rate limit exceeded", "RATELIMITED", "ratelimited").as_json()]
    }
    headers = {"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": reset,
               "X-RateLimit-Complexity-Remaining": "100000", "X-RateLimit-Complexity-Reset": reset}  # fmt: skip
    return Fault("status", path="/graphql", status=status, body=body, headers=headers, after=3)


@pytest.mark.parametrize("status", [400, 429])
def test_a_ratelimited_graphql_error_waits_for_the_reset_then_continues(
    run: Runner, sim: LinearSimulator, status: int
) -> None:
    sim.inject(ratelimited(status, sim=sim))
    run()
    assert len(run.sleeps) == 1 and 35 <= run.sleeps[0] <= 45
    assert run.rows("SELECT count(*) FROM tickets") == [(24,)]


def test_a_429_with_retry_after_is_honoured(run: Runner, sim: LinearSimulator) -> None:
    sim.inject(Fault("status", path="/graphql", status=429, headers={"Retry-After": "12"}, after=2))
    run()
    assert len(run.sleeps) == 1 and 12 <= run.sleeps[0] <= 13.5


def test_a_spent_budget_pauses_before_the_next_request(run: Runner, sim: LinearSimulator) -> None:
    sim.requests_remaining = 4  # the fourth request spends it
    sim.window_seconds = 30.0
    sim._reset_at = sim.now() + 30
    run()
    assert len(run.sleeps) == 1 and 25 <= run.sleeps[0] <= 31
    assert len(sim.complexities) == len(sim.log)  # no request was refused
    assert run.rows("SELECT count(*) FROM tickets") == [(24,)]


def test_a_spent_complexity_budget_pauses_too(run: Runner, sim: LinearSimulator) -> None:
    sim.complexity_limit = sim.complexity_remaining = 9_000
    sim.window_seconds = 20.0
    sim._reset_at = sim.now() + 20
    run()
    assert run.sleeps and all(15 <= s <= 21 for s in run.sleeps)
    assert len(sim.complexities) == len(sim.log)
    assert run.rows("SELECT count(*) FROM tickets") == [(24,)]


def test_server_errors_timeouts_resets_and_truncated_json_are_retried(
    run: Runner, sim: LinearSimulator
) -> None:
    sim.inject(
        Fault("status", path="/graphql", status=502, times=2, after=1),
        Fault("status", path="/graphql", status=503, times=1, after=3),
        Fault("truncate", path="/graphql", after=4),
        Fault("reset", path="/graphql", after=6),
        Fault("delay", path="/graphql", seconds=1.5, after=7),
    )
    run(timeout_seconds=1)
    assert len(run.sleeps) == 6
    assert run.rows("SELECT count(*) FROM tickets") == [(24,)]


def test_waiting_is_bounded_then_the_run_fails_clearly(run: Runner, sim: LinearSimulator) -> None:
    sim.inject(Fault("status", path="/graphql", status=503, times=50))
    with pytest.raises(SourceUnavailableError, match="gave up after"):
        run(retries=3)
    sim.faults.clear()
    sim.inject(ratelimited(reset_in=5000, sim=sim))
    with pytest.raises(SourceUnavailableError, match="more than the allowed wait"):
        run(max_wait_seconds=60)


def test_queries_stay_well_under_linears_complexity_ceiling(
    run: Runner, sim: LinearSimulator
) -> None:
    run()
    assert max(sim.complexities) < MAX_COMPLEXITY / 2
    sim.complexities.clear()
    run(page_size=1000)  # clamped to 100 issues a page
    assert max(sim.complexities) < MAX_COMPLEXITY


# ---------------------------------------------------------------------- errors


def test_a_repeating_cursor_stops_the_stream_with_a_clear_error(
    run: Runner, sim: LinearSimulator
) -> None:
    sim.stuck_cursor = True
    with pytest.raises(SourceResponseError, match="already returned"):
        run(page_size=5)
    assert len(issue_requests(sim)) == 2


@pytest.mark.parametrize("status", [400, 401])
def test_a_wrong_key_is_an_auth_error_naming_the_variable(
    run: Runner, sim: LinearSimulator, status: int
) -> None:
    sim.auth_status = status
    with pytest.raises(SourceAuthError, match=r"\$LINEAR_API_KEY") as error:
        run(token="lin_api_wrong0000000000000000")
    assert "lin_api_wrong" not in str(error.value)


def test_oauth_tokens_are_sent_as_bearer_and_keys_as_they_are(
    warehouse: Path, tmp_path: Path
) -> None:
    assert linear.authorization("lin_api_abc") == "lin_api_abc"
    assert linear.authorization("lin_oauth_abc") == "Bearer lin_oauth_abc"
    assert linear.authorization("Bearer xyz") == "Bearer xyz"
    sim = LinearSimulator(token="lin_oauth_0123456789abcdef")
    build(sim)
    with sim.serve() as base:
        Runner(warehouse, base, sim)(token="lin_oauth_0123456789abcdef")
    assert sim.log[0].headers["authorization"] == "Bearer lin_oauth_0123456789abcdef"


def test_forbidden_is_an_access_error(run: Runner, sim: LinearSimulator) -> None:
    body = {
        "errors": [
            LinearApiError("You don't have access to this team", "FORBIDDEN", "forbidden").as_json()
        ]
    }
    sim.inject(Fault("status", path="/graphql", status=400, body=body, after=1))
    with pytest.raises(SourceAccessError, match="member of the teams"):
        run()


def test_a_wrong_endpoint_is_not_found(run: Runner) -> None:
    run.url += "/not-linear"
    with pytest.raises(SourceNotFoundError, match="HTTP 404"):
        run()


def test_retries_are_logged_without_the_key(
    run: Runner, sim: LinearSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.inject(Fault("status", path="/graphql", status=502, times=2, after=4))
    with caplog.at_level(logging.DEBUG):
        run()
    assert "retrying" in caplog.text and TOKEN not in caplog.text


def test_an_unknown_team_key_is_not_found(run: Runner) -> None:
    with pytest.raises(SourceNotFoundError, match="no team with key NOPE"):
        run(teams=["ENG", "NOPE"])


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            {"data": {"teams": {"nodes": "oops", "pageInfo": {"hasNextPage": False}}}},
            "a list in 'teams.nodes'",
        ),
        ({"data": None}, "an object in 'data'"),
        (
            {
                "data": {
                    "teams": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}
                }
            },
            "no endCursor",
        ),
        ([1, 2], "a JSON object"),
    ],
)
def test_malformed_answers_name_the_query_and_what_was_expected(
    run: Runner, sim: LinearSimulator, body: Any, expected: str
) -> None:
    sim.inject(Fault("status", path="/graphql", status=200, body=body))
    with pytest.raises(SourceResponseError, match="teams") as error:
        run()
    assert expected in str(error.value)


def test_a_field_linear_does_not_have_fails_as_it_would_on_linear(
    run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linear, "CYCLES_QUERY", linear.CYCLES_QUERY.replace("startsAt", "startAt"))
    with pytest.raises(SourceResponseError, match="Cannot query field 'startAt' on type 'Cycle'"):
        run()


def test_the_cli_prints_one_error_line_exits_2_and_never_shows_the_key(
    sim: LinearSimulator, url: str, tmp_path: Path
) -> None:
    wrong = "lin_api_Wr0ngWr0ngWr0ngWr0ngWr0ng"
    config = write_config(tmp_path / "c.yaml", tmp_path / "w.duckdb", {"type": "linear", "base_url": url, "token_env": "LINEAR_API_KEY"})  # fmt: skip
    done = ingest(config, {"LINEAR_API_KEY": wrong})
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert (
        len(errors) == 1
        and "refused the credentials" in errors[0]
        and "$LINEAR_API_KEY" in errors[0]
    )
    assert wrong not in done.stdout + done.stderr
    assert wrong.encode() not in (tmp_path / "w.duckdb").read_bytes()


# ---------------------------------------------------------------------- privacy, deletions, drift, replay


def test_neither_descriptions_nor_the_key_reach_the_warehouse(
    run: Runner, sim: LinearSimulator
) -> None:
    run()
    run()
    data = run.warehouse.read_bytes()
    assert MARKER.encode() not in data and TOKEN.encode() not in data
    assert (
        text_containing(run.warehouse, MARKER) == [] and text_containing(run.warehouse, TOKEN) == []
    )
    assert text_containing(run.warehouse, "Engineering work item 3") == [
        ("tickets", "title")
    ]  # the scan works
    lengths = run.rows("SELECT min(body_length) FROM tickets")
    assert lengths[0][0] > len(MARKER)


def test_deleted_archived_and_moved_issues_do_not_stay_live(
    run: Runner, sim: LinearSimulator
) -> None:
    run()
    by_key = {i["identifier"]: i for i in sim.issues.values()}
    mkt = by_key["MKT-1"]["teamId"]
    by_key["ENG-1"].update(
        trashed=True, archivedAt=at(0.5), updatedAt=at(0.5)
    )  # deleted: in the trash
    by_key["ENG-3"].update(archivedAt=at(0.5), updatedAt=at(0.5))  # done and archived: still counts
    by_key["ENG-2"].update(archivedAt=at(0.5), updatedAt=at(0.5))  # archived while open: gone
    by_key["OPS-2"].update(teamId=mkt, identifier="MKT-99", updatedAt=at(0.5))  # moved out of scope
    del sim.issues[by_key["OPS-4"]["id"]]  # deleted for good after the trash period
    cycle = next(
        c
        for c in sim.cycles.values()
        if c["completedAt"] is None and c["teamId"] == by_key["ENG-4"]["teamId"]
    )
    cycle.update(archivedAt=at(0.5))
    run.now = NOW + timedelta(days=2)  # the daily reconciliation is due
    run()
    deleted = run.rows("SELECT key FROM tickets WHERE is_deleted ORDER BY key")
    assert deleted == [("ENG-1",), ("ENG-2",), ("OPS-2",), ("OPS-4",)]
    assert run.rows("SELECT is_deleted FROM sprints WHERE sprint_id = ?", cycle["id"]) == [(True,)]
    # Restored from the trash: live again.
    by_key["ENG-1"].update(trashed=None, archivedAt=None, updatedAt=at(0.1))
    run()
    assert run.rows("SELECT is_deleted FROM tickets WHERE key = 'ENG-1'") == [(False,)]


def test_reconciliation_runs_every_reconcile_days(run: Runner, sim: LinearSimulator) -> None:
    run()
    run()
    assert sim.operations.count("IssueIds") == 2  # once per team on the first run only
    run.now = NOW + timedelta(days=1, minutes=1)
    run()
    assert sim.operations.count("IssueIds") == 4


def test_schema_drift_is_recorded(run: Runner) -> None:
    run()
    fields = run.rows(
        "SELECT field, status FROM source_fields WHERE source = 'linear' AND stream = 'issues' ORDER BY field"
    )
    assert ("identifier", "known") in fields and ("history", "known") in fields


def test_every_team_the_key_sees_when_none_are_configured(run: Runner) -> None:
    result = run(teams=[])
    assert sorted(result.scopes) == ["ENG", "MKT", "OPS"]
    assert run.rows("SELECT count(*) FROM tickets") == [(36,)]


def test_replay_dir_serves_the_exports_without_a_token(
    sim: LinearSimulator, tmp_path: Path
) -> None:
    sim.to_dir(tmp_path / "exports")
    with connect(tmp_path / "r.duckdb") as con:
        migrate(con)
        ctx = SyncContext(con=con, env={}, now=lambda: NOW)
        settings = LinearSettings(
            type="linear", replay_dir=str(tmp_path / "exports"), teams=["ENG"]
        )
        result = run_source(ctx, settings)
    assert result.rows["tickets"] == 12


def test_settings_reject_bad_team_keys_and_lower_type_labels() -> None:
    with pytest.raises(ValueError, match="not a Linear team key"):
        LinearSettings(type="linear", token_env="K", teams=["EN G"])
    settings = LinearSettings(type="linear", token_env="K", issue_type_labels={"Defect": "bug"})
    assert settings.issue_type_labels == {"defect": "bug"}
