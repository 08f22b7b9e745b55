"""Jira CSV export import (type jira_csv): tickets, their sprints, statuses and people from "Export CSV (all fields)".

For installations that cannot reach Jira. The whole file is parsed and checked before anything is
written (a bad file names the line, the column and what is wrong), then written in one
transaction keyed by issue id, so importing the same file again changes nothing and a newer
export replaces the older one's rows; issues missing from a newer export are marked
`is_deleted`. A CSV export has no changelog and no sprint ids or dates: sprints are identified by
their names, and `ticket_events` stays empty for this source.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from ingestion.http import SourceError
from ingestion.jira import (
    IDENTITY_SCHEMA,
    TICKET_SCHEMA,
    TICKET_SPRINT_SCHEMA,
    TRACKER,
    frame,
    status_category,
    type_category,
)
from ingestion.settings import JiraCsvSettings
from ingestion.sync import Replace, SyncContext, SyncResult, parse_time

# Jira's export date formats (the site's "dd/MMM/yy h:mm a" default first); numeric day/month
# orders are ambiguous (20/11 or 11/20) and need `date_format`.
DATE_FORMATS = (
    "%d/%b/%y %I:%M %p",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%y %H:%M",
    "%d/%b/%Y %H:%M",
    "%d-%b-%Y %I:%M %p",
    "%d-%b-%Y %H:%M",
    "%d/%b/%y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
)
REQUIRED = ("Issue key", "Issue id", "Summary", "Issue Type", "Status", "Created")
POINT_COLUMNS = (
    "Custom field (Story Points)",
    "Custom field (Story point estimate)",
    "Custom field (Story points)",
    "Story Points",
)
CATEGORY_NAMES = {
    "to do": "todo",
    "new": "todo",
    "in progress": "in_progress",
    "indeterminate": "in_progress",
    "done": "done",
    "complete": "done",
}
TODO_STATUSES = frozenset(
    {"to do", "open", "backlog", "new", "selected for development", "reopened"}
)
DONE_STATUSES = frozenset({"done", "closed", "resolved", "released", "complete", "completed"})
UNRESOLVED = frozenset({"", "unresolved"})
STATUS_SCHEMA = {
    "source": pl.String,
    "status_id": pl.String,
    "name": pl.String,
    "category": pl.String,
}
_GONE = (
    "UPDATE tickets SET is_deleted = true WHERE source = ? AND NOT is_deleted "
    "AND ticket_id NOT IN (SELECT ticket_id FROM _jira_csv_ids)"
)
KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$", re.IGNORECASE)


class CsvError(SourceError):
    """A Jira CSV export that cannot be imported: which file, which line and column, what is wrong."""


def parse_zone(text: str) -> tzinfo:
    """An IANA time zone name (Europe/Paris), UTC, or a fixed offset (+01:00, -0530)."""
    value = text.strip()
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", value)
    if match:
        sign = 1 if match[1] == "+" else -1
        return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
    if value.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}; expected an IANA name such as Europe/Paris, UTC, or an offset such as +01:00"
        ) from None


@dataclass
class Export:
    """One parsed export: rows for each table, ready to write."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    sprints: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Columns:
    """Header positions by name, case-insensitively; repeated names (Sprint, Labels) keep every position."""

    def __init__(self, header: Sequence[str]) -> None:
        self.header = [h.strip() for h in header]
        self.positions: dict[str, list[int]] = {}
        for index, name in enumerate(self.header):
            self.positions.setdefault(name.lower(), []).append(index)

    def has(self, name: str) -> bool:
        return name.lower() in self.positions

    def first(self, row: Sequence[str], *names: str) -> str:
        for name in names:
            for index in self.positions.get(name.lower(), []):
                return row[index].strip()
        return ""

    def all(self, row: Sequence[str], name: str) -> list[str]:
        return [row[i].strip() for i in self.positions.get(name.lower(), []) if row[i].strip()]


