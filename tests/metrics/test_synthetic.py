"""The synthetic warehouse at a tiny scale: schema-valid, consistent, deterministic, recomputed into sensible marts, in full or for the latest sprint."""

from datetime import UTC, datetime, time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from benchmarks.synthetic import Synthetic, generate
from dagster_project.cli import app
from dagster_project.config import load_config, metrics_settings
from ingestion.warehouse import connect, latest_version, schema_version
from metrics import marts
from metrics.common import empty_rows
from metrics.marts import latest_sprints, recompute

SCALE = 0.004  # 4,000 commits, 400 PRs, 800 tickets, 3 teams


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return generate(tmp_path_factory.mktemp("synthetic"), scale=SCALE, seed=7)


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


# Documented keys (docs/warehouse.md) that the connector tables keep without constraints.
KEYS = {
    "pull_requests": "source, repo, number",
    "pr_reviews": "source, repo, pr_number, review_id",
    "pr_commits": "source, repo, pr_number, sha",
    "tickets": "source, ticket_id",
    "ticket_events": "source, ticket_id, event_id, position",
    "ticket_sprints": "source, ticket_id, sprint_id",
    "sprints": "source, sprint_id",
    "deployments": "source, repo, deployment_id",
    "deployment_statuses": "source, repo, deployment_id, status_id",
    "releases": "source, repo, release_id",
    "forge_repos": "source, repo",
    "identities": "source, kind, account_id",
}

# Rows that must point at something that exists.
ORPHANS = {
    "reviews without a PR": "SELECT count(*) FROM pr_reviews r ANTI JOIN pull_requests p "
    "ON p.source = r.source AND p.repo = r.repo AND p.number = r.pr_number",
    "PR commits without a PR": "SELECT count(*) FROM pr_commits c ANTI JOIN pull_requests p "
    "ON p.source = c.source AND p.repo = c.repo AND p.number = c.pr_number",
    "merge results that are not commits": "SELECT count(*) FROM pull_requests p "
    "ANTI JOIN commits c ON c.sha = p.merge_commit_sha WHERE p.merge_commit_sha IS NOT NULL",
    "events without a ticket": "SELECT count(*) FROM ticket_events e ANTI JOIN tickets t USING (source, ticket_id)",
    "ticket sprints that do not exist": "SELECT count(*) FROM ticket_sprints ts ANTI JOIN sprints s USING (source, sprint_id)",
    "files of unknown commits": "SELECT count(*) FROM commit_files f ANTI JOIN commits c USING (repo, sha)",
    "trailers of unknown commits": "SELECT count(*) FROM commit_trailers t ANTI JOIN commits c USING (repo, sha)",
    "evidence of unknown commits": "SELECT count(*) FROM ai_evidence e ANTI JOIN commits c "
    "ON c.repo = e.repo AND c.sha = e.subject_id",
    "reverts of unknown commits": "SELECT count(*) FROM commits r ANTI JOIN commits c "
    "ON c.repo = r.repo AND c.sha = r.reverted_sha WHERE r.is_revert",
    "deployments of unknown commits": "SELECT count(*) FROM deployments d ANTI JOIN commits c ON c.sha = d.sha",
    "forge repositories without a git repository": "SELECT count(*) FROM forge_repos f "
    "ANTI JOIN repos r ON r.repo = f.git_repo",
    "survival of unknown commits": "SELECT count(*) FROM commit_durability d ANTI JOIN commits c USING (repo, sha)",
    "survival beyond the lines added": "SELECT count(*) FROM commit_durability "
    "WHERE NOT (0 <= alive_durable AND alive_durable <= alive_churn AND alive_churn <= lines_added)",
}


