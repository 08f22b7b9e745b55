"""Synthetic organisation at benchmark scale: a warehouse of commits, PRs, tickets and deployments written in bulk through Arrow, with its sprintproof.yaml.

Usage: python benchmarks/synthetic.py FOLDER [--scale 1.0] [--seed 0] [--end 2026-11-30]

At scale 1: 50 teams (one of two people, so privacy suppression shows), about 600 engineers (some
joining, leaving or moving teams), 1,000,000 commits, 100,000 PRs with human and bot reviews and
their commits, 200,000 tickets with their changelog, three years of history ending at `end`.
Teams get AI tools on staggered dates; after a team's rollout the share of assisted and agent
work rises along a saturating curve, through several tools whose mix shifts over time; agent
commits name their initiating engineer in a `Co-authored-by` trailer (most of the time). Smaller
scales shrink the counts and, by the square root of the scale, the number of teams, so a tiny
warehouse still has enough work per team sprint to give numbers.

`commit_files` is filled: every non-merge commit with complete line counts has its per-file rows,
and the commit's additions, deletions and exclusions are their sums. Rows go in through Arrow
tables, never one by one; the same seed gives the same warehouse.
"""

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingestion.warehouse import connect, migrate

DEFAULT_END = date(2026, 11, 30)
YEARS = 3
ORG = "acme"
JIRA = "jira"
GITHUB = "github"
RUN_ID = "synthetic"

MINUTE = 60_000_000  # microseconds
HOUR = 60 * MINUTE
DAY = 24 * HOUR

TEAM_NAMES = (
    "Payments", "Search", "Checkout", "Identity", "Billing", "Growth", "Mobile", "Platform",
    "Data", "Infra", "Ledger", "Catalog", "Pricing", "Onboarding", "Messaging", "Notifications",
    "Fraud", "Risk", "Reporting", "Analytics", "Storefront", "Logistics", "Inventory", "Shipping",
    "Returns", "Support", "Compliance", "Security", "Observability", "Reliability", "Tooling",
    "Design", "Web", "Apple", "Android", "Public API", "Gateway", "Accounts", "Subscriptions",
    "Loyalty", "Marketplace", "Partners", "Ads", "Recommendations", "Media", "Maps", "Booking",
    "Chat", "Integrations", "Core",
)  # fmt: skip
FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
    "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei",
    "Ximena", "Yusuf", "Zoe", "Aditi", "Bruno", "Carmen", "Dmitri", "Emma", "Felix", "Grace",
    "Hugo", "Ida", "Jamal", "Kira", "Luca", "Maya", "Nils",
)  # fmt: skip
LAST_NAMES = (
    "Lima", "Okafor", "Schmidt", "Tanaka", "Kaya", "Adeyemi", "Berg", "Sato", "Garcia", "Weber",
    "Mensah", "Novak", "Rossi", "Haddad", "Farouk", "Iyer", "Moreau", "Silva", "Lund", "Kapoor",
    "Ali", "Costa", "Zhang", "Lopez", "Demir", "Walsh", "Rao", "Pereira", "Ortiz", "Volkov",
    "Dubois", "Fischer", "Kim", "Martin", "Nyberg", "Brown", "Ivanova", "Greco", "Chen", "Olsen",
)  # fmt: skip
REPO_KINDS = ("api", "web", "worker", "lib", "infra", "jobs")
SHARED_REPOS = ("shared-config", "design-tokens", "proto", "ci-templates", "monolith")
TIMEZONES = np.array([0, 60, 120, -300, -420, 330, 480, 60])

# AI tools as their markers appear in real commits (ingestion/rules/ai_rules.yaml).
ASSIST = (  # tool, Co-authored-by value, rule
    ("copilot", "Copilot <copilot@github.com>", "G8"),
    ("claude_code", "Claude <noreply@anthropic.com>", "C1"),
    ("cursor", "Cursor Agent <cursoragent@cursor.com>", "U1"),
    ("aider", "aider (gpt-4o) <aider@aider.chat>", "D1"),
)
ASSIST_MIX = np.array(
    [[0.62, 0.12, 0.22, 0.04], [0.26, 0.40, 0.30, 0.04]]
)  # before/after the shift
AGENTS = (  # tool, author name, author email, PR login, rule, field ("" email: the human authors)
    ("copilot_agent", "Copilot", "198982749+Copilot@users.noreply.github.com", "Copilot", "G1", "author"),
    ("claude_code", "Claude", "noreply@anthropic.com", "claude[bot]", "C4", "author"),
    ("cursor", "Cursor Agent", "cursoragent@cursor.com", "cursoragent[bot]", "U3", "author"),
    ("devin", "devin-ai-integration[bot]", "158243242+devin-ai-integration[bot]@users.noreply.github.com",
     "devin-ai-integration[bot]", "V1", "author"),
    ("codex", "", "", "", "X2", "body"),
)  # fmt: skip
AGENT_MIX = np.array([[0.42, 0.10, 0.14, 0.30, 0.04], [0.30, 0.33, 0.12, 0.08, 0.17]])
BOTS = (
    ("dependabot", "dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", "BOT.dependabot"),
    ("renovate", "renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com", "BOT.renovate"),
)  # fmt: skip
REVIEW_BOTS = (
    ("coderabbit", "coderabbitai[bot]"),
    ("copilot", "copilot-pull-request-reviewer[bot]"),
)
TOOL_SHIFT = date(2025, 8, 1)  # when the market's tool mix moved (assistants and agents)

VERBS = (
    "Add",
    "Fix",
    "Refactor",
    "Update",
    "Remove",
    "Rename",
    "Handle",
    "Speed up",
    "Document",
    "Test",
)
OBJECTS = (
    "retry on timeout", "pagination cursor", "null amount", "feature flag", "cache key", "rate limit",
    "error message", "input validation", "audit log", "metrics label", "config loader", "date parsing",
    "currency rounding", "session expiry", "webhook handler", "batch size", "index migration",
    "dark mode", "empty state", "locale fallback", "health check", "connection pool", "search ranking",
    "permission check", "CSV export", "email template", "queue consumer", "schema version",
)  # fmt: skip
LIBS = ("lodash", "react", "express", "jackson-databind", "requests", "urllib3", "django", "axios",
        "spring-boot", "golang.org/x/net", "protobuf", "webpack", "eslint", "pytest", "numpy")  # fmt: skip
STATUSES = (  # id, name, category
    ("10000", "To Do", "todo"),
    ("3", "In Progress", "in_progress"),
    ("10001", "In Review", "in_progress"),
    ("10002", "Done", "done"),
    ("10003", "Won't Do", "canceled"),
)
TICKET_TYPES = (  # name, category, share
    ("Story", "feature", 0.50),
    ("Task", "task", 0.21),
    ("Bug", "bug", 0.20),
    ("Sub-task", "subtask", 0.05),
    ("Epic", "epic", 0.02),
    ("Incident", "incident", 0.02),
)
POINTS = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 13.0])
POINT_SHARES = np.array([0.14, 0.24, 0.27, 0.21, 0.11, 0.03])


@dataclass(frozen=True)
class Synthetic:
    """What was generated: the warehouse, its configuration, the day it ends, row counts per table."""

    folder: Path
    warehouse: Path
    config: Path
    today: date
    rows: dict[str, int]
    seconds: float


# --------------------------------------------------------------------------- Arrow helpers


def _hex(rng: np.random.Generator, n: int, nbytes: int = 20) -> pa.Array:
    """n random lower-case hex ids of 2*nbytes characters, built from one buffer."""
    width = 2 * nbytes
    data = rng.bytes(n * nbytes).hex().encode()
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _take(values: Sequence[str | None] | pa.Array, index: np.ndarray) -> pa.Array:
    """values[index]; a negative index gives null."""
    pool = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return pc.take(pool, pa.array(index, mask=index < 0, type=pa.int64()))


def _ts(us: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(us, mask=mask, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _int_str(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, pa.int64()), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    # pyarrow generates its compute functions at run time; type checkers only see call_function.
    return pc.call_function("binary_join_element_wise", [*parts, ""])


def _if(condition: pa.Array, then: pa.Array | pa.Scalar, otherwise: pa.Array) -> pa.Array:
    return pc.call_function("if_else", [condition, then, otherwise])


def _strings(n: int, value: str | None) -> pa.Array:
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))


