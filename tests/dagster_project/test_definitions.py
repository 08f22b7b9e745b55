"""Dagster definitions: they load (also through `dg check defs`), the whole graph materialises, schedules, sensors and checks behave."""

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from aiosmtpd.controller import Controller

from dagster_project.config import NotificationsConfig, load_config
from dagster_project.defs.build import build_definitions, desired_partitions
from dagster_project.defs.warehouse.checks import mart_checks, source_checks
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.notify import Notifier
from dagster_project.runner import run_all
from dagster_project.runtime import Settings
from ingestion.warehouse import connect, migrate, publish_snapshot
from tests.conftest import GitRepo, MakeRepo

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, repo: Path, extra: str = "") -> Path:
    config = tmp_path / "sprintproof.yaml"
    config.write_text(
        f"""
organisation: Test Org
workspace: ws
sources:
  - type: git
    path: {repo}
    name: web
  - type: github
    name: gh
    token_env: TEST_GH_TOKEN
    repos: [acme/web, acme/api]
teams:
  - name: Web
    repos: [web]
    members: [ana@acme.example, bo@acme.example, cy@acme.example]
sprints:
  length_days: 7
  first_start: 2026-03-02
{extra}"""
    )
    return config


@pytest.fixture
def repo(make_repo: MakeRepo) -> GitRepo:
    r = make_repo("web")
    for i in range(12):
        author = ["Ana <ana@acme.example>", "Bo <bo@acme.example>", "Cy <cy@acme.example>"][i % 3]
        trailer = "\n\nCo-authored-by: Claude <noreply@anthropic.com>\n" if i % 2 else ""
        r.commit(
            f"change {i}{trailer}",
            {f"f{i}.txt": "x\n" * (i + 1)},
            author=author,
            date=f"@{1772409600 + i * 43200} +0000",
        )
    return r


def test_definitions_follow_the_configuration(tmp_path: Path, repo: GitRepo) -> None:
    defs = build_definitions(write_config(tmp_path, repo.path))
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw/git",
        "raw/gh",
        "links",
        "snapshot",
        "marts/sprint_metrics",
        "marts/board_summary",
    } <= keys
    jobs = {j.name for j in defs.resolve_all_job_defs()}
    assert {"ingest_git", "ingest_gh", "derive"} <= jobs
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert {"freshness", "row_count", "schema_drift", "identity_coverage", "metric_drift"} <= checks
    # The secret is an EnvVar: its name is in the definitions, its value is not read at load time.
    secrets = (defs.resources or {})["secrets_gh"]
    assert secrets.token_env == "TEST_GH_TOKEN"
    wanted = desired_partitions(WarehouseResource(config_path=str(tmp_path / "sprintproof.yaml")))
    assert wanted == {"git_repos": ["web"], "scopes_gh": ["acme/web", "acme/api"]}


