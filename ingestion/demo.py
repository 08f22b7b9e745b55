"""Deterministic synthetic organisation for demos and tests: git repositories plus vendor-shaped PR and ticket exports."""

import base64
import bisect
import csv
import functools
import hashlib
import io
import json
import math
import random
import re
import shutil
import struct
import unicodedata
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import FileMode, MergeFavor, MergeFlag, ObjectType

from ingestion.sim import jira as jira_sim

__all__ = ["DemoManifest", "DemoPerson", "DemoTeam", "build_demo"]


@dataclass(frozen=True)
class DemoPerson:
    """An engineer: ``emails[0]`` is the canonical work address, the others are aliases that
    ``.mailmap`` folds into it."""

    name: str
    emails: tuple[str, ...]
    github_login: str
    jira_account_id: str
    team: str


@dataclass(frozen=True)
class DemoTeam:
    name: str
    members: tuple[str, ...]  # canonical emails
    rollout_date: date  # when the team got AI tools
    project_key: str = ""  # its Jira project
    board_id: int = 0  # its Jira scrum board
    repo: str = ""  # its repository (git name; GitHub: <github_org>/<repo>)


@dataclass(frozen=True)
class DemoManifest:
    root: Path
    organisation: str
    github_org: str
    repos: tuple[Path, ...]
    people: tuple[DemoPerson, ...]
    teams: tuple[DemoTeam, ...]
    sprint_length_days: int
    first_sprint_start: date
    start: date
    end: date
    seed: int
    github_dir: Path
    jira_dir: Path


def build_demo(
    root: Path, *, seed: int = 7, end: date = date(2026, 11, 20), months: int = 12
) -> DemoManifest:
    """Build the demo organisation under ``root`` and describe it.

    Layout: ``repos/<name>.git`` (bare repositories as a ``git clone --mirror`` of GitHub would
    hold them, ``refs/pull/<n>/head`` included), ``vendor/github/<name>/*.json`` and
    ``vendor/jira/*`` (see ``_export_github`` and ``_export_jira`` for the shapes). The same
    ``seed``, ``end`` and ``months`` (at least 3) give byte-identical files. A non-empty
    ``root`` is only replaced when it holds the marker of an earlier demo; otherwise
    ``FileExistsError``.
    """
    root = Path(root)
    _prepare_root(root)
    (root / _MARKER).write_text("SprintProof demo organisation; rebuilt on every run.\n")
    rng = random.Random(seed)
    world = _World.create(end, months, rng)
    teams = [_TeamPlan(world, spec) for spec in _TEAMS]
    for team in teams:
        _Planner(world, team, random.Random(rng.getrandbits(64))).run()
    everything = sorted((i for t in teams for i in t.issues), key=lambda i: (i.created, i.project))
    for n, issue in enumerate(everything):
        issue.id = 10_000 + n  # Jira issue ids are global and follow creation order
    for team in teams:
        _number(world, team)
        _render(team, random.Random(rng.getrandbits(64)))
    repos: list[Path] = []
    for team in teams:
        path = root / "repos" / f"{team.spec.repo}.git"
        _Executor(world, team, random.Random(rng.getrandbits(64)), path).run()
        repos.append(path)
    github_dir, jira_dir = root / "vendor" / "github", root / "vendor" / "jira"
    for team in teams:
        _export_github(world, team, github_dir / team.spec.repo)
    _export_jira(world, teams, jira_dir, random.Random(rng.getrandbits(64)))
    people = tuple(
        DemoPerson(
            p.spec.name,
            (p.email, *dict.fromkeys(e for _, e in p.spec.aliases if e != p.email)),
            p.spec.login,
            p.jira_id,
            next(t.spec.name for t in teams if t.spec.key == p.spec.team),
        )
        for p in world.people
    )
    return DemoManifest(
        root=root,
        organisation=_ORG,
        github_org=_GH,
        repos=tuple(repos),
        people=people,
        teams=tuple(
            DemoTeam(
                t.spec.name,
                tuple(p.email for p in t.members),
                t.rollout.date(),
                t.spec.key,
                t.spec.board_id,
                t.spec.repo,
            )
            for t in teams
        ),
        sprint_length_days=_SPRINT_DAYS,
        first_sprint_start=world.first_sprint,
        start=world.start,
        end=world.end,
        seed=seed,
        github_dir=github_dir,
        jira_dir=jira_dir,
    )


def _prepare_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root}: exists and is not a directory")
    if root.exists() and any(root.iterdir()):
        if not (root / _MARKER).exists():
            raise FileExistsError(
                f"{root}: not empty and not a SprintProof demo folder (no {_MARKER}); "
                "refusing to overwrite it, choose an empty or new folder"
            )
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------------------------
# The organisation: people, teams, accounts, tools

_ORG = "Acme Robotics"
_DOMAIN = "acme-robotics.com"
_GH = "acme-robotics"
_JIRA_URL = "https://acme-robotics.atlassian.net"
_JIRA_TZ = timezone(timedelta(hours=1))  # the Jira site renders times in its Lyon office zone
_MARKER = ".sprintproof-demo"
_SPRINT_DAYS = 14
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Sig = tuple[str, str, int]  # name, email, minutes east of UTC


@dataclass(frozen=True)
class _Human:
    name: str
    login: str
    github_id: int
    offset: int  # fixed UTC offset in minutes; no DST keeps the output free of tz-database drift
    team: str
    affinity: float  # multiplies the team's AI adoption level
    favourite: str  # the AI tool this person reaches for first
    aliases: tuple[tuple[str, str], ...] = ()
    alias_share: float = 0.0
    alias_until_day: int = 0  # before this day of the span, every commit uses the alias


# fmt: off
_HUMANS = (
    _Human("Sofia Lindqvist", "sofialq", 5812044, 60, "PAY", 0.9, "claude_code"),
    _Human(
        "Claude Moreau", "cmoreau", 7730215, 60, "PAY", 1.2, "claude_web",
        (("Claude M", "claude.moreau@gmail.com"),), alias_share=0.15,
    ),
    _Human(
        "Priya Raghunathan", "priya-raghu", 10293841, 330, "PAY", 1.25, "devin",
        (("Priya Raghunathan", "priya.r@acmerobotics.io"),), alias_until_day=75,
    ),
    _Human("Marcus Oyelaran", "moyelaran", 3391877, -300, "PAY", 0.65, "claude_code"),
    _Human("Lucía Fernández", "lucia-fdz", 9120456, 60, "WEB", 0.8, "copilot_cli"),
    _Human(
        "Devin Okafor", "dokafor", 8412993, -300, "WEB", 1.15, "cursor",
        (("Devin Okafor", "8412993+dokafor@users.noreply.github.com"),), alias_share=0.05,
    ),
    _Human("Aiko Tanaka", "aikot", 11873302, 540, "WEB", 1.2, "cursor"),
    _Human("Bishal Shrestha", "bishal-sh", 13554120, 345, "WEB", 0.85, "copilot_agent"),
    _Human(
        "Tomasz Wójcik", "twojcik", 4410982, 60, "MOB", 0.7, "aider",
        (("Tomek", "tomasz@wojcik.dev"), ("twojcik", "tomasz.wojcik@acme-robotics.com")),
        alias_share=0.25,
    ),
    _Human("Rahul Mehta", "rahulm-dev", 6620913, 330, "MOB", 1.2, "copilot_agent"),
    _Human("Grace Mwangi", "gmwangi", 15092377, 180, "MOB", 1.1, "claude_code"),
    _Human("Ethan Brooks", "ethanbrooks", 2287104, -480, "MOB", 1.0, "codex_cloud"),
)
# fmt: on

# Forms of mailmap line, all four of them: name+email for name+email, email only, name only.
_MAILMAP = """\
# Folds old, personal and web-UI identities into each engineer's work identity.
Claude Moreau <claude.moreau@acme-robotics.com> Claude M <claude.moreau@gmail.com>
<priya.raghunathan@acme-robotics.com> <priya.r@acmerobotics.io>
Devin Okafor <devin.okafor@acme-robotics.com> <8412993+dokafor@users.noreply.github.com>
Tomasz Wójcik <tomasz.wojcik@acme-robotics.com>
Tomasz Wójcik <tomasz.wojcik@acme-robotics.com> Tomek <tomasz@wojcik.dev>
"""


@dataclass(frozen=True)
class _TeamSpec:
    key: str
    name: str
    repo: str
    lang: str  # py | ts | kt
    merge_style: str  # squash | merge | mixed
    rollout_at: float  # share of the span after which the team gets AI tools
    ceiling: float  # AI-marked PR share the team tends towards
    speedup: float  # throughput multiplier at full adoption
    tools: tuple[tuple[str, float], ...]
    bot: str  # dependabot | renovate
    deploy_hours: tuple[float, ...]  # UTC hours of continuous deploys; empty: deploy each release
    first_version: tuple[int, int, int]
    components: tuple[str, ...]
    features: tuple[str, ...]
    techs: tuple[str, ...]
    project_id: int
    board_id: int


# fmt: off
_TEAMS = (
    _TeamSpec(
        "PAY", "Payments", "payments-api", "py", "squash", 0.35, 0.55, 1.7,
        (("claude_code", 0.34), ("claude_web", 0.12), ("codex_cli", 0.14), ("devin", 0.1),
         ("copilot_agent", 0.08), ("cursor", 0.12), ("codex_cloud", 0.1)),
        "dependabot", (10.0, 15.5), (2, 3, 0),
        ("refunds", "payouts", "ledger", "webhooks", "invoices", "disputes", "fx_rates",
         "card_vault", "settlements", "fees", "idempotency", "merchant_onboarding",
         "reconciliation", "audit_log", "subscriptions", "tax", "risk_scoring", "notifications"),
        ("partial refunds", "multi-currency payouts", "retry backoff", "SEPA mandates",
         "webhook signatures", "3DS fallback", "ledger snapshots", "fee caps", "batch exports",
         "dispute evidence upload", "currency rounding rules", "settlement reports",
         "rate limiting", "audit trail", "proration"),
        ("SQLAlchemy 2.0", "pydantic v2", "httpx", "structlog"),
        10000, 1,
    ),
    _TeamSpec(
        "WEB", "Web", "web-app", "ts", "merge", 0.49, 0.52, 1.45,
        (("cursor", 0.32), ("claude_code", 0.2), ("copilot_agent", 0.14), ("copilot_cli", 0.1),
         ("claude_web", 0.08), ("codex_cloud", 0.08), ("cursor_agent", 0.08)),
        "dependabot", (16.0,), (1, 8, 0),
        ("checkout", "dashboard", "login_form", "fleet_map", "settings_page", "notifications",
         "order_history", "billing_page", "search_bar", "onboarding_wizard", "date_picker",
         "telemetry_chart", "user_profile", "sidebar_nav", "theme_toggle", "robot_details",
         "mission_planner", "alerts_feed"),
        ("dark mode", "keyboard shortcuts", "CSV export", "pagination", "live updates",
         "filter chips", "empty states", "skeleton loaders", "inline editing", "bulk actions",
         "map clustering", "timezone picker", "accessibility labels", "error boundaries"),
        ("React Query", "Zustand", "Vite 6", "Zod"),
        10001, 2,
    ),
    _TeamSpec(
        "MOB", "Mobile", "mobile-app", "kt", "mixed", 0.63, 0.42, 1.3,
        (("copilot_agent", 0.2), ("aider", 0.18), ("copilot_cli", 0.14), ("claude_code", 0.2),
         ("codex_cli", 0.1), ("codex_cloud", 0.12), ("devin", 0.06)),
        "renovate", (), (3, 1, 0),
        ("pairing_flow", "robot_status", "push_notifications", "offline_sync", "ble_scanner",
         "map_view", "firmware_update", "camera_feed", "login_screen", "settings_screen",
         "battery_widget", "crash_reporting", "deep_links", "onboarding", "voice_commands",
         "mission_queue", "diagnostics_log"),
        ("background sync", "biometric login", "haptic feedback", "offline queue",
         "BLE reconnect", "push deep links", "map caching", "firmware progress",
         "crash breadcrumbs", "battery alerts", "voice shortcuts", "tablet layout",
         "localisation", "pull to refresh"),
        ("Jetpack Compose", "Kotlin Flow", "Ktor", "Room"),
        10002, 3,
    ),
)
# fmt: on


@dataclass(frozen=True)
class _Account:
    """A GitHub account; ``name``/``email`` are the git identity it commits with."""

    login: str
    id: int
    type: str
    name: str = ""
    email: str = ""
    app: str = ""  # the GitHub App slug behind a bot, when it differs from the login

    def json(self) -> dict[str, Any]:
        if self.type == "User":
            url = f"https://github.com/{self.login}"
        else:
            url = f"https://github.com/apps/{self.app or self.login.removesuffix('[bot]')}"
        return {
            "login": self.login,
            "id": self.id,
            "type": self.type,
            "site_admin": False,
            "html_url": url,
        }


def _noreply(login: str, ident: int) -> str:
    return f"{ident}+{login}@users.noreply.github.com"


# fmt: off
_COPILOT = _Account(
    "Copilot", 198982749, "Bot", "copilot-swe-agent[bot]", _noreply("Copilot", 198982749),
    "copilot-swe-agent",
)
_DEVIN = _Account(
    "devin-ai-integration[bot]", 158243242, "Bot", "Devin AI",
    _noreply("devin-ai-integration[bot]", 158243242),
)
_DEPENDABOT = _Account(
    "dependabot[bot]", 49699333, "Bot", "dependabot[bot]", _noreply("dependabot[bot]", 49699333)
)
_RENOVATE = _Account(
    "renovate[bot]", 29139614, "Bot", "renovate[bot]", _noreply("renovate[bot]", 29139614)
)
_ACTIONS = _Account(
    "github-actions[bot]", 41898282, "Bot", "github-actions[bot]",
    _noreply("github-actions[bot]", 41898282),
)
_CODERABBIT = _Account("coderabbitai[bot]", 136622811, "Bot")
_COPILOT_REVIEWER = _Account("copilot-pull-request-reviewer[bot]", 175728472, "Bot")
_CODEX_REVIEWER = _Account("chatgpt-codex-connector[bot]", 199175422, "Bot")
_SUPPORT = _Account("acme-support", 90412233, "User")
# fmt: on
_GITHUB_SIG: Sig = ("GitHub", "noreply@github.com", 0)

_AGENTS = frozenset({"claude_web", "copilot_agent", "devin", "codex_cloud", "cursor_agent"})
_NOTE_TOOLS = {
    "claude_code": ("claude", "claude-opus-4-6"),
    "claude_web": ("claude", "claude-opus-4-6"),
    "cursor": ("cursor", "claude-sonnet-4-6"),
    "codex_cli": ("codex", "gpt-5.4-codex"),
    "copilot_cli": ("copilot", "gpt-5.4"),
}
_GIT_AI_USERS = frozenset({"dokafor", "aikot", "lucia-fdz"})
_NO_TRAILER_USERS = frozenset({"aikot"})  # turned Cursor's commit attribution off (F3)
_DCO_USERS = frozenset({"moyelaran"})


def _utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def _claude_model(t: datetime, rng: random.Random) -> str:
    if rng.random() < 0.05:
        return "Claude"
    if t < _utc(2026, 2, 5):
        return rng.choice(("Claude Opus 4.5", "Claude Sonnet 4.5"))
    if t < _utc(2026, 8, 1):
        return rng.choice(("Claude Opus 4.6",) * 6 + ("Claude Sonnet 4.6",))
    return rng.choice(("Claude Opus 4.6",) * 3 + ("Claude Opus 4.8 (1M context)",) * 2)


def _github_noreply(person: "_Person") -> str:
    return _noreply(person.spec.login, person.spec.github_id)


def _tool_trailers(tool: str, t: datetime, rng: random.Random) -> list[str]:
    """Exact trailer lines of an assisted tool (ai-signals.md §1.1)."""
    if tool == "claude_code":
        return [f"Co-Authored-By: {_claude_model(t, rng)} <noreply@anthropic.com>"]
    if tool == "cursor":
        if t >= _utc(2026, 5, 1) and rng.random() < 0.75:
            return ["Co-authored-by: Cursor <cursoragent@cursor.com>"]
        return ["Made-with: Cursor"]
    if tool == "aider":
        model = rng.choice(("gpt-5.4", "gpt-5.4", "claude-sonnet-4-6"))
        return [f"Co-authored-by: aider ({model}) <aider@aider.chat>"]
    if tool == "codex_cli":
        return ["Co-authored-by: Codex <noreply@openai.com>"]
    if tool == "copilot_cli":
        return ["Co-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>"]
    return []


# --------------------------------------------------------------------------------------------
# Calendar and people


