"""Jira Cloud (REST v3) and Data Center (REST v2) simulator with the Agile REST API: JQL search, changelogs, statuses, fields, boards, sprints.

One dataset in Jira Cloud's JSON shapes (issues with their complete changelog, oldest history
first; boards; sprints; fields) serves both deployments. Cloud answers `/rest/api/3/search/jql`
with `nextPageToken` pages (the old `/rest/api/3/search` is gone: 410), embeds only the most
recent `changelog_limit` histories of an issue (most recent first, `total` says how many there
are) and serves the rest from `/rest/api/3/issue/{id}/changelog` and `POST
/rest/api/3/changelog/bulkfetch`. Data Center answers `/rest/api/2/search` with
`startAt`/`maxResults`/`total` pages, plain-text descriptions, user keys and names instead of
account ids, and sprints in the sprint field as GreenHopper strings. JQL is parsed for what the
connector sends (project, filter, updated/created bounds in the account's time zone with minute
precision, id/key/type/status clauses, ORDER BY) and refused as Jira refuses it (unknown project,
unknown field, bad date, unbounded query).
"""

import base64
import copy
import functools
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

from ingestion.sim.base import SimRequest, SimResponse, Simulator

CLOUD_PAGE_CAP = 100  # issues per search page when fields are requested
ID_PAGE_CAP = 5000  # Cloud, when only id or key is requested
DC_PAGE_CAP = 1000  # Data Center's jira.search.views.default.max
AGILE_PAGE_CAP = 50
CHANGELOG_PAGE_CAP = 100
BULK_CHANGELOG_ISSUES = 1000
BULK_CHANGELOG_MAX = 10000
SPRINT_FIELD_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"

_JIRA_TIME = "%Y-%m-%dT%H:%M:%S.000%z"


def jira_time(when: datetime) -> str:
    """Jira's timestamp format: 2026-11-20T12:20:53.000+0000."""
    return when.strftime(_JIRA_TIME)


@functools.lru_cache(maxsize=1 << 18)
def _parse(text: str) -> datetime:
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text)


def _error(status: int, *messages: str, errors: Mapping[str, str] | None = None) -> SimResponse:
    return SimResponse(status, {"errorMessages": list(messages), "errors": dict(errors or {})})


class JqlError(Exception):
    """A JQL query Jira would refuse with 400; the message is Jira's."""


