"""Line lineage: the commit that introduced each line, followed forward through history, moves and copies included.

This answers what `git blame -M -C -C` answers, for many files at once, from the other end: instead
of blaming each file at its tip backwards through the whole history, the commits of a chosen set
are applied in topological order to a per-file list of line origins, starting from the set's
boundary, where every line is old (origin 0). libgit2 1.9 cannot do this job: its blame ignores
the copy-tracking flags (`TRACK_COPIES_*`, documented as not implemented, give the same answer as
none) and took 2.5 s per file on average over six months of git's history, about an hour for the
1,381 files that range touches (docs/benchmarks.md).

A commit's lines are mapped to its first parent's by a line diff (libgit2's xdiff, git's own
algorithm): unchanged lines keep their origins. Each added line is new unless move/copy detection
finds it elsewhere, in this order (git blame's semantics and its score thresholds):

1. moved: a block of at least three lines whose content (leading and trailing whitespace ignored)
   equals lines the same commit removed, from this file or another (`-M`, and `-C` moves), with at
   least 20 alphanumeric characters in the block;
2. copied from a file the commit modifies (its version in the parent; `-C`), at least 40;
3. for a file the commit creates, copied from any text file of the parent commit (`-C -C`), at
   least 40.

A moved or copied line keeps the origin of its source line. A file renamed in the commit (a
deleted file and a created one with at least half of their lines in common, git's default
similarity; the most similar pairs first) is diffed like a modified file, so its unchanged lines
keep their origins. A merge commit's lines come from its parents in order, as git blame
passes them: a parent with the identical file gives all its origins; otherwise lines unchanged
against a parent take that parent's origins; lines in no parent (conflict resolutions) are the
merge's own. Binary files (a NUL byte in the first 8000 bytes), symbolic links and submodules
have no lines. A commit whose parent is missing (a shallow clone's boundary) introduces nothing.

An origin is a commit and, when its git-ai authorship note (`refs/notes/ai`) attests the line, the
note's class for it: an AI session's tool, or a human. Lines a note does not attest follow the
commit's own attribution (`kind = "commit"`). States hold origin ids only: no file content is kept
beyond the commit being applied.
"""

from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import DiffOption

from ingestion.gitscan import _TreeDiffer  # pyright: ignore[reportPrivateUsage]
from ingestion.notes import NOTES_REF, LineClass, note_line_classes

OLD = 0
"""Origin of a line that existed before the tracked commits, or was added where nothing counts."""
_NEW = -1  # placeholder for an added line not resolved yet
_WINDOW = 3  # lines in the smallest block recognised as moved or copied
_MOVE_SCORE = 20  # git blame's BLAME_DEFAULT_MOVE_SCORE (alphanumeric characters in a block)
_COPY_SCORE = 40  # git blame's BLAME_DEFAULT_COPY_SCORE
_HITS = 8  # source positions kept per window; the longest match among them wins
_BINARY_SNIFF = 8000  # git's buffer_is_binary
_MAX_SOURCE_BYTES = 1 << 20  # larger files are not searched for copies (data, fixtures)
_KEY_CACHE = 1024  # blobs whose line keys are kept between commits
_BLOB_CACHE = 512  # blobs whose content is kept between reads (a commit reads each several times)
_SIGNIFICANT = -(
    -_COPY_SCORE // _WINDOW
)  # a copied block holds a line with this many alphanumerics
_TREE_FILES = (
    8192  # files whose significant keys are kept for copy searches (a tree and its changes)
)
_TREE_CACHE = 1024  # parsed trees kept
_RENAME_SIMILARITY = 0.5  # git's default rename threshold (-M50%), here in unchanged lines
_RENAME_PAIRS = (
    400  # beyond this many (created, deleted) pairs, only files of the same name are compared
)
_DIR = b"40000"
_NON_ALNUM = bytes(c for c in range(256) if not (chr(c).isascii() and chr(c).isalnum()))
_FORCE_TEXT = DiffOption.FORCE_TEXT
_ABSENT = object()
_NO_KEYS = array("q")

