"""git-ai authorship notes (refs/notes/ai, Git AI Standard v3): per-commit AI and human line counts by tool."""

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pygit2

NOTES_REF = "refs/notes/ai"

# git-ai's agent_id.tool values, mapped to the tool ids of the attribution catalogue.
_TOOLS = {
    "claude": "claude_code",
    "claude-code": "claude_code",
    "codex": "codex",
    "cursor": "cursor",
    "copilot": "copilot",
    "github-copilot": "copilot",
    "windsurf": "windsurf",
    "gemini": "gemini",
    "amp": "amp",
    "droid": "factory",
    "opencode": "opencode",
    "devin": "devin",
    "aider": "aider",
    "jules": "jules",
}
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")

NoteRow = tuple[str, str, str | None, str | None, int, int, str]
"""(sha, kind 'ai'|'human', tool, model, lines, files, schema_version)."""


def _count_ranges(ranges: str) -> int:
    total = 0
    for part in ranges.split(","):
        match = _RANGE.match(part.strip())
        if match:
            start = int(match[1])
            end = int(match[2]) if match[2] else start
            total += max(0, end - start + 1)
    return total


def _attested(
    text: str,
) -> tuple[str, Iterator[tuple[str, tuple[str, str | None, str | None], str]]] | None:
    """An authorship log's schema and its attested entries (file, (kind, tool, model), ranges);
    None when the note is not a parseable authorship log."""
    head, sep, tail = text.partition("\n---\n")
    if not sep:
        if not text.startswith("---\n"):
            return None
        head, tail = "", text[4:]
    try:
        meta: dict[str, Any] = json.loads(tail)
    except json.JSONDecodeError:
        return None
    schema = str(meta.get("schema_version", ""))
    if not schema.startswith("authorship/"):
        return None
    sessions: dict[str, Any] = meta.get("sessions") or {}
    prompts: dict[str, Any] = meta.get("prompts") or {}

    def entries() -> Iterator[tuple[str, tuple[str, str | None, str | None], str]]:
        current_file: str | None = None
        for raw in head.splitlines():
            if not raw.strip():
                continue
            if not raw.startswith(" "):
                current_file = raw.strip().strip('"')
                continue
            key, _, ranges = raw.strip().partition(" ")
            group = _classify(key, sessions, prompts)
            if group is not None and current_file is not None:
                yield current_file, group, ranges

    return schema, entries()


def parse_note(sha: str, text: str) -> list[NoteRow]:
    """Rows for one authorship log; an unparseable note yields no rows rather than an error."""
    attested = _attested(text)
    if attested is None:
        return []
    schema, entries = attested
    lines: dict[tuple[str, str | None, str | None], int] = defaultdict(int)
    files: dict[tuple[str, str | None, str | None], set[str]] = defaultdict(set)
    for path, group, ranges in entries:
        lines[group] += _count_ranges(ranges)
        files[group].add(path)
    return [
        (sha, kind, tool, model, count, len(files[(kind, tool, model)]), schema)
        for (kind, tool, model), count in sorted(
            lines.items(), key=lambda kv: tuple(str(x) for x in kv[0])
        )
    ]


LineClass = tuple[int, int, str, str | None]
"""(first line, last line, kind 'ai'|'human', tool) of an attested range, 1-based and inclusive."""


def note_line_classes(text: str) -> dict[str, list[LineClass]]:
    """Per file, the line ranges an authorship log attests and who wrote them; {} when unparseable.

    Line numbers refer to the file as the annotated commit left it. Lines no key names are
    untracked and absent here.
    """
    attested = _attested(text)
    if attested is None:
        return {}
    found: dict[str, list[LineClass]] = defaultdict(list)
    for path, (kind, tool, _model), ranges in attested[1]:
        for part in ranges.split(","):
            match = _RANGE.match(part.strip())
            if match:
                first = int(match[1])
                found[path].append((first, int(match[2]) if match[2] else first, kind, tool))
    return dict(found)


def _classify(
    key: str, sessions: dict[str, Any], prompts: dict[str, Any]
) -> tuple[str, str | None, str | None] | None:
    if key.startswith("h_"):
        return ("human", None, None)
    session_id = key.split("::", 1)[0]
    agent = (sessions.get(session_id) or prompts.get(session_id) or {}).get("agent_id") or {}
    tool = str(agent.get("tool") or "unknown").lower()
    model = agent.get("model")
    return ("ai", _TOOLS.get(tool, tool), str(model) if model else None)


def iter_notes(repo: pygit2.Repository) -> Iterator[tuple[str, str]]:
    try:
        notes = repo.notes(NOTES_REF)  # pyright: ignore[reportCallIssue]  (the stub omits the ref argument)
    except (KeyError, pygit2.GitError):
        return
    for note in notes:
        yield str(note.annotated_id), note.message


def parse_notes(repo: pygit2.Repository) -> list[NoteRow]:
    rows: list[NoteRow] = []
    for sha, text in iter_notes(repo):
        rows.extend(parse_note(sha, text))
    return rows
