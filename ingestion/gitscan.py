"""Reading commits from git objects: tree diffs, git-exact line counts, identities, trailers, attribution.

Runs in worker processes (it imports only pygit2 and the attribution matcher, so workers start
fast). libgit2's generic tree iterator costs about half a millisecond per commit on a repository
with a wide root tree, so trees are compared here by their raw entries, visiting only the part
that differs; line counts come from libgit2's xdiff on the two whole blobs, which gives exactly
the numbers of `git log --numstat --no-renames`.
"""

import contextlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate, repeat
from operator import add, itemgetter
from pathlib import Path
from typing import Any

import pygit2

from ingestion.attribution import (
    RuleSet,
    Signals,
    branch_from_merge_subject,
    parse_trailers,
    split_message,
)

_TREE_ENTRY = re.compile(rb"([^\x00]*)\x00(.{20})", re.DOTALL)
_PR_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
_PR_MERGE = re.compile(r"^Merge pull request #(\d+) from ")
_MR_MERGE = re.compile(r"^See merge request [^\s!]+!(\d+)\s*$", re.MULTILINE)
_REVERTS = re.compile(r"^This reverts commit ([0-9a-f]{40})", re.MULTILINE)
_DIR_MODE = b"40000"
_GITLINK_MODE = b"160000"
_FORCE_TEXT = pygit2.enums.DiffOption.FORCE_TEXT
_BINARY_SNIFF = 8000  # git's buffer_is_binary looks for a NUL in the first 8000 bytes


@dataclass(frozen=True)
class RulesSpec:
    """How to build the attribution rule set; plain data so worker processes can rebuild it."""

    custom_rules: tuple[Mapping[str, Any], ...] = ()
    disabled: tuple[str, ...] = ()
    min_confidence: float = 0.5

    def load(self) -> RuleSet:
        return RuleSet.load(
            custom_rules=self.custom_rules,
            disabled=self.disabled,
            min_confidence=self.min_confidence,
        )


def configure_libgit2(*, object_cache: bool = False) -> None:
    """Process-wide libgit2 settings for read-heavy scanning.

    Object hashes are not re-verified on read (git does not either; it is a large share of the
    time). libgit2's object cache is switched off: a scan reads each object about once, trees are
    cached here as raw entries, and the cache's bookkeeping cost 13 % of a worker's time
    (measured on git's history) while its hits saved nothing measurable. The graph walk, which
    revisits commits, keeps it (`object_cache=True`: 20 % faster there).
    """
    pygit2.settings.enable_strict_hash_verification(False)
    pygit2.settings.enable_caching(object_cache)