def _choice(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per row from the distribution probs[rows[i]] (rows of a small table)."""
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(rows.size)
    return (u[:, None] > cdf[rows]).sum(axis=1)


def _lognormal(rng: np.random.Generator, median_us: float, sigma: float, n: int) -> np.ndarray:
    return (median_us * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def _group_rank(keys: np.ndarray, order_by: np.ndarray) -> np.ndarray:
    """1-based rank of each row within its key, by order_by."""
    order = np.lexsort((order_by, keys))
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, keys.size]))
    rank = np.empty(keys.size, dtype=np.int64)
    rank[order] = np.arange(keys.size) - first + 1
    return rank


# --------------------------------------------------------------------------- the organisation


@dataclass
class _Org:
    start: int  # µs, a Monday 00:00 UTC
    end: int  # µs, the generation's "now"
    days: int
    teams: Sequence[str]
    keys: list[str]
    team_size: np.ndarray
    rollout: np.ndarray  # day index of the AI rollout, -1 for none
    agent_max: np.ndarray
    adoption: np.ndarray  # (teams, days): 0 before the rollout, rising towards 1
    fav_assist: np.ndarray
    fav_agent: np.ndarray
    sprint_days: np.ndarray
    sprint_offset: np.ndarray
    repos: list[str]
    repo_team: np.ndarray  # owning team, -1 for a shared repository
    repo_teams: list[list[int]]  # teams that list the repository in the configuration
    team_repos: list[np.ndarray]
    team_shared: list[np.ndarray]
    names: list[str]
    emails: list[str]
    logins: list[str]
    jira_ids: list[str]
    gh_ids: np.ndarray
    tz: np.ndarray
    productivity: np.ndarray
    second: list[str | None]  # a second email the person commits with
    second_mapped: np.ndarray  # .mailmap folds the second email into the work email
    listed: np.ndarray  # in the configuration (contractors are not)
    stint_person: np.ndarray
    stint_team: np.ndarray
    stint_from: np.ndarray  # day index, inclusive
    stint_to: np.ndarray  # day index, exclusive

    def day_us(self, day: np.ndarray) -> np.ndarray:
        return self.start + day.astype(np.int64) * DAY

    def day_of(self, us: np.ndarray) -> np.ndarray:
        return np.clip((us - self.start) // DAY, 0, self.days - 1)


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


def _organisation(rng: np.random.Generator, scale: float, end: date) -> _Org:
    n_teams = int(np.clip(round(50 * scale**0.5), 3, 50))
    first = end - timedelta(days=365 * YEARS)
    first -= timedelta(days=first.weekday())
    days = (end - first).days + 1
    teams = list(TEAM_NAMES[:n_teams])
    keys: list[str] = []
    for name in teams:
        key = "".join(c for c in name.upper() if c.isalpha())[:4]
        keys.append(key if key not in keys else f"{key[:3]}{len(keys)}")
    size = rng.integers(7, 18, n_teams)
    size[n_teams // 2] = 2  # one team below the privacy threshold
    # Rollouts staggered from month 13 to five months before the end; every seventh team never.
    span = np.linspace(395, days - 150, n_teams)
    rollout = (span + rng.integers(-20, 21, n_teams)).astype(np.int64)
    rng.shuffle(rollout)
    rollout[np.arange(n_teams) % 7 == 6] = -1
    tau = rng.uniform(40, 110, n_teams)
    agent_max = rng.uniform(0.25, 0.7, n_teams)
    day = np.arange(days)
    since = day[None, :] - rollout[:, None]
    adoption = np.where(
        (rollout[:, None] >= 0) & (since >= 0), 1 - np.exp(-since / tau[:, None]), 0.0
    )

    repos: list[str] = []
    repo_team: list[int] = []
    team_repos: list[np.ndarray] = []
    for t, name in enumerate(teams):
        slug = name.lower().replace(" ", "-")
        kinds = rng.choice(len(REPO_KINDS), size=int(rng.integers(2, 5)), replace=False)
        first_repo = len(repos)
        for k in sorted(kinds):
            repos.append(f"{slug}-{REPO_KINDS[k]}")
            repo_team.append(t)
        team_repos.append(np.arange(first_repo, len(repos)))
    shared_first = len(repos)
    n_shared = min(len(SHARED_REPOS), max(1, n_teams // 10))
    repos.extend(SHARED_REPOS[:n_shared])
    repo_team.extend([-1] * n_shared)
    repo_teams = [[t] for t in repo_team[:shared_first]]
    team_shared: list[list[int]] = [[] for _ in teams]
    for r in range(n_shared):
        listed = sorted(rng.choice(n_teams, size=min(n_teams, 3), replace=False).tolist())
        repo_teams.append(listed)
        for t in listed:
            team_shared[t].append(shared_first + r)

    # People: unique names, a work email, a login, a Jira account; some commit with a second email.
    n_people = int(size.sum())
    combos = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    names, emails, logins, jira_ids = [], [], [], []
    for i in range(n_people):
        c = int(combos[i % combos.size])
        first_name, last = FIRST_NAMES[c // len(LAST_NAMES)], LAST_NAMES[c % len(LAST_NAMES)]
        suffix = "" if i < combos.size else str(i // combos.size)
        names.append(f"{first_name} {last}{suffix}")
        emails.append(f"{first_name}.{last}{suffix}@acme.example".lower())
        logins.append(f"{first_name[0]}{last}{suffix}-{i % 97}".lower())
        jira_ids.append(f"5b10{i:020x}")
    gh_ids = 10_000_000 + rng.permutation(n_people) * 37
    kind = rng.random(n_people)
    second: list[str | None] = []
    for i in range(n_people):
        local = emails[i].split("@")[0]
        if kind[i] < 0.10:
            second.append(f"{local}@home.example")  # folded by .mailmap
        elif kind[i] < 0.13:
            second.append(f"{local.replace('.', '')}@gmail.example")  # left for review
        elif kind[i] < 0.20:
            second.append(f"{gh_ids[i]}+{logins[i]}@users.noreply.github.com")
        else:
            second.append(None)
    second_mapped = kind < 0.10
    listed = rng.random(n_people) >= 0.02

    # Stints: most people stay; some join late, leave early, or move to another team once.
    member_team = np.repeat(np.arange(n_teams), size)
    sp, st, sf, sto = [], [], [], []
    for p in range(n_people):
        u = rng.random()
        join = int(rng.integers(30, days - 200)) if u < 0.15 else 0
        leave = int(rng.integers(join + 120, days)) if 0.15 <= u < 0.25 else days
        team = int(member_team[p])
        if 0.25 <= u < 0.31 and size[team] > 3 and leave - join > 300:
            move = int(rng.integers(join + 120, leave - 120))
            # The team of two stays below the privacy threshold.
            others = np.flatnonzero((size > 2) & (np.arange(n_teams) != team))
            other = int(others[rng.integers(0, others.size)])
            sp += [p, p]
            st += [team, other]
            sf += [join, move]
            sto += [move, leave]
        else:
            sp.append(p)
            st.append(team)
            sf.append(join)
            sto.append(leave)
    return _Org(
        start=_midnight(first),
        end=_midnight(end) + 23 * HOUR,
        days=days,
        teams=teams,
        keys=keys,
        team_size=size,
        rollout=rollout,
        agent_max=agent_max,
        adoption=adoption,
        fav_assist=rng.integers(0, len(ASSIST), n_teams),
        fav_agent=rng.integers(0, len(AGENTS), n_teams),
        sprint_days=np.where(rng.random(n_teams) < 0.15, 7, 14),
        sprint_offset=rng.integers(0, 5, n_teams),
        repos=repos,
        repo_team=np.array(repo_team),
        repo_teams=repo_teams,
        team_repos=team_repos,
        team_shared=[np.array(s, dtype=np.int64) for s in team_shared],
        names=names,
        emails=emails,
        logins=logins,
        jira_ids=jira_ids,
        gh_ids=gh_ids,
        tz=TIMEZONES[rng.integers(0, TIMEZONES.size, n_people)],
        productivity=rng.lognormal(0.0, 0.35, n_people),
        second=second,
        second_mapped=second_mapped,
        listed=listed,
        stint_person=np.array(sp),
        stint_team=np.array(st),
        stint_from=np.array(sf),
        stint_to=np.array(sto),
    )


def _weekday_weight(days: np.ndarray) -> np.ndarray:
    return np.where(days % 7 < 5, 1.0, 0.06)  # day 0 is a Monday


# --------------------------------------------------------------------------- identities


@dataclass
class _Identities:
    """Every author/committer identity as (name, email, canonical name, canonical email)."""

    name: list[str]
    email: list[str]
    canonical_name: list[str]
    canonical_email: list[str]
    work: np.ndarray  # person -> index
    second: np.ndarray  # person -> index, -1 when none
    agent: np.ndarray  # agent -> index, -1 when the human authors
    bot: np.ndarray
    github: int  # the committer of squash merges


def _identities(org: _Org) -> _Identities:
    name: list[str] = []
    email: list[str] = []
    cname: list[str] = []
    cemail: list[str] = []

    def add(n: str, e: str, cn: str, ce: str) -> int:
        name.append(n)
        email.append(e)
        cname.append(cn)
        cemail.append(ce)
        return len(name) - 1

    work = np.array([add(n, e, n, e) for n, e in zip(org.names, org.emails, strict=True)])
    second = np.full(len(org.names), -1)
    for p, other in enumerate(org.second):
        if other is not None:
            canonical = org.emails[p] if org.second_mapped[p] else other
            second[p] = add(org.names[p], other, org.names[p], canonical)
    agent = np.array([add(a[1], a[2], a[1], a[2]) if a[2] else -1 for a in AGENTS])
    bot = np.array([add(b[1], b[2], b[1], b[2]) for b in BOTS])
    github = add("GitHub", "noreply@github.com", "GitHub", "noreply@github.com")
    return _Identities(name, email, cname, cemail, work, second, agent, bot, github)


# --------------------------------------------------------------------------- commits

KIND_HUMAN, KIND_AGENT, KIND_MERGE, KIND_BOT = 0, 1, 2, 3
MODE_NONE, MODE_ASSISTED, MODE_AGENT, MODE_BOT = 0, 1, 2, 3
MODES = (None, "assisted", "agent", "bot")


@dataclass
class _Commits:
    """Commit facts as arrays, sorted by (repo, committed time)."""

    kind: np.ndarray
    person: np.ndarray  # -1 when an agent or bot authored
    initiator: np.ndarray  # agent commits: the person named in Co-authored-by, else -1
    team: np.ndarray  # the team the work was done for (-1 for bots: the repo owner's)
    repo: np.ndarray
    committed: np.ndarray
    authored: np.ndarray
    mode: np.ndarray
    tool: np.ndarray  # index into ASSIST (assisted), AGENTS (agent) or BOTS (bot); -1 for none
    author: np.ndarray  # index into _Identities
    in_default: np.ndarray
    reachable: np.ndarray
    on_default: np.ndarray
    complete: np.ndarray
    revert_of: np.ndarray  # row reverted, -1
    subject: np.ndarray  # index into the subject pool
    sha: pa.Array

    @property
    def size(self) -> int:
        return self.kind.size


def _work_commits(
    org: _Org, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """person, team and day of n commits of people, more where and when AI tools are in use."""
    weights = []
    for s in range(org.stint_person.size):
        days = np.arange(org.stint_from[s], org.stint_to[s])
        w = _weekday_weight(days) * (1 + 0.6 * org.adoption[org.stint_team[s], days])
        weights.append(w)
    totals = np.array([w.sum() for w in weights]) * org.productivity[org.stint_person]
    counts = rng.multinomial(n, totals / totals.sum())
    day = np.concatenate(
        [
            org.stint_from[s] + rng.choice(w.size, size=c, p=w / w.sum())
            for s, (w, c) in enumerate(zip(weights, counts, strict=True))
        ]
    )
    stint = np.repeat(np.arange(counts.size), counts)
    return org.stint_person[stint], org.stint_team[stint], day


def _commits(org: _Org, ids: _Identities, rng: np.random.Generator, n: int) -> _Commits:
    n_merge, n_bot = round(0.05 * n), round(0.035 * n)
    n_work = n - n_merge - n_bot
    person, team, day = _work_commits(org, rng, n_work)

    # AI mode and tool: a shadow of assisted use before the rollout, then a saturating rise.
    a = org.adoption[team, day]
    u = rng.random(n_work)
    p_agent = a * org.agent_max[team]
    agent = u < p_agent
    assisted = ~agent & (u < p_agent + 0.03 + 0.35 * a)
    shifted = (day >= (_midnight(TOOL_SHIFT) - org.start) // DAY).astype(np.int64)
    favourite = rng.random(n_work) < 0.35
    assist_tool = np.where(favourite, org.fav_assist[team], _choice(rng, ASSIST_MIX, shifted))
    agent_tool = np.where(favourite, org.fav_agent[team], _choice(rng, AGENT_MIX, shifted))
    mode = np.where(agent, MODE_AGENT, np.where(assisted, MODE_ASSISTED, MODE_NONE))
    tool = np.where(agent, agent_tool, np.where(assisted, assist_tool, -1))
    human_author = ~agent | (ids.agent[np.maximum(tool, 0)] < 0)
    kind = np.where(human_author, KIND_HUMAN, KIND_AGENT)
    uses_second = (ids.second[person] >= 0) & (rng.random(n_work) < 0.3)
    author = np.where(
        human_author,
        np.where(uses_second, ids.second[person], ids.work[person]),
        ids.agent[np.maximum(tool, 0)],
    )
    named = rng.random(n_work) < 0.9  # most agent commits name who started them
    initiator = np.where((kind == KIND_AGENT) & named, person, -1)
    person = np.where(kind == KIND_AGENT, -1, person)

    # Working hours in each person's zone; agents work around the clock.
    tz = org.tz[np.maximum(np.where(person >= 0, person, initiator), 0)]
    hour = np.clip(rng.normal(13.5, 2.6, n_work), 7.0, 23.5)
    hour = np.where(kind == KIND_AGENT, rng.uniform(0, 24, n_work), hour)
    committed = org.day_us(day) + (hour * HOUR).astype(np.int64) - tz * MINUTE

    # Repository: mostly the team's own, sometimes a shared one it lists, sometimes another's.
    u = rng.random(n_work)
    repo = np.empty(n_work, dtype=np.int64)
    for t in range(len(org.teams)):
        rows = np.flatnonzero(team == t)
        own = org.team_repos[t]
        pick = own[
            np.minimum((rng.random(rows.size) ** 1.6 * own.size).astype(np.int64), own.size - 1)
        ]
        shared = org.team_shared[t]
        if shared.size:
            pick = np.where(u[rows] > 0.88, shared[rng.integers(0, shared.size, rows.size)], pick)
        repo[rows] = np.where(u[rows] > 0.96, rng.integers(0, len(org.repos), rows.size), pick)

    # Merge commits of long-lived branches, by people, shortly after other work.
    src = rng.choice(np.flatnonzero(kind == KIND_HUMAN), size=n_merge)
    m_committed = committed[src] + _lognormal(rng, 2 * HOUR, 1.0, n_merge)

    # Dependency bots, per repository, on working days.
    b_repo = rng.integers(0, len(org.repos), n_bot)
    b_day = rng.integers(0, org.days, n_bot)
    b_day -= np.where(b_day % 7 >= 5, b_day % 7 - 4, 0)
    b_tool = (b_repo % 3 == 0).astype(np.int64)  # a third of the repositories use Renovate
    b_committed = org.day_us(b_day) + rng.integers(5 * HOUR, 9 * HOUR, n_bot)

    kind = np.concatenate([kind, np.full(n_merge, KIND_MERGE), np.full(n_bot, KIND_BOT)])
    person = np.concatenate([person, person[src], np.full(n_bot, -1)])
    person[n_work : n_work + n_merge] = np.where(
        person[src] >= 0, person[src], np.maximum(initiator[src], 0)
    )
    committed = np.concatenate([committed, m_committed, b_committed])
    committed = np.minimum(committed, org.end - rng.integers(0, 6 * HOUR, committed.size))
    commits = _Commits(
        kind=kind,
        person=person,
        initiator=np.concatenate([initiator, np.full(n_merge + n_bot, -1)]),
        team=np.concatenate([team, team[src], np.full(n_bot, -1)]),
        repo=np.concatenate([repo, repo[src], b_repo]),
        committed=committed,
        authored=committed.copy(),
        mode=np.concatenate([mode, np.zeros(n_merge, np.int64), np.full(n_bot, MODE_BOT)]),
        tool=np.concatenate([tool, np.full(n_merge, -1), b_tool]),
        author=np.concatenate(
            [author, ids.work[person[n_work : n_work + n_merge]], ids.bot[b_tool]]
        ),
        in_default=np.ones(n, bool),
        reachable=np.ones(n, bool),
        on_default=np.zeros(n, bool),
        complete=np.ones(n, bool),
        revert_of=np.full(n, -1),
        subject=rng.integers(0, len(VERBS) * len(OBJECTS), n),
        sha=_hex(rng, n),
    )
    order = np.lexsort((commits.committed, commits.repo))
    for name in ("kind", "person", "initiator", "team", "repo", "committed", "authored", "mode",
                 "tool", "author", "subject"):  # fmt: skip
        setattr(commits, name, getattr(commits, name)[order])
    # Authored a little (rebased work: days) before it was committed.
    lag = _lognormal(rng, 25 * MINUTE, 1.3, n)
    rebased = rng.random(n) < 0.08
    lag = np.where(rebased, _lognormal(rng, 2 * DAY, 0.8, n), lag)
    commits.authored = commits.committed - np.where(commits.kind == KIND_MERGE, 0, lag)

    # Branches never merged (2.5 %) and rewritten history (1 %); bots and merges land.
    u = rng.random(n)
    lands = (commits.kind == KIND_MERGE) | (commits.kind == KIND_BOT)
    commits.in_default = lands | (u >= 0.035)
    commits.reachable = lands | (u >= 0.01)
    commits.on_default = commits.in_default & (lands | (rng.random(n) < 0.35))
    commits.complete = (commits.kind == KIND_MERGE) | (rng.random(n) >= 0.003)

    # Reverts: agent work is reverted more often; the revert follows within the same repository.
    eligible = commits.in_default & (commits.kind != KIND_MERGE)
    p_revert = np.select(
        [commits.mode == MODE_AGENT, commits.mode == MODE_ASSISTED], [0.02, 0.01], 0.006
    )
    target = np.flatnonzero(eligible & (rng.random(n) < p_revert))
    row = target + 1 + rng.geometric(0.25, target.size)
    ok = row < n
    target, row = target[ok], row[ok]
    ok = (
        (commits.repo[row] == commits.repo[target])
        & (commits.kind[row] == KIND_HUMAN)
        & eligible[row]
    )
    target, row = target[ok], row[ok]
    row, first = np.unique(row, return_index=True)
    commits.revert_of[row] = target[first]
    commits.mode[row] = MODE_NONE
    commits.tool[row] = -1
    return commits


# --------------------------------------------------------------------------- commit files


@dataclass
class _Paths:
    path: list[str]
    excluded: np.ndarray
    binary: np.ndarray
    repo_first: np.ndarray  # first path of each repository
    repo_count: np.ndarray
    lock: np.ndarray  # each repository's lock file
    manifest: np.ndarray


def _paths(org: _Org, rng: np.random.Generator) -> _Paths:
    path: list[str] = []
    excluded: list[bool] = []
    binary: list[bool] = []
    first, count, lock, manifest = [], [], [], []
    modules = (
        "core",
        "api",
        "models",
        "handlers",
        "utils",
        "jobs",
        "ui",
        "storage",
        "auth",
        "events",
    )
    for repo in org.repos:
        first.append(len(path))
        lock.append(len(path))
        path.append("package-lock.json")
        excluded.append(True)
        binary.append(False)
        manifest.append(len(path))
        path.append("package.json")
        excluded.append(False)
        binary.append(False)
        for i in range(int(rng.integers(60, 160))):
            module = modules[i % len(modules)]
            if i % 29 == 7:
                path.append(f"assets/{module}-{i}.png")
                binary.append(True)
                excluded.append(False)
            elif i % 23 == 5:
                path.append(f"vendor/{module}/lib{i}.js")
                binary.append(False)
                excluded.append(True)
            else:
                ext = ("py", "ts", "go", "sql", "md")[i % 5]
                path.append(f"src/{module}/{repo.split('-')[0]}_{i}.{ext}")
                binary.append(False)
                excluded.append(False)
        count.append(len(path) - first[-1])
    return _Paths(path, np.array(excluded), np.array(binary), np.array(first), np.array(count),
                  np.array(lock), np.array(manifest))  # fmt: skip


@dataclass
class _Files:
    commit: np.ndarray
    path: np.ndarray
    change: np.ndarray  # index into "ADMT"
    added: np.ndarray  # -1 for binary
    deleted: np.ndarray


def _files(c: _Commits, paths: _Paths, rng: np.random.Generator) -> _Files:
    has = (c.kind != KIND_MERGE) & c.complete
    rows = np.flatnonzero(has)
    k = np.minimum(rng.geometric(0.42, rows.size), 25)
    k = np.where(c.kind[rows] == KIND_BOT, 2, k)
    commit = np.repeat(rows, k)
    nth = np.arange(commit.size) - np.repeat(np.cumsum(k) - k, k)
    repo = c.repo[commit]
    bot = c.kind[commit] == KIND_BOT
    skew = (rng.random(commit.size) ** 2.2 * paths.repo_count[repo]).astype(np.int64)
    path = paths.repo_first[repo] + skew
    path = np.where(bot, np.where(nth == 0, paths.lock[repo], paths.manifest[repo]), path)
    key = commit.astype(np.int64) * len(paths.path) + path
    _, keep = np.unique(key, return_index=True)  # a path changes once per commit
    commit, path, bot = commit[keep], path[keep], bot[keep]
    size = commit.size
    agent = c.mode[commit] == MODE_AGENT
    u = rng.random(size)
    change = np.where(u < 0.12, 0, np.where(u < 0.16, 1, 2))
    change = np.where(bot, 2, change)
    added = np.round(np.exp(rng.normal(2.3 + 0.6 * agent, 1.25, size))).astype(np.int64)
    deleted = np.round(np.exp(rng.normal(1.6, 1.3, size))).astype(np.int64)
    added = np.where(paths.excluded[path], added * 6, added)
    added = np.where(change == 1, 0, added)
    deleted = np.where(change == 0, 0, deleted)
    binary = paths.binary[path]
    return _Files(commit, path, change, np.where(binary, -1, added), np.where(binary, -1, deleted))


# --------------------------------------------------------------------------- pull requests


@dataclass
class _Prs:
    repo: np.ndarray
    number: np.ndarray
    state: np.ndarray  # 0 open, 1 closed, 2 merged
    landing: np.ndarray  # commit row of the merge result, -1
    template: np.ndarray  # commit row the PR is modelled on
    person: np.ndarray  # human author, -1 for agents and bots
    login: pa.Array
    author_type: pa.Array
    mode: np.ndarray
    tool: np.ndarray
    created: np.ndarray
    first_commit: np.ndarray
    first_review: np.ndarray
    merged: np.ndarray  # -1 when not merged
    closed: np.ndarray  # -1 when open
    title: pa.Array
    ticket: np.ndarray  # ticket number in the team's project, -1
    team: np.ndarray


def _landing(c: _Commits, rng: np.random.Generator, m: int) -> np.ndarray:
    """m commits that are the squash results of merged PRs (weighted sampling without replacement)."""
    eligible = c.in_default & (c.kind != KIND_MERGE) & (c.revert_of < 0)
    weight = np.select([c.kind == KIND_BOT, c.kind == KIND_AGENT], [8.0, 1.6], 1.0) * eligible
    keys = np.where(eligible, rng.random(c.size) ** (1 / np.maximum(weight, 1e-9)), -1.0)
    m = min(m, int(eligible.sum()))
    return np.sort(np.argpartition(-keys, m - 1)[:m]) if m else np.zeros(0, np.int64)


def _prs(
    org: _Org, c: _Commits, rng: np.random.Generator, n: int, tickets_per_team: np.ndarray
) -> _Prs:
    landing = _landing(c, rng, round(0.86 * n))
    others = n - landing.size
    pool = np.flatnonzero((c.kind == KIND_HUMAN) | (c.kind == KIND_AGENT))
    template = np.concatenate([landing, rng.choice(pool, size=others)])
    n = template.size
    n_closed = round(0.57 * others)
    state = np.concatenate(
        [np.full(landing.size, 2), np.full(n_closed, 1), np.zeros(others - n_closed, np.int64)]
    )
    kind, mode = c.kind[template], c.mode[template]
    agent = kind == KIND_AGENT
    bot = kind == KIND_BOT
    pickup = _lognormal(rng, 3 * HOUR, 1.3, n)
    review = np.where(agent, _lognormal(rng, 9 * HOUR, 1.3, n), _lognormal(rng, 5 * HOUR, 1.4, n))
    coding = np.where(
        agent, _lognormal(rng, 50 * MINUTE, 1.0, n), _lognormal(rng, 7 * HOUR, 1.3, n)
    )
    pickup = np.where(bot, _lognormal(rng, 40 * MINUTE, 1.0, n), pickup)
    review = np.where(bot, _lognormal(rng, 20 * MINUTE, 1.0, n), review)
    coding = np.where(bot, MINUTE, coding)
    at = c.committed[template]
    merged = np.where(state == 2, at, -1)
    created = np.where(state == 2, at - pickup - review, at - rng.integers(0, 2 * DAY, n))
    open_rows = state == 0
    created = np.where(open_rows, org.end - _lognormal(rng, 4 * DAY, 1.2, n), created)
    created = np.maximum(created, org.start + coding)
    merged = np.where(state == 2, np.maximum(merged, created + MINUTE), -1)
    closed = np.where(
        state == 2, merged, np.where(state == 1, created + _lognormal(rng, 2 * DAY, 1.2, n), -1)
    )
    closed = np.where(closed > org.end, -1, closed)
    state = np.where((state == 1) & (closed < 0), 0, state)
    first_review = created + pickup

    # Author: the person, or the agent's or bot's account.
    person = c.person[template]
    team = np.where(c.team[template] >= 0, c.team[template], org.repo_team[c.repo[template]])
    tool = c.tool[template]
    agent_logins = pa.array([a[3] for a in AGENTS] + [b[1] for b in BOTS] + org.logins, pa.string())
    login_ix = np.where(
        agent,
        np.maximum(tool, 0),
        np.where(
            bot, len(AGENTS) + np.maximum(tool, 0), len(AGENTS) + len(BOTS) + np.maximum(person, 0)
        ),
    )
    login = agent_logins.take(pa.array(login_ix))
    author_type = _take(["user", "bot"], np.where(agent | bot, 1, 0).astype(np.int64))

    # Titles: a ticket key for most human and agent PRs; bots bump versions.
    team_fraction = (created - org.start) / (org.end - org.start)
    ticket = np.where(
        (team >= 0) & ~bot & (rng.random(n) < 0.7),
        np.maximum(1, (team_fraction * tickets_per_team[np.maximum(team, 0)]).astype(np.int64)
                   - rng.integers(0, 25, n)),
        -1,
    )  # fmt: skip
    subject = _subject_pool().take(pa.array(c.subject[template]))
    key = _take(org.keys, np.where(ticket > 0, team, -1))
    keyed = _join(key, "-", _int_str(np.maximum(ticket, 0)), " ", subject)
    lib = _take(LIBS, rng.integers(0, len(LIBS), n))
    minor = rng.integers(0, 40, n)
    bump = _join("Bump ", lib, " from 1.", _int_str(minor), ".0 to 1.", _int_str(minor + 1), ".0")
    title = _if(pa.array(bot), bump, _if(pa.array(ticket > 0), keyed, subject))
    repo = c.repo[template]
    return _Prs(
        repo=repo,
        number=_group_rank(repo, created),
        state=state,
        landing=np.concatenate([landing, np.full(others, -1)]),
        template=template,
        person=np.where(agent | bot, -1, person),
        login=login,
        author_type=author_type,
        mode=mode,
        tool=tool,
        created=created,
        first_commit=created - coding,
        first_review=first_review,
        merged=merged,
        closed=closed,
        title=title,
        ticket=ticket,
        team=team,
    )


def _subject_pool() -> pa.Array:
    return pa.array([f"{v} {o}" for v in VERBS for o in OBJECTS], pa.string())


# --------------------------------------------------------------------------- sprints and tickets


@dataclass
class _Sprints:
    team: np.ndarray
    index: np.ndarray  # within the team
    sprint_id: np.ndarray
    start: np.ndarray
    end: np.ndarray  # planned
    completed: np.ndarray  # -1 unless closed
    state: np.ndarray  # 0 future, 1 active, 2 closed
    team_first: np.ndarray  # first sprint row of each team
    team_count: np.ndarray


def _sprints(org: _Org, rng: np.random.Generator) -> _Sprints:
    team, index, start, end = [], [], [], []
    for t in range(len(org.teams)):
        length = int(org.sprint_days[t])
        first = org.start + int(org.sprint_offset[t]) * DAY + 9 * HOUR
        count = (org.end - first) // (length * DAY) + 2  # up to the active one and one planned
        starts = first + np.arange(count) * length * DAY
        team.append(np.full(count, t))
        index.append(np.arange(count))
        start.append(starts)
        end.append(starts + length * DAY - 2 * HOUR)
    team_a, index_a = np.concatenate(team), np.concatenate(index)
    start_a, end_a = np.concatenate(start), np.concatenate(end)
    # Jira closes a sprint near its planned end; the next starts from its completion.
    state = np.where(end_a <= org.end, 2, np.where(start_a <= org.end, 1, 0))
    completed = np.where(state == 2, end_a - rng.integers(0, 20 * HOUR, end_a.size), -1)
    counts = np.bincount(team_a, minlength=len(org.teams))
    return _Sprints(team_a, index_a, 1000 + np.arange(team_a.size), start_a, end_a, completed,
                    state, np.r_[0, np.cumsum(counts)[:-1]], counts)  # fmt: skip


@dataclass
class _Tickets:
    team: np.ndarray
    number: np.ndarray  # in the team's project
    type: np.ndarray  # index into TICKET_TYPES
    created: np.ndarray
    sprint: np.ndarray  # first sprint row, -1
    carried: np.ndarray  # second sprint row, -1
    status: np.ndarray  # index into STATUSES
    started: np.ndarray  # -1
    review: np.ndarray  # -1
    resolved: np.ndarray  # -1
    points0: np.ndarray  # first estimate, nan
    points: np.ndarray  # current estimate, nan
    reestimated: np.ndarray  # when, -1
    assignee: np.ndarray  # person, -1
    removed: np.ndarray  # when taken out of its sprint, -1


def _tickets(org: _Org, c: _Commits, sp: _Sprints, rng: np.random.Generator, n: int) -> _Tickets:
    # Tickets follow the teams' work (more after AI rollout), a few days ahead of it.
    pool = np.flatnonzero((c.kind == KIND_HUMAN) & (c.team >= 0))
    src = rng.choice(pool, size=n)
    team = c.team[src]
    created = np.maximum(org.start, c.committed[src] - _lognormal(rng, 5 * DAY, 1.0, n))
    order = np.lexsort((created, team))
    team, created, src = team[order], created[order], src[order]
    number = _group_rank(team, created)
    adoption = org.adoption[team, org.day_of(created)]
    shares = np.array([t[2] for t in TICKET_TYPES])
    probs = np.tile(shares, (2, 1))
    probs[1, 2] += 0.06  # more bugs where AI-made work dominates
    probs[1] /= probs[1].sum()
    ttype = _choice(rng, probs, (adoption > 0.5).astype(np.int64))
    epic = ttype == 4

    # The sprint the ticket is picked up in: the team's sprint containing "pickup".
    pickup = created + _lognormal(rng, 3 * DAY, 1.0, n)
    sprint = np.full(n, -1)
    for t in range(len(org.teams)):
        rows = np.flatnonzero(team == t)
        first, count = sp.team_first[t], sp.team_count[t]
        pos = np.searchsorted(sp.start[first : first + count], pickup[rows], side="right") - 1
        sprint[rows] = np.where((pos >= 0) & (pos < count), first + pos, -1)
    backlog = epic | (rng.random(n) < 0.06)
    sprint = np.where(backlog, -1, sprint)
    valid = sprint >= 0
    s_state = np.where(valid, sp.state[np.maximum(sprint, 0)], -1)
    s_start = sp.start[np.maximum(sprint, 0)]
    s_end = np.where(sp.completed[np.maximum(sprint, 0)] > 0, sp.completed[np.maximum(sprint, 0)],
                     sp.end[np.maximum(sprint, 0)])  # fmt: skip

    # Outcomes: done in the sprint, carried over to the next, cancelled, or taken out.
    u = rng.random(n)
    closed = s_state == 2
    active = s_state == 1
    carried = np.where(closed & (u >= 0.80) & (u < 0.93), sprint + 1, -1)
    carried = np.where((carried >= 0) & (sp.team[np.minimum(np.maximum(carried, 0), sp.team.size - 1)] == team)
                       & (sp.state[np.minimum(np.maximum(carried, 0), sp.team.size - 1)] > 0), carried, -1)  # fmt: skip
    cancelled = closed & (u >= 0.93) & (u < 0.97)
    removed_case = closed & (u >= 0.97)
    last = np.where(carried >= 0, carried, sprint)
    l_state = np.where(last >= 0, sp.state[np.maximum(last, 0)], -1)
    l_start = sp.start[np.maximum(last, 0)]
    l_end = np.where(sp.completed[np.maximum(last, 0)] > 0, sp.completed[np.maximum(last, 0)],
                     np.minimum(sp.end[np.maximum(last, 0)], org.end))  # fmt: skip
    begun = np.maximum(s_start, created) + _lognormal(rng, 1 * DAY, 0.8, n)
    finish = l_start + (rng.uniform(0.2, 0.97, n) * (l_end - l_start)).astype(np.int64)
    finish = np.maximum(finish, begun + HOUR)
    done_closed = (closed & (u < 0.80)) | ((carried >= 0) & (l_state == 2))
    in_active = active | ((carried >= 0) & (l_state == 1))
    done_active = in_active & (u < 0.35) & (finish <= org.end)
    progress_active = in_active & ~done_active & (begun <= org.end) & (rng.random(n) < 0.6)
    done = (done_closed & (finish <= org.end)) | done_active
    # Backlog tickets without a sprint: some done, kanban style.
    kanban = ~valid & ~epic & (rng.random(n) < 0.6)
    k_begun = created + _lognormal(rng, 4 * DAY, 1.0, n)
    k_finish = k_begun + _lognormal(rng, 3 * DAY, 1.0, n)
    kanban_done = kanban & (k_finish <= org.end)
    begun = np.where(valid, begun, k_begun)
    finish = np.where(valid, finish, k_finish)
    done |= kanban_done

    status = np.zeros(n, np.int64)
    status = np.where(progress_active, 1, status)
    status = np.where(done, 3, status)
    status = np.where(cancelled, 4, status)
    started = np.where(
        done | progress_active | (cancelled & (u < 0.95)), np.minimum(begun, org.end), -1
    )
    in_review = np.where(done & (rng.random(n) < 0.85), begun + (finish - begun) // 2, -1)
    resolved = np.where(done, finish, np.where(cancelled, np.minimum(s_end - HOUR, org.end), -1))
    started = np.where(cancelled, np.minimum(started, resolved - MINUTE), started)
    started = np.where(cancelled & (started < created), -1, started)
    removed = np.where(removed_case, s_start + (s_end - s_start) // 2, -1)

    estimable = ~epic & (ttype != 5)
    points = np.where(estimable & (rng.random(n) < 0.88), POINTS[_choice(rng, POINT_SHARES[None, :], np.zeros(n, np.int64))], np.nan)  # fmt: skip
    reestimate = ~np.isnan(points) & (started > 0) & (rng.random(n) < 0.07)
    points_after = np.where(
        reestimate, POINTS[np.minimum(np.searchsorted(POINTS, points) + 1, POINTS.size - 1)], points
    )
    reestimated = np.where(reestimate, started + 2 * HOUR, -1)
    reestimated = np.where(reestimate & (reestimated > org.end), -1, reestimated)
    points_after = np.where(reestimated > 0, points_after, points)

    assignee = c.person[src]
    assignee = np.where(assignee >= 0, assignee, c.initiator[src])
    assignee = np.where(started > 0, assignee, -1)
    return _Tickets(team, number, ttype, created, sprint, carried, status, started, in_review,
                    resolved, points, points_after, reestimated, assignee, removed)  # fmt: skip


# --------------------------------------------------------------------------- tables


def _commit_tables(org: _Org, ids: _Identities, c: _Commits, f: _Files, paths: _Paths, prs: _Prs,
                   rng: np.random.Generator) -> dict[str, pa.Table]:  # fmt: skip
    n = c.size
    # Line counts are the sums over the commit's files; merges carry none.
    added = np.where(f.added > 0, f.added, 0)
    deleted = np.where(f.deleted > 0, f.deleted, 0)
    excluded = paths.excluded[f.path]
    additions = np.bincount(f.commit, weights=added, minlength=n).astype(np.int64)
    deletions = np.bincount(f.commit, weights=deleted, minlength=n).astype(np.int64)
    ex_add = np.bincount(f.commit, weights=added * excluded, minlength=n).astype(np.int64)
    ex_del = np.bincount(f.commit, weights=deleted * excluded, minlength=n).astype(np.int64)
    files_changed = np.bincount(f.commit, minlength=n)
    binary_files = np.bincount(f.commit, weights=paths.binary[f.path], minlength=n).astype(np.int64)
    incomplete = ~c.complete

    same_repo_prev = np.r_[False, c.repo[1:] == c.repo[:-1]]
    first_parent = _if(pa.array(same_repo_prev), pa.concat_arrays([pa.array([None], pa.string()), c.sha[:-1]]),
                              pa.nulls(n, pa.string()))  # fmt: skip
    # Subjects: a pool of plain subjects, PR squash subjects, reverts and merges.
    pool = _subject_pool()
    landing = prs.landing[prs.landing >= 0]
    landing_pr = np.flatnonzero(prs.landing >= 0)
    squash = _join(
        prs.title.take(pa.array(landing_pr)), " (#", _int_str(prs.number[landing_pr]), ")"
    )
    reverts = np.flatnonzero(c.revert_of >= 0)
    merges = np.flatnonzero(c.kind == KIND_MERGE)
    subject_ix = c.subject.copy()
    subject_ix[landing] = len(pool) + np.arange(landing.size)
    base = pool.take(pa.array(c.subject))
    revert_subject = _join('Revert "', base.take(pa.array(c.revert_of[reverts])), '"')
    subject_ix[reverts] = len(pool) + landing.size + np.arange(reverts.size)
    branch = _join(
        "feature/",
        _take(org.keys, np.maximum(c.team[merges], 0)),
        "-",
        _int_str(rng.integers(1, 4000, merges.size)),
    )
    merge_subject = _join("Merge branch '", branch, "'")
    subject_ix[merges] = len(pool) + landing.size + reverts.size + np.arange(merges.size)
    subjects = pa.concat_arrays([pool, squash, revert_subject, merge_subject]).take(
        pa.array(subject_ix)
    )
    pr_number = np.full(n, -1)
    pr_number[landing] = prs.number[landing_pr]
    source_branch = np.full(n, -1)
    source_branch[merges] = np.arange(merges.size)

    # Trailers: the initiator of agent work; the assistant of assisted work; some sign-offs.
    agent_named = (c.kind == KIND_AGENT) & (c.initiator >= 0)
    assisted = c.mode == MODE_ASSISTED
    signoff = (c.person >= 0) & (rng.random(n) < 0.05)
    t_rows = np.concatenate(
        [np.flatnonzero(agent_named), np.flatnonzero(assisted), np.flatnonzero(signoff)]
    )
    t_kind = np.concatenate([np.zeros(agent_named.sum(), np.int64), np.ones(assisted.sum(), np.int64),
                             np.full(signoff.sum(), 2)])  # fmt: skip
    t_position = _group_rank(t_rows, t_kind) - 1
    people = _join(pa.array(org.names), " <", pa.array(org.emails), ">")
    coauthor = pa.array([a[1] for a in ASSIST], pa.string())
    value = pa.concat_arrays([
        people.take(pa.array(c.initiator[t_rows[t_kind == 0]])),
        coauthor.take(pa.array(c.tool[t_rows[t_kind == 1]])),
        people.take(pa.array(c.person[t_rows[t_kind == 2]])),
    ])  # fmt: skip
    trailer_count = np.bincount(t_rows, minlength=n)
    trailers = pa.table({
        "repo": _take(org.repos, c.repo[t_rows]),
        "sha": c.sha.take(pa.array(t_rows)),
        "position": pa.array(t_position, pa.int16()),
        "key": _take(["co-authored-by", "co-authored-by", "signed-off-by"], t_kind),
        "value": value,
    })  # fmt: skip

    # Attribution: own signals; a few squash results inherit their PR's (assisted PR commits).
    ai_tool_names = ([a[0] for a in ASSIST], [a[0] for a in AGENTS], [b[0] for b in BOTS])
    tool_name = np.full(n, -1)
    offsets = {MODE_ASSISTED: 0, MODE_AGENT: len(ASSIST), MODE_BOT: len(ASSIST) + len(AGENTS)}
    for m, off in offsets.items():
        rows = c.mode == m
        tool_name[rows] = off + c.tool[rows]
    names = [*ai_tool_names[0], *ai_tool_names[1], *ai_tool_names[2]]
    inherit = np.zeros(n, bool)
    inherit[landing] = (c.mode[landing] == MODE_NONE) & (rng.random(landing.size) < 0.05)
    inh_tool = np.where(inherit, rng.integers(0, len(ASSIST), n), -1)
    eff_tool = np.where(inherit, inh_tool, tool_name)
    eff_mode = np.where(inherit, MODE_ASSISTED, c.mode)
    confidence = np.select(
        [c.mode == MODE_AGENT, c.mode == MODE_ASSISTED, c.mode == MODE_BOT],
        [0.97, 0.9, 0.99],
        np.nan,
    )
    eff_conf = np.where(inherit, 0.85, confidence)
    via = np.full(n, -1)
    via[landing] = np.arange(landing.size)
    via = np.where(inherit, via, -1)
    via_pr = _join(
        "acme/", _take(org.repos, c.repo[landing]), "#", _int_str(prs.number[landing_pr])
    )
    mode_names = [m or "" for m in MODES]
    committer = np.where(
        np.isin(np.arange(n), landing) & (c.kind != KIND_BOT), ids.github, c.author
    )
    author_tz = org.tz[np.maximum(c.person, 0)] * (c.person >= 0)

    def ident(values: list[str], index: np.ndarray) -> pa.Array:
        return _take(values, index)

    def nullable(values: np.ndarray) -> pa.Array:
        return pa.array(values, mask=incomplete, type=pa.int32())

    commits = pa.table({
        "repo": _take(org.repos, c.repo),
        "sha": c.sha,
        "parent_count": pa.array(np.where(c.kind == KIND_MERGE, 2, np.where(same_repo_prev, 1, 0)), pa.int16()),
        "first_parent_sha": first_parent,
        "is_merge": pa.array(c.kind == KIND_MERGE),
        "on_default_branch": pa.array(c.on_default),
        "in_default_history": pa.array(c.in_default),
        "is_reachable": pa.array(c.reachable),
        "author_name": ident(ids.name, c.author),
        "author_email": ident(ids.email, c.author),
        "author_canonical_name": ident(ids.canonical_name, c.author),
        "author_canonical_email": ident(ids.canonical_email, c.author),
        "authored_at": _ts(c.authored),
        "author_tz_offset_min": pa.array(author_tz, pa.int16()),
        "committer_name": ident(ids.name, committer),
        "committer_email": ident(ids.email, committer),
        "committer_canonical_name": ident(ids.canonical_name, committer),
        "committer_canonical_email": ident(ids.canonical_email, committer),
        "committed_at": _ts(c.committed),
        "committer_tz_offset_min": pa.array(author_tz, pa.int16()),
        "subject": subjects,
        "trailer_count": pa.array(trailer_count, pa.int16()),
        "pr_number": pa.array(pr_number, mask=pr_number < 0, type=pa.int32()),
        "source_branch": branch.take(pa.array(source_branch, mask=source_branch < 0, type=pa.int64())),
        "is_revert": pa.array(c.revert_of >= 0),
        "reverted_sha": c.sha.take(pa.array(c.revert_of, mask=c.revert_of < 0, type=pa.int64())),
        "additions": nullable(additions),
        "deletions": nullable(deletions),
        "files_changed": nullable(files_changed),
        "binary_files": nullable(binary_files),
        "excluded_additions": nullable(ex_add),
        "excluded_deletions": nullable(ex_del),
        "stats_complete": pa.array(c.complete),
        "ai_tool": _take(names, eff_tool),
        "ai_mode": _take(mode_names, np.where(eff_mode > 0, eff_mode, -1)),
        "ai_confidence": pa.array(eff_conf, mask=np.isnan(eff_conf)),
        "run_id": _strings(n, RUN_ID),
        "own_ai_tool": _take(names, tool_name),
        "own_ai_mode": _take(mode_names, np.where(c.mode > 0, c.mode, -1)),
        "own_ai_confidence": pa.array(confidence, mask=np.isnan(confidence)),
        "ai_via_pr": via_pr.take(pa.array(via, mask=via < 0, type=pa.int64())),
    })  # fmt: skip
    files = pa.table({
        "repo": _take(org.repos, c.repo[f.commit]),
        "sha": c.sha.take(pa.array(f.commit)),
        "path": _take(paths.path, f.path),
        "change": _take(["A", "D", "M", "T"], f.change),
        "added": pa.array(f.added, mask=f.added < 0, type=pa.int32()),
        "deleted": pa.array(f.deleted, mask=f.deleted < 0, type=pa.int32()),
        "is_binary": pa.array(paths.binary[f.path]),
        "is_excluded": pa.array(paths.excluded[f.path]),
    })  # fmt: skip

    # The evidence ledger: the rule that decided each attributed commit.
    attributed = np.flatnonzero(c.mode > 0)
    am, at = c.mode[attributed], c.tool[attributed]
    rule = np.select(
        [am == MODE_ASSISTED, am == MODE_AGENT],
        [at, len(ASSIST) + at],
        len(ASSIST) + len(AGENTS) + at,
    )
    rules = [a[2] for a in ASSIST] + [a[4] for a in AGENTS] + [b[3] for b in BOTS]
    fields = ["trailer"] * len(ASSIST) + [a[5] for a in AGENTS] + ["author"] * len(BOTS)
    who = _join(
        ident(ids.name, c.author[attributed]), " <", ident(ids.email, c.author[attributed]), ">"
    )
    marker = _if(
        pa.array(am == MODE_ASSISTED),
        _join("Co-authored-by: ", coauthor.take(pa.array(np.where(am == MODE_ASSISTED, at, 0)))),
        who,
    )
    codex = (am == MODE_AGENT) & (at == len(AGENTS) - 1)
    marker = _if(
        pa.array(codex), pa.scalar("https://chatgpt.com/codex/tasks/task_e_" + "0" * 32), marker
    )
    evidence = pa.table({
        "subject_kind": _strings(attributed.size, "commit"),
        "repo": _take(org.repos, c.repo[attributed]),
        "subject_id": c.sha.take(pa.array(attributed)),
        "rule_id": _take(rules, rule),
        "field": _take(fields, rule),
        "matched": marker,
        "tool": _take(names, tool_name[attributed]),
        "mode": _take(mode_names, am),
        "confidence": pa.array(confidence[attributed]),
        "ruleset_version": _strings(attributed.size, "2026.11.0"),
        "run_id": _strings(attributed.size, RUN_ID),
    })  # fmt: skip

    # git-ai notes in every fourth team's repositories after its rollout.
    noted = np.flatnonzero(
        (c.team >= 0) & (c.team % 4 == 1) & (c.mode > 0) & (c.mode < MODE_BOT) & c.complete
        & (org.adoption[np.maximum(c.team, 0), org.day_of(c.committed)] > 0)
    )  # fmt: skip
    lines = np.maximum(additions[noted] - ex_add[noted], 1)
    ai_lines = np.maximum(1, (lines * rng.uniform(0.4, 1.0, noted.size)).astype(np.int64))
    human_lines = lines - np.minimum(ai_lines, lines)
    note_rows = np.concatenate([noted, noted[human_lines > 0]])
    note_kind = np.concatenate(
        [np.zeros(noted.size, np.int64), np.ones(int((human_lines > 0).sum()), np.int64)]
    )
    note_tool = np.where(note_kind == 0, tool_name[note_rows], -1)
    notes = pa.table({
        "repo": _take(org.repos, c.repo[note_rows]),
        "sha": c.sha.take(pa.array(note_rows)),
        "kind": _take(["ai", "human"], note_kind),
        "tool": _take(names, note_tool),
        "model": _take(["claude-sonnet-4-5", None], note_kind),
        "lines": pa.array(np.concatenate([ai_lines, human_lines[human_lines > 0]]), pa.int32()),
        "files": pa.array(np.maximum(1, files_changed[note_rows]), pa.int32()),
        "schema_version": _strings(note_rows.size, "authorship/3.0.0"),
    })  # fmt: skip
    durability = _durability(org, c, additions - ex_add)
    return {"commits": commits, "commit_files": files, "commit_trailers": trailers,
            "ai_evidence": evidence, "commit_ai_notes": notes,
            "commit_durability": durability}  # fmt: skip


def _durability(org: _Org, c: _Commits, lines: np.ndarray) -> pa.Table:
    """Line survival of default-branch commits whose 30-day window closed before the end: AI lines
    churn a little more than people's. Its own random stream: the tables drawn after it stay the same."""
    rng = np.random.default_rng(int(lines.sum()))
    end = org.start + org.days * DAY
    rows = np.flatnonzero(c.in_default & (c.kind != KIND_MERGE) & c.complete & (lines > 0)
                          & (c.committed + 30 * DAY < end))  # fmt: skip
    added = lines[rows]
    keep = np.where(c.mode[rows] > 0, 0.78, 0.86)
    churn = rng.binomial(added, np.minimum(keep + 0.06, 1.0))
    durable = rng.binomial(churn, keep / np.minimum(keep + 0.06, 1.0))
    landed = c.committed[rows]
    zero = pa.array(np.zeros(rows.size, np.int32))
    fixed_sha = c.sha.take(pa.array(rows))
    return pa.table({
        "repo": _take(org.repos, c.repo[rows]),
        "sha": fixed_sha,
        "landed_sha": fixed_sha,
        "landed_at": _ts(landed),
        "lines_added": pa.array(added, pa.int32()),
        "alive_churn": pa.array(churn, pa.int32()),
        "alive_durable": pa.array(durable, pa.int32()),
        "note_ai_lines": zero, "note_ai_alive_churn": zero, "note_ai_alive_durable": zero,
        "note_human_lines": zero, "note_human_alive_churn": zero, "note_human_alive_durable": zero,
        "churn_days": pa.array(np.full(rows.size, 21, np.int16)),
        "durability_days": pa.array(np.full(rows.size, 30, np.int16)),
        "churn_at": _ts(landed + 21 * DAY),
        "churn_sha": fixed_sha,
        "durable_at": _ts(landed + 30 * DAY),
        "durable_sha": fixed_sha,
        "method": _strings(rows.size, "lines.v1"),
        "excludes_hash": _strings(rows.size, "synthetic"),
        "measured_at": _ts(landed + 31 * DAY),
        "run_id": _strings(rows.size, RUN_ID),
    })  # fmt: skip


def _pr_tables(org: _Org, ids: _Identities, c: _Commits, prs: _Prs, rng: np.random.Generator) -> dict[str, pa.Table]:  # fmt: skip
    n = prs.repo.size
    now = _ts(np.full(n, org.end))
    forge_repo = _join("acme/", _take(org.repos, prs.repo))
    agent = prs.mode == MODE_AGENT
    bot = prs.mode == MODE_BOT
    is_agent_author = c.kind[prs.template] == KIND_AGENT
    prefixes = np.array(["copilot/", "claude/", "cursor/", "devin/", "codex/"])
    head = np.where(
        is_agent_author | (agent & (prs.tool == len(AGENTS) - 1)),
        prefixes[np.clip(prs.tool, 0, len(AGENTS) - 1)],
        np.where(bot, "dependabot/npm_and_yarn/", "feature/"),
    )
    head_ref = _join(pa.array(head), _int_str(prs.number))
    landing = prs.landing
    additions = np.where(landing >= 0, 0, _lognormal(rng, 60, 1.3, n))
    merged_by = np.where(prs.state == 2, _reviewer(org, prs, rng, 0), -1)
    labels = pa.ListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(prs.ticket < 0)].astype(np.int32)),
        _strings(int((prs.ticket < 0).sum()), "chore"),
    )
    tool_names = [a[0] for a in ASSIST] + [a[0] for a in AGENTS] + [b[0] for b in BOTS]
    tool_ix = np.select([prs.mode == MODE_ASSISTED, prs.mode == MODE_AGENT, prs.mode == MODE_BOT],
                        [prs.tool, len(ASSIST) + prs.tool, len(ASSIST) + len(AGENTS) + prs.tool], -1)  # fmt: skip
    mode_names = [m or "" for m in MODES]
    updated = np.maximum.reduce([prs.created, prs.merged, prs.closed])
    deleted = rng.random(n) < 0.002
    land_sha = c.sha.take(pa.array(landing, mask=landing < 0, type=pa.int64()))
    pull_requests = pa.table({
        "source": _strings(n, GITHUB),
        "forge": _strings(n, GITHUB),
        "repo": forge_repo,
        "number": pa.array(prs.number, pa.int32()),
        "forge_id": _join("PR_", _hex(rng, n, 8)),
        "title": prs.title,
        "author_login": prs.login,
        "author_type": prs.author_type,
        "author_id": _int_str(np.where(prs.person >= 0, org.gh_ids[np.maximum(prs.person, 0)], 41898282)),
        "state": _take(["open", "closed", "merged"], prs.state),
        "is_draft": pa.array((prs.state == 0) & (rng.random(n) < 0.2)),
        "created_at": _ts(prs.created),
        "updated_at": _ts(updated),
        "merged_at": _ts(prs.merged, prs.merged < 0),
        "closed_at": _ts(prs.closed, prs.closed < 0),
        "base_ref": _strings(n, "main"),
        "head_ref": head_ref,
        "head_repo": forge_repo,
        "is_cross_repository": pa.array(np.zeros(n, bool)),
        "additions": pa.array(additions, pa.int32()),
        "deletions": pa.array(additions // 3, pa.int32()),
        "changed_files": pa.array(np.maximum(1, additions // 40), pa.int32()),
        "commit_count": pa.array(np.zeros(n, np.int32)),
        "labels": labels,
        "merge_commit_sha": land_sha,
        "merged_by_login": _take(org.logins, merged_by),
        "body_length": pa.array(rng.integers(0, 2400, n), pa.int32()),
        "first_commit_at": _ts(prs.first_commit),
        "ai_tool": _take(tool_names, tool_ix),
        "ai_mode": _take(mode_names, np.where(prs.mode > 0, prs.mode, -1)),
        "ai_confidence": pa.array(np.where(prs.mode > 0, 0.95, np.nan), mask=prs.mode == 0),
        "is_deleted": pa.array(deleted),
        "synced_at": now,
        "run_id": _strings(n, RUN_ID),
    })  # fmt: skip

    # The PRs' own commits (squash merges lose them on the branch; their trailers stay here).
    k = np.minimum(1 + rng.poisson(1.6, n), 12)
    k = np.where(bot, 1, k)
    pr = np.repeat(np.arange(n), k)
    position = np.arange(pr.size) - np.repeat(np.cumsum(k) - k, k)
    m = pr.size
    span = np.maximum(prs.created[pr] - prs.first_commit[pr], MINUTE)
    at = prs.first_commit[pr] + (span * position / np.maximum(k[pr], 1)).astype(np.int64)
    template = prs.template[pr]
    author_ix = c.author[template]
    is_agent = c.kind[template] == KIND_AGENT
    initiator = c.initiator[template]
    pr_mode = prs.mode[pr]
    assisted_here = (pr_mode == MODE_ASSISTED) & (rng.random(m) < 0.6)
    coauthor = pa.array([a[1] for a in ASSIST], pa.string())
    people = _join(pa.array(org.names), " <", pa.array(org.emails), ">")
    with_initiator = is_agent & (initiator >= 0)
    value = _if(
        pa.array(with_initiator),
        people.take(pa.array(np.maximum(initiator, 0))),
        coauthor.take(pa.array(np.clip(prs.tool[pr], 0, len(ASSIST) - 1))),
    )
    has_trailer = with_initiator | assisted_here
    entries = pa.StructArray.from_arrays(
        [_strings(m, "co-authored-by"), value], names=["key", "value"]
    ).filter(pa.array(has_trailer))
    trailers = pa.ListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(has_trailer)].astype(np.int32)), entries
    )
    login = prs.login.take(pa.array(pr))
    commit_mode = np.where(
        is_agent,
        MODE_AGENT,
        np.where(assisted_here, MODE_ASSISTED, np.where(pr_mode == MODE_BOT, MODE_BOT, 0)),
    )
    commit_tool = np.where(commit_mode > 0, tool_ix[pr], -1)
    pr_commits = pa.table({
        "source": _strings(m, GITHUB),
        "repo": forge_repo.take(pa.array(pr)),
        "pr_number": pa.array(prs.number[pr], pa.int32()),
        "sha": _hex(rng, m),
        "position": pa.array(position, pa.int32()),
        "author_name": _take(ids.name, author_ix),
        "author_email": _take(ids.email, author_ix),
        "author_login": login,
        "committer_name": _take(ids.name, author_ix),
        "committer_email": _take(ids.email, author_ix),
        "committer_login": login,
        "authored_at": _ts(at),
        "committed_at": _ts(at),
        "subject": _subject_pool().take(pa.array(rng.integers(0, len(VERBS) * len(OBJECTS), m))),
        "trailers": trailers,
        "additions": pa.array(_lognormal(rng, 30, 1.3, m), pa.int32()),
        "deletions": pa.array(_lognormal(rng, 8, 1.3, m), pa.int32()),
        "ai_tool": _take(tool_names, commit_tool),
        "ai_mode": _take(mode_names, np.where(commit_mode > 0, commit_mode, -1)),
        "ai_confidence": pa.array(np.where(commit_mode > 0, 0.95, np.nan), mask=commit_mode == 0),
    })  # fmt: skip

    # Reviews: people of the author's team (changes requested more often on agent work), and
    # review bots on a third of the PRs after mid-2025.
    human = np.where(
        bot,
        (rng.random(n) < 0.3).astype(np.int64),
        _choice(rng, np.array([[0.08, 0.45, 0.32, 0.15]]), np.zeros(n, np.int64)),
    )
    human = np.where(prs.created > org.end - HOUR, 0, human)
    r_pr = np.repeat(np.arange(n), human)
    nth = np.arange(r_pr.size) - np.repeat(np.cumsum(human) - human, human)
    count = human[r_pr]
    last = nth == count - 1
    p_changes = np.where(prs.mode[r_pr] == MODE_AGENT, 0.38, 0.2)
    state = np.where(rng.random(r_pr.size) < p_changes, 1, 2)
    final = np.where(prs.state[r_pr] == 2, 0, np.where(rng.random(r_pr.size) < 0.5, 1, 2))
    state = np.where(last, final, state)
    end = np.where(
        prs.merged[r_pr] > 0,
        prs.merged[r_pr],
        np.where(prs.closed[r_pr] > 0, prs.closed[r_pr], org.end),
    )
    first = np.minimum(prs.first_review[r_pr], end)
    at = first + ((end - first) * nth / np.maximum(count, 1)).astype(np.int64)
    reviewer = _reviewer(org, prs, rng, 1, r_pr)
    shifted = prs.created > _midnight(TOOL_SHIFT) - 120 * DAY
    with_bot = np.flatnonzero(shifted & (rng.random(n) < 0.35) & ~bot)
    which = rng.integers(0, len(REVIEW_BOTS), with_bot.size)
    rows = np.concatenate([r_pr, with_bot])
    is_human = np.r_[np.ones(r_pr.size, bool), np.zeros(with_bot.size, bool)]
    bot_login = pa.array([b[1] for b in REVIEW_BOTS], pa.string())
    reviews = pa.table({
        "source": _strings(rows.size, GITHUB),
        "repo": forge_repo.take(pa.array(rows)),
        "pr_number": pa.array(prs.number[rows], pa.int32()),
        "review_id": _join("PRR_", _hex(rng, rows.size, 8)),
        "reviewer_login": pa.concat_arrays([_take(org.logins, reviewer), bot_login.take(pa.array(which))]),
        "reviewer_type": _take(["user", "bot"], (~is_human).astype(np.int64)),
        "state": _take(["approved", "changes_requested", "commented"], np.r_[state, np.full(with_bot.size, 2)]),
        "submitted_at": _ts(np.r_[at, np.minimum(prs.created[with_bot] + 8 * MINUTE, org.end)]),
        "ai_tool": _take([b[0] for b in REVIEW_BOTS], np.r_[np.full(r_pr.size, -1), which]),
        "ai_mode": _take(["review"], np.r_[np.full(r_pr.size, -1), np.zeros(with_bot.size, np.int64)]),
        "is_human": pa.array(is_human),
    })  # fmt: skip
    links = np.flatnonzero(landing >= 0)
    commit_prs = pa.table({
        "git_repo": _take(org.repos, prs.repo[links]),
        "sha": land_sha.take(pa.array(links)),
        "source": _strings(links.size, GITHUB),
        "repo": forge_repo.take(pa.array(links)),
        "pr_number": pa.array(prs.number[links], pa.int32()),
        "via": _strings(links.size, "merge_commit"),
    })  # fmt: skip
    keyed = np.flatnonzero(prs.ticket > 0)
    ticket_links = pa.table({
        "source": _strings(keyed.size, GITHUB),
        "subject_kind": _strings(keyed.size, "pr"),
        "repo": forge_repo.take(pa.array(keyed)),
        "subject_id": _int_str(prs.number[keyed]),
        "ticket_key": _join(_take(org.keys, prs.team[keyed]), "-", _int_str(prs.ticket[keyed])),
        "via": _strings(keyed.size, "title"),
    })  # fmt: skip
    return {"pull_requests": pull_requests, "pr_commits": pr_commits, "pr_reviews": reviews,
            "commit_pull_requests": commit_prs, "ticket_links": ticket_links}  # fmt: skip


