"""The Jira connector over real HTTP against the Cloud and Data Center simulator: mapping, pagination, changelogs, increments, faults, deletions, the CLI."""

import base64
import json
import math
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pytest
import yaml
from jira_support import (
    EMAIL,
    ENV,
    NOW,
    TOKEN,
    cli,
    cli_env,
    query,
    rows,
    run,
    settings,
    snapshot,
    text_columns_containing,
)

from ingestion.demo import DemoManifest, build_demo
from ingestion.http import (
    SourceAccessError,
    SourceAuthError,
    SourceError,
    SourceNotFoundError,
    SourceResponseError,
    SourceUnavailableError,
)
from ingestion.jira import (
    JiraThrottle,
    adf_length,
    current_sprint,
    normalise_ids,
    parse_sprint,
    status_category,
    type_category,
)
from ingestion.sim.base import Fault, SimRequest
from ingestion.sim.jira import (
    POINTS,
    SPRINT,
    JiraSimulator,
    Site,
    adf,
    adf_text,
    greenhopper,
    item,
    jira_time,
    status_field,
    synthetic_site,
)

KEPT = {"status", "Sprint", "Story Points", "assignee", "resolution", "labels", "issuetype",
        "project", "Key", "IssueParentAssociation", "Epic Link"}  # fmt: skip
DESCRIPTION_MARKER = "DESCRIPTIONMARKER7f3a91c2"
HISTORY_MARKER = "HISTORYMARKER2b8d64e0"


def make_site(issues: int = 80, **options: Any) -> Site:
    return synthetic_site(
        issues,
        long_histories=0.1,
        description=lambda n: f"Steps {n}: {DESCRIPTION_MARKER} then check the ledger.",
        **options,
    )


@pytest.fixture(scope="module")
def site() -> Site:
    return make_site()


def cloud(site: Site, **options: Any) -> JiraSimulator:
    return site.simulator(email=EMAIL, token=TOKEN, **options)


def datacenter(site: Site, **options: Any) -> JiraSimulator:
    return site.simulator(deployment="datacenter", token=TOKEN, **options)


def kept_items(issues: list[dict[str, Any]]) -> int:
    return sum(
        1
        for issue in issues
        for history in issue["changelog"]["histories"]
        for change in history["items"]
        if change["field"] in KEPT
    )


def searches(sim: JiraSimulator) -> list[dict[str, Any]]:
    return [r.json() for r in sim.log if r.path.startswith("/rest/api/") and "/search" in r.path]


# ------------------------------------------------------------------------------------ mapping