def test_the_warehouse_is_migrated_keyed_and_consistent(synthetic: Synthetic) -> None:
    with connect(synthetic.warehouse, read_only=True) as con:
        assert schema_version(con) == latest_version()
        assert scalar(con, "SELECT count(*) FROM commits") == 4_000
        assert scalar(con, "SELECT count(*) FROM pull_requests") == 400
        assert scalar(con, "SELECT count(*) FROM tickets") == 800
        for table, key in KEYS.items():
            duplicated = scalar(
                con,
                f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)",
            )
            assert duplicated == 0, table
        for what, sql in ORPHANS.items():
            assert scalar(con, sql) == 0, what
        # A commit's line counts are the sums of its files; merges carry none.
        mismatched = scalar(
            con,
            "SELECT count(*) FROM commits c LEFT JOIN (SELECT repo, sha, sum(coalesce(added, 0)) AS a, "
            "sum(coalesce(added, 0)) FILTER (WHERE is_excluded) AS x, count(*) AS n FROM commit_files "
            "GROUP BY ALL) f USING (repo, sha) WHERE c.stats_complete AND (c.additions != coalesce(f.a, 0) "
            "OR c.excluded_additions != coalesce(f.x, 0) OR c.files_changed != coalesce(f.n, 0))",
        )
        assert mismatched == 0
        assert scalar(con, "SELECT count(*) FROM commits WHERE is_merge AND additions != 0") == 0
        miscounted = scalar(
            con,
            "SELECT count(*) FROM commits c LEFT JOIN (SELECT repo, sha, count(*) AS n FROM commit_trailers "
            "GROUP BY ALL) t USING (repo, sha) WHERE c.trailer_count != coalesce(t.n, 0)",
        )
        assert miscounted == 0
        # Timestamps are ordered the way the sources order them.
        assert scalar(con, "SELECT count(*) FROM commits WHERE authored_at > committed_at") == 0
        assert (
            scalar(
                con,
                "SELECT count(*) FROM pull_requests WHERE merged_at < created_at OR first_commit_at > created_at",
            )
            == 0
        )
        assert scalar(con, "SELECT count(*) FROM tickets WHERE resolved_at < created_at") == 0
        # Every kind of work the metrics tell apart is there.
        modes = {r[0] for r in con.execute("SELECT DISTINCT ai_mode FROM commits").fetchall()}
        assert modes == {None, "assisted", "agent", "bot"}
        agents_named = scalar(
            con,
            "SELECT count(*) FROM commit_trailers t JOIN commits c USING (repo, sha) "
            "WHERE c.ai_mode = 'agent' AND t.value LIKE '%@acme.example>'",
        )
        assert isinstance(agents_named, int) and agents_named > 0
        assert scalar(con, "SELECT count(*) FROM commits WHERE is_revert") != 0
        assert scalar(con, "SELECT count(*) FROM pr_reviews WHERE NOT is_human") != 0
        categories = {
            r[0] for r in con.execute("SELECT DISTINCT type_category FROM tickets").fetchall()
        }
        assert {"feature", "bug", "incident"} <= categories
        fields = {r[0] for r in con.execute("SELECT DISTINCT field FROM ticket_events").fetchall()}
        assert {"status", "sprint", "story_points"} <= fields
        states = {
            r[0] for r in con.execute("SELECT DISTINCT latest_state FROM deployments").fetchall()
        }
        assert {"success", "failure"} <= states


def test_the_same_seed_gives_the_same_warehouse(synthetic: Synthetic, tmp_path: Path) -> None:
    again = generate(tmp_path, scale=SCALE, seed=7)
    query = "SELECT * FROM {} ORDER BY ALL"
    with (
        duckdb.connect(str(synthetic.warehouse), read_only=True) as a,
        duckdb.connect(str(again.warehouse), read_only=True) as b,
    ):
        for table in ("commits", "pull_requests", "ticket_events", "deployments"):
            assert a.sql(query.format(table)).pl().equals(b.sql(query.format(table)).pl()), table
    assert again.config.read_text() == synthetic.config.read_text()