def decode_text(raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if encoding:
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return raw.decode(encoding)
    return raw.decode("latin-1")


def _count_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


class _TreeDiffer:
    """Compares two trees by their raw entries, visiting only the part that differs.

    A tree is cached as its raw bytes plus the offsets where its entries start. Two versions of a
    tree share a common prefix and suffix of whole entries; those are found with slice compares and
    only the window between them is parsed. The other version's offsets are derived from the
    known ones, so a wide root tree is parsed once per history instead of twice per commit.
    """

    _GENERATION = 768  # trees per cache generation; two generations are kept

    def __init__(self, repo: pygit2.Repository) -> None:
        self._odb = repo.odb
        self._cache: dict[bytes, tuple[bytes, list[int] | None]] = {}
        self._previous: dict[bytes, tuple[bytes, list[int] | None]] = {}

    def _read(self, oid: bytes) -> tuple[bytes, list[int] | None]:
        found = self._cache.get(oid)
        if found is None:
            found = self._previous.get(oid)
            if found is None:
                _, data = self._odb.read(pygit2.Oid(raw=oid))
                found = (data, None)
            self._store(oid, found)
        return found

    def _store(self, oid: bytes, value: tuple[bytes, list[int] | None]) -> None:
        # Two generations approximate LRU at the cost of a dict swap: trees used again recently
        # (the parent side of the next commits) are promoted, the rest age out.
        if len(self._cache) >= self._GENERATION:
            self._previous, self._cache = self._cache, {}
        self._cache[oid] = value

    def _full(self, oid: bytes) -> tuple[bytes, list[int], list[tuple[bytes, bytes]]]:
        data, offsets = self._read(oid)
        entries = _TREE_ENTRY.findall(data)
        if offsets is None:
            # Entry length = len("mode name") + NUL + 20-byte id; C-level iterators, no Python loop.
            lengths = map(len, map(itemgetter(0), entries))
            offsets = list(accumulate(map(add, lengths, repeat(21)), initial=0))
            self._store(oid, (data, offsets))
        return data, offsets, entries

    def _windows(
        self, old: bytes, new: bytes
    ) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
        """Entries of the differing window of each side (the rest is byte-identical)."""
        a, a_offsets = self._read(old)
        b, b_offsets = self._read(new)
        if a_offsets is None and b_offsets is None:
            a_offsets = _entry_offsets(a)
            self._store(old, (a, a_offsets))
        swapped = a_offsets is None
        if swapped:
            a, b, a_offsets, old, new = b, a, b_offsets, new, old
        assert a_offsets is not None
        first = bisect_right(a_offsets, _common_prefix(a, b)) - 1
        start = a_offsets[first]
        shift = len(b) - len(a)
        # Usually only the entry at `start` differs: one compare of the rest confirms it.
        last = first + 1
        if (
            last >= len(a_offsets)
            or a_offsets[last] + shift < start
            or a[a_offsets[last] :] != b[a_offsets[last] + shift :]
        ):
            tail = _common_suffix(a, b, min(len(a), len(b)) - start)
            last = bisect_left(a_offsets, len(a) - tail)
        a_end = a_offsets[last]
        a_win = _entries_between(a, start, a_end)
        b_win = _entries_between(b, start, a_end + shift)
        b_lengths = [len(m) + 21 for m, _ in b_win]
        if sum(b_lengths) != a_end + shift - start:
            # The other side's entries do not line up with the shared tail (a name that contains
            # "<mode> "); fall back to comparing whole trees.
            _, _, a_win = self._full(old)
            b_win = _TREE_ENTRY.findall(b)
        elif self._cache.get(new, (b, None))[1] is None:
            middle = list(accumulate(b_lengths, initial=start))[:-1]
            if shift == 0 and middle == a_offsets[first:last]:
                # The usual change (a file's id) keeps every entry's length: share the offsets.
                self._store(new, (b, a_offsets))
            else:
                tail_offsets = list(map(add, a_offsets[last:], repeat(shift)))
                self._store(new, (b, a_offsets[:first] + middle + tail_offsets))
        return (b_win, a_win) if swapped else (a_win, b_win)

    def diff(
        self, old: bytes | None, new: bytes | None, prefix: bytes = b""
    ) -> list[tuple[bytes, bytes | None, bytes | None, bytes | None, bytes | None]]:
        """Changed files as (path, old_mode, old_oid, new_mode, new_oid)."""
        out: list[tuple[bytes, bytes | None, bytes | None, bytes | None, bytes | None]] = []
        self._diff(old, new, prefix, out)
        return out

    def _diff(self, old: bytes | None, new: bytes | None, prefix: bytes, out: list[Any]) -> None:
        if old and new:
            a_entries, b_entries = self._windows(old, new)
        else:
            a_entries = self._full(old)[2] if old else []
            b_entries = self._full(new)[2] if new else []
        if len(a_entries) == 1 and len(b_entries) == 1 and a_entries[0][0] == b_entries[0][0]:
            # The usual case: one entry whose id changed (same mode and name).
            (modename, old_oid), (_, new_oid) = a_entries[0], b_entries[0]
            mode, _, name = modename.partition(b" ")
            if mode == _DIR_MODE:
                self._diff(old_oid, new_oid, prefix + name + b"/", out)
            else:
                out.append((prefix + name, mode, old_oid, mode, new_oid))
            return
        a, b = set(a_entries), set(b_entries)
        olds: dict[bytes, tuple[bytes, bytes]] = {}
        news: dict[bytes, tuple[bytes, bytes]] = {}
        for modename, oid in a - b:
            mode, _, name = modename.partition(b" ")
            olds[name] = (mode, oid)
        for modename, oid in b - a:
            mode, _, name = modename.partition(b" ")
            news[name] = (mode, oid)
        for name in sorted(olds.keys() | news.keys()):
            o = olds.get(name)
            n = news.get(name)
            if o and n and o[1] == n[1] and _canonical_mode(o[0]) == _canonical_mode(n[0]):
                continue  # e.g. an early-git 100664 file mode: git shows no change either
            path = prefix + name
            o_tree = o is not None and o[0] == _DIR_MODE
            n_tree = n is not None and n[0] == _DIR_MODE
            if o_tree or n_tree:
                self._diff(
                    o[1] if o_tree and o else None, n[1] if n_tree and n else None, path + b"/", out
                )
                if o_tree:
                    o = None
                if n_tree:
                    n = None
                if o is None and n is None:
                    continue
            out.append(
                (
                    path,
                    o[0] if o else None,
                    o[1] if o else None,
                    n[0] if n else None,
                    n[1] if n else None,
                )
            )


def _entry_offsets(data: bytes) -> list[int]:
    """Start of every tree entry, plus the end: the first NUL after an entry's start ends its
    name (a mode and a name hold no NUL) and 20 bytes of id follow. A third faster than parsing."""
    offsets = [0]
    append, find, pos, size = offsets.append, data.find, 0, len(data)
    while pos < size:
        nul = find(b"\x00", pos)
        if nul < 0:
            raise KeyError("malformed tree object")  # treated like a missing object
        pos = nul + 21
        append(pos)
    return offsets


def _entries_between(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes]]:
    """Tree entries in data[start:end]; a single entry (the usual window) without the regex."""
    nul = data.find(b"\x00", start, end)
    if nul >= 0 and nul + 21 == end:
        return [(data[start:nul], data[nul + 1 : end])]
    return _TREE_ENTRY.findall(data, start, end)