# ------------------------------------------------------------------------------------ JQL

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|!~|=|>|<|~)"""
    r"""|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.\-\[\]:/+*]+))"""
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_FIELD_ALIASES = {
    "project": "project",
    "filter": "filter",
    "savedfilter": "filter",
    "request": "filter",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "id": "id",
    "issue": "key",
    "issuekey": "key",
    "key": "key",
    "type": "issuetype",
    "issuetype": "issuetype",
    "status": "status",
    "statuscategory": "statusCategory",
    "resolution": "resolution",
    "labels": "labels",
    "sprint": "sprint",
}


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    at: int = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.at + offset
        return self.items[i] if i < len(self.items) else None

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].upper() in words

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise JqlError("Error in the JQL Query: Expecting more input at the end of the query.")
        self.at += 1
        return token


def _tokenise(jql: str) -> _Tokens:
    items: list[tuple[str, str]] = []
    pos = 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        match = _TOKEN.match(jql, pos)
        if not match or match.end() == pos:
            raise JqlError(
                f"Error in the JQL Query: The character '{jql[pos:].strip()[:1]}' is a reserved "
                f"JQL character. You must enclose it in a string or use the escape '\\u0022'."
            )
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        items.append((kind, value))
        pos = match.end()
    return _Tokens(items)


Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class Query:
    predicate: Predicate
    order: list[tuple[str, bool]]  # (field, descending)
    bounded: bool


class _Parser:
    def __init__(self, sim: "JiraSimulator", jql: str) -> None:
        self.sim = sim
        self.tokens = _tokenise(jql)
        self.bounded = False

    def query(self) -> Query:
        predicate: Predicate = lambda issue: True
        if self.tokens.peek() is not None and not self.tokens.keyword("ORDER"):
            predicate = self.expr()
        order: list[tuple[str, bool]] = []
        if self.tokens.keyword("ORDER"):
            self.tokens.take()
            if not self.tokens.keyword("BY"):
                raise JqlError("Error in the JQL Query: Expecting 'by' but got the end of the query.")  # fmt: skip
            self.tokens.take()
            while True:
                _, name = self.tokens.take()
                field_name = _FIELD_ALIASES.get(name.lower(), name.lower())
                if field_name not in ("updated", "created", "id", "key", "rank"):
                    raise JqlError(f"Not able to sort using field '{name}'.")
                descending = False
                if self.tokens.keyword("ASC", "DESC"):
                    descending = self.tokens.take()[1].upper() == "DESC"
                order.append((field_name, descending))
                if self.tokens.peek() == ("punct", ","):
                    self.tokens.take()
                    continue
                break
        if self.tokens.peek() is not None:
            raise JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{self.tokens.peek()[1]}'.")  # type: ignore[index]  # fmt: skip
        return Query(predicate, order, self.bounded)

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.tokens.keyword("OR"):
            self.tokens.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else lambda i: any(p(i) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.tokens.keyword("AND"):
            self.tokens.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else lambda i: all(p(i) for p in parts)

    def factor(self) -> Predicate:
        if self.tokens.keyword("NOT"):
            self.tokens.take()
            inner = self.factor()
            return lambda i: not inner(i)
        if self.tokens.peek() == ("punct", "("):
            self.tokens.take()
            inner = self.expr()
            if self.tokens.take() != ("punct", ")"):
                raise JqlError("Error in the JQL Query: Expecting ')' before the end of the query.")  # fmt: skip
            return inner
        return self.clause()

    def _values(self) -> list[str]:
        if self.tokens.peek() == ("punct", "("):
            self.tokens.take()
            values = []
            while True:
                values.append(self.tokens.take()[1])
                token = self.tokens.take()
                if token == ("punct", ")"):
                    return values
                if token != ("punct", ","):
                    raise JqlError("Error in the JQL Query: Expecting ',' or ')' in a list.")
        return [self.tokens.take()[1]]

    def clause(self) -> Predicate:
        kind, name = self.tokens.take()
        if kind != "word" and kind != "str":
            raise JqlError(f"Error in the JQL Query: Expecting a field name but got '{name}'.")
        field_name = _FIELD_ALIASES.get(name.lower())
        if field_name is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")  # fmt: skip
        if self.tokens.keyword("NOT") and (self.tokens.peek(1) or ("", ""))[1].upper() == "IN":
            self.tokens.take()
            self.tokens.take()
            op = "not in"
        elif self.tokens.keyword("IN"):
            self.tokens.take()
            op = "in"
        else:
            token = self.tokens.take()
            if token[0] != "op":
                raise JqlError(f"Error in the JQL Query: Expecting operator but got '{token[1]}'.")
            op = token[1]
        values = self._values()
        self.bounded = True
        return self.sim.predicate(field_name, op, values)


# ------------------------------------------------------------------------------------ dataset


@dataclass
class _Project:
    id: str
    key: str
    name: str


class JiraSimulator(Simulator):
    """A Jira site, Cloud (`deployment="cloud"`) or Data Center (`"datacenter"`).

    `changelog_limit`: histories embedded per issue in search results (default: 40 on Cloud,
    all on Data Center). `stuck_tokens`: a buggy API whose `nextPageToken` points back at the
    page it came from. `bulk_created_as_millis`: bulk changelog `created` as epoch milliseconds,
    as Atlassian's own example shows it.
    """

    name = "jira"

    def __init__(
        self,
        *,
        deployment: str = "cloud",
        email: str | None = None,
        token: str | None = None,
        latency: float = 0.0,
        issues: Iterable[dict[str, Any]] = (),
        boards: Iterable[dict[str, Any]] = (),
        sprints: Iterable[dict[str, Any]] = (),
        fields: Iterable[dict[str, Any]] = (),
        statuses: list[dict[str, Any]] | None = None,
        time_zone: str = "Europe/Paris",
        changelog_limit: int | str | None = "default",
        bulk_changelog: bool = True,
        bulk_created_as_millis: bool = False,
        stuck_tokens: bool = False,
        site: str = "https://acme.atlassian.net",
    ) -> None:
        super().__init__(token=token, latency=latency)
        if deployment not in ("cloud", "datacenter"):
            raise ValueError(f"deployment: expected cloud or datacenter, got {deployment!r}")
        self.deployment = deployment
        self.name = f"jira-{deployment}"
        self.email = email
        self.issues = list(issues)
        self.boards = list(boards)
        self.sprints = list(sprints)
        self.fields = list(fields)
        self.statuses = statuses
        self.time_zone = time_zone
        self.changelog_limit: int | None = (
            (40 if deployment == "cloud" else None)
            if changelog_limit == "default"
            else changelog_limit  # type: ignore[assignment]
        )
        self.bulk_changelog = bulk_changelog
        self.bulk_created_as_millis = bulk_created_as_millis
        self.stuck_tokens = stuck_tokens
        self.site = site
        self.myself_zone: str | None = time_zone  # what /myself says; None: no timeZone field
        self._by_id: dict[str, dict[str, Any]] = {}
        self._aliases: dict[str, str] = {}
        for issue in self.issues:
            self._index(issue)
        self.projects: dict[str, _Project] = {}
        for issue in self.issues:
            project = issue["fields"]["project"]
            self.projects.setdefault(
                project["key"], _Project(str(project["id"]), project["key"], project["name"])
            )
        for board in self.boards:
            location = board.get("location") or {}
            if location.get("projectKey"):
                self.projects.setdefault(
                    location["projectKey"],
                    _Project(
                        str(location.get("projectId", "")),
                        location["projectKey"],
                        location.get("projectName", ""),
                    ),
                )
        # Board filters: the JQL a board shows; `filter = N` in JQL means that query.
        self.filters: dict[str, str] = {
            str(board.get("filterId", 10000 + int(board["id"]))): board.get(
                "filterJql",
                f'project = "{(board.get("location") or {}).get("projectKey", "")}" ORDER BY Rank ASC',
            )
            for board in self.boards
        }
        self.routes_for_deployment()

    @property
    def cloud(self) -> bool:
        return self.deployment == "cloud"

    @property
    def api(self) -> str:
        return "/rest/api/3" if self.cloud else "/rest/api/2"

    def _index(self, issue: dict[str, Any]) -> None:
        self._by_id[str(issue["id"])] = issue

    # ------------------------------------------------------------------ routes

    def routes_for_deployment(self) -> None:
        api = self.api
        for version in ("2", "3"):
            self.route("GET", f"/rest/api/{version}/serverInfo", self._server_info)
        self.route("GET", f"{api}/myself", self._myself)
        self.route("GET", f"{api}/field", lambda r, m: SimResponse(200, self._fields_out()))
        self.route("GET", f"{api}/status", lambda r, m: SimResponse(200, self._statuses()))
        self.route("GET", r"/rest/agile/1\.0/board", self._boards)
        self.route("GET", r"/rest/agile/1\.0/board/(\d+)", self._board)
        self.route("GET", r"/rest/agile/1\.0/board/(\d+)/configuration", self._board_config)
        self.route("GET", r"/rest/agile/1\.0/board/(\d+)/sprint", self._board_sprints)
        if self.cloud:
            for method in ("GET", "POST"):
                self.route(method, "/rest/api/3/search/jql", self._search_cloud)
                for version in ("2", "3"):
                    self.route(method, f"/rest/api/{version}/search", self._search_removed)
            self.route("GET", r"/rest/api/3/issue/([^/]+)/changelog", self._issue_changelog)
            if self.bulk_changelog:
                self.route("POST", "/rest/api/3/changelog/bulkfetch", self._bulk_changelog)
        else:
            for method in ("GET", "POST"):
                self.route(method, "/rest/api/2/search", self._search_dc)
            self.route("GET", r"/rest/api/2/issue/([^/]+)", self._issue_dc)

    def authorised(self, request: SimRequest) -> bool:
        if self.token is None or request.path.endswith("/serverInfo"):
            return True  # serverInfo answers anonymous requests
        header = request.headers.get("authorization", "")
        if self.cloud:
            expected = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
            return header == f"Basic {expected}"
        return header == f"Bearer {self.token}"

    def unauthorised(self, request: SimRequest) -> SimResponse:
        return _error(401, "You are not authenticated. Authentication required to perform this operation.")  # fmt: skip

    def not_found(self, request: SimRequest) -> SimResponse:
        return _error(404, "null for uri: " + request.path)

    # ------------------------------------------------------------------ helpers for tests

    def issue(self, ident: str) -> dict[str, Any]:
        ident = self._aliases.get(ident, ident)
        if ident in self._by_id:
            return self._by_id[ident]
        for issue in self.issues:
            if issue["key"] == ident:
                return issue
        raise KeyError(ident)

    def change(
        self,
        ident: str,
        when: datetime,
        items: Sequence[Mapping[str, Any]] = (),
        *,
        author: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Edit an issue as a user would: set fields, append a history with `items`, bump updated."""
        issue = self.issue(ident)
        issue["fields"].update(fields)
        issue["fields"]["updated"] = jira_time(when)
        histories = issue.setdefault("changelog", {"histories": []})["histories"]
        if items:
            next_id = max((int(h["id"]) for h in histories), default=int(issue["id"]) * 1000) + 1
            histories.append(
                {
                    "id": str(next_id),
                    "author": dict(author or issue["fields"].get("reporter") or {}),
                    "created": jira_time(when),
                    "items": [dict(i) for i in items],
                }
            )
        return issue

    def move(self, ident: str, project_key: str, when: datetime) -> str:
        """Move an issue to another project: new key, same id; the old key still finds it."""
        issue = self.issue(ident)
        project = self.projects[project_key]
        old_key, old_project = issue["key"], issue["fields"]["project"]
        number = 1 + max(
            (int(i["key"].split("-")[1]) for i in self.issues if i["key"].startswith(f"{project_key}-")),
            default=0,
        )  # fmt: skip
        new_key = f"{project_key}-{number}"
        self._aliases[old_key] = str(issue["id"])
        issue["key"] = new_key
        self.change(
            str(issue["id"]),
            when,
            [
                {
                    "field": "project",
                    "fieldtype": "jira",
                    "fieldId": "project",
                    "from": old_project["id"],
                    "fromString": old_project["name"],
                    "to": project.id,
                    "toString": project.name,
                },
                {
                    "field": "Key",
                    "fieldtype": "jira",
                    "fieldId": "issuekey",
                    "from": None,
                    "fromString": old_key,
                    "to": None,
                    "toString": new_key,
                },
            ],
            project={
                "id": project.id,
                "key": project.key,
                "name": project.name,
                "projectTypeKey": "software",
                "self": f"{self.site}/rest/api/3/project/{project.id}",
            },
        )
        return new_key

    def delete(self, ident: str) -> None:
        issue = self.issue(ident)
        self.issues.remove(issue)
        del self._by_id[str(issue["id"])]

    # ------------------------------------------------------------------ JQL evaluation

    def predicate(self, field_name: str, op: str, values: list[str]) -> Predicate:
        if field_name == "project":
            keys = set()
            for value in values:
                project = next(
                    (p for p in self.projects.values() if value in (p.key, p.id, p.name)), None
                )
                if project is None:
                    raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
                keys.add(project.key)
            positive = op in ("=", "in")
            return lambda i: (i["fields"]["project"]["key"] in keys) == positive
        if field_name == "filter":
            subs = []
            for value in values:
                jql = self.filters.get(value)
                if jql is None:
                    raise JqlError(f"The value '{value}' does not exist for the field 'filter'.")
                subs.append(_Parser(self, jql).query().predicate)
            positive = op in ("=", "in")
            return lambda i: any(p(i) for p in subs) == positive
        if field_name in ("updated", "created"):
            if op not in (">=", ">", "<=", "<", "="):
                raise JqlError(f"The operator '{op}' is not supported by the '{field_name}' field.")
            bound = self._date(field_name, values[0])
            compare = {
                ">=": lambda a: a >= bound,
                ">": lambda a: a > bound,
                "<=": lambda a: a <= bound,
                "<": lambda a: a < bound,
                "=": lambda a: a == bound,
            }[op]
            return lambda i: compare(_parse(i["fields"][field_name]))
        if field_name in ("id", "key"):
            wanted = set(values)
            positive = op in ("=", "in")

            def match(issue: dict[str, Any]) -> bool:
                names = {str(issue["id"]), issue["key"]} | {
                    k for k, v in self._aliases.items() if v == str(issue["id"])
                }
                return bool(names & wanted) == positive

            return match
        getters: dict[str, Callable[[dict[str, Any]], set[str]]] = {
            "issuetype": lambda i: {i["fields"]["issuetype"]["name"].lower()},
            "status": lambda i: {i["fields"]["status"]["name"].lower()},
            "statusCategory": lambda i: {
                i["fields"]["status"]["statusCategory"]["name"].lower(),
                i["fields"]["status"]["statusCategory"]["key"].lower(),
            },
            "resolution": lambda i: {
                (i["fields"].get("resolution") or {"name": "unresolved"})["name"].lower()
            },
            "labels": lambda i: {label.lower() for label in i["fields"].get("labels") or []},
            "sprint": lambda i: {
                str(s["id"]) for s in (i["fields"].get(self.sprint_field or "") or [])
            },
        }
        get = getters[field_name]
        wanted = {v.lower() for v in values}
        if op in ("=", "in"):
            return lambda i: bool(get(i) & wanted)
        if op in ("!=", "not in"):
            return lambda i: not get(i) & wanted
        raise JqlError(f"The operator '{op}' is not supported by the '{field_name}' field.")

    def _date(self, field_name: str, text: str) -> datetime:
        zone = ZoneInfo(self.time_zone)
        for fmt in _DATE_FORMATS:
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return naive.replace(tzinfo=zone)
        raise JqlError(
            f"Date value '{text}' for field '{field_name}' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )

    @property
    def sprint_field(self) -> str | None:
        return next(
            (f["id"] for f in self.fields if (f.get("schema") or {}).get("custom") == SPRINT_FIELD_TYPE),
            None,
        )  # fmt: skip

    def _run(self, jql: str) -> list[dict[str, Any]]:
        query = _Parser(self, jql).query()
        if self.cloud and not query.bounded:
            raise JqlError(
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
            )
        found = [i for i in self.issues if query.predicate(i)]
        for name, descending in reversed(query.order or [("key", True)]):
            found.sort(key=lambda i, n=name: self._sort_key(i, n), reverse=descending)
        return found

    @staticmethod
    def _sort_key(issue: dict[str, Any], name: str) -> Any:
        if name in ("updated", "created"):
            return _parse(issue["fields"][name]).timestamp()
        if name == "id":
            return int(issue["id"])
        if name == "key":
            project, number = issue["key"].rsplit("-", 1)
            return (project, int(number))
        return 0  # rank: dataset order

    # ------------------------------------------------------------------ issue shapes

    def _user(self, user: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not user:
            return None
        out = {
            "self": f"{self.site}{self.api}/user?accountId={user.get('accountId')}",
            "accountId": user.get("accountId"),
            "avatarUrls": {"48x48": f"https://avatar.example/{user.get('accountId')}.png"},
            "displayName": user.get("displayName"),
            "active": user.get("active", True),
            "timeZone": user.get("timeZone", self.time_zone),
            "accountType": user.get("accountType", "atlassian"),
        }
        if self.cloud:
            return out
        key, name = dc_user(user)
        return {
            "self": f"{self.site}/rest/api/2/user?username={name}",
            "name": name,
            "key": key,
            "emailAddress": f"{name}@example.com",
            "avatarUrls": out["avatarUrls"],
            "displayName": user.get("displayName"),
            "active": user.get("active", True),
            "timeZone": out["timeZone"],
        }

    def _fields_out(self) -> list[dict[str, Any]]:
        if self.cloud:
            return self.fields
        out = []
        for f in self.fields:
            f = {k: v for k, v in f.items() if k not in ("key", "untranslatedName")}
            out.append(f)
        return out

    def _issue_out(
        self, issue: dict[str, Any], wanted: set[str] | None, changelog: bool
    ) -> dict[str, Any]:
        api = self.api
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": str(issue["id"]),
            "self": f"{self.site}{api}/issue/{issue['id']}",
            "key": issue["key"],
        }
        fields: dict[str, Any] = {}
        for name, value in issue["fields"].items():
            if wanted is not None and name not in wanted:
                continue
            fields[name] = self._field_out(name, value)
        if wanted is not None:
            for name in wanted - set(fields) - {"id", "key", "*all", "*navigable"}:
                if name in {f["id"] for f in self.fields} or name in _SYSTEM_FIELDS:
                    fields[name] = None
        if wanted != {"id"} and wanted != {"key"} and wanted != {"id", "key"}:
            out["fields"] = fields
        else:
            out["fields"] = {}
        if changelog:
            histories = [
                self._history_out(h) for h in issue.get("changelog", {}).get("histories", [])
            ]
            total = len(histories)
            if self.cloud:
                histories = histories[::-1]  # "sorted by date, starting from the most recent"
                if self.changelog_limit is not None:
                    histories = histories[: self.changelog_limit]
            elif self.changelog_limit is not None:
                histories = histories[-self.changelog_limit :]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": total,
                "histories": histories,
            }
        return out

    def _field_out(self, name: str, value: Any) -> Any:
        if name in ("assignee", "reporter", "creator"):
            return self._user(value)
        if name == "description" and not self.cloud:
            return adf_text(value) if isinstance(value, dict) else value
        if not self.cloud and name == self.sprint_field and isinstance(value, list):
            return [greenhopper(s) for s in value]
        return copy.deepcopy(value)

    def _history_out(self, history: Mapping[str, Any]) -> dict[str, Any]:
        out = {
            "id": str(history["id"]),
            "author": self._user(history.get("author")),
            "created": history["created"],
            "items": [self._item_out(i) for i in history.get("items", [])],
        }
        if out["author"] is None:
            del out["author"]
        return out

    def _item_out(self, item: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(item)
        if self.cloud:
            return out
        out.pop("fieldId", None)
        if out.get("field") == "assignee":
            for side in ("from", "to"):
                if out.get(side):
                    out[side] = dc_user({"accountId": out[side], "displayName": out.get(f"{side}String")})[0]  # fmt: skip
        return out

    # ------------------------------------------------------------------ handlers

    def _server_info(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        if self.cloud:
            return SimResponse(200, {"baseUrl": self.site, "displayUrl": self.site, "version": "1001.0.0-SNAPSHOT",
                                     "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "buildNumber": 100295,
                                     "buildDate": "2026-11-18T00:00:00.000+0000", "serverTime": jira_time(datetime.now(UTC)),
                                     "scmInfo": "8b1e2c4", "serverTitle": "Jira", "defaultLocale": {"locale": "en_US"}})  # fmt: skip
        return SimResponse(200, {"baseUrl": self.site, "version": "10.3.4", "versionNumbers": [10, 3, 4],
                                 "deploymentType": "Server", "buildNumber": 10030004,
                                 "buildDate": "2026-10-01T00:00:00.000+0000", "serverTime": jira_time(datetime.now(UTC)),
                                 "scmInfo": "4e1c2d7", "serverTitle": "Acme Jira"})  # fmt: skip

    def _myself(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        me = {"accountId": "5b10a2844c20165700ede21g", "displayName": "SprintProof Reader"}
        body = self._user(me) or {}
        body.pop("timeZone", None)
        if self.myself_zone:
            body["timeZone"] = self.myself_zone
        if self.cloud and self.email:
            body["emailAddress"] = self.email
        return SimResponse(200, body)

    def _statuses(self) -> list[dict[str, Any]]:
        if self.statuses is not None:
            return self.statuses
        seen: dict[str, dict[str, Any]] = {}
        for issue in self.issues:
            status = issue["fields"]["status"]
            category = dict(status["statusCategory"])
            category.setdefault(
                "self", f"{self.site}{self.api}/statuscategory/{category.get('id')}"
            )
            seen.setdefault(
                str(status["id"]),
                {
                    "self": f"{self.site}{self.api}/status/{status['id']}",
                    "description": "",
                    "iconUrl": f"{self.site}/images/icons/statuses/generic.png",
                    "name": status["name"],
                    "untranslatedName": status["name"],
                    "id": str(status["id"]),
                    "statusCategory": category,
                    "scope": {"type": "GLOBAL"} if self.cloud else None,
                },
            )
        out = sorted(seen.values(), key=lambda s: int(s["id"]) if s["id"].isdigit() else 0)
        if not self.cloud:
            for status in out:
                status.pop("scope", None)
                status.pop("untranslatedName", None)
        return out

    def _search_removed(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        return _error(
            410,
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
            "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
        )

    @staticmethod
    def _params(request: SimRequest) -> dict[str, Any]:
        """GET query parameters or POST body, as one mapping (lists for fields/expand)."""
        if request.method == "POST":
            body = request.json() or {}
            return body if isinstance(body, dict) else {}
        out: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
        if "fields" in request.query:
            out["fields"] = [f for v in request.query["fields"] for f in v.split(",") if f]
        if "reconcileIssues" in request.query:
            out["reconcileIssues"] = request.query["reconcileIssues"]
        return out

    @staticmethod
    def _wanted(params: Mapping[str, Any], default: set[str] | None) -> set[str] | None:
        raw = params.get("fields")
        if raw is None:
            return default
        names = {
            f.strip() for f in (raw if isinstance(raw, list) else str(raw).split(",")) if f.strip()
        }
        if names & {"*all", "*navigable"}:
            return None
        return names

    @staticmethod
    def _expands(params: Mapping[str, Any]) -> set[str]:
        raw = params.get("expand") or []
        parts = raw if isinstance(raw, list) else str(raw).split(",")
        return {p.strip() for p in parts if p.strip()}

    def _page_size(self, params: Mapping[str, Any], wanted: set[str] | None, cap: int) -> int:
        try:
            asked = int(params.get("maxResults", 50))
        except (TypeError, ValueError):
            asked = 50
        if wanted is not None and wanted <= {"id", "key"}:
            cap = ID_PAGE_CAP if self.cloud else cap
        return max(1, min(asked, cap)) if asked > 0 else 0

    def _search_cloud(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        params = self._params(request)
        jql = str(params.get("jql") or "")
        wanted = self._wanted(params, {"id"})
        size = self._page_size(params, wanted, CLOUD_PAGE_CAP)
        try:
            found = self._run(jql)
        except JqlError as exc:
            return _error(400, str(exc))
        digest = hashlib.sha1(jql.encode()).hexdigest()[:12]
        token = params.get("nextPageToken")
        order = _Parser(self, jql).query().order or [("key", True)]
        start = 0
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(str(token).encode()))
                if state["q"] != digest:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                return _error(400, "The provided next page token is invalid or expired.")
            after = tuple(state["after"])
            keys = [self._order_key(i, order) for i in found]
            start = next((n for n, k in enumerate(keys) if k > after), len(found))
        page = found[start : start + size]
        expands = self._expands(params)
        body: dict[str, Any] = {
            "issues": [self._issue_out(i, wanted, "changelog" in expands) for i in page]
        }
        more = start + size < len(found)
        if more and page:
            after = self._order_key(page[-1], order)
            next_token = base64.urlsafe_b64encode(
                json.dumps({"q": digest, "after": list(after)}).encode()
            ).decode()
            body["nextPageToken"] = str(token) if (self.stuck_tokens and token) else next_token
        body["isLast"] = not more
        if "names" in expands:
            body["names"] = {f["id"]: f["name"] for f in self.fields}
        return SimResponse(200, body)

    def _order_key(self, issue: dict[str, Any], order: list[tuple[str, bool]]) -> tuple[Any, ...]:
        """The keyset position of an issue in a sorted result (descending fields negated)."""
        out: list[Any] = []
        for name, descending in order:
            value = self._sort_key(issue, name)
            if descending and isinstance(value, int | float):
                value = -value
            elif descending and isinstance(value, tuple):
                value = (value[0], -value[1])
            out.extend(value if isinstance(value, tuple) else (value,))
        out.append(int(issue["id"]))
        return tuple(out)

    def _search_dc(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        params = self._params(request)
        jql = str(params.get("jql") or "")
        wanted = self._wanted(params, None)
        size = self._page_size(params, wanted, DC_PAGE_CAP)
        try:
            start = max(0, int(params.get("startAt", 0)))
        except (TypeError, ValueError):
            return _error(400, "startAt must be a number")
        try:
            found = self._run(jql)
        except JqlError as exc:
            return _error(400, str(exc))
        page = found[start : start + size]
        expands = self._expands(params)
        return SimResponse(
            200,
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": [self._issue_out(i, wanted, "changelog" in expands) for i in page],
            },
        )

    def _issue_dc(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        try:
            issue = self.issue(match[1])
        except KeyError:
            return _error(404, "Issue Does Not Exist")
        params = self._params(request)
        wanted = self._wanted(params, None)
        expands = self._expands(params)
        out = self._issue_out(issue, wanted, False)
        if "changelog" in expands:
            histories = [
                self._history_out(h) for h in issue.get("changelog", {}).get("histories", [])
            ]
            out["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}  # fmt: skip
        return SimResponse(200, out)

    def _issue_changelog(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        try:
            issue = self.issue(match[1])
        except KeyError:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        start = max(0, request.int_arg("startAt", 0))
        size = max(1, min(request.int_arg("maxResults", CHANGELOG_PAGE_CAP), CHANGELOG_PAGE_CAP))
        histories = issue.get("changelog", {}).get("histories", [])
        values = [self._history_out(h) for h in histories[start : start + size]]
        base = f"{self.site}/rest/api/3/issue/{match[1]}/changelog"
        body: dict[str, Any] = {
            "self": f"{base}?startAt={start}&maxResults={size}",
            "maxResults": size,
            "startAt": start,
            "total": len(histories),
            "isLast": start + size >= len(histories),
            "values": values,
        }
        if not body["isLast"]:
            body["nextPage"] = f"{base}?&startAt={start + size}&maxResults={size}"
        return SimResponse(200, body)

    def _bulk_changelog(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        body = request.json() or {}
        ids = body.get("issueIdsOrKeys")
        if not isinstance(ids, list) or not ids or len(ids) > BULK_CHANGELOG_ISSUES:
            return _error(400, "issueIdsOrKeys must list between 1 and 1000 issue ids or keys.")
        field_ids = body.get("fieldIds") or []
        if len(field_ids) > 10:
            return _error(400, "fieldIds accepts at most 10 field ids.")
        size = body.get("maxResults", 1000)
        if not isinstance(size, int) or not 1 <= size <= BULK_CHANGELOG_MAX:
            return _error(400, "maxResults must be between 1 and 10000.")
        entries: list[tuple[datetime, int, int, str, dict[str, Any]]] = []
        for ident in dict.fromkeys(str(i) for i in ids):
            try:
                issue = self.issue(ident)
            except KeyError:
                continue
            for history in issue.get("changelog", {}).get("histories", []):
                items = [i for i in history.get("items", []) if not field_ids or i.get("fieldId") in field_ids]  # fmt: skip
                if not items:
                    continue
                entries.append(
                    (_parse(history["created"]), int(issue["id"]), int(history["id"]), str(issue["id"]), {**history, "items": items})
                )  # fmt: skip
        entries.sort(key=lambda e: e[:3])
        digest = hashlib.sha1(json.dumps([ids, field_ids]).encode()).hexdigest()[:12]
        start = 0
        token = body.get("nextPageToken")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(str(token).encode()))
                if state["q"] != digest:
                    raise ValueError
                start = int(state["offset"])
            except (ValueError, KeyError, TypeError):
                return _error(400, "The provided next page token is invalid or expired.")
        page = entries[start : start + size]
        logs: list[dict[str, Any]] = []
        for _, _, _, issue_id, history in page:
            out = self._history_out(history)
            if self.bulk_created_as_millis:
                out["created"] = int(_parse(history["created"]).timestamp() * 1000)
            if logs and logs[-1]["issueId"] == issue_id:
                logs[-1]["changeHistories"].append(out)
            else:
                logs.append({"issueId": issue_id, "changeHistories": [out]})
        response: dict[str, Any] = {"issueChangeLogs": logs}
        if start + size < len(entries):
            next_token = base64.urlsafe_b64encode(json.dumps({"q": digest, "offset": start + size}).encode()).decode()  # fmt: skip
            response["nextPageToken"] = str(token) if (self.stuck_tokens and token) else next_token
        return SimResponse(200, response)

    # ------------------------------------------------------------------ agile

    def _agile_page(self, request: SimRequest, values: list[Any], *, total: bool) -> SimResponse:
        start = max(0, request.int_arg("startAt", 0))
        size = max(1, min(request.int_arg("maxResults", AGILE_PAGE_CAP), AGILE_PAGE_CAP))
        page = values[start : start + size]
        body: dict[str, Any] = {
            "maxResults": size,
            "startAt": start,
            "isLast": start + size >= len(values),
            "values": page,
        }
        if total:
            body["total"] = len(values)
        return SimResponse(200, body)

    def _board_out(self, board: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in board.items() if k not in ("filterId", "filterJql")}

    def _boards(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        boards = self.boards
        project = request.arg("projectKeyOrId")
        if project:
            known = next((p for p in self.projects.values() if project in (p.key, p.id)), None)
            if known is None:
                return _error(400, f"No project could be found with key '{project}'.")
            boards = [b for b in boards if (b.get("location") or {}).get("projectKey") == known.key]
        kind = request.arg("type")
        if kind:
            boards = [b for b in boards if b.get("type") in kind.split(",")]
        return self._agile_page(request, [self._board_out(b) for b in boards], total=True)

    def _find_board(self, ident: str) -> dict[str, Any] | None:
        return next((b for b in self.boards if str(b["id"]) == ident), None)

    def _board(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        board = self._find_board(match[1])
        if board is None:
            return _error(404, "Board does not exist or you do not have permission to see it.")
        return SimResponse(200, self._board_out(board))

    def _board_config(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        board = self._find_board(match[1])
        if board is None:
            return _error(404, "Board does not exist or you do not have permission to see it.")
        location = board.get("location") or {}
        filter_id = str(board.get("filterId", 10000 + int(board["id"])))
        return SimResponse(
            200,
            {
                "id": board["id"],
                "name": board["name"],
                "type": board.get("type", "scrum"),
                "self": f"{self.site}/rest/agile/1.0/board/{board['id']}/configuration",
                "location": {"type": "project", "key": location.get("projectKey"), "id": str(location.get("projectId", "")),
                             "self": f"{self.site}/rest/api/2/project/{location.get('projectId', '')}",
                             "name": location.get("projectName")},
                "filter": {"id": filter_id, "self": f"{self.site}/rest/api/2/filter/{filter_id}"},
                "columnConfig": {"columns": [{"name": "To Do", "statuses": [{"id": "10000"}]}], "constraintType": "issueCount"},
                "estimation": {"type": "field", "field": {"fieldId": "customfield_10016", "displayName": "Story point estimate"}},
                "ranking": {"rankCustomFieldId": 10019},
            },
        )  # fmt: skip

    def _board_sprints(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        board = self._find_board(match[1])
        if board is None:
            return _error(404, "Board does not exist or you do not have permission to see it.")
        if board.get("type") == "kanban":
            return _error(400, "The board does not support sprints")
        sprints = [s for s in self.sprints if str(s.get("originBoardId")) == match[1]]
        states = request.arg("state")
        if states:
            sprints = [s for s in sprints if s["state"] in states.split(",")]
        return self._agile_page(request, sprints, total=False)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dir(cls, path: Path) -> Self:
        """The demo's exports (`vendor/jira/{issues,sprints,boards,fields}.json`), served as Jira Cloud."""
        folder = Path(path)

        def load(name: str) -> Any:
            try:
                return json.loads((folder / name).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise FileNotFoundError(f"{folder}: no {name}; expected the Jira exports of `sprintproof demo`") from None  # fmt: skip

        issues = load("issues.json")
        for issue in issues:  # the exports are complete changelogs, oldest first
            histories = issue.get("changelog", {}).get("histories", [])
            histories.sort(key=lambda h: (_parse(h["created"]), int(h["id"])))
        boards = load("boards.json")
        site = next(
            (b["self"].split("/rest/")[0] for b in boards if isinstance(b.get("self"), str)),
            "https://acme.atlassian.net",
        )
        return cls(
            deployment="cloud",
            issues=issues,
            boards=boards,
            sprints=load("sprints.json"),
            fields=load("fields.json"),
            site=site,
        )


_SYSTEM_FIELDS = frozenset(
    {"summary", "issuetype", "status", "project", "created", "updated", "resolutiondate",
     "resolution", "assignee", "reporter", "labels", "priority", "parent", "description",
     "issuelinks", "subtasks"}
)  # fmt: skip


def dc_user(user: Mapping[str, Any]) -> tuple[str, str]:
    """A Cloud account as Data Center knows it: (user key, user name)."""
    account = str(user.get("accountId") or "")
    digest = int(hashlib.sha1(account.encode()).hexdigest()[:6], 16)
    name = re.sub(r"[^a-z0-9]+", ".", str(user.get("displayName") or "user").lower()).strip(".")
    return f"JIRAUSER{10000 + digest % 90000}", name or "user"


def greenhopper(sprint: Mapping[str, Any]) -> str:
    """A sprint as Data Center's REST v2 renders the sprint field: GreenHopper's toString."""
    parts = [
        f"id={sprint['id']}",
        f"rapidViewId={sprint.get('boardId', '')}",
        f"state={str(sprint.get('state', '')).upper()}",
        f"name={sprint.get('name', '')}",
        f"startDate={_dc_date(sprint.get('startDate'))}",
        f"endDate={_dc_date(sprint.get('endDate'))}",
        f"completeDate={_dc_date(sprint.get('completeDate'))}",
        f"activatedDate={_dc_date(sprint.get('startDate'))}",
        f"sequence={sprint['id']}",
        f"goal={sprint.get('goal') or ''}",
        "autoStartStop=false",
        "synced=false",
    ]
    return f"com.atlassian.greenhopper.service.sprint.Sprint@{int(sprint['id']) * 7919:x}[{','.join(parts)}]"


def _dc_date(value: str | None) -> str:
    return "<null>" if not value else jira_time(_parse(value))


def adf(*paragraphs: str) -> dict[str, Any]:
    """Atlassian Document Format for plain paragraphs (Cloud's v3 description)."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs
        ],
    }


def adf_text(doc: Mapping[str, Any]) -> str:
    """The text of an ADF document, paragraphs on their own lines (Data Center shows wiki text)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                out.append(str(node.get("text", "")))
            for child in node.get("content") or []:
                walk(child)
            if node.get("type") == "paragraph":
                out.append("\n")

    walk(doc)
    return "".join(out).rstrip("\n")


# ------------------------------------------------------------------------------------ synthetic sites

SITE = "https://acme.atlassian.net"
POINTS, ESTIMATE, SPRINT, EPIC_LINK, RANK = (
    "customfield_10028",
    "customfield_10016",
    "customfield_10020",
    "customfield_10014",
    "customfield_10019",
)
# name -> (status id, status category)
STATUSES: dict[str, tuple[str, dict[str, Any]]] = {
    "To Do": ("10000", {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"}),
    "In Progress": ("3", {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"}),
    "In Review": ("10001", {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"}),
    "Done": ("10002", {"id": 3, "key": "done", "colorName": "green", "name": "Done"}),
    "Won't Do": ("10003", {"id": 3, "key": "done", "colorName": "green", "name": "Done"}),
}  # fmt: skip
ISSUE_TYPES: dict[str, dict[str, Any]] = {
    "Story": {"id": "10001", "name": "Story", "subtask": False, "hierarchyLevel": 0},
    "Task": {"id": "10002", "name": "Task", "subtask": False, "hierarchyLevel": 0},
    "Bug": {"id": "10004", "name": "Bug", "subtask": False, "hierarchyLevel": 0},
    "Epic": {"id": "10000", "name": "Epic", "subtask": False, "hierarchyLevel": 1},
    "Sub-task": {"id": "10003", "name": "Sub-task", "subtask": True, "hierarchyLevel": -1},
    "Incident": {"id": "10005", "name": "Incident", "subtask": False, "hierarchyLevel": 0},
}
_TYPE_WEIGHTS = {"Story": 43, "Bug": 22, "Task": 20, "Sub-task": 6, "Epic": 4, "Incident": 5}
_NAMES = ("Ana Silva", "Ben Okafor", "Chen Wei", "Dara Byrne", "Eli Cohen", "Fatou Diallo",
          "Gus Larsen", "Hana Sato", "Ivan Petrov", "Jo Mensah", "Kai Nakamura", "Lea Fischer")  # fmt: skip
AUTOMATION = {
    "accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
    "displayName": "Automation for Jira",
    "active": True,
    "accountType": "app",
}


def custom_field(number: int, name: str, kind: str, plugin: str, items: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A custom field as `GET /rest/api/3/field` lists it."""
    schema: dict[str, Any] = {"type": kind, "custom": plugin, "customId": number}
    if items:
        schema["items"] = items
    return {
        "id": f"customfield_{number}",
        "key": f"customfield_{number}",
        "name": name,
        "untranslatedName": name,
        "custom": True,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [f"cf[{number}]", name],
        "schema": schema,
    }


def system_field(ident: str, name: str, kind: str) -> dict[str, Any]:
    """A system field as `GET /rest/api/3/field` lists it."""
    return {
        "id": ident,
        "key": ident,
        "name": name,
        "custom": False,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [ident],
        "schema": {"type": kind, "system": ident},
    }


def site_fields() -> list[dict[str, Any]]:
    """`GET /rest/api/3/field` of a company-managed site with Jira Software."""
    return [
        system_field("summary", "Summary", "string"),
        system_field("description", "Description", "string"),
        system_field("issuetype", "Issue Type", "issuetype"),
        system_field("status", "Status", "status"),
        system_field("project", "Project", "project"),
        system_field("created", "Created", "datetime"),
        system_field("updated", "Updated", "datetime"),
        system_field("resolutiondate", "Resolved", "datetime"),
        system_field("resolution", "Resolution", "resolution"),
        system_field("assignee", "Assignee", "user"),
        system_field("reporter", "Reporter", "user"),
        system_field("labels", "Labels", "array"),
        system_field("priority", "Priority", "priority"),
        system_field("parent", "Parent", "issuelink"),
        custom_field(10014, "Epic Link", "any", EPIC_LINK_TYPE),
        custom_field(10016, "Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"),
        custom_field(10019, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
        custom_field(10020, "Sprint", "array", SPRINT_FIELD_TYPE, "json"),
        custom_field(10028, "Story Points", "number", "com.atlassian.jira.plugin.system.customfieldtypes:float"),
    ]  # fmt: skip


def item(
    field_name: str,
    old: str | None,
    new: str | None,
    old_id: str | None = None,
    new_id: str | None = None,
    field_id: str | None = None,
) -> dict[str, Any]:
    """A changelog item in Jira Cloud's shape."""
    return {
        "field": field_name,
        "fieldtype": "custom" if (field_id or "").startswith("customfield") else "jira",
        "fieldId": field_id or field_name,
        "from": old_id,
        "fromString": old,
        "to": new_id,
        "toString": new,
    }


def status_field(name: str) -> dict[str, Any]:
    """The `status` field of an issue in one of the synthetic site's statuses."""
    ident, category = STATUSES[name]
    return {
        "self": f"{SITE}/rest/api/3/status/{ident}",
        "description": "",
        "iconUrl": f"{SITE}/images/icons/statuses/generic.png",
        "name": name,
        "id": ident,
        "statusCategory": {
            **category,
            "self": f"{SITE}/rest/api/3/statuscategory/{category['id']}",
        },
    }


def sprint_value(sprint: Mapping[str, Any]) -> dict[str, Any]:
    """A sprint as Cloud's sprint field holds it."""
    out = {
        "id": sprint["id"],
        "name": sprint["name"],
        "state": sprint["state"],
        "boardId": sprint["originBoardId"],
        "goal": sprint.get("goal", ""),
    }
    for name in ("startDate", "endDate", "completeDate"):
        if sprint.get(name):
            out[name] = sprint[name]
    return out


@dataclass
class Site:
    """A synthetic Jira site: projects with one scrum board each, two-week sprints, issues with histories."""

    issues: list[dict[str, Any]]
    boards: list[dict[str, Any]]
    sprints: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    users: list[dict[str, Any]]

    def simulator(self, **options: Any) -> "JiraSimulator":
        """A simulator over a copy of the site (tests edit the simulator's copy)."""
        return JiraSimulator(
            issues=copy.deepcopy(self.issues),
            boards=copy.deepcopy(self.boards),
            sprints=copy.deepcopy(self.sprints),
            fields=copy.deepcopy(self.fields),
            **options,
        )


def synthetic_site(
    issues: int = 60,
    *,
    projects: Sequence[str] = ("WEB", "PAY"),
    seed: int = 1,
    end: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    long_histories: float = 0.02,
    description: Callable[[int], str] | None = None,
) -> Site:
    """A deterministic site: `issues` issues spread over `projects`, each with 5-40 histories
    (`long_histories` of them over 100: much re-ranking and editing), sprints every two weeks
    with carry-over, story points, assignee changes, resolutions (some "Won't Do"), epics and
    sub-tasks. `description(n)` gives the description text of the n-th issue."""
    return _SiteBuilder(random.Random(seed), projects, end, long_histories, description).build(
        issues
    )


class _SiteBuilder:
    def __init__(
        self,
        rng: random.Random,
        projects: Sequence[str],
        end: datetime,
        long_histories: float,
        description: Callable[[int], str] | None,
    ) -> None:
        self.rng = rng
        self.projects = list(projects)
        self.end = end
        self.long_histories = long_histories
        self.description = description
        self.users = [
            {
                "accountId": f"712020:{uuid_like(rng)}",
                "displayName": name,
                "active": True,
                "accountType": "atlassian",
                "timeZone": "Europe/Paris",
            }
            for name in _NAMES
        ]

    def build(self, count: int) -> Site:
        weeks = max(8, count // 40)
        self.start = self.end - timedelta(weeks=weeks)
        boards, sprints = [], []
        self.project_of: dict[str, dict[str, Any]] = {}
        self.sprints_of: dict[str, list[dict[str, Any]]] = {}
        for n, key in enumerate(self.projects):
            board, mine = self._board(n, key, weeks)
            boards.append(board)
            sprints.extend(mine)
        self.issues: list[dict[str, Any]] = []
        self.counters = dict.fromkeys(self.projects, 0)
        self.epics: dict[str, list[dict[str, Any]]] = {k: [] for k in self.projects}
        for n in range(count):
            self.issues.append(self._issue(n, count))
        return Site(self.issues, boards, sprints, site_fields(), self.users)

    def _board(self, n: int, key: str, weeks: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        project_id, board_id = 10000 + n, n + 1
        name = key.title()
        self.project_of[key] = {
            "self": f"{SITE}/rest/api/3/project/{project_id}",
            "id": str(project_id),
            "key": key,
            "name": name,
            "projectTypeKey": "software",
        }
        board = {
            "id": board_id,
            "self": f"{SITE}/rest/agile/1.0/board/{board_id}",
            "name": f"{key} board",
            "type": "scrum",
            "location": {
                "projectId": project_id,
                "displayName": f"{name} ({key})",
                "projectName": name,
                "projectKey": key,
                "projectTypeKey": "software",
                "name": f"{name} ({key})",
            },
        }
        mine: list[dict[str, Any]] = []
        first = self.start.replace(hour=8, minute=0, second=0, microsecond=0)
        for s in range(weeks // 2 + 2):
            begin = first + timedelta(weeks=2 * s)
            finish = begin + timedelta(days=11, hours=9)
            if finish + timedelta(days=3) <= self.end:
                state = "closed"
            elif begin <= self.end:
                state = "active"
            else:
                state = "future"
            ident = 100 * board_id + s + 1
            sprint = {
                "id": ident,
                "self": f"{SITE}/rest/agile/1.0/sprint/{ident}",
                "state": state,
                "name": f"{key} Sprint {s + 1}",
                "startDate": _z(begin),
                "endDate": _z(finish),
                "createdDate": _z(begin - timedelta(days=3)),
                "originBoardId": board_id,
                "goal": "",
            }
            if state == "closed":
                done = finish + timedelta(days=2, hours=22, minutes=self.rng.randint(0, 50))
                sprint["completeDate"] = _z(done)
            mine.append(sprint)
            if state == "future":
                break
        self.sprints_of[key] = mine
        return board, mine

    def _issue(self, n: int, count: int) -> dict[str, Any]:
        rng = self.rng
        project_key = self.projects[n % len(self.projects)]
        self.counters[project_key] += 1
        span = (self.end - self.start).total_seconds()
        created = self.start + timedelta(seconds=span * 0.97 * n / count + rng.randint(0, 600))
        kind = rng.choices(list(_TYPE_WEIGHTS), list(_TYPE_WEIGHTS.values()))[0]
        siblings = [i for i in self.issues[-40:] if i["fields"]["project"]["key"] == project_key]
        if kind == "Sub-task" and not siblings:
            kind = "Task"
        issue_id = str(10000 + n)
        key = f"{project_key}-{self.counters[project_key]}"
        text = self.description(n) if self.description else f"As a user I want {key} to work."
        topic = rng.choice(["checkout", "search", "login", "billing", "reports"])
        fields: dict[str, Any] = {
            "summary": f"{kind} {key}: {topic} {rng.choice(['flow', 'page', 'API', 'export'])}",
            "issuetype": dict(ISSUE_TYPES[kind]),
            "project": self.project_of[project_key],
            "description": adf(text, "Acceptance: it works.") if rng.random() < 0.9 else None,
            "created": jira_time(created),
            "reporter": rng.choice(self.users),
            "assignee": None,
            "priority": {"id": str(rng.randint(1, 4)), "name": rng.choice(["High", "Medium", "Low"])},
            "labels": sorted(rng.sample(["backend", "frontend", "tech-debt", "customer"], rng.randint(0, 2))),
            "resolution": None,
            "resolutiondate": None,
            "parent": None,
            POINTS: None,
            ESTIMATE: None,
            SPRINT: None,
            EPIC_LINK: None,
        }  # fmt: skip
        if kind == "Sub-task":
            parent = rng.choice(siblings)
            fields["parent"] = _parent(parent)
        elif kind != "Epic" and self.epics[project_key] and rng.random() < 0.6:
            fields["parent"] = _parent(rng.choice(self.epics[project_key][-5:]))
        issue = {
            "expand": "",
            "id": issue_id,
            "self": f"{SITE}/rest/api/3/issue/{issue_id}",
            "key": key,
            "fields": fields,
            "changelog": {"histories": []},
        }
        _History(self, issue, created).run(kind)
        if kind == "Epic":
            self.epics[project_key].append(issue)
        return issue


class _History:
    """Plays an issue's life forward and writes its changelog and final fields."""

    def __init__(self, builder: _SiteBuilder, issue: dict[str, Any], created: datetime) -> None:
        self.b = builder
        self.rng = builder.rng
        self.issue = issue
        self.fields = issue["fields"]
        self.histories: list[dict[str, Any]] = issue["changelog"]["histories"]
        self.clock = created
        self.sprints = builder.sprints_of[self.fields["project"]["key"]]
        self.joined: list[dict[str, Any]] = []
        self.status = "To Do"

    def add(self, items: list[dict[str, Any]], author: dict[str, Any] | None = None, gap: float = 20.0) -> None:  # fmt: skip
        step = timedelta(hours=self.rng.uniform(0.2, gap))
        until = min(self.b.end - timedelta(minutes=1), self.clock + step)
        self._carry_over(until)
        self.clock = max(self.clock, until)
        self._append(items, author)

    def _append(self, items: list[dict[str, Any]], author: dict[str, Any] | None = None) -> None:
        self.histories.append(
            {
                "id": str(int(self.issue["id"]) * 1000 + len(self.histories) + 1),
                "author": author or self.rng.choice(self.b.users),
                "created": jira_time(self.clock),
                "items": items,
            }
        )

    def _carry_over(self, until: datetime) -> None:
        """Closing a sprint moves its unfinished issues into the next one (up to three times)."""
        while self.joined and self.status not in ("Done", "Won't Do") and len(self.joined) < 4:
            complete = self.joined[-1].get("completeDate")
            if not complete or _parse(str(complete)) > until:
                return
            later = [s for s in self.sprints if s["id"] > self.joined[-1]["id"]]
            if not later:
                return
            before = list(self.joined)
            self.joined.append(later[0])
            self.clock = max(self.clock, _parse(str(complete)) + timedelta(seconds=1))
            self._append([_sprint_item(before, self.joined)])

    def run(self, kind: str) -> None:
        rng, fields = self.rng, self.fields
        long = rng.random() < self.b.long_histories
        target = rng.randint(101, 160) if long else rng.randint(5, 40)
        points = (
            rng.choice([1.0, 2.0, 3.0, 5.0, 8.0])
            if kind in ("Story", "Bug", "Task") and rng.random() < 0.8
            else None
        )
        if points is not None:
            self.add([item("Story Points", None, str(points), field_id=POINTS)])
        if rng.random() < 0.8:
            who = rng.choice(self.b.users)
            fields["assignee"] = who
            self.add([item("assignee", None, who["displayName"], None, who["accountId"])])
        open_sprints = [
            s for s in self.sprints if _parse(s["startDate"]) + timedelta(days=11) > self.clock
        ]
        if kind != "Epic" and open_sprints and rng.random() < 0.85:
            first = open_sprints[0]
            self.add([item("Sprint", None, first["name"], None, str(first["id"]), SPRINT)])
            self.joined.append(first)
        flow = ["In Progress", "In Review", "Done"] if rng.random() < 0.9 else ["In Progress", "Won't Do"]  # fmt: skip
        while len(self.histories) < target:
            roll = rng.random()
            if flow and roll < 0.2 and len(self.histories) > 2:
                new = flow.pop(0)
                items = [item("status", self.status, new, STATUSES[self.status][0], STATUSES[new][0])]  # fmt: skip
                if new in ("Done", "Won't Do"):
                    resolution_id = "10000" if new == "Done" else "10001"
                    resolution = "Done" if new == "Done" else "Won't Do"
                    items.append(item("resolution", None, resolution, None, resolution_id))
                automated = new == "Done" and rng.random() < 0.2
                self.add(items, AUTOMATION if automated else None, gap=120.0)
                self.status = new
            elif roll < 0.3 and points is not None:
                old, points = points, rng.choice([1.0, 2.0, 3.0, 5.0, 8.0])
                self.add([item("Story Points", str(old), str(points), field_id=POINTS)])
            elif roll < 0.38:
                old_user, who = fields["assignee"], rng.choice(self.b.users)
                fields["assignee"] = who
                self.add([item("assignee", old_user and old_user["displayName"], who["displayName"],
                               old_user and old_user["accountId"], who["accountId"])])  # fmt: skip
            elif roll < 0.45:
                self.add([item("description", "(earlier text)", "(newer text)")])
            elif roll < 0.5:
                before_labels = " ".join(fields["labels"]) or None
                fields["labels"] = sorted({*fields["labels"], rng.choice(["backend", "customer"])})
                self.add([item("labels", before_labels, " ".join(fields["labels"]))])
            else:
                self.add([item("Rank", None, "Ranked higher", field_id=RANK)], gap=2.0)
        fields[POINTS] = fields[ESTIMATE] = points
        fields["status"] = status_field(self.status)
        if self.status in ("Done", "Won't Do"):
            resolved = [h for h in self.histories if any(i["field"] == "resolution" for i in h["items"])]  # fmt: skip
            done = self.status == "Done"
            fields["resolution"] = {"id": "10000" if done else "10001", "name": "Done" if done else "Won't Do"}  # fmt: skip
            fields["resolutiondate"] = resolved[-1]["created"]
        fields[SPRINT] = [sprint_value(s) for s in self.joined] or None
        fields["updated"] = self.histories[-1]["created"] if self.histories else fields["created"]


def _sprint_item(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    return item(
        "Sprint",
        ", ".join(s["name"] for s in before) or None,
        ", ".join(s["name"] for s in after) or None,
        ", ".join(str(s["id"]) for s in before) or None,
        ", ".join(str(s["id"]) for s in after) or None,
        SPRINT,
    )


def _parent(issue: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": issue["id"],
        "key": issue["key"],
        "self": issue["self"],
        "fields": {
            "summary": issue["fields"]["summary"],
            "status": issue["fields"].get("status") or status_field("To Do"),
            "issuetype": dict(issue["fields"]["issuetype"]),
        },
    }


def uuid_like(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