class _Parser:
    def __init__(self, settings: JiraCsvSettings, path: Path, now: datetime, run_id: str) -> None:
        self.settings = settings
        self.path = path
        self.source = settings.source_name
        self.zone = parse_zone(settings.time_zone)
        self.now = now
        self.run_id = run_id
        self._format: str | None = None

    def fail(self, where: str, problem: str) -> CsvError:
        return CsvError(f"{self.source}: {self.path}: {where}: {problem}")

    # ------------------------------------------------------------------ values

    def when(self, text: str, line: int, column: str) -> datetime | None:
        text = text.strip()
        if not text:
            return None
        formats = (self.settings.date_format,) if self.settings.date_format else DATE_FORMATS
        if self._format and self._format in formats:
            formats = (self._format, *formats)
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            self._format = fmt
            return parsed.replace(tzinfo=self.zone).astimezone(UTC)
        if not self.settings.date_format:
            try:
                parsed = parse_time(text)  # ISO 8601 with an offset
            except ValueError:
                parsed = None
            if parsed is not None:
                return parsed
        expected = (
            f"the date_format {self.settings.date_format!r}"
            if self.settings.date_format
            else "one of Jira's export formats (e.g. 20/Nov/26 12:20 PM); set date_format for another"
        )
        raise self.fail(f"line {line}, column {column!r}", f"{text!r} is not a date in {expected}")

    def number(self, text: str, line: int, column: str) -> float | None:
        text = text.strip()
        if not text:
            return None
        try:
            return float(
                text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
            )
        except ValueError:
            raise self.fail(
                f"line {line}, column {column!r}", f"{text!r} is not a number"
            ) from None

    # ------------------------------------------------------------------ the file

    def rows(self, text: str) -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        previous = 0
        try:
            for row in reader:
                yield previous + 1, row
                previous = reader.line_num
        except csv.Error as exc:
            raise self.fail(f"line {reader.line_num}", f"not valid CSV ({exc})") from None

    def parse(self, text: str) -> Export:
        rows = self.rows(text)
        first = next(rows, None)
        if first is None or not any(cell.strip() for cell in first[1]):
            raise self.fail(
                "line 1", "the file is empty; expected Jira's CSV export with a header row"
            )
        columns = _Columns(first[1])
        missing = [name for name in REQUIRED if not columns.has(name)]
        if missing:
            raise self.fail(
                "line 1",
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}; "
                "expected Jira's 'Export CSV (all fields)' (or '(my defaults)' including those columns)",
            )
        points_column = self._points_column(columns)
        export = Export()
        seen: dict[str, int] = {}
        parents: list[tuple[int, dict[str, Any], str]] = []
        keys: dict[str, str] = {}  # issue id -> key
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns.header):
                raise self.fail(
                    f"line {line}",
                    f"{len(row)} fields but the header has {len(columns.header)} columns "
                    "(a broken quote or a truncated file)",
                )
            ticket = self._ticket(columns, row, line, points_column, export)
            ident = ticket["ticket_id"]
            if ident in seen:
                raise self.fail(
                    f"line {line}, column 'Issue id'",
                    f"issue {ident} appears twice (first on line {seen[ident]})",
                )
            seen[ident] = line
            keys[ident] = ticket["key"]
            parent = columns.first(row, "Parent", "Parent id")
            if parent:
                parents.append((line, ticket, parent))
            export.tickets.append(ticket)
        if not export.tickets:
            raise self.fail(
                "line 2",
                "the file has a header but no issues; export again with the issues selected",
            )
        for _line, ticket, parent in parents:
            # Newer exports put the parent's id in "Parent", older ones its key.
            ticket["parent_key"] = parent.upper() if KEY.match(parent) else keys.get(parent)
            if ticket["epic_key"] is None and ticket["parent_key"]:
                parent_type = next(
                    (
                        t["type_category"]
                        for t in export.tickets
                        if t["key"] == ticket["parent_key"]
                    ),
                    None,
                )
                if parent_type == "epic":
                    ticket["epic_key"] = ticket["parent_key"]
        return export

    def _points_column(self, columns: _Columns) -> str | None:
        if self.settings.story_points_column:
            if not columns.has(self.settings.story_points_column):
                raise self.fail(
                    "line 1",
                    f"story_points_column {self.settings.story_points_column!r} is not a column of this file",
                )
            return self.settings.story_points_column
        return next((c for c in POINT_COLUMNS if columns.has(c)), None)

    def _ticket(
        self,
        columns: _Columns,
        row: list[str],
        line: int,
        points_column: str | None,
        export: Export,
    ) -> dict[str, Any]:
        settings = self.settings
        ident = columns.first(row, "Issue id")
        if not ident.isdigit():
            raise self.fail(
                f"line {line}, column 'Issue id'", f"{ident!r} is not an issue id (digits)"
            )
        key = columns.first(row, "Issue key")
        if not KEY.match(key):
            raise self.fail(
                f"line {line}, column 'Issue key'", f"{key!r} is not an issue key like WEB-541"
            )
        created = self.when(columns.first(row, "Created"), line, "Created")
        if created is None:
            raise self.fail(
                f"line {line}, column 'Created'", "empty; every issue has a creation date"
            )
        updated = self.when(columns.first(row, "Updated"), line, "Updated") or created
        resolved = self.when(columns.first(row, "Resolved"), line, "Resolved")
        status = columns.first(row, "Status")
        resolution = columns.first(row, "Resolution")
        resolution = None if resolution.lower() in UNRESOLVED else resolution
        category_name = columns.first(row, "Status Category").lower()
        category = CATEGORY_NAMES.get(category_name)
        if category is None:
            lowered = status.lower()
            category = (
                "done"
                if resolution or lowered in DONE_STATUSES
                else "todo"
                if lowered in TODO_STATUSES
                else "in_progress"
            )
        jira_key = {"todo": "new", "in_progress": "indeterminate", "done": "done"}[category]
        export.statuses.setdefault(
            status.lower(),
            {
                "source": self.source,
                "status_id": status,
                "name": status,
                "category": status_category(
                    jira_key, status=status, canceled_statuses=settings.canceled_statuses
                ),
            },
        )
        category = status_category(
            jira_key,
            status=status,
            resolution=resolution,
            canceled_resolutions=settings.canceled_resolutions,
            canceled_statuses=settings.canceled_statuses,
        )
        kind = columns.first(row, "Issue Type")
        sprints = columns.all(row, "Sprint")
        for name in dict.fromkeys(sprints):
            export.sprints.append({"source": self.source, "ticket_id": ident, "sprint_id": name})
        assignee = self._person(columns, row, "Assignee", export)
        reporter = self._person(columns, row, "Reporter", export)
        epic = columns.first(row, "Custom field (Epic Link)")
        project = columns.first(row, "Project key") or key.rsplit("-", 1)[0]
        points = (
            self.number(columns.first(row, points_column), line, points_column)
            if points_column
            else None
        )
        return {
            "source": self.source,
            "tracker": TRACKER,
            "ticket_id": ident,
            "key": key.upper(),
            "project": project,
            "title": columns.first(row, "Summary"),
            "type": kind or None,
            "type_category": type_category(
                kind,
                subtask=kind.lower() in ("sub-task", "subtask"),
                incident_types=settings.incident_types,
            ),
            "status": status or None,
            "status_category": category,
            "resolution": resolution,
            "priority": columns.first(row, "Priority") or None,
            "story_points": points,
            "assignee_id": assignee,
            "reporter_id": reporter,
            "labels": list(dict.fromkeys(columns.all(row, "Labels"))),
            "parent_key": None,
            "epic_key": epic.upper() if KEY.match(epic) else None,
            "sprint_id": sprints[-1] if sprints else None,
            "created_at": created,
            "updated_at": updated,
            "resolved_at": resolved,
            "body_length": len(columns.first(row, "Description")),
            "is_deleted": False,
            "synced_at": self.now,
            "run_id": self.run_id,
        }

    def _person(self, columns: _Columns, row: list[str], role: str, export: Export) -> str | None:
        """Cloud exports carry "<role> Id" (the accountId); Data Center's carry the user name."""
        name = columns.first(row, role)
        account = columns.first(row, f"{role} Id") or name
        if not account:
            return None
        export.identities[account] = {
            "source": self.source,
            "kind": TRACKER,
            "account_id": account,
            "login": None if columns.has(f"{role} Id") else account,
            "name": name or None,
            "email": None,
            "account_type": None,
            "last_seen_at": self.now,
        }
        return account