def test_dg_check_defs_passes(tmp_path: Path, repo: GitRepo) -> None:
    config = write_config(tmp_path, repo.path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER")} | {
        "SPRINTPROOF_CONFIG": str(config),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    done = subprocess.run([str(Path(sys.executable).with_name("dg")), "check", "defs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_whole_graph_materialises_in_process(tmp_path: Path, repo: GitRepo) -> None:
    config = (
        write_config(tmp_path, repo.path)
        .read_text()
        .replace(
            "  - type: github\n    name: gh\n    token_env: TEST_GH_TOKEN\n    repos: [acme/web, acme/api]\n",
            "",
        )
    )
    path = tmp_path / "sprintproof.yaml"
    path.write_text(config)
    rt = Settings(load_config(path), path)
    report = run_all(rt, instance=dg.DagsterInstance.ephemeral())
    assert report.failed == [], report.errors
    assert report.metadata["raw/git"]["commits_added"] == 12
    assert int(str(report.metadata["marts/sprint_metrics"]["rows"])) > 0
    assert set(report.steps) >= {"raw__git", "links", "marts", "snapshot"}
    # Every check's finding comes back with its verdict, for `sprintproof run` to print.
    assert set(report.check_notes) == set(report.checks) and report.checks
    assert "freshness" in " ".join(report.checks)
    assert all(report.check_notes.values())
    snapshot = rt.config.snapshot_path
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commits").fetchall() == [(12,)]
        assert (
            con.execute(
                "SELECT count(*) FROM sprint_metrics WHERE team = 'Web' AND status = 'ok'"
            ).fetchall()[0][0]
            > 0
        )


# --------------------------------------------------------------------------- schedules and sensors


def test_daily_schedule_covers_every_partition_and_the_sensor_follows_the_configuration(
    tmp_path: Path, repo: GitRepo
) -> None:
    config = write_config(tmp_path, repo.path)
    defs = build_definitions(config)
    with dg.instance_for_test() as instance:
        check_schedule_and_sensor(defs, instance, config)


def check_schedule_and_sensor(
    defs: dg.Definitions, instance: dg.DagsterInstance, config: Path
) -> None:
    warehouse = WarehouseResource(config_path=str(config))
    sensor = defs.resolve_sensor_def("configuration_partitions")
    result = sensor(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}))
    assert isinstance(result, dg.SensorResult)
    added = {
        r.partitions_def_name: list(r.partition_keys)
        for r in result.dynamic_partitions_requests or []
    }
    assert added == {"git_repos": ["web"], "scopes_gh": ["acme/web", "acme/api"]}
    for name, keys in added.items():
        instance.add_dynamic_partitions(name, keys)
    schedule = defs.resolve_schedule_def("daily_ingest_gh")
    request = schedule.evaluate_tick(dg.build_schedule_context(instance=instance)).run_requests
    assert (
        request
        and {
            "dagster/asset_partition_range_start": "acme/web",
            "dagster/asset_partition_range_end": "acme/api",
        }.items()
        <= request[0].tags.items()
    )
    # A repository removed from the configuration loses its partition.
    config.write_text(config.read_text().replace("[acme/web, acme/api]", "[acme/web]"))
    again = sensor(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}))
    assert isinstance(again, dg.SensorResult)
    removed = [
        r
        for r in again.dynamic_partitions_requests or []
        if isinstance(r, dg.DeleteDynamicPartitionsRequest)
    ]
    assert [(r.partitions_def_name, list(r.partition_keys)) for r in removed] == [
        ("scopes_gh", ["acme/api"])
    ]


# --------------------------------------------------------------------------- checks


@pytest.fixture
def checked(tmp_path: Path, repo: GitRepo) -> tuple[WarehouseResource, Path]:
    config = write_config(
        tmp_path, repo.path, "checks:\n  freshness_hours: 24\n  drift_window: 3\n"
    )
    with connect(tmp_path / "ws" / "warehouse.duckdb") as con:
        migrate(con)
    return WarehouseResource(config_path=str(config)), tmp_path / "ws" / "warehouse.duckdb"