Files = dict[bytes, list[int]]
"""A commit's state: path -> origin id of each line. A path absent here holds old lines only."""
Hunk = tuple[int, int, int, int]
"""(old start, old count, new start, new count) of a zero-context hunk, starts 0-based."""
Keys = Sequence[int]
"""Comparison keys of consecutive lines (an array of 64-bit integers, or a slice of one)."""
Change = tuple[bytes, bytes | None, bytes | None, bytes | None, bytes | None]
"""(path, old mode, old oid, new mode, new oid) from the tree differ."""


@dataclass(frozen=True)
class Origin:
    sha: str
    kind: (
        str  # "commit": the commit's own attribution; "ai" or "human": attested by its git-ai note
    )
    tool: str | None = None  # for "ai": the note's tool (catalogue ids)


@dataclass
class _Source:
    keys: Keys
    origins: list[int]


@dataclass
class _Deleted:
    """A text file the commit being applied deleted, and the parts of it not carried over."""

    path: bytes
    oid: bytes
    origins: list[int]
    cut: list[tuple[int, int]]  # removed runs: all of it, unless it was renamed


@dataclass
class _Added:
    """A file of the commit being applied whose added lines are still placeholders."""

    path: bytes
    oid: bytes
    lines: list[int]  # the new origin list, _NEW where unresolved
    added: list[tuple[int, int]]  # [start, end) of every added run
    open: list[tuple[int, int]]  # the runs not resolved yet
    created: bool  # no text file at this path in the first parent


def is_binary(data: bytes) -> bool:
    return data.find(b"\x00", 0, _BINARY_SNIFF) >= 0


def split_lines(data: bytes) -> list[bytes]:
    """Lines as git counts them: a last line without a newline is a line."""
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return lines


def _regular(mode: bytes | None) -> bool:
    return mode is not None and mode.startswith(b"100")