def _reviewer(org: _Org, prs: _Prs, rng: np.random.Generator, salt: int, rows: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """A member of the PR's team other than its author (the team's first stints)."""
    rows = np.arange(prs.repo.size) if rows is None else rows
    team = np.maximum(prs.team[rows], 0)
    first = np.r_[0, np.cumsum(org.team_size)[:-1]]
    pick = first[team] + (rng.random(rows.size) * org.team_size[team]).astype(np.int64)
    author = prs.person[rows]
    again = first[team] + (pick - first[team] + 1 + salt) % org.team_size[team]
    return np.where(pick == author, again, pick)


def _tracker_tables(org: _Org, sp: _Sprints, t: _Tickets, rng: np.random.Generator) -> dict[str, pa.Table]:  # fmt: skip
    n = t.team.size
    now = _ts(np.full(n, org.end))
    keys = _join(_take(org.keys, t.team), "-", _int_str(t.number))
    ticket_id = _int_str(100_000 + np.arange(n))
    sprint_name = _join(_take(org.keys, sp.team), " Sprint ", _int_str(sp.index + 1))
    sprint_id = _int_str(sp.sprint_id)
    last = np.where(t.carried >= 0, t.carried, t.sprint)
    last = np.where(t.removed > 0, -1, last)
    type_names = [x[0] for x in TICKET_TYPES]
    done = t.status == 3
    status_ids = [s[0] for s in STATUSES]
    tickets = pa.table({
        "source": _strings(n, JIRA),
        "tracker": _strings(n, "jira"),
        "ticket_id": ticket_id,
        "key": keys,
        "project": _take(org.keys, t.team),
        "title": _subject_pool().take(pa.array(rng.integers(0, len(VERBS) * len(OBJECTS), n))),
        "type": _take(type_names, t.type),
        "type_category": _take([x[1] for x in TICKET_TYPES], t.type),
        "status": _take([s[1] for s in STATUSES], t.status),
        "status_id": _take(status_ids, t.status),
        "status_category": _take([s[2] for s in STATUSES], t.status),
        "resolution": _take(["Done", "Won't Do"], np.where(done, 0, np.where(t.status == 4, 1, -1))),
        "priority": _take(["High", "Medium", "Low"], rng.integers(0, 3, n)),
        "story_points": pa.array(t.points, mask=np.isnan(t.points)),
        "assignee_id": _take(org.jira_ids, t.assignee),
        "reporter_id": _take(org.jira_ids, rng.integers(0, len(org.names), n)),
        "labels": pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string())),
        "parent_key": pa.nulls(n, pa.string()),
        "epic_key": pa.nulls(n, pa.string()),
        "sprint_id": sprint_id.take(pa.array(last, mask=last < 0, type=pa.int64())),
        "created_at": _ts(t.created),
        "updated_at": _ts(np.maximum.reduce([t.created, t.resolved, t.started, t.reestimated])),
        "resolved_at": _ts(t.resolved, t.resolved < 0),
        "body_length": pa.array(rng.integers(0, 3000, n), pa.int32()),
        "is_deleted": pa.array(rng.random(n) < 0.003),
        "synced_at": now,
        "run_id": _strings(n, RUN_ID),
    })  # fmt: skip

    # ticket_sprints: the sprint it was planned in and the one it was carried to.
    has = np.flatnonzero(t.sprint >= 0)
    carried = np.flatnonzero(t.carried >= 0)
    ts_rows = np.r_[has, carried]
    ts_sprint = np.r_[t.sprint[has], t.carried[carried]]
    removed_rows = np.isin(ts_rows, np.flatnonzero(t.removed > 0))
    ticket_sprints = pa.table({
        "source": _strings(int((~removed_rows).sum()), JIRA),
        "ticket_id": ticket_id.take(pa.array(ts_rows[~removed_rows])),
        "sprint_id": sprint_id.take(pa.array(ts_sprint[~removed_rows])),
    })  # fmt: skip

    # ticket_events: one block per kind of change, vectorised, then stacked.
    blocks: list[dict[str, np.ndarray | pa.Array]] = []

    def block(group: int, rows: np.ndarray, when: np.ndarray, field: str, from_id: pa.Array, to_id: pa.Array,
              from_value: pa.Array, to_value: pa.Array, actor: np.ndarray, position: int = 0) -> None:  # fmt: skip
        """One kind of change; `group` numbers the history entry within a ticket (its event id)."""
        keep = (when > 0) & (when <= org.end)
        if not keep.any():
            return
        k = pa.array(keep)
        blocks.append({
            "rows": rows[keep], "when": when[keep], "field": field, "position": position, "group": group,
            "from_id": from_id.filter(k), "to_id": to_id.filter(k),
            "from_value": from_value.filter(k), "to_value": to_value.filter(k), "actor": actor[keep],
        })  # fmt: skip

    s = t.sprint[has]
    planned = sp.start[s] - rng.integers(10 * MINUTE, 3 * HOUR, has.size)
    joined = np.where(
        t.created[has] < sp.start[s],
        planned,
        t.created[has] + rng.integers(5 * MINUTE, 2 * HOUR, has.size),
    )
    none = pa.nulls(has.size, pa.string())
    block(
        0,
        has,
        joined,
        "sprint",
        none,
        sprint_id.take(pa.array(s)),
        none,
        sprint_name.take(pa.array(s)),
        t.assignee[has],
    )
    c_from, c_to = t.sprint[carried], t.carried[carried]
    both = _join(sprint_id.take(pa.array(c_from)), ", ", sprint_id.take(pa.array(c_to)))
    both_names = _join(sprint_name.take(pa.array(c_from)), ", ", sprint_name.take(pa.array(c_to)))
    block(1, carried, sp.completed[c_from], "sprint", sprint_id.take(pa.array(c_from)), both,
          sprint_name.take(pa.array(c_from)), both_names, t.assignee[carried])  # fmt: skip
    rem = np.flatnonzero(t.removed > 0)
    nulls = pa.nulls(rem.size, pa.string())
    block(2, rem, t.removed[rem], "sprint", sprint_id.take(pa.array(t.sprint[rem])), nulls,
          sprint_name.take(pa.array(t.sprint[rem])), nulls, t.assignee[rem])  # fmt: skip
    ids, names = pa.array(status_ids), pa.array([x[1] for x in STATUSES])

    def status_block(
        group: int, rows: np.ndarray, when: np.ndarray, old: np.ndarray, new: int
    ) -> None:
        to = pa.array(np.full(rows.size, new))
        block(group, rows, when, "status", ids.take(pa.array(old)), ids.take(to), names.take(pa.array(old)),
              names.take(to), t.assignee[rows])  # fmt: skip

    started = np.flatnonzero(t.started > 0)
    status_block(3, started, t.started[started], np.zeros(started.size, np.int64), 1)
    reviewed = np.flatnonzero(t.review > 0)
    status_block(4, reviewed, t.review[reviewed], np.ones(reviewed.size, np.int64), 2)
    finished = np.flatnonzero(done)
    status_block(5, finished, t.resolved[finished], np.where(t.review[finished] > 0, 2, 1), 3)
    fn = pa.nulls(finished.size, pa.string())
    block(5, finished, t.resolved[finished], "resolution", fn, _strings(finished.size, "10000"), fn,
          _strings(finished.size, "Done"), t.assignee[finished], position=1)  # fmt: skip
    dropped = np.flatnonzero(t.status == 4)
    status_block(6, dropped, t.resolved[dropped], np.where(t.started[dropped] > 0, 1, 0), 4)
    est = np.flatnonzero(~np.isnan(t.points0))
    en = pa.nulls(est.size, pa.string())
    block(7, est, t.created[est] + rng.integers(MINUTE, 6 * HOUR, est.size), "story_points", en, en, en,
          _int_str(t.points0[est].astype(np.int64)), np.full(est.size, -1))  # fmt: skip
    re = np.flatnonzero(t.reestimated > 0)
    rn = pa.nulls(re.size, pa.string())
    block(8, re, t.reestimated[re], "story_points", rn, rn, _int_str(t.points0[re].astype(np.int64)),
          _int_str(t.points[re].astype(np.int64)), t.assignee[re])  # fmt: skip
    assigned = np.flatnonzero((t.assignee >= 0) & (t.started > 0))
    an = pa.nulls(assigned.size, pa.string())
    block(9, assigned, t.started[assigned] - MINUTE, "assignee", an, _take(org.jira_ids, t.assignee[assigned]),
          an, _take(org.names, t.assignee[assigned]), t.assignee[assigned])  # fmt: skip

    rows = np.concatenate([b["rows"] for b in blocks])  # type: ignore[arg-type]
    when = np.concatenate([b["when"] for b in blocks])  # type: ignore[arg-type]
    fields = np.concatenate([np.full(len(b["rows"]), i) for i, b in enumerate(blocks)])  # type: ignore[arg-type]
    positions = np.concatenate([np.full(len(b["rows"]), b["position"]) for b in blocks])  # type: ignore[arg-type]
    groups = np.concatenate([np.full(len(b["rows"]), b["group"]) for b in blocks])  # type: ignore[arg-type]
    actor = np.concatenate([b["actor"] for b in blocks])  # type: ignore[arg-type]
    m = rows.size
    events = pa.table({
        "source": _strings(m, JIRA),
        "ticket_id": ticket_id.take(pa.array(rows)),
        "event_id": _int_str(rows.astype(np.int64) * 16 + groups),
        "position": pa.array(positions, pa.int16()),
        "changed_at": _ts(when),
        "actor_id": _take(org.jira_ids, actor),
        "field": _take([str(b["field"]) for b in blocks], fields),
        "from_id": pa.concat_arrays([b["from_id"] for b in blocks]),  # type: ignore[misc]
        "to_id": pa.concat_arrays([b["to_id"] for b in blocks]),  # type: ignore[misc]
        "from_value": pa.concat_arrays([b["from_value"] for b in blocks]),  # type: ignore[misc]
        "to_value": pa.concat_arrays([b["to_value"] for b in blocks]),  # type: ignore[misc]
    })  # fmt: skip

    k = sp.team.size
    sprints = pa.table({
        "source": _strings(k, JIRA),
        "tracker": _strings(k, "jira"),
        "sprint_id": sprint_id,
        "board_id": _int_str(100 + sp.team),
        "name": sprint_name,
        "state": _take(["future", "active", "closed"], sp.state),
        "start_at": _ts(sp.start),
        "end_at": _ts(sp.end),
        "completed_at": _ts(sp.completed, sp.completed < 0),
        "is_deleted": pa.array(np.zeros(k, bool)),
        "synced_at": _ts(np.full(k, org.end)),
    })  # fmt: skip
    nt = len(org.teams)
    boards = pa.table({
        "source": _strings(nt, JIRA),
        "board_id": _int_str(100 + np.arange(nt)),
        "kind": _strings(nt, "scrum"),
        "name": _join(pa.array(org.teams), " board"),
        "project": pa.array(org.keys),
        "synced_at": _ts(np.full(nt, org.end)),
    })  # fmt: skip
    statuses = pa.table({
        "source": _strings(len(STATUSES), JIRA),
        "status_id": pa.array(status_ids),
        "name": pa.array([s[1] for s in STATUSES]),
        "category": pa.array([s[2] for s in STATUSES]),
    })  # fmt: skip
    return {"tickets": tickets, "ticket_sprints": ticket_sprints, "ticket_events": events,
            "sprints": sprints, "boards": boards, "ticket_statuses": statuses}  # fmt: skip