@dataclass
class _Person:
    spec: _Human
    email: str
    tz: timezone
    workdays: list[date]
    off: frozenset[date]
    account: _Account
    jira_id: str

    @property
    def sig(self) -> Sig:
        return (self.spec.name, self.email, self.spec.offset)

    def jira(self) -> dict[str, Any]:
        return {
            "accountId": self.jira_id,
            "displayName": self.spec.name,
            "active": True,
            "accountType": "atlassian",
        }

    def works(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.off

    def local(self, day: date, minute: int, second: int = 0) -> datetime:
        moment = datetime.combine(day, time(), tzinfo=self.tz) + timedelta(
            minutes=minute, seconds=second
        )
        return moment.astimezone(UTC)

    def at(self, pos: float, rng: random.Random) -> datetime:
        """Wall time of a position on this person's working calendar (day index + fraction)."""
        index = min(max(int(pos), 0), len(self.workdays) - 1)
        fraction = min(max(pos - int(pos), 0.0), 0.97)
        minute = 540 + int(fraction * 540) + rng.randint(0, 12)
        return self.local(self.workdays[index], minute, rng.randint(0, 59))

    def pos_of(self, t: datetime) -> float:
        local = t.astimezone(self.tz)
        index = bisect.bisect_left(self.workdays, local.date())
        if index < len(self.workdays) and self.workdays[index] == local.date():
            minute = local.hour * 60 + local.minute
            return index + min(max((minute - 540) / 540, 0.0), 0.95)
        return float(index)

    def after(self, t: datetime, rng: random.Random) -> datetime:
        """The first moment at or after ``t`` when this person is at work."""
        local = t.astimezone(self.tz)
        day, minute = local.date(), local.hour * 60 + local.minute
        if self.works(day) and 540 <= minute < 1075:
            return t
        if not (self.works(day) and minute < 540):
            day += timedelta(days=1)
            while not self.works(day):
                day += timedelta(days=1)
        return self.local(day, 540 + rng.randint(0, 40), rng.randint(0, 59))

    def ident(self, t: datetime, start: date, rng: random.Random) -> Sig:
        """The git identity used for a commit: sometimes an old or personal alias."""
        spec = self.spec
        if spec.aliases and (
            (t.date() - start).days < spec.alias_until_day or rng.random() < spec.alias_share
        ):
            name, email = rng.choice(spec.aliases)
            return (name, email, spec.offset)
        return self.sig


def _email(name: str) -> str:
    return ".".join(_ascii(name).lower().split()) + "@" + _DOMAIN


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass
class _World:
    start: date
    end: date
    first_sprint: date
    cut: datetime  # the snapshot moment: nothing after it exists
    people: list[_Person]

    @staticmethod
    def create(end: date, months: int, rng: random.Random) -> "_World":
        if months < 3:
            raise ValueError(f"months={months}: the demo needs at least 3 months of history")
        start = _months_before(end, months)
        first_sprint = start - timedelta(days=start.weekday())
        cut = datetime.combine(end, time(23, 59, 59), tzinfo=UTC)
        last_day = end + timedelta(days=45)
        holidays = {
            d
            for d in _days(first_sprint, last_day)
            if (d.month, d.day) >= (12, 24) or d <= date(d.year, 1, 1)
        }
        people: list[_Person] = []
        span = (end - start).days
        for spec in _HUMANS:
            off = set(holidays)
            for length in (5, 9):
                first = start + timedelta(days=rng.randint(30, max(31, span - 40)))
                off.update(first + timedelta(days=i) for i in range(length + length // 5 * 2))
            email = _email(spec.name)
            tz = timezone(timedelta(minutes=spec.offset))
            workdays = [
                d for d in _days(first_sprint, last_day) if d.weekday() < 5 and d not in off
            ]
            jira_id = "712020:" + str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{spec.login}.{_DOMAIN}"))
            account = _Account(spec.login, spec.github_id, "User", spec.name, email)
            people.append(_Person(spec, email, tz, workdays, frozenset(off), account, jira_id))
        return _World(start, end, first_sprint, cut, people)

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=UTC)


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _days(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


# --------------------------------------------------------------------------------------------
# Plans: issues, pull requests, direct pushes, releases, deployments


@dataclass
class _Sprint:
    id: int
    index: int
    name: str
    start: datetime
    end: datetime
    complete: datetime
    state: str = "closed"

    def json(self, board: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "boardId": board,
            "goal": "",
            "startDate": _jira_utc(self.start),
            "endDate": _jira_utc(self.end),
        }
        if self.state == "closed":
            out["completeDate"] = _jira_utc(self.complete)
        return out


@dataclass
class _Issue:
    project: str
    kind: str  # Story | Task | Bug | Epic
    summary: str
    created: datetime
    reporter: _Person
    assignee: _Person | None = None
    assigned_at_creation: bool = False
    points: int | None = None
    points_at_creation: bool = True
    priority: str = "Medium"
    labels: list[str] = field(default_factory=list)
    epic: "_Issue | None" = None
    caused_by: "_Issue | None" = None
    started: datetime | None = None
    in_review: datetime | None = None
    done: datetime | None = None
    abandoned: datetime | None = None
    done_by_automation: bool = False
    ai: bool = False
    component: str = ""
    key: str = ""
    id: int = 0


@dataclass
class _Commit:
    when: datetime
    author: Sig
    committer: Sig
    kind: str  # code | empty | fix | deps | lockregen | regen | vendor | delete | hotfix
    size: int
    tool: str | None = None  # the assisted tool whose trailer this commit carries
    footer: bool = False
    subject: str = ""
    body: str = ""
    trailers: list[str] = field(default_factory=list)
    note: bool = False
    message: str = ""
    sha: str = ""
    parents: tuple[str, ...] = ()
    tree: str = ""


@dataclass
class _Review:
    when: datetime
    state: str
    user: _Account
    body: str = ""


@dataclass
class _GhIssue:
    title: str
    body: str
    user: _Account
    labels: list[str]
    created: datetime
    assignees: list[_Account] = field(default_factory=list)
    closed: datetime | None = None
    reason: str | None = None
    number: int = 0


@dataclass
class _Pull:
    kind: str  # feature | task | chore | bug | hotfix | deps | special kinds
    human: _Person | None  # the person who did or asked for the work
    author: _Account  # the PR author on GitHub
    tool: str | None
    issue: _Issue | None
    component: str
    stem: str
    created: datetime
    commits: list[_Commit] = field(default_factory=list)
    reviews: list[_Review] = field(default_factory=list)
    reviewers: list[_Person] = field(default_factory=list)
    merged: datetime | None = None
    closed: datetime | None = None
    merger: _Person | None = None
    method: str = "squash"
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    gh_issue: _GhIssue | None = None
    session: str = ""
    conversation: str = ""
    dependency: str = ""
    squash_as_bot: bool = False
    number: int = 0
    title: str = ""
    branch: str = ""
    body: str = ""
    head_sha: str = ""
    base_sha: str = ""
    merge_sha: str = ""


@dataclass
class _Direct:
    when: datetime
    kind: str  # webedit | hotfix | revert
    author: Sig
    committer: Sig
    subject: str = ""
    target: _Pull | None = None
    sha: str = ""


@dataclass
class _Release:
    when: datetime
    patch: bool = False
    version: str = ""
    sha: str = ""
    published: datetime | None = None


@dataclass
class _Deploy:
    when: datetime
    ok: bool
    ref: str = "main"
    release: _Release | None = None
    sha: str = ""


class _TeamPlan:
    def __init__(self, world: _World, spec: _TeamSpec) -> None:
        self.spec = spec
        self.members = [p for p in world.people if p.spec.team == spec.key]
        self.lead = self.members[0]
        self.issues: list[_Issue] = []
        self.epics: list[_Issue] = []
        self.pulls: list[_Pull] = []
        self.directs: list[_Direct] = []
        self.releases: list[_Release] = []
        self.deploys: list[_Deploy] = []
        self.gh_issues: list[_GhIssue] = []
        self.sprints: list[_Sprint] = []
        span = (world.end - world.start).days
        days = span * spec.rollout_at
        index = math.ceil(((world.start - world.first_sprint).days + days) / _SPRINT_DAYS)
        rollout_day = world.first_sprint + timedelta(days=index * _SPRINT_DAYS)
        self.rollout = datetime.combine(rollout_day, time(8), tzinfo=UTC)

    def level(self, t: datetime) -> float:
        """Adoption at ``t``: the chance that an average engineer's PR is AI-made."""
        days = (t - self.rollout).total_seconds() / 86400
        return 0.0 if days < 0 else self.spec.ceiling * (1 - math.exp(-days / 45))

    def speed(self, t: datetime) -> float:
        return 1 + (self.spec.speedup - 1) * self.level(t) / self.spec.ceiling


_POINTS = ((1, 0.15), (2, 0.25), (3, 0.3), (5, 0.2), (8, 0.1))
_DAYS_PER_POINTS = {1: 0.7, 2: 1.3, 3: 2.0, 5: 3.4, 8: 5.5}
# fmt: off
_ASPECTS = (
    "error handling", "state management", "validation", "logging", "caching", "retry logic",
    "configuration", "serialization", "data loading", "permissions",
)
# fmt: on
_SYMPTOMS = (
    "duplicate {t} on retry",
    "crash when {t} is empty",
    "wrong {t} after timezone change",
    "timeout on large {t}",
    "stale {t} after logout",
    "rounding error in {t}",
    "race condition in {t} updates",
    "missing {t} for new users",
    "memory leak in {t} polling",
    "incorrect {t} sorting",
)


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]


def _phrase(component: str) -> str:
    return component.replace("_", " ")


def _lognormal_minutes(rng: random.Random, median: float, sigma: float = 0.8) -> timedelta:
    return timedelta(minutes=median * rng.lognormvariate(0, sigma))


class _Planner:
    """Decides what happens when: the whole year of one team, before any git object exists."""

    def __init__(self, world: _World, team: _TeamPlan, rng: random.Random) -> None:
        self.world = world
        self.team = team
        self.spec = team.spec
        self.rng = rng
        self.horizon = world.cut + timedelta(days=30)
        self.experiment_done = False

    def run(self) -> None:
        self.plan_sprints()
        self.plan_epics()
        for person in self.team.members:
            self.plan_stream(person)
        self.plan_special_chores()
        self.plan_bugs()
        self.plan_backlog()
        self.plan_bot_updates()
        self.plan_directs()
        self.plan_releases()
        self.plan_deploys()
        self.plan_feature_requests()
        self.team.issues.sort(key=lambda i: i.created)

    # -- calendar -----------------------------------------------------------------------------

    def plan_sprints(self) -> None:
        world, rng = self.world, self.rng
        base = datetime.combine(world.first_sprint, time(8), tzinfo=UTC)
        index = 0
        while True:
            start = base + timedelta(days=index * _SPRINT_DAYS)
            if start > world.cut + timedelta(days=_SPRINT_DAYS):
                break
            end = start + timedelta(days=11, hours=9)
            complete = start + timedelta(days=_SPRINT_DAYS, minutes=-rng.randint(10, 50))
            state = (
                "closed" if complete <= world.cut else "active" if start <= world.cut else "future"
            )
            sprint_id = self.spec.board_id * 100 + index + 1
            name = f"{self.spec.key} Sprint {index + 1}"
            self.team.sprints.append(_Sprint(sprint_id, index, name, start, end, complete, state))
            index += 1

    def plan_epics(self) -> None:
        rng, world = self.rng, self.world
        t = world.start_dt - timedelta(days=20)
        components = list(self.spec.components)
        rng.shuffle(components)
        for component in components[:7]:
            if t > world.cut:
                break
            created = self.team.lead.after(t, rng)
            summary = f"{_phrase(component).capitalize()}: {rng.choice(self.spec.features)}"
            epic = _Issue(
                self.spec.key, "Epic", summary, created, self.team.lead, component=component
            )
            epic.started = created + timedelta(days=rng.randint(5, 15))
            finish = created + timedelta(days=rng.randint(50, 80))
            epic.done = finish if finish < world.cut - timedelta(days=10) else None
            self.team.epics.append(epic)
            self.team.issues.append(epic)
            t += timedelta(days=rng.randint(45, 60))

    def epic_for(self, t: datetime) -> "_Issue | None":
        live = [e for e in self.team.epics if e.created <= t and (e.done is None or e.done > t)]
        return self.rng.choice(live) if live and self.rng.random() < 0.7 else None

    # -- work streams --------------------------------------------------------------------------

    def plan_stream(self, person: _Person) -> None:
        """One engineer's year: tickets back to back, each delivered by one to three PRs."""
        rng, world = self.rng, self.world
        pos = person.pos_of(world.start_dt + timedelta(days=1)) + rng.random()
        while pos < len(person.workdays) - 1:
            t0 = person.at(pos, rng)
            if t0 > self.horizon:
                break
            speed = self.team.speed(t0)
            roll = rng.random()
            kind = "Story" if roll < 0.52 else "Task" if roll < 0.84 else "chore"
            points = _weighted(rng, _POINTS) if kind != "chore" else 1
            duration = _DAYS_PER_POINTS[points] * rng.lognormvariate(0, 0.35) / speed
            component = rng.choice(self.spec.components)
            stem = self.stem(kind, component)
            issue = None
            if kind != "chore":
                created = max(
                    t0 - _lognormal_minutes(rng, 8 * 1440, 0.9),
                    world.start_dt - timedelta(days=45),
                )
                issue = _Issue(
                    self.spec.key,
                    kind,
                    stem,
                    created=self.team.lead.after(created, rng),
                    reporter=rng.choice(self.team.members),
                    assignee=person,
                    assigned_at_creation=rng.random() < 0.4,
                    points=points,
                    points_at_creation=rng.random() < 0.6,
                    priority=_weighted(rng, (("Medium", 0.6), ("High", 0.2), ("Low", 0.2))),
                    labels=[component.replace("_", "-")],
                    epic=self.epic_for(created),
                    component=component,
                )
                self.team.issues.append(issue)
            count = (
                1
                if points <= 3
                else rng.choice((1, 2, 2, 3))
                if points == 8
                else rng.choice((1, 1, 2))
            )
            step = duration / count
            pulls = []
            for j in range(count):
                size = int(min(1400, max(2, 40 * rng.lognormvariate(0, 0.9) * (1 + points / 6))))
                kind_pr = "feature" if kind == "Story" else "task" if kind == "Task" else "chore"
                pulls.append(
                    self.plan_pull(
                        person,
                        issue,
                        kind_pr,
                        component,
                        stem,
                        pos + j * step,
                        pos + (j + 1) * step,
                        size,
                    )
                )
            if issue is not None:
                self.attach(issue, pulls)
            pos += duration + rng.uniform(0.05, 0.35)

    def stem(self, kind: str, component: str) -> str:
        rng, phrase = self.rng, _phrase(component)
        feature = rng.choice(self.spec.features)
        if kind == "Story":
            template = rng.choice(
                (
                    "Add {f} to {c}",
                    "Support {f} in {c}",
                    "Implement {f} for {c}",
                    "Show {f} in {c}",
                    "Allow {f} in {c}",
                )
            )
        elif kind == "Task":
            template = rng.choice(
                (
                    "Refactor {c} {a}",
                    "Add metrics for {c}",
                    "Improve {c} test coverage",
                    "Extract {a} from {c}",
                    "Speed up {c} {a}",
                    "Migrate {c} to {t}",
                )
            )
        elif kind == "Bug":
            template = "{C}: " + rng.choice(_SYMPTOMS).replace("{t}", rng.choice(("{c}", "{f}")))
        else:
            template = rng.choice(
                (
                    "Update {c} README",
                    "Tidy up {c} {a}",
                    "Fix flaky {c} test",
                    "Bump CI cache key",
                    "Rename {c} helpers",
                    "Remove dead code in {c}",
                )
            )
        return template.format(
            f=feature,
            c=phrase,
            C=phrase.capitalize(),
            a=rng.choice(_ASPECTS),
            t=rng.choice(self.spec.techs),
        )

    def pick_tool(self, person: _Person, t: datetime) -> str | None:
        rng = self.rng
        if (
            not self.experiment_done
            and person.spec.login == "moyelaran"
            and t >= self.team.rollout - timedelta(days=63)
            and t < self.team.rollout
        ):
            self.experiment_done = True  # one engineer tried Claude Code before the rollout
            return "claude_code"
        if rng.random() >= min(0.92, self.team.level(t) * person.spec.affinity):
            return None
        if rng.random() < 0.5:
            return person.spec.favourite
        return _weighted(rng, self.spec.tools)

    def plan_pull(
        self,
        person: _Person,
        issue: _Issue | None,
        kind: str,
        component: str,
        stem: str,
        p0: float,
        p1: float,
        size: int,
        *,
        tool: str | None = None,
        allow_ai: bool = True,
        outcome: str | None = None,
    ) -> _Pull:
        rng = self.rng
        trigger = person.at(p0, rng)
        if allow_ai and tool is None:
            tool = self.pick_tool(person, trigger)
        if tool is not None:
            size = int(size * 1.3)
        author = person.account
        if tool == "copilot_agent":
            author = _COPILOT
        elif tool == "devin":
            author = _DEVIN
        pull = _Pull(kind, person, author, tool, issue, component, stem, trigger)
        pull.method = self.method()
        pull.conversation = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if tool in _AGENTS:
            ready = self.agent_commits(pull, person, trigger, size)
        else:
            ready = self.human_commits(pull, person, p0, p1, size, tool)
        if issue is not None and tool is not None:
            issue.ai = True
        self.review_flow(pull, person, ready, outcome)
        if kind in ("feature", "bug"):
            pull.labels.append("enhancement" if kind == "feature" else "bug")
        if self.spec.key == "PAY" and tool == "claude_code" and rng.random() < 0.4:
            pull.labels.append("claude-code-assisted")
        self.team.pulls.append(pull)
        return pull

    def method(self) -> str:
        style = self.spec.merge_style
        return style if style != "mixed" else ("squash" if self.rng.random() < 0.6 else "merge")

    def human_commits(
        self, pull: _Pull, person: _Person, p0: float, p1: float, size: int, tool: str | None
    ) -> datetime:
        rng, world = self.rng, self.world
        count = _weighted(rng, ((1, 0.45), (2, 0.3), (3, 0.17), (4, 0.08)))
        weights = [rng.random() + 0.2 for _ in range(count)]
        last = person.at(p0, rng) - timedelta(minutes=30)
        for i in range(count):
            when = max(
                person.at(p0 + (p1 - p0) * (i + 0.6) / count, rng), last + timedelta(minutes=4)
            )
            last = when
            share = max(1, int(size * weights[i] / sum(weights)))
            ident = person.ident(when, world.start, rng)
            commit = _Commit(when, ident, ident, "code", share)
            if tool is not None and person.spec.login not in _NO_TRAILER_USERS:
                commit.tool = tool if rng.random() < 0.85 or i == count - 1 else None
                commit.footer = tool == "claude_code" and rng.random() < 0.35
            commit.note = self.wants_note(person, tool, when)
            pull.commits.append(commit)
        if tool is None and person.spec.login == "lucia-fdz":
            for commit in pull.commits:
                # VS Code's git.addAICoAuthor default added Copilot to unrelated commits (F5).
                if _utc(2026, 4, 10) <= commit.when < _utc(2026, 5, 15) and rng.random() < 0.4:
                    commit.trailers.append("Co-authored-by: Copilot <copilot@github.com>")
        return max(
            person.after(last + timedelta(minutes=rng.randint(3, 40)), rng),
            last + timedelta(minutes=2),
        )

    def wants_note(self, person: _Person, tool: str | None, when: datetime) -> bool:
        return (
            self.spec.key == "WEB"
            and tool in _NOTE_TOOLS
            and person.spec.login in _GIT_AI_USERS
            and when >= self.team.rollout + timedelta(days=21)
            and self.rng.random() < 0.85
        )

    def agent_commits(self, pull: _Pull, person: _Person, trigger: datetime, size: int) -> datetime:
        """Commits pushed by a cloud agent minutes after a person hands it a task."""
        rng, tool = self.rng, pull.tool
        count = rng.choice((1, 1, 2, 2, 3))
        t = trigger + timedelta(minutes=rng.randint(1, 3))
        if tool == "copilot_agent":
            sig = self.agent_sig(pull, person, t)
            pull.commits.append(_Commit(t, sig, sig, "empty", 0))
            pull.created = t + timedelta(seconds=40)
            pull.draft = True
            pull.gh_issue = _GhIssue(
                pull.stem,
                f"{pull.stem}.\n\nAcceptance: covered by tests.",
                person.account,
                [
                    "enhancement"
                    if pull.kind == "feature"
                    else "bug"
                    if pull.kind == "bug"
                    else "chore"
                ],
                trigger - _lognormal_minutes(rng, 30),
                [_COPILOT, person.account],
            )
            self.team.gh_issues.append(pull.gh_issue)
        for _i in range(count):
            t += timedelta(minutes=rng.randint(6, 28))
            share = max(1, size // count)
            sig = self.agent_sig(pull, person, t)
            commit = _Commit(t, sig, sig, "code", share, note=self.wants_note(person, tool, t))
            pull.commits.append(commit)
        if tool == "copilot_agent":
            return t + timedelta(minutes=2)
        if tool in ("devin", "cursor_agent", "codex_cloud"):
            pull.created = t + timedelta(minutes=rng.randint(1, 4))
            return pull.created
        pull.created = max(
            person.after(t + _lognormal_minutes(rng, 25), rng), t + timedelta(minutes=2)
        )
        return pull.created

    def agent_sig(self, pull: _Pull, person: _Person, t: datetime) -> Sig:
        tool = pull.tool
        if tool == "copilot_agent":
            return (_COPILOT.name, _COPILOT.email, 0)
        if tool == "devin":
            return (_DEVIN.name, _DEVIN.email, 0)
        if tool == "claude_web":
            return ("Claude", "noreply@anthropic.com", 0)
        if tool == "cursor_agent":
            return ("Cursor Agent", "cursoragent@cursor.com", 0)
        return person.ident(t, self.world.start, self.rng)  # Codex cloud commits as the person

    def review_flow(
        self, pull: _Pull, person: _Person, ready: datetime, outcome: str | None
    ) -> None:
        """Reviews, a fix-up commit after requested changes, then merge, close or nothing."""
        rng = self.rng
        if pull.tool not in _AGENTS:
            pull.created = ready
        mates = [m for m in self.team.members if m is not person]
        pull.reviewers = rng.sample(mates, 2 if rng.random() < 0.3 else 1)
        for bot, since, share in self.bot_reviewers():
            if pull.created >= since and rng.random() < share:
                body = (
                    f"**Actionable comments posted: {rng.randint(0, 4)}**"
                    if bot is _CODERABBIT
                    else ""
                )
                pull.reviews.append(
                    _Review(ready + timedelta(minutes=rng.randint(2, 11)), "COMMENTED", bot, body)
                )
        if outcome is None:
            roll = rng.random()
            closed_share = 0.08 if pull.tool in _AGENTS else 0.03
            outcome = (
                "closed"
                if roll < closed_share
                else "stale"
                if roll < closed_share + 0.012
                else "merged"
            )
        reviewer = pull.reviewers[0]
        first = reviewer.after(ready + _lognormal_minutes(rng, 150, 1.0), rng)
        if outcome == "stale":
            pull.draft = pull.draft or rng.random() < 0.5
            if rng.random() < 0.5:
                pull.reviews.append(_Review(first, "COMMENTED", reviewer.account))
            return
        if outcome == "closed":
            pull.reviews.append(
                _Review(first, rng.choice(("COMMENTED", "CHANGES_REQUESTED")), reviewer.account)
            )
            pull.closed = person.after(first + timedelta(days=rng.uniform(1, 9)), rng)
            return
        pull.draft = False
        agent = pull.tool in _AGENTS
        changes = 0.28 if agent else 0.14 if pull.tool else 0.17
        approval = first
        if rng.random() < changes:
            pull.reviews.append(_Review(first, "CHANGES_REQUESTED", reviewer.account))
            if agent and pull.tool != "codex_cloud":
                when = first + timedelta(minutes=rng.randint(6, 30))
                sig = self.agent_sig(pull, person, when)
            else:
                when = person.after(first + _lognormal_minutes(rng, 90), rng)
                sig = person.ident(when, self.world.start, rng)
            if len(pull.commits) < 4:  # with four already, the fix is amended in
                fix = _Commit(when, sig, sig, "fix", max(1, int(6 * rng.lognormvariate(0, 0.7))))
                if pull.tool and not agent and rng.random() < 0.5:
                    fix.tool = pull.tool
                fix.note = self.wants_note(person, pull.tool, when)
                pull.commits.append(fix)
            approval = reviewer.after(when + _lognormal_minutes(rng, 70), rng)
        elif rng.random() < 0.3:
            pull.reviews.append(_Review(first, "COMMENTED", reviewer.account))
            approval = first + timedelta(minutes=rng.randint(10, 90))
        pull.reviews.append(_Review(approval, "APPROVED", reviewer.account))
        if len(pull.reviewers) > 1:
            other = pull.reviewers[1]
            pull.reviews.append(
                _Review(
                    other.after(ready + _lognormal_minutes(rng, 200), rng),
                    rng.choice(("APPROVED", "COMMENTED")),
                    other.account,
                )
            )
        pull.merger = person if rng.random() < 0.7 else reviewer
        pull.merged = pull.merger.after(approval + _lognormal_minutes(rng, 25, 1.0), rng)
        pull.merged = max(pull.merged, max(r.when for r in pull.reviews) + timedelta(minutes=1))
        pull.squash_as_bot = pull.tool == "copilot_agent" and rng.random() < 0.7

    def bot_reviewers(self) -> list[tuple[_Account, datetime, float]]:
        start = self.world.start_dt
        if self.spec.key == "PAY":
            return [(_COPILOT_REVIEWER, self.team.rollout, 0.7)]
        if self.spec.key == "WEB":
            return [(_CODERABBIT, start + timedelta(days=90), 0.95)]
        return [(_CODEX_REVIEWER, self.team.rollout, 0.5)]

    def attach(self, issue: _Issue, pulls: list[_Pull]) -> None:
        """Ticket status follows its PRs, as the Jira GitHub integration moves it."""
        rng = self.rng
        issue.started = min(p.commits[0].when for p in pulls) - timedelta(
            minutes=rng.randint(5, 90)
        )
        issue.created = min(issue.created, issue.started - timedelta(minutes=30))
        issue.in_review = max(p.created for p in pulls)
        last = max(pulls, key=lambda p: p.created)  # a closed earlier PR was superseded by it
        if last.merged:
            merged = max(p.merged for p in pulls if p.merged)
            issue.done = merged + timedelta(minutes=rng.randint(1, 10))
            issue.done_by_automation = rng.random() < 0.5
        elif last.closed:
            issue.abandoned = last.closed + timedelta(days=rng.uniform(0.5, 3))

    # -- other kinds of work ------------------------------------------------------------------

    def plan_special_chores(self) -> None:
        rng, world = self.rng, self.world
        lang = self.spec.lang
        kinds = {
            "py": (("vendor", 1), ("regen", 3), ("lockregen", 1), ("delete", 2), ("migrate", 1)),
            "ts": (("vendor", 1), ("regen", 2), ("lockregen", 2), ("delete", 2), ("migrate", 1)),
            "kt": (("lockregen", 1), ("delete", 2), ("migrate", 2)),
        }[lang]
        span = (world.end - world.start).days
        for kind, count in kinds:
            for _ in range(count):
                person = rng.choice(self.team.members)
                when = world.start_dt + timedelta(days=rng.uniform(20, span - 10))
                pos = person.pos_of(when)
                component = rng.choice(self.spec.components)
                stem = {
                    "vendor": "Vendor pdfgen 0.9.2" if lang == "py" else "Vendor chart-lite 3.1.0",
                    "regen": "Regenerate OpenAPI client"
                    if lang == "py"
                    else "Regenerate GraphQL types",
                    "lockregen": {
                        "py": "Refresh requirements lock",
                        "ts": "Regenerate package-lock.json",
                        "kt": "Update Podfile.lock",
                    }[lang],
                    "delete": f"Remove legacy {_phrase(component)} module",
                    "migrate": f"Migrate {_phrase(component)} to {rng.choice(self.spec.techs)}",
                }[kind]
                size = 1500 if kind == "migrate" else 1
                issue = None
                if kind == "migrate":
                    issue = _Issue(
                        self.spec.key,
                        "Task",
                        stem,
                        created=when - timedelta(days=12),
                        reporter=self.team.lead,
                        assignee=person,
                        assigned_at_creation=True,
                        points=8,
                        labels=["tech-debt"],
                        component=component,
                    )
                    self.team.issues.append(issue)
                pull = self.plan_pull(
                    person,
                    issue,
                    kind,
                    component,
                    stem,
                    pos,
                    pos + 0.6,
                    size,
                    allow_ai=False,
                    outcome="merged",
                )
                for commit in pull.commits[1:]:
                    commit.kind = "code"
                pull.commits[0].kind = "code" if kind == "migrate" else kind
                if issue is not None:
                    self.attach(issue, [pull])

    def plan_bugs(self) -> None:
        """Bugs arrive at a rate that rises a little with AI adoption; some point at their cause."""
        rng, world = self.rng, self.world
        done = sorted(
            (i for i in self.team.issues if i.done and i.kind != "Epic"),
            key=lambda i: i.done or world.cut,
        )
        done_times = [i.done for i in done if i.done]
        day = world.start + timedelta(days=14)
        while day <= world.end + timedelta(days=20):
            t = datetime.combine(day, time(rng.randint(7, 16), rng.randint(0, 59)), tzinfo=UTC)
            rate = 0.3 * (1 + 0.35 * self.team.level(t) / self.spec.ceiling)
            if day.weekday() < 5 and rng.random() < rate:
                self.plan_bug(t, done, done_times)
            day += timedelta(days=1)

    def plan_bug(self, t: datetime, done: list[_Issue], done_times: list[datetime]) -> None:
        rng = self.rng
        component = rng.choice(self.spec.components)
        summary = self.stem("Bug", component)
        reporter = rng.choice(self.team.members)
        assignee = rng.choice(self.team.members)
        priority = _weighted(
            rng, (("Highest", 0.05), ("High", 0.3), ("Medium", 0.55), ("Low", 0.1))
        )
        points = None if rng.random() < 0.3 else _weighted(rng, ((1, 0.4), (2, 0.4), (3, 0.2)))
        bug = _Issue(
            self.spec.key,
            "Bug",
            summary,
            created=reporter.after(t, rng),
            reporter=reporter,
            assignee=assignee,
            assigned_at_creation=rng.random() < 0.5,
            points=points,
            priority=priority,
            labels=[component.replace("_", "-")],
            component=component,
        )
        lo = bisect.bisect_left(done_times, t - timedelta(days=45))
        hi = bisect.bisect_left(done_times, t - timedelta(days=2))
        if hi > lo and rng.random() < 0.45:
            candidates = done[lo:hi]
            bug.caused_by = rng.choices(candidates, [2.0 if c.ai else 1.0 for c in candidates])[0]
        self.team.issues.append(bug)
        if rng.random() < 0.35:
            bug.labels.append("customer-reported")
            gh = _GhIssue(
                summary,
                "Reported by a customer via support.",
                _SUPPORT,
                ["bug"],
                bug.created - timedelta(minutes=rng.randint(5, 180)),
            )
            self.team.gh_issues.append(gh)
        else:
            gh = None
        delay = {"Highest": 0.2, "High": 0.8, "Medium": 3.0, "Low": 8.0}[
            priority
        ] * rng.lognormvariate(0, 0.5)
        p0 = assignee.pos_of(bug.created) + delay
        p1 = p0 + (points or 1) * 0.45 * rng.lognormvariate(0, 0.3) / self.team.speed(bug.created)
        size = int(max(2, 18 * rng.lognormvariate(0, 0.8)))
        pull = self.plan_pull(
            assignee, bug, "bug", component, self.fix_title(summary), p0, p1, size
        )
        pull.gh_issue = pull.gh_issue or gh
        self.attach(bug, [pull])

    @staticmethod
    def fix_title(summary: str) -> str:
        component, _, symptom = summary.partition(": ")
        return f"Fix {symptom} in {component.lower()}" if symptom else f"Fix {summary}"

    def plan_backlog(self) -> None:
        """Tickets that are written and never started."""
        rng, world = self.rng, self.world
        span = (world.end - world.start).days
        for _ in range(rng.randint(18, 28)):
            created = world.start_dt + timedelta(days=rng.uniform(0, span))
            component = rng.choice(self.spec.components)
            kind = rng.choice(("Story", "Story", "Task", "Bug"))
            issue = _Issue(
                self.spec.key,
                kind,
                self.stem(kind, component),
                rng.choice(self.team.members).after(created, rng),
                rng.choice(self.team.members),
                points=_weighted(rng, _POINTS) if rng.random() < 0.6 else None,
                priority=rng.choice(("Low", "Medium")),
                labels=[component.replace("_", "-")],
                component=component,
            )
            self.team.issues.append(issue)

    def plan_bot_updates(self) -> None:
        """Weekly dependency bumps; a newer bump of the same package supersedes an open one."""
        rng, world = self.rng, self.world
        bot = _DEPENDABOT if self.spec.bot == "dependabot" else _RENOVATE
        packages = [name for name, _v, direct in _DEPENDENCIES[self.spec.lang] if direct]
        open_by_package: dict[str, _Pull] = {}
        monday = world.start + timedelta(days=(7 - world.start.weekday()) % 7)
        while monday <= world.end:
            for _ in range(_weighted(rng, ((0, 0.35), (1, 0.4), (2, 0.2), (3, 0.05)))):
                package = rng.choice(packages)
                created = datetime.combine(monday, time(5, rng.randint(0, 59)), tzinfo=UTC)
                sig: Sig = (bot.name, bot.email, 0)
                committer = _GITHUB_SIG if bot is _DEPENDABOT else sig
                commit = _Commit(created - timedelta(seconds=20), sig, committer, "deps", 3)
                pull = _Pull("deps", None, bot, None, None, "", package, created, [commit])
                pull.dependency = package
                pull.method = self.method()
                pull.labels = [
                    "dependencies",
                    {"py": "python", "ts": "javascript", "kt": "java"}[self.spec.lang],
                ]
                older = open_by_package.get(package)
                if (
                    older is not None
                    and older.closed is None
                    and (older.merged is None or older.merged > created)
                ):
                    older.merged, older.merger, older.closed = None, None, created
                    older.reviews = [r for r in older.reviews if r.when < created]
                reviewer = rng.choice(self.team.members)
                roll = rng.random()
                if roll < 0.82:
                    approve = reviewer.after(created + timedelta(hours=rng.uniform(1, 80)), rng)
                    pull.reviews.append(_Review(approve, "APPROVED", reviewer.account))
                    pull.merger = reviewer
                    pull.merged = approve + timedelta(minutes=rng.randint(1, 20))
                elif roll < 0.9:
                    pull.closed = reviewer.after(created + timedelta(days=rng.uniform(2, 20)), rng)
                open_by_package[package] = pull
                self.team.pulls.append(pull)
            monday += timedelta(days=7)

    def plan_directs(self) -> None:
        """A few pushes straight to main: web-UI edits and small hotfixes."""
        rng, world = self.rng, self.world
        span = (world.end - world.start).days
        for _ in range(rng.randint(3, 5)):
            person = rng.choice(self.team.members)
            when = person.after(world.start_dt + timedelta(days=rng.uniform(10, span)), rng)
            name, email, offset = person.sig
            if person.spec.login == "dokafor":
                email = _github_noreply(person)
            subject = rng.choice(
                (
                    "Update README.md",
                    "Update CODEOWNERS",
                    "Update runbook.md",
                    "Update CONTRIBUTING.md",
                )
            )
            self.team.directs.append(
                _Direct(when, "webedit", (name, email, offset), _GITHUB_SIG, subject)
            )
        for _ in range(rng.randint(2, 3)):
            person = self.team.lead
            when = person.after(world.start_dt + timedelta(days=rng.uniform(10, span)), rng)
            sig = person.ident(when, world.start, rng)
            subject = rng.choice(
                ("Fix typo in config", "Hotfix: correct default timeout", "Fix broken docs link")
            )
            self.team.directs.append(_Direct(when, "hotfix", sig, sig, subject))

    def plan_releases(self) -> None:
        rng, world = self.rng, self.world
        t = world.start_dt + timedelta(days=rng.randint(9, 16), hours=13)
        while t <= world.cut:
            while t.weekday() >= 5:
                t += timedelta(days=1)
            self.team.releases.append(_Release(t + timedelta(minutes=rng.randint(0, 120))))
            t += timedelta(days=rng.randint(14, 21))

    # -- deployments and incidents ------------------------------------------------------------

    def deploy_slots(self) -> list[datetime]:
        world = self.world
        if not self.spec.deploy_hours:
            return [r.when + timedelta(minutes=40) for r in self.team.releases]
        slots = []
        for day in _days(world.start, world.end):
            if day.weekday() < 5:
                for hour in self.spec.deploy_hours:
                    slots.append(datetime.combine(day, time(), tzinfo=UTC) + timedelta(hours=hour))
        return slots

    def plan_deploys(self) -> None:
        """Deploy main on a cadence; some deploys fail and are recovered by a revert or a hotfix."""
        rng, world, team = self.rng, self.world, self.team
        cut = world.cut
        changes = sorted(
            [p.merged for p in team.pulls if p.merged and p.merged <= cut]
            + [d.when for d in team.directs if d.when <= cut]
            + [r.when for r in team.releases]
        )
        eligible = sorted(
            (
                (p.merged, i, p)
                for i, p in enumerate(team.pulls)
                if p.merged and p.merged <= cut and p.kind in ("feature", "task", "bug", "chore")
            ),
            key=lambda x: (x[0], x[1]),
        )
        merge_times = [m for m, _, _ in eligible]
        last = world.start_dt
        releases = {r.when + timedelta(minutes=40): r for r in team.releases}
        for slot in self.deploy_slots():
            if slot > cut or slot <= last:
                continue
            if bisect.bisect_right(changes, slot) == bisect.bisect_right(changes, last):
                continue
            release = releases.get(slot)
            ref = "main"
            index = bisect.bisect_right(merge_times, slot) - 1
            culprit = eligible[index][2] if index >= 0 and merge_times[index] > last else None
            fail_share = 0.05 + 0.025 * team.level(slot) / self.spec.ceiling
            if release is not None:
                fail_share = 0.12
            if culprit is None or rng.random() >= fail_share:
                team.deploys.append(_Deploy(slot, True, ref, release))
                last = slot
                continue
            team.deploys.append(_Deploy(slot, False, ref, release))
            recovered = self.incident(slot, culprit)
            bisect.insort(changes, recovered - timedelta(minutes=15))
            if recovered <= cut:
                patch = None
                if not self.spec.deploy_hours:
                    patch = _Release(recovered - timedelta(minutes=10), patch=True)
                    team.releases.append(patch)
                team.deploys.append(_Deploy(recovered, True, ref, patch))
            last = recovered
        team.releases.sort(key=lambda r: r.when)

    def incident(self, failed: datetime, culprit: _Pull) -> datetime:
        """Incident ticket, then a revert or a hotfix PR; returns when the fixed deploy goes out."""
        rng, team = self.rng, self.team
        lead = team.lead
        owner = culprit.human if culprit.human in team.members else lead
        assert owner is not None
        opened = failed + timedelta(minutes=rng.randint(8, 25))
        component = culprit.component or rng.choice(self.spec.components)
        bug = _Issue(
            self.spec.key,
            "Bug",
            f"Production incident: {_phrase(component)} errors after deploy",
            created=opened,
            reporter=lead,
            assignee=owner,
            assigned_at_creation=True,
            priority="Highest",
            labels=["incident", "production"],
            caused_by=culprit.issue,
            component=component,
        )
        team.issues.append(bug)
        if self.spec.deploy_hours and rng.random() < 0.65:
            when = opened + timedelta(minutes=rng.randint(15, 120))
            sig = lead.ident(when, self.world.start, rng)
            team.directs.append(_Direct(when, "revert", sig, sig, target=culprit))
            bug.started = opened + timedelta(minutes=5)
            bug.in_review = when
            fixed = when + timedelta(minutes=rng.randint(12, 25))
        else:
            pos = owner.pos_of(opened)
            pull = self.plan_pull(
                owner,
                bug,
                "hotfix",
                component,
                f"Hotfix {_phrase(component)} regression",
                pos,
                pos + 0.05,
                12,
                allow_ai=False,
                outcome="merged",
            )
            pull.labels = ["hotfix", "bug"]
            start = opened + timedelta(minutes=rng.randint(20, 60))
            pull.commits = pull.commits[:1]
            pull.commits[0].when = start
            pull.commits[0].kind = "hotfix"
            pull.created = start + timedelta(minutes=3)
            approver = pull.reviewers[0]
            pull.reviews = [
                _Review(
                    pull.created + timedelta(minutes=rng.randint(5, 30)),
                    "APPROVED",
                    approver.account,
                )
            ]
            pull.merged = pull.reviews[0].when + timedelta(minutes=rng.randint(2, 15))
            pull.merger = owner
            self.attach(bug, [pull])
            fixed = pull.merged + timedelta(minutes=rng.randint(12, 25))
            if not self.spec.deploy_hours:
                fixed += timedelta(minutes=40)
        bug.done = fixed + timedelta(minutes=rng.randint(5, 30))
        return fixed

    def plan_feature_requests(self) -> None:
        rng, world = self.rng, self.world
        span = (world.end - world.start).days
        for _ in range(rng.randint(14, 24)):
            created = world.start_dt + timedelta(days=rng.uniform(0, span))
            component = rng.choice(self.spec.components)
            title = f"Request: {rng.choice(self.spec.features)} in {_phrase(component)}"
            user = rng.choice([_SUPPORT, *(m.account for m in self.team.members)])
            issue = _GhIssue(title, "It would help our operators.", user, ["enhancement"], created)
            roll = rng.random()
            if roll < 0.3:
                issue.closed = created + timedelta(days=rng.uniform(3, 60))
                issue.reason = "not_planned"
            elif roll < 0.5:
                issue.closed = created + timedelta(days=rng.uniform(10, 90))
                issue.reason = "completed"
            self.team.gh_issues.append(issue)


# --------------------------------------------------------------------------------------------
# Numbering and text


def _number(world: _World, team: _TeamPlan) -> None:
    """Jira keys follow creation order; GitHub issues and PRs share one counter per repository."""
    for n, issue in enumerate(sorted(team.issues, key=lambda i: i.created), start=1):
        issue.key = f"{team.spec.key}-{n}"
    numbered: list[tuple[datetime, int, _Pull | _GhIssue]] = []
    for i, pull in enumerate(team.pulls):
        if pull.created <= world.cut:
            numbered.append((pull.created, i, pull))
    for i, gh in enumerate(team.gh_issues):
        if gh.created <= world.cut:
            numbered.append((gh.created, len(team.pulls) + i, gh))
    for n, (_, _, item) in enumerate(sorted(numbered, key=lambda x: (x[0], x[1])), start=1):
        item.number = n


def _render(team: _TeamPlan, rng: random.Random) -> None:
    """Titles, branch names, bodies and commit messages, now that keys and numbers exist."""
    used: set[str] = set()
    for pull in team.pulls:
        if pull.kind != "deps":  # their text depends on the versions found at commit time
            _render_pull(team, pull, rng, used)
        gh = pull.gh_issue
        if gh is None or gh.closed is not None:
            continue
        if pull.merged:
            gh.closed, gh.reason = pull.merged + timedelta(seconds=5), "completed"
        elif pull.closed and pull.tool == "copilot_agent":
            gh.closed, gh.reason = pull.closed + timedelta(seconds=5), "not_planned"


_TITLE_STYLES = ("{k}: {s}", "[{k}] {s}", "{s} ({k})", "{s}")
_BRANCH_STYLES = ("feature/{k}-{slug}", "{k}-{slug}", "{kl}/{slug}", "{login}/{k}-{slug}")


def _slug(text: str, words: int = 6) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", _ascii(text).lower())[:words])


def _render_pull(team: _TeamPlan, pull: _Pull, rng: random.Random, used: set[str]) -> None:
    person = pull.human
    assert person is not None
    style = team.members.index(person) if person in team.members else 0
    key = pull.issue.key if pull.issue is not None else ""
    stem = pull.stem
    slug = _slug(stem, 5)
    tool = pull.tool
    if tool == "copilot_agent":
        title = stem
        gh = pull.gh_issue
        branch = (
            f"copilot/fix-{gh.number}"
            if gh and gh.number and rng.random() < 0.3
            else f"copilot/{slug}"
        )
    elif tool == "devin":
        title = f"{key}: {stem}" if key else stem
        branch = f"devin/{int(pull.commits[0].when.timestamp())}-{_slug(key + ' ' + stem, 5)}"
    elif tool == "codex_cloud":
        title, branch = stem, f"codex/{slug}"
    elif tool == "cursor_agent":
        title, branch = stem, f"cursor/{slug}-{rng.getrandbits(16):04x}"
    else:
        title = _TITLE_STYLES[style].format(k=key, s=stem) if key else stem
        if pull.kind == "bug" and key:
            branch = rng.choice(("bugfix/{k}-{slug}", "fix/{k}-{slug}"))
        elif pull.kind == "hotfix":
            branch = "hotfix/{k}-{slug}"
        elif key:
            branch = _BRANCH_STYLES[style]
        else:
            branch = "chore/{slug}"
        branch = branch.format(k=key, kl=key.lower(), slug=slug, login=person.spec.login)
        if tool == "claude_web":
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            branch = f"claude/{slug}-{''.join(rng.choice(alphabet) for _ in range(5))}"
    base, n = branch, 2
    while branch in used:
        branch, n = f"{base}-{n}", n + 1
    used.add(branch)
    pull.title, pull.branch = title, branch
    if tool == "claude_web":
        pull.session = _session_id(rng)
    elif tool == "copilot_agent":
        pull.session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    else:
        pull.session = f"{rng.getrandbits(128):032x}"
    pull.body = _pull_body(pull, rng)
    code = [c for c in pull.commits if c.kind != "empty"]
    for i, commit in enumerate(pull.commits):
        _render_commit(team, pull, commit, i, len(code), rng)


def _session_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "session_01" + "".join(rng.choice(alphabet) for _ in range(22))


def _render_commit(
    team: _TeamPlan,
    pull: _Pull,
    commit: _Commit,
    index: int,
    code_count: int,
    rng: random.Random,
) -> None:
    person = pull.human
    assert person is not None
    tool = pull.tool
    key = pull.issue.key if pull.issue else ""
    phrase = _phrase(pull.component) if pull.component else "module"
    if commit.kind == "empty":
        commit.subject = "Initial plan"
    elif commit.kind == "fix":
        commit.subject = rng.choice(
            (
                "Address review comments",
                "Apply suggestions from code review",
                f"Handle empty {phrase} input",
                "Fix lint",
                "Rename per review",
                f"Add missing test for {phrase}",
            )
        )
    elif code_count == 1 or index == (1 if tool == "copilot_agent" else 0):
        commit.subject = pull.title if code_count == 1 else pull.stem
    else:
        commit.subject = rng.choice(
            (
                f"Add tests for {phrase}",
                f"Handle edge cases in {phrase}",
                f"Update docs for {phrase}",
                f"Refine {rng.choice(_ASPECTS)}",
                "WIP",
                f"Clean up {phrase}",
                f"Wire {phrase} into the API",
            )
        )
    if tool == "aider" and commit.tool and commit.subject != pull.title:
        commit.subject = (
            rng.choice(("feat", "fix", "refactor", "test"))
            + ": "
            + commit.subject[0].lower()
            + commit.subject[1:]
        )
    if (
        tool not in _AGENTS
        and key
        and commit.kind != "empty"
        and commit.subject != pull.title
        and rng.random() < 0.3
    ):
        commit.subject = f"{key} {commit.subject}"
    if rng.random() < 0.4 or tool in ("claude_code", "claude_web", "devin"):
        change = rng.choice(_CHANGES)
        commit.body = rng.choice(
            (
                f"The {phrase} path now {change}.",
                f"Keeps {rng.choice(_ASPECTS)} in one place so the {phrase} handlers stay small.",
                f"Follow-up to the {phrase} changes; no behaviour change for existing callers.",
                f"Covers the case reported in {key or 'the last incident review'}.",
            )
        )
    trailers = list(commit.trailers)
    footer = ""
    author_name, author_email, _ = commit.author
    if commit.tool:
        trailers = _tool_trailers(commit.tool, commit.when, rng) + trailers
        if commit.footer:
            footer = "🤖 Generated with [Claude Code](https://claude.com/claude-code)"
    if tool == "claude_web" and author_email == "noreply@anthropic.com":
        if rng.random() < 0.5:
            trailers.append(
                f"Co-Authored-By: {_claude_model(commit.when, rng)} <noreply@anthropic.com>"
            )
        trailers.append(f"Claude-Session: https://claude.ai/code/{pull.session}")
    elif tool == "copilot_agent" and author_email == _COPILOT.email:
        trailers.append(f"Co-authored-by: {person.spec.login} <{_github_noreply(person)}>")
        if commit.when >= _utc(2026, 3, 20):
            trailers.append(
                f"Agent-Logs-Url: https://github.com/{_GH}/{team.spec.repo}/sessions/{pull.session}"
            )
    elif tool == "devin" and author_email == _DEVIN.email:
        trailers.append(f"Co-Authored-By: {person.spec.name} <{person.email}>")
    elif tool == "cursor_agent" and author_email == "cursoragent@cursor.com":
        trailers.append(f"Co-authored-by: {person.spec.name} <{person.email}>")
    if author_name == person.spec.name and person.spec.login in _DCO_USERS:
        trailers.append(f"Signed-off-by: {person.spec.name} <{person.email}>")
    if tool is None and commit.kind == "code" and rng.random() < 0.02:
        mate = rng.choice([m for m in team.members if m is not person])
        trailers.append(f"Co-authored-by: {mate.spec.name} <{mate.email}>")  # pairing
    commit.trailers = trailers
    commit.message = _message(commit.subject, commit.body, footer, trailers)


_CHANGES = (
    "validates input first",
    "retries transient failures",
    "logs a structured event",
    "caches the lookup",
)


def _message(subject: str, body: str = "", footer: str = "", trailers: Sequence[str] = ()) -> str:
    parts = [subject] + [p for p in (body, footer) if p]
    if trailers:
        parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


def _pull_body(pull: _Pull, rng: random.Random) -> str:
    """PR descriptions with the real markers each agent leaves (ai-signals.md §1.1)."""
    key = pull.issue.key if pull.issue else ""
    phrase = _phrase(pull.component)
    person = pull.human
    assert person is not None
    bullets = "\n".join(
        f"- {x}"
        for x in rng.sample(
            [
                f"Update the {phrase} module",
                f"Add tests for {phrase}",
                f"Document {rng.choice(_ASPECTS)}",
                "Tighten input validation",
                "Log a structured event on failure",
                "Remove an unused helper",
            ],
            2,
        )
    )
    closes = []
    if key:
        closes.append(f"Jira: [{key}]({_JIRA_URL}/browse/{key})")
    if pull.gh_issue is not None and pull.gh_issue.number:
        closes.append(f"Fixes #{pull.gh_issue.number}")
    tail = "\n\n".join(closes)
    tool = pull.tool
    if tool == "copilot_agent":
        gh = pull.gh_issue
        prompt = gh.title if gh else pull.stem
        fixes = f"Fixes #{gh.number}.\n\n" if gh and gh.number else ""
        checklist = bullets.replace("- ", "- [x] ")
        return (
            f"{pull.stem} as described in the issue.\n\n{checklist}\n\n{fixes}"
            "<!-- START COPILOT CODING AGENT SUFFIX -->\n\n\n\n<details>\n\n"
            f"<summary>Original prompt</summary>\n\n> {prompt}\n\n</details>\n\n\n\n"
            "<!-- START COPILOT CODING AGENT TIPS -->\n---\n\n"
            "💡 You can make Copilot smarter by setting up custom instructions, customizing its "
            "development environment and configuring Model Context Protocol (MCP) servers. "
            "Learn more [Copilot coding agent tips](https://gh.io/copilot-coding-agent-tips) "
            "in the docs."
        )
    if tool == "devin":
        return (
            f"# {pull.stem}\n\n{bullets}\n\n## Review & Testing Checklist for Human\n"
            f"- [ ] Check the {phrase} behaviour in staging\n\n### Notes\n"
            f"- Link to Devin run: https://app.devin.ai/sessions/{pull.session}\n"
            f"- Requested by: {person.spec.name} (@{person.spec.login})\n"
            + (f"\n{tail}\n" if tail else "")
        )
    if tool == "claude_web":
        url = f"https://claude.ai/code/{pull.session}"
        return (
            f"## Summary\n{bullets}\n\n## Test plan\n- [x] Unit tests pass\n\n{tail}\n\n"
            f"_Generated by [Claude Code]({url})_"
        )
    if tool == "codex_cloud":
        return (
            f"## Summary\n{bullets}\n\n## Testing\n- ✅ `make test`\n\n{tail}\n\n------\n"
            f"[Codex Task](https://chatgpt.com/codex/tasks/task_e_{pull.session})"
        )
    if tool == "cursor_agent":
        return (
            f"<!-- CURSOR_AGENT_PR_BODY_BEGIN -->\n## Summary\n{bullets}\n"
            "<!-- CURSOR_AGENT_PR_BODY_END -->\n\n"
            f"[Open in Cursor](https://cursor.com/agents/bc-{pull.conversation})\n\n{tail}"
        )
    if pull.kind == "hotfix":
        return f"Hotfix for the failed deploy.\n\n{tail}"
    if rng.random() < 0.12:
        return ""
    body = f"## Summary\n{pull.stem}.\n\n## Changes\n{bullets}\n\n{tail}".rstrip()
    if tool == "claude_code" and rng.random() < 0.7:
        body += "\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)"
    return body


# --------------------------------------------------------------------------------------------
# File trees: code-like text, lock files, images


def _packages(direct: str, transitive: str = "") -> tuple[tuple[str, str, bool], ...]:
    """``(name, version, direct)`` rows from ``"name@1.2.3 other@4.5"`` lists."""
    return tuple(
        (name, version, is_direct)
        for text, is_direct in ((direct, True), (transitive, False))
        for name, _, version in (item.rpartition("@") for item in text.split())
    )


_DEPENDENCIES = {
    "ts": _packages(
        "react@18.3.1 react-dom@18.3.1 react-router-dom@6.26.2 @tanstack/react-query@5.59.0 "
        "axios@1.7.7 zod@3.23.8 date-fns@3.6.0 lodash@4.17.21 clsx@2.1.1 leaflet@1.9.4 "
        "recharts@2.12.7 zustand@4.5.5 i18next@23.15.1 typescript@5.6.2 vite@5.4.8 vitest@2.1.2 "
        "eslint@9.12.0 prettier@3.3.3 @testing-library/react@16.0.1 msw@2.4.9",
        "ansi-styles@4.3.0 chalk@4.1.2 debug@4.3.7 ms@2.1.3 semver@7.6.3 picomatch@2.3.1 "
        "braces@3.0.3 fill-range@7.1.1 glob@10.4.5 minimatch@9.0.5 esbuild@0.21.5 rollup@4.24.0 "
        "postcss@8.4.47 nanoid@3.3.7 source-map-js@1.2.1 scheduler@0.23.2 loose-envify@1.4.0 "
        "js-tokens@4.0.0 d3-scale@4.0.2 d3-shape@3.2.0 d3-array@3.2.4 internmap@2.0.3 "
        "eventemitter3@5.0.1 tslib@2.7.0 follow-redirects@1.15.9 form-data@4.0.0 "
        "proxy-from-env@1.1.0 mime-types@2.1.35 mime-db@1.52.0 asynckit@0.4.0 "
        "combined-stream@1.0.8 delayed-stream@1.0.0 cookie@0.7.2 path-to-regexp@6.3.0 "
        "graphql@16.9.0 headers-polyfill@4.0.3 strict-event-emitter@0.5.1 outvariant@1.4.3 "
        "yargs@17.7.2 cliui@8.0.1 wrap-ansi@7.0.0 string-width@4.2.3 strip-ansi@6.0.1 "
        "ansi-regex@5.0.1 emoji-regex@8.0.0",
    ),
    "py": _packages(
        "fastapi@0.115.0 pydantic@2.9.2 sqlalchemy@2.0.35 alembic@1.13.3 httpx@0.27.2 "
        "stripe@10.12.0 structlog@24.4.0 uvicorn@0.31.0 celery@5.4.0 redis@5.1.1 psycopg@3.2.3 "
        "tenacity@9.0.0",
        "anyio@4.6.0 certifi@2024.8.30 idna@3.10 sniffio@1.3.1 h11@0.14.0 starlette@0.38.6 "
        "typing-extensions@4.12.2 annotated-types@0.7.0 pydantic-core@2.23.4 greenlet@3.1.1 "
        "mako@1.3.5 markupsafe@3.0.1 click@8.1.7 kombu@5.4.2 billiard@4.2.1 vine@5.1.0 "
        "amqp@5.2.0 httpcore@1.0.6 python-dateutil@2.9.0 six@1.16.0 tzdata@2024.2 "
        "requests@2.32.3 urllib3@2.2.3 charset-normalizer@3.4.0",
    ),
    "kt": _packages(
        "kotlin@2.0.21 agp@8.7.1 coreKtx@1.13.1 composeBom@2024.10.00 lifecycle@2.8.6 "
        "navigation@2.8.3 retrofit@2.11.0 okhttp@4.12.0 coroutines@1.9.0 room@2.6.1 hilt@2.52 "
        "coil@2.7.0 timber@5.0.1 junit@4.13.2 mockk@1.13.13 turbine@1.1.0"
    ),
}
_PODS = _packages(
    "Alamofire@5.9.1 SnapKit@5.7.1 Kingfisher@7.12.0 Sentry@8.36.0 SwiftLint@0.57.0 "
    "KeychainAccess@4.2.2 Lottie@4.5.0 Realm@10.54.0 RealmSwift@10.54.0 Firebase@11.3.0"
)
# fmt: off
_VERBS = ("load", "build", "apply", "validate", "resolve", "sync", "render", "parse", "emit",
          "merge", "compute", "fetch", "normalise", "schedule", "record")
_NOUNS = {
    "py": ("refund", "payout", "entry", "invoice", "merchant", "balance", "webhook", "fee",
           "dispute", "settlement", "charge"),
    "ts": ("robot", "mission", "alert", "user", "order", "filter", "marker", "session", "chart",
           "route", "invoice"),
    "kt": ("robot", "battery", "mission", "device", "firmware", "pairing", "snapshot", "command",
           "sensor", "tile"),
}
# fmt: on
_IMAGE_NAMES = ("logo", "robot", "map_pin", "battery", "empty_state", "onboarding", "alert")
_STATUSES = ("pending", "settled", "failed", "queued", "active", "archived")

# fmt: off
# Per file type: block head lines, statement lines (may hold several lines), tail lines.
_BLOCKS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "py": (
        ("def {v}_{o}_{n}({o}: {O}, *, limit: int = {k}) -> {O}:",
         '    """{V} the {o} and return the updated record."""'),
        ("    {o}_{n} = {v2}_{o2}({o}, limit=limit)",
         '    if {o}_{n} is None:\n        raise {O}Error("{o} {n} not found")',
         '    logger.debug("{v} {o}", extra={{"id": {o}.id, "step": {n}}})',
         "    total_{n} = sum(item.amount for item in {o}_{n}.items)",
         '    for item_{n} in {o}_{n}.items:\n        item_{n}.status = "{s}"',
         "    {o}_{n}.updated_at = clock.now()"),
        ("    return {o}_{n}", "", ""),
    ),
    "py_test": (
        ("def test_{v}_{o}_{n}() -> None:",),
        ("    {o} = make_{o}(limit={k})", "    result_{n} = {v}_{o}({o})",
         '    assert result_{n}.status == "{s}"', "    assert result_{n}.id == {o}.id"),
        ("", ""),
    ),
    "ts": (
        ("export function {v}{O}{n}({o}: {O}, limit = {k}): {O} {{",),
        ("  const {o}{n} = {v2}{O2}({o}, limit);",
         '  if (!{o}{n}) {{\n    throw new Error("{o} {n} not found");\n  }}',
         '  logger.debug("{v} {o}", {{ id: {o}.id, step: {n} }});',
         "  const total{n} = {o}{n}.items.reduce((sum, item) => sum + item.amount, 0);",
         '  {o}{n}.status = "{s}";'),
        ("  return {o}{n};", "}}", ""),
    ),
    "ts_test": (
        ('it("{v}s the {o} {n}", () => {{',),
        ("  const {o} = make{O}({{ limit: {k} }});", "  expect({v}{O}({o}).id).toBe({o}.id);",
         '  expect({v}{O}({o}).status).toBe("{s}");'),
        ("}});", ""),
    ),
    "kt": (
        ("fun {v}{O}{n}({o}: {O}, limit: Int = {k}): {O} {{",),
        ("    val {o}{n} = {v2}{O2}({o}, limit)",
         '    requireNotNull({o}{n}) {{ "{o} {n} not found" }}',
         '    Timber.d("{v} {o} step {n}")',
         "    val total{n} = {o}{n}.items.sumOf {{ it.amount }}"),
        ("    return {o}{n}", "}}", ""),
    ),
    "kt_test": (
        ("@Test", "fun `{v}s the {o} {n}`() {{"),
        ("    val {o} = fake{O}(limit = {k})", "    assertEquals({o}.id, {v}{O}({o}).id)"),
        ("}}", ""),
    ),
    "swift": (
        ("func {v}{O}{n}(_ {o}: {O}, limit: Int = {k}) -> {O} {{",),
        ("    let {o}{n} = {v2}{O2}({o}, limit: limit)",
         "    guard {o}{n}.isValid else {{ return {o} }}",
         '    logger.debug("{v} {o} step {n}")'),
        ("    return {o}{n}", "}}", ""),
    ),
    "swift_test": (
        ("func test{V}{O}{n}() {{",),
        ("    XCTAssertNotNil({v}{O}(.fixture(limit: {k})))",),
        ("}}", ""),
    ),
    "md": (
        ("## {V} {o}s ({n})", ""),
        ("The {o} service {v}s {o2} records before they are stored.",
         "Set `{O}_LIMIT_{n}` to tune how many {o}s one batch handles.",
         "On failure the job retries with backoff and logs `{o}.{v}.failed`."),
        ("",),
    ),
    "sql": (("-- step {n}",), ("ALTER TABLE {o}s ADD COLUMN {o2}_{n} TEXT;",
                               "CREATE INDEX ix_{o}s_{o2}_{n} ON {o}s ({o2}_{n});"), ("",)),
    "yml": (("  {v}-{o}-{n}:",),
            ("    runs-on: ubuntu-latest", "    steps:\n      - run: make {v}-{o}"),
            ("",)),
}
_HEADERS = {
    "py": ('"""{P} {r}."""', "", "import logging", "",
           "logger = logging.getLogger(__name__)", "", ""),
    "py_test": ('"""Tests for {p}."""', "", "import pytest", "", ""),
    "ts": ('import {{ logger }} from "../lib/logger";',
           'import type {{ {O} }} from "../types";', ""),
    "ts_test": ('import {{ describe, expect, it }} from "vitest";', "",
                'describe("{p}", () => {{', ""),
    "kt": ("package com.acmerobotics.app.{sub}", "", "import timber.log.Timber", ""),
    "kt_test": ("package com.acmerobotics.app.{sub}", "", "import org.junit.Test", ""),
    "swift": ("import Foundation", "import os", ""),
    "swift_test": ("import XCTest", "@testable import AcmeRobotics", ""),
    "md": ("# {P}", ""),
    "sql": ("-- {p}", ""),
    "yml": ("name: {p}", "jobs:"),
}
# fmt: on


@functools.cache
def _pascal(word: str) -> str:
    return "".join(part.capitalize() for part in word.split("_"))


_SUFFIXES = {
    "py": "py",
    "ts": "ts",
    "tsx": "ts",
    "kt": "kt",
    "swift": "swift",
    "sql": "sql",
    "yml": "yml",
}
_BLOCKS_WITH_TESTS = ("py", "ts", "kt", "swift")


def _file_type(path: str) -> str:
    """The ``_BLOCKS`` key for a path; anything unknown gets prose."""
    name = path.rsplit("/", 1)[-1]
    suffix = name.rsplit(".", 1)[-1]
    base = _SUFFIXES.get(suffix, "md")
    return base + "_test" if "test" in name.lower() and base in _BLOCKS_WITH_TESTS else base


class _CodeWriter:
    """Synthetic, code-like lines; a running counter keeps blocks distinct so diffs stay crisp."""

    def __init__(self, lang: str, rng: random.Random) -> None:
        self.rng = rng
        self.nouns = _NOUNS[lang]
        self.counter = 0

    def lines(self, kind: str, count: int) -> list[str]:
        rng = self.rng
        head, stmts, tail = _BLOCKS[kind]
        out: list[str] = []
        while len(out) < count:
            self.counter += 1
            o, o2 = rng.choice(self.nouns), rng.choice(self.nouns)
            v, v2 = rng.choice(_VERBS), rng.choice(_VERBS)
            values = {
                "n": self.counter,
                "o": o,
                "O": _pascal(o),
                "o2": o2,
                "O2": _pascal(o2),
                "v": v,
                "V": v.capitalize(),
                "v2": v2,
                "k": rng.randint(2, 500),
                "s": rng.choice(_STATUSES),
            }
            block = list(head)
            block += rng.choices(stmts, k=rng.randint(1, 5))
            block += tail
            for template in block:
                out.extend(template.format(**values).split("\n"))
        return out[:count]

    def new_file(self, path: str, count: int, component: str) -> tuple[str, ...]:
        kind = _file_type(path)
        sub = path.split("/")[-2] if "/" in path else "app"
        header = [
            line.format(
                P=_phrase(component).capitalize(),
                p=_phrase(component),
                r="module",
                O=_pascal(component),
                sub=sub,
            )
            for line in _HEADERS[kind]
        ]
        return (*header, *self.lines(kind, max(1, count - len(header))))


def _splice(
    lines: tuple[str, ...], new: Sequence[str], delete: int, rng: random.Random
) -> tuple[str, ...]:
    """Replace ``delete`` lines at a random place with ``new``; keeps a few header lines intact."""
    top = min(4, len(lines))
    delete = min(delete, len(lines) - top)
    at = rng.randint(top, len(lines) - delete)
    return (*lines[:at], *new, *lines[at + delete :])


def _png(rng: random.Random) -> bytes:
    width, height = rng.choice((32, 48, 64, 96)), rng.choice((32, 48, 64, 96))
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _digest(text: str) -> bytes:
    return hashlib.sha512(text.encode()).digest()


def _integrity(text: str) -> str:
    return base64.b64encode(_digest(text)).decode()


def _lock_lines(lang: str, deps: Sequence[tuple[str, str, bool]]) -> tuple[str, ...]:
    """A lock file with one block per package; the version is on the block's second line."""
    out: list[str] = []
    if lang == "ts":
        out += [
            "{",
            '  "name": "web-app",',
            '  "lockfileVersion": 3,',
            '  "requires": true,',
            '  "packages": {',
        ]
        for name, version, direct in deps:
            base = name.rsplit("/", 1)[-1]
            out += [
                f'    "node_modules/{name}": {{',
                f'      "version": "{version}",',
                f'      "resolved": "https://registry.npmjs.org/{name}/-/{base}-{version}.tgz",',
                f'      "integrity": "sha512-{_integrity(name + version)}",',
                '      "license": "MIT"' + ("" if direct else ","),
            ]
            if not direct:
                out.append('      "dev": true')
            out.append("    },")
        out[-1] = "    }"
        out += ["  }", "}"]
    elif lang == "py":
        out += ["#", "# This file is autogenerated by pip-compile with Python 3.12", "#"]
        for name, version, _direct in deps:
            out += [
                f"{name}=={version} \\",
                f"    --hash=sha256:{_digest(name + version).hex()[:64]}",
                "    # via -r requirements.in",
            ]
    else:
        out += (
            ["PODS:"]
            + [f"  - {name} ({version})" for name, version, _ in deps]
            + ["", "SPEC CHECKSUMS:"]
        )
        out += [f"  {name}: {_digest(name + version).hex()[:40]}" for name, version, _ in deps]
        out += ["", "COCOAPODS: 1.15.2"]
    return tuple(out)


def _lock_packages(lang: str) -> tuple[tuple[str, str, bool], ...]:
    return _PODS if lang == "kt" else _DEPENDENCIES[lang]


def _lock_versions(lang: str, lines: Sequence[str]) -> dict[str, str]:
    """Package versions as a lock file currently pins them."""
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        if lang == "ts" and line.startswith('    "node_modules/') and i + 1 < len(lines):
            found[line.split('"')[1].removeprefix("node_modules/")] = lines[i + 1].split('"')[3]
        elif lang == "py" and "==" in line and not line.startswith((" ", "#")):
            name, _, rest = line.partition("==")
            found[name] = rest.split()[0]
        elif lang == "kt" and line.startswith("  - ") and line.endswith(")"):
            name, _, version = line[4:-1].partition(" (")
            found[name] = version
    return found


def _set_version(line: str, version: str, code: int) -> str:
    line = re.sub(
        r'^(version = |  "version": |\s+versionName = )"[^"]*"',
        lambda m: f'{m[1]}"{version}"',
        line,
    )
    return re.sub(r"^(\s+versionCode = )\d+$", lambda m: f"{m[1]}{code}", line)


def _bump(version: str, rng: random.Random) -> str:
    parts = [int(p) if p.isdigit() else 0 for p in re.split(r"[.]", version)[:3]]
    while len(parts) < 3:
        parts.append(0)
    if rng.random() < 0.2:
        return f"{parts[0]}.{parts[1] + 1}.0"
    return f"{parts[0]}.{parts[1]}.{parts[2] + rng.randint(1, 3)}"


@dataclass(frozen=True)
class _Layout:
    """Where files of each kind live in one language's repository."""

    lang: str
    lock: str
    manifest: str  # direct dependencies, which Dependabot and Renovate edit
    version_file: str
    generated: str
    subs: tuple[str, ...]  # source sub-packages
    variants: tuple[str, ...]  # suffixes of further modules of a component
    docs: tuple[str, ...]

    def sub(self, component: str) -> str:
        return self.subs[zlib.crc32(component.encode()) % len(self.subs)]

    def source(self, component: str, variant: str = "", ios: bool = False) -> str:
        sub, name = self.sub(component), _pascal(component) + _pascal(variant)
        if self.lang == "py":
            return f"src/payments_api/{sub}/{component}{'_' + variant if variant else ''}.py"
        if self.lang == "ts":
            return f"src/{sub}/{name}.{'ts' if sub in ('hooks', 'api') else 'tsx'}"
        if ios:
            return f"ios/AcmeRobotics/{_pascal(component)}/{name}View.swift"
        return f"android/app/src/main/java/com/acmerobotics/app/{sub}/{name}.kt"

    def test(self, source: str) -> str:
        directory, name = source.rsplit("/", 1)
        stem, ext = name.rsplit(".", 1)
        if self.lang == "py":
            return f"tests/{directory.rsplit('/', 1)[-1]}/test_{stem}.py"
        if self.lang == "ts":
            return f"{directory}/__tests__/{stem}.test.{ext}"
        if ext == "swift":
            return f"ios/AcmeRoboticsTests/{stem}Tests.swift"
        return directory.replace("/main/", "/test/") + f"/{stem}Test.kt"

    def image(self, name: str) -> str:
        if self.lang == "ts":
            return f"public/images/{name}.png"
        return f"android/app/src/main/res/drawable/{name}.png"


# fmt: off
_LAYOUTS = {
    "py": _Layout(
        "py", "requirements.txt", "requirements.in", "pyproject.toml",
        "src/payments_api/generated/openapi_client.py", ("api", "services", "models", "workers"),
        ("client", "schema", "service", "repository", "handlers", "validators", "events", "tasks"),
        ("docs/architecture.md", "docs/runbook.md", "docs/api.md"),
    ),
    "ts": _Layout(
        "ts", "package-lock.json", "package.json", "package.json", "src/generated/graphql.ts",
        ("components", "pages", "hooks", "api"),
        ("card", "list", "modal", "header", "item", "form", "panel", "toolbar"),
        ("docs/architecture.md", "docs/contributing.md", "docs/design-system.md"),
    ),
    "kt": _Layout(
        "kt", "ios/Podfile.lock", "gradle/libs.versions.toml", "android/app/build.gradle.kts",
        "android/app/src/main/java/com/acmerobotics/app/generated/Proto.kt",
        ("ui", "data", "ble", "sync"),
        ("view_model", "repository", "screen", "use_case", "mapper", "service", "worker",
         "adapter"),
        ("docs/release-process.md", "docs/architecture.md", "docs/ble-protocol.md"),
    ),
}
# fmt: on


_STATIC: dict[str, dict[str, str]] = {
    "py": {
        "pyproject.toml": """\
[project]
name = "payments-api"
version = "{version}"
requires-python = ">=3.12"

[tool.ruff]
line-length = 100

[tool.pytest.ini_options]
testpaths = ["tests"]
""",
        "Dockerfile": """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY src/ src/
CMD ["uvicorn", "payments_api.main:app", "--host", "0.0.0.0"]
""",
        ".github/dependabot.yml": """\
version: 2
updates:
  - package-ecosystem: "pip"
    directory: "/"
    schedule:
      interval: "weekly"
""",
        "alembic.ini": "[alembic]\nscript_location = src/payments_api/db/migrations\n",
    },
    "ts": {
        "tsconfig.json": """\
{
  "compilerOptions": {
    "target": "ES2022",
    "jsx": "react-jsx",
    "strict": true
  }
}
""",
        "vite.config.ts": """\
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({ plugins: [react()] });
""",
        ".github/dependabot.yml": """\
version: 2
updates:
  - package-ecosystem: "npm"
    directory: "/"
    schedule:
      interval: "weekly"
""",
    },
    "kt": {
        "android/app/build.gradle.kts": """\
plugins {
    id("com.android.application")
}

android {
    namespace = "com.acmerobotics.app"
    defaultConfig {
        versionCode = {code}
        versionName = "{version}"
    }
}
""",
        "ios/Podfile": """\
platform :ios, '16.0'

target 'AcmeRobotics' do
  pod 'Alamofire'
  pod 'Sentry'
end
""",
        "renovate.json": """\
{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended"]
}
""",
    },
}


def _manifest_lines(
    lang: str, deps: Sequence[tuple[str, str, bool]], version: str
) -> tuple[str, ...]:
    direct = [(n, v) for n, v, d in deps if d]
    if lang == "py":
        return tuple(f"{name}>={'.'.join(v.split('.')[:2])}" for name, v in direct)
    if lang == "kt":
        return (
            "[versions]",
            *(f'{name} = "{v}"' for name, v in direct),
            "",
            "[libraries]",
            *(
                f'{name} = {{ module = "com.example:{name}", version.ref = "{name}" }}'
                for name, _ in direct
            ),
        )
    lines = [
        "{",
        '  "name": "web-app",',
        f'  "version": "{version}",',
        '  "private": true,',
        '  "type": "module",',
        '  "scripts": {',
        '    "dev": "vite",',
        '    "build": "tsc && vite build",',
        '    "test": "vitest"',
        "  },",
        '  "dependencies": {',
    ]
    lines += [f'    "{name}": "^{v}",' for name, v in direct]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  }", "}"]
    return tuple(lines)