def test_cloud_run_reads_issues_changelogs_sprints_boards_and_statuses(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = cloud(site)
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        result = run(warehouse, settings(url, page_size=25))
    assert result.warnings == []
    assert query(warehouse, "SELECT count(*) FROM tickets")[0][0] == len(site.issues)
    assert query(warehouse, "SELECT count(*) FROM ticket_events")[0][0] == kept_items(site.issues)
    assert query(warehouse, "SELECT count(*) FROM ticket_sprints")[0][0] == sum(
        len(i["fields"][SPRINT] or []) for i in site.issues
    )
    assert query(warehouse, "SELECT count(*), count(*) FILTER (WHERE NOT is_deleted) FROM sprints") == [
        (len(site.sprints), len(site.sprints))
    ]  # fmt: skip
    assert rows(warehouse, "boards") == [
        ("jira", "1", "scrum", "WEB board", "WEB"),
        ("jira", "2", "scrum", "PAY board", "PAY"),
    ]
    assert dict(query(warehouse, "SELECT name, category FROM ticket_statuses")) == {
        "To Do": "todo", "In Progress": "in_progress", "In Review": "in_progress",
        "Done": "done", "Won't Do": "canceled",
    }  # fmt: skip
    # Long changelogs are cut to the 40 most recent histories in search results; the rest came
    # from one bulk request per page (80 issues, 25 a page: 4 pages).
    long = [i for i in site.issues if len(i["changelog"]["histories"]) > 40]
    assert long and sim.requests_to("/changelog/bulkfetch$") <= 4
    assert sim.requests_to("/search/jql$") == math.ceil(len(site.issues) / 25)
    for issue in long:
        stored = query(
            warehouse,
            "SELECT min(changed_at), count(*) FROM ticket_events WHERE ticket_id = ?",
            [issue["id"]],
        )[0]
        assert stored[1] == kept_items([issue])
    # Only the fields the connector needs, with the changelog, never every field.
    body = searches(sim)[0]
    assert body["expand"] == "changelog" and "*all" not in body["fields"]
    assert {"summary", "status", "description", POINTS, SPRINT} <= set(body["fields"])
    assert body["jql"] == 'project in ("WEB", "PAY") ORDER BY updated ASC, id ASC'


def test_ticket_columns(site: Site, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with cloud(site).serve() as url:
        run(warehouse, settings(url))
    by_id = {i["id"]: i for i in site.issues}
    columns = [c[0] for c in query(warehouse, "DESCRIBE tickets")]
    stored = {r[columns.index("ticket_id")]: dict(zip(columns, r, strict=True)) for r in query(warehouse, "SELECT * FROM tickets")}  # fmt: skip
    kinds = Counter(t["type_category"] for t in stored.values())
    assert {"feature", "bug", "task", "subtask", "epic", "incident"} <= set(kinds)
    for ident, ticket in stored.items():
        fields = by_id[ident]["fields"]
        assert (
            ticket["key"] == by_id[ident]["key"] and ticket["project"] == fields["project"]["key"]
        )
        assert (
            ticket["title"] == fields["summary"] and ticket["type"] == fields["issuetype"]["name"]
        )
        assert ticket["story_points"] == fields[POINTS]
        assert ticket["assignee_id"] == (fields["assignee"] or {}).get("accountId")
        assert ticket["reporter_id"] == fields["reporter"]["accountId"]
        assert ticket["labels"] == fields["labels"]
        assert ticket["created_at"] == datetime.fromisoformat(fields["created"])
        assert ticket["resolution"] == (fields["resolution"] or {}).get("name")
        expected = {"new": "todo", "indeterminate": "in_progress", "done": "done"}[fields["status"]["statusCategory"]["key"]]  # fmt: skip
        if ticket["resolution"] == "Won't Do":
            expected = "canceled"
        assert ticket["status_category"] == expected
        sprints = fields[SPRINT] or []
        assert ticket["sprint_id"] == current_sprint(sprints)
        parent = fields.get("parent")
        assert ticket["parent_key"] == (parent or {}).get("key")
        if parent and parent["fields"]["issuetype"]["name"] == "Epic":
            assert ticket["epic_key"] == parent["key"]
        text = adf_text(fields["description"]) if fields["description"] else ""
        assert ticket["body_length"] == len(text.replace("\n", ""))
        assert ticket["is_deleted"] is False
    events = query(warehouse, "SELECT field, from_id, to_id, from_value, to_value FROM ticket_events WHERE field = 'sprint' AND from_id IS NOT NULL")  # fmt: skip
    assert events and all(" " not in e[1] and "," in e[2] for e in events)  # carry-over: "101,102"
    statuses = query(warehouse, "SELECT from_id, to_id, from_value, to_value FROM ticket_events WHERE field = 'status'")  # fmt: skip
    assert ("10000", "3", "To Do", "In Progress") in statuses
    people = query(warehouse, "SELECT account_id, name, account_type FROM identities")
    assert ("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "Automation for Jira", "app") in people
    assert {u["accountId"] for u in site.users} <= {p[0] for p in people}


def test_data_center_run_has_offset_pages_user_keys_and_greenhopper_sprints(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = datacenter(site)
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url, deployment="datacenter", page_size=25))
    assert [b["startAt"] for b in searches(sim)] == [0, 24, 48, 72]  # each page repeats one issue
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in sim.log if r.path != "/rest/api/2/serverInfo")  # fmt: skip
    assert query(warehouse, "SELECT count(*) FROM tickets")[0][0] == len(site.issues)
    assert query(warehouse, "SELECT count(*) FROM ticket_events")[0][0] == kept_items(site.issues)
    stored = dict(query(warehouse, "SELECT ticket_id, sprint_id FROM tickets"))
    assert stored == {i["id"]: current_sprint(i["fields"][SPRINT] or []) for i in site.issues}
    assert all(a.startswith("JIRAUSER") for (a,) in query(warehouse, "SELECT assignee_id FROM tickets WHERE assignee_id IS NOT NULL"))  # fmt: skip
    assert query(warehouse, "SELECT count(*) FROM identities WHERE login IS NULL")[0][0] == 0
    lengths = dict(query(warehouse, "SELECT ticket_id, body_length FROM tickets"))
    for issue in site.issues:
        description = issue["fields"]["description"]
        assert lengths[issue["id"]] == (len(adf_text(description)) if description else 0)


def test_cloud_and_data_center_give_the_same_tickets_apart_from_account_ids(site: Site, tmp_path: Path) -> None:  # fmt: skip
    shapes = {}
    for deployment, sim in (("cloud", cloud(site)), ("datacenter", datacenter(site))):
        warehouse = tmp_path / f"{deployment}.duckdb"
        with sim.serve() as url:
            run(warehouse, settings(url, deployment=deployment))
        shapes[deployment] = query(
            warehouse,
            "SELECT ticket_id, key, status, status_category, story_points, sprint_id, labels, "
            "parent_key, created_at, updated_at, resolved_at FROM tickets ORDER BY ticket_id",
        )
        shapes[deployment + " events"] = query(
            warehouse, "SELECT ticket_id, event_id, position, field, changed_at FROM ticket_events ORDER BY ALL"
        )  # fmt: skip
    assert shapes["cloud"] == shapes["datacenter"]
    assert shapes["cloud events"] == shapes["datacenter events"]


def test_long_changelogs_issue_by_issue_when_bulk_fetch_is_missing(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = cloud(site, bulk_changelog=False)
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        result = run(warehouse, settings(url))
    assert any("bulkfetch is not available" in w for w in result.warnings)
    long = [i for i in site.issues if len(i["changelog"]["histories"]) > 40]
    per_issue = sim.requests_to(r"/rest/api/3/issue/\d+/changelog$")
    assert per_issue == sum(math.ceil(len(i["changelog"]["histories"]) / 100) for i in long)
    assert query(warehouse, "SELECT count(*) FROM ticket_events")[0][0] == kept_items(site.issues)


def test_bulk_changelog_times_as_epoch_milliseconds(site: Site, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with cloud(site, bulk_created_as_millis=True).serve() as url:
        run(warehouse, settings(url))
    long = next(i for i in site.issues if len(i["changelog"]["histories"]) > 40)
    first = long["changelog"]["histories"][0]
    stored = query(warehouse, "SELECT changed_at FROM ticket_events WHERE event_id = ?", [first["id"]])  # fmt: skip
    assert stored and stored[0][0] == datetime.fromisoformat(first["created"])


def test_fields_found_by_name_or_given(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    for issue in sim.issues:  # a team-managed project: only the estimate field is filled
        issue["fields"]["customfield_10016"] = issue["fields"][POINTS]
        issue["fields"][POINTS] = None
    with sim.serve() as url:
        run(tmp_path / "a.duckdb", settings(url))
        given = settings(url, fields={"story_points": "customfield_10016", "sprint": SPRINT})
        run(tmp_path / "b.duckdb", given)
        with pytest.raises(SourceError, match=r"fields\.sprint is customfield_99999.*not a field"):
            run(tmp_path / "c.duckdb", settings(url, fields={"sprint": "customfield_99999"}))
    expected = sum(1 for i in site.issues if i["fields"][POINTS] is not None)
    for name in ("a", "b"):
        assert query(tmp_path / f"{name}.duckdb", "SELECT count(story_points) FROM tickets")[0][0] == expected  # fmt: skip


def test_deployment_auto_asks_server_info(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    with sim.serve() as url:  # a Cloud site behind a custom domain
        run(tmp_path / "w.duckdb", settings(url, deployment="auto", email_env="JIRA_EMAIL"))
    assert sim.log[0].path == "/rest/api/2/serverInfo"
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    assert sim.log[-1].headers["authorization"] == f"Basic {basic}"
    dc = datacenter(site)
    with dc.serve() as url:
        run(tmp_path / "dc.duckdb", settings(url, deployment="auto"))
    assert dc.requests_to("/rest/api/2/search$") >= 1


def test_mapping_rules() -> None:
    assert type_category("Bug") == "bug" and type_category("Story") == "feature"
    assert type_category("Task") == "task" and type_category("Epic") == "epic"
    assert type_category("Sub-task") == "subtask" and type_category("Teilaufgabe", subtask=True) == "subtask"  # fmt: skip
    assert type_category("Incident") == "incident" and type_category("Outage", incident_types=["Outage"]) == "incident"  # fmt: skip
    assert type_category("Initiative", hierarchy=2) == "epic" and type_category("Spike") == "other"
    assert status_category("new") == "todo" and status_category("indeterminate") == "in_progress"
    assert status_category("done", resolution="Duplicate", canceled_resolutions=["Duplicate"]) == "canceled"  # fmt: skip
    assert status_category("done", status="Won't do", canceled_statuses=["Won't Do"]) == "canceled"
    assert normalise_ids("101, 102") == "101,102" and normalise_ids("") is None
    doc = {"type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Hi "}, {"type": "mention", "attrs": {"id": "x", "text": "@Ana"}},
        {"type": "hardBreak"}, {"type": "emoji", "attrs": {"shortName": ":ok:", "text": "👍"}}]}]}  # fmt: skip
    assert adf_length(doc) == len("Hi @Ana") + 1 + 1 and adf_length("plain") == 5
    sprint = {"id": 7, "name": "A, B", "state": "closed", "boardId": 3, "goal": "x=1, y",
              "startDate": "2026-01-01T08:00:00.000Z", "endDate": "2026-01-12T17:00:00.000Z",
              "completeDate": "2026-01-13T09:00:00.000Z"}  # fmt: skip
    parsed = parse_sprint(greenhopper(sprint))
    assert parsed is not None and parsed["id"] == "7" and parsed["state"] == "closed"
    assert parsed["name"] == "A, B" and parsed["boardId"] == "3"
    assert parsed["completeDate"] == "2026-01-13T09:00:00.000+0000"
    assert parse_sprint("Sprint 4") is None
    closed = [{"id": 1, "state": "closed", "completeDate": "2026-01-13T09:00:00.000Z"},
              {"id": 2, "state": "closed", "completeDate": "2026-01-27T09:00:00.000Z"}]  # fmt: skip
    assert current_sprint(closed) == "2"
    assert current_sprint([*closed, {"id": 3, "state": "future"}]) == "3"
    assert current_sprint([{"id": 4, "state": "active"}, {"id": 3, "state": "future"}]) == "4"


# ------------------------------------------------------------------------------------ increments


def test_incremental_run_reads_what_changed_from_the_watermark_in_the_account_time_zone(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = cloud(site, time_zone="America/New_York")
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        config = settings(url, overlap_minutes=10)
        run(warehouse, config)
        watermark = max(datetime.fromisoformat(i["fields"]["updated"]) for i in site.issues)
        target = next(i for i in sim.issues if i["fields"]["status"]["name"] == "In Progress")
        when = watermark + timedelta(hours=2, seconds=17)
        sim.change(target["id"], when, [item("status", "In Progress", "Done", "3", "10002")],
                   status=status_field("Done"), resolution={"id": "10000", "name": "Done"},
                   resolutiondate=jira_time(when))  # fmt: skip
        before = len(sim.log)
        result = run(warehouse, config)
    bound = (watermark - timedelta(minutes=10)).astimezone(ZoneInfo("America/New_York"))
    body = next(r.json() for r in sim.log[before:] if r.path.endswith("/search/jql"))
    assert f'updated >= "{bound:%Y-%m-%d %H:%M}"' in body["jql"]
    assert body["jql"].endswith("ORDER BY updated ASC, id ASC")
    assert sim.requests_to("/rest/api/3/myself$") == 1
    overlap = [i for i in sim.issues if datetime.fromisoformat(i["fields"]["updated"]) >= bound.replace(second=0)]  # fmt: skip
    assert result.rows["tickets"] == len(overlap) < len(site.issues) / 4  # not everything
    changed = query(warehouse, "SELECT status, status_category, resolved_at FROM tickets WHERE ticket_id = ?", [target["id"]])  # fmt: skip
    assert changed == [("Done", "done", when.replace(microsecond=0))]
    last = query(warehouse, "SELECT to_value, changed_at FROM ticket_events WHERE ticket_id = ? AND field = 'status' ORDER BY changed_at DESC LIMIT 1", [target["id"]])  # fmt: skip
    assert last == [("Done", when)]
    cursor = json.loads(query(warehouse, "SELECT cursor FROM sync_state WHERE stream = 'issues'")[0][0])  # fmt: skip
    assert datetime.fromisoformat(cursor["watermark"]) == when


def test_first_run_from_since_in_the_account_time_zone(site: Site, tmp_path: Path) -> None:
    sim = cloud(site, time_zone="Asia/Tokyo")
    with sim.serve() as url:
        run(tmp_path / "w.duckdb", settings(url, since="2026-10-01"))
    assert 'updated >= "2026-10-01 00:00"' in searches(sim)[0]["jql"]
    expected = [i for i in site.issues if datetime.fromisoformat(i["fields"]["updated"]) >= datetime(2026, 10, 1, tzinfo=ZoneInfo("Asia/Tokyo"))]  # fmt: skip
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM tickets")[0][0] == len(expected)


def test_a_wall_clock_time_that_occurs_twice_steps_back_an_hour(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = cloud(site, time_zone="Europe/Paris")
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url))
        # 00:40 UTC on 25 October 2026 is 02:40 CEST; 02:40 happens again an hour later (CET).
        with_fold = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)
        query_cursor = json.dumps({"watermark": (with_fold + timedelta(minutes=10)).isoformat()})
        with duckdb.connect(str(warehouse)) as con:
            con.execute("UPDATE sync_state SET cursor = ? WHERE stream = 'issues'", [query_cursor])
        before = len(sim.log)
        run(warehouse, settings(url))
    body = next(r.json() for r in sim.log[before:] if r.path.endswith("/search/jql"))
    assert 'updated >= "2026-10-25 01:40"' in body["jql"]


