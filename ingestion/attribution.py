"""AI attribution: a versioned rule catalogue (data file) and a small matcher for commits and PRs."""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

Mode = Literal["agent", "assisted", "review", "bot"]
MODES: tuple[str, ...] = get_args(Mode)
FIELDS = (
    "trailer",
    "body",
    "subject",
    "author",
    "committer",
    "branch",
    "pr_author",
    "label",
    "pr_body",
    "pr_title",
)
DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules" / "ai_rules.yaml"

_MODE_PRIORITY = {"agent": 0, "assisted": 1, "bot": 2, "review": 3}
_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}
_MATCHED_MAX = 200
_FLAGS = re.IGNORECASE | re.MULTILINE
# Body text is never stored (SPEC §4), so body evidence keeps only the matched marker.
_MATCH_TEXT_FIELDS = frozenset({"body", "pr_body"})
# Per-value caches pay off where values repeat across commits (people, trailers, branches).
_CACHED_FIELDS = frozenset({"trailer", "author", "committer", "branch", "pr_author", "label"})
_CACHE_SIZE = 1 << 16

_RULE_KEYS = frozenset(
    {
        "id",
        "field",
        "pattern",
        "tool",
        "mode",
        "confidence",
        "description",
        "source",
        "examples",
        "counterexamples",
        "requires",
        "fallback",
        "window",
        "author_type",
        "tool_map",
    }
)
_REQUIRED_KEYS = ("id", "field", "pattern", "tool", "mode", "confidence")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TOOL_RE = re.compile(r"[a-z][a-z0-9_]*")

# git interpret-trailers: a key is ASCII letters, digits and hyphens, optionally followed by
# blanks before the separator.
_TRAILER_LINE_RE = re.compile(r"([A-Za-z0-9-]+)[ \t]*:(.*)", re.DOTALL)
_GIT_BLANK = " \t\n\v\f\r"
_CHERRY_PICK_PREFIX = "(cherry picked from commit "
# git recognises only Signed-off-by plus configured keys. Keys that people configure for
# attribution are added; words that double as headings ("Fixes:", "Note:") are not, as they
# would turn an ordinary last paragraph into a trailer block.
_WELL_KNOWN_TRAILER_KEYS = frozenset(
    {
        "signed-off-by",
        "co-authored-by",
        "reviewed-by",
        "acked-by",
        "tested-by",
        "reported-by",
        "suggested-by",
        "helped-by",
        "requested-by",
        "assisted-by",
        "generated-by",
        "change-id",
        "made-with",
        "claude-session",
        "agent-logs-url",
        "amp-thread",
        "amp-thread-id",
        "ai-assisted",
        "replit-commit-author",
        "replit-commit-session-id",
    }
)

_MERGE_PR_RE = re.compile(r"merge pull request #\d+ from [^/\s]+/(\S+)", re.IGNORECASE)
_MERGE_BRANCH_RE = re.compile(r"merge branch '([^']+)'", re.IGNORECASE)
_BITBUCKET_MERGE_RE = re.compile(r"merged in (\S+) \(pull request #\d+\)", re.IGNORECASE)


class RuleError(ValueError):
    """An invalid attribution rule; the message names the rule id and what is wrong."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One rule match: which rule matched which field, and what it concluded."""

    rule_id: str
    field: str
    matched: str
    tool: str
    mode: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Attribution:
    """The decision for one commit or PR plus every piece of evidence behind it."""

    tool: str | None
    mode: str | None
    confidence: float | None
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class PrAttribution(Attribution):
    """A PR's decision; ``via`` gives, per evidence, the PR commit that carried it (None: the PR)."""

    via: tuple[str | None, ...] = ()


