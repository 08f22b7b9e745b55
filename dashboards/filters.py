"""The sidebar filters as plain values: read from and written to the URL query string, so a link reproduces a view."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

# Query-string keys: ?from=SPRINT&to=SPRINT&team=Web&team=Mobile&repo=web-app
FROM, TO, TEAM, REPO = "from", "to", "team", "repo"
KEYS = (FROM, TO, TEAM, REPO)


@dataclass(frozen=True)
class Selection:
    first: str | None  # organisation sprint ids bounding the range (None: the first/last sprint)
    last: str | None
    teams: tuple[str, ...] = ()  # empty: every team the viewer may see
    repos: tuple[str, ...] = ()  # empty: every repository


def from_query(
    get_all: Callable[[str], Sequence[str]],
    sprint_ids: Sequence[str],
    teams: Sequence[str],
    repos: Sequence[str],
) -> Selection:
    """The selection a URL asks for; values the warehouse does not know (or the viewer may not see) are dropped."""
    first = _last_known(get_all(FROM), sprint_ids)
    last = _last_known(get_all(TO), sprint_ids)
    if first and last and sprint_ids.index(first) > sprint_ids.index(last):
        first, last = last, first
    return Selection(
        first=first,
        last=last,
        teams=tuple(dict.fromkeys(t for t in get_all(TEAM) if t in teams)),
        repos=tuple(dict.fromkeys(r for r in get_all(REPO) if r in repos)),
    )


def _last_known(values: Sequence[str], known: Sequence[str]) -> str | None:
    found = [v for v in values if v in known]
    return found[-1] if found else None


def to_query(selection: Selection, sprint_ids: Sequence[str]) -> dict[str, list[str]]:
    """Query parameters for a selection; defaults are left out to keep links short."""
    out: dict[str, list[str]] = {}
    if sprint_ids:
        if selection.first and selection.first != sprint_ids[0]:
            out[FROM] = [selection.first]
        if selection.last and selection.last != sprint_ids[-1]:
            out[TO] = [selection.last]
    if selection.teams:
        out[TEAM] = list(selection.teams)
    if selection.repos:
        out[REPO] = list(selection.repos)
    return out


def window(selection: Selection, sprints: pl.DataFrame) -> tuple[datetime | None, datetime | None]:
    """The instants bounding the selected organisation sprints: [start of the first, end of the last)."""
    if sprints.is_empty():
        return None, None
    ids = sprints.get_column("sprint_id").to_list()
    first = ids.index(selection.first) if selection.first in ids else 0
    last = ids.index(selection.last) if selection.last in ids else len(ids) - 1
    return sprints.get_column("sprint_start")[first], sprints.get_column("sprint_end")[last]


def differs(current: Mapping[str, Sequence[str]], wanted: Mapping[str, Sequence[str]]) -> bool:
    return any(list(current.get(k, [])) != list(wanted.get(k, [])) for k in KEYS)