def run_check(check: dg.AssetChecksDefinition, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    result = check(warehouse=warehouse)  # type: ignore[call-arg]
    assert isinstance(result, dg.AssetCheckResult)
    return result


def add_run(
    con: duckdb.DuckDBPyConnection, kind: str, scope: str, finished: datetime, rows: int
) -> None:
    con.execute(
        "INSERT INTO ingest_runs (run_id, kind, scope, started_at, finished_at, status, rows_written, commits_added, sprintproof_version) "
        "VALUES (uuid()::VARCHAR, ?, ?, ?, ?, 'ok', ?, ?, 'test')",
        [kind, scope, finished - timedelta(minutes=1), finished, rows, rows],
    )


def test_source_checks_fail_on_stale_runs_odd_row_counts_and_drifting_fields(
    checked: tuple[WarehouseResource, Path],
) -> None:
    warehouse, path = checked
    freshness, row_count, drift = source_checks(
        dg.AssetKey(["raw", "gh"]), "github", "gh", lambda w: ["gh"]
    )
    now = datetime.now(UTC)
    with connect(path) as con:
        for day in range(8, 1, -1):
            add_run(con, "github", "gh", now - timedelta(days=day), 100)
    assert not run_check(freshness, warehouse).passed  # the newest run is two days old
    assert run_check(row_count, warehouse).passed
    assert run_check(drift, warehouse).passed
    with connect(path) as con:
        add_run(con, "github", "gh", now - timedelta(hours=1), 5000)
        con.execute(
            "INSERT INTO source_fields VALUES ('gh', 'pull_requests', 'autoMergeRequest', 'unknown', now())"
        )
    assert run_check(freshness, warehouse).passed
    odd = run_check(row_count, warehouse)
    assert not odd.passed and "5000 rows" in (odd.description or "")
    unknown = run_check(drift, warehouse)
    assert not unknown.passed and unknown.severity == dg.AssetCheckSeverity.WARN
    with connect(path) as con:
        con.execute(
            "INSERT INTO source_fields VALUES ('gh', 'pull_requests', 'mergedAt', 'missing', now())"
        )
    assert run_check(drift, warehouse).severity == dg.AssetCheckSeverity.ERROR


def test_mart_checks_fail_on_low_coverage_and_drift(
    checked: tuple[WarehouseResource, Path],
) -> None:
    warehouse, path = checked
    identity, attribution, tickets, drift = mart_checks()
    now = datetime.now(UTC)
    with connect(path) as con:
        con.execute(
            "CREATE TABLE mart_commits AS SELECT * FROM (VALUES (true, 'Web', ?::TIMESTAMPTZ), (true, NULL, ?), (true, NULL, ?)) "
            "t(is_work, team, committed_at)",
            [now, now, now],
        )
        rows = [
            (
                "Web",
                f"s{i}",
                datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=14 * i),
                0.30 + 0.01 * (i % 2),
            )
            for i in range(4)
        ]
        rows.append(("Web", "s4", datetime(2026, 3, 2, tzinfo=UTC), 0.80))
        con.execute(
            "CREATE TABLE sprint_metrics (team VARCHAR, metric_id VARCHAR, sprint_id VARCHAR, sprint_start TIMESTAMPTZ, "
            "value DOUBLE, sprint_state VARCHAR, status VARCHAR)"
        )
        con.executemany(
            "INSERT INTO sprint_metrics VALUES (?, 'acr_lines', ?, ?, ?, 'closed', 'ok')", rows
        )
    low = run_check(identity, warehouse)
    assert not low.passed and "33.3%" in (low.description or "")
    assert run_check(attribution, warehouse).passed  # no forge source: nothing to judge
    assert run_check(tickets, warehouse).passed
    flagged = run_check(drift, warehouse)
    assert not flagged.passed and "Web acr_lines s4" in (flagged.description or "")
    with connect(path) as con:
        con.execute("UPDATE sprint_metrics SET value = 0.31 WHERE sprint_id = 's4'")
        con.execute("UPDATE mart_commits SET team = 'Web'")
    assert run_check(drift, warehouse).passed
    assert run_check(identity, warehouse).passed


# --------------------------------------------------------------------------- notifications


class _Catcher:
    """A webhook endpoint and an SMTP server on 127.0.0.1 that keep what they receive."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.mails: list[Message] = []


@pytest.fixture
def catcher() -> Iterator[tuple[_Catcher, str, int]]:
    caught = _Catcher()

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            caught.posts.append(json.loads(body))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            import email

            caught.mails.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    with socket.socket() as probe:  # a free port for the SMTP catcher
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        yield caught, f"http://127.0.0.1:{http.server_address[1]}/hook", smtp_port
    finally:
        http.shutdown()
        smtp.stop()


def test_failures_reach_the_webhook_and_the_mailbox(
    catcher: tuple[_Catcher, str, int], tmp_path: Path, repo: GitRepo
) -> None:
    caught, hook, smtp_port = catcher
    notifications = NotificationsConfig.model_validate(
        {"slack_webhook_env": "TEST_HOOK", "email": {"host": "127.0.0.1", "port": smtp_port, "sender": "sp@acme.example",
                                                      "recipients": ["vp@acme.example"], "starttls": False}}
    )  # fmt: skip
    delivered = Notifier(notifications, env={"TEST_HOOK": hook}).send(
        "check_failure", "check x failed", "details here"
    )
    assert delivered == ["webhook", "email"]
    assert caught.posts == [{"text": "*check x failed*\ndetails here"}]
    assert (
        caught.mails[0]["Subject"] == "SprintProof: check x failed"
        and "details here" in caught.mails[0].get_payload()
    )

    # Through the run-failure sensor of the definitions.
    extra = f"notifications:\n  slack_webhook_env: TEST_HOOK\n  email: {{host: 127.0.0.1, port: {smtp_port}, sender: sp@acme.example, recipients: [vp@acme.example], starttls: false}}\n"
    config = write_config(tmp_path, repo.path, extra)
    defs = build_definitions(config)
    instance = dg.DagsterInstance.ephemeral()

    @dg.asset
    def broken() -> None:
        raise RuntimeError("boom")

    result = dg.materialize([broken], instance=instance, raise_on_error=False)
    records = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    failure = records[0].dagster_event
    assert failure is not None
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    sensor = defs.resolve_sensor_def("notify_run_failure")
    os.environ["TEST_HOOK"] = hook
    try:
        context = dg.build_run_status_sensor_context(sensor_name="notify_run_failure", dagster_event=failure,
                                                     dagster_instance=instance, dagster_run=run,
                                                     resources={"warehouse": WarehouseResource(config_path=str(config))})  # fmt: skip
        sensor(context.for_run_failure())  # type: ignore[operator]
    finally:
        del os.environ["TEST_HOOK"]
    assert any("failed" in p["text"] and result.run_id in p["text"] for p in caught.posts[1:])
    assert len(caught.mails) == 2


# --------------------------------------------------------------------------- the snapshot

WRITER = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("BEGIN TRANSACTION")
con.execute("INSERT INTO t SELECT range FROM range(1000000)")
print("writing", flush=True)
time.sleep(30)
"""


