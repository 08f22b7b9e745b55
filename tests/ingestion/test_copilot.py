"""The Copilot usage metrics connector over real HTTP against the simulator: daily reports, team joins, the older API, windows, limits, errors."""

import json
import time as _time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from copilot_data import ORG, PEOPLE, TOKEN, fill, legacy_day
from linear_copilot_cli import ingest, ingest_killed_at, table_rows, text_containing, write_config

from ingestion import copilot, http
from ingestion.connectors import run_source
from ingestion.http import (
    SourceAccessError,
    SourceAuthError,
    SourceNotFoundError,
    SourceResponseError,
    SourceUnavailableError,
)
from ingestion.settings import CopilotSettings
from ingestion.sim.base import Fault
from ingestion.sim.copilot import CopilotSimulator
from ingestion.sync import SyncContext, SyncResult
from ingestion.warehouse import connect, migrate

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # a Friday; reports exist up to Thursday the 19th
TODAY = NOW.date()
TABLES = ("copilot_usage", "identities")
SINCE_DAYS = 12  # how far back the tests' first runs reach unless they say otherwise


class Clock:
    """Time that the client's sleeps move forward (the simulator and the HTTP client read it)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return _time.time() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    fake = SimpleNamespace(time=clock.time, monotonic=_time.monotonic, sleep=lambda s: None)
    monkeypatch.setattr(http, "time", fake)
    monkeypatch.setattr(copilot, "time", fake)
    return clock


@pytest.fixture
def sim(clock: Clock) -> CopilotSimulator:
    sim = CopilotSimulator(ORG, token=TOKEN, today=TODAY, clock=clock.time)
    fill(sim, TODAY - timedelta(days=400), TODAY - timedelta(days=1))
    return sim


@pytest.fixture
def url(sim: CopilotSimulator) -> Iterator[str]:
    with sim.serve() as base:
        yield base


class Runner:
    """Runs the connector in process (with `run_source`) against the served simulator."""

    def __init__(self, warehouse: Path, url: str, sim: CopilotSimulator, clock: Clock) -> None:
        self.warehouse, self.url, self.sim, self.clock = warehouse, url, sim, clock
        self.sleeps: list[float] = []
        self.warnings: list[str] = []
        self.now = NOW
        self.in_process = (
            False  # through the simulator's transport instead of a socket (long ranges)
        )

    def __call__(self, token: str = TOKEN, **keys: Any) -> SyncResult:
        settings = CopilotSettings.model_validate(
            {"type": "copilot", "base_url": self.url, "token_env": "GITHUB_TOKEN", "org": ORG,
             "since": (TODAY - timedelta(days=SINCE_DAYS)).isoformat(), "timeout_seconds": 2, "retries": 4, **keys}
        )  # fmt: skip
        with connect(self.warehouse) as con:
            migrate(con)

            def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)
                self.clock.offset += seconds

            ctx = SyncContext(con=con, env={"GITHUB_TOKEN": token}, sleep=sleep, now=lambda: self.now,
                              warn=self.warnings.append, transport=self.sim.transport() if self.in_process else None)  # fmt: skip
            return run_source(ctx, settings)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with connect(self.warehouse) as con:
            return con.execute(sql, list(params)).fetchall()


@pytest.fixture
def run(tmp_path: Path, url: str, sim: CopilotSimulator, clock: Clock) -> Runner:
    return Runner(tmp_path / "w.duckdb", url, sim, clock)


def days_asked(sim: CopilotSimulator, report: str = "organization-1-day") -> list[str]:
    return [r.arg("day") or "" for r in sim.log if r.path.endswith(report)]


def weekdays(first: date, last: date) -> list[date]:
    return [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + timedelta(days=n)).weekday() < 5
    ]


# ---------------------------------------------------------------------- daily reports


def test_one_row_per_organisation_and_team_and_day(run: Runner, sim: CopilotSimulator) -> None:
    result = run(teams=["platform", "web", "tiny"])
    expected_days = weekdays(TODAY - timedelta(days=SINCE_DAYS), TODAY - timedelta(days=1))
    assert run.rows("SELECT team, count(*) FROM copilot_usage GROUP BY team ORDER BY team") == [
        ("", len(expected_days)), ("platform", len(expected_days)), ("web", len(expected_days))]  # fmt: skip
    assert any("tiny" in w and "five Copilot seats" in w for w in result.warnings)
    day = expected_days[-1]
    org = sim.organization_days[day]
    got = run.rows("SELECT api, active_users, engaged_users, loc_suggested_to_add, loc_added, loc_deleted, agent_edit_lines, "
                   "code_generation_count, code_acceptance_count, interaction_count, prs_created, prs_merged, "
                   "prs_created_by_copilot, prs_merged_created_by_copilot, prs_reviewed_by_copilot "
                   "FROM copilot_usage WHERE team = '' AND day = ?", day)  # fmt: skip
    agent = next(
        f["loc_added_sum"] for f in org["totals_by_feature"] if f["feature"] == "agent_edit"
    )
    pulls = org["pull_requests"]
    assert got == [("usage_metrics", org["daily_active_users"], None, org["loc_suggested_to_add_sum"], org["loc_added_sum"],
                    org["loc_deleted_sum"], agent, org["code_generation_activity_count"], org["code_acceptance_activity_count"],
                    org["user_initiated_interaction_count"], pulls["total_created"], pulls["total_merged"],
                    pulls["total_created_by_copilot"], pulls["total_merged_created_by_copilot"], pulls["total_reviewed_by_copilot"])]  # fmt: skip
    # A team's row sums its members' per-user rows; bo is in both teams and counts in each.
    members = [u for u in sim.user_days[day] if "platform" in PEOPLE[u["user_id"]][1]]
    assert run.rows("SELECT active_users, loc_added, interaction_count, prs_created FROM copilot_usage "
                    "WHERE team = 'platform' AND day = ?", day) == [
        (len(members), sum(u["loc_added_sum"] for u in members), sum(u["user_initiated_interaction_count"] for u in members), None)]  # fmt: skip
    assert run.rows(
        "SELECT count(*) FROM identities WHERE source = 'copilot' AND kind = 'github'"
    ) == [(len(PEOPLE),)]


def test_report_files_are_fetched_from_their_host_without_the_token(
    run: Runner, sim: CopilotSimulator
) -> None:
    with sim.serve() as files_host:
        sim.download_base = files_host
        run(teams=["web"])
    files = [r for r in sim.log if r.path.startswith("/copilot-reports/")]
    api = [r for r in sim.log if r.path.startswith("/orgs/")]
    assert files and all("authorization" not in r.headers for r in files)
    assert all(r.headers.get("host") == files_host.removeprefix("http://") for r in files)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api)
    assert all(r.headers.get("x-github-api-version") == "2022-11-28" for r in api)


def test_an_incremental_run_asks_only_for_the_overlap_and_newer_days(
    run: Runner, sim: CopilotSimulator
) -> None:
    run(overlap_days=3)
    fill(sim, TODAY, TODAY + timedelta(days=6))
    sim.today = TODAY + timedelta(days=7)
    run.now = NOW + timedelta(days=7)
    sim.log.clear()
    run(overlap_days=3)
    first = TODAY - timedelta(days=3)  # the last day asked was yesterday (the 19th): the 17th on
    assert days_asked(sim) == [(first + timedelta(days=n)).isoformat() for n in range(10)]


def test_days_github_no_longer_serves_stay_as_stored(run: Runner, sim: CopilotSimulator) -> None:
    sim.window_days = 15
    run(since=(TODAY - timedelta(days=20)).isoformat())
    stored = run.rows("SELECT * EXCLUDE (synced_at) FROM copilot_usage ORDER BY day")
    assert stored[0][3] >= TODAY - timedelta(days=15)  # older days were never served
    fill(sim, TODAY, TODAY + timedelta(days=9))
    sim.today = TODAY + timedelta(
        days=10
    )  # the window moved on: the first ten stored days are gone upstream
    run.now = NOW + timedelta(days=10)
    sim.log.clear()
    run()
    assert min(days_asked(sim)) == (TODAY - timedelta(days=3)).isoformat()
    after = run.rows("SELECT * EXCLUDE (synced_at) FROM copilot_usage ORDER BY day")
    kept = TODAY - timedelta(days=3)
    assert [r for r in after if r[3] < kept] == [r for r in stored if r[3] < kept]
    assert after[-1][3] == max(weekdays(TODAY, TODAY + timedelta(days=9)))


def test_the_first_run_reaches_back_a_year_without_since(
    run: Runner, sim: CopilotSimulator
) -> None:
    run.in_process = True
    run(since=None)
    asked = days_asked(sim)
    assert (
        asked[0] == (TODAY - timedelta(days=365)).isoformat()
        and asked[-1] == (TODAY - timedelta(days=1)).isoformat()
    )
    assert run.rows("SELECT min(day) FROM copilot_usage")[0][0] >= TODAY - timedelta(days=365)


def test_a_cut_report_file_is_fetched_again(run: Runner, sim: CopilotSimulator) -> None:
    sim.inject(Fault("truncate", path="/copilot-reports/", after=3, times=2))
    run(teams=["web"], since=(TODAY - timedelta(days=5)).isoformat())
    assert len(run.sleeps) == 2
    assert run.rows("SELECT count(*) FROM copilot_usage WHERE team = 'web'")[0][0] == len(weekdays(TODAY - timedelta(days=5), TODAY - timedelta(days=1)))  # fmt: skip


def test_a_file_cut_every_time_fails_clearly(run: Runner, sim: CopilotSimulator) -> None:
    sim.inject(Fault("truncate", path="/copilot-reports/", times=100))
    with pytest.raises(SourceUnavailableError, match="arrived incomplete 3 times"):
        run(retries=2)


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            {"download_links": "https://example.com/x.ndjson", "report_day": "2026-11-18"},
            "a list in download_links",
        ),
        ({"download_links": [42]}, "URLs in download_links"),
        (["not", "an", "object"], "an object with download_links"),
    ],
)
def test_a_malformed_report_answer_names_the_endpoint(
    run: Runner, sim: CopilotSimulator, body: Any, expected: str
) -> None:
    sim.inject(Fault("status", path="/reports/", status=200, body=body))
    with pytest.raises(SourceResponseError, match="organization-1-day") as error:
        run()
    assert expected in str(error.value)


def test_a_malformed_report_line_names_the_file_and_line(
    run: Runner, sim: CopilotSimulator
) -> None:
    sim.inject(
        Fault(
            "status",
            path="/copilot-reports/",
            status=200,
            body=b'{"day": "2026-10-21"}\nnot json\n{"day": 1}\n',
        )
    )
    with pytest.raises(
        SourceResponseError, match=r"organization-1-day .* file 1 of 1: line 2 is not a JSON record"
    ):
        run()


def test_an_expired_file_link_is_asked_for_again(run: Runner, sim: CopilotSimulator) -> None:
    sim.inject(
        Fault(
            "status",
            path="/copilot-reports/",
            status=403,
            body=b"<Error><Code>AuthenticationFailed</Code></Error>",
            after=2,
        )
    )
    run(since=(TODAY - timedelta(days=5)).isoformat())
    assert run.rows("SELECT count(*) FROM copilot_usage")[0][0] == len(weekdays(TODAY - timedelta(days=5), TODAY - timedelta(days=1)))  # fmt: skip


def test_the_checkpoint_follows_each_day(
    run: Runner, sim: CopilotSimulator, tmp_path: Path, clock: Clock
) -> None:
    sim.inject(Fault("status", path="/orgs/", status=404, after=12))
    with pytest.raises(SourceNotFoundError):
        run(teams=["web"])
    saved = json.loads(
        run.rows("SELECT cursor FROM sync_state WHERE stream = 'usage_metrics'")[0][0]
    )
    assert (
        TODAY - timedelta(days=SINCE_DAYS)
        < date.fromisoformat(saved["day"])
        < TODAY - timedelta(days=5)
    )
    run(teams=["web"])
    clean = Runner(tmp_path / "clean.duckdb", run.url, sim, clock)
    clean(teams=["web"])
    assert table_rows(run.warehouse, TABLES) == table_rows(clean.warehouse, TABLES)


def test_a_killed_cli_run_resumes_with_exactly_the_rows_of_a_clean_run(
    sim: CopilotSimulator, url: str, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    cli_sim = CopilotSimulator(ORG, token=TOKEN, today=today)
    fill(cli_sim, today - timedelta(days=20), today - timedelta(days=1))
    source = {"type": "copilot", "base_url": "", "token_env": "GITHUB_TOKEN", "org": ORG, "teams": ["web", "platform"],
              "since": (today - timedelta(days=8)).isoformat()}  # fmt: skip
    env = {"GITHUB_TOKEN": TOKEN}
    with cli_sim.serve() as base:
        source["base_url"] = base
        killed = write_config(tmp_path / "killed.yaml", tmp_path / "killed.duckdb", source)
        assert ingest_killed_at(cli_sim, killed, env, 20) < 0
        again = ingest(killed, env)
        assert again.returncode == 0, again.stderr
        clean = write_config(tmp_path / "clean.yaml", tmp_path / "clean.duckdb", source)
        assert ingest(clean, env).returncode == 0
    resumed, fresh = (
        table_rows(tmp_path / "killed.duckdb", TABLES),
        table_rows(tmp_path / "clean.duckdb", TABLES),
    )
    assert resumed == fresh and len(fresh["copilot_usage"]) == 3 * len(weekdays(today - timedelta(days=8), today - timedelta(days=1)))  # fmt: skip


# ---------------------------------------------------------------------- rate limits and retries


def test_secondary_limits_and_429_retry_after_are_honoured(
    run: Runner, sim: CopilotSimulator
) -> None:
    sim.inject(
        Fault("status", path="/orgs/", status=403, headers={"Retry-After": "30"},
              body={"message": "You have exceeded a secondary rate limit."}, after=1),
        Fault("status", path="/orgs/", status=429, headers={"Retry-After": "7"}, after=3),
    )  # fmt: skip
    run(since=(TODAY - timedelta(days=5)).isoformat())
    assert len(run.sleeps) == 2 and 30 <= run.sleeps[0] <= 31 and 7 <= run.sleeps[1] <= 8


def test_a_spent_primary_limit_pauses_until_the_reset(
    run: Runner, sim: CopilotSimulator, clock: Clock
) -> None:
    sim.remaining = 2
    sim._reset_at = clock.time() + 120
    run(since=(TODAY - timedelta(days=5)).isoformat())
    assert len(run.sleeps) == 1 and 119 <= run.sleeps[0] <= 123
    assert run.rows("SELECT count(*) FROM copilot_usage")[0][0] == len(weekdays(TODAY - timedelta(days=5), TODAY - timedelta(days=1)))  # fmt: skip


def test_server_errors_timeouts_and_resets_are_retried(run: Runner, sim: CopilotSimulator) -> None:
    sim.inject(
        Fault("status", path="/orgs/", status=502, times=2),
        Fault("status", path="/copilot-reports/", status=503, times=2),
        Fault("reset", path="/orgs/", after=2),
        Fault("delay", path="/copilot-reports/", seconds=1.5, after=3),
        Fault("truncate", path="/orgs/", after=4),
    )
    run(since=(TODAY - timedelta(days=5)).isoformat(), timeout_seconds=1)
    assert len(run.sleeps) == 7
    assert run.rows("SELECT count(*) FROM copilot_usage")[0][0] == len(weekdays(TODAY - timedelta(days=5), TODAY - timedelta(days=1)))  # fmt: skip


def test_waiting_is_bounded(run: Runner, sim: CopilotSimulator) -> None:
    sim.inject(Fault("status", path="/orgs/", status=429, headers={"Retry-After": "4000"}))
    with pytest.raises(SourceUnavailableError, match="more than the allowed wait"):
        run()


# ---------------------------------------------------------------------- errors


def test_a_bad_token_is_an_auth_error(run: Runner) -> None:
    with pytest.raises(SourceAuthError, match=r"\$GITHUB_TOKEN") as error:
        run(token="ghp_wrongwrongwrongwrong")
    assert "ghp_wrong" not in str(error.value)


def test_forbidden_names_the_scopes_and_the_policy(run: Runner, sim: CopilotSimulator) -> None:
    sim.token_scopes = "repo"
    sim.inject(Fault("status", path="/orgs/", status=403, body={"message": "Resource not accessible by personal access token"},
                     headers={"x-oauth-scopes": "repo"}))  # fmt: skip
    with pytest.raises(SourceAccessError, match="read:org or manage_billing:copilot") as error:
        run()
    assert "(the token has: repo)" in str(error.value)
    sim.metrics_policy_enabled = False
    with pytest.raises(SourceAccessError, match="setting is disabled"):
        run()


def test_an_unknown_organisation_is_not_found(run: Runner) -> None:
    with pytest.raises(SourceNotFoundError, match="Copilot Business or Enterprise"):
        run(org="nope")


def test_the_cli_prints_one_error_line_exits_2_and_never_shows_the_token(
    url: str, tmp_path: Path
) -> None:
    wrong = "ghp_Wr0ngWr0ngWr0ngWr0ngWr0ngWr0ng00"
    config = write_config(tmp_path / "c.yaml", tmp_path / "w.duckdb", {"type": "copilot", "base_url": url, "token_env": "GITHUB_TOKEN", "org": ORG})  # fmt: skip
    done = ingest(config, {"GITHUB_TOKEN": wrong})
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "credentials were refused" in errors[0]
    assert (
        wrong not in done.stdout + done.stderr
        and wrong.encode() not in (tmp_path / "w.duckdb").read_bytes()
    )


# ---------------------------------------------------------------------- the older metrics API


def test_legacy_metrics_sum_editors_models_and_languages(
    run: Runner, sim: CopilotSimulator
) -> None:
    run(api="legacy_metrics", teams=["web"], page_size=10, since=None)
    assert run.rows("SELECT team, count(*) FROM copilot_usage GROUP BY team ORDER BY team") == [
        ("", 28),
        ("web", 28),
    ]
    day = TODAY - timedelta(days=3)
    item = legacy_day(day)
    languages = [
        lang
        for e in item["copilot_ide_code_completions"]["editors"]
        for m in e["models"]
        for lang in m["languages"]
    ]
    got = run.rows("SELECT api, active_users, engaged_users, loc_suggested_to_add, loc_added, code_generation_count, "
                   "code_acceptance_count, interaction_count, loc_deleted, prs_created FROM copilot_usage WHERE team = '' AND day = ?", day)  # fmt: skip
    assert got == [("legacy_metrics", 12, 10, sum(x["total_code_lines_suggested"] for x in languages),
                    sum(x["total_code_lines_accepted"] for x in languages), sum(x["total_code_suggestions"] for x in languages),
                    sum(x["total_code_acceptances"] for x in languages) + 11 + 6, 40 + 9, None, None)]  # fmt: skip
    assert run.rows(
        "SELECT pr_summaries_created FROM copilot_usage WHERE team = '' AND day = ?", day
    ) == [(3,)]
    pages = [r for r in sim.log if r.path == f"/orgs/{ORG}/copilot/metrics"]
    assert [r.arg("page") for r in pages] == ["1", "2", "3"]


def test_legacy_incremental_runs_ask_since_the_newest_day_minus_the_overlap(
    run: Runner, sim: CopilotSimulator
) -> None:
    run(api="legacy_metrics")
    sim.today = TODAY + timedelta(days=2)
    run.now = NOW + timedelta(days=2)
    fill(sim, TODAY, TODAY + timedelta(days=1))
    sim.log.clear()
    run(api="legacy_metrics", overlap_days=2)
    assert [r.arg("since") for r in sim.log] == [
        f"{(TODAY - timedelta(days=2)).isoformat()}T00:00:00Z"
    ]
    assert run.rows("SELECT max(day) FROM copilot_usage") == [(TODAY + timedelta(days=1),)]


def test_legacy_days_beyond_the_window_are_kept(run: Runner, sim: CopilotSimulator) -> None:
    run(api="legacy_metrics", since=None)
    before = run.rows("SELECT * EXCLUDE (synced_at) FROM copilot_usage ORDER BY day")
    fill(sim, TODAY, TODAY + timedelta(days=13))
    sim.today = TODAY + timedelta(days=14)
    run.now = NOW + timedelta(days=14)
    run(api="legacy_metrics")
    after = run.rows("SELECT * EXCLUDE (synced_at) FROM copilot_usage ORDER BY day")
    assert len(after) == 28 + 14 and after[:20] == before[:20]


def test_legacy_policy_off_is_a_clear_422(run: Runner, sim: CopilotSimulator) -> None:
    sim.metrics_policy_enabled = False
    with pytest.raises(SourceAccessError, match="Copilot Metrics API access policy is disabled"):
        run(api="legacy_metrics")


def test_legacy_unknown_team_is_not_found(run: Runner) -> None:
    with pytest.raises(SourceNotFoundError, match="team 'ghosts'"):
        run(api="legacy_metrics", teams=["ghosts"])


def test_legacy_page_that_repeats_stops_the_stream(run: Runner, sim: CopilotSimulator) -> None:
    first_page = [legacy_day(TODAY - timedelta(days=28 - n)) for n in range(10)]
    link = f'<{run.url}/orgs/{ORG}/copilot/metrics?page=3>; rel="next"'
    sim.inject(
        Fault(
            "status",
            path="/copilot/metrics",
            status=200,
            body=first_page,
            headers={"Link": link},
            after=1,
            times=5,
        )
    )
    with pytest.raises(SourceResponseError, match="repeats days already read"):
        run(api="legacy_metrics", page_size=10)


# ---------------------------------------------------------------------- privacy, drift, replay


def test_no_per_person_figures_and_no_token_in_the_warehouse(run: Runner) -> None:
    run(teams=["web", "platform"])
    data = run.warehouse.read_bytes()
    assert TOKEN.encode() not in data and text_containing(run.warehouse, TOKEN) == []
    assert run.rows("SELECT DISTINCT team FROM copilot_usage ORDER BY team") == [
        ("",),
        ("platform",),
        ("web",),
    ]


def test_new_report_fields_are_recorded_as_drift(run: Runner) -> None:
    run(since=(TODAY - timedelta(days=3)).isoformat())
    assert run.rows(
        "SELECT status FROM source_fields WHERE stream = 'organization-1-day' AND field = 'brand_new_field'"
    ) == [("unknown",)]


def test_replay_dir_serves_exports_without_a_token(sim: CopilotSimulator, tmp_path: Path) -> None:
    sim.to_dir(tmp_path / "exports")
    with connect(tmp_path / "r.duckdb") as con:
        migrate(con)
        ctx = SyncContext(con=con, env={}, now=lambda: NOW)
        settings = CopilotSettings(type="copilot", org=ORG, replay_dir=str(tmp_path / "exports"), teams=["web"],
                                   since=TODAY - timedelta(days=10))  # fmt: skip
        result = run_source(ctx, settings)
    assert result.rows["copilot_usage"] == 2 * len(
        weekdays(TODAY - timedelta(days=10), TODAY - timedelta(days=1))
    )