def test_recompute_gives_sensible_marts(synthetic: Synthetic, tmp_path: Path) -> None:
    config = load_config(synthetic.config)
    settings = metrics_settings(config, today=synthetic.today)
    assert [t.name for t in settings.teams] == ["Payments", "Search", "Checkout"]
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(synthetic.warehouse.read_bytes())
    with connect(copy) as con:
        made = recompute(con, settings)
    for name in ("mart_calendar", "mart_identities", "mart_commits", "mart_prs", "sprint_metrics"):
        assert made.tables[name].height > 0, name
    commits = made.tables["mart_commits"]
    # Most work is credited to a person; agent work to its initiator; contractors' by repository.
    via = dict(commits.group_by("team_via").len().iter_rows())
    assert via["person"] > via["initiator"] > 0 and via.get("repo", 0) > 0
    metrics = made.tables["sprint_metrics"]
    assert set(metrics["status"]) == {"ok", "insufficient_data", "suppressed"}
    # Commit-based numbers of the teams large enough to be shown are mostly there.
    shown = metrics.filter(
        pl.col("metric_id").is_in(["acr_commits", "acr_lines", "agentic_commit_rate"]),
        pl.col("status") != "suppressed",
    )
    assert shown.filter(pl.col("status") == "ok").height > 0.9 * shown.height
    # The team of two is below the privacy threshold: suppressed, never shown.
    small = metrics.filter(pl.col("team") == "Search")
    assert small["status"].unique().to_list() == ["suppressed"]
    assert small["value"].null_count() == small.height
    ai_shares = ["acr_lines", "acr_commits", "acr_prs", "agentic_commit_rate", "agentic_pr_rate"]
    shares = metrics.filter(pl.col("status") == "ok", pl.col("metric_id").is_in(ai_shares))
    assert shares["value"].is_between(0.0, 1.0).all()
    # Agentic work rises after a team's rollout.
    rollout = {t.name: t.ai_rollout for t in settings.teams}
    agentic = metrics.filter(pl.col("metric_id") == "agentic_commit_rate", pl.col("status") == "ok")
    payments = agentic.filter(pl.col("team") == "Payments")
    cut = pl.lit(rollout["Payments"]).cast(pl.Datetime("us", "UTC"))
    before = payments.filter(pl.col("sprint_start") < cut)["value"].mean()
    after = payments.filter(pl.col("sprint_start") > cut)["value"].mean()
    assert isinstance(before, float) and isinstance(after, float) and after > before + 0.1
    # Survival is measured for all but the newest weeks; AI lines churn more than people's.
    durable = metrics.filter(
        pl.col("metric_id").is_in(["ai_durability", "human_durability"]),
        pl.col("status") == "ok",
    )
    assert durable["value"].is_between(0.0, 1.0).all()
    means = dict(durable.group_by("metric_id").agg(pl.col("value").mean()).iter_rows())
    assert means["ai_durability"] < means["human_durability"]