def read_export(
    settings: JiraCsvSettings, *, now: datetime | None = None, run_id: str = ""
) -> tuple[Export, str]:
    """Parse and check the whole file; returns the rows and the file's SHA-256."""
    path = Path(settings.path)
    source = settings.source_name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CsvError(
            f"{source}: {path}: no such file; check `path` (Jira: Filters > Export > Export CSV (all fields))"
        ) from None
    except OSError as exc:
        raise CsvError(f"{source}: {path}: cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvError(
            f"{source}: {path}: line {line}: not UTF-8 text (byte {exc.start}); Jira exports "
            "UTF-8, so the file was re-saved in another encoding: export it again or save it as UTF-8"
        ) from None
    parser = _Parser(settings, path, now or datetime.now(UTC), run_id)
    return parser.parse(text), hashlib.sha256(data).hexdigest()


def sync(ctx: SyncContext, settings: JiraCsvSettings) -> SyncResult:
    """Import the export; the same file with the same settings again is a no-op."""
    result = SyncResult(source=settings.source_name, kind="jira_csv")
    path = Path(settings.path)
    scope = str(path)
    export, digest = read_export(settings, now=ctx.now(), run_id=ctx.run_id)
    fingerprint = hashlib.sha256(
        (digest + settings.model_dump_json(exclude={"name"})).encode()
    ).hexdigest()
    previous = ctx.cursor(settings.source_name, scope, "file") or {}
    result.scopes = [scope]
    if previous.get("fingerprint") == fingerprint:
        return result
    source = settings.source_name
    ids = pl.DataFrame(
        {"ticket_id": [t["ticket_id"] for t in export.tickets]}, schema={"ticket_id": pl.String}
    )
    scope_rows = [{"source": source, "ticket_id": t["ticket_id"]} for t in export.tickets]
    ctx.con.register("_jira_csv_ids", ids.to_arrow())
    try:
        ctx.commit_page(
            source,
            scope,
            "file",
            {"fingerprint": fingerprint, "sha256": digest, "issues": len(export.tickets)},
            [
                Replace("tickets", frame(export.tickets, TICKET_SCHEMA), ("source", "ticket_id")),
                Replace(
                    "ticket_sprints",
                    frame(export.sprints, TICKET_SPRINT_SCHEMA),
                    ("source", "ticket_id"),
                    scope=scope_rows,
                ),
                Replace(
                    "ticket_statuses",
                    frame(list(export.statuses.values()), STATUS_SCHEMA),
                    ("source", "status_id"),
                ),
                Replace(
                    "identities",
                    frame(list(export.identities.values()), IDENTITY_SCHEMA),
                    ("source", "kind", "account_id"),
                ),
            ],
            statements=[(_GONE, [source])],
        )
    finally:
        ctx.con.unregister("_jira_csv_ids")
    result.rows = ctx.rows_written
    return result