def test_the_snapshot_stays_readable_while_a_write_runs_and_publishing_never_blocks_readers(
    tmp_path: Path,
) -> None:
    warehouse, snapshot = tmp_path / "w.duckdb", tmp_path / "snap" / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    publish_snapshot(warehouse, snapshot)
    reader = duckdb.connect(str(snapshot), read_only=True)  # a dashboard holding the snapshot open
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        # The long write holds the warehouse; the snapshot answers at once.
        with duckdb.connect(str(snapshot), read_only=True) as other:
            assert other.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(warehouse), read_only=True)
    finally:
        writer.kill()
        writer.wait()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("INSERT INTO t VALUES (2)")
    publish_snapshot(warehouse, snapshot)  # while the old reader still holds the previous snapshot
    assert reader.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
    reader.close()
    with duckdb.connect(str(snapshot), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM t").fetchall() == [(2,)]


# --------------------------------------------------------------------------- fan-out


def test_staged_ingest_fans_out_over_processes_and_merges_with_one_writer(
    tmp_path: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = []
    for n in range(6):
        r = make_repo(f"svc{n}")
        for i in range(n + 2):
            r.commit(f"change {i}", {f"f{i}.txt": "x\n" * (i + 1)}, author="Ana <ana@acme.example>")
        sources.append(f"  - type: git\n    path: {r.path}\n    name: svc{n}\n")
    config = tmp_path / "sprintproof.yaml"
    config.write_text(
        "workspace: ws\nsources:\n"
        + "".join(sources)
        + "ingest:\n  staged: true\n  max_concurrent: 2\n"
    )
    monkeypatch.setenv("SPRINTPROOF_CONFIG", str(config))
    job = dg.build_reconstructable_job(
        "tests.dagster_project.staged_job", "staged_job", reconstructor_working_directory=str(ROOT)
    )
    with dg.instance_for_test() as instance:
        result = dg.execute_job(job, instance=instance)
        assert result.success
        starts = [e for e in result.all_events if e.is_step_start]
        stage_pids = {e.pid for e in starts if "stage_repository[" in (e.step_key or "")}
        assert len([e for e in starts if "stage_repository[" in (e.step_key or "")]) == 6
        assert len(stage_pids) == 6  # one process per staged repository
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True) as con:
        counts = dict(con.execute("SELECT repo, count(*) FROM commits GROUP BY repo").fetchall())
        assert counts == {f"svc{n}": n + 2 for n in range(6)}
        # Line survival was measured in the stage step and merged with the repository's rows.
        survived = con.execute(
            "SELECT repo, count(*), sum(lines_added) FROM commit_durability GROUP BY repo"
        ).fetchall()
        assert sorted(survived) == [
            (f"svc{n}", n + 2, sum(i + 1 for i in range(n + 2))) for n in range(6)
        ]
    # A second run stages incrementally and merges the same rows again: nothing doubles.
    with dg.instance_for_test() as instance:
        assert dg.execute_job(job, instance=instance).success
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM commits").fetchall() == [
            (sum(n + 2 for n in range(6)),)
        ]
        assert con.execute("SELECT count(*) FROM repos").fetchall() == [(6,)]
        assert con.execute("SELECT count(*) FROM commit_durability").fetchall() == [
            (sum(n + 2 for n in range(6)),)
        ]