def _delivery_tables(org: _Org, c: _Commits, rng: np.random.Generator, n_commits: int) -> dict[str, pa.Table]:  # fmt: skip
    """Deployments (with statuses) and releases of commits on the default branch."""
    base = np.flatnonzero(c.in_default & (c.kind != KIND_MERGE))
    n = round(0.06 * n_commits)
    src = np.sort(rng.choice(base, size=n))
    created = np.minimum(c.committed[src] + _lognormal(rng, 3 * HOUR, 1.0, n), org.end)
    team = np.where(c.team[src] >= 0, c.team[src], np.maximum(org.repo_team[c.repo[src]], 0))
    adoption = org.adoption[team, org.day_of(created)]
    u = rng.random(n)
    fail = 0.06 + 0.04 * adoption
    final = np.where(u < fail, 1, np.where(u < fail + 0.02, 2, np.where(u < fail + 0.04, 3, 0)))
    finished = created + MINUTE + _lognormal(rng, 6 * MINUTE, 0.7, n)
    running = finished > org.end
    final_state = np.where(running, 4, final)  # in_progress at the snapshot
    state_names = ["success", "failure", "error", "canceled", "in_progress", "queued"]
    env = np.where(rng.random(n) < 0.75, 0, 1)
    forge_repo = _join("acme/", _take(org.repos, c.repo[src]))
    dep_id = _int_str(5_000_000 + np.arange(n))
    deployments = pa.table({
        "source": _strings(n, GITHUB),
        "repo": forge_repo,
        "deployment_id": dep_id,
        "sha": c.sha.take(pa.array(src)),
        "ref": _strings(n, "main"),
        "environment": _take(["production", "staging"], env),
        "task": _strings(n, "deploy"),
        "creator_login": _strings(n, "github-actions[bot]"),
        "created_at": _ts(created),
        "updated_at": _ts(np.minimum(finished, org.end)),
        "latest_state": _take(state_names, final_state),
        "latest_state_at": _ts(np.minimum(finished, org.end)),
        "is_deleted": pa.array(np.zeros(n, bool)),
        "synced_at": _ts(np.full(n, org.end)),
    })  # fmt: skip
    done = ~running
    rows = np.r_[np.arange(n), np.arange(n), np.flatnonzero(done)]
    states = np.r_[np.full(n, 5), np.full(n, 4), final[done]]
    at = np.r_[created, np.minimum(created + 20_000_000, org.end), finished[done]]
    statuses = pa.table({
        "source": _strings(rows.size, GITHUB),
        "repo": forge_repo.take(pa.array(rows)),
        "deployment_id": dep_id.take(pa.array(rows)),
        "status_id": _int_str(90_000_000 + np.arange(rows.size)),
        "state": _take(state_names, states),
        "created_at": _ts(at),
    })  # fmt: skip

    m = round(0.012 * n_commits)
    rel = np.sort(rng.choice(base, size=m))
    r_created = np.minimum(c.committed[rel] + HOUR, org.end)
    minor = _group_rank(c.repo[rel], r_created)
    releases = pa.table({
        "source": _strings(m, GITHUB),
        "repo": _join("acme/", _take(org.repos, c.repo[rel])),
        "release_id": _int_str(7_000_000 + np.arange(m)),
        "tag_name": _join("v1.", _int_str(minor), ".0"),
        "name": _join("Release 1.", _int_str(minor)),
        "target_sha": c.sha.take(pa.array(rel)),
        "author_login": _strings(m, "github-actions[bot]"),
        "is_draft": pa.array(rng.random(m) < 0.01),
        "is_prerelease": pa.array(rng.random(m) < 0.05),
        "created_at": _ts(r_created),
        "published_at": _ts(np.minimum(r_created + 10 * MINUTE, org.end)),
        "is_deleted": pa.array(np.zeros(m, bool)),
        "synced_at": _ts(np.full(m, org.end)),
    })  # fmt: skip
    return {"deployments": deployments, "deployment_statuses": statuses, "releases": releases}


