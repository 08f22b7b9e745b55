"""The GitHub Copilot usage metrics connector: one `copilot_usage` row per organisation, team and day, kept after GitHub drops the day.

`api: usage_metrics` (default) reads the daily reports: for each day, `organization-1-day` gives
the organisation's totals and, when `teams` are configured, `user-teams-1-day` joined with
`users-1-day` gives each team's totals (GitHub publishes no team report). The endpoints answer with
signed links to NDJSON files on another host; those are fetched without the GitHub token.
`api: legacy_metrics` reads `GET /orgs/{org}/copilot/metrics` (and the team variant) and sums its
nested editor/model/language figures. Either way a day is written in one transaction with the
stream's checkpoint; a later run asks again only for the last `overlap_days` days and newer ones,
and days GitHub no longer serves stay as they were stored.
"""

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from ingestion.connectors import make_client, secret_unless_replayed
from ingestion.http import (
    ApiClient,
    SourceAccessError,
    SourceNotFoundError,
    SourceResponseError,
    SourceUnavailableError,
    Throttle,
    require,
    retry_after_seconds,
)
from ingestion.settings import CopilotSettings
from ingestion.sim.copilot import CopilotSimulator
from ingestion.sync import Replace, SyncContext, SyncResult

API_VERSION = "2022-11-28"
REPORTS_FROM = date(2025, 10, 10)  # GitHub serves daily reports from this day on, for about a year
REPORT_DAYS = 365
LEGACY_DAYS = 100  # the older API accepts `since` up to 100 days back
COLUMNS = (
    "active_users", "engaged_users", "loc_suggested_to_add", "loc_suggested_to_delete", "loc_added",
    "loc_deleted", "agent_edit_lines", "code_generation_count", "code_acceptance_count",
    "interaction_count", "prs_created", "prs_merged", "prs_created_by_copilot",
    "prs_merged_created_by_copilot", "prs_reviewed_by_copilot", "pr_summaries_created",
)  # fmt: skip
# Per-user and organisation counters summed for a team, as (report field, column).
SUMMED = (
    ("loc_suggested_to_add_sum", "loc_suggested_to_add"),
    ("loc_suggested_to_delete_sum", "loc_suggested_to_delete"),
    ("loc_added_sum", "loc_added"),
    ("loc_deleted_sum", "loc_deleted"),
    ("code_generation_activity_count", "code_generation_count"),
    ("code_acceptance_activity_count", "code_acceptance_count"),
    ("user_initiated_interaction_count", "interaction_count"),
)
PULL_REQUESTS = (
    ("total_created", "prs_created"),
    ("total_merged", "prs_merged"),
    ("total_created_by_copilot", "prs_created_by_copilot"),
    ("total_merged_created_by_copilot", "prs_merged_created_by_copilot"),
    ("total_reviewed_by_copilot", "prs_reviewed_by_copilot"),
)
ORG_FIELDS = (
    "day", "organization_id", "enterprise_id", "daily_active_users", "weekly_active_users",
    "monthly_active_users", "monthly_active_chat_users", "monthly_active_agent_users",
    "daily_active_cli_users", "daily_active_copilot_cloud_agent_users", "weekly_active_copilot_cloud_agent_users",
    "monthly_active_copilot_cloud_agent_users", "daily_active_copilot_code_review_users",
    "weekly_active_copilot_code_review_users", "monthly_active_copilot_code_review_users",
    "daily_passive_copilot_code_review_users", "weekly_passive_copilot_code_review_users",
    "monthly_passive_copilot_code_review_users", "user_initiated_interaction_count",
    "code_generation_activity_count", "code_acceptance_activity_count", "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum", "loc_added_sum", "loc_deleted_sum", "totals_by_ide", "totals_by_feature",
    "totals_by_language_feature", "totals_by_language_model", "totals_by_model_feature", "totals_by_cli",
    "pull_requests", "etl_id", "day_partition", "entity_id_partition",
)  # fmt: skip
USER_FIELDS = (
    "day", "user_id", "user_login", "organization_id", "enterprise_id", "user_initiated_interaction_count",
    "code_generation_activity_count", "code_acceptance_activity_count", "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum", "loc_added_sum", "loc_deleted_sum", "totals_by_ide", "totals_by_feature",
    "totals_by_language_feature", "totals_by_language_model", "totals_by_model_feature", "totals_by_cli",
    "used_agent", "used_chat", "used_cli", "used_copilot_code_review_active", "used_copilot_code_review_passive",
    "etl_id", "day_partition", "entity_id_partition",
)  # fmt: skip
LEGACY_FIELDS = (
    "date", "total_active_users", "total_engaged_users", "copilot_ide_code_completions",
    "copilot_ide_chat", "copilot_dotcom_chat", "copilot_dotcom_pull_requests",
)  # fmt: skip


