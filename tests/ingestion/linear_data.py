"""A small, realistic Linear workspace for the connector tests, built into a LinearSimulator."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.sim.linear import LinearSimulator, linear_time

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOKEN = "lin_api_Zt7c0ffee0ddba11f00dcafe5ecret0000000000"
MARKER = "DESCRIPTION-MARKER-7f3a9c"  # placed in every description; must never reach the warehouse

STATE_TYPES = (
    ("Triage", "triage"),
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("In Review", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
    ("Duplicate", "duplicate"),
)


def uid(*parts: object) -> str:
    """A stable UUID for a name, so that two builds of the same workspace have the same ids."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "linear:" + ":".join(map(str, parts))))


def at(days_ago: float, minutes: int = 0) -> str:
    return linear_time(NOW - timedelta(days=days_ago) + timedelta(minutes=minutes))


class Workspace:
    """Builds teams with states and two-week cycles, people, labels, and issues with their history."""

    def __init__(self, sim: LinearSimulator) -> None:
        self.sim = sim
        self.numbers: dict[str, itertools.count[int]] = {}
        self.history_ids = itertools.count(1)

    def team(self, key: str, name: str, *, cycles: int = 4) -> dict[str, Any]:
        team = {"id": uid("team", key), "key": key, "name": name, "displayName": name, "description": None,
                "timezone": "Europe/Berlin", "cyclesEnabled": True, "createdAt": at(400), "updatedAt": at(30),
                "archivedAt": None}  # fmt: skip
        self.sim.add("teams", team)
        for position, (state_name, kind) in enumerate(STATE_TYPES):
            self.sim.add("states", {"id": uid("state", key, state_name), "name": state_name, "type": kind, "color": "#95a2b3",
                                    "description": None, "position": float(position), "teamId": team["id"],
                                    "createdAt": at(400), "updatedAt": at(400), "archivedAt": None})  # fmt: skip
        # Cycles of two weeks: the last one is still running at NOW, the one before ended.
        for n in range(1, cycles + 1):
            starts = NOW - timedelta(days=14 * (cycles - n) + 7)
            ends = starts + timedelta(days=14)
            completed = linear_time(ends) if ends <= NOW else None
            self.sim.add("cycles", {"id": uid("cycle", key, n), "number": float(n), "name": None if n % 2 else f"{key} sprint {n}",
                                    "description": None, "startsAt": linear_time(starts), "endsAt": linear_time(ends),
                                    "completedAt": completed, "teamId": team["id"], "createdAt": at(200),
                                    "updatedAt": completed or at(20), "archivedAt": None, "autoArchivedAt": None})  # fmt: skip
        self.numbers[key] = itertools.count(1)
        return team

    def cycle_id(self, key: str, n: int) -> str:
        return uid("cycle", key, n)

    def state_id(self, key: str, name: str) -> str:
        return uid("state", key, name)

    def person(self, name: str, *, app: bool = False, active: bool = True) -> dict[str, Any]:
        login = name.split()[0].lower()
        user = {"id": uid("user", name), "name": name, "displayName": login, "email": f"{login}@acme.example",
                "active": active, "admin": False, "app": app, "guest": False, "createdAt": at(500),
                "updatedAt": at(60), "archivedAt": None}  # fmt: skip
        self.sim.add("users", user)
        return user

    def label(self, name: str, group: str | None = None) -> str:
        parent = None
        if group is not None:
            parent = uid("label", group)
            if parent not in self.sim.labels:
                self.sim.add("labels", {"id": parent, "name": group, "color": "#000", "description": None, "isGroup": True,
                                        "parentId": None, "teamId": None, "createdAt": at(300), "updatedAt": at(300),
                                        "archivedAt": None})  # fmt: skip
        label_id = uid("label", group or "", name)
        self.sim.add("labels", {"id": label_id, "name": name, "color": "#eb5757", "description": None, "isGroup": False,
                                "parentId": parent, "teamId": None, "createdAt": at(300), "updatedAt": at(300),
                                "archivedAt": None})  # fmt: skip
        return label_id

    def issue(
        self,
        team: dict[str, Any],
        title: str,
        *,
        state: str = "Todo",
        created: float = 30,
        updated: float | None = None,
        estimate: float | None = None,
        assignee: dict[str, Any] | None = None,
        creator: dict[str, Any] | None = None,
        cycle: int | None = None,
        labels: list[str] = (),  # type: ignore[assignment]
        parent: dict[str, Any] | None = None,
        history: list[dict[str, Any]] = (),  # type: ignore[assignment]
        **fields: Any,
    ) -> dict[str, Any]:
        key = team["key"]
        number = next(self.numbers[key])
        kind = dict(STATE_TYPES)[state]
        updated_at = at(updated if updated is not None else created, minutes=number)
        issue = {
            "id": uid("issue", key, number), "identifier": f"{key}-{number}", "number": float(number), "title": title,
            "description": f"Steps to reproduce.\n\n{MARKER} {title}", "url": f"https://linear.app/acme/issue/{key}-{number}",
            "branchName": f"ada/{key.lower()}-{number}", "priority": 2.0, "priorityLabel": "High", "estimate": estimate,
            "createdAt": at(created), "updatedAt": updated_at, "startedAt": None,
            "completedAt": updated_at if kind == "completed" else None,
            "canceledAt": updated_at if kind in ("canceled", "duplicate") else None,
            "archivedAt": None, "autoArchivedAt": None, "autoClosedAt": None, "addedToCycleAt": None, "trashed": None,
            "labelIds": list(labels), "previousIdentifiers": [], "teamId": team["id"], "stateId": self.state_id(key, state),
            "assigneeId": assignee["id"] if assignee else None, "creatorId": creator["id"] if creator else None,
            "parentId": parent["id"] if parent else None, "cycleId": self.cycle_id(key, cycle) if cycle else None,
            "history": list(history),
        }  # fmt: skip
        issue.update(fields)
        self.sim.add("issues", issue)
        return issue

    def change(
        self, days_ago: float, actor: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """One history entry (fromStateId/toStateId, fromCycleId/toCycleId, fromEstimate/...)."""
        n = next(self.history_ids)
        entry = {"id": uid("history", n), "createdAt": at(days_ago), "updatedAt": at(days_ago),
                 "archivedAt": None, "actorId": actor["id"] if actor else None}  # fmt: skip
        entry.update(fields)
        return entry


def build(sim: LinearSimulator, *, issues_per_team: int = 12) -> Workspace:
    """Two teams (ENG, OPS) in scope and one (MKT) outside it, with realistic histories."""
    w = Workspace(sim)
    ada, bo, cy = w.person("Ada Lovelace"), w.person("Bo Chen"), w.person("Cy Okafor")
    w.person("Former Employee", active=False)
    agent = w.person("Cursor Agent", app=True)
    bug, feature, incident = (
        w.label("Bug", group="Type"),
        w.label("Feature", group="Type"),
        w.label("Incident"),
    )
    backend = w.label("backend")
    people = [ada, bo, cy, agent]
    for key, name in (("ENG", "Engineering"), ("OPS", "Operations"), ("MKT", "Marketing")):
        team = w.team(key, name)
        epic = None
        for i in range(issues_per_team):
            person = people[i % len(people)]
            labels = [[bug], [feature, backend], [], [incident], [backend]][i % 5]
            state = [
                "Todo",
                "In Progress",
                "Done",
                "Done",
                "Canceled",
                "Backlog",
                "In Review",
                "Duplicate",
            ][i % 8]
            cycle = [3, 4, 4, None, 3, 2][i % 6]
            created = 40 - i * 2.5
            st = lambda name, k=key: w.state_id(k, name)
            history = [
                w.change(created - 0.5, person, fromStateId=st("Triage"), toStateId=st("Backlog")),
                w.change(created - 1, ada, fromEstimate=None, toEstimate=2.0),
            ]
            if cycle:
                # Added to the cycle before it started, some moved in from the previous cycle.
                history.append(w.change(created - 1.5, bo, fromCycleId=w.cycle_id(key, cycle - 1) if i % 3 == 0 else None,
                                        toCycleId=w.cycle_id(key, cycle)))  # fmt: skip
            if state != "Backlog":
                history.append(w.change(created - 2, person, fromStateId=st("Backlog"), toStateId=st(state),
                                        fromAssigneeId=None, toAssigneeId=person["id"], addedLabelIds=labels))  # fmt: skip
            if i % 4 == 1:
                history.append(w.change(created - 2.2, cy, fromEstimate=2.0, toEstimate=3.0))
            issue = w.issue(team, f"{name} work item {i}", state=state, created=created, updated=max(created - 2.5, 0.1),
                            estimate=3.0 if i % 4 == 1 else 2.0, assignee=person, creator=ada, cycle=cycle,
                            labels=labels, parent=epic if i % 5 == 4 else None, history=history)  # fmt: skip
            if i == 0:
                epic = issue
    return w