# --------------------------------------------------------------------------------------------
# Git: an in-memory object store, then one pack file


class _MemoryOdb(pygit2.OdbBackend):
    """Keeps objects in memory while the history is built.

    Writing tens of thousands of loose objects costs seconds of file-system calls; the objects are
    written once, at the end, as a single pack (``_write_pack``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[bytes, tuple[int, bytes]] = {}

    def read_cb(self, oid: pygit2.Oid) -> tuple[int, bytes]:
        return self.objects[oid.raw]

    def read_header_cb(self, oid: pygit2.Oid) -> tuple[int, int]:
        kind, data = self.objects[oid.raw]
        return kind, len(data)

    def read_prefix_cb(self, prefix: str) -> tuple[int, bytes, pygit2.Oid]:
        raw = self.find(prefix)
        kind, data = self.objects[raw]
        return kind, data, pygit2.Oid(raw=raw)

    def find(self, prefix: str) -> bytes:
        # libgit2 also routes full 40-hex ids given as strings through the prefix lookup.
        if len(prefix) == 40 and bytes.fromhex(prefix) in self.objects:
            return bytes.fromhex(prefix)
        matches = [raw for raw in self.objects if raw.hex().startswith(prefix)]
        if len(matches) != 1:
            raise KeyError(prefix)
        return matches[0]

    def write_cb(self, oid: pygit2.Oid, data: bytes, kind: int) -> None:
        self.objects[oid.raw] = (kind, bytes(data))

    def exists_cb(self, oid: pygit2.Oid) -> bool:
        return oid.raw in self.objects

    def exists_prefix_cb(self, prefix: str) -> pygit2.Oid:
        return pygit2.Oid(raw=self.find(prefix))

    def refresh_cb(self) -> None:
        return None

    def __iter__(self) -> Iterator[pygit2.Oid]:
        return iter([pygit2.Oid(raw=raw) for raw in self.objects])


def _write_pack(pack_dir: Path, objects: dict[bytes, tuple[int, bytes]]) -> None:
    """Every object, undeltified, as a v2 pack plus the v2 index ``git index-pack`` would write."""
    pack = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    entries: list[tuple[bytes, int, int]] = []
    for raw, (kind, data) in objects.items():
        size = len(data)
        header = bytearray([(kind << 4) | (size & 0x0F)])
        size >>= 4
        while size:
            header[-1] |= 0x80
            header.append(size & 0x7F)
            size >>= 7
        # Trees are mostly hashes: deflating them costs more time than it saves space.
        packed = bytes(header) + zlib.compress(data, 0 if kind == ObjectType.TREE else 1)
        entries.append((raw, len(pack), zlib.crc32(packed)))
        pack += packed
    checksum = hashlib.sha1(pack).digest()
    pack += checksum
    entries.sort()
    index = bytearray(b"\xfftOc" + struct.pack(">I", 2))
    counts = [0] * 256
    for raw, _, _ in entries:
        counts[raw[0]] += 1
    total = 0
    for count in counts:
        total += count
        index += struct.pack(">I", total)
    index += b"".join(raw for raw, _, _ in entries)
    index += b"".join(struct.pack(">I", crc) for _, _, crc in entries)
    if len(pack) >= 2**31:
        raise ValueError("demo pack too large for a 32-bit pack index")
    index += b"".join(struct.pack(">I", offset) for _, offset, _ in entries)
    index += checksum
    index += hashlib.sha1(index).digest()
    pack_dir.mkdir(parents=True, exist_ok=True)
    name = f"pack-{checksum.hex()}"
    (pack_dir / f"{name}.pack").write_bytes(bytes(pack))
    (pack_dir / f"{name}.idx").write_bytes(bytes(index))


@dataclass(frozen=True)
class _File:
    content: tuple[str, ...] | bytes
    oid: pygit2.Oid


Content = tuple[str, ...] | bytes


@dataclass
class _State:
    files: dict[str, _File]
    tree: pygit2.Oid | None = None
    head: pygit2.Oid | None = None


@dataclass
class _Branch:
    state: _State
    base_tree: pygit2.Oid | None  # main's tree when the branch was cut: the merge ancestor
    touched: dict[str, None] = field(default_factory=dict)


def _sig(sig: Sig, when: datetime) -> pygit2.Signature:
    name, email, offset = sig
    return pygit2.Signature(name, email, int(when.timestamp()), offset)


def _encode(content: Content) -> bytes:
    return content if isinstance(content, bytes) else ("\n".join(content) + "\n").encode()


class _Executor:
    """Replays one team's plan as git objects, in time order, then writes refs and the pack."""

    def __init__(self, world: _World, team: _TeamPlan, rng: random.Random, path: Path) -> None:
        self.world, self.team, self.rng = world, team, rng
        self.spec = team.spec
        self.layout = _LAYOUTS[team.spec.lang]
        self.writer = _CodeWriter(team.spec.lang, rng)
        self.path = path
        self.repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
        self.store = _MemoryOdb()
        odb = pygit2.Odb()  # the memory store alone: no file-system probes on each write
        odb.add_backend(self.store, 1)
        self.repo.set_odb(odb)
        self.main = _State({})
        self.branches: dict[int, _Branch] = {}
        self.main_log: list[tuple[datetime, str]] = []
        self.since_release: list[_Pull] = []
        self.version = team.spec.first_version
        self.images = 0

    # -- plumbing -----------------------------------------------------------------------------

    def tree_of(self, oid: pygit2.Oid) -> pygit2.Tree:
        tree = self.repo[oid]
        assert isinstance(tree, pygit2.Tree)
        return tree

    def commit_of(self, oid: pygit2.Oid | str) -> pygit2.Commit:
        return self.repo[oid].peel(pygit2.Commit)

    def apply(self, state: _State, changes: dict[str, Content | None]) -> pygit2.Oid:
        blobs: dict[str, pygit2.Oid | None] = {}
        for path, content in changes.items():
            if content is None:
                if state.files.pop(path, None) is not None:
                    blobs[path] = None
                continue
            oid = self.repo.create_blob(_encode(content))
            state.files[path] = _File(content, oid)
            blobs[path] = oid
        tree = self.update_tree(self.tree_of(state.tree) if state.tree else None, blobs)
        return tree if tree is not None else self.empty_tree()

    def empty_tree(self) -> pygit2.Oid:
        return self.repo.TreeBuilder().write()

    def update_tree(
        self, tree: pygit2.Tree | None, changes: dict[str, pygit2.Oid | None]
    ) -> pygit2.Oid | None:
        """Rewrite only the trees on the changed paths.

        Rebuilding the whole tree from an index costs a validation lookup per file on every
        commit; this touches a handful of trees instead. None means the tree became empty.
        """
        builder = self.repo.TreeBuilder(tree) if tree is not None else self.repo.TreeBuilder()
        nested: dict[str, dict[str, pygit2.Oid | None]] = {}
        for path, oid in changes.items():
            head, slash, rest = path.partition("/")
            if slash:
                nested.setdefault(head, {})[rest] = oid
            elif oid is None:
                if builder.get(head) is not None:
                    builder.remove(head)
            else:
                builder.insert(head, oid, FileMode.BLOB)
        for name, inner in nested.items():
            entry = tree[name] if tree is not None and name in tree else None
            subtree = (
                self.repo[entry.id]
                if entry is not None and entry.filemode == FileMode.TREE
                else None
            )
            assert subtree is None or isinstance(subtree, pygit2.Tree)
            written = self.update_tree(subtree, inner)
            if written is None:
                if builder.get(name) is not None:
                    builder.remove(name)
            else:
                builder.insert(name, written, FileMode.TREE)
        return builder.write() if len(builder) else None

    def commit(
        self,
        state: _State,
        author: Sig,
        committer: Sig,
        when: datetime,
        message: str,
        tree: pygit2.Oid,
        parents: list[pygit2.Oid],
    ) -> pygit2.Oid:
        oid = self.repo.create_commit(
            None, _sig(author, when), _sig(committer, when), message, tree, parents
        )
        state.tree, state.head = tree, oid
        return oid

    def advance_main(self, when: datetime, oid: pygit2.Oid) -> None:
        self.main_log.append((when, str(oid)))

    # -- the replay ---------------------------------------------------------------------------

    def run(self) -> None:
        cut = self.world.cut
        events: list[tuple[datetime, int, Callable[[], None]]] = []

        def add(when: datetime, action: Callable[[], None]) -> None:
            if when <= cut:
                events.append((when, len(events), action))

        for pull in self.team.pulls:
            for commit in pull.commits:
                add(commit.when, lambda p=pull, c=commit: self.branch_commit(p, c))
            if pull.merged:
                add(pull.merged, lambda p=pull: self.merge(p))
        for direct in self.team.directs:
            add(direct.when, lambda d=direct: self.direct(d))
        for release in self.team.releases:
            add(release.when, lambda r=release: self.release(r))
        self.initial_commit()
        for _, _, action in sorted(events, key=lambda e: (e[0], e[1])):
            action()
        self.finish()

    def initial_commit(self) -> None:
        rng, layout, spec = self.rng, self.layout, self.spec
        files: dict[str, Content | None] = {".mailmap": tuple(_MAILMAP.splitlines())}
        version = ".".join(map(str, self.version))
        deps = _DEPENDENCIES[spec.lang]
        code = str(self.version[0] * 100 + self.version[1] * 10 + self.version[2])
        for path, text in _STATIC[spec.lang].items():
            rendered = text.replace("{version}", version).replace("{code}", code)
            files[path] = tuple(rendered.splitlines())
        files[layout.lock] = _lock_lines(spec.lang, _lock_packages(spec.lang))
        files[layout.manifest] = _manifest_lines(spec.lang, deps, version)
        files["README.md"] = (
            f"# {spec.repo}",
            "",
            f"{_ORG} {spec.name.lower()} service.",
            "",
            *self.writer.lines("md", 30),
        )
        files["CHANGELOG.md"] = ("# Changelog", "", f"## v{version}", "", "- Initial import", "")
        owners = " ".join(f"@{m.spec.login}" for m in self.team.members)
        files[".github/CODEOWNERS"] = (f"* @{_GH}/{spec.name.lower()} {owners}",)
        files[".github/workflows/ci.yml"] = self.writer.new_file("ci.yml", 30, "ci")
        files[".gitignore"] = ("__pycache__/", "node_modules/", "build/", ".idea/", "*.log")
        for doc in layout.docs:
            files[doc] = self.writer.new_file(
                doc, rng.randint(40, 120), doc.rsplit("/", 1)[-1][:-3]
            )
        files[layout.generated] = self.writer.new_file(
            layout.generated, rng.randint(1500, 2200), "generated"
        )
        for component in spec.components[:9]:
            source = layout.source(component, ios=spec.lang == "kt" and rng.random() < 0.3)
            files[source] = self.writer.new_file(source, rng.randint(90, 260), component)
            files[layout.test(source)] = self.writer.new_file(
                layout.test(source), rng.randint(40, 140), component
            )
        if spec.lang != "py":
            for _ in range(3):
                files[self.new_image_path()] = _png(rng)
        lead = self.team.lead
        when = lead.after(self.world.start_dt + timedelta(hours=9), rng)
        tree = self.apply(self.main, files)
        message = f"Import {spec.repo} from the monorepo\n\nEarlier history stays in acme/legacy.\n"
        oid = self.commit(self.main, lead.sig, lead.sig, when, message, tree, [])
        self.advance_main(when, oid)

    def new_image_path(self) -> str:
        self.images += 1
        name = _IMAGE_NAMES[self.images % len(_IMAGE_NAMES)]
        return self.layout.image(f"{name}_{self.images}")

    def branch_commit(self, pull: _Pull, commit: _Commit) -> None:
        key = id(pull)
        branch = self.branches.get(key)
        if branch is None:
            branch = _Branch(
                _State(dict(self.main.files), self.main.tree, self.main.head), self.main.tree
            )
            self.branches[key] = branch
            pull.base_sha = str(self.main.head)
        changes = self.changes(branch.state.files, pull, commit)
        branch.touched.update(dict.fromkeys(changes))
        parents = [branch.state.head] if branch.state.head is not None else []
        parent_tree = branch.state.tree
        tree = self.apply(branch.state, changes) if changes else branch.state.tree
        assert tree is not None
        oid = self.commit(
            branch.state,
            commit.author,
            commit.committer,
            commit.when,
            commit.message,
            tree,
            parents,
        )
        commit.sha, commit.tree = str(oid), str(tree)
        commit.parents = tuple(str(p) for p in parents)
        pull.head_sha = commit.sha
        if commit.note and parent_tree is not None:
            self.note(pull, commit, parent_tree, tree)

    def merge(self, pull: _Pull) -> None:
        branch = self.branches.pop(id(pull))
        main = self.main
        assert branch.state.tree and branch.state.head and branch.base_tree
        assert main.tree is not None and main.head is not None
        index = self.repo.merge_trees(
            branch.base_tree,
            main.tree,
            branch.state.tree,
            favor=MergeFavor.THEIRS,
            flags=MergeFlag(0),
        )
        if index.conflicts is not None:
            for ancestor, ours, theirs in list(index.conflicts):
                entry = theirs or ours or ancestor
                assert entry is not None
                del index.conflicts[entry.path]
                if theirs is not None:
                    index.add(theirs)
        # Without rename detection only the paths the branch touched can differ from main.
        merged: dict[str, pygit2.Oid | None] = {}
        for path in branch.touched:
            if path not in index:
                if main.files.pop(path, None) is not None:
                    merged[path] = None
                continue
            oid = index[path].id
            mine = branch.state.files.get(path)
            if mine is not None and mine.oid == oid:
                main.files[path] = mine
            elif path not in main.files or main.files[path].oid != oid:
                main.files[path] = _File(self.read_content(oid), oid)
            merged[path] = oid
        tree = self.update_tree(self.tree_of(main.tree), merged) or self.empty_tree()
        merger = pull.merger or self.team.lead
        when = pull.merged
        assert when is not None
        if pull.method == "merge":
            message = (
                f"Merge pull request #{pull.number} from {_GH}/{pull.branch}\n\n{pull.title}\n"
            )
            parents = [main.head, branch.state.head]
            author = merger.sig
        else:
            message = self.squash_message(pull)
            parents = [main.head]
            author = self.squash_author(pull, merger)
        committer = (_GITHUB_SIG[0], _GITHUB_SIG[1], author[2])
        oid = self.commit(main, author, committer, when, message, tree, parents)
        pull.merge_sha = str(oid)
        self.advance_main(when, oid)
        self.since_release.append(pull)

    def read_content(self, oid: pygit2.Oid) -> Content:
        blob = self.repo[oid]
        assert isinstance(blob, pygit2.Blob)
        data = blob.data
        if b"\x00" in data[:8000]:
            return data
        return tuple(data.decode().removesuffix("\n").split("\n"))

    def squash_author(self, pull: _Pull, merger: _Person) -> Sig:
        if pull.author.type == "Bot" and (pull.tool != "copilot_agent" or pull.squash_as_bot):
            login = pull.author.login
            return (login, _noreply(login, pull.author.id), 0)
        person = pull.human or merger
        return person.sig

    def squash_message(self, pull: _Pull) -> str:
        """GitHub's default squash message: every branch commit's message, trailers and all (F1)."""
        commits = [c for c in pull.commits if c.sha]
        author = self.squash_author(pull, pull.merger or self.team.lead)
        if len(commits) == 1:
            _, _, body = commits[0].message.partition("\n")
            body = body.strip("\n")
        else:
            body = "\n\n".join("* " + c.message.strip("\n") for c in commits)
        co_authors: dict[str, None] = {}
        for c in commits:
            name, email, _ = c.author
            if email != author[1]:
                co_authors[f"Co-authored-by: {name} <{email}>"] = None
        if co_authors:
            body = (body + "\n\n" if body else "") + "---------\n\n" + "\n".join(co_authors)
        return f"{pull.title} (#{pull.number})" + (f"\n\n{body}" if body else "") + "\n"

    def direct(self, direct: _Direct) -> None:
        main = self.main
        assert main.head is not None
        if direct.kind == "revert" and direct.target is not None and direct.target.merge_sha:
            if self.revert(direct):
                return
            direct.subject = f"Hotfix: restore {_phrase(direct.target.component)} behaviour"
        changes = self.small_edit(main.files, "README.md" if direct.kind == "webedit" else None)
        tree = self.apply(main, changes)
        message = direct.subject + "\n"
        oid = self.commit(
            main, direct.author, direct.committer, direct.when, message, tree, [main.head]
        )
        direct.sha = str(oid)
        self.advance_main(direct.when, oid)

    def revert(self, direct: _Direct) -> bool:
        """A real ``git revert`` of the culprit; False when it would conflict."""
        main = self.main
        assert direct.target is not None and main.head is not None
        target = self.commit_of(direct.target.merge_sha)
        mainline = 1 if len(target.parents) > 1 else 0
        index = self.repo.revert_commit(target, self.commit_of(main.head), mainline)
        if index.conflicts is not None:
            return False
        tree = index.write_tree(self.repo)
        parent_tree = target.parents[0].tree
        for delta in parent_tree.diff_to_tree(target.tree).deltas:
            for path in dict.fromkeys((delta.old_file.path, delta.new_file.path)):
                if path in index:
                    oid = index[path].id
                    main.files[path] = _File(self.read_content(oid), oid)
                else:
                    main.files.pop(path, None)
        subject = target.message.split("\n", 1)[0]
        body = f"This reverts commit {target.id}."
        if mainline:
            first_parent = target.parents[0].id
            body = f"This reverts commit {target.id}, reversing\nchanges made to {first_parent}."
        oid = self.commit(
            main,
            direct.author,
            direct.committer,
            direct.when,
            f'Revert "{subject}"\n\n{body}\n',
            tree,
            [main.head],
        )
        direct.sha = str(oid)
        self.advance_main(direct.when, oid)
        return True

    def release(self, release: _Release) -> None:
        main, spec = self.main, self.spec
        assert main.head is not None
        major, minor, patch = self.version
        self.version = (major, minor, patch + 1) if release.patch else (major, minor + 1, 0)
        version = ".".join(map(str, self.version))
        release.version = f"v{version}"
        lines = [f"- {p.title} (#{p.number})" for p in self.since_release if p.kind != "deps"][:40]
        self.since_release = []
        changelog = main.files["CHANGELOG.md"].content
        assert isinstance(changelog, tuple)
        section = (
            f"## v{version} ({release.when.date().isoformat()})",
            "",
            *(lines or ["- Maintenance"]),
            "",
        )
        changes: dict[str, Content | None] = {
            "CHANGELOG.md": (*changelog[:2], *section, *changelog[2:])
        }
        version_file = main.files[self.layout.version_file].content
        assert isinstance(version_file, tuple)
        code = self.version[0] * 100 + self.version[1] * 10 + self.version[2]
        changes[self.layout.version_file] = tuple(
            _set_version(line, version, code) for line in version_file
        )
        tree = self.apply(main, changes)
        if spec.deploy_hours:
            sig: Sig = (_ACTIONS.name, _ACTIONS.email, 0)
            message = f"chore(release): v{version}\n\n[skip ci]\n"
        else:
            sig = self.team.lead.sig
            message = f"Release {version}\n"
        oid = self.commit(main, sig, sig, release.when, message, tree, [main.head])
        release.sha = str(oid)
        release.published = release.when + timedelta(minutes=self.rng.randint(2, 9))
        self.advance_main(release.when, oid)
        if spec.key == "WEB":
            self.repo.references.create(f"refs/tags/v{version}", oid)
        else:
            tagger = _sig(sig, release.when + timedelta(minutes=1))
            self.repo.create_tag(
                f"v{version}", oid, ObjectType.COMMIT, tagger, f"Release v{version}\n"
            )

    # -- what a commit changes ----------------------------------------------------------------

    def changes(
        self, files: dict[str, _File], pull: _Pull, commit: _Commit
    ) -> dict[str, Content | None]:
        kind = commit.kind
        if kind == "empty":
            return {}
        if kind == "deps":
            return self.bump(files, pull)
        if kind == "lockregen":
            return self.regenerate_lock(files)
        if kind == "regen":
            return self.regenerate(files, self.layout.generated, 0.35)
        if kind == "vendor":
            return self.vendor()
        if kind == "delete":
            return self.delete_module(files, pull.component)
        if kind in ("fix", "hotfix"):
            return self.small_edit(files, self.layout.source(pull.component), commit.size)
        return self.code_change(files, pull, commit.size)

    def text(self, files: dict[str, _File], path: str) -> tuple[str, ...] | None:
        current = files.get(path)
        if current is None or isinstance(current.content, bytes):
            return None
        return current.content

    def edit(self, files: dict[str, _File], path: str, add: int, component: str) -> Content:
        rng = self.rng
        lines = self.text(files, path)
        if lines is None:
            return self.writer.new_file(path, max(add, 12), component)
        delete = int(add * rng.uniform(0.0, 0.7)) if rng.random() < 0.7 else 0
        if len(lines) > 320:
            delete = max(delete, add)  # modules get split before they grow huge
        return _splice(lines, self.writer.lines(_file_type(path), add), delete, rng)

    def code_change(
        self, files: dict[str, _File], pull: _Pull, size: int
    ) -> dict[str, Content | None]:
        rng, layout = self.rng, self.layout
        component = pull.component or rng.choice(self.spec.components)
        ios = self.spec.lang == "kt" and rng.random() < 0.35
        candidates = [layout.source(component, v, ios) for v in ("", *layout.variants)]
        existing = [p for p in candidates if p in files]
        fresh = [p for p in candidates if p not in files]
        # Features now and then start a new module, so trees keep growing over the year.
        if fresh and (not existing or (pull.kind == "feature" and rng.random() < 0.2)):
            source = fresh[0]
        else:
            source = rng.choice(existing)
        changes: dict[str, Content | None] = {}
        with_test = rng.random() < 0.6
        main_share = size if not with_test else max(1, int(size * 0.6))
        changes[source] = self.edit(files, source, main_share, component)
        if with_test:
            test = layout.test(source)
            changes[test] = self.edit(files, test, max(1, size - main_share), component)
        roll = rng.random()
        if roll < 0.07:
            doc = rng.choice(layout.docs)
            changes[doc] = self.edit(files, doc, rng.randint(3, 25), component)
        elif roll < 0.1:
            changes[".github/workflows/ci.yml"] = self.edit(
                files, ".github/workflows/ci.yml", rng.randint(2, 8), "ci"
            )
        elif roll < 0.13 and self.spec.lang != "py":
            existing_images = [p for p in files if p.endswith(".png")]
            path = (
                rng.choice(existing_images)
                if existing_images and rng.random() < 0.4
                else self.new_image_path()
            )
            changes[path] = _png(rng)
        elif roll < 0.16 and self.spec.lang == "py" and pull.kind == "feature":
            number = sum(1 for p in files if p.startswith("src/payments_api/db/migrations/")) + 1
            path = f"src/payments_api/db/migrations/{number:04d}_{component}.sql"
            changes[path] = self.writer.new_file(path, rng.randint(6, 30), component)
        return changes

    def small_edit(
        self, files: dict[str, _File], path: str | None, size: int = 3
    ) -> dict[str, Content | None]:
        rng = self.rng
        if path is None or self.text(files, path) is None:
            candidates = [p for p in files if p.endswith((".py", ".ts", ".tsx", ".kt", ".md"))]
            path = rng.choice(sorted(candidates))
        return {path: self.edit(files, path, max(1, min(size, 20)), "fix")}

    def bump(self, files: dict[str, _File], pull: _Pull) -> dict[str, Content | None]:
        """One dependency update, the way Dependabot or Renovate writes it."""
        rng, lang, layout = self.rng, self.spec.lang, self.layout
        package = pull.dependency
        changes: dict[str, Content | None] = {}
        manifest = self.text(files, layout.manifest) or ()
        old = new = ""
        if lang == "ts":
            lock = list(self.text(files, layout.lock) or ())
            at = lock.index(f'    "node_modules/{package}": {{')
            old = lock[at + 1].split('"')[3]
            new = _bump(old, rng)
            base = package.rsplit("/", 1)[-1]
            lock[at + 1] = f'      "version": "{new}",'
            lock[at + 2] = (
                f'      "resolved": "https://registry.npmjs.org/{package}/-/{base}-{new}.tgz",'
            )
            lock[at + 3] = f'      "integrity": "sha512-{_integrity(package + new)}",'
            changes[layout.lock] = tuple(lock)
            changes[layout.manifest] = tuple(
                re.sub(r'\^[^"]+"', f'^{new}"', line)
                if line.startswith(f'    "{package}": ')
                else line
                for line in manifest
            )
        elif lang == "py":
            lock = list(self.text(files, layout.lock) or ())
            at = next(i for i, line in enumerate(lock) if line.startswith(f"{package}=="))
            old = lock[at].split("==")[1].split()[0]
            new = _bump(old, rng)
            lock[at] = f"{package}=={new} \\"
            lock[at + 1] = f"    --hash=sha256:{_digest(package + new).hex()[:64]}"
            changes[layout.lock] = tuple(lock)
        else:
            lines = list(manifest)
            at = next(i for i, line in enumerate(lines) if line.startswith(f"{package} = "))
            old = lines[at].split('"')[1]
            new = _bump(old, rng)
            lines[at] = f'{package} = "{new}"'
            changes[layout.manifest] = tuple(lines)
        if pull.author is _DEPENDABOT:
            pull.stem = f"Bump {package} from {old} to {new}"
            ecosystem = "npm_and_yarn" if lang == "ts" else "pip"
            pull.branch = f"dependabot/{ecosystem}/{package}-{new}"
            owner, name = package.strip("@").replace("/", "-"), package.rsplit("/", 1)[-1]
            url = f"https://github.com/{owner}/{name}"
            kind = "semver-minor" if new.endswith(".0") else "semver-patch"
            body = (
                f"Bumps [{package}]({url}) from {old} to {new}.\n"
                f"- [Release notes]({url}/releases)\n"
                f"- [Commits]({url}/compare/v{old}...v{new})\n\n---\nupdated-dependencies:\n"
                f"- dependency-name: {package}\n  dependency-version: {new}\n"
                f"  dependency-type: direct:production\n  update-type: version-update:{kind}\n..."
            )
            pull.commits[0].message = _message(
                pull.stem, body, "", ["Signed-off-by: dependabot[bot] <support@github.com>"]
            )
            pull.body = (
                f"Bumps [{package}]({url}) from {old} to {new}.\n\n"
                "Dependabot will resolve any conflicts with this PR as long as you don't alter "
                "it yourself. You can also trigger a rebase manually by commenting "
                "`@dependabot rebase`."
            )
        else:
            pull.stem = f"Update dependency {package} to v{new}"
            pull.branch = f"renovate/{package.lower()}-{new.split('.')[0]}.x"
            pull.commits[0].message = pull.stem + "\n"
            pull.body = (
                f"This PR contains the following updates:\n\n| Package | Change |\n|---|---|\n"
                f"| {package} | `{old}` -> `{new}` |\n\n---\n\nThis PR was generated by "
                "[Mend Renovate](https://mend.io/renovate/)."
            )
        pull.title = pull.stem
        pull.commits[0].subject = pull.stem
        return changes

    def regenerate_lock(self, files: dict[str, _File]) -> dict[str, Content | None]:
        """Re-resolve the lock file: about a third of the packages move to newer versions."""
        rng, lang = self.rng, self.spec.lang
        pinned = _lock_versions(lang, self.text(files, self.layout.lock) or ())
        packages = []
        for name, version, direct in _lock_packages(lang):
            current = pinned.get(name, version)
            packages.append((name, _bump(current, rng) if rng.random() < 0.35 else current, direct))
        return {self.layout.lock: _lock_lines(lang, packages)}

    def regenerate(
        self, files: dict[str, _File], path: str, share: float
    ) -> dict[str, Content | None]:
        rng = self.rng
        lines = self.text(files, path) or self.writer.new_file(path, 1800, "generated")
        for _ in range(8):
            count = int(len(lines) * share / 8)
            lines = _splice(lines, self.writer.lines(_file_type(path), count), count, rng)
        return {path: lines}

    def vendor(self) -> dict[str, Content | None]:
        rng = self.rng
        if self.spec.lang == "py":
            names = (
                "canvas",
                "fonts",
                "layout",
                "pages",
                "tables",
                "images",
                "encoding",
                "__init__",
            )
            return {
                f"vendor/pdfgen/{name}.py": self.writer.new_file(
                    f"vendor/pdfgen/{name}.py", rng.randint(250, 600), name
                )
                for name in names
            } | {"vendor/pdfgen/LICENSE": ("MIT License", "", "Copyright (c) pdfgen authors")}
        return {
            "vendor/chart-lite/chart-lite.js": self.writer.new_file(
                "vendor/chart-lite/chart-lite.js", 1400, "chart"
            ),
            "vendor/chart-lite/LICENSE": ("MIT License", "", "Copyright (c) chart-lite authors"),
        }

    def delete_module(self, files: dict[str, _File], component: str) -> dict[str, Content | None]:
        layout = self.layout
        sources = [
            p
            for p in (
                layout.source(component, v, ios)
                for ios in (False, True)
                for v in ("", *layout.variants)
            )
            if p in files
        ]
        if not sources:
            return self.small_edit(files, None)
        source = sources[-1]
        return (
            {source: None, layout.test(source): None}
            if layout.test(source) in files
            else {source: None}
        )

    # -- git-ai notes and the end -------------------------------------------------------------

    def note(self, pull: _Pull, commit: _Commit, parent_tree: pygit2.Oid, tree: pygit2.Oid) -> None:
        """A git-ai authorship log (Git AI Standard v3.0.0) over the lines this commit added."""
        rng, person = self.rng, pull.human
        assert person is not None and pull.tool is not None
        diff = self.tree_of(parent_tree).diff_to_tree(self.tree_of(tree))
        tool, model = _NOTE_TOOLS[pull.tool]
        session = "s_" + hashlib.sha256(f"{tool}:{pull.conversation}".encode()).hexdigest()[:14]
        trace = "t_" + f"{rng.getrandbits(56):014x}"
        human_key = (
            "h_" + hashlib.sha256(f"{person.spec.name} <{person.email}>".encode()).hexdigest()[:14]
        )
        lines: list[str] = []
        human_used = False
        for patch in diff:
            if patch is None:
                continue
            added = [ln.new_lineno for hunk in patch.hunks for ln in hunk.lines if ln.origin == "+"]
            if not added:
                continue
            runs = _runs(added)
            ai_runs, human_runs = [], []
            for run in runs:
                if run[1] - run[0] >= 3 and rng.random() < 0.2:
                    human_runs.append(run)  # the person rewrote this part by hand
                elif rng.random() < 0.95:
                    ai_runs.append(run)
            path = patch.delta.new_file.path
            lines.append(f'"{path}"' if " " in path else path)
            if ai_runs:
                lines.append(f"  {session}::{trace} {_ranges(ai_runs)}")
            if human_runs:
                human_used = True
                lines.append(f"  {human_key} {_ranges(human_runs)}")
        meta: dict[str, Any] = {
            "schema_version": "authorship/3.0.0",
            "git_ai_version": "1.4.2" if commit.when < _utc(2026, 8, 1) else "1.5.6",
            "base_commit_sha": commit.sha,
            "prompts": {},
            "sessions": {
                session: {
                    "agent_id": {"tool": tool, "id": pull.conversation, "model": model},
                    "human_author": f"{person.spec.name} <{person.email}>",
                }
            },
        }
        if not lines:
            return
        if human_used:
            meta["humans"] = {human_key: {"author": f"{person.spec.name} <{person.email}>"}}
        text = "\n".join(lines) + "\n---\n" + json.dumps(meta, indent=2) + "\n"
        sig = _sig(person.sig, commit.when + timedelta(seconds=30))
        self.repo.create_note(text, sig, sig, commit.sha, "refs/notes/ai")

    def finish(self) -> None:
        assert self.main.head is not None
        refs = {"refs/heads/main": str(self.main.head)}
        cut = self.world.cut
        for pull in self.team.pulls:
            if not pull.head_sha:
                continue
            if pull.number:
                refs[f"refs/pull/{pull.number}/head"] = pull.head_sha
            finished = (pull.merged and pull.merged <= cut) or (pull.closed and pull.closed <= cut)
            if not finished and pull.branch:
                refs[f"refs/heads/{pull.branch}"] = pull.head_sha
        # Thousands of refs/pull/* as loose files cost seconds of directory churn; a mirror
        # clone keeps them in packed-refs anyway. Tags and the notes ref stay loose.
        lines = ["# pack-refs with: peeled fully-peeled sorted "]
        lines += [f"{sha} {name}" for name, sha in sorted(refs.items())]
        (self.path / "packed-refs").write_text("\n".join(lines) + "\n")
        times = [t for t, _ in self.main_log]
        for deploy in self.team.deploys:
            at = max(bisect.bisect_right(times, deploy.when) - 1, 0)
            deploy.sha = (
                deploy.release.sha
                if deploy.release and deploy.release.sha
                else self.main_log[at][1]
            )
            if deploy.release is not None:
                deploy.ref = deploy.release.version
        _write_pack(self.path / "objects" / "pack", self.store.objects)