def test_sprintproof_metrics_runs_on_the_written_configuration(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "warehouse.duckdb").write_bytes(synthetic.warehouse.read_bytes())
    (folder / "sprintproof.yaml").write_text(synthetic.config.read_text())
    done = CliRunner().invoke(
        app,
        ["metrics", "--config", str(folder / "sprintproof.yaml"), "--today", str(synthetic.today)],
    )
    assert done.exit_code == 0, done.output
    assert "metric rows" in done.output
    again = CliRunner().invoke(
        app,
        ["metrics", "--config", str(folder / "sprintproof.yaml"), "--today", str(synthetic.today),
         "--latest"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "for the newest sprint of 3 teams and the organisation" in " ".join(again.output.split())


# --------------------------------------------------------------------------- latest sprint only

MART_KEYS = {
    "mart_calendar": ["team", "sprint_id"],
    "mart_identities": ["identity"],
    "mart_unmatched_identities": ["identity"],
    "mart_commits": ["repo", "sha"],
    "mart_prs": ["source", "repo", "number"],
    "sprint_metrics": ["team", "sprint_id", "metric_id"],
    "sprint_tool_mix": ["team", "sprint_id", "tool", "mode"],
    "board_summary": ["team", "sprint_id"],
    "mart_durability": ["repo", "sha"],
    "mart_tickets": ["source", "ticket_id"],
    "mart_sprint_scope": ["team", "sprint_id", "source", "ticket_id"],
    "mart_releases": ["source", "repo", "release_id"],
    "mart_deployments": ["source", "repo", "deployment_id"],
    "mart_changes": ["kind", "git_repo", "source", "repo", "number", "sha"],
    "mart_recoveries": ["kind", "git_repo", "environment", "ref", "started_at"],
    "mart_guards": ["team", "sprint_id", "metric_id"],
    "mart_sprint_series": ["series", "team", "sprint_id"],
}

# New work inside the newest sprints: a commit pushed late on the last day, the newest open PR
# merged, a ticket of an active sprint done, a bug reported, a deployment that ships the newest
# commit, and an incident opened after it.
NEW_WORK = [
    # The copy's trailers first: the copied commit is the first agent commit by sha, before the copy.
    (
        "INSERT INTO commit_trailers SELECT t.* REPLACE (md5(t.sha) || substr(t.sha, 1, 8) AS sha) "
        "FROM commit_trailers t JOIN (SELECT repo, sha FROM commits WHERE ai_mode = 'agent' AND trailer_count > 0 "
        "ORDER BY sha LIMIT 1) USING (repo, sha)"
    ),
    (
        "INSERT INTO commits SELECT * REPLACE (md5(sha) || substr(sha, 1, 8) AS sha, $now AS committed_at, "
        "$now AS authored_at) FROM commits WHERE ai_mode = 'agent' AND trailer_count > 0 ORDER BY sha LIMIT 1"
    ),
    (
        "UPDATE pull_requests SET state = 'merged', merged_at = $now, closed_at = $now WHERE forge_id = "
        "(SELECT forge_id FROM pull_requests WHERE state = 'open' ORDER BY created_at DESC, forge_id LIMIT 1)"
    ),
    # The changelog entry first: it records the status the ticket had.
    (
        "INSERT INTO ticket_events SELECT source, ticket_id, 'new-1', 0, $now, NULL, 'status', status_id, '10002', "
        "status, 'Done' FROM tickets WHERE ticket_id = (SELECT min(ticket_id) FROM tickets WHERE status_category "
        "IN ('todo', 'in_progress') AND type_category IN ('feature', 'task') AND sprint_id IN "
        "(SELECT sprint_id FROM sprints WHERE state = 'active'))"
    ),
    (
        "UPDATE tickets SET status = 'Done', status_id = '10002', status_category = 'done', resolved_at = $now, "
        "updated_at = $now WHERE ticket_id = (SELECT ticket_id FROM ticket_events WHERE event_id = 'new-1')"
    ),
    (
        "INSERT INTO tickets SELECT * REPLACE (ticket_id || '-new' AS ticket_id, key || '-NEW' AS key, $now AS "
        "created_at, $now AS updated_at, NULL AS resolved_at, 'To Do' AS status, '10000' AS status_id, 'todo' AS "
        "status_category, NULL AS sprint_id) FROM tickets WHERE type_category = 'bug' ORDER BY ticket_id LIMIT 1"
    ),
    (
        "INSERT INTO deployments SELECT d.* REPLACE (d.deployment_id || '-new' AS deployment_id, (SELECT "
        "max_by(c.sha, c.committed_at) FROM commits c JOIN forge_repos f ON f.git_repo = c.repo WHERE f.source = "
        "d.source AND f.repo = d.repo) AS sha, $now - INTERVAL 2 HOUR AS created_at, $now - INTERVAL 2 HOUR AS "
        "updated_at, 'success' AS latest_state, $now - INTERVAL 90 MINUTE AS latest_state_at) FROM deployments d "
        "WHERE environment = 'production' ORDER BY created_at DESC, deployment_id LIMIT 1"
    ),
    (
        "INSERT INTO deployment_statuses SELECT source, repo, deployment_id, deployment_id || '-s', 'success', "
        "$now - INTERVAL 90 MINUTE FROM deployments WHERE deployment_id LIKE '%-new'"
    ),
    # A rollback to a month-old commit: a deployed commit older than the window.
    (
        "INSERT INTO deployments SELECT d.* REPLACE (d.deployment_id || '-back' AS deployment_id, (SELECT c.sha "
        "FROM commits c JOIN forge_repos f ON f.git_repo = c.repo WHERE f.source = d.source AND f.repo = d.repo "
        "AND c.committed_at < $now - INTERVAL 30 DAY ORDER BY c.committed_at DESC, c.sha LIMIT 1) AS sha, $now - INTERVAL 3 HOUR AS created_at, $now - INTERVAL 3 "
        "HOUR AS updated_at, 'success' AS latest_state, $now - INTERVAL 170 MINUTE AS latest_state_at) FROM "
        "deployments d WHERE environment = 'production' AND deployment_id NOT LIKE '%-new' "
        "ORDER BY created_at DESC, deployment_id LIMIT 1"
    ),
    (
        "INSERT INTO tickets SELECT * REPLACE (ticket_id || '-inc' AS ticket_id, key || '-INC' AS key, $now - "
        "INTERVAL 1 HOUR AS created_at, $now AS updated_at, NULL AS resolved_at, 'In Progress' AS status, '3' AS "
        "status_id, 'in_progress' AS status_category, NULL AS sprint_id) FROM tickets WHERE type_category = "
        "'incident' ORDER BY ticket_id LIMIT 1"
    ),
]


def add_new_work(path: Path, now: datetime) -> None:
    """Run NEW_WORK on a warehouse; every statement changes something."""
    with connect(path) as con:
        for statement in NEW_WORK:
            changed = con.execute(statement, {"now": now} if "$now" in statement else None)
            assert (changed.fetchone() or (0,))[0] >= 1, statement


def marts_of(path: Path) -> dict[str, pl.DataFrame]:
    with connect(path, read_only=True) as con:
        return {
            name: con.sql(f'SELECT * FROM "{name}"').pl().sort(keys, nulls_last=True)
            for name, keys in MART_KEYS.items()
        }


def test_latest_sprint_recompute_gives_the_rows_of_a_full_one(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    settings = metrics_settings(load_config(synthetic.config), today=synthetic.today)
    just_now = datetime.combine(synthetic.today, time(22), tzinfo=UTC)
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    incremental.write_bytes(synthetic.warehouse.read_bytes())
    with connect(incremental) as con:
        recompute(con, settings)
    full.write_bytes(incremental.read_bytes())
    for path in (incremental, full):
        add_new_work(path, just_now)
    with connect(incremental) as con:
        latest = recompute(con, settings, latest=True)
    with connect(full) as con:
        everything = recompute(con, settings)

    assert latest.scope is not None and everything.scope is None
    calendar = everything.tables["mart_calendar"]
    chosen = latest_sprints(calendar)
    assert chosen is not None and latest.scope.since == chosen.since
    assert_frame_equal(latest.scope.sprints, chosen.sprints)
    # Each team's newest sprint and the organisation's: nothing older is recomputed.
    assert latest.scope.sprints["team"].to_list() == sorted(calendar["team"].unique().to_list())
    assert set(latest.tables["sprint_metrics"]["sprint_id"]) == set(
        latest.scope.sprints["sprint_id"]
    )
    first = latest.tables["mart_commits"]["committed_at"].min()
    assert isinstance(first, datetime) and first >= latest.scope.since
    assert latest.tables["mart_commits"].height < everything.tables["mart_commits"].height / 10
    got, want = marts_of(incremental), marts_of(full)
    assert got.keys() == want.keys()
    for name in MART_KEYS:
        assert_frame_equal(got[name], want[name], check_column_order=False)
    with connect(incremental, read_only=True) as con:
        runs = con.execute("SELECT scope FROM metric_runs ORDER BY computed_at").fetchall()
    assert runs == [("all",), ("latest",)]


def test_latest_sprint_recompute_falls_back_to_a_full_one(
    synthetic: Synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = metrics_settings(load_config(synthetic.config), today=synthetic.today)
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(synthetic.warehouse.read_bytes())
    with connect(copy) as con:
        assert recompute(con, settings, latest=True).scope is None  # no marts yet
        assert recompute(con, settings, latest=True).scope is not None
        # A baseline that is not the one the last recompute stored would change earlier
        # sprints' ratios: everything again, and the stored baseline is the true one after it.
        flipped = "UPDATE mart_sprint_series SET is_baseline = NOT is_baseline WHERE series = 'velocity' AND team = "
        flipped += (
            "(SELECT min(team) FROM mart_sprint_series WHERE series = 'velocity' AND is_baseline)"
        )
        truth = "SELECT team, sprint_id FROM mart_sprint_series WHERE is_baseline ORDER BY ALL"
        before = con.execute(truth).fetchall()
        assert before and con.execute(flipped).fetchone() != (0,)
        redone = recompute(con, settings, latest=True)
        assert redone.scope is None
        assert any("baseline of" in w and "recomputed everything" in w for w in redone.warnings)
        assert con.execute(truth).fetchall() == before
        assert recompute(con, settings, latest=True).scope is not None
        # A family that needs more history than the newest sprint's facts: everything again.
        monkeypatch.setitem(marts.FAMILIES, "history", lambda ctx: empty_rows())
        assert recompute(con, settings, latest=True).scope is None


def test_a_latest_sprint_recompute_that_fails_leaves_the_marts_as_they_were(
    synthetic: Synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = metrics_settings(load_config(synthetic.config), today=synthetic.today)
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(synthetic.warehouse.read_bytes())
    with connect(copy) as con:
        recompute(con, settings)
    before = marts_of(copy)
    add_new_work(copy, datetime.combine(synthetic.today, time(22), tzinfo=UTC))

    # The facts are handed to the writer before the families run; the last family then fails.
    def broken(ctx: marts.Context) -> pl.LazyFrame:
        raise RuntimeError("family failed")

    monkeypatch.setitem(marts.FAMILIES, "guard", broken)
    with connect(copy) as con, pytest.raises(RuntimeError, match="family failed"):
        recompute(con, settings, latest=True)
    after = marts_of(copy)
    for name in MART_KEYS:
        assert_frame_equal(after[name], before[name], check_column_order=False)
    with connect(copy, read_only=True) as con:
        assert con.execute("SELECT scope FROM metric_runs").fetchall() == [("all",)]