def _canonical_mode(mode: bytes) -> bytes:
    """git's canon_mode: any regular file is 100644 or 100755 (executable bit)."""
    if mode.startswith(b"100"):
        return b"100755" if int(mode, 8) & 0o100 else b"100644"
    return mode


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common head, found by galloping then bisecting slice compares (memcmp speed)."""
    limit = min(len(a), len(b))
    lo, hi, step = 0, 0, 256
    while lo < limit:
        hi = min(lo + step, limit)
        if a[lo:hi] != b[lo:hi]:
            break
        lo, step = hi, step * 2
    else:
        return limit
    # a[:lo] == b[:lo] and a[lo:hi] != b[lo:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common tail, at most limit bytes."""
    la, lb = len(a), len(b)
    done, upto, step = 0, 0, 256
    while done < limit:
        upto = min(done + step, limit)
        if a[la - upto : la - done] != b[lb - upto : lb - done]:
            break
        done, step = upto, step * 2
    else:
        return max(limit, 0)
    # the last `done` bytes agree; somewhere in (done, upto] they do not
    while upto - done > 1:
        mid = (done + upto) // 2
        if a[la - mid : la - done] == b[lb - mid : lb - done]:
            done = mid
        else:
            upto = mid
    return done


_MAILMAP_LINE = re.compile(r"^\s*([^<#]*?)\s*<([^>]*)>(?:\s*([^<#]*?)\s*<([^>]*)>)?")


class Mailmap:
    """A .mailmap with git's semantics: names and emails matched without regard to case.

    libgit2's resolver matches exact case, so `Grace <GRACE@Example.com>` would escape an entry
    for grace@example.com that git applies. Forms: `Proper <commit@x>`, `<proper@x> <commit@x>`,
    `Proper <proper@x> <commit@x>`, `Proper <proper@x> Commit Name <commit@x>`.
    """

    def __init__(self, text: str = "") -> None:
        self._by_email: dict[str, tuple[str | None, str | None]] = {}
        self._by_name_email: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        for line in text.splitlines():
            match = _MAILMAP_LINE.match(line)
            if not match:
                continue
            name, email, old_name, old_email = match.groups()
            if old_email is None:  # "Proper <commit@x>": the one email is the commit's
                proper, key_email, key_name = (name or None, None, None)
                key_email = email
            else:
                proper, key_email, key_name = (name or None, old_email, old_name or None)
            value = (proper, email if old_email is not None else None)
            if key_name:
                self._by_name_email[(key_name.lower(), key_email.lower())] = value
            else:
                previous = self._by_email.get(key_email.lower(), (None, None))
                # Later lines refine earlier ones for the same email, as in git.
                self._by_email[key_email.lower()] = (
                    value[0] or previous[0],
                    value[1] or previous[1],
                )

    def resolve(self, name: str, email: str) -> tuple[str, str]:
        found = self._by_name_email.get((name.lower(), email.lower())) or self._by_email.get(
            email.lower()
        )
        if found is None:
            return name, email
        return found[0] or name, found[1] or email

    @classmethod
    def from_repository(cls, repo: pygit2.Repository) -> "Mailmap":
        """.mailmap from the work tree, or from HEAD in a bare repository, plus mailmap.file."""
        texts: list[str] = []
        if repo.workdir and Path(repo.workdir, ".mailmap").is_file():
            texts.append(
                Path(repo.workdir, ".mailmap").read_text(encoding="utf-8", errors="replace")
            )
        elif not repo.head_is_unborn:
            with contextlib.suppress(KeyError, pygit2.GitError):
                blob = repo.revparse_single("HEAD:.mailmap")
                if isinstance(blob, pygit2.Blob):
                    texts.append(blob.data.decode("utf-8", errors="replace"))
        with contextlib.suppress(KeyError, pygit2.GitError, OSError):
            extra = repo.config["mailmap.file"]
            texts.append(
                Path(str(extra)).expanduser().read_text(encoding="utf-8", errors="replace")
            )
        return cls("\n".join(texts))