@dataclass
class Lineage:
    """Applies commits to origin states (see the module docstring for the rules).

    `counted(paths)` says for each path whether a new line there gets its commit as origin (False:
    OLD, so lock files, vendored and generated code are never "introduced"); it is asked once per
    path. Notes are read from `refs/notes/ai` for the commits applied. `copies=False` turns off
    step 3, the only one whose cost grows with the size of the tree.
    """

    repo: pygit2.Repository
    counted: Callable[[list[str]], list[bool]] | None = None
    copies: bool = True
    origins: list[Origin] = field(default_factory=lambda: [Origin("", "old")])
    introduced: Counter[int] = field(default_factory=Counter)
    """Lines each origin introduced (moves and copies are not introductions)."""

    def __post_init__(self) -> None:
        self._differ = _TreeDiffer(self.repo)
        self._odb = self.repo.odb
        self._ids: dict[Origin, int] = {}
        self._by_sha: dict[str, list[int]] = {}
        self._counted: dict[bytes, bool] = {}
        self._keys: dict[bytes, Keys] = {}
        self._trees: dict[bytes, dict[bytes, tuple[bytes, bytes]]] = {}
        self._blobs: dict[bytes, bytes] = {}
        # Keys of the significant lines of every file searched for copies: a copied block of at
        # least _WINDOW lines and _COPY_SCORE alphanumerics has such a line, so files sharing none
        # with the targets cannot hold one.
        self._significant: dict[bytes, frozenset[int]] = {}
        self._has_notes = NOTES_REF in set(self.repo.references)

    # ------------------------------------------------------------------ origins and paths

    def origin_id(self, sha: str, kind: str = "commit", tool: str | None = None) -> int:
        origin = Origin(sha, kind, tool)
        found = self._ids.get(origin)
        if found is None:
            found = len(self.origins)
            self.origins.append(origin)
            self._ids[origin] = found
            self._by_sha.setdefault(sha, []).append(found)
        return found

    def ids_of(self, sha: str) -> list[int]:
        """Every origin id of a commit (its own lines, and the classes its note gave some of them)."""
        return self._by_sha.get(sha, [])

    def _note(self, sha: str) -> dict[str, list[LineClass]]:
        if not self._has_notes:
            return {}
        try:
            note = self.repo.lookup_note(sha, NOTES_REF)
        except (KeyError, pygit2.GitError):
            return {}
        return note_line_classes(note.message)

    def _learn_counted(self, paths: Iterable[bytes]) -> None:
        missing = [p for p in dict.fromkeys(paths) if p not in self._counted]
        if not missing:
            return
        names = [p.decode("utf-8", "replace") for p in missing]
        flags = self.counted(names) if self.counted else [True] * len(missing)
        self._counted.update(zip(missing, flags, strict=True))

    # ------------------------------------------------------------------ objects

    def _read(self, oid: bytes) -> bytes:
        data = self._blobs.get(oid)
        if data is None:
            _, data = self._odb.read(pygit2.Oid(raw=oid))
            if len(self._blobs) >= _BLOB_CACHE:
                self._blobs.clear()
            self._blobs[oid] = data
        return data

    def _text(self, oid: bytes | None, mode: bytes | None) -> bytes | None:
        """The content of a regular text file, else None."""
        if oid is None or not _regular(mode):
            return None
        data = self._read(oid)
        return None if is_binary(data) else data

    def _key_lines(self, oid: bytes, data: bytes | None = None) -> Keys:
        """Comparison key of each line of a blob: the hash of the line without surrounding blanks,
        as 64-bit machine integers (a fifth of the memory of Python ints)."""
        found = self._keys.get(oid)
        if found is None:
            lines = split_lines(self._read(oid) if data is None else data)
            found = array("q", map(hash, map(bytes.strip, lines)))
            if len(self._keys) >= _KEY_CACHE:
                self._keys.clear()  # crude but bounded; keys are recomputed when needed again
            self._keys[oid] = found
        return found

    def _weights(self, oid: bytes) -> list[int]:
        """Alphanumeric characters of each line of a blob (the score of a moved or copied block)."""
        return [len(line.translate(None, _NON_ALNUM)) for line in split_lines(self._read(oid))]

    def _entries(self, tree: bytes) -> dict[bytes, tuple[bytes, bytes]]:
        """name -> (mode, oid) of a tree object, cached."""
        found = self._trees.get(tree)
        if found is None:
            data = self._read(tree)
            found = {}
            pos, size = 0, len(data)
            while pos < size:
                space = data.index(b" ", pos)
                nul = data.index(b"\x00", space)
                found[data[space + 1 : nul]] = (data[pos:space], data[nul + 1 : nul + 21])
                pos = nul + 21
            if len(self._trees) >= _TREE_CACHE:
                self._trees.clear()
            self._trees[tree] = found
        return found

    def lookup(self, tree: bytes, path: bytes) -> tuple[bytes, bytes] | None:
        """(mode, oid) of a path in a tree, or None."""
        *dirs, name = path.split(b"/")
        for part in dirs:
            entry = self._entries(tree).get(part)
            if entry is None or entry[0] != _DIR:
                return None
            tree = entry[1]
        return self._entries(tree).get(name)

    def _commit_tree(self, commit_oid: bytes) -> bytes | None:
        try:
            obj = self.repo[pygit2.Oid(raw=commit_oid)]
        except KeyError:
            return None
        return obj.tree_id.raw if isinstance(obj, pygit2.Commit) else None

    def _hunks(self, old_oid: bytes, new_oid: bytes) -> list[Hunk]:
        old = self.repo[pygit2.Oid(raw=old_oid)]
        new = self.repo[pygit2.Oid(raw=new_oid)]
        assert isinstance(old, pygit2.Blob) and isinstance(new, pygit2.Blob)
        patch = pygit2.Patch.create_from(
            old, new, context_lines=0, interhunk_lines=0, flag=_FORCE_TEXT
        )
        return [
            (h.old_start - 1 if h.old_lines else h.old_start, h.old_lines,
             h.new_start - 1 if h.new_lines else h.new_start, h.new_lines)
            for h in patch.hunks
        ]  # fmt: skip

    # ------------------------------------------------------------------ applying a commit

    def apply(
        self,
        commit: pygit2.Commit,
        parents: Sequence[Files | None],
        *,
        take_first: bool = False,
        delta: Counter[int] | None = None,
    ) -> Files:
        """The state of `commit` from its parents' states, in parent order (None: a parent outside
        the tracked set, all of whose lines are old). `take_first` lets the first parent's state be
        changed in place. `delta`, when given, receives per origin the lines gained minus the
        lines lost against the first parent: what changes on a branch when this commit lands."""
        parent_ids = [p.raw for p in commit.parent_ids]
        first = parents[0] if parents else None
        files: Files = (first if take_first else dict(first)) if first is not None else {}
        trees = [self._commit_tree(p) for p in parent_ids]
        if any(t is None for t in trees):
            return files  # shallow boundary: nothing to compare with, nothing introduced
        old_tree = trees[0] if trees else None
        changes = self._differ.diff(old_tree, commit.tree_id.raw)
        self._learn_counted(c[0] for c in changes)
        sha = str(commit.id)
        if len(parent_ids) > 1:
            others = list(zip(trees[1:], parents[1:], strict=True))
            self._apply_merge(sha, changes, files, others, delta)  # pyright: ignore[reportArgumentType]
        else:
            self._apply_single(sha, changes, files, old_tree, delta)
        return files

    def _old_origins(
        self, files: Files, path: bytes, oid: bytes | None, mode: bytes | None
    ) -> list[int] | None:
        """A parent's origins at a path (taken out of its state); None when it has no text there."""
        known = files.pop(path, None)
        if known is not None:
            return known
        data = self._text(oid, mode)
        return None if data is None else [OLD] * len(split_lines(data))

    def _apply_single(self, sha: str, changes: list[Change], files: Files, old_tree: bytes | None,
                      delta: Counter[int] | None) -> None:  # fmt: skip
        before: dict[bytes, list[int] | None] = {}  # changed path -> its origins in the parent
        modified: list[tuple[bytes, list[int]]] = []  # (old blob, origins) of modified files
        deleted: list[_Deleted] = []
        pending: list[_Added] = []
        removed: list[_Source] = []  # lines this commit removed: moves come from here
        for path, old_mode, old_oid, new_mode, new_oid in changes:
            old = self._old_origins(files, path, old_oid, old_mode)
            before[path] = old
            data = self._text(new_oid, new_mode)
            if data is None:
                if old:
                    assert old_oid is not None
                    deleted.append(_Deleted(path, old_oid, old, [(0, len(old))]))
                continue
            assert new_oid is not None
            if old is None:
                n = len(split_lines(data))
                pending.append(_Added(path, new_oid, [_NEW] * n, [(0, n)], [(0, n)], True))
                continue
            assert old_oid is not None
            lines, added, cut = _splice(old, self._hunks(old_oid, new_oid))
            keys = self._key_lines(old_oid) if cut else _NO_KEYS
            for start, end in cut:
                removed.append(_Source(keys[start:end], old[start:end]))
                if delta is not None:
                    _count(delta, old[start:end], -1)
            modified.append((old_oid, old))
            pending.append(_Added(path, new_oid, lines, added, list(added), False))
        if deleted:
            self._pair_renames(pending, deleted, modified)
            for gone in deleted:
                keys = self._key_lines(gone.oid) if gone.cut else _NO_KEYS
                for start, end in gone.cut:
                    removed.append(_Source(keys[start:end], gone.origins[start:end]))
                    if delta is not None:
                        _count(delta, gone.origins[start:end], -1)
        self._detect(pending, removed, modified, old_tree, before, files)
        self._introduce(sha, pending)
        for item in pending:
            files[item.path] = item.lines
            if delta is not None:
                for start, end in item.added:
                    _count(delta, item.lines[start:end], 1)

    def _pair_renames(
        self,
        pending: list[_Added],
        deleted: list[_Deleted],
        modified: list[tuple[bytes, list[int]]],
    ) -> None:
        """A new file that is a deleted file renamed is that file modified (git's rename detection).

        Same content: every origin carries over. Otherwise the pair with the most lines unchanged,
        at least half of the larger file (git's default similarity), is diffed like a modified
        file. With many deletions and creations in one commit only files of the same name are
        compared.
        """
        created = [item for item in pending if item.created]
        by_oid: dict[bytes, _Deleted] = {}
        for gone in deleted:
            by_oid.setdefault(gone.oid, gone)
        for item in created:
            gone = by_oid.get(item.oid)
            if gone is not None and gone.cut and len(gone.origins) == len(item.lines):
                item.lines[:] = gone.origins
                item.added, item.open, gone.cut = [], [], []
        created = [item for item in created if item.open]
        left = [gone for gone in deleted if gone.cut]
        if not created or not left:
            return
        many = len(created) * len(left) > _RENAME_PAIRS
        scored: list[tuple[float, int, int, list[Hunk]]] = []
        for i, item in enumerate(created):
            for j, gone in enumerate(left):
                if many and item.path.rsplit(b"/", 1)[-1] != gone.path.rsplit(b"/", 1)[-1]:
                    continue
                hunks = self._hunks(gone.oid, item.oid)
                kept = len(gone.origins) - sum(h[1] for h in hunks)
                similarity = kept / max(len(gone.origins), len(item.lines), 1)
                if similarity >= _RENAME_SIMILARITY:
                    scored.append((similarity, i, j, hunks))
        taken_items: set[int] = set()
        taken_gone: set[int] = set()
        for _, i, j, hunks in sorted(scored, key=lambda x: (-x[0], x[1], x[2])):
            if i in taken_items or j in taken_gone:
                continue
            taken_items.add(i)
            taken_gone.add(j)
            item, gone = created[i], left[j]
            item.lines, item.added, gone.cut = _splice(gone.origins, hunks)
            item.open, item.created = list(item.added), False
            modified.append((gone.oid, gone.origins))

    def _detect(self, pending: list[_Added], removed: list[_Source], modified: list[tuple[bytes, list[int]]],
                old_tree: bytes | None, before: Mapping[bytes, list[int] | None], files: Files) -> None:  # fmt: skip
        """Moves and copies: resolve placeholders that equal lines of the sources, in order."""

        def open_items(only_created: bool = False) -> list[_Added]:
            return [
                item for item in pending
                if (item.created or not only_created) and any(e - s >= _WINDOW for s, e in item.open)
            ]  # fmt: skip

        todo = open_items()
        if todo and removed:
            self._match(todo, removed, _MOVE_SCORE)
            todo = open_items()
        if todo and modified:
            sources = [_Source(self._key_lines(oid), origins) for oid, origins in modified]
            self._match(todo, sources, _COPY_SCORE)
        todo = open_items(only_created=True)
        if todo and self.copies and old_tree is not None:
            self._match_tree(todo, old_tree, before, files)

    def _targets(self, items: list[_Added]) -> tuple[set[int], set[int]]:
        """Line keys and window hashes of the open runs: what a source must contain to matter."""
        keys: set[int] = set()
        windows: set[int] = set()
        for item in items:
            k = self._key_lines(item.oid)
            for start, end in item.open:
                keys.update(k[start:end])
                windows.update(
                    hash((k[i], k[i + 1], k[i + 2])) for i in range(start, end - _WINDOW + 1)
                )
        return keys, windows

    def _significant_keys(self, oid: bytes) -> frozenset[int]:
        found = self._significant.get(oid)
        if found is None:
            data = self._read(oid)
            if len(data) > _MAX_SOURCE_BYTES or is_binary(data):
                found = frozenset()
            else:
                long = [
                    line
                    for line in map(bytes.strip, split_lines(data))
                    if len(line) >= _SIGNIFICANT
                ]
                found = frozenset(
                    hash(line)
                    for line in long
                    if len(line.translate(None, _NON_ALNUM)) >= _SIGNIFICANT
                )
            if len(self._significant) >= _TREE_FILES:
                self._significant.clear()
            self._significant[oid] = found
        return found

    @staticmethod
    def _index(
        sources: Iterable[tuple[int, Keys]], keys: set[int], windows: set[int]
    ) -> dict[int, list[tuple[int, int]]]:
        """window hash -> (source, position), for the windows of the sources that the targets have.

        Only positions whose first line's key is a target key are hashed: the targets are a few
        lines, the sources whole files.
        """
        index: dict[int, list[tuple[int, int]]] = {}
        for s, src in sources:
            for pos in range(len(src) - _WINDOW + 1):
                if src[pos] in keys:
                    window = hash((src[pos], src[pos + 1], src[pos + 2]))
                    if window in windows:
                        hits = index.setdefault(window, [])
                        if len(hits) < _HITS:
                            hits.append((s, pos))
        return index

    def _match(self, items: list[_Added], sources: list[_Source], threshold: int) -> None:
        keys, windows = self._targets(items)
        index = self._index(((s, src.keys) for s, src in enumerate(sources)), keys, windows)
        if not index:
            return

        def find(window: int, keys: Keys, i: int, end: int) -> tuple[int, list[int], int] | None:
            best: tuple[int, list[int], int] | None = None
            for s, pos in index.get(window, ()):
                n = _run(sources[s].keys, pos, keys, i, end)
                if n >= _WINDOW and (best is None or n > best[0]):
                    best = (n, sources[s].origins, pos)
            return best

        for item in items:
            self._fill(item, threshold, find)

    def _fill(self, item: _Added, threshold: int,
              find: Callable[[int, Keys, int, int], tuple[int, list[int], int] | None]) -> None:  # fmt: skip
        """Resolve the open runs of a file against sources, block by block, greedily from the top."""
        k = self._key_lines(item.oid)
        weights: list[int] | None = None
        left: list[tuple[int, int]] = []
        for start, end in item.open:
            i, kept = start, start
            while i + _WINDOW <= end:
                found = find(hash((k[i], k[i + 1], k[i + 2])), k, i, end)
                if found is not None and weights is None:
                    weights = self._weights(item.oid)
                if (
                    found is not None
                    and weights is not None
                    and sum(weights[i : i + found[0]]) >= threshold
                ):
                    n, origins, pos = found
                    item.lines[i : i + n] = origins[pos : pos + n]
                    if i > kept:
                        left.append((kept, i))
                    i = kept = i + n
                else:
                    i += 1
            if end > kept:
                left.append((kept, end))
        item.open = left

    def _match_tree(self, items: list[_Added], tree: bytes, before: Mapping[bytes, list[int] | None],
                    files: Files) -> None:  # fmt: skip
        """Copies into new files from any text file of the parent tree (git blame -C -C)."""
        targets, windows = self._targets(items)
        wanted: set[int] = set()
        for item in items:
            wanted |= self._significant_keys(item.oid)
        wanted &= targets
        if not wanted:
            return
        blobs: dict[bytes, bytes] = {}  # candidate blob -> a path of it
        for oid, path in self._files(tree, b""):
            if oid not in blobs and not self._significant_keys(oid).isdisjoint(wanted):
                blobs[oid] = path
        candidates = list(blobs)
        keys = [self._key_lines(oid) for oid in candidates]
        index = self._index(enumerate(keys), targets, windows)
        if not index:
            return

        def origins_at(s: int) -> list[int]:
            path = blobs[candidates[s]]
            known = before[path] if path in before else files.get(path)
            return known if known is not None else [OLD] * len(keys[s])

        def find(window: int, target: Keys, i: int, end: int) -> tuple[int, list[int], int] | None:
            best: tuple[int, int, int] | None = None
            for s, pos in index.get(window, ()):
                n = _run(keys[s], pos, target, i, end)
                if n >= _WINDOW and (best is None or n > best[0]):
                    best = (n, s, pos)
            return None if best is None else (best[0], origins_at(best[1]), best[2])

        for item in items:
            self._fill(item, _COPY_SCORE, find)

    def _files(self, tree: bytes, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(blob oid, path) of every regular file under a tree (parsed trees are cached; listings
        are not: a listing per root tree would hold every path once per commit searched)."""
        for name, (mode, oid) in self._entries(tree).items():
            if mode == _DIR:
                yield from self._files(oid, prefix + name + b"/")
            elif _regular(mode):
                yield oid, prefix + name

    def _introduce(self, sha: str, pending: list[_Added]) -> None:
        """Placeholders left are this commit's own lines (classed by its git-ai note, if any)."""
        note: dict[str, list[LineClass]] | None = None
        plain = 0
        for item in pending:
            if not item.open:
                continue
            if not self._counted.get(item.path, True):
                for start, end in item.open:
                    item.lines[start:end] = [OLD] * (end - start)
                continue
            if note is None:
                note = self._note(sha)
                plain = self.origin_id(sha)
            classes = note.get(item.path.decode("utf-8", "replace")) if note else None
            for start, end in item.open:
                if classes:
                    item.lines[start:end] = [
                        self._classed(sha, classes, i + 1, plain) for i in range(start, end)
                    ]
                    self.introduced.update(item.lines[start:end])
                else:
                    item.lines[start:end] = [plain] * (end - start)
                    self.introduced[plain] += end - start
            item.open = []

    def _classed(self, sha: str, classes: list[LineClass], line: int, plain: int) -> int:
        for first, last, kind, tool in classes:
            if first <= line <= last:
                return self.origin_id(sha, kind, tool)
        return plain

    def _apply_merge(self, sha: str, changes: list[Change], files: Files,
                     others: list[tuple[bytes, Files | None]], delta: Counter[int] | None) -> None:  # fmt: skip
        own: int | None = None
        for path, old_mode, old_oid, new_mode, new_oid in changes:
            old = self._old_origins(files, path, old_oid, old_mode)
            if new_oid is None or not _regular(new_mode):
                if old and delta is not None:
                    _count(delta, old, -1)
                continue
            # The parents' versions, in order; a parent outside the tracked set has only old lines.
            versions: list[tuple[bytes, list[int] | None]] = []
            if old is not None and old_oid is not None:
                versions.append((old_oid, old))
            for tree, state in others:
                entry = self.lookup(tree, path)
                if entry is not None and _regular(entry[0]):
                    versions.append((entry[1], state.get(path) if state is not None else None))
            same = next((origins for oid, origins in versions if oid == new_oid), _ABSENT)
            if same is not _ABSENT:
                lines = list(same) if isinstance(same, list) else self._old_lines(new_oid)
            else:
                lines = self._merged(sha, path, new_oid, versions)
                if lines is None:
                    if old and delta is not None:
                        _count(delta, old, -1)
                    continue
                if _NEW in lines:
                    if own is None:
                        own = self.origin_id(sha)
                    value = own if self._counted.get(path, True) else OLD
                    fresh = [i for i, v in enumerate(lines) if v == _NEW]
                    for i in fresh:
                        lines[i] = value
                    if value:
                        self.introduced[value] += len(fresh)
            if lines is None:
                continue
            files[path] = lines
            if delta is not None:
                _difference(delta, old or [], lines)

    def _old_lines(self, oid: bytes) -> list[int] | None:
        data = self._text(oid, b"100644")
        return None if data is None else [OLD] * len(split_lines(data))

    def _merged(self, sha: str, path: bytes, new_oid: bytes,
                versions: list[tuple[bytes, list[int] | None]]) -> list[int] | None:  # fmt: skip
        """A merge's version that equals no parent's: lines from the parents, in order, else _NEW."""
        data = self._text(new_oid, b"100644")
        if data is None:
            return None
        lines = [_NEW] * len(split_lines(data))
        for oid, origins in versions:
            if origins is None:
                origins = self._old_lines(oid)
                if origins is None:
                    continue
            _carry(origins, self._hunks(oid, new_oid), lines)
        return lines


def _run(source: Keys, pos: int, keys: Keys, i: int, end: int) -> int:
    """How many lines from keys[i] (before end) equal source from pos."""
    n, limit = 0, min(end - i, len(source) - pos)
    while n < limit and source[pos + n] == keys[i + n]:
        n += 1
    return n


def _splice(
    old: list[int], hunks: list[Hunk]
) -> tuple[list[int], list[tuple[int, int]], list[tuple[int, int]]]:
    """The new origin list with placeholders for added lines; the added runs (new positions) and
    the removed runs (old positions)."""
    out: list[int] = []
    added: list[tuple[int, int]] = []
    cut: list[tuple[int, int]] = []
    pos = 0
    for a, na, _, nb in hunks:
        out.extend(old[pos:a])
        if na:
            cut.append((a, a + na))
        if nb:
            added.append((len(out), len(out) + nb))
            out.extend([_NEW] * nb)
        pos = a + na
    out.extend(old[pos:])
    return out, added, cut


def _carry(origins: list[int], hunks: list[Hunk], lines: list[int]) -> None:
    """Give unresolved lines the origins of a parent version they are unchanged against."""
    old_pos = new_pos = 0
    for a, na, b, nb in [*hunks, (len(origins), 0, len(lines), 0)]:
        n = a - old_pos
        if n > 0 and _NEW in lines[new_pos : new_pos + n]:
            for k in range(n):
                if lines[new_pos + k] == _NEW:
                    lines[new_pos + k] = origins[old_pos + k]
        old_pos, new_pos = a + na, b + nb


def _count(delta: Counter[int], origins: Iterable[int], sign: int) -> None:
    for origin, n in Counter(origins).items():
        if origin:
            delta[origin] += sign * n


def _difference(delta: Counter[int], old: list[int], new: list[int]) -> None:
    """new minus old per origin, comparing only the middle that differs."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    _count(delta, old[head : len(old) - tail], -1)
    _count(delta, new[head : len(new) - tail], 1)


# --------------------------------------------------------------------------- replaying a set of commits


class Replay:
    """Applies commits in a topological order, keeping a state only while a child still needs it.

    `parents` maps every commit of the order to its parent shas; parents outside the order are the
    boundary (all their lines old). `keep` names commits whose state must survive (e.g. the tip).
    """

    def __init__(self, lineage: Lineage, order: Sequence[str], parents: Mapping[str, Sequence[str]],
                 keep: Collection[str] = ()) -> None:  # fmt: skip
        self.lineage = lineage
        self.parents = parents
        self.keep = set(keep)
        members = set(order)
        self.waiting: Counter[str] = Counter()
        for sha in order:
            for parent in dict.fromkeys(parents[sha]):
                if parent in members:
                    self.waiting[parent] += 1
        self.states: dict[str, Files] = {}

    def step(self, sha: str, *, delta: Counter[int] | None = None) -> Files:
        repo = self.lineage.repo
        commit = repo[pygit2.Oid(hex=sha)]
        assert isinstance(commit, pygit2.Commit)
        parent_shas = list(self.parents[sha])
        states = [self.states.get(p) for p in parent_shas]
        first = parent_shas[0] if parent_shas else None
        take = (
            first is not None
            and self.waiting[first] == 1
            and first not in self.keep
            and first in self.states
        )
        files = self.lineage.apply(commit, states, take_first=take, delta=delta)
        for parent in dict.fromkeys(parent_shas):
            if parent in self.waiting:
                self.waiting[parent] -= 1
                if self.waiting[parent] <= 0 and parent not in self.keep:
                    self.states.pop(parent, None)
                    del self.waiting[parent]
        if self.waiting[sha] > 0 or sha in self.keep:
            self.states[sha] = files
        return files


def topological(shas: Collection[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Parents before children, for the commits of `shas` (parents outside it are ignored)."""
    members = set(shas)
    order: list[str] = []
    done: set[str] = set()
    for root in shas:
        if root in done:
            continue
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            sha, expanded = stack.pop()
            if expanded:
                order.append(sha)
                continue
            if sha in done:
                continue
            done.add(sha)
            stack.append((sha, True))
            for parent in reversed(parents[sha]):
                if parent in members and parent not in done:
                    stack.append((parent, False))
    return order


__all__ = ["OLD", "Files", "Lineage", "Origin", "Replay", "is_binary", "split_lines", "topological"]