class GitHubThrottle(Throttle):
    """GitHub's primary (`x-ratelimit-remaining`/`reset`) and secondary (`retry-after`) rate limits."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock or (lambda: time.time())

    def _reset_in(self, response: httpx.Response) -> float | None:
        value = response.headers.get("x-ratelimit-reset")
        try:
            return max(0.0, float(value) - self.clock()) + 1.0 if value else None
        except ValueError:
            return None

    def retry_after(self, response: httpx.Response) -> float | None:
        status = response.status_code
        if status not in (403, 429):
            return retry_after_seconds(response.headers) if status == 503 else None
        after = retry_after_seconds(response.headers)
        if after is not None:
            return after
        if response.headers.get("x-ratelimit-remaining") == "0":
            return self._reset_in(response) or 60.0
        if status == 429 or b"secondary rate limit" in response.content.lower():
            return 60.0
        return None

    def pause(self, response: httpx.Response) -> float:
        if response.headers.get("x-ratelimit-remaining") == "0" and response.status_code < 400:
            return self._reset_in(response) or 0.0
        return 0.0

    def forbidden_hint(self, response: httpx.Response) -> str:
        has = response.headers.get("x-oauth-scopes")
        owned = f" (the token has: {has})" if has else ""
        return (
            "Copilot metrics need a token of an organisation owner (or a user with the fine-grained "
            f"'Organization Copilot metrics' read permission); a classic token needs read:org or "
            f"manage_billing:copilot{owned}; the organisation's Copilot usage metrics policy must be enabled"
        )


class _Incomplete(Exception):
    """A report file that ended in the middle of a record."""


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


class _Copilot:
    """One run over one organisation."""

    def __init__(self, ctx: SyncContext, settings: CopilotSettings, api: ApiClient, files: ApiClient) -> None:  # fmt: skip
        self.ctx = ctx
        self.settings = settings
        self.api = api
        self.files = files
        self.source = settings.source_name
        self.org = settings.org
        self.result = SyncResult(source=self.source, kind="copilot", scopes=[settings.org])
        self.yesterday = ctx.now().date() - timedelta(days=1)  # reports cover complete UTC days
        self.teams_seen: set[str] = set()

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)
        self.ctx.warn(message)

    def _start(self, state: Mapping[str, Any], window: int, earliest: date | None) -> date:
        """First day to ask for: the overlap before the last day asked, else `since`, else the window."""
        if state.get("day"):
            start = date.fromisoformat(state["day"]) - timedelta(
                days=self.settings.overlap_days - 1
            )
        elif self.settings.since is not None:
            start = self.settings.since
        else:
            start = self.yesterday - timedelta(days=window - 1)
        floor = self.yesterday - timedelta(days=window - 1)
        return max(start, floor, earliest or start)

    def _write(self, scope: str, stream: str, day: date, rows: list[dict[str, Any]], teams: Iterable[str], cursor: dict[str, Any]) -> None:  # fmt: skip
        now = self.ctx.now()
        for row in rows:
            row.update(source=self.source, org=self.org, day=day, synced_at=now)
        clear = [{"source": self.source, "org": self.org, "team": t, "day": day} for t in teams]
        self.ctx.commit_page(self.source, scope, stream, cursor,
                             [Replace("copilot_usage", rows, ("source", "org", "team", "day"), scope=clear)])  # fmt: skip

    # ------------------------------------------------------------------ usage metrics (daily reports)

    def usage_metrics(self) -> None:
        stream = "usage_metrics"
        state = self.ctx.cursor(self.source, self.org, stream) or {}
        day = self._start(state, REPORT_DAYS, REPORTS_FROM)
        asked = 0
        while day <= self.yesterday:
            rows, teams_written = self._usage_day(day)
            asked += 1
            if self.ctx.progress is not None:
                self.ctx.progress(
                    f"copilot {self.org} days", asked, (self.yesterday - day).days + asked
                )
            self._write(self.org, stream, day, rows, teams_written, {"day": day.isoformat()})
            day += timedelta(days=1)
        missing = sorted(set(self.settings.teams) - self.teams_seen)
        if missing and asked:
            self.warn(
                f"team {', '.join(missing)} was in none of the user-teams reports read; check the slug "
                "(GitHub leaves out teams with fewer than five Copilot seats)"
            )

    def _usage_day(self, day: date) -> tuple[list[dict[str, Any]], list[str]]:
        """The day's rows and the teams whose rows they replace (nothing when GitHub has no report)."""
        organization = self._report("organization-1-day", day)
        if organization is None:
            return [], []
        totals = list(self._day_records(organization, day, "organization-1-day"))
        if not totals:
            return [], []
        rows = [
            {"team": "", "api": "usage_metrics", **self._usage_row(totals[0], "organization-1-day")}
        ]
        replaced = [""]
        if self.settings.teams:
            memberships = self._report("user-teams-1-day", day)
            users = self._report("users-1-day", day) if memberships else None
            if memberships is not None and users is not None:
                rows += self._team_rows(day, memberships, users)
                replaced += list(self.settings.teams)
        return rows, replaced

    def _day_records(
        self, records: list[dict[str, Any]], day: date, report: str
    ) -> Iterator[dict[str, Any]]:
        """Records of `day`: flat daily records, or `day_totals` entries of a window report."""
        for record in records:
            nested = record.get("day_totals")
            for entry in nested if isinstance(nested, list) else [record]:
                require(entry, dict, self.source, report, "a JSON object for each day")
                self.ctx.observe(self.source, report, entry, known=ORG_FIELDS, required=("day", "daily_active_users"))  # fmt: skip
                if entry.get("day") == day.isoformat():
                    yield entry

    def _usage_row(self, record: Mapping[str, Any], what: str) -> dict[str, Any]:
        try:
            row: dict[str, Any] = {column: _int(record.get(field)) for field, column in SUMMED}
            row["active_users"] = _int(record.get("daily_active_users"))
            row["engaged_users"] = None
            row["agent_edit_lines"] = self._agent_edit(record)
            pulls = record.get("pull_requests")
            for field, column in PULL_REQUESTS:
                row[column] = _int(pulls.get(field)) if isinstance(pulls, Mapping) else None
        except ValueError as exc:
            raise SourceResponseError(f"{self.source}: {what} {record.get('day')}: {exc}; the report is not in the documented shape") from None  # fmt: skip
        return row

    def _agent_edit(self, record: Mapping[str, Any]) -> int | None:
        features = record.get("totals_by_feature")
        if not isinstance(features, list):
            return None
        return sum(
            _int(f.get("loc_added_sum")) or 0
            for f in features
            if isinstance(f, Mapping) and f.get("feature") == "agent_edit"
        )

    def _team_rows(self, day: date, memberships: list[dict[str, Any]], users: list[dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
        wanted = set(self.settings.teams)
        members: dict[str, set[Any]] = {}
        logins: dict[Any, str] = {}
        for row in memberships:
            require(row, dict, self.source, "user-teams-1-day", "a JSON object a line")
            self.ctx.observe(self.source, "user-teams-1-day", row, known=("user_id", "user_login", "day", "organization_id", "team_id", "slug"),
                             required=("user_id", "slug"))  # fmt: skip
            if row.get("day") not in (None, day.isoformat()):
                continue
            if isinstance(row.get("user_login"), str):
                logins[row.get("user_id")] = row["user_login"]
            if row.get("slug") in wanted:
                members.setdefault(row["slug"], set()).add(row.get("user_id"))
        activity: dict[Any, Mapping[str, Any]] = {}
        for row in users:
            require(row, dict, self.source, "users-1-day", "a JSON object a line")
            self.ctx.observe(
                self.source, "users-1-day", row, known=USER_FIELDS, required=("user_id", "day")
            )
            if row.get("day") == day.isoformat():
                activity[row.get("user_id")] = row
                if isinstance(row.get("user_login"), str):
                    logins[row.get("user_id")] = row["user_login"]
        self._identities(logins.values())
        rows = []
        for slug in sorted(members):
            active = [activity[u] for u in members[slug] if u in activity]
            self.teams_seen.add(slug)
            row: dict[str, Any] = {
                "team": slug,
                "api": "usage_metrics",
                "active_users": len(active),
                "engaged_users": None,
            }
            try:
                for field, column in SUMMED:
                    row[column] = sum(_int(u.get(field)) or 0 for u in active)
            except ValueError as exc:
                raise SourceResponseError(f"{self.source}: users-1-day {day}: {exc}; the report is not in the documented shape") from None  # fmt: skip
            agent = [self._agent_edit(u) for u in active]
            row["agent_edit_lines"] = (
                sum(a or 0 for a in agent) if any(a is not None for a in agent) else None
            )
            row.update(
                {column: None for _field, column in PULL_REQUESTS}
            )  # organisation-level figures only
            rows.append(row)
        return rows

    def _identities(self, logins: Iterable[str]) -> None:
        now = self.ctx.now()
        rows = [{"source": self.source, "kind": "github", "account_id": login, "login": login, "name": None,
                 "email": None, "account_type": "user", "last_seen_at": now} for login in sorted(set(logins))]  # fmt: skip
        if rows:
            self.ctx.commit_page(self.source, self.org, "identities", None, [Replace("identities", rows, ("source", "kind", "account_id"))])  # fmt: skip

    def _report(self, report: str, day: date) -> list[dict[str, Any]] | None:
        """Every record of a daily report, or None when GitHub has none for the day (204)."""
        what = f"GET /orgs/{self.org}/copilot/metrics/reports/{report}?day={day}"
        for attempt in (1, 2):
            links = self.api.get_json(f"/orgs/{self.org}/copilot/metrics/reports/{report}", params={"day": day.isoformat()}, what=what)  # fmt: skip
            if links is None:
                return None
            require(links, dict, self.source, what, "an object with download_links")
            urls = require(
                links.get("download_links"), list, self.source, what, "a list in download_links"
            )
            records: list[dict[str, Any]] = []
            try:
                for n, url in enumerate(urls, 1):
                    require(url, str, self.source, what, "URLs in download_links")
                    records += self._download(url, f"{report} {day} file {n} of {len(urls)}")
            except (SourceAccessError, SourceNotFoundError) as exc:
                # Signed links expire within minutes; a refused one is asked for again once.
                if attempt == 2:
                    raise SourceAccessError(f"{self.source}: {report} {day}: the report file link was refused twice ({exc}); run again") from None  # fmt: skip
                continue
            return records
        return None

    def _download(self, url: str, what: str) -> list[dict[str, Any]]:
        """A report file's records; a file cut short is fetched again, with backoff."""
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            # Report files are NDJSON, not one JSON document: the parser below checks them.
            response = self.files.request("GET", url, what=what, expect_json=False)
            try:
                return self._records(response.content, what)
            except _Incomplete:
                if attempt == attempts:
                    break
                self.ctx.sleep(min(30.0, 0.5 * 2 ** (attempt - 1)))
        raise SourceUnavailableError(f"{self.source}: {what}: the file arrived incomplete {attempts} times; run again later")  # fmt: skip

    def _records(self, data: bytes, what: str) -> list[dict[str, Any]]:
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (EOFError, OSError, zlib.error):
                raise _Incomplete from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceResponseError(
                f"{self.source}: {what}: the file is not UTF-8 NDJSON"
            ) from None
        lines = text.split("\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        records = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if i == last and not text.endswith("\n"):
                    raise _Incomplete from None
                raise SourceResponseError(f"{self.source}: {what}: line {i + 1} is not a JSON record; expected NDJSON") from None  # fmt: skip
            records.append(
                require(record, dict, self.source, f"{what}, line {i + 1}", "a JSON object")
            )
        return records

    # ------------------------------------------------------------------ the older metrics API

    def legacy_metrics(self) -> None:
        for team in ["", *self.settings.teams]:
            try:
                self._legacy_scope(team)
            except SourceNotFoundError as exc:
                if not team:
                    raise
                raise SourceNotFoundError(f"{exc}; check that team {team!r} exists in {self.org} (its slug, as in the team's URL)") from None  # fmt: skip

    def _legacy_scope(self, team: str) -> None:
        stream, scope = "legacy_metrics", f"{self.org}/{team}" if team else self.org
        path = (
            f"/orgs/{self.org}/team/{team}/copilot/metrics"
            if team
            else f"/orgs/{self.org}/copilot/metrics"
        )
        state = self.ctx.cursor(self.source, scope, stream) or {}
        if state.get("next_page"):
            since, page, newest = (
                date.fromisoformat(state["since"]),
                int(state["next_page"]),
                state.get("newest"),
            )
        else:
            since, page, newest = self._start(state, LEGACY_DAYS, None), 1, state.get("day")
        per_page = min(self.settings.page_size or 100, 100)
        seen: set[str] = set()
        while True:
            what = f"GET {path} (page {page})"
            response = self.api.request("GET", path, params={"since": f"{since.isoformat()}T00:00:00Z", "page": page, "per_page": per_page},
                                        what=what, ok_statuses=(422,))  # fmt: skip
            if response.status_code == 422:
                raise SourceAccessError(
                    f"{self.source}: {what}: GitHub refused (HTTP 422): the Copilot Metrics API access policy is "
                    f"disabled for {self.org} or its enterprise; an owner can enable it in the Copilot policies"
                )
            days = require(
                response.json() if response.content else [],
                list,
                self.source,
                what,
                "a list of days",
            )
            dates = []
            rows = []
            for item in days:
                require(item, dict, self.source, what, "an object for each day")
                self.ctx.observe(self.source, stream, item, known=LEGACY_FIELDS, required=("date", "total_active_users"))  # fmt: skip
                text = require(item.get("date"), str, self.source, what, "a date on each day")
                dates.append(text)
                rows.append({"team": team, "api": "legacy_metrics", **self._legacy_row(item, what)})
            if dates and set(dates) <= seen:
                raise SourceResponseError(f"{self.source}: {what}: the page repeats days already read ({dates[0]}…); stopping instead of reading it forever")  # fmt: skip
            seen.update(dates)
            for text in dates:
                newest = text if newest is None or text > newest else newest
            has_next = 'rel="next"' in response.headers.get("link", "") and bool(days)
            cursor = (
                {"since": since.isoformat(), "next_page": page + 1, "newest": newest}
                if has_next
                else {"day": newest}
            )
            self._write_legacy(scope, stream, rows, team, cursor)
            if not has_next:
                return
            page += 1

    def _write_legacy(self, scope: str, stream: str, rows: list[dict[str, Any]], team: str, cursor: dict[str, Any]) -> None:  # fmt: skip
        now = self.ctx.now()
        for row in rows:
            row.update(source=self.source, org=self.org, synced_at=now)
        self.ctx.commit_page(self.source, scope, stream, cursor, [Replace("copilot_usage", rows, ("source", "org", "team", "day"))])  # fmt: skip

    def _legacy_row(self, item: Mapping[str, Any], what: str) -> dict[str, Any]:
        try:
            day = date.fromisoformat(str(item["date"])[:10])
            suggestions = acceptances = suggested = accepted = chats = insertions = copies = 0
            completions = item.get("copilot_ide_code_completions") or {}
            for editor in completions.get("editors") or []:
                for model in editor.get("models") or []:
                    for language in model.get("languages") or []:
                        suggestions += _int(language.get("total_code_suggestions")) or 0
                        acceptances += _int(language.get("total_code_acceptances")) or 0
                        suggested += _int(language.get("total_code_lines_suggested")) or 0
                        accepted += _int(language.get("total_code_lines_accepted")) or 0
            chat = item.get("copilot_ide_chat") or {}
            for editor in chat.get("editors") or []:
                for model in editor.get("models") or []:
                    chats += _int(model.get("total_chats")) or 0
                    insertions += _int(model.get("total_chat_insertion_events")) or 0
                    copies += _int(model.get("total_chat_copy_events")) or 0
            for model in (item.get("copilot_dotcom_chat") or {}).get("models") or []:
                chats += _int(model.get("total_chats")) or 0
            summaries: int | None = None
            for repository in (item.get("copilot_dotcom_pull_requests") or {}).get(
                "repositories"
            ) or []:
                for model in repository.get("models") or []:
                    summaries = (summaries or 0) + (
                        _int(model.get("total_pr_summaries_created")) or 0
                    )
        except (AttributeError, TypeError, ValueError) as exc:
            raise SourceResponseError(f"{self.source}: {what}: day {item.get('date')}: {exc}; the answer is not in the documented shape") from None  # fmt: skip
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(day=day, active_users=_int(item.get("total_active_users")), engaged_users=_int(item.get("total_engaged_users")),
                   loc_suggested_to_add=suggested, loc_added=accepted, code_generation_count=suggestions,
                   code_acceptance_count=acceptances + insertions + copies, interaction_count=chats,
                   pr_summaries_created=summaries)  # fmt: skip
        return row


def sync(ctx: SyncContext, settings: CopilotSettings) -> SyncResult:
    """Bring the warehouse up to date with one organisation's Copilot usage."""
    token = secret_unless_replayed(ctx, settings, "token_env", "a GitHub token with read:org (or manage_billing:copilot) of an organisation owner")  # fmt: skip
    replay: dict[Path, CopilotSimulator] = {}

    def simulator(folder: Path) -> CopilotSimulator:
        # Both clients must reach the same simulated organisation (the API and its file host).
        return replay.setdefault(folder, CopilotSimulator.from_dir(folder))

    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
    hint = f"${settings.token_env}" if settings.token_env else "the configured token"
    api = make_client(ctx, settings, base_url=settings.api_url, headers={**headers, **({"Authorization": f"Bearer {token}"} if token else {})},
                      secrets=[token] if token else [], credential_hint=hint, throttle=GitHubThrottle(), simulator=simulator)  # fmt: skip
    # Report files live on another host behind signed links: the token is never sent there.
    files = make_client(ctx, settings, base_url=settings.api_url, secrets=[token] if token else [],
                        credential_hint="the signed report link", simulator=simulator)  # fmt: skip
    reader = _Copilot(ctx, settings, api, files)
    written = ctx.rows_written
    with api, files:
        try:
            if settings.api == "legacy_metrics":
                reader.legacy_metrics()
            else:
                reader.usage_metrics()
        except SourceNotFoundError as exc:
            raise SourceNotFoundError(
                f"{exc}; the organisation must exist, have Copilot Business or Enterprise, and be visible to {hint}"
            ) from None
        finally:
            reader.result.requests = api.stats.requests + files.stats.requests
    for table, rows in ctx.rows_written.items():
        if rows - written.get(table, 0):
            reader.result.rows[table] = rows - written.get(table, 0)
    return reader.result