def _shallow_boundary(repo: pygit2.Repository) -> frozenset[str]:
    """Commits whose parents a shallow clone left out (libgit2 shows them as root commits)."""
    if not repo.is_shallow:
        return frozenset()
    with contextlib.suppress(OSError):
        return frozenset(Path(repo.path, "shallow").read_text().split())
    return frozenset()


def _raw_parents(repo: pygit2.Repository, oid: pygit2.Oid) -> list[str]:
    """Parent ids from the commit object itself (they survive a shallow clone's grafts)."""
    _, data = repo.odb.read(oid)
    header = data.split(b"\n\n", 1)[0]
    return [line[7:].decode() for line in header.split(b"\n") if line.startswith(b"parent ")]


@dataclass
class _Worker:
    repo: pygit2.Repository
    mailmap: Mailmap
    rules: RuleSet
    differ: _TreeDiffer
    shallow: frozenset[str] = frozenset()
    identities: dict[tuple[bytes, bytes, str | None], tuple[str, str, str, str]] = field(
        default_factory=dict
    )

    def identity(self, sig: pygit2.Signature, encoding: str | None) -> tuple[str, str, str, str]:
        key = (sig.raw_name, sig.raw_email, encoding)
        found = self.identities.get(key)
        if found is None:
            name = decode_text(sig.raw_name, encoding)
            email = decode_text(sig.raw_email, encoding)
            canonical_name, canonical_email = self.mailmap.resolve(name, email)
            found = (name, email, canonical_name, canonical_email)
            self.identities[key] = found
        return found


_WORKER: _Worker | None = None


def init_worker(path: str, rules: RulesSpec) -> None:
    global _WORKER
    configure_libgit2()
    repo = pygit2.Repository(path)
    _WORKER = _Worker(repo=repo, mailmap=Mailmap.from_repository(repo), rules=rules.load(), differ=_TreeDiffer(repo),
                      shallow=_shallow_boundary(repo))  # fmt: skip


def _blob(
    repo: pygit2.Repository, oid: bytes | None, recent: Mapping[bytes, pygit2.Blob]
) -> pygit2.Blob | None:
    if oid is None:
        return None
    obj = recent.get(oid)
    if obj is None:
        obj = repo[pygit2.Oid(raw=oid)]
    if not isinstance(obj, pygit2.Blob):
        raise KeyError(oid)
    return obj


def _looks_binary(blob: pygit2.Blob | None) -> bool:
    # git's buffer_is_binary: a NUL in the first 8000 bytes (libgit2's is_binary uses another rule).
    return blob is not None and bytes(memoryview(blob)[:_BINARY_SNIFF]).find(b"\x00") >= 0


