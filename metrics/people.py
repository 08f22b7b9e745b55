"""Identity resolution and team membership: many identities (emails, logins, account ids) to one person, people to teams over time.

Identities are joined into one person when the data says they belong together: the configured
`people` entries, `.mailmap` (raw and canonical commit emails), GitHub's noreply addresses
(`12345+login@users.noreply.github.com` is `login`), and accounts the sources report with both a
login and an email. A group of identities is a person only when it contains a configured person
or team member; the rest stay unmatched and are listed, with suggestions, by
`sprintproof identities`. Bots and agents are never people.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from metrics.model import UTC_TS, Settings

_NOREPLY = re.compile(r"^(?:\d+\+)?([a-z0-9][a-z0-9-]*(?:\[bot\])?)@users\.noreply\.github\.com$")
IDENTITY_MAP_SCHEMA = {"identity": pl.String, "person_id": pl.String, "person_name": pl.String}
MEMBERSHIP_SCHEMA = {
    "person_id": pl.String,
    "team": pl.String,
    "member_from": UTC_TS,
    "member_to": UTC_TS,
    "team_order": pl.Int32,
}


def norm(identity: str | None) -> str | None:
    """Identities compare case-insensitively and without surrounding blanks."""
    if identity is None:
        return None
    value = identity.strip().lower()
    return value or None


def norm_expr(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_lowercase()


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent.setdefault(x, x)
        while parent != x:
            grand = self.parent.setdefault(parent, parent)
            self.parent[x] = grand
            x, parent = parent, grand
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(frozen=True)
class Resolution:
    identity_map: pl.DataFrame  # identity -> person_id, person_name
    unmatched: pl.DataFrame  # identity, kind, seen (how many facts), suggestion
    conflicts: tuple[str, ...]  # identity groups that join two configured people


def resolve(
    settings: Settings, observed: pl.DataFrame, links: pl.DataFrame, bots: Iterable[str]
) -> Resolution:
    """Resolve identities.

    `observed`: identity, kind (email, login, account, name), seen (count of facts).
    `links`: pairs (a, b) of identities the data says are the same account (mailmap, forge
    accounts with an email). `bots`: identities of bots and agents, never people.
    """
    uf = _UnionFind()
    bot_set = {b for b in (norm(x) for x in bots) if b}
    configured: dict[str, str] = {}  # identity -> person name
    for person in settings.people:
        ids = [i for i in (norm(x) for x in person.ids) if i]
        for ident in ids:
            configured[ident] = person.name
            uf.union(ids[0], ident)
    for team in settings.teams:
        for member in team.members:
            ident = norm(member.id)
            if ident and ident not in configured:
                configured[ident] = member.id.strip()
                uf.find(ident)
    for ident in observed.get_column("identity").to_list():
        ident = norm(ident)
        if not ident or ident in bot_set:
            continue
        uf.find(ident)
        match = _NOREPLY.match(ident)
        if match and match[1] not in bot_set:
            uf.union(ident, match[1])
    for a, b in links.select("a", "b").iter_rows():
        na, nb = norm(a), norm(b)
        if na and nb and na not in bot_set and nb not in bot_set:
            uf.union(na, nb)

    person_of_root: dict[str, str] = {}
    conflicts: list[str] = []
    for ident, name in configured.items():
        root = uf.find(ident)
        known = person_of_root.get(root)
        if known is not None and known != name:
            conflicts.append(f"{ident} joins {known} and {name}")
            continue
        person_of_root[root] = name
    rows = [
        (ident, person_of_root[uf.find(ident)])
        for ident in uf.parent
        if uf.find(ident) in person_of_root and ident not in bot_set
    ]
    identity_map = pl.DataFrame(
        {
            "identity": [r[0] for r in rows],
            "person_id": [r[1] for r in rows],
            "person_name": [r[1] for r in rows],
        },
        schema=IDENTITY_MAP_SCHEMA,
    )
    unmatched = _unmatched(observed, identity_map, bot_set, configured, uf)
    return Resolution(identity_map, unmatched, tuple(conflicts))


def _unmatched(
    observed: pl.DataFrame,
    identity_map: pl.DataFrame,
    bots: set[str],
    configured: dict[str, str],
    uf: _UnionFind,
) -> pl.DataFrame:
    """Observed identities of no person, with a suggested person: same name, email local part or noreply login."""
    mapped = set(identity_map.get_column("identity").to_list())
    people_by_hint: dict[str, str] = {}
    for ident, name in configured.items():
        people_by_hint.setdefault(ident, name)
        people_by_hint.setdefault(ident.split("@", 1)[0], name)
        people_by_hint.setdefault(norm(name) or "", name)
    for ident, person in zip(
        identity_map["identity"].to_list(), identity_map["person_id"].to_list(), strict=True
    ):
        people_by_hint.setdefault(ident.split("@", 1)[0], person)
    rows = []
    grouped = (
        observed.with_columns(norm_expr("identity").alias("identity"))
        .group_by("identity")
        .agg(pl.col("kind").first(), pl.col("seen").sum(), pl.col("name").drop_nulls().first())
        .sort("seen", "identity", descending=[True, False])
    )
    for ident, kind, seen, name in grouped.iter_rows():
        if not ident or ident in mapped or ident in bots:
            continue
        hints = [ident.split("@", 1)[0]]
        noreply = _NOREPLY.match(ident)
        if noreply:
            hints.insert(0, noreply[1])
        if name:
            hints.append(norm(name) or "")
        suggestion = next((people_by_hint[h] for h in hints if h in people_by_hint), None)
        rows.append({"identity": ident, "kind": kind, "seen": seen, "suggestion": suggestion})
    return pl.DataFrame(
        rows,
        schema={
            "identity": pl.String,
            "kind": pl.String,
            "seen": pl.Int64,
            "suggestion": pl.String,
        },
    )


def membership(settings: Settings, identity_map: pl.DataFrame) -> pl.DataFrame:
    """person_id, team, member_from, member_to (inclusive days as UTC instants), team_order (config order)."""
    person_of = dict(
        zip(identity_map["identity"].to_list(), identity_map["person_id"].to_list(), strict=True)
    )
    rows = []
    far_past = datetime(1970, 1, 1, tzinfo=UTC)
    far_future = datetime(9999, 12, 31, tzinfo=UTC)
    for order, team in enumerate(settings.teams):
        for member in team.members:
            person = person_of.get(norm(member.id) or "")
            if person is None:
                continue
            start = (
                datetime(member.start.year, member.start.month, member.start.day, tzinfo=UTC)
                if member.start
                else far_past
            )
            end = (
                datetime(member.end.year, member.end.month, member.end.day, tzinfo=UTC)
                + timedelta(days=1)
                if member.end
                else far_future
            )
            rows.append(
                {
                    "person_id": person,
                    "team": team.name,
                    "member_from": start,
                    "member_to": end,
                    "team_order": order,
                }
            )
    return pl.DataFrame(rows, schema=MEMBERSHIP_SCHEMA)


def team_of(
    facts: pl.LazyFrame,
    members: pl.LazyFrame,
    *,
    person_col: str,
    time_col: str,
    out: str = "team",
    key: Sequence[str] = (),
) -> pl.LazyFrame:
    """Add the team a fact's person belonged to at `time_col` (first team in configuration order).

    Each person's memberships are numbered in configuration order and looked up slot by slot, one
    left join per slot with one row per person, so facts are neither duplicated nor matched back
    and keep their columns as they are. `key` is not needed for that; it is accepted so that
    callers naming their fact key keep working.
    """
    del key
    slots = members.select(
        "person_id",
        "team",
        "member_from",
        "member_to",
        pl.col("team_order").rank("ordinal").over("person_id").alias("_slot"),
    )
    # Memberships are a small dimension (one row per configured member and team): the widest
    # person decides how many lookups the plan needs.
    widest = slots.select(pl.col("_slot").max()).collect().item() or 0
    teams: list[pl.Expr] = []
    added: list[str] = []
    for slot in range(1, widest + 1):
        team, start, end = (f"_{out}{slot}_{part}" for part in ("team", "from", "to"))
        facts = facts.join(
            slots.filter(pl.col("_slot") == slot).select(
                pl.col("person_id").alias("_person"),
                pl.col("team").alias(team),
                pl.col("member_from").alias(start),
                pl.col("member_to").alias(end),
            ),
            left_on=person_col,
            right_on="_person",
            how="left",
        )
        teams.append(
            pl.when((pl.col(time_col) >= pl.col(start)) & (pl.col(time_col) < pl.col(end))).then(
                pl.col(team)
            )
        )
        added += [team, start, end]
    return facts.with_columns(
        (pl.coalesce(teams) if teams else pl.lit(None, pl.String)).alias(out)
    ).drop(added)
