"""Path exclusion globs (lock files, vendored and generated code), evaluated vectorised in Polars."""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import polars as pl
import yaml
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern


class ExcludeError(ValueError):
    """An exclusion pattern that cannot be compiled."""


def default_patterns() -> list[str]:
    """The shipped defaults from ingestion/data/default_excludes.yaml, in file order."""
    text = (
        resources.files("ingestion.data")
        .joinpath("default_excludes.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    return [str(p) for key, group in data.items() if key != "version" for p in group]


def _to_regex(pattern: str) -> tuple[str, bool]:
    try:
        regex, include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
    except Exception as exc:  # pathspec raises several types for malformed globs
        raise ExcludeError(
            f"exclude pattern {pattern!r} is not a valid .gitignore-style glob: {exc}"
        ) from exc
    if regex is None or include is None:
        raise ExcludeError(
            f"exclude pattern {pattern!r} matches nothing (empty, a comment, or an unclosed '[')"
        )
    # Named groups cannot repeat inside one alternation, and Polars' regex engine needs none.
    return regex.replace("(?P<ps_d>/)", "/"), include


@dataclass(frozen=True)
class Excludes:
    """An ordered list of .gitignore-style patterns; the last matching pattern wins, as in git."""

    patterns: tuple[str, ...]

    @classmethod
    def build(cls, extra: Iterable[str] = (), *, use_defaults: bool = True) -> "Excludes":
        patterns = (default_patterns() if use_defaults else []) + [
            p.strip() for p in extra if p.strip()
        ]
        excludes = cls(tuple(patterns))
        _ = excludes._groups  # compile now so bad patterns fail at configuration time
        return excludes

    @cached_property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.patterns).encode()).hexdigest()[:16]

    @cached_property
    def _groups(self) -> list[tuple[str, bool]]:
        """Consecutive patterns of the same sign merged into one regex: usually a single pass."""
        groups: list[tuple[list[str], bool]] = []
        for pattern in self.patterns:
            regex, include = _to_regex(pattern)
            if groups and groups[-1][1] == include:
                groups[-1][0].append(regex)
            else:
                groups.append(([regex], include))
        return [("|".join(f"(?:{r})" for r in regexes), include) for regexes, include in groups]

    def expr(self, path: pl.Expr) -> pl.Expr:
        """Boolean expression: is this path excluded?"""
        result: pl.Expr = pl.lit(False)
        for regex, include in self._groups:
            result = pl.when(path.str.contains(regex)).then(pl.lit(include)).otherwise(result)
        return result

    def matches(self, paths: Sequence[str]) -> list[bool]:
        frame = pl.DataFrame({"path": list(paths)}, schema={"path": pl.String})
        return frame.select(self.expr(pl.col("path")).alias("x"))["x"].to_list()