def _numstat(
    repo: pygit2.Repository,
    change: tuple[bytes, bytes | None, bytes | None, bytes | None, bytes | None],
    recent: dict[bytes, pygit2.Blob],
) -> tuple[str, int | None, int | None, bool, bool]:
    """(change type, added, deleted, is_binary, complete) for one changed path, as git --numstat counts.

    `recent` holds the blobs the previous call read; this call's blobs replace them.
    """
    _, old_mode, old_oid, new_mode, new_oid = change
    kind = "A" if old_oid is None else "D" if new_oid is None else "M"
    if kind == "M" and old_mode != new_mode and (old_mode == b"120000") != (new_mode == b"120000"):
        kind = "T"
    if old_mode == _GITLINK_MODE or new_mode == _GITLINK_MODE:
        # git shows a submodule move as one "Subproject commit" line replaced.
        return kind, int(new_oid is not None), int(old_oid is not None), False, True
    if old_oid == new_oid:
        return kind, 0, 0, False, True
    try:
        old = _blob(repo, old_oid, recent)
        new = _blob(repo, new_oid, recent)
    except KeyError:
        return kind, None, None, False, False  # partial clone or corrupt store: blob not here
    recent.clear()
    if old is not None and old_oid is not None:
        recent[old_oid] = old
    if new is not None and new_oid is not None:
        recent[new_oid] = new
    if _looks_binary(old) or _looks_binary(new):
        return kind, None, None, True, True
    if old is None or old.size == 0:
        return kind, _count_lines(new.data) if new is not None else 0, 0, False, True
    if new is None or new.size == 0:
        return kind, 0, _count_lines(old.data), False, True
    # Whole blobs, no trimming: xdiff's heuristics look at the whole file, and git feeds it whole.
    patch = pygit2.Patch.create_from(old, new, context_lines=0, interhunk_lines=0, flag=_FORCE_TEXT)
    _, added, deleted = patch.line_stats
    return kind, added, deleted, False, True


@dataclass
class ScanRows:
    """Column lists for a run of commits (cheap to pickle between processes)."""

    commits: dict[str, list[Any]]
    files: dict[str, list[Any]]
    trailers: dict[str, list[Any]]
    evidence: dict[str, list[Any]]
    incomplete: int = 0

    def extend(self, other: "ScanRows") -> "ScanRows":
        for mine, theirs in ((self.commits, other.commits), (self.files, other.files),
                             (self.trailers, other.trailers), (self.evidence, other.evidence)):  # fmt: skip
            for column, values in theirs.items():
                mine[column].extend(values)
        self.incomplete += other.incomplete
        return self


COMMIT_COLUMNS = (
    "sha", "parent_count", "first_parent_sha", "author_name", "author_email", "author_canonical_name",
    "author_canonical_email", "author_time", "author_tz_offset_min", "committer_name", "committer_email",
    "committer_canonical_name", "committer_canonical_email", "commit_time", "committer_tz_offset_min", "subject",
    "trailer_count", "pr_number", "source_branch", "is_revert", "reverted_sha", "stats_complete",
    "ai_tool", "ai_mode", "ai_confidence",
)  # fmt: skip
FILE_COLUMNS = ("sha", "path", "change", "added", "deleted", "is_binary")
TRAILER_COLUMNS = ("sha", "position", "key", "value")
EVIDENCE_COLUMNS = ("subject_id", "rule_id", "field", "matched", "tool", "mode", "confidence")


