"""A GitHub Copilot usage metrics simulator: the daily report endpoints with signed NDJSON downloads, and the older metrics API.

Report endpoints (`GET /orgs/{org}/copilot/metrics/reports/{organization-1-day|users-1-day|
user-teams-1-day}?day=YYYY-MM-DD`) answer `{"download_links": [...], "report_day": ...}` or 204
when the day has no report (not processed yet, or older than the window GitHub keeps). The links
are signed, expire, and point at a download host that may be another server (`download_base`):
they need no token, and the files are NDJSON, one record a line. The older API
(`GET /orgs/{org}/copilot/metrics` and `/orgs/{org}/team/{team_slug}/copilot/metrics`) pages days
with `since`/`until`/`page`/`per_page` and Link headers over a shorter window. Every answer carries
GitHub's `x-ratelimit-*` headers; a spent budget answers 403 as GitHub's primary rate limit does.
`from_dir` loads a folder written by `to_dir`.
"""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

from ingestion.sim.base import SimRequest, SimResponse, Simulator, base_url_of, link_header

REPORTS = ("organization-1-day", "users-1-day", "user-teams-1-day")
_SIGNING_KEY = b"sprintproof-simulated-report-signing"
API_VERSIONS = ("2022-11-28", "2026-03-10")


class CopilotSimulator(Simulator):
    """GitHub's Copilot metrics endpoints for one organisation."""

    name = "copilot"

    def __init__(
        self,
        org: str = "acme",
        *,
        token: str | None = None,
        token_scopes: str = "read:org, manage_billing:copilot",
        today: date | None = None,
        window_days: int = 365,
        legacy_window_days: int = 28,
        rate_limit: int = 5_000,
        link_seconds: float = 300.0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(token=token, latency=latency)
        self.org = org
        self.token_scopes = token_scopes
        self.today = today or datetime.now(UTC).date()
        self.window_days = window_days
        self.legacy_window_days = legacy_window_days
        self.rate_limit = rate_limit
        self.remaining = rate_limit
        self.link_seconds = link_seconds
        self.clock = clock
        self._reset_at = clock() + 3600
        self.download_base: str | None = None  # another host for report files; None: this one
        self.files_per_report = 2  # per-user reports are split over this many files
        self.metrics_policy_enabled = True  # the organisation's "Copilot metrics API access" policy
        self.organization_days: dict[date, dict[str, Any]] = {}
        self.user_days: dict[date, list[dict[str, Any]]] = {}
        self.user_team_days: dict[date, list[dict[str, Any]]] = {}
        self.legacy_days: dict[date, dict[str, Any]] = {}
        self.legacy_team_days: dict[str, dict[date, dict[str, Any]]] = {}
        self._budget = threading.Lock()
        prefix = r"/orgs/(?P<org>[^/]+)/copilot/metrics"
        self.route("GET", prefix + r"/reports/(?P<report>[a-z0-9-]+)", self._report)
        self.route("GET", prefix, self._legacy)
        self.route(
            "GET", r"/orgs/(?P<org>[^/]+)/team/(?P<team>[^/]+)/copilot/metrics", self._legacy
        )
        self.route("GET", r"/copilot-reports/(?P<report>[a-z0-9-]+)/(?P<day>[0-9-]+)/(?P<part>[0-9]+)\.ndjson", self._file)  # fmt: skip

    # ------------------------------------------------------------------ data

    def served_days(self, *, legacy: bool = False) -> tuple[date, date]:
        """First and last day the API still serves (reports cover complete days up to yesterday)."""
        last = self.today - timedelta(days=1)
        return last - timedelta(
            days=(self.legacy_window_days if legacy else self.window_days) - 1
        ), last

    @classmethod
    def from_dir(cls, path: Path) -> Self:
        meta = json.loads((path / "copilot.json").read_text(encoding="utf-8"))
        sim = cls(
            meta["org"], today=date.fromisoformat(meta["today"]) if meta.get("today") else None
        )

        def ndjson(name: str) -> list[dict[str, Any]]:
            file = path / name
            if not file.is_file():
                return []
            return [
                json.loads(line)
                for line in file.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]

        for record in ndjson("organization_1_day.ndjson"):
            sim.organization_days[date.fromisoformat(record["day"])] = record
        for record in ndjson("users_1_day.ndjson"):
            sim.user_days.setdefault(date.fromisoformat(record["day"]), []).append(record)
        for record in ndjson("user_teams_1_day.ndjson"):
            sim.user_team_days.setdefault(date.fromisoformat(record["day"]), []).append(record)
        legacy = path / "metrics.json"
        if legacy.is_file():
            for day in json.loads(legacy.read_text(encoding="utf-8")):
                sim.legacy_days[date.fromisoformat(day["date"])] = day
        for file in (
            sorted((path / "team_metrics").glob("*.json"))
            if (path / "team_metrics").is_dir()
            else []
        ):
            sim.legacy_team_days[file.stem] = {
                date.fromisoformat(d["date"]): d
                for d in json.loads(file.read_text(encoding="utf-8"))
            }
        return sim

    def to_dir(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "copilot.json").write_text(json.dumps({"org": self.org, "today": self.today.isoformat()}), encoding="utf-8")  # fmt: skip

        def lines(records: list[dict[str, Any]]) -> str:
            return "".join(json.dumps(r) + "\n" for r in records)

        (path / "organization_1_day.ndjson").write_text(lines([self.organization_days[d] for d in sorted(self.organization_days)]), encoding="utf-8")  # fmt: skip
        (path / "users_1_day.ndjson").write_text(lines([r for d in sorted(self.user_days) for r in self.user_days[d]]), encoding="utf-8")  # fmt: skip
        (path / "user_teams_1_day.ndjson").write_text(lines([r for d in sorted(self.user_team_days) for r in self.user_team_days[d]]), encoding="utf-8")  # fmt: skip
        (path / "metrics.json").write_text(json.dumps([self.legacy_days[d] for d in sorted(self.legacy_days)]), encoding="utf-8")  # fmt: skip
        if self.legacy_team_days:
            (path / "team_metrics").mkdir(exist_ok=True)
            for slug, days in self.legacy_team_days.items():
                (path / "team_metrics" / f"{slug}.json").write_text(json.dumps([days[d] for d in sorted(days)]), encoding="utf-8")  # fmt: skip

    # ------------------------------------------------------------------ GitHub behaviour

    def authorised(self, request: SimRequest) -> bool:
        # Report files are fetched with their signed link alone.
        return request.path.startswith("/copilot-reports/") or super().authorised(request)

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if not request.path.startswith("/copilot-reports/"):
            response.headers = {**self._rate_headers(), **response.headers}
        return response

    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(0, self.remaining)),
            "x-ratelimit-used": str(self.rate_limit - max(0, self.remaining)),
            "x-ratelimit-reset": str(int(self._reset_at)),
            "x-ratelimit-resource": "core",
            "x-oauth-scopes": self.token_scopes,
            "x-accepted-oauth-scopes": "manage_billing:copilot, read:org, read:enterprise",
            "x-github-api-version-selected": "2022-11-28",
        }

    def _spend(self) -> SimResponse | None:
        with self._budget:
            if self.clock() >= self._reset_at:
                self.remaining = self.rate_limit
                self._reset_at = self.clock() + 3600
            if self.remaining <= 0:
                return SimResponse(403, {"message": "API rate limit exceeded for user ID 1.",
                                         "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})  # fmt: skip
            self.remaining -= 1
        return None

    def _org_check(self, request: SimRequest, org: str) -> SimResponse | None:
        version = request.headers.get("x-github-api-version")
        if version is not None and version not in API_VERSIONS:
            return SimResponse(400, {"message": f"Unsupported 'X-GitHub-Api-Version': {version}"})
        if org.lower() != self.org.lower():
            return SimResponse(
                404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            )
        return self._spend()

    def _signed(self, request: SimRequest, report: str, day: date, part: int) -> str:
        path = f"/copilot-reports/{report}/{day.isoformat()}/{part}.ndjson"
        expires = int(self.clock() + self.link_seconds)
        signature = hmac.new(
            _SIGNING_KEY, f"{path}:{expires}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        base = self.download_base or base_url_of(request)
        return f"{base}{path}?{urlencode({'se': expires, 'sig': signature})}"

    def _report(self, request: SimRequest, match: Any) -> SimResponse:
        refused = self._org_check(request, match["org"])
        if refused is not None:
            return refused
        report = match["report"]
        if report not in REPORTS:
            return SimResponse(404, {"message": "Not Found"})
        if not self.metrics_policy_enabled:
            return SimResponse(403, {"message": "Copilot Usage Metrics API setting is disabled at the organization or enterprise level."})  # fmt: skip
        text = request.arg("day")
        try:
            day = date.fromisoformat(text or "")
        except ValueError:
            return SimResponse(422, {"message": "Invalid request.\n\n'day' must be a date in YYYY-MM-DD format."})  # fmt: skip
        first, last = self.served_days()
        records = self._records(report, day)
        if not first <= day <= last or not records:
            return SimResponse(204, None)
        parts = (
            1
            if report == "organization-1-day"
            else max(1, min(self.files_per_report, len(records)))
        )
        return SimResponse(200, {"download_links": [self._signed(request, report, day, n) for n in range(parts)],
                                 "report_day": day.isoformat()})  # fmt: skip

    def _records(self, report: str, day: date) -> list[dict[str, Any]]:
        if report == "organization-1-day":
            return [self.organization_days[day]] if day in self.organization_days else []
        if report == "users-1-day":
            return self.user_days.get(day, [])
        return self.user_team_days.get(day, [])

    def _file(self, request: SimRequest, match: Any) -> SimResponse:
        path = request.path
        try:
            expires = int(request.arg("se") or "0")
        except ValueError:
            expires = 0
        expected = hmac.new(_SIGNING_KEY, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()[
            :32
        ]
        if not hmac.compare_digest(expected, request.arg("sig") or "") or expires < self.clock():
            return SimResponse(403, b"<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Signature not valid or expired</Message></Error>",
                               {"Content-Type": "application/xml"})  # fmt: skip
        day = date.fromisoformat(match["day"])
        records = self._records(match["report"], day)
        part, parts = int(match["part"]), (1 if match["report"] == "organization-1-day" else max(1, min(self.files_per_report, len(records))))  # fmt: skip
        chunk = records[part::parts]
        body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in chunk).encode()
        return SimResponse(200, body, {"Content-Type": "application/x-ndjson"})

    # ------------------------------------------------------------------ the older metrics API

    def _legacy(self, request: SimRequest, match: Any) -> SimResponse:
        refused = self._org_check(request, match["org"])
        if refused is not None:
            return refused
        if not self.metrics_policy_enabled:
            return SimResponse(422, {"message": "Copilot Usage Metrics API setting is disabled at the organization or enterprise level.",
                                     "documentation_url": "https://docs.github.com/rest/copilot/copilot-metrics"})  # fmt: skip
        team = match.groupdict().get("team")
        if team is not None and team not in self.legacy_team_days:
            return SimResponse(404, {"message": "Not Found"})
        days = self.legacy_team_days[team] if team is not None else self.legacy_days
        first, last = self.served_days(legacy=True)
        try:
            since = _day_of(request.arg("since")) or first
            until = _day_of(request.arg("until")) or last
        except ValueError:
            return SimResponse(422, {"message": "Invalid request.\n\n'since' and 'until' must be ISO 8601 timestamps."})  # fmt: skip
        if since < self.today - timedelta(days=100):
            return SimResponse(422, {"message": "Invalid request.\n\n'since' must be within the last 100 days."})  # fmt: skip
        per_page = min(max(request.int_arg("per_page", 100), 1), 100)
        page = max(request.int_arg("page", 1), 1)
        served = [days[d] for d in sorted(days) if max(first, since) <= d <= min(last, until)]
        pages = max(1, -(-len(served) // per_page))
        chunk = served[(page - 1) * per_page : page * per_page]
        query = {k: v[0] for k, v in request.query.items() if k != "page"}
        headers = {}
        link = link_header(base_url_of(request), request.path, query, page, pages)
        if link:
            headers["Link"] = link
        return SimResponse(200, chunk, headers)


def _day_of(value: str | None) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(value).date()