def test_an_unknown_account_time_zone_widens_the_window(site: Site, tmp_path: Path) -> None:
    sim = cloud(site, time_zone="UTC")
    sim.myself_zone = None
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url))
        result = run(warehouse, settings(url, overlap_minutes=0))
    watermark = max(datetime.fromisoformat(i["fields"]["updated"]) for i in site.issues)
    assert any("widened by 14 hours" in w for w in result.warnings)
    assert f'updated >= "{(watermark - timedelta(hours=14)).astimezone(UTC):%Y-%m-%d %H:%M}"' in [b for b in searches(sim) if b["fields"] != ["id"]][-1]["jql"]  # fmt: skip


def test_data_center_offsets_shifted_by_edits_during_the_run_miss_nothing(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = datacenter(site)
    seen = {"searches": 0}
    first_page_issue = None

    def edit_during_run(request: SimRequest) -> None:
        nonlocal first_page_issue
        if request.path != "/rest/api/2/search":
            return
        seen["searches"] += 1
        if seen["searches"] == 2:  # after page one: someone edits an issue page one had
            ordered = sorted(sim.issues, key=lambda i: (datetime.fromisoformat(i["fields"]["updated"]), int(i["id"])))  # fmt: skip
            first_page_issue = ordered[3]
            sim.change(first_page_issue["id"], NOW, [item("labels", None, "urgent")], labels=["urgent"])  # fmt: skip

    sim.on_request = edit_during_run
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url, deployment="datacenter", page_size=20))
    assert first_page_issue is not None
    assert query(warehouse, "SELECT count(*) FROM tickets")[0][0] == len(site.issues)
    assert query(warehouse, "SELECT labels FROM tickets WHERE ticket_id = ?", [first_page_issue["id"]]) == [(["urgent"],)]  # fmt: skip
    assert query(warehouse, "SELECT count(*) FROM ticket_events")[0][0] == kept_items(sim.issues)