@dataclass(slots=True)
class Signals:
    """Everything the matcher looks at for one commit or one pull request.

    The signals describe a PR (so ``pr_title`` / ``pr_body`` rules apply to ``subject`` /
    ``body``) when ``pr_author``, ``pr_author_type`` or ``labels`` is set.
    """

    subject: str = ""
    body: str = ""
    trailers: Sequence[tuple[str, str]] = ()
    authors: Sequence[str] = ()
    committers: Sequence[str] = ()
    branch: str | None = None
    pr_author: str | None = None
    pr_author_type: str | None = None
    labels: Sequence[str] = ()
    when: datetime | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A date range (inclusive, UTC) in which a rule's confidence is replaced."""

    start: date
    end: date
    confidence: float

    def contains(self, when: datetime) -> bool:
        day = (when.astimezone(UTC) if when.tzinfo is not None else when).date()
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Rule:
    """One catalogue entry: a regex over one field and the conclusion it supports.

    ``requires`` lists rule ids that must also match the same commit or PR. A ``fallback``
    rule is dropped when a non-fallback rule matched the same value or concluded the same
    tool (or a more specific one: ``copilot_autofix`` covers ``copilot``), or when a more
    confident fallback did either, so it only speaks when nothing more specific did.
    ``author_type`` restricts a ``pr_author`` rule to that account type. ``tool_map`` picks
    the tool from the matched text (first pattern that matches), falling back to ``tool``.
    ``window`` replaces the confidence for commits authored inside a date range.
    """

    id: str
    field: str
    pattern: re.Pattern[str]
    tool: str
    mode: str
    confidence: float
    description: str = ""
    source: str = ""
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    fallback: bool = False
    window: Window | None = None
    author_type: str | None = None
    tool_map: tuple[tuple[re.Pattern[str], str], ...] = ()
    custom: bool = False

    def tool_for(self, matched: str) -> str:
        for pattern, tool in self.tool_map:
            if pattern.search(matched):
                return tool
        return self.tool

    def confidence_at(self, when: datetime | None) -> float:
        if self.window is not None and when is not None and self.window.contains(when):
            return self.window.confidence
        return self.confidence


# (rule index, tool, is fallback, evidence); the evidence carries the rule's base confidence.
_Hit = tuple[int, str, bool, Evidence]


class _FieldMatcher:
    """Runs the rules of one field behind a cheap literal pre-filter.

    Python's ``re`` does not optimise a big alternation (one combined regex of all body rules
    costs ~50 µs on a 400-character body), whereas a few ``in`` tests of lower-cased literals
    cost ~2 µs. Each rule's required literals come from its own regex (see
    ``_required_literals``), so the pre-filter never drops a value the rule would match.
    """

    __slots__ = (
        "_always",
        "_confidence",
        "_field",
        "_needles",
        "_rules",
        "_use_match_text",
        "match",
    )

    def __init__(self, field: str, rules: Sequence[tuple[int, Rule]]) -> None:
        self._rules = tuple(
            (index, rule, _required_literals(rule.pattern)) for index, rule in rules
        )
        self._field = field
        self._confidence = {index: rule.confidence for index, rule in rules}
        self._use_match_text = field in _MATCH_TEXT_FIELDS
        self._always = tuple(entry for entry in self._rules if entry[2] is None)
        literals = {literal for _, _, found in self._rules for literal in found or ()}
        # A literal containing a shorter one is implied by it: only the minimal ones are tested.
        self._needles = tuple(
            sorted(
                literal
                for literal in literals
                if not any(other != literal and other in literal for other in literals)
            )
        )
        if field in _CACHED_FIELDS:
            self.match = functools.lru_cache(maxsize=_CACHE_SIZE)(self._match)
        else:
            self.match = self._match

    def _match(self, value: str, account_type: str | None = None) -> tuple[_Hit, ...]:
        folded = _fold(value)
        for needle in self._needles:
            if needle in folded:
                candidates = [
                    (index, rule)
                    for index, rule, literals in self._rules
                    if literals is None or any(literal in folded for literal in literals)
                ]
                break
        else:
            if not self._always:
                return ()
            candidates = [(index, rule) for index, rule, _ in self._always]
        hits: list[_Hit] = []
        specific = False
        strongest_fallback = 0.0
        for index, rule in candidates:
            if rule.author_type is not None and (
                account_type is None or account_type.lower() != rule.author_type.lower()
            ):
                continue
            found = rule.pattern.search(value)
            if found is None:
                continue
            text = found.group(0)
            matched = (text.strip() if self._use_match_text else value)[:_MATCHED_MAX]
            tool = rule.tool_for(text)
            evidence = Evidence(rule.id, self._field, matched, tool, rule.mode, rule.confidence)
            hits.append((index, tool, rule.fallback, evidence))
            if rule.fallback:
                strongest_fallback = max(strongest_fallback, rule.confidence)
            else:
                specific = True
        if specific:
            return tuple(hit for hit in hits if not hit[2])
        if len(hits) > 1:
            # Among fallbacks on one value the most confident is the most specific one.
            return tuple(h for h in hits if self._confidence[h[0]] == strongest_fallback)
        return tuple(hits)


