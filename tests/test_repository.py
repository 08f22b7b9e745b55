"""Project hygiene: module docstrings, and a README that names the Makefile's two commands."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["ingestion", "metrics", "dagster_project", "dashboards", "benchmarks"]


def docstring_problem(path: Path) -> str | None:
    """Why the module's docstring is not a one-line summary (PEP 257), or None when it is."""
    doc = ast.get_docstring(
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), clean=True
    )
    if not doc or not doc.strip():
        return "no module docstring"
    lines = doc.splitlines()
    if not lines[0].strip():
        return "the docstring does not start with a summary line"
    if len(lines) > 1 and lines[1].strip():
        return "the summary runs over more than one line (a blank line must follow the first)"
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_a_one_line_docstring(package: str) -> None:
    folder = ROOT / package
    if not folder.is_dir():
        pytest.skip(f"{package}/ does not exist yet")
    modules = sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    if not modules:
        pytest.skip(f"{package}/ has no Python modules yet")
    problems = {str(p.relative_to(ROOT)): why for p in modules if (why := docstring_problem(p))}
    assert problems == {}


def makefile_targets(text: str) -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))


def advertised_commands(text: str) -> list[str]:
    """The `make X` commands the Makefile's comments present to a newcomer, in order."""
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    return list(dict.fromkeys(re.findall(r"`(make [A-Za-z0-9_.-]+)`", comments)))


def readme_commands(text: str) -> set[str]:
    """Commands given on their own line inside the README's fenced code blocks."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return {
        line.split("#", 1)[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip()
    }


def test_readme_names_the_two_makefile_commands() -> None:
    readme, makefile = ROOT / "README.md", ROOT / "Makefile"
    if not makefile.is_file():
        pytest.skip("Makefile does not exist yet")
    assert readme.is_file(), "README.md is missing"
    make_text = makefile.read_text(encoding="utf-8")
    commands = advertised_commands(make_text)
    assert len(commands) == 2, f"the Makefile should present exactly two commands, found {commands}"

    targets = makefile_targets(make_text)
    phony = set(" ".join(re.findall(r"^\.PHONY\s*:(.*)$", make_text, re.MULTILINE)).split())
    for command in commands:
        target = command.split()[1]
        assert target in targets, f"{command}: no such target in the Makefile"
        assert target in phony, f"{command}: the target is not declared .PHONY"

    readme_text = readme.read_text(encoding="utf-8")
    shown = readme_commands(readme_text)
    missing = [c for c in commands if c not in shown]
    assert missing == [], f"README.md does not give these commands in a code block: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    ci, makefile = ROOT / ".ci" / "run", ROOT / "Makefile"
    if not ci.is_file() or not makefile.is_file():
        pytest.skip(".ci/run or the Makefile does not exist yet")
    commands = advertised_commands(makefile.read_text(encoding="utf-8"))
    test_commands = [c for c in commands if c.endswith(" test")]
    assert test_commands, f"none of the Makefile's commands {commands} runs the tests"
    lines = [ln.strip() for ln in ci.read_text(encoding="utf-8").splitlines()]
    assert test_commands[0] in lines, f".ci/run does not run `{test_commands[0]}`"