def _account_tables(org: _Org, rng: np.random.Generator) -> dict[str, pa.Table]:
    """identities, repos, forge_repos and copilot_usage."""
    p = len(org.names)
    seen = _ts(np.full(p, org.end))
    github = pa.table({
        "source": _strings(p, GITHUB), "kind": _strings(p, "github"), "account_id": pa.array(org.logins),
        "login": pa.array(org.logins), "name": pa.array(org.names),
        "email": pa.array(org.emails, mask=(rng.random(p) < 0.3) | ~org.listed), "account_type": _strings(p, "user"),
        "last_seen_at": seen,
    })  # fmt: skip
    jira = pa.table({
        "source": _strings(p, JIRA), "kind": _strings(p, "jira"), "account_id": pa.array(org.jira_ids),
        "login": pa.nulls(p, pa.string()), "name": pa.array(org.names), "email": pa.array(org.emails, mask=~org.listed),
        "account_type": _strings(p, "user"), "last_seen_at": seen,
    })  # fmt: skip
    bot_logins = [a[3] for a in AGENTS if a[3]] + [b[1] for b in BOTS] + [b[1] for b in REVIEW_BOTS]
    k = len(bot_logins)
    bots = pa.table({
        "source": _strings(k, GITHUB), "kind": _strings(k, "github"), "account_id": pa.array(bot_logins),
        "login": pa.array(bot_logins), "name": pa.array(bot_logins), "email": pa.nulls(k, pa.string()),
        "account_type": _strings(k, "bot"), "last_seen_at": _ts(np.full(k, org.end)),
    })  # fmt: skip
    r = len(org.repos)
    first = _ts(np.full(r, org.start))
    repos = pa.table({
        "repo": pa.array(org.repos), "source": _join("/srv/git/", pa.array(org.repos), ".git"),
        "local_path": _join("/srv/git/", pa.array(org.repos), ".git"), "is_bare": pa.array(np.ones(r, bool)),
        "is_shallow": pa.array(np.zeros(r, bool)), "default_branch": _strings(r, "refs/heads/main"),
        "default_branch_sha": _hex(rng, r), "excludes_hash": _strings(r, "synthetic"),
        "ruleset_version": _strings(r, "2026.11.0"), "first_ingested_at": first,
        "last_changed_at": _ts(np.full(r, org.end)),
    })  # fmt: skip
    forge_repos = pa.table({
        "source": _strings(r, GITHUB), "forge": _strings(r, GITHUB),
        "repo": _join("acme/", pa.array(org.repos)), "forge_id": _join("R_", _hex(rng, r, 6)),
        "git_repo": pa.array(org.repos), "default_branch": _strings(r, "main"),
        "is_archived": pa.array(np.zeros(r, bool)), "synced_at": _ts(np.full(r, org.end)),
    })  # fmt: skip
    # Copilot usage per team and day after its rollout (the API's recent window only: 100 days).
    day = np.arange(max(0, org.days - 100), org.days)
    tt, dd = np.meshgrid(np.arange(len(org.teams)), day, indexing="ij")
    tt, dd = tt.ravel(), dd.ravel()
    a = org.adoption[tt, dd]
    keep = a > 0
    tt, dd, a = tt[keep], dd[keep], a[keep]
    q = tt.size
    active = np.round(org.team_size[tt] * (0.3 + 0.6 * a) * _weekday_weight(dd)).astype(np.int64)
    suggested = active * rng.integers(80, 400, q)
    usage = pa.table({
        "source": _strings(q, "copilot"), "org": _strings(q, ORG), "team": _take(org.teams, tt),
        "day": pa.array(org.day_us(dd) // DAY, pa.int32()).cast(pa.date32()),
        "api": _strings(q, "usage_metrics"), "active_users": pa.array(active, pa.int32()),
        "engaged_users": pa.array(active * 4 // 5, pa.int32()),
        "loc_suggested_to_add": pa.array(suggested), "loc_suggested_to_delete": pa.array(suggested // 5),
        "loc_added": pa.array(suggested * 3 // 10), "loc_deleted": pa.array(suggested // 20),
        "agent_edit_lines": pa.array((suggested * a).astype(np.int64)),
        "code_generation_count": pa.array(active * 40), "code_acceptance_count": pa.array(active * 12),
        "interaction_count": pa.array(active * 25), "prs_created": pa.nulls(q, pa.int32()),
        "prs_merged": pa.nulls(q, pa.int32()), "prs_created_by_copilot": pa.nulls(q, pa.int32()),
        "prs_merged_created_by_copilot": pa.nulls(q, pa.int32()), "prs_reviewed_by_copilot": pa.nulls(q, pa.int32()),
        "synced_at": _ts(np.full(q, org.end)),
    })  # fmt: skip
    return {"identities": pa.concat_tables([github, jira, bots]), "repos": repos,
            "forge_repos": forge_repos, "copilot_usage": usage}  # fmt: skip


# --------------------------------------------------------------------------- configuration


def _config(org: _Org) -> dict[str, object]:
    teams: list[dict[str, object]] = []
    members: list[list[object]] = [[] for _ in org.teams]
    for s in range(org.stint_person.size):
        if not org.listed[org.stint_person[s]]:
            continue  # contractors: their identities stay unmatched, their work goes by repository
        email = org.emails[org.stint_person[s]]
        start, end = int(org.stint_from[s]), int(org.stint_to[s])
        if start == 0 and end == org.days:
            members[org.stint_team[s]].append(email)
            continue
        entry: dict[str, object] = {"id": email}
        first = (datetime.fromtimestamp(org.start / 1e6, UTC) + timedelta(days=start)).date()
        if start > 0:
            entry["from"] = first
        if end < org.days:
            entry["to"] = (
                datetime.fromtimestamp(org.start / 1e6, UTC) + timedelta(days=end - 1)
            ).date()
        members[org.stint_team[s]].append(entry)
    for t, name in enumerate(org.teams):
        team: dict[str, object] = {"name": name}
        if org.rollout[t] >= 0:
            team["ai_rollout"] = (
                datetime.fromtimestamp(org.start / 1e6, UTC) + timedelta(days=int(org.rollout[t]))
            ).date()
        team["repos"] = [
            r for r, listed in zip(org.repos, org.repo_teams, strict=True) if t in listed
        ]
        team["projects"] = [org.keys[t]]
        team["sprints"] = {"source": JIRA, "board": str(100 + t)}
        team["members"] = members[t]
        teams.append(team)
    return {
        "organisation": "Synthetic Org",
        "workspace": ".",
        "warehouse": "warehouse.duckdb",
        "sources": [
            {"type": "github", "name": GITHUB, "token_env": "GITHUB_TOKEN",
             "repos": [{"name": f"{ORG}/{r}", "git_repo": r} for r in org.repos]},
            {"type": "jira", "name": JIRA, "base_url": "https://synthetic.atlassian.net",
             "email_env": "JIRA_EMAIL", "token_env": "JIRA_TOKEN", "projects": list(org.keys)},
        ],
        "teams": teams,
        "sprints": {"length_days": 14,
                    "first_start": datetime.fromtimestamp(org.start / 1e6, UTC).date()},
    }  # fmt: skip


# --------------------------------------------------------------------------- writing


# Columns that newer warehouse schemas have: written when the warehouse has them.
NEWER_COLUMNS = {"tickets": ("status_id",), "ticket_links": ("source",)}


def _insert(
    con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, chunk: int = 250_000
) -> int:
    """Insert an Arrow table by column name, in chunks to bound DuckDB's working memory."""
    known = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
        ).fetchall()
    }
    table = table.drop_columns([c for c in NEWER_COLUMNS.get(name, ()) if c not in known])
    for offset in range(0, table.num_rows, chunk):
        con.register("_batch", table.slice(offset, chunk))
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _batch')
        con.unregister("_batch")
    return table.num_rows


def generate(
    folder: Path | str, *, scale: float = 1.0, seed: int = 0, end: date = DEFAULT_END
) -> Synthetic:
    """Write `warehouse.duckdb` and `sprintproof.yaml` into `folder` (replacing a warehouse there)."""
    started = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "warehouse.duckdb"
    for stale in (path, folder / "warehouse.duckdb.wal"):
        stale.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    n_commits = max(2_000, round(1_000_000 * scale))
    n_prs = max(200, round(100_000 * scale))
    n_tickets = max(400, round(200_000 * scale))

    org = _organisation(rng, scale, end)
    ids = _identities(org)
    commits = _commits(org, ids, rng, n_commits)
    sprints = _sprints(org, rng)
    tickets = _tickets(org, commits, sprints, rng, n_tickets)
    per_team = np.bincount(tickets.team, minlength=len(org.teams))
    prs = _prs(org, commits, rng, n_prs, per_team)
    paths = _paths(org, rng)
    files = _files(commits, paths, rng)

    rows: dict[str, int] = {}
    with connect(path) as con:
        migrate(con)
        con.execute(
            "INSERT INTO ingest_runs (run_id, kind, scope, started_at, finished_at, status, sprintproof_version) "
            "VALUES (?, 'git', 'synthetic', now(), now(), 'ok', 'synthetic')",
            [RUN_ID],
        )
        builders = (
            lambda: _account_tables(org, rng),
            lambda: _commit_tables(org, ids, commits, files, paths, prs, rng),
            lambda: _pr_tables(org, ids, commits, prs, rng),
            lambda: _tracker_tables(org, sprints, tickets, rng),
            lambda: _delivery_tables(org, commits, rng, n_commits),
        )
        for build in builders:
            tables = build()  # one group at a time keeps the Arrow copies small
            for name, table in tables.items():
                rows[name] = _insert(con, name, table)
            del tables
        con.execute("CHECKPOINT")
    config = folder / "sprintproof.yaml"
    header = (
        "# Synthetic organisation written by benchmarks/synthetic.py "
        f"(scale {scale}, seed {seed}, history up to {end}).\n"
        f"# Recompute: sprintproof metrics --config {config.name} --today {end}\n"
    )
    config.write_text(
        header + yaml.safe_dump(_config(org), sort_keys=False, width=100), encoding="utf-8"
    )
    return Synthetic(folder, path, config, end, rows, time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Write a synthetic warehouse and its sprintproof.yaml."
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1.0: 1M commits, 100k PRs, 200k tickets"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--end", type=date.fromisoformat, default=DEFAULT_END, help="last day (YYYY-MM-DD)"
    )
    args = parser.parse_args(argv)
    made = generate(args.folder, scale=args.scale, seed=args.seed, end=args.end)
    for name, count in sorted(made.rows.items()):
        print(f"{name:22} {count:>10,}")
    print(f"{made.warehouse} and {made.config} in {made.seconds:.1f} s")


if __name__ == "__main__":
    main()