# ------------------------------------------------------------------------------------ faults


def test_rate_limits_and_server_errors_are_waited_out_and_end_with_the_clean_rows(site: Site, tmp_path: Path) -> None:  # fmt: skip
    clean = tmp_path / "clean.duckdb"
    with cloud(site).serve() as url:
        run(clean, settings(url, page_size=20))
    sim = cloud(site)
    reset = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%MZ")
    sim.inject(
        Fault("status", path="/search/jql$", status=429, headers={"Retry-After": "7", "RateLimit-Reason": "jira-burst-based"}),
        Fault("status", path="/field$", status=503, headers={"Retry-After": "3"}),
        Fault("status", path="/search/jql$", status=429, headers={"X-RateLimit-Reset": reset}, after=1),
        Fault("status", path="/board$", status=502, times=2),
        Fault("status", path="/sprint$", status=503, times=2),
        Fault("truncate", path="/search/jql$", after=2),
        Fault("truncate", path="/changelog/bulkfetch$"),
        Fault("delay", path="/status$", seconds=1.5),
        Fault("reset", path="/search/jql$", after=3),
    )  # fmt: skip
    sleeps: list[float] = []
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url, page_size=20, timeout_seconds=0.5), sleeps=sleeps)
    assert any(7 <= s < 8 for s in sleeps)  # Retry-After
    assert any(3 <= s < 4 for s in sleeps)  # 503 with Retry-After
    assert any(60 <= s <= 181 for s in sleeps)  # X-RateLimit-Reset, minute precision
    assert len(sleeps) >= 9
    assert sim.faults == []
    assert snapshot(warehouse) == snapshot(clean)


