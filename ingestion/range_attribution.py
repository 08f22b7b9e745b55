"""Attribution of a release or range: the lines at TO that commits in FROM..TO introduced, by AI tool and by human, per file.

The lines come from `ingestion.lineage` (moved and copied code keeps its original commit, as with
`git blame -M -C -C`). A line's attribution is that of its commit: the warehouse's effective
attribution (`commits.ai_tool`/`ai_mode`, which includes what a merge or squash commit inherited
from its pull request) when the repository was ingested, else the rule catalogue applied to the
commit read from git. Where the commit's git-ai note attests a line, the note decides: an AI
session's tool, or a human.

Counted lines are those of files at TO that pass the path filters (the configured excludes plus
`--exclude`; `--include` keeps only matching paths). Bot and review-bot lines (dependency updates,
automation) are reported apart and left out of `total_lines`, as they are left out of both sides
of the AI contribution ratio.
"""

import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pygit2
from pygit2.enums import SortMode

from ingestion.attribution import (
    RuleSet,
    Signals,
    branch_from_merge_subject,
    parse_trailers,
    split_message,
)
from ingestion.excludes import Excludes
from ingestion.gitscan import Mailmap, configure_libgit2, decode_text
from ingestion.lineage import Lineage, Replay, topological

METHOD = "lines.v1"
"""Version of the line-tracking rules (docs/attribution.md, "Lines of a range")."""
AI_MODES = frozenset({"agent", "assisted"})
BOT_MODES = frozenset({"bot", "review"})

Progress = Callable[[str, int, int], None]


class RangeError(Exception):
    """A range that cannot be attributed: the message says which input is wrong."""


@dataclass
class FileLines:
    path: str
    lines: int = 0
    ai_lines: int = 0
    human_lines: int = 0
    bot_lines: int = 0
    by_tool: Counter[str] = field(default_factory=Counter)


@dataclass
class RangeResult:
    repo: str
    from_ref: str
    to_ref: str
    from_sha: str
    to_sha: str
    commits: int
    files: list[FileLines]
    by_tool: Counter[str]
    by_mode: Counter[str]
    attributed_by: Counter[str]  # commits: warehouse | rules; lines: notes
    seconds: float = 0.0

    @property
    def ai_lines(self) -> int:
        return sum(f.ai_lines for f in self.files)

    @property
    def human_lines(self) -> int:
        return sum(f.human_lines for f in self.files)

    @property
    def bot_lines(self) -> int:
        return sum(f.bot_lines for f in self.files)

    @property
    def total_lines(self) -> int:
        return self.ai_lines + self.human_lines

    @property
    def ai_share(self) -> float | None:
        return self.ai_lines / self.total_lines if self.total_lines else None

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "from": {"ref": self.from_ref, "sha": self.from_sha},
            "to": {"ref": self.to_ref, "sha": self.to_sha},
            "commits": self.commits,
            "method": METHOD,
            "total_lines": self.total_lines,
            "ai_lines": self.ai_lines,
            "human_lines": self.human_lines,
            "ai_share": self.ai_share,
            "bot_lines": self.bot_lines,
            "by_tool": dict(sorted(self.by_tool.items())),
            "by_mode": dict(sorted(self.by_mode.items())),
            "by_file": {
                f.path: {
                    "lines": f.lines,
                    "ai_lines": f.ai_lines,
                    "human_lines": f.human_lines,
                    "ai_share": f.ai_lines / f.lines if f.lines else None,
                    "bot_lines": f.bot_lines,
                    "by_tool": dict(sorted(f.by_tool.items())),
                }
                for f in self.files
            },
            "attributed_by": dict(sorted(self.attributed_by.items())),
            "seconds": round(self.seconds, 3),
        }


def open_repository(path: Path) -> pygit2.Repository:
    if not path.exists():
        raise RangeError(f"{path}: no such path; give a local git repository")
    try:
        return pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        raise RangeError(f"{path}: not a git repository") from None


def resolve(repo: pygit2.Repository, ref: str, what: str) -> pygit2.Commit:
    try:
        found = repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise RangeError(
            f"{what} {ref!r} is not a commit, branch or tag of {repo.path.rstrip('/')}"
        ) from None
    assert isinstance(found, pygit2.Commit)
    return found


def range_commits(
    repo: pygit2.Repository, start: pygit2.Commit, end: pygit2.Commit
) -> dict[str, list[str]]:
    """Commits reachable from end and not from start (git's start..end), with their parents."""
    walker = repo.walk(end.id, SortMode.NONE)
    walker.hide(start.id)
    return {str(c.id): [str(p) for p in c.parent_ids] for c in walker}