def scan_commits(shas: Sequence[bytes], with_stats: bool = True) -> ScanRows:
    worker = _WORKER
    assert worker is not None, "worker not initialised"
    repo = worker.repo
    commits: dict[str, list[Any]] = {c: [] for c in COMMIT_COLUMNS}
    files: dict[str, list[Any]] = {c: [] for c in FILE_COLUMNS}
    trailers: dict[str, list[Any]] = {c: [] for c in TRAILER_COLUMNS}
    evidence: dict[str, list[Any]] = {c: [] for c in EVIDENCE_COLUMNS}
    incomplete = 0
    counts: list[tuple[bytes, int, int, Any]] = []  # (path, file row, commit row, change)
    for raw in shas:
        commit = repo[pygit2.Oid(raw=raw)]
        assert isinstance(commit, pygit2.Commit)
        sha = str(commit.id)
        encoding = commit.message_encoding
        author = worker.identity(commit.author, encoding)
        committer = worker.identity(commit.committer, encoding)
        message = decode_text(commit.raw_message, encoding)
        subject, body = split_message(message)
        parsed = parse_trailers(message)
        parent_ids: list[Any] = list(commit.parent_ids)
        boundary = sha in worker.shallow
        if boundary:
            parent_ids = _raw_parents(repo, commit.id)
        pr_number = _pr_number(subject, body)
        branch = branch_from_merge_subject(subject)
        reverted = _REVERTS.search(body) if subject.startswith("Revert ") else None
        authored_at = datetime.fromtimestamp(commit.author.time, UTC)
        result = worker.rules.attribute(
            Signals(
                subject=subject,
                body=body,
                trailers=parsed,
                authors=(f"{author[0]} <{author[1]}>", f"{author[2]} <{author[3]}>"),
                committers=(f"{committer[0]} <{committer[1]}>", f"{committer[2]} <{committer[3]}>"),
                branch=branch,
                when=authored_at,
            )
        )
        complete = not boundary
        if with_stats and not boundary and len(parent_ids) <= 1:
            try:
                old_tree = repo[parent_ids[0]].tree_id.raw if parent_ids else None  # type: ignore[union-attr]
            except KeyError:
                old_tree = b""  # shallow boundary: the parent is not in this clone
            if old_tree == b"":
                complete = False
            else:
                try:
                    changes = worker.differ.diff(old_tree, commit.tree_id.raw)
                except KeyError:
                    changes, complete = [], False
                row = len(commits["sha"])
                for change in changes:
                    counts.append((change[0], len(files["sha"]), row, change))
                    files["sha"].append(sha)
                    files["path"].append(change[0].decode("utf-8", "replace"))
        if not complete:
            incomplete += 1
        for position, (key, value) in enumerate(parsed):
            trailers["sha"].append(sha)
            trailers["position"].append(position)
            trailers["key"].append(key.lower())
            trailers["value"].append(value)
        for ev in result.evidence:
            evidence["subject_id"].append(sha)
            evidence["rule_id"].append(ev.rule_id)
            evidence["field"].append(ev.field)
            evidence["matched"].append(ev.matched)
            evidence["tool"].append(ev.tool)
            evidence["mode"].append(ev.mode)
            evidence["confidence"].append(ev.confidence)
        values = (
            sha, len(parent_ids), str(parent_ids[0]) if parent_ids else None, *author, commit.author.time,
            commit.author.offset, *committer, commit.committer.time, commit.committer.offset, subject, len(parsed),
            pr_number, branch, reverted is not None, reverted[1] if reverted else None, complete,
            result.tool, result.mode, result.confidence,
        )  # fmt: skip
        for column, value in zip(COMMIT_COLUMNS, values, strict=True):
            commits[column].append(value)
    incomplete += _count_changes(repo, counts, files, commits["stats_complete"])
    return ScanRows(commits, files, trailers, evidence, incomplete)


def _count_changes(
    repo: pygit2.Repository,
    counts: list[tuple[bytes, int, int, Any]],
    files: dict[str, list[Any]],
    complete: list[bool],
) -> int:
    """Line counts for the chunk's file changes, read path by path; returns commits newly incomplete.

    Successive versions of a file share most of their delta chain in the pack, and libgit2's
    delta-base cache is small (16 MiB) and emptied whole when full: read in commit order, the
    other files read in between evict the chain before the next version of the same file needs
    it. Grouped by path (then commit order), a worker needs 17 % less CPU on git's history.
    """
    size = len(files["sha"])
    kinds: list[str | None] = [None] * size
    added: list[int | None] = [None] * size
    deleted: list[int | None] = [None] * size
    binary: list[bool] = [False] * size
    newly = 0
    # The next (older) change of the same path usually has this change's old blob as its new one.
    recent: dict[bytes, pygit2.Blob] = {}
    counts.sort(key=itemgetter(0, 1))
    for _, index, row, change in counts:
        kinds[index], added[index], deleted[index], binary[index], ok = _numstat(
            repo, change, recent
        )
        if not ok and complete[row]:
            complete[row] = False
            newly += 1
    files["change"], files["added"], files["deleted"], files["is_binary"] = (
        kinds,
        added,
        deleted,
        binary,
    )
    return newly


def _pr_number(subject: str, body: str) -> int | None:
    match = _PR_SQUASH.search(subject) or _PR_MERGE.match(subject) or _MR_MERGE.search(body)
    return int(match[1]) if match else None


# --------------------------------------------------------------------------- graph walks