def test_a_rate_limit_longer_than_allowed_fails_at_once(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    sim.inject(Fault("status", path="/search/jql$", status=429, headers={"Retry-After": "5000"}))
    with sim.serve() as url, pytest.raises(SourceUnavailableError, match=r"rate limited .*5000s.*run again later"):  # fmt: skip
        run(tmp_path / "w.duckdb", settings(url, max_wait_seconds=600))


def test_throttle_reads_jira_headers() -> None:
    throttle = JiraThrottle(["WEB"])
    request = httpx.Request("GET", "https://acme.atlassian.net/rest/api/3/field")
    near = httpx.Response(200, headers={"X-RateLimit-NearLimit": "true"}, request=request)
    assert throttle.pause(near) == 1.0 and throttle.retry_after(near) is None
    spent = httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Seconds": "5"}, request=request)  # fmt: skip
    assert throttle.pause(spent) == 5.0
    bare = httpx.Response(429, request=request)
    assert throttle.retry_after(bare) == 10.0
    assert throttle.retry_after(httpx.Response(503, request=request)) is None  # 5xx backoff
    assert "'Browse projects' permission on WEB" in throttle.forbidden_hint(bare)


def test_a_next_page_token_that_repeats_is_an_error_not_a_loop(site: Site, tmp_path: Path) -> None:
    with cloud(site, stuck_tokens=True).serve() as url, pytest.raises(SourceResponseError, match="nextPageToken it had already given"):  # fmt: skip
        run(tmp_path / "w.duckdb", settings(url, page_size=10))
    # The pages before the loop are kept with their checkpoint.
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM tickets")[0][0] == 20


@pytest.mark.parametrize(
    ("deployment", "hint"),
    [("cloud", r"\$JIRA_EMAIL and the API token in \$JIRA_TOKEN"), ("datacenter", r"personal access token in \$JIRA_TOKEN")],
)  # fmt: skip
def test_bad_credentials_say_what_to_check(site: Site, tmp_path: Path, deployment: str, hint: str) -> None:  # fmt: skip
    sim = cloud(site) if deployment == "cloud" else datacenter(site)
    wrong = {**ENV, "JIRA_TOKEN": "wrong-token-value-123"}
    with sim.serve() as url, pytest.raises(SourceAuthError, match=hint) as caught:
        run(tmp_path / "w.duckdb", settings(url, deployment=deployment), env=wrong)
    assert "wrong-token-value-123" not in str(caught.value)
    assert "HTTP 401" in str(caught.value)


def test_forbidden_names_the_browse_projects_permission(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    sim.inject(Fault("status", path="/search/jql$", status=403, body={"errorMessages": ["You do not have the permission to see the specified issue."], "errors": {}}))  # fmt: skip
    with sim.serve() as url, pytest.raises(SourceAccessError, match=r"HTTP 403.*'Browse projects' permission on WEB, PAY"):  # fmt: skip
        run(tmp_path / "w.duckdb", settings(url))


def test_unknown_project_or_board_is_named(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    with sim.serve() as url:
        with pytest.raises(SourceNotFoundError, match=r"project NOPE does not exist or the account cannot browse it"):  # fmt: skip
            run(tmp_path / "a.duckdb", settings(url, projects=["WEB", "NOPE"]))
        with pytest.raises(SourceNotFoundError, match=r"board 99 does not exist"):
            run(tmp_path / "b.duckdb", settings(url, projects=["WEB"], boards=[99]))
        # Jira answers a JQL naming an unknown project with 400 and the key in errorMessages.
        sim.inject(Fault("status", path="/search/jql$", status=400, body={"errorMessages": ["The value 'PAY' does not exist for the field 'project'."], "errors": {}}))  # fmt: skip
        with pytest.raises(SourceNotFoundError, match=r"project PAY does not exist .*Jira: The value 'PAY'"):  # fmt: skip
            run(tmp_path / "c.duckdb", settings(url))
        with pytest.raises(SourceError, match=r"Jira refused the search .*Field 'colour' does not exist.*JQL: .*colour = red"):  # fmt: skip
            run(tmp_path / "d.duckdb", settings(url, jql="colour = red"))


def test_malformed_payloads_name_the_endpoint(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    sim.inject(Fault("status", path="/search/jql$", status=200, body={"isLast": True}))
    with sim.serve() as url:
        with pytest.raises(SourceResponseError, match=r"POST /rest/api/3/search/jql: expected 'issues' as a list, got nothing"):  # fmt: skip
            run(tmp_path / "w.duckdb", settings(url))
        sim.inject(Fault("status", path="/field$", status=200, body={"fields": []}))
        with pytest.raises(SourceResponseError, match=r"GET /rest/api/3/field: expected a list of fields, got dict"):  # fmt: skip
            run(tmp_path / "w.duckdb", settings(url))


def test_the_old_search_endpoint_is_gone_on_cloud(site: Site) -> None:
    sim = cloud(site)
    with sim.serve() as url:
        auth = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        answer = httpx.get(f"{url}/rest/api/3/search", params={"jql": "project = WEB"}, headers={"Authorization": f"Basic {auth}"})  # fmt: skip
    assert answer.status_code == 410 and "search/jql" in answer.json()["errorMessages"][0]


# ------------------------------------------------------------------------------------ moves, deletions, drift


def test_moved_issue_keeps_its_row_and_deleted_issues_are_marked(tmp_path: Path) -> None:
    sim = make_site(40, projects=("WEB", "PAY", "OPS")).simulator(email=EMAIL, token=TOKEN)
    warehouse = tmp_path / "w.duckdb"
    moved = next(i for i in sim.issues if i["key"].startswith("WEB-") and i["fields"]["issuetype"]["name"] != "Epic")  # fmt: skip
    old_key = moved["key"]
    out_of_scope = next(i for i in sim.issues if i["key"].startswith("WEB-") and i is not moved)
    deleted = next(i for i in sim.issues if i["key"].startswith("PAY-"))
    with sim.serve() as url:
        config = settings(url, projects=["WEB", "PAY"])
        run(warehouse, config)
        new_key = sim.move(moved["id"], "PAY", NOW)
        sim.move(out_of_scope["id"], "OPS", NOW)
        sim.delete(deleted["id"])
        run(warehouse, config)
    assert query(warehouse, "SELECT key, project, is_deleted FROM tickets WHERE ticket_id = ?", [moved["id"]]) == [(new_key, "PAY", False)]  # fmt: skip
    assert query(warehouse, "SELECT count(*) FROM tickets WHERE key = ?", [old_key]) == [(0,)]
    moves = query(warehouse, "SELECT field, from_value, to_value FROM ticket_events WHERE ticket_id = ? AND field IN ('project', 'key') ORDER BY field", [moved["id"]])  # fmt: skip
    assert moves == [("key", old_key, new_key), ("project", "Web", "Pay")]
    gone = dict(query(warehouse, "SELECT ticket_id, is_deleted FROM tickets WHERE is_deleted"))
    assert gone == {deleted["id"]: True, out_of_scope["id"]: True}


def test_reconcile_waits_for_its_interval_and_refuses_an_empty_listing(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = cloud(site)
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url, reconcile_days=1))
        sim.delete(site.issues[0]["id"])
        run(warehouse, settings(url, reconcile_days=1), now=NOW + timedelta(hours=5))
        assert query(warehouse, "SELECT count(*) FROM tickets WHERE is_deleted")[0][0] == 0
        run(warehouse, settings(url, reconcile_days=1), now=NOW + timedelta(days=1, hours=1))
        assert query(warehouse, "SELECT ticket_id FROM tickets WHERE is_deleted") == [(site.issues[0]["id"],)]  # fmt: skip
        listings = [b for b in searches(sim) if b["fields"] == ["id"]]
        assert len(listings) == 1 and listings[0]["maxResults"] == 5000
        sim.issues.clear()
        result = run(warehouse, settings(url, reconcile_days=0), now=NOW + timedelta(days=3))
    assert any("lists no issues" in w for w in result.warnings)
    assert query(warehouse, "SELECT count(*) FROM tickets WHERE is_deleted")[0][0] == 1


def test_deleted_sprints_are_marked_and_sprints_of_other_boards_come_from_the_sprint_field(site: Site, tmp_path: Path) -> None:  # fmt: skip
    sim = cloud(site)
    warehouse = tmp_path / "w.duckdb"
    with sim.serve() as url:
        run(warehouse, settings(url, projects=["WEB"], boards=[]))
        removed = sim.sprints.pop(0)
        run(warehouse, settings(url, projects=["WEB"]))
    assert query(warehouse, "SELECT is_deleted FROM sprints WHERE sprint_id = ?", [str(removed["id"])]) == [(True,)]  # fmt: skip
    # Board 2 (PAY) was never listed, but WEB issues carried into no PAY sprint: only WEB's.
    boards = {b for (b,) in query(warehouse, "SELECT DISTINCT board_id FROM sprints")}
    assert boards == {"1"}


def test_schema_drift_is_recorded(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    sim.issues[0]["renderedFieldsV2"] = {}
    sim.issues[0]["fields"].pop("summary")
    sim.issues[0]["fields"]["summary"] = None
    for issue in sim.issues:
        issue["fields"].pop("created")
        issue["fields"]["created"] = issue["fields"]["updated"]
    warehouse = tmp_path / "w.duckdb"
    original = sim._issue_out

    def with_extra(issue: dict[str, Any], wanted: set[str] | None, changelog: bool) -> dict[str, Any]:  # fmt: skip
        out = original(issue, wanted, changelog)
        out["newTopLevelThing"] = 1
        out["fields"].pop("issuetype", None)
        return out

    sim._issue_out = with_extra  # type: ignore[method-assign]
    with sim.serve() as url:
        run(warehouse, settings(url))
    drift = set(query(warehouse, "SELECT stream, field, status FROM source_fields WHERE status <> 'known'"))  # fmt: skip
    assert ("issues", "newTopLevelThing", "unknown") in drift
    assert ("issue_fields", "issuetype", "missing") in drift


# ------------------------------------------------------------------------------------ metadata only, secrets, CLI


def _config(tmp_path: Path, name: str, source: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.yaml"
    config = {"workspace": str(tmp_path / f"{name}-ws"), "warehouse": str(tmp_path / f"{name}.duckdb"), "sources": [source]}  # fmt: skip
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _source(url: str, **options: Any) -> dict[str, Any]:
    return {"type": "jira", "name": "jira", "base_url": url, "deployment": "cloud", "token_env": "JIRA_TOKEN",
            "email_env": "JIRA_EMAIL", "projects": ["WEB", "PAY"], **options}  # fmt: skip


def test_descriptions_history_text_and_secrets_never_reach_the_warehouse(tmp_path: Path) -> None:
    site = make_site(30)
    sim = site.simulator(email=EMAIL, token=TOKEN)
    for issue in sim.issues[:10]:
        sim.change(issue["id"], NOW, [item("description", f"old {HISTORY_MARKER}", f"new {HISTORY_MARKER}")])  # fmt: skip
        sim.change(issue["id"], NOW, [item("Comment", None, f"said {HISTORY_MARKER}")])
    with sim.serve() as url:
        done = cli(tmp_path, "ingest", "--config", _config(tmp_path, "w", _source(url)), env=ENV)
    assert done.returncode == 0, done.stderr
    warehouse = tmp_path / "w.duckdb"
    assert query(warehouse, "SELECT count(*), sum(body_length) FROM tickets")[0][1] > 0
    data = warehouse.read_bytes()
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    for needle in (DESCRIPTION_MARKER, HISTORY_MARKER, TOKEN, basic):
        assert needle.encode() not in data, needle
        assert text_columns_containing(warehouse, needle) == [], needle
        assert needle not in done.stdout + done.stderr


def test_cli_prints_one_error_line_and_exits_2(site: Site, tmp_path: Path) -> None:
    sim = cloud(site)
    with sim.serve() as url:
        done = cli(tmp_path, "ingest", "--config", _config(tmp_path, "w", _source(url)),
                   env={**ENV, "JIRA_TOKEN": "not-the-token-4711"})  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "HTTP 401" in errors[0] and "$JIRA_TOKEN" in errors[0]
    assert "not-the-token-4711" not in done.stdout + done.stderr


@pytest.mark.parametrize("kill_at", [5, 14])
def test_a_killed_run_resumes_and_ends_with_the_rows_of_a_clean_run(tmp_path: Path, kill_at: int) -> None:  # fmt: skip
    site = make_site(150)
    sim = site.simulator(email=EMAIL, token=TOKEN)
    with sim.serve() as url:
        source = _source(url, page_size=20)
        run(tmp_path / "clean.duckdb", settings(url, page_size=20, reconcile_days=1))
        killed_config = _config(tmp_path, "killed", source)
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster_project", "ingest", "--config", str(killed_config)],
            cwd=tmp_path, env=cli_env({"SPRINTPROOF_HOME": str(tmp_path / "sphome")}),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        count = 0

        def kill(request: SimRequest) -> None:
            nonlocal count
            count += 1
            if count == kill_at:
                os.kill(process.pid, signal.SIGKILL)

        sim.on_request = kill
        assert process.wait(timeout=120) == -signal.SIGKILL
        sim.on_request = None
        partial = query(tmp_path / "killed.duckdb", "SELECT count(*) FROM tickets")[0][0]
        assert partial < len(site.issues)
        if kill_at > 10:
            assert partial > 0  # killed between issue pages, not before them
        resumed = cli(tmp_path, "ingest", "--config", killed_config, env=ENV)
        assert resumed.returncode == 0, resumed.stderr
    assert snapshot(tmp_path / "killed.duckdb") == snapshot(tmp_path / "clean.duckdb")
    cursor = "SELECT cursor FROM sync_state WHERE stream = 'issues'"
    cursors = [json.loads(query(tmp_path / f"{name}.duckdb", cursor)[0][0]) for name in ("killed", "clean")]  # fmt: skip
    assert cursors[0] == cursors[1]


# ------------------------------------------------------------------------------------ the demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return build_demo(tmp_path_factory.mktemp("jirademo") / "data", months=3)


def test_replay_dir_ingests_the_demo_exports(demo: DemoManifest, tmp_path: Path) -> None:
    source = {"type": "jira", "name": "jira", "replay_dir": str(demo.jira_dir), "projects": ["PAY", "WEB", "MOB"]}  # fmt: skip
    done = cli(tmp_path, "ingest", "--config", _config(tmp_path, "demo", source))
    assert done.returncode == 0, done.stderr
    warehouse = tmp_path / "demo.duckdb"
    exported = {name: json.loads((demo.jira_dir / f"{name}.json").read_text()) for name in ("issues", "sprints", "boards")}  # fmt: skip
    assert query(warehouse, "SELECT count(*) FROM tickets")[0][0] == len(exported["issues"])
    assert query(warehouse, "SELECT count(*) FROM sprints")[0][0] == len(exported["sprints"])
    assert query(warehouse, "SELECT count(*) FROM boards")[0][0] == len(exported["boards"])
    items = Counter(change["field"] for issue in exported["issues"] for h in issue["changelog"]["histories"] for change in h["items"])  # fmt: skip
    events = dict(query(warehouse, "SELECT field, count(*) FROM ticket_events GROUP BY field"))
    assert events == {"status": items["status"], "sprint": items["Sprint"], "resolution": items["resolution"],
                      "assignee": items["assignee"], "story_points": items["Story Points"]}  # fmt: skip
    memberships = sum(len(i["fields"]["customfield_10020"] or []) for i in exported["issues"])
    assert query(warehouse, "SELECT count(*) FROM ticket_sprints")[0][0] == memberships
    states = dict(query(warehouse, "SELECT state, count(*) FROM sprints GROUP BY state"))
    assert set(states) == {"closed", "active", "future"}


def test_simulator_serves_the_demo_as_jira_cloud(demo: DemoManifest) -> None:
    sim = JiraSimulator.from_dir(demo.jira_dir)
    client = httpx.Client(transport=sim.transport(), base_url="https://acme-robotics.atlassian.net")
    page = client.post("/rest/api/3/search/jql", json={"jql": "project = PAY ORDER BY key ASC", "fields": ["summary"], "maxResults": 5000}).json()  # fmt: skip
    assert len(page["issues"]) == 100 and page["isLast"] is False and page["nextPageToken"]
    assert "changelog" not in page["issues"][0]
    sprints = client.get("/rest/agile/1.0/board/1/sprint", params={"maxResults": 200}).json()
    assert sprints["maxResults"] == 50 and "total" not in sprints
    assert client.get("/rest/agile/1.0/board/3/configuration").json()["filter"]["id"] == "10003"
    assert adf(DESCRIPTION_MARKER)["content"][0]["content"][0]["text"] == DESCRIPTION_MARKER
