"""Jira CSV import: the demo's export against the API, repeated columns, date formats, re-imports, and errors that name the line and column."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from jira_support import cli, query, run, text_columns_containing

from ingestion.demo import DemoManifest, build_demo
from ingestion.jira_csv import CsvError, parse_zone, read_export
from ingestion.settings import JiraCsvSettings, JiraSettings

HEADER = ["Summary", "Issue key", "Issue id", "Parent", "Issue Type", "Status", "Project key",
          "Priority", "Resolution", "Assignee", "Assignee Id", "Reporter", "Reporter Id", "Created",
          "Updated", "Resolved", "Sprint", "Sprint", "Labels", "Labels", "Labels",
          "Custom field (Story Points)", "Custom field (Epic Link)", "Description", "Comment"]  # fmt: skip
MARKER = "CSVDESCRIPTIONMARKER41c0"
COMMENT = "CSVCOMMENTMARKER9e2d"


def row(sprints: tuple[str, ...] = (), labels: tuple[str, ...] = (), /, **values: str) -> list[str]:
    """One export line: `values` by column name, repeated columns filled from the tuples."""
    single = {"Summary": "Fix the thing", "Issue Type": "Story", "Status": "To Do", "Priority": "Medium",
              "Reporter": "Ana Silva", "Reporter Id": "712020:ana", "Created": "20/Nov/26 12:20 PM"} | values  # fmt: skip
    pools = {"Sprint": list(sprints), "Labels": list(labels)}
    return [
        (pools[name].pop(0) if pools[name] else "") if name in pools else single.get(name, "")
        for name in HEADER
    ]


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def source(path: Path, **options: Any) -> JiraCsvSettings:
    return JiraCsvSettings.model_validate({"type": "jira_csv", "path": str(path), **options})


def tickets(warehouse: Path) -> dict[str, dict[str, Any]]:
    columns = [c[0] for c in query(warehouse, "DESCRIBE tickets")]
    return {r[2]: dict(zip(columns, r, strict=True)) for r in query(warehouse, "SELECT * FROM tickets")}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return build_demo(tmp_path_factory.mktemp("jiracsv") / "data", months=3)


def test_the_demo_export_imports_as_the_api_reads_it(demo: DemoManifest, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    api = JiraSettings.model_validate({"type": "jira", "replay_dir": str(demo.jira_dir), "projects": ["PAY", "WEB", "MOB"]})  # fmt: skip
    run(warehouse, api)
    result = run(warehouse, source(demo.jira_dir / "export.csv", time_zone="+01:00"))
    assert result.rows["tickets"] == query(warehouse, "SELECT count(*) FROM tickets WHERE source = 'jira'")[0][0]  # fmt: skip
    same = ["key", "project", "title", "type", "type_category", "status", "status_category",
            "resolution", "priority", "story_points", "assignee_id", "reporter_id", "labels",
            "parent_key", "epic_key", "body_length"]  # fmt: skip
    for column in same:
        differ = query(warehouse, f"SELECT count(*) FROM tickets a JOIN tickets b USING (ticket_id) WHERE a.source = 'jira' AND b.source = 'jira_csv' AND a.{column} IS DISTINCT FROM b.{column}")  # fmt: skip
        assert differ == [(0,)], column
    for column in ("created_at", "updated_at", "resolved_at"):  # the export has minutes only
        differ = query(warehouse, f"SELECT count(*) FROM tickets a JOIN tickets b USING (ticket_id) WHERE a.source = 'jira' AND b.source = 'jira_csv' AND date_trunc('minute', a.{column}) IS DISTINCT FROM b.{column}")  # fmt: skip
        assert differ == [(0,)], column
    # Sprints are named, not numbered, in an export: the same memberships by name.
    by_name = query(warehouse, "SELECT count(*) FROM ticket_sprints t JOIN sprints s ON s.sprint_id = t.sprint_id AND s.source = 'jira' WHERE t.source = 'jira'")  # fmt: skip
    assert query(warehouse, "SELECT count(*) FROM ticket_sprints WHERE source = 'jira_csv'") == by_name  # fmt: skip
    current = query(warehouse, "SELECT count(*) FROM tickets a JOIN tickets b USING (ticket_id) JOIN sprints s ON s.sprint_id = a.sprint_id AND s.source = 'jira' WHERE a.source = 'jira' AND b.source = 'jira_csv' AND s.name IS DISTINCT FROM b.sprint_id")  # fmt: skip
    assert current == [(0,)]
    assert query(warehouse, "SELECT count(*) FROM ticket_events WHERE source = 'jira_csv'") == [(0,)]  # fmt: skip


def test_repeated_columns_dates_parents_and_categories(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", [
        row(**{"Issue key": "WEB-1", "Issue id": "10001", "Issue Type": "Epic", "Status": "In Progress"}),
        row(("WEB Sprint 4", "WEB Sprint 5"), ("backend", "customer", "backend"),
            **{"Issue key": "WEB-2", "Issue id": "10002", "Parent": "10001", "Status": "Done", "Resolution": "Done",
               "Resolved": "2026-11-21 09:05", "Updated": "2026-11-21T09:05:30.000+0100", "Custom field (Story Points)": "3,5", "Assignee": "Ben Okafor",
               "Assignee Id": "712020:ben", "Description": f"Text {MARKER}", "Comment": f"20/Nov/26 1:00 PM;712020:ana;{COMMENT}"}),
        row(**{"Issue key": "WEB-3", "Issue id": "10003", "Parent": "WEB-2", "Issue Type": "Sub-task", "Status": "Closed",
               "Resolution": "Won't Do", "Created": "20/Nov/2026 23:59", "Custom field (Epic Link)": "web-1"}),
        row(**{"Issue key": "WEB-4", "Issue id": "10004", "Issue Type": "Incident", "Status": "Triage"}),
    ])  # fmt: skip
    warehouse = tmp_path / "w.duckdb"
    run(warehouse, source(path, time_zone="Europe/Paris"))
    found = tickets(warehouse)
    epic, story, subtask, incident = (found[i] for i in ("10001", "10002", "10003", "10004"))
    assert epic["type_category"] == "epic" and epic["status_category"] == "in_progress"
    assert story["parent_key"] == "WEB-1" and story["epic_key"] == "WEB-1"
    assert story["labels"] == ["backend", "customer"] and story["story_points"] == 3.5
    assert story["sprint_id"] == "WEB Sprint 5" and story["status_category"] == "done"
    assert story["assignee_id"] == "712020:ben" and story["body_length"] == len(f"Text {MARKER}")
    assert story["created_at"] == datetime(2026, 11, 20, 11, 20, tzinfo=UTC)  # 12:20 in Paris
    assert story["resolved_at"] == datetime(2026, 11, 21, 8, 5, tzinfo=UTC)
    assert story["updated_at"] == datetime(2026, 11, 21, 8, 5, 30, tzinfo=UTC)
    assert subtask["type_category"] == "subtask" and subtask["status_category"] == "canceled"
    assert subtask["parent_key"] == "WEB-2" and subtask["epic_key"] == "WEB-1"
    assert subtask["created_at"] == datetime(2026, 11, 20, 22, 59, tzinfo=UTC)
    assert incident["type_category"] == "incident" and incident["status_category"] == "in_progress"
    assert sorted(query(warehouse, "SELECT sprint_id FROM ticket_sprints")) == [("WEB Sprint 4",), ("WEB Sprint 5",)]  # fmt: skip
    assert dict(query(warehouse, "SELECT name, category FROM ticket_statuses")) == {
        "Done": "done", "Closed": "done", "Triage": "in_progress", "In Progress": "in_progress",
    }  # fmt: skip
    assert ("712020:ben", "Ben Okafor") in query(warehouse, "SELECT account_id, name FROM identities")  # fmt: skip
    for needle in (MARKER, COMMENT):
        assert text_columns_containing(warehouse, needle) == []
        assert needle.encode() not in warehouse.read_bytes()


def test_reimport_is_a_noop_and_a_newer_export_replaces_the_older(tmp_path: Path) -> None:
    rows = [row(**{"Issue key": f"WEB-{n}", "Issue id": str(10000 + n)}) for n in range(1, 6)]
    path = write(tmp_path / "export.csv", rows)
    warehouse = tmp_path / "w.duckdb"
    first = run(warehouse, source(path))
    assert first.rows["tickets"] == 5
    assert run(warehouse, source(path)).rows == {}  # same file, same settings
    rows[1] = row(
        **{"Issue key": "WEB-2", "Issue id": "10002", "Status": "Done", "Resolution": "Done"}
    )
    write(path, rows[:4])
    run(warehouse, source(path))
    found = tickets(warehouse)
    assert len(found) == 5 and found["10002"]["status_category"] == "done"
    assert [i for i, t in found.items() if t["is_deleted"]] == ["10005"]
    assert run(warehouse, source(path, time_zone="Asia/Tokyo")).rows["tickets"] == 4  # new settings


def test_date_format_setting_and_time_zones(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", [row(**{"Issue key": "WEB-1", "Issue id": "1", "Created": "11/20/2026 12:20 PM"})])  # fmt: skip
    with pytest.raises(CsvError, match=r"line 2, column 'Created': '11/20/2026 12:20 PM' is not a date .*set date_format"):  # fmt: skip
        read_export(source(path))
    export, _ = read_export(source(path, date_format="%m/%d/%Y %I:%M %p", time_zone="-05:00"))
    assert export.tickets[0]["created_at"] == datetime(2026, 11, 20, 17, 20, tzinfo=UTC)
    assert parse_zone("+0530").utcoffset(None).total_seconds() == 5.5 * 3600  # type: ignore[union-attr]
    with pytest.raises(pydantic.ValidationError, match="expected an IANA name"):
        source(path, time_zone="Mars/Olympus")


def _bad(tmp_path: Path, body: bytes | str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", r"line 1: the file is empty"),
        (_csv([], ["Summary", "Issue key", "Status"]), r"line 1: missing columns 'Issue id', 'Issue Type', 'Created'"),
        (_csv([]), r"line 2: the file has a header but no issues"),
        (_csv([row(**{"Issue key": "WEB-1", "Issue id": "1", "Created": "32/Nov/26 1:00 PM"})]), r"line 2, column 'Created': '32/Nov/26 1:00 PM' is not a date"),
        (_csv([row(**{"Issue key": "WEB-1", "Issue id": "1"}), row(**{"Issue key": "WEB-2", "Issue id": "2", "Custom field (Story Points)": "three"})]), r"line 3, column 'Custom field \(Story Points\)': 'three' is not a number"),
        (_csv([row(**{"Issue key": "WEB-1", "Issue id": "1"}), row(**{"Issue key": "WEB-2", "Issue id": "1"})]), r"line 3, column 'Issue id': issue 1 appears twice \(first on line 2\)"),
        (_csv([row(**{"Issue key": "WEB-1", "Issue id": "WEB-1"})]), r"line 2, column 'Issue id': 'WEB-1' is not an issue id"),
        (_csv([row(**{"Issue key": "not a key", "Issue id": "1"})]), r"line 2, column 'Issue key': 'not a key' is not an issue key"),
        (_csv([row(**{"Issue key": "WEB-1", "Issue id": "1", "Summary": "two\nlines"})]) + "a,b,c\n", r"line 4: 3 fields but the header has 25 columns"),
        (_csv([row(**{"Issue key": "WEB-1", "Issue id": "1"})]).encode() + b"Caf\xe9,WEB-2\n", r"line 3: not UTF-8 text"),
    ],
)  # fmt: skip
def test_bad_files_name_the_file_line_and_column(tmp_path: Path, body: bytes | str, message: str) -> None:  # fmt: skip
    path = _bad(tmp_path, body)
    with pytest.raises(CsvError, match=message) as caught:
        run(tmp_path / "w.duckdb", source(path))
    assert str(caught.value).startswith(f"jira_csv: {path}: ")
    assert query(tmp_path / "w.duckdb", "SELECT count(*) FROM tickets") == [(0,)]


def test_a_missing_file_and_an_unknown_story_points_column(tmp_path: Path) -> None:
    with pytest.raises(CsvError, match=r"no such file; check `path`"):
        read_export(source(tmp_path / "nope.csv"))
    path = write(tmp_path / "export.csv", [row(**{"Issue key": "WEB-1", "Issue id": "1"})])
    with pytest.raises(CsvError, match=r"story_points_column 'Points' is not a column"):
        read_export(source(path, story_points_column="Points"))


def test_cli_reports_a_bad_export_on_one_line_and_exits_2(tmp_path: Path) -> None:
    path = _bad(tmp_path, _csv([row(**{"Issue key": "WEB-1", "Issue id": "1", "Created": "yesterday"})]))  # fmt: skip
    config = tmp_path / "sprintproof.yaml"
    config.write_text(yaml.safe_dump({"warehouse": str(tmp_path / "w.duckdb"), "sources": [{"type": "jira_csv", "path": "bad.csv"}]}))  # fmt: skip
    done = cli(tmp_path, "ingest", "--config", config)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{path}: line 2, column 'Created': 'yesterday'" in errors[0]