def _fold(value: str) -> str:
    if value.isascii():
        return value.lower()
    # re.IGNORECASE equates these with an ASCII letter but str.lower() does not map them to
    # it: dotted capital I lowers to two code points, dotless i and long s are extra cases.
    # (str.translate would do the same ten times slower.)
    return value.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s").lower()


def _required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Lower-case ASCII strings of which every match of ``pattern`` contains at least one.

    None when no such set can be derived (then the rule always runs). Reads the pattern with
    the standard library's own regex parser; should that private module ever change shape,
    the rule simply runs unfiltered.
    """
    try:
        parser = importlib.import_module("re._parser")
        constants = importlib.import_module("re._constants")
        tree = parser.parse(pattern.pattern, pattern.flags)
        return _sequence_literals(list(tree), constants)
    except (
        ImportError,
        AttributeError,
        TypeError,
        ValueError,
        IndexError,
        RecursionError,
        re.error,
    ):
        return None


def _sequence_literals(items: list[Any], c: Any) -> frozenset[str] | None:
    best: frozenset[str] | None = None

    def consider(candidate: frozenset[str] | None) -> None:
        nonlocal best
        if not candidate or "" in candidate:
            return
        # Prefer the most selective set: longest shortest literal, then fewest literals.
        if best is None or (min(map(len, candidate)), -len(candidate)) > (
            min(map(len, best)),
            -len(best),
        ):
            best = candidate

    run: list[str] = []
    for op, av in items:
        if op is c.LITERAL and av < 128:
            run.append(chr(av).lower())
            continue
        consider(frozenset({"".join(run)}) if run else None)
        run = []
        if op is c.SUBPATTERN:
            consider(_sequence_literals(list(av[-1]), c))
        elif op is c.ATOMIC_GROUP:
            consider(_sequence_literals(list(av), c))
        elif op is c.BRANCH:
            branches = [_sequence_literals(list(branch), c) for branch in av[1]]
            if all(branches):
                consider(frozenset().union(*(b for b in branches if b)))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            consider(_sequence_literals(list(av[2]), c))
        # Anything else (anchors, classes, back-references, conditionals) only ends the run.
    consider(frozenset({"".join(run)}) if run else None)
    return best


_UNATTRIBUTED = Attribution(None, None, None, ())


class RuleSet:
    """A loaded, validated rule catalogue (plus custom rules) and the matcher over it."""

    __slots__ = ("_by_field", "_requiring", "min_confidence", "rules", "version")

    version: str
    rules: tuple[Rule, ...]
    min_confidence: float

    def __init__(self, version: str, rules: Sequence[Rule], min_confidence: float = 0.5) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, got {min_confidence!r}")
        self.version = version
        self.rules = tuple(rules)
        self.min_confidence = float(min_confidence)
        _check_rule_set(self.rules)
        self._requiring = frozenset(i for i, rule in enumerate(self.rules) if rule.requires)
        grouped: dict[str, list[tuple[int, Rule]]] = {}
        for index, rule in enumerate(self.rules):
            grouped.setdefault(rule.field, []).append((index, rule))
        self._by_field = {name: _FieldMatcher(name, rules) for name, rules in grouped.items()}

    @classmethod
    def load(
        cls,
        custom_rules: Sequence[Mapping[str, Any]] = (),
        disabled: Sequence[str] = (),
        min_confidence: float = 0.5,
        path: Path | None = None,
    ) -> RuleSet:
        """The catalogue at ``path`` (default: the shipped one) minus ``disabled`` plus ``custom_rules``."""
        catalogue_path = (path or DEFAULT_RULES_PATH).resolve()
        stat = catalogue_path.stat()
        base_version, raw_rules = _read_catalogue(catalogue_path, stat.st_mtime_ns, stat.st_size)
        catalogue = [_build_rule(raw, custom=False) for raw in raw_rules]
        known = {rule.id for rule in catalogue}
        if len(known) != len(catalogue):
            _check_rule_set(catalogue)

        disabled_ids = set()
        for rule_id in disabled:
            if rule_id not in known:
                raise RuleError(
                    f"rule {rule_id!r}: cannot be disabled, no catalogue rule has this id"
                )
            disabled_ids.add(rule_id)

        custom: list[Rule] = []
        for raw in custom_rules:
            rule = _build_rule(raw, custom=True)
            if rule.id in known:
                raise RuleError(
                    f"rule {rule.id!r}: custom rule id clashes with a catalogue rule id"
                )
            custom.append(rule)

        rules = [rule for rule in catalogue if rule.id not in disabled_ids] + custom
        version = str(base_version)
        if custom_rules or disabled_ids:
            version += "+custom." + _custom_digest(custom_rules, sorted(disabled_ids))
        return cls(version, rules, min_confidence)

    def attribute(self, signals: Signals) -> Attribution:
        """Match every rule against ``signals`` and pick the strongest conclusion."""
        hits = self._collect(signals)
        if not hits:
            return _UNATTRIBUTED
        return self._decide(hits, signals.when)

    def attribute_pr(
        self, pr: Signals, commits: Sequence[tuple[str, Signals]] = ()
    ) -> PrAttribution:
        """A pull request's attribution: the union of its own signals and its commits' signals.

        Each piece of evidence remembers the first commit that carried it (``via``), or None
        when it came from the PR itself (author, branch, title, body, labels).
        """
        hits = self._collect(pr)
        via: dict[tuple[str, str, str], str | None] = {
            (h[3].rule_id, h[3].field, h[3].matched): None for h in hits
        }
        for sha, signals in commits:
            for hit in self._collect(signals):
                via.setdefault((hit[3].rule_id, hit[3].field, hit[3].matched), sha)
                hits.append(hit)
        decided = self._decide(hits, pr.when) if hits else _UNATTRIBUTED
        return PrAttribution(
            decided.tool,
            decided.mode,
            decided.confidence,
            decided.evidence,
            tuple(via.get((e.rule_id, e.field, e.matched)) for e in decided.evidence),
        )

    def classify_account(self, login: str, account_type: str | None = None) -> Attribution:
        """What an account is (review bot, dependency bot, agent) by the ``pr_author`` rules;
        used for reviewers and PR authors alike."""
        return self.attribute(Signals(pr_author=login, pr_author_type=account_type))

    def _collect(self, signals: Signals) -> list[_Hit]:
        hits: list[_Hit] = []
        matchers = self._by_field

        def collect(field: str, value: str, account_type: str | None = None) -> None:
            matcher = matchers.get(field)
            if matcher is not None:
                hits.extend(matcher.match(value, account_type))

        for key, value in signals.trailers:
            collect("trailer", f"{key}: {value}")
        authors = signals.authors
        for identity in dict.fromkeys(authors) if len(authors) > 1 else authors:
            collect("author", identity)
        committers = signals.committers
        for identity in dict.fromkeys(committers) if len(committers) > 1 else committers:
            collect("committer", identity)
        is_pr = (
            signals.pr_author is not None
            or signals.pr_author_type is not None
            or bool(signals.labels)
        )
        if signals.subject:
            collect("subject", signals.subject)
            if is_pr:
                collect("pr_title", signals.subject)
        if signals.body:
            collect("body", signals.body)
            if is_pr:
                collect("pr_body", signals.body)
        if signals.branch:
            collect("branch", signals.branch)
        if signals.pr_author:
            login = signals.pr_author
            account_type = signals.pr_author_type
            if account_type is None and login.endswith("[bot]"):
                account_type = "Bot"
            collect("pr_author", login, account_type)
        for label in dict.fromkeys(signals.labels):
            collect("label", label)
        return hits

    def _decide(self, hits: list[_Hit], when: datetime | None) -> Attribution:
        rules = self.rules
        if self._requiring and any(hit[0] in self._requiring for hit in hits):
            while True:
                matched_ids = {hit[3].rule_id for hit in hits}
                kept = [h for h in hits if all(r in matched_ids for r in rules[h[0]].requires)]
                if len(kept) == len(hits):
                    break
                hits = kept
        if any(hit[2] for hit in hits):
            specific_tools = {name for hit in hits if not hit[2] for name in _tool_family(hit[1])}
            strongest: dict[str, float] = {}
            for index, tool, fallback, _ in hits:
                if fallback and tool not in specific_tools:
                    strongest[tool] = max(strongest.get(tool, 0.0), rules[index].confidence)
            hits = [
                hit
                for hit in hits
                if not hit[2] or strongest.get(hit[1]) == rules[hit[0]].confidence
            ]

        ranked: dict[tuple[str, str, str], tuple[tuple[Any, ...], Evidence]] = {}
        for index, _, _, evidence in hits:
            key = (evidence.rule_id, evidence.field, evidence.matched)
            if key in ranked:
                continue
            rule = rules[index]
            confidence = rule.confidence_at(when)
            if confidence != evidence.confidence:
                evidence = replace(evidence, confidence=confidence)
            order = (
                -evidence.confidence,
                _MODE_PRIORITY[rule.mode],
                index,
                _FIELD_ORDER[evidence.field],
                evidence.matched,
            )
            ranked[key] = (order, evidence)
        ordered = tuple(item[1] for item in sorted(ranked.values(), key=lambda item: item[0]))
        for evidence in ordered:
            if evidence.confidence >= self.min_confidence:
                return Attribution(evidence.tool, evidence.mode, evidence.confidence, ordered)
        return Attribution(None, None, None, ordered)


def _tool_family(tool: str) -> list[str]:
    """The tool id and its generic parents: ``copilot_autofix`` -> copilot_autofix, copilot."""
    parts = tool.split("_")
    return ["_".join(parts[:end]) for end in range(len(parts), 0, -1)]


@functools.lru_cache(maxsize=8)
def _read_catalogue(
    path: Path, _mtime_ns: int, _size: int
) -> tuple[str, tuple[Mapping[str, Any], ...]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        raise RuleError(f"rule catalogue {path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "version" not in data or "rules" not in data:
        raise RuleError(f"rule catalogue {path}: expected top-level 'version' and 'rules' keys")
    raw_rules = data["rules"]
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise RuleError(f"rule catalogue {path}: 'rules' must be a list of mappings")
    return str(data["version"]), tuple(raw_rules)


def _custom_digest(custom_rules: Sequence[Mapping[str, Any]], disabled: Sequence[str]) -> str:
    payload = json.dumps(
        {"rules": [dict(rule) for rule in custom_rules], "disabled": list(disabled)},
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]


def _check_rule_set(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rule {rule.id!r}: duplicate rule id")
        seen.add(rule.id)
    for rule in rules:
        for required in rule.requires:
            if required == rule.id:
                raise RuleError(f"rule {rule.id!r}: a rule cannot require itself")
            if required not in seen:
                raise RuleError(
                    f"rule {rule.id!r}: requires rule {required!r}, which is unknown or disabled"
                )


def _build_rule(raw: Mapping[str, Any], *, custom: bool) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleError(f"rule {raw!r}: expected a mapping of rule keys")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID_RE.fullmatch(rule_id):
        raise RuleError(
            f"rule {rule_id!r}: 'id' must be a string of letters, digits, '.', '_' or '-'"
        )

    def fail(what: str) -> RuleError:
        return RuleError(f"rule {rule_id!r}: {what}")

    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(map(repr, unknown))}")
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise fail(f"missing required key(s) {', '.join(map(repr, missing))}")

    field = raw["field"]
    if field not in FIELDS:
        raise fail(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")
    mode = raw["mode"]
    if mode not in MODES:
        raise fail(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    tool = raw["tool"]
    if not isinstance(tool, str) or not _TOOL_RE.fullmatch(tool):
        raise fail(f"tool {tool!r} must be a snake_case identifier")
    confidence = _confidence(raw["confidence"], fail, "confidence")
    pattern = _compile(raw["pattern"], fail, "pattern")

    description = raw.get("description", "")
    source = raw.get("source", "custom" if custom else "")
    if not isinstance(description, str) or not isinstance(source, str):
        raise fail("'description' and 'source' must be strings")
    if not custom and not (description and source):
        raise fail("catalogue rules need a 'description' and a 'source'")

    examples = _strings(raw.get("examples", ()), fail, "examples")
    counterexamples = _strings(raw.get("counterexamples", ()), fail, "counterexamples")
    requires = _strings(raw.get("requires", ()), fail, "requires")
    fallback = raw.get("fallback", False)
    if not isinstance(fallback, bool):
        raise fail(f"'fallback' must be true or false, got {fallback!r}")
    author_type = raw.get("author_type")
    if author_type is not None and (not isinstance(author_type, str) or field != "pr_author"):
        raise fail("'author_type' must be a string and applies to field 'pr_author' only")

    window = None
    if raw.get("window") is not None:
        window = _window(raw["window"], fail)

    tool_map: list[tuple[re.Pattern[str], str]] = []
    raw_map = raw.get("tool_map", ())
    if not isinstance(raw_map, list | tuple):
        raise fail("'tool_map' must be a list of {pattern, tool} mappings")
    for entry in raw_map:
        if not isinstance(entry, Mapping) or set(entry) != {"pattern", "tool"}:
            raise fail(f"tool_map entry {entry!r} must have exactly 'pattern' and 'tool'")
        mapped = entry["tool"]
        if not isinstance(mapped, str) or not _TOOL_RE.fullmatch(mapped):
            raise fail(f"tool_map tool {mapped!r} must be a snake_case identifier")
        tool_map.append((_compile(entry["pattern"], fail, "tool_map pattern"), mapped))

    for example in examples:
        if pattern.search(example) is None:
            raise fail(f"pattern does not match its example {example!r}")
    for example in counterexamples:
        if pattern.search(example) is not None:
            raise fail(f"pattern matches its counterexample {example!r}")

    return Rule(
        id=rule_id,
        field=field,
        pattern=pattern,
        tool=tool,
        mode=mode,
        confidence=confidence,
        description=description,
        source=source,
        examples=examples,
        counterexamples=counterexamples,
        requires=requires,
        fallback=fallback,
        window=window,
        author_type=author_type,
        tool_map=tuple(tool_map),
        custom=custom,
    )


def _confidence(value: Any, fail: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise fail(f"{what} {value!r} must be a number between 0 and 1")
    return float(value)


def _compile(value: Any, fail: Any, what: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise fail(f"{what} must be a non-empty string")
    try:
        return re.compile(value, _FLAGS)
    except re.error as exc:
        raise fail(f"{what} {value!r} is not a valid regular expression: {exc}") from exc


def _strings(value: Any, fail: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise fail(f"'{what}' must be a list of strings")
    return tuple(value)


def _window(value: Any, fail: Any) -> Window:
    if not isinstance(value, Mapping) or set(value) != {"from", "to", "confidence"}:
        raise fail("'window' must have exactly 'from', 'to' and 'confidence'")
    bounds: list[date] = []
    for key in ("from", "to"):
        bound = value[key]
        if isinstance(bound, datetime):
            bound = bound.date()
        elif isinstance(bound, str):
            try:
                bound = date.fromisoformat(bound)
            except ValueError as exc:
                raise fail(f"window {key!r} {bound!r} is not an ISO date") from exc
        if not isinstance(bound, date):
            raise fail(f"window {key!r} must be a date, got {bound!r}")
        bounds.append(bound)
    if bounds[0] > bounds[1]:
        raise fail("window 'from' is after 'to'")
    return Window(bounds[0], bounds[1], _confidence(value["confidence"], fail, "window confidence"))


def _git_blank(line: str) -> bool:
    return not line.strip(_GIT_BLANK)


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """``(key, value)`` pairs of the message's trailer block, as git interpret-trailers reads it.

    Only the last paragraph can be the block, never the subject paragraph. It counts when
    all its lines are trailers or continuation lines, or when at least 25 % are trailers and
    one of them has a well-known key. Continuation lines are unfolded into the value.
    """
    lines = message.replace("\r\n", "\n").split("\n")
    count = len(lines)
    position = 0
    while position < count and _git_blank(lines[position]):
        position += 1
    while position < count and not _git_blank(lines[position]):
        position += 1
    title_end = position
    end = count
    while end > title_end and (_git_blank(lines[end - 1]) or lines[end - 1].startswith("#")):
        end -= 1

    trailer_lines = non_trailer_lines = possible_continuations = 0
    recognised = False
    start: int | None = None
    for index in range(end - 1, title_end - 1, -1):
        line = lines[index]
        if line.startswith("#"):
            non_trailer_lines += possible_continuations
            possible_continuations = 0
            continue
        if _git_blank(line):
            non_trailer_lines += possible_continuations
            if (recognised and trailer_lines * 3 >= non_trailer_lines) or (
                trailer_lines and not non_trailer_lines
            ):
                start = index + 1
            break
        if line.startswith(_CHERRY_PICK_PREFIX):
            trailer_lines += 1
            possible_continuations = 0
            recognised = True
            continue
        found = _TRAILER_LINE_RE.match(line)
        if found is not None:
            trailer_lines += 1
            possible_continuations = 0
            recognised = recognised or found.group(1).lower() in _WELL_KNOWN_TRAILER_KEYS
        elif line[0] in _GIT_BLANK:
            possible_continuations += 1
        else:
            non_trailer_lines += 1 + possible_continuations
            possible_continuations = 0
    if start is None:
        return []

    trailers: list[tuple[str, str]] = []
    key: str | None = None
    parts: list[str] = []
    for line in lines[start:end]:
        if line.startswith("#"):
            continue
        found = None if line.startswith(_CHERRY_PICK_PREFIX) else _TRAILER_LINE_RE.match(line)
        if found is not None:
            if key is not None:
                trailers.append((key, " ".join(p for p in parts if p)))
            key, parts = found.group(1), [found.group(2).strip(_GIT_BLANK)]
        elif key is not None and line[0] in _GIT_BLANK:
            parts.append(line.strip(_GIT_BLANK))
        else:
            if key is not None:
                trailers.append((key, " ".join(p for p in parts if p)))
            key, parts = None, []
    if key is not None:
        trailers.append((key, " ".join(p for p in parts if p)))
    return trailers


def split_message(message: str) -> tuple[str, str]:
    """``(subject, body)``: the first line stripped, and everything after it (LF line ends)."""
    subject, _, body = message.replace("\r\n", "\n").partition("\n")
    return subject.strip(), body


def branch_from_merge_subject(subject: str) -> str | None:
    """The head branch named by a GitHub, GitLab or Bitbucket merge-commit subject, if any."""
    text = subject.strip()
    for pattern in (_MERGE_PR_RE, _MERGE_BRANCH_RE, _BITBUCKET_MERGE_RE):
        found = pattern.match(text)
        if found is not None:
            return found.group(1)
    return None