def attribute_range(
    path: Path,
    from_ref: str,
    to_ref: str,
    *,
    rules: RuleSet,
    excludes: Excludes,
    include: Sequence[str] = (),
    warehouse: Path | None = None,
    copies: bool = True,
    progress: Progress | None = None,
) -> RangeResult:
    """The attribution of the lines at to_ref introduced by commits in from_ref..to_ref."""
    started = datetime.now(UTC)
    configure_libgit2(object_cache=True)
    repo = open_repository(path)
    start = resolve(repo, from_ref, "--from")
    end = resolve(repo, to_ref, "--to")
    parents = range_commits(repo, start, end)
    if not parents:
        raise RangeError(
            f"{from_ref}..{to_ref} has no commits: {to_ref} is already contained in {from_ref}"
        )
    order = topological(list(parents), parents)
    tip = str(end.id)
    lineage = Lineage(repo, copies=copies)
    replay = Replay(lineage, order, parents, keep=[tip])
    for done, sha in enumerate(order, 1):
        replay.step(sha)
        if progress and (done % 50 == 0 or done == len(order)):
            progress("lines", done, len(order))
    final = replay.states[tip]

    # Lines per (path, origin) at the tip, for the paths the filters keep.
    paths = sorted(final)
    names = [p.decode("utf-8", "replace") for p in paths]
    excluded = excludes.matches(names) if names else []
    kept = (
        Excludes.build(include, use_defaults=False).matches(names)
        if include and names
        else [True] * len(names)
    )
    per_file: dict[str, Counter[int]] = {}
    for raw, name, out, keep in zip(paths, names, excluded, kept, strict=True):
        if keep and not out:
            counts = Counter(o for o in final[raw] if o)
            if counts:
                per_file[name] = counts
    origins = lineage.origins
    shas = sorted({origins[o].sha for counts in per_file.values() for o in counts})
    decided, attributed_by = _commit_attribution(repo, shas, rules, warehouse)

    files: list[FileLines] = []
    by_tool: Counter[str] = Counter()
    by_mode: Counter[str] = Counter()
    for name, counts in sorted(per_file.items()):
        entry = FileLines(name)
        for origin_id, n in counts.items():
            origin = origins[origin_id]
            tool, mode = decided.get(origin.sha, (None, None))
            if origin.kind == "ai":
                tool, mode = origin.tool or "unknown", "agent" if mode == "agent" else "assisted"
                attributed_by["note_lines"] += n
            elif origin.kind == "human":
                tool, mode = None, None
                attributed_by["note_lines"] += n
            if mode in BOT_MODES:
                entry.bot_lines += n
                continue
            entry.lines += n
            if mode in AI_MODES:
                entry.ai_lines += n
                entry.by_tool[tool or "unknown"] += n
                by_tool[tool or "unknown"] += n
                by_mode[mode or "assisted"] += n
            else:
                entry.human_lines += n
        files.append(entry)
    return RangeResult(
        repo=repo.workdir.rstrip("/") if repo.workdir else repo.path.rstrip("/"),
        from_ref=from_ref, to_ref=to_ref, from_sha=str(start.id), to_sha=tip, commits=len(order),
        files=files, by_tool=by_tool, by_mode=by_mode, attributed_by=attributed_by,
        seconds=(datetime.now(UTC) - started).total_seconds(),
    )  # fmt: skip


def _commit_attribution(
    repo: pygit2.Repository, shas: Sequence[str], rules: RuleSet, warehouse: Path | None
) -> tuple[dict[str, tuple[str | None, str | None]], Counter[str]]:
    """(tool, mode) per commit: from the warehouse where the repository was ingested, else by the rules."""
    decided: dict[str, tuple[str | None, str | None]] = {}
    counts: Counter[str] = Counter()
    if warehouse is not None and warehouse.exists() and shas:
        decided = _from_warehouse(warehouse, repo, shas)
        counts["warehouse_commits"] = len(decided)
    missing = [s for s in shas if s not in decided]
    if missing:
        mailmap = Mailmap.from_repository(repo)
        for sha in missing:
            decided[sha] = _attribute_commit(repo, sha, rules, mailmap)
        counts["rules_commits"] = len(missing)
    return decided, counts


def _from_warehouse(
    warehouse: Path, repo: pygit2.Repository, shas: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Stored attribution of these commits, when the warehouse has this repository (by its path)."""
    location = repo.path.rstrip("/")
    try:
        with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
            row = con.execute("SELECT repo FROM repos WHERE local_path = ?", [location]).fetchall()
            if not row:
                return {}
            rows = con.execute(
                "SELECT sha, ai_tool, ai_mode FROM commits WHERE repo = ? AND sha IN (SELECT unnest(?))",
                [row[0][0], list(shas)],
            ).fetchall()
    except duckdb.Error:
        return {}  # unreadable or busy warehouse: the rules decide, as for a repository never ingested
    return {sha: (tool, mode) for sha, tool, mode in rows}


def _attribute_commit(
    repo: pygit2.Repository, sha: str, rules: RuleSet, mailmap: Mailmap
) -> tuple[str | None, str | None]:
    commit = repo[pygit2.Oid(hex=sha)]
    assert isinstance(commit, pygit2.Commit)
    encoding = commit.message_encoding
    message = decode_text(commit.raw_message, encoding)
    subject, body = split_message(message)

    def who(sig: pygit2.Signature) -> tuple[str, str]:
        name, email = decode_text(sig.raw_name, encoding), decode_text(sig.raw_email, encoding)
        mapped = mailmap.resolve(name, email)
        return f"{name} <{email}>", f"{mapped[0]} <{mapped[1]}>"

    result = rules.attribute(
        Signals(
            subject=subject,
            body=body,
            trailers=parse_trailers(message),
            authors=who(commit.author),
            committers=who(commit.committer),
            branch=branch_from_merge_subject(subject),
            when=datetime.fromtimestamp(commit.author.time, UTC),
        )
    )
    return result.tool, result.mode