def _runs(numbers: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _ranges(runs: Sequence[tuple[int, int]]) -> str:
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


# --------------------------------------------------------------------------------------------
# Vendor-shaped exports


def _gh_time(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _jira_time(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(_JIRA_TZ).strftime("%Y-%m-%dT%H:%M:%S.000%z")


def _jira_utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _csv_time(t: datetime | None) -> str:
    if t is None:
        return ""
    local = t.astimezone(_JIRA_TZ)
    hour = local.hour % 12 or 12
    return (
        f"{local.day:02d}/{_MONTHS[local.month - 1]}/{local.year % 100:02d} "
        f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    )


def _write_json(path: Path, data: list[Any] | dict[str, Any]) -> None:
    """One item per line: greppable and diffable, and written by json's C encoder, which
    ``indent`` would switch off."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    if isinstance(data, dict):
        lines = [f"{dump(key)}: {dump(value)}" for key, value in data.items()]
        text = "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"
    else:
        text = "[\n" + ",\n".join(dump(item) for item in data) + "\n]\n" if data else "[]\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _label(name: str) -> dict[str, Any]:
    colours = {
        "bug": "d73a4a",
        "enhancement": "a2eeef",
        "dependencies": "0366d6",
        "hotfix": "b60205",
    }
    return {
        "id": 5_000_000_000 + zlib.crc32(name.encode()),
        "name": name,
        "color": colours.get(name, "ededed"),
        "default": name in ("bug", "enhancement"),
    }


def _commit_user(email: str, people: dict[str, _Person]) -> dict[str, Any] | None:
    person = people.get(email)
    if person is not None:
        return person.account.json()
    for account in (_COPILOT, _DEVIN, _DEPENDABOT, _RENOVATE, _ACTIONS):
        if email == account.email:
            return account.json()
    return None


def _export_github(world: _World, team: _TeamPlan, out: Path) -> None:
    """GitHub REST shapes, one folder per repository; times are ISO-8601 UTC with ``Z``.

    ``pulls.json``: the items of ``GET /repos/{o}/{r}/pulls?state=all``, newest first: number,
    title, body, state, draft, user{login,id,type}, head{ref,sha}, base{ref,sha}, labels[{name}],
    created_at, updated_at, closed_at, merged_at, merge_commit_sha (the trunk commit, null unless
    merged), requested_reviewers. Agent PRs are authored by ``Copilot`` or
    ``devin-ai-integration[bot]`` (type Bot). ``reviews.json``: ``{"<number>": [{id,
    user{login,type}, state, submitted_at, commit_id}]}`` as ``GET .../pulls/{n}/reviews``.
    ``pr_commits.json``: ``{"<number>": [{sha, commit{author, committer, message}, parents}]}``
    as ``GET .../pulls/{n}/commits``, full messages with trailers. ``issues.json``: ``GET
    .../issues?state=all`` items, PRs left out. ``releases.json``: ``GET .../releases``
    (tag_name, created_at, published_at). ``deployments.json``: ``GET .../deployments`` items
    (id, sha, ref, environment, created_at), each with its one final status (success or
    failure) from ``GET .../deployments/{id}/statuses`` inlined as ``statuses``.
    """
    cut, spec = world.cut, team.spec
    repo_url = f"https://github.com/{_GH}/{spec.repo}"
    api = f"https://api.github.com/repos/{_GH}/{spec.repo}"
    people = {p.email: p for p in world.people}
    for p in world.people:
        people.setdefault(_github_noreply(p), p)
    pulls, reviews, commits = [], {}, {}
    review_id = 2_400_000_000 + spec.board_id * 10_000_000
    for pull in sorted((p for p in team.pulls if p.number), key=lambda p: p.number, reverse=True):
        merged = pull.merged if pull.merged and pull.merged <= cut else None
        closed = merged or (pull.closed if pull.closed and pull.closed <= cut else None)
        shown = [c for c in pull.commits if c.sha]
        seen = [r for r in pull.reviews if r.when <= cut]
        reviewed = {r.user.login for r in seen}
        pending = (
            []
            if closed
            else [m.account.json() for m in pull.reviewers if m.account.login not in reviewed]
        )
        moments = [pull.created, *(c.when for c in shown), *(r.when for r in seen)]
        updated = max([*moments, closed] if closed else moments)
        user = pull.author
        pulls.append(
            {
                "url": f"{api}/pulls/{pull.number}",
                "id": 2_000_000_000 + spec.board_id * 10_000_000 + pull.number * 7,
                "html_url": f"{repo_url}/pull/{pull.number}",
                "number": pull.number,
                "state": "closed" if closed else "open",
                "locked": False,
                "title": pull.title,
                "user": user.json(),
                "body": pull.body or None,
                "labels": [_label(n) for n in pull.labels],
                "created_at": _gh_time(pull.created),
                "updated_at": _gh_time(updated),
                "closed_at": _gh_time(closed),
                "merged_at": _gh_time(merged),
                "merge_commit_sha": pull.merge_sha if merged else None,
                "assignee": pull.human.account.json()
                if pull.human and user.type == "Bot"
                else None,
                "assignees": [pull.human.account.json()]
                if pull.human and user.type == "Bot"
                else [],
                "requested_reviewers": pending,
                "requested_teams": [],
                "head": {
                    "label": f"{_GH}:{pull.branch}",
                    "ref": pull.branch,
                    "sha": pull.head_sha,
                    "repo": {"full_name": f"{_GH}/{spec.repo}"},
                },
                "base": {
                    "label": f"{_GH}:main",
                    "ref": "main",
                    "sha": pull.base_sha,
                    "repo": {"full_name": f"{_GH}/{spec.repo}"},
                },
                "author_association": "MEMBER"
                if user.type == "User"
                else "CONTRIBUTOR"
                if user is not _DEPENDABOT
                else "NONE",
                "auto_merge": None,
                "active_lock_reason": None,
                "draft": pull.draft and not closed,
            }
        )
        rows = []
        for review in sorted(seen, key=lambda r: r.when):
            review_id += 1
            head = [c.sha for c in shown if c.when <= review.when]
            rows.append(
                {
                    "id": review_id,
                    "user": review.user.json(),
                    "body": review.body,
                    "state": review.state,
                    "html_url": f"{repo_url}/pull/{pull.number}#pullrequestreview-{review_id}",
                    "submitted_at": _gh_time(review.when),
                    "commit_id": head[-1] if head else pull.head_sha,
                    "author_association": "MEMBER" if review.user.type == "User" else "NONE",
                }
            )
        reviews[str(pull.number)] = rows
        commits[str(pull.number)] = [
            {
                "sha": c.sha,
                "commit": {
                    "author": {"name": c.author[0], "email": c.author[1], "date": _gh_time(c.when)},
                    "committer": {
                        "name": c.committer[0],
                        "email": c.committer[1],
                        "date": _gh_time(c.when),
                    },
                    "message": c.message.rstrip("\n"),
                    "tree": {"sha": c.tree},
                },
                "author": _commit_user(c.author[1], people),
                "committer": _commit_user(c.committer[1], people),
                "parents": [{"sha": p} for p in c.parents],
                "html_url": f"{repo_url}/commit/{c.sha}",
            }
            for c in shown
        ]
    issues = []
    for gh in sorted((g for g in team.gh_issues if g.number), key=lambda g: g.number, reverse=True):
        closed = gh.closed if gh.closed and gh.closed <= cut else None
        issues.append(
            {
                "url": f"{api}/issues/{gh.number}",
                "id": 2_600_000_000 + spec.board_id * 10_000_000 + gh.number * 7,
                "html_url": f"{repo_url}/issues/{gh.number}",
                "number": gh.number,
                "title": gh.title,
                "user": gh.user.json(),
                "labels": [_label(n) for n in gh.labels],
                "state": "closed" if closed else "open",
                "state_reason": gh.reason if closed else None,
                "assignee": gh.assignees[0].json() if gh.assignees else None,
                "assignees": [a.json() for a in gh.assignees],
                "comments": 0,
                "created_at": _gh_time(gh.created),
                "updated_at": _gh_time(closed or gh.created),
                "closed_at": _gh_time(closed),
                "author_association": "MEMBER" if gh.user is not _SUPPORT else "COLLABORATOR",
                "body": gh.body,
            }
        )
    releases = []
    for n, release in enumerate(team.releases, start=1):
        if not release.sha:
            continue
        author = _ACTIONS if spec.deploy_hours else team.lead.account
        releases.append(
            {
                "url": f"{api}/releases/{180_000_000 + spec.board_id * 100_000 + n}",
                "id": 180_000_000 + spec.board_id * 100_000 + n,
                "html_url": f"{repo_url}/releases/tag/{release.version}",
                "tag_name": release.version,
                "target_commitish": "main",
                "name": release.version,
                "draft": False,
                "prerelease": False,
                "created_at": _gh_time(release.when),
                "published_at": _gh_time(release.published),
                "author": author.json(),
            }
        )
    deployments = []
    for n, deploy in enumerate(team.deploys, start=1):
        if deploy.when > cut or not deploy.sha:
            continue
        ident = 1_800_000_000 + spec.board_id * 1_000_000 + n
        finished = deploy.when + timedelta(minutes=4 + n % 9)
        deployments.append(
            {
                "url": f"{api}/deployments/{ident}",
                "id": ident,
                "sha": deploy.sha,
                "ref": deploy.ref,
                "task": "deploy",
                "environment": "production",
                "creator": _ACTIONS.json(),
                "created_at": _gh_time(deploy.when),
                "updated_at": _gh_time(finished),
                "statuses": [
                    {
                        "id": ident * 10 + 1,
                        "state": "success" if deploy.ok else "failure",
                        "environment": "production",
                        "created_at": _gh_time(finished),
                    }
                ],
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "pulls.json", pulls)
    _write_json(out / "reviews.json", reviews)
    _write_json(out / "pr_commits.json", commits)
    _write_json(out / "issues.json", issues)
    _write_json(out / "releases.json", releases[::-1])
    _write_json(out / "deployments.json", deployments[::-1])


_STATUS_IDS = {"To Do": "10000", "In Progress": "3", "In Review": "10001", "Done": "10002"}
_CATEGORIES = {
    "To Do": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "In Progress": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "In Review": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "Done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
_TYPES = {"Story": ("10001", 0), "Task": ("10002", 0), "Bug": ("10004", 0), "Epic": ("10000", 1)}
_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4"}
_EXPAND = "operations,versionedRepresentations,editmeta,changelog,renderedFields"
_POINTS_FIELD, _ESTIMATE_FIELD, _SPRINT_FIELD = (
    "customfield_10028",
    "customfield_10016",
    "customfield_10020",
)


def _jira_fields() -> list[dict[str, Any]]:
    system, custom = jira_sim.system_field, jira_sim.custom_field
    return [
        system("summary", "Summary", "string"),
        system("issuetype", "Issue Type", "issuetype"),
        system("status", "Status", "status"),
        system("project", "Project", "project"),
        system("created", "Created", "datetime"),
        system("updated", "Updated", "datetime"),
        system("resolutiondate", "Resolved", "datetime"),
        system("resolution", "Resolution", "resolution"),
        system("assignee", "Assignee", "user"),
        system("reporter", "Reporter", "user"),
        system("labels", "Labels", "array"),
        system("priority", "Priority", "priority"),
        system("parent", "Parent", "issuelink"),
        system("issuelinks", "Linked Issues", "array"),
        custom(10014, "Epic Link", "any", "com.pyxis.greenhopper.jira:gh-epic-link"),
        custom(
            10016, "Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"
        ),
        custom(10019, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
        custom(10020, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint", "json"),
        custom(
            10028,
            "Story Points",
            "number",
            "com.atlassian.jira.plugin.system.customfieldtypes:float",
        ),
    ]


@dataclass
class _History:
    when: datetime
    author: _Person | None  # None: the Automation for Jira app
    items: list[dict[str, Any]]


def _issue_histories(
    world: _World, team: _TeamPlan, issue: _Issue, rng: random.Random
) -> tuple[list[_History], list[int], str]:
    """Status, sprint, estimate and assignee changes up to the snapshot; returns them, the sprints
    the issue is in at the snapshot, and its status then."""
    cut, sprints = world.cut, team.sprints
    events: list[_History] = []
    actor = issue.assignee or issue.reporter

    def add(when: datetime, author: _Person | None, item: dict[str, Any]) -> None:
        events.append(_History(max(when, issue.created + timedelta(seconds=30)), author, [item]))

    if issue.kind == "Epic":
        if issue.started:
            add(
                issue.started,
                issue.reporter,
                jira_sim.item("status", "To Do", "In Progress", "10000", "3"),
            )
        if issue.done:
            add(
                issue.done,
                issue.reporter,
                jira_sim.item("status", "In Progress", "Done", "3", "10002"),
            )
    else:
        members = _sprint_membership(world, team, issue, rng)
        previous: list[int] = []
        for when, now in members:
            names = ", ".join(sprints[i].name for i in previous) or None
            ids = ", ".join(str(sprints[i].id) for i in previous) or None
            add(
                when,
                team.lead,
                jira_sim.item(
                    "Sprint",
                    names,
                    ", ".join(sprints[i].name for i in now) or None,
                    ids,
                    ", ".join(str(sprints[i].id) for i in now) or None,
                    _SPRINT_FIELD,
                ),
            )
            previous = now
        if issue.points is not None and not issue.points_at_creation:
            when = team.lead.after(issue.created + timedelta(hours=rng.uniform(2, 96)), rng)
            if members:
                when = min(when, members[0][0] - timedelta(minutes=30))
            add(
                when,
                team.lead,
                jira_sim.item("Story Points", None, str(issue.points), field_id=_POINTS_FIELD),
            )
        if (
            issue.points is not None
            and issue.started
            and issue.started + timedelta(hours=3) <= cut
            and rng.random() < 0.06
        ):
            scale = [1, 2, 3, 5, 8]
            old = issue.points
            issue.points = scale[min(scale.index(old) + 1, 4)]  # re-estimated once work began
            add(
                issue.started + timedelta(hours=3),
                actor,
                jira_sim.item("Story Points", str(old), str(issue.points), field_id=_POINTS_FIELD),
            )
        if issue.assignee and not issue.assigned_at_creation and issue.started:
            add(
                issue.started - timedelta(minutes=2),
                issue.assignee,
                jira_sim.item(
                    "assignee", None, issue.assignee.spec.name, None, issue.assignee.jira_id
                ),
            )
        moves = [(issue.started, "In Progress"), (issue.in_review, "In Review")]
        moves.append((issue.done, "Done") if issue.done else (issue.abandoned, "To Do"))
        status = "To Do"
        for when, new in sorted((w, s) for w, s in moves if w is not None):
            item = jira_sim.item("status", status, new, _STATUS_IDS[status], _STATUS_IDS[new])
            if new == "Done":
                author = None if issue.done_by_automation else actor
                resolution = jira_sim.item("resolution", None, "Done", None, "10000")
                events.append(_History(when, author, [item, resolution]))
            else:
                add(when, actor, item)
            status = new
    events = sorted((e for e in events if e.when <= cut), key=lambda e: e.when)
    status = "To Do"
    current: list[int] = []
    for event in events:
        for item in event.items:
            if item["field"] == "status":
                status = item["toString"]
            elif item["field"] == "Sprint":
                current = [
                    i
                    for i, s in enumerate(sprints)
                    if s.name in (item["toString"] or "").split(", ")
                ]
    return events, current, status


def _sprint_membership(
    world: _World, team: _TeamPlan, issue: _Issue, rng: random.Random
) -> list[tuple[datetime, list[int]]]:
    """When the issue joined, was carried over or left sprints, as Jira's velocity chart sees it."""
    sprints, cut = team.sprints, world.cut
    starts = [s.start for s in sprints]
    if issue.started is None:
        active = next((s for s in sprints if s.state == "active"), None)
        future = next((s for s in sprints if s.state == "future"), None)
        if active is None or future is None or issue.created > cut or rng.random() < 0.7:
            return []
        return [
            (min(cut, max(issue.created, cut - timedelta(days=rng.uniform(1, 3)))), [future.index])
        ]
    first = max(bisect.bisect_right(starts, issue.started) - 1, 0)
    if first > 0 and issue.created < sprints[first - 1].start and rng.random() < 0.12:
        first -= 1  # planned a sprint early; it is carried over without being started
    sprint = sprints[first]
    if sprint.state == "future":
        if issue.created > cut or sprints[first - 1].state != "active":
            return []  # only the next sprint is planned yet
        return [(min(cut, max(issue.created, cut - timedelta(days=rng.uniform(1, 3)))), [first])]
    if issue.created < sprint.start:
        joined = sprint.start - timedelta(minutes=rng.randint(10, 40))
    else:
        joined = min(issue.created + timedelta(minutes=rng.randint(5, 90)), issue.started)
    members = [first]
    out: list[tuple[datetime, list[int]]] = [(joined, list(members))]
    finish = issue.done or issue.abandoned
    index = first
    while (
        sprints[index].state == "closed"
        and index + 1 < len(sprints)
        and (finish is None or finish > sprints[index].complete)
    ):
        if len(members) == 4:
            return out  # carried over three times: sent back to the backlog when the sprint closed
        index += 1
        members.append(index)
        out.append((sprints[index - 1].complete, list(members)))
    if issue.abandoned and not issue.done and members:
        out.append((issue.abandoned, members[:-1]))
    return out


def _export_jira(world: _World, teams: Sequence[_TeamPlan], out: Path, rng: random.Random) -> None:
    """Jira Cloud shapes.

    ``fields.json``: ``GET /rest/api/3/field``. ``boards.json``: the ``values`` of
    ``GET /rest/agile/1.0/board``. ``sprints.json``: the ``values`` of
    ``GET /rest/agile/1.0/board/{id}/sprint`` for every board, concatenated (``originBoardId``
    names the board). ``issues.json``: the ``issues`` of ``POST /rest/api/3/search/jql`` with
    ``expand=changelog``, every page concatenated; story points in "Story Points"
    (``customfield_10028``, mirrored in "Story point estimate"), sprints in "Sprint"
    (``customfield_10020``, every sprint the issue was in), the parent epic in ``parent``, the
    cause of a bug in ``issuelinks`` ("is caused by"); ``changelog.histories`` oldest first with
    status, Sprint (carry-over appends the next sprint), Story Points, assignee and resolution
    items. Times carry the site's +01:00 offset. ``export.csv``: the same issues as Jira's
    "Export CSV (all fields)": dates like ``25/Nov/26 10:15 AM``, multi-valued fields (Sprint,
    Labels) as repeated columns.
    """
    boards, sprints, issues, rows = [], [], [], []
    for team in teams:
        spec = team.spec
        project = {
            "id": str(spec.project_id),
            "key": spec.key,
            "name": spec.name,
            "projectTypeKey": "software",
            "self": f"{_JIRA_URL}/rest/api/3/project/{spec.project_id}",
        }
        boards.append(
            {
                "id": spec.board_id,
                "self": f"{_JIRA_URL}/rest/agile/1.0/board/{spec.board_id}",
                "name": f"{spec.key} board",
                "type": "scrum",
                "location": {
                    "projectId": spec.project_id,
                    "displayName": f"{spec.name} ({spec.key})",
                    "projectName": spec.name,
                    "projectKey": spec.key,
                    "projectTypeKey": "software",
                    "name": f"{spec.name} ({spec.key})",
                },
            }
        )
        shown = [
            s
            for s in team.sprints
            if s.state != "future"
            or s.index == min((x.index for x in team.sprints if x.state == "future"), default=-1)
        ]
        for sprint in shown:
            item = sprint.json(spec.board_id)
            item.pop("boardId")
            sprints.append(
                {
                    "id": sprint.id,
                    "self": f"{_JIRA_URL}/rest/agile/1.0/sprint/{sprint.id}",
                    **item,
                    "createdDate": _jira_utc(sprint.start - timedelta(days=3)),
                    "originBoardId": spec.board_id,
                }
            )
        for issue in team.issues:
            if issue.created > world.cut:
                continue
            histories, current, status = _issue_histories(world, team, issue, rng)
            resolved = (
                issue.done if issue.done and issue.done <= world.cut and status == "Done" else None
            )
            updated = max([issue.created, *(h.when for h in histories)])
            type_id, level = _TYPES[issue.kind]
            fields: dict[str, Any] = {
                "summary": issue.summary,
                "issuetype": {
                    "id": type_id,
                    "name": issue.kind,
                    "subtask": False,
                    "hierarchyLevel": level,
                },
                "project": project,
                "status": {
                    "id": _STATUS_IDS[status],
                    "name": status,
                    "statusCategory": _CATEGORIES[status],
                },
                "resolution": {"id": "10000", "name": "Done"} if resolved else None,
                "created": _jira_time(issue.created),
                "updated": _jira_time(updated),
                "resolutiondate": _jira_time(resolved),
                "assignee": issue.assignee.jira()
                if issue.assignee
                and (issue.assigned_at_creation or (issue.started and issue.started <= world.cut))
                else None,
                "reporter": issue.reporter.jira(),
                "labels": sorted(issue.labels),
                "priority": {"id": _PRIORITIES[issue.priority], "name": issue.priority},
                "issuelinks": [],
                _POINTS_FIELD: float(issue.points) if issue.points is not None else None,
                _ESTIMATE_FIELD: float(issue.points) if issue.points is not None else None,
                _SPRINT_FIELD: [team.sprints[i].json(spec.board_id) for i in current] or None,
            }
            if issue.epic is not None:
                epic_status = (
                    "Done" if issue.epic.done and issue.epic.done <= world.cut else "In Progress"
                )
                fields["parent"] = {
                    "id": str(issue.epic.id),
                    "key": issue.epic.key,
                    "fields": {
                        "summary": issue.epic.summary,
                        "status": {"name": epic_status, "statusCategory": _CATEGORIES[epic_status]},
                        "issuetype": {"id": _TYPES["Epic"][0], "name": "Epic", "hierarchyLevel": 1},
                    },
                }
            if issue.caused_by is not None and issue.caused_by.created <= world.cut:
                fields["issuelinks"].append(
                    {
                        "id": str(issue.id * 10 + 1),
                        "type": {
                            "id": "10003",
                            "name": "Problem/Incident",
                            "inward": "is caused by",
                            "outward": "causes",
                        },
                        "inwardIssue": {"id": str(issue.caused_by.id), "key": issue.caused_by.key},
                    }
                )
            issues.append(
                {
                    "expand": _EXPAND,
                    "id": str(issue.id),
                    "self": f"{_JIRA_URL}/rest/api/3/issue/{issue.id}",
                    "key": issue.key,
                    "fields": fields,
                    "changelog": {
                        "startAt": 0,
                        "maxResults": len(histories),
                        "total": len(histories),
                        "histories": [
                            {
                                "id": str(issue.id * 100 + n),
                                "author": h.author.jira()
                                if h.author
                                else dict(jira_sim.AUTOMATION),
                                "created": _jira_time(h.when),
                                "items": h.items,
                            }
                            for n, h in enumerate(histories, start=1)
                        ],
                    },
                }
            )
            rows.append(
                (issue, fields, [team.sprints[i].name for i in current], status, resolved, updated)
            )
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "fields.json", _jira_fields())
    _write_json(out / "boards.json", boards)
    _write_json(out / "sprints.json", sprints)
    _write_json(out / "issues.json", issues)
    _write_csv(out / "export.csv", rows)


def _write_csv(
    path: Path, rows: list[tuple[_Issue, dict[str, Any], list[str], str, datetime | None, datetime]]
) -> None:
    sprint_columns = max((len(r[2]) for r in rows), default=1) or 1
    label_columns = max((len(r[0].labels) for r in rows), default=1) or 1
    header = [
        "Summary",
        "Issue key",
        "Issue id",
        "Parent id",
        "Parent",
        "Issue Type",
        "Status",
        "Status Category",
        "Project key",
        "Project name",
        "Priority",
        "Resolution",
        "Assignee",
        "Assignee Id",
        "Reporter",
        "Reporter Id",
        "Created",
        "Updated",
        "Resolved",
    ]
    header += ["Sprint"] * sprint_columns + ["Labels"] * label_columns
    header += ["Custom field (Story Points)", "Custom field (Story point estimate)"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for issue, fields, sprint_names, status, resolved, updated in rows:
        assignee = fields["assignee"]
        points = "" if issue.points is None else f"{float(issue.points)}"
        labels = sorted(issue.labels)
        writer.writerow(
            [
                issue.summary,
                issue.key,
                issue.id,
                issue.epic.id if issue.epic else "",
                issue.epic.key if issue.epic else "",
                issue.kind,
                status,
                _CATEGORIES[status]["name"],
                issue.project,
                fields["project"]["name"],
                issue.priority,
                "Done" if resolved else "Unresolved",
                assignee["displayName"] if assignee else "",
                assignee["accountId"] if assignee else "",
                issue.reporter.spec.name,
                issue.reporter.jira_id,
                _csv_time(issue.created),
                _csv_time(updated),
                _csv_time(resolved),
                *(sprint_names + [""] * (sprint_columns - len(sprint_names))),
                *(labels + [""] * (label_columns - len(labels))),
                points,
                points,
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")
