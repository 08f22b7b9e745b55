"""Tests for the AI attribution rule catalogue, trailer parsing and the matcher."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.attribution import (
    DEFAULT_RULES_PATH,
    FIELDS,
    Attribution,
    Rule,
    RuleError,
    RuleSet,
    Signals,
    _fold,
    _required_literals,
    branch_from_merge_subject,
    parse_trailers,
    split_message,
)

CATALOGUE_VERSION = "2026.11.0"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load()


def commit(
    message: str,
    author: str,
    committer: str | None = None,
    *,
    mailmapped: tuple[str, ...] = (),
    when: datetime | None = None,
) -> Signals:
    """Signals for one commit, built the way the git ingester builds them."""
    subject, body = split_message(message)
    return Signals(
        subject=subject,
        body=body,
        trailers=parse_trailers(message),
        authors=(author, *mailmapped),
        committers=(committer or author,),
        branch=branch_from_merge_subject(subject),
        when=when,
    )


def rule_ids(result: Attribution) -> list[str]:
    return [evidence.rule_id for evidence in result.evidence]


def decision(result: Attribution) -> tuple[str | None, str | None]:
    return result.tool, result.mode


# --------------------------------------------------------------------------- real commits

# Copied from the public histories cited in ai-signals.md: identities, dates, subjects and trailer
# blocks verbatim; some long bodies are shortened.
GIT_AI_131DF6D9A = """\
fix: add ApplyPatch support to Cursor preset tool classifier

Cursor can emit `tool_name: "ApplyPatch"` for file edits that use the
patch format (common with OpenAI/Codex models). Previously these were
classified as ToolClass::Skip, leaving edited lines unattributed.

Fixes #1421

Co-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>
"""

GIT_AI_BB4845504 = """\
test: use existing parent for nonexistent-path case under empty .git dir

The two-missing-component path exercised path_is_in_workdir's final
normalization fallback, which returns false on macOS for any such path.

Co-Authored-By: Claude Fable 5 <noreply@anthropic.com>
Claude-Session: https://claude.ai/code/session_013Ri215L7Fjy9vg9wgKZ338
"""

GIT_AI_B4EED478A = """\
fix(visualstudio): cleanup and align with IntelliJ coding standards

- Fix before_edit checkpoint to use pre-change snapshot (e.Before.GetText())
  instead of post-change content, matching IntelliJ's beforeDocumentChange
- Update DESIGN.md to reflect actual implementation and discovered
  Copilot namespace prefixes
- Create GitAiVS.sln solution file

Co-authored-by: Cursor <cursoragent@cursor.com>
"""

GIT_AI_FCB4BDC82 = """\
fix(xcode): fix crashes, deadlocks, and path handling in FSEvents watcher

- Add kFSEventStreamCreateFlagUseCFTypes to FSEventStreamCreate flags;
  without it eventPaths is a raw C array, not a CFArray, causing the
  Unmanaged<CFArray> cast to read garbage or crash.

- Add .swiftpm/ and /Pods/ to the skip list.

Made-with: Cursor
"""

GIT_AI_90553FA7D = "Limit daemon log field payloads\n\nCo-authored-by: Codex <noreply@openai.com>\n"
GIT_AI_2E4109519 = "Initial plan\n"
GIT_AI_92CCD900A = (
    "Add Discord badge to README\n\n"
    "Co-authored-by: svarlamov <10859025+svarlamov@users.noreply.github.com>\n"
)
GIT_AI_9259BD4B0 = (
    "fix(ci): migrate Slack notify step to slack-github-action v4 API\n\n"
    "Co-Authored-By: Sasha Varlamov <sasha@sashavarlamov.com>\n"
)
# No trailing newline: the GitHub "commit suggestion" button writes it this way.
GIT_AI_AB5F84F18 = (
    "Potential fix for pull request finding\n\n"
    "Co-authored-by: Copilot Autofix powered by AI <175728472+Copilot@users.noreply.github.com>"
)
GIT_AI_A639ADAD7 = (
    "Update src/git/repository.rs\n\n"
    "Co-authored-by: devin-ai-integration[bot] "
    "<158243242+devin-ai-integration[bot]@users.noreply.github.com>"
)
GIT_AI_D421E8B3B = """\
fix: sanitize git env vars from daemon process (#916)

## Summary

- Sanitize 9 git environment variables (GIT_DIR, GIT_WORK_TREE, etc.) from daemon process

## Test plan

- [x] `cargo test --test daemon_mode` — 52 passed, 0 failed

🤖 Generated with [Claude Code](https://claude.com/claude-code)
<!-- devin-review-badge-begin -->

---

<a href="https://app.devin.ai/review/git-ai-project/git-ai/pull/916" target="_blank">
  <picture>
    <img src="https://static.devin.ai/assets/gh-open-in-devin-review-light.svg?v=1" alt="Open with Devin">
  </picture>
</a>
<!-- devin-review-badge-end -->"""
GIT_AI_B8BBDB69C = """\
fix: normalize firebender absolute paths across platforms

Use host-independent path normalization for Firebender hook payloads so absolute repo paths \
resolve consistently on Windows, and add regression coverage for Windows-style inputs.

🤖 Generated with [Firebender](https://firebender.com)

Co-Authored-By: Firebender <help@firebender.com>
"""
GIT_AI_53356EBE0 = (
    "Merge pull request #1989 from git-ai-project/codex/fix-pull-rebase-target-note\n\n"
    "Preserve remote target notes during rewrites"
)
AIDER_308B1546A = (
    "feat: add gpt-5.5 model settings across providers\n\n"
    "Co-authored-by: aider (gpt-5.4) <aider@aider.chat>\n"
)
AIDER_14AF218EA = "fix: Create parent directories for history files and improve error handling\n"
AIDER_A87DE4637 = """\
aider: Split file content into words based on non-alphanumeric characters using re module in \
FileContentCompleter.

# Context:
USER: have FileContentCompleter(Completer) split the files into words on non-alphanums. so each \
word is a contiguous sequence of alphanums. non-alphanums are ignored, and only used to split.
ASSISTANT: To make the `FileContentCompleter` split the file content into words based on \
non-alphanumeric characters, you can use the `re` module to split the content. Here's the change \
you need to make:

```python
aider/getinput.py
<<<<<<< ORIGINAL
            for word in content.split():
=======
            import re
            for word in re.split(r'\\W+', content):
>>>>>>> UPDATED
```

This change imports the `re` module and uses the `re.split()` function with the pattern `\\W+` \
to split the content into words based on non-alphanumeric characters.
"""
AIDER_3EC8EC5A7 = "fix: update FAQ token percentages and switch history model to gpt-5.5\n"

SASHA = "Sasha Varlamov <sasha@sashavarlamov.com>"
GITHUB_WEB = "GitHub <noreply@github.com>"
COPILOT_AGENT = "copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>"
DEVIN_AI = "Devin AI <158243242+devin-ai-integration[bot]@users.noreply.github.com>"
PAUL = "Paul Gauthier <paul@aider.chat>"
PAUL_AIDER = "Paul Gauthier (aider) <paul@aider.chat>"


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


REAL_COMMITS: list[tuple[str, Signals, str | None, str | None, set[str]]] = [
    (
        "git-ai 131df6d9a",
        commit(GIT_AI_131DF6D9A, SASHA, when=_dt("2026-05-22T18:57:05+00:00")),
        "claude_code",
        "assisted",
        {"C1"},
    ),
    (
        "git-ai bb4845504",
        commit(
            GIT_AI_BB4845504,
            "Claude <noreply@anthropic.com>",
            "Jean-Michel Bouchard <jim@polarcoordinates.org>",
            when=_dt("2026-07-27T18:20:23+00:00"),
        ),
        "claude_code",
        "agent",
        {"C1", "C3", "C3.body", "C4"},
    ),
    (
        "git-ai b4eed478a",
        commit(GIT_AI_B4EED478A, "Sanjog Gururaj <sanjog@workweave.ai>"),
        "cursor",
        "assisted",
        {"U1"},
    ),
    (
        "git-ai fcb4bdc82",
        commit(GIT_AI_FCB4BDC82, "peckfly <31184030+peckfly@users.noreply.github.com>"),
        "cursor",
        "assisted",
        {"U2"},
    ),
    (
        "git-ai 90553fa7d",
        commit(GIT_AI_90553FA7D, "Siddhant Khare <Siddhantkhare2694@gmail.com>"),
        "codex",
        "assisted",
        {"X1"},
    ),
    (
        "git-ai 2e4109519",
        commit(GIT_AI_2E4109519, COPILOT_AGENT),
        "copilot_agent",
        "agent",
        {"G1", "G6"},
    ),
    (
        "git-ai 92ccd900a",
        commit(GIT_AI_92CCD900A, COPILOT_AGENT),
        "copilot_agent",
        "agent",
        {"G1"},
    ),
    (
        "git-ai 9259bd4b0",
        commit(GIT_AI_9259BD4B0, DEVIN_AI),
        "devin",
        "agent",
        {"V1", "V1.committer"},
    ),
    (
        "git-ai ab5f84f18",
        commit(GIT_AI_AB5F84F18, "Anbu <anbu.thangarathinam@gmail.com>", GITHUB_WEB),
        "copilot_autofix",
        "assisted",
        {"G9"},
    ),
    (
        "git-ai a639adad7",
        commit(GIT_AI_A639ADAD7, SASHA, GITHUB_WEB),
        "devin",
        "assisted",
        {"V1.trailer"},
    ),
    (
        "git-ai d421e8b3b",
        commit(GIT_AI_D421E8B3B, "John Wiegley <johnw@newartisans.com>", GITHUB_WEB),
        "claude_code",
        "assisted",
        {"C2"},
    ),
    (
        "git-ai b8bbdb69c",
        commit(GIT_AI_B8BBDB69C, "Kevin Tang <kevin26428@gmail.com>"),
        "firebender",
        "assisted",
        {"FB1", "FB2"},
    ),
    (
        "git-ai 53356ebe0",
        commit(GIT_AI_53356EBE0, SASHA, GITHUB_WEB),
        "codex",
        "agent",
        {"X3", "X3.merge"},
    ),
    ("aider 308b1546a", commit(AIDER_308B1546A, PAUL), "aider", "assisted", {"D1"}),
    ("aider 14af218ea", commit(AIDER_14AF218EA, PAUL_AIDER), "aider", "assisted", {"D2", "D3"}),
    (
        "aider a87de4637",
        commit(AIDER_A87DE4637, "Paul Gauthier <paul@geomagical.com>"),
        "aider",
        "assisted",
        {"D4"},
    ),
    ("aider 3ec8ec5a7", commit(AIDER_3EC8EC5A7, PAUL, PAUL_AIDER), None, None, {"D3"}),
]


@pytest.mark.parametrize(
    ("signals", "tool", "mode", "expected_rules"),
    [pytest.param(*case[1:], id=case[0]) for case in REAL_COMMITS],
)
def test_real_commits(
    rules: RuleSet, signals: Signals, tool: str | None, mode: str | None, expected_rules: set[str]
) -> None:
    result = rules.attribute(signals)
    assert decision(result) == (tool, mode)
    assert expected_rules <= set(rule_ids(result))


def test_claude_session_trailer_is_parsed_from_the_trailer_block() -> None:
    assert parse_trailers(GIT_AI_BB4845504) == [
        ("Co-Authored-By", "Claude Fable 5 <noreply@anthropic.com>"),
        ("Claude-Session", "https://claude.ai/code/session_013Ri215L7Fjy9vg9wgKZ338"),
    ]


def test_role_inversion_agent_author_with_human_co_author_stays_agent(rules: RuleSet) -> None:
    for message, author in ((GIT_AI_92CCD900A, COPILOT_AGENT), (GIT_AI_9259BD4B0, DEVIN_AI)):
        result = rules.attribute(commit(message, author))
        assert result.mode == "agent"
        assert all(e.field != "trailer" for e in result.evidence)


def test_initial_plan_subject_needs_the_copilot_agent_author(rules: RuleSet) -> None:
    result = rules.attribute(commit("Initial plan\n", "Ada Lovelace <ada@example.com>"))
    assert result.evidence == ()


def test_aider_committer_only_is_recorded_but_does_not_attribute(rules: RuleSet) -> None:
    result = rules.attribute(commit(AIDER_3EC8EC5A7, PAUL, PAUL_AIDER))
    (evidence,) = result.evidence
    assert (evidence.rule_id, evidence.field, evidence.tool) == ("D3", "committer", "aider")
    assert evidence.confidence < rules.min_confidence
    assert result.confidence is None


def test_devin_review_badge_is_not_a_devin_session(rules: RuleSet) -> None:
    result = rules.attribute(commit(GIT_AI_D421E8B3B, "John <john@example.com>", GITHUB_WEB))
    assert "V2" not in rule_ids(result)
    assert {e.tool for e in result.evidence if e.confidence >= 0.5} == {"claude_code"}


# --------------------------------------------------------------------------- other tools


def test_devin_pull_request(rules: RuleSet) -> None:
    pr = Signals(
        subject="Speed up hook rebase path",
        body=(
            "Link to Devin run: https://app.devin.ai/sessions/0123456789abcdef0123456789abcdef\n"
            "Requested by: Sasha Varlamov (@svarlamov)\n"
        ),
        branch="devin/1771599590-hooks-rebase-perf",
        pr_author="devin-ai-integration[bot]",
        pr_author_type="Bot",
    )
    result = rules.attribute(pr)
    assert decision(result) == ("devin", "agent")
    assert {"V1.pr", "V2", "V3"} <= set(rule_ids(result))


def test_copilot_agent_pull_request(rules: RuleSet) -> None:
    pr = Signals(
        subject="Fix flaky login test",
        body="Fixes #12\n\n<!-- START COPILOT CODING AGENT SUFFIX -->\nThanks for assigning this.",
        branch="copilot/fix-12",
        pr_author="Copilot",
        pr_author_type="Bot",
    )
    result = rules.attribute(pr)
    assert decision(result) == ("copilot_agent", "agent")
    assert {"G1.pr", "G4", "G5"} <= set(rule_ids(result))


def test_human_accounts_named_like_bots_are_not_bots(rules: RuleSet) -> None:
    for login in ("Copilot", "claude", "dependabot"):
        result = rules.attribute(Signals(subject="Fix", pr_author=login, pr_author_type="User"))
        assert result.evidence == (), login


def test_jules_author(rules: RuleSet) -> None:
    author = "google-labs-jules[bot] <161369871+google-labs-jules[bot]@users.noreply.github.com>"
    result = rules.attribute(commit("Add retry to fetcher\n", author))
    assert decision(result) == ("jules", "agent")


def test_amp_thread_trailers(rules: RuleSet) -> None:
    message = (
        "Refactor settings loader\n\n"
        "Amp-Thread-ID: https://ampcode.com/threads/T-5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8\n"
        "Co-authored-by: Amp <amp@ampcode.com>\n"
    )
    result = rules.attribute(commit(message, "Jo <jo@example.com>"))
    assert decision(result) == ("amp", "assisted")
    assert set(rule_ids(result)) == {"M1", "M1.thread"}


def test_newer_amp_thread_trailer_alone(rules: RuleSet) -> None:
    message = (
        "Fix\n\nAmp-Thread: https://ampcode.com/threads/T-5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8\n"
    )
    assert rules.attribute(commit(message, "Jo <jo@example.com>")).tool == "amp"


def test_stacked_agents_keep_every_tool_as_evidence(rules: RuleSet) -> None:
    message = (
        "Add sandbox\n\n"
        "Co-authored-by: Codex <noreply@openai.com>\n"
        "Amp-Thread-ID: https://ampcode.com/threads/T-5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8\n"
        "Co-authored-by: Amp <amp@ampcode.com>\n"
    )
    result = rules.attribute(commit(message, "Jo <jo@example.com>"))
    assert {e.tool for e in result.evidence} == {"codex", "amp"}
    # Equal confidence and mode: catalogue order decides.
    assert decision(result) == ("codex", "assisted")


@pytest.mark.parametrize(
    ("value", "tool"),
    [
        ("Claude", "claude_code"),
        ("Claude:claude-3-opus coccinelle sparse", "claude_code"),
        ("GitHub Copilot", "copilot"),
        ("Cursor", "cursor"),
        ("GPT-4o", "declared"),
    ],
)
def test_assisted_by_maps_known_tool_names(rules: RuleSet, value: str, tool: str) -> None:
    message = f"mm: fix leak\n\nAssisted-by: {value}\nSigned-off-by: Jo <jo@example.com>\n"
    result = rules.attribute(commit(message, "Jo <jo@example.com>"))
    assert decision(result) == (tool, "assisted")
    assert rule_ids(result) == ["Z2"]


def test_replit_agent(rules: RuleSet) -> None:
    message = (
        "Published your App\n\n"
        "Replit-Commit-Author: Agent\n"
        "Replit-Commit-Session-Id: 3c1b9c7e-8f0a-4c55-9b1e-2f4d6a8b0c1d\n"
    )
    assert decision(rules.attribute(commit(message, "jo <jo@example.com>"))) == ("replit", "agent")


def test_opencode_and_openhands(rules: RuleSet) -> None:
    opencode = "Fix\n\n🤖 Generated with [OpenCode](https://opencode.ai)\n\nCo-Authored-By: opencode <noreply@opencode.ai>\n"
    assert decision(rules.attribute(commit(opencode, "Jo <jo@example.com>"))) == (
        "opencode",
        "assisted",
    )
    openhands = rules.attribute(
        Signals(subject="Fix #42", branch="openhands-fix-issue-42-try2", pr_author="jo")
    )
    assert decision(openhands) == ("openhands", "agent")


DEPENDABOT_MESSAGE = """\
Bump lodash from 4.17.20 to 4.17.21

Bumps [lodash](https://github.com/lodash/lodash) from 4.17.20 to 4.17.21.
- [Commits](https://github.com/lodash/lodash/compare/4.17.20...4.17.21)

---
updated-dependencies:
- dependency-name: lodash
  dependency-type: direct:production
...

Signed-off-by: dependabot[bot] <support@github.com>
"""


@pytest.mark.parametrize(
    ("author", "tool"),
    [
        ("dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>", "dependabot"),
        (
            "dependabot-preview[bot] <27856297+dependabot-preview[bot]@users.noreply.github.com>",
            "dependabot",
        ),
        ("renovate[bot] <29139614+renovate[bot]@users.noreply.github.com>", "renovate"),
        (
            "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
            "github_actions",
        ),
        (
            "pre-commit-ci[bot] <66853113+pre-commit-ci[bot]@users.noreply.github.com>",
            "pre_commit_ci",
        ),
        ("snyk-bot <snyk-bot@snyk.io>", "snyk"),
        ("mergify[bot] <37929162+mergify[bot]@users.noreply.github.com>", "mergify"),
        ("greenkeeper[bot] <23040076+greenkeeper[bot]@users.noreply.github.com>", "greenkeeper"),
        ("my-deployer[bot] <98765432+my-deployer[bot]@users.noreply.github.com>", "other_bot"),
    ],
)
def test_dependency_and_automation_bots(rules: RuleSet, author: str, tool: str) -> None:
    result = rules.attribute(commit(DEPENDABOT_MESSAGE, author, GITHUB_WEB))
    assert decision(result) == (tool, "bot")
    assert len(result.evidence) == 1


def test_merge_of_a_dependabot_branch_is_bot(rules: RuleSet) -> None:
    subject = "Merge pull request #77 from acme/dependabot/npm_and_yarn/lodash-4.17.21"
    result = rules.attribute(commit(subject + "\n", SASHA, GITHUB_WEB))
    assert decision(result) == ("dependabot", "bot")


def test_claude_action_bot_id_is_claude_not_github_actions(rules: RuleSet) -> None:
    author = "claude[bot] <41898282+claude[bot]@users.noreply.github.com>"
    message = "Fix typo in README\n\nCo-authored-by: jo <12345+jo@users.noreply.github.com>\n"
    result = rules.attribute(commit(message, author))
    assert decision(result) == ("claude_code", "agent")
    assert {e.tool for e in result.evidence} == {"claude_code"}


@pytest.mark.parametrize(
    ("author", "tool"),
    [
        ("coderabbitai[bot] <136622811+coderabbitai[bot]@users.noreply.github.com>", "coderabbit"),
        ("cursor[bot] <206951365+cursor[bot]@users.noreply.github.com>", "cursor"),
        (
            "gemini-code-assist[bot] <176961590+gemini-code-assist[bot]@users.noreply.github.com>",
            "gemini_code_assist",
        ),
    ],
)
def test_review_bots_as_author(rules: RuleSet, author: str, tool: str) -> None:
    result = rules.attribute(commit("📝 Add docstrings to `main`\n", author))
    assert decision(result) == (tool, "review")
    assert [e.rule_id for e in result.evidence] == ["RV1"]


def test_review_bot_as_pr_author(rules: RuleSet) -> None:
    pr = Signals(subject="📝 Add docstrings", pr_author="coderabbitai[bot]")
    assert decision(rules.attribute(pr)) == ("coderabbit", "review")


def test_known_ai_bot_without_a_specific_rule(rules: RuleSet) -> None:
    author = "openai-codex[bot] <215057067+openai-codex[bot]@users.noreply.github.com>"
    result = rules.attribute(commit("Apply task\n", author))
    assert decision(result) == ("codex", "agent")
    assert rule_ids(result) == ["B1"]


def test_pr_label(rules: RuleSet) -> None:
    pr = Signals(subject="Tidy", pr_author="jo", labels=["claude-code-assisted", "docs"])
    assert decision(rules.attribute(pr)) == ("claude_code", "assisted")


# --------------------------------------------------------------------------- negatives


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param(
            commit("Fix parser\n", "Claude Dubois <claude.dubois@example.com>"), id="human-claude"
        ),
        pytest.param(
            commit("Fix\n\nCo-authored-by: Claude Martin <cmartin@example.com>\n", SASHA),
            id="co-author-claude-martin",
        ),
        pytest.param(
            commit(
                "Document trailers\n\nClaude Code adds this line:\n"
                "Co-Authored-By: Claude <noreply@anthropic.com>\n"
                "when it commits.\nWe strip it in CI.\n\n"
                "More prose in a final paragraph.\n",
                SASHA,
            ),
            id="quoted-in-body",
        ),
        pytest.param(
            commit("Fix\n", "alice <12345+alice@users.noreply.github.com>"), id="human-noreply"
        ),
        pytest.param(
            commit("Fix cursor position after paste\n", "Jo <jo@example.com>"), id="cursor-word"
        ),
        pytest.param(
            commit("Fix\n", "claude <81847+claude@users.noreply.github.com>"),
            id="human-login-claude",
        ),
        pytest.param(Signals(subject="Fix", branch="cursor/fix-blink"), id="cursor-word-branch"),
    ],
)
def test_must_not_attribute(rules: RuleSet, signals: Signals) -> None:
    result = rules.attribute(signals)
    assert result.tool is None
    assert result.mode is None
    assert result.confidence is None
    assert all(e.confidence < rules.min_confidence for e in result.evidence)


def test_name_only_co_author_is_low_confidence_evidence(rules: RuleSet) -> None:
    result = rules.attribute(commit("Fix\n\nCo-authored-by: Claude\n", SASHA))
    (evidence,) = result.evidence
    assert (evidence.rule_id, evidence.tool) == ("L1", "claude_code")
    assert evidence.confidence < 0.5


def test_mention_is_suppressed_when_the_tool_is_already_evidenced(rules: RuleSet) -> None:
    result = rules.attribute(commit(GIT_AI_131DF6D9A, SASHA))
    # The body mentions Cursor and Claude; only the Cursor mention stays as a weak signal.
    assert {(e.rule_id, e.tool) for e in result.evidence} == {
        ("C1", "claude_code"),
        ("L2", "cursor"),
        ("L2.body", "cursor"),
    }


def test_plain_commit_has_no_evidence(rules: RuleSet) -> None:
    result = rules.attribute(commit("Refactor the scheduler\n\nSplit queue handling.\n", SASHA))
    assert result == Attribution(None, None, None, ())


# --------------------------------------------------------------------------- time window


@pytest.mark.parametrize(
    ("when", "tool", "confidence"),
    [
        (None, "copilot", 0.75),
        (datetime(2026, 3, 31, 23, 0, tzinfo=UTC), "copilot", 0.75),
        (datetime(2026, 4, 15, 12, 0, tzinfo=UTC), None, 0.4),
        (datetime(2026, 5, 31, 23, 59), None, 0.4),
        # 2026-03-31 22:30 at UTC-05:00 is 2026-04-01 03:30 UTC.
        (datetime(2026, 3, 31, 22, 30, tzinfo=timezone(timedelta(hours=-5))), None, 0.4),
        (datetime(2026, 6, 1, 0, 0, tzinfo=UTC), "copilot", 0.75),
    ],
)
def test_vscode_copilot_trailer_is_down_weighted_in_the_false_positive_window(
    rules: RuleSet, when: datetime | None, tool: str | None, confidence: float
) -> None:
    message = "Fix\n\nCo-authored-by: Copilot <copilot@github.com>\n"
    result = rules.attribute(commit(message, SASHA, when=when))
    assert result.tool == tool
    assert [(e.rule_id, e.confidence) for e in result.evidence] == [("G8", confidence)]


# --------------------------------------------------------------------------- decision rules


def test_min_confidence_threshold() -> None:
    signals = commit(GIT_AI_AB5F84F18, SASHA, GITHUB_WEB)
    strict = RuleSet.load(min_confidence=0.8).attribute(signals)
    assert strict.tool is None
    assert rule_ids(strict) == ["G9"]
    assert RuleSet.load(min_confidence=0.75).attribute(signals).tool == "copilot_autofix"
    lenient = RuleSet.load(min_confidence=0.25)
    assert lenient.attribute(commit("Fix\n\nCo-authored-by: Claude\n", SASHA)).tool == "claude_code"


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_min_confidence_must_be_a_probability(bad: float) -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        RuleSet.load(min_confidence=bad)


def test_agent_wins_a_confidence_tie(rules: RuleSet) -> None:
    message = (
        "Add retries (#12)\n\n"
        "Co-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>\n"
        "Co-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>\n"
    )
    result = rules.attribute(commit(message, SASHA))
    assert decision(result) == ("copilot_agent", "agent")
    assert [e.rule_id for e in result.evidence] == ["G2", "C1"]


def test_evidence_order_is_deterministic(rules: RuleSet) -> None:
    trailers = [
        ("Co-authored-by", "Cursor <cursoragent@cursor.com>"),
        ("Made-with", "Cursor"),
        ("Co-authored-by", "Codex <noreply@openai.com>"),
        ("Co-authored-by", "Gemini <gemini@example.com>"),
        ("Assisted-by", "Claude"),
        ("Co-authored-by", "Copilot <copilot@github.com>"),
    ]
    base = Signals(
        subject="Initial plan",
        body="🤖 Generated with [Claude Code](https://claude.com/claude-code)\n",
        trailers=trailers,
        authors=(COPILOT_AGENT, "Copilot <198982749+Copilot@users.noreply.github.com>"),
        committers=(PAUL_AIDER,),
        branch="copilot/fix-1",
        when=datetime(2026, 7, 1, tzinfo=UTC),
    )
    expected = rules.attribute(base)
    shuffler = random.Random(7)
    for _ in range(20):
        shuffled = replace(
            base,
            trailers=shuffler.sample(trailers, len(trailers)),
            authors=tuple(shuffler.sample(list(base.authors), 2)),
        )
        assert rules.attribute(shuffled) == expected
    confidences = [e.confidence for e in expected.evidence]
    assert confidences == sorted(confidences, reverse=True)
    assert expected.evidence[0].mode == "agent"
    assert decision(expected) == ("copilot_agent", "agent")


def test_raw_and_mailmapped_identities_are_both_matched_and_deduplicated(rules: RuleSet) -> None:
    mapped_away = commit(GIT_AI_9259BD4B0, DEVIN_AI, mailmapped=(SASHA,))
    assert decision(rules.attribute(mapped_away)) == ("devin", "agent")
    duplicate = commit(GIT_AI_9259BD4B0, DEVIN_AI, mailmapped=(DEVIN_AI,))
    assert rule_ids(rules.attribute(duplicate)).count("V1") == 1


def test_body_evidence_keeps_only_the_marker(rules: RuleSet) -> None:
    secret = "internal detail " * 40
    body = f"{secret}\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n{secret}"
    (evidence,) = rules.attribute(Signals(subject="Fix", body=body)).evidence
    assert evidence.matched == "🤖 Generated with [Claude Code](https://claude.com/claude-code)"


def test_matched_value_is_truncated(rules: RuleSet) -> None:
    long_value = "Claude " + "x" * 400 + " <noreply@anthropic.com>"
    (evidence,) = rules.attribute(Signals(trailers=[("Co-authored-by", long_value)])).evidence
    assert len(evidence.matched) == 200
    assert evidence.matched.startswith("Co-authored-by: Claude x")


def test_pr_only_fields_need_pr_signals() -> None:
    custom = [
        {
            "id": "acme.pr",
            "field": "pr_body",
            "pattern": "^ACME-AI: yes$",
            "tool": "acme_ai",
            "mode": "agent",
            "confidence": 0.9,
        },
        {
            "id": "acme.title",
            "field": "pr_title",
            "pattern": r"^\[bot\] ",
            "tool": "acme_ai",
            "mode": "agent",
            "confidence": 0.8,
        },
    ]
    rule_set = RuleSet.load(custom_rules=custom)
    as_commit = Signals(subject="[bot] bump", body="ACME-AI: yes")
    assert rule_set.attribute(as_commit).evidence == ()
    as_pr = replace(as_commit, pr_author="jo", pr_author_type="User")
    assert rule_ids(rule_set.attribute(as_pr)) == ["acme.pr", "acme.title"]


# --------------------------------------------------------------------------- catalogue

TABLE_ROWS = (
    [f"C{i}" for i in range(1, 8)]
    + [f"G{i}" for i in range(1, 10)]
    + [f"U{i}" for i in range(1, 6)]
    + [f"D{i}" for i in range(1, 5)]
    + ["X1", "X2", "X3", "V1", "V2", "V3", "J1", "N1", "N2", "O1", "O2", "M1", "F1r", "Q1"]
    + ["B1", "R1", "Z1", "Z2", "Z3", "L1", "L2", "L3"]
)


def _catalogue() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


def test_catalogue_version(rules: RuleSet) -> None:
    assert _catalogue()["version"] == CATALOGUE_VERSION
    assert rules.version == CATALOGUE_VERSION


def test_catalogue_covers_every_reference_row(rules: RuleSet) -> None:
    ids = {rule.id for rule in rules.rules}
    assert sorted(set(TABLE_ROWS) - ids) == []


def test_catalogue_covers_bonus_tools_bots_and_review_bots(rules: RuleSet) -> None:
    tools = {rule.tool for rule in rules.rules}
    tools |= {tool for rule in rules.rules for _, tool in rule.tool_map}
    expected = {
        "claude_code", "copilot_agent", "copilot", "copilot_cli", "copilot_autofix", "cursor",
        "aider", "codex", "devin", "jules", "junie", "openhands", "amp", "factory", "amazon_q",
        "replit", "opencode", "firebender", "declared", "dependabot", "renovate",
        "github_actions", "pre_commit_ci", "snyk", "mergify", "greenkeeper", "other_bot",
        "coderabbit", "gemini_code_assist",
    }  # fmt: skip
    assert expected <= tools
    modes = {rule.mode for rule in rules.rules}
    assert modes == {"agent", "assisted", "review", "bot"}


def test_every_catalogue_rule_is_documented_and_has_examples(rules: RuleSet) -> None:
    for rule in rules.rules:
        assert rule.description and rule.source, rule.id
        assert rule.examples, rule.id
        assert 0 <= rule.confidence <= 1, rule.id
        assert rule.field in FIELDS, rule.id


def test_fallback_bot_rule_is_weaker_than_every_attributing_ai_rule(rules: RuleSet) -> None:
    generic = next(rule for rule in rules.rules if rule.id == "BOT.generic")
    attributing_ai = [
        rule.confidence
        for rule in rules.rules
        if rule.mode in ("agent", "assisted") and rule.confidence >= rules.min_confidence
    ]
    assert generic.confidence < min(attributing_ai)


CATALOGUE_RULES: list[Rule] = list(RuleSet.load().rules)


@pytest.mark.parametrize("rule", CATALOGUE_RULES, ids=lambda rule: rule.id)
def test_rule_examples_and_counterexamples(rule: Rule) -> None:
    for example in rule.examples:
        assert rule.pattern.search(example), example
    for counterexample in rule.counterexamples:
        assert not rule.pattern.search(counterexample), counterexample


def _signals_for(rule: Rule, value: str) -> dict[str, Any]:
    field = rule.field
    if field == "trailer":
        trailers = parse_trailers(f"Subject\n\n{value}")
        assert trailers, f"{rule.id}: example {value!r} is not a trailer line"
        return {"trailers": trailers}
    if field in ("author", "committer"):
        return {f"{field}s": (value,)}
    if field == "label":
        return {"labels": (value,), "pr_author": "someone"}
    if field == "pr_author":
        return {"pr_author": value, "pr_author_type": rule.author_type}
    if field in ("pr_body", "pr_title"):
        return {field.removeprefix("pr_").replace("title", "subject"): value, "pr_author": "jo"}
    return {field: value}


EXAMPLES = [(rule, example) for rule in CATALOGUE_RULES for example in rule.examples]


@pytest.mark.parametrize(
    ("rule", "example"),
    EXAMPLES,
    ids=[f"{rule.id}:{i}" for i, (rule, _) in enumerate(EXAMPLES)],
)
def test_rule_examples_produce_evidence_end_to_end(
    rules: RuleSet, rule: Rule, example: str
) -> None:
    fields = _signals_for(rule, example)
    by_id = {r.id: r for r in rules.rules}
    for required in rule.requires:
        required_rule = by_id[required]
        fields.update(_signals_for(required_rule, required_rule.examples[0]))
    result = rules.attribute(Signals(**fields))
    assert rule.id in rule_ids(result)


# --------------------------------------------------------------------------- custom rules

ACME = {
    "id": "acme.ci",
    "field": "author",
    "pattern": r"<ci@acme\.example>$",
    "tool": "acme_ci",
    "mode": "bot",
    "confidence": 0.9,
    "description": "ACME release robot",
    "examples": ["Release Robot <ci@acme.example>"],
}


def test_custom_rule_is_added_and_changes_the_version() -> None:
    rule_set = RuleSet.load(custom_rules=[ACME])
    result = rule_set.attribute(commit("Release 1.2.3\n", "Release Robot <ci@acme.example>"))
    assert decision(result) == ("acme_ci", "bot")
    assert re.fullmatch(rf"{re.escape(CATALOGUE_VERSION)}\+custom\.[0-9a-f]{{8}}", rule_set.version)
    custom_rule = rule_set.rules[-1]
    assert custom_rule.custom and custom_rule.source == "custom"


def test_custom_version_is_stable_and_sensitive() -> None:
    first = RuleSet.load(custom_rules=[ACME], disabled=["L2", "L3"]).version
    assert RuleSet.load(custom_rules=[dict(ACME)], disabled=["L3", "L2"]).version == first
    changed = RuleSet.load(custom_rules=[{**ACME, "confidence": 0.8}], disabled=["L2", "L3"])
    assert changed.version != first
    assert RuleSet.load(disabled=["L2"]).version.startswith(f"{CATALOGUE_VERSION}+custom.")
    assert RuleSet.load(custom_rules=[], disabled=[]).version == CATALOGUE_VERSION


def test_disabled_rule_no_longer_matches() -> None:
    rule_set = RuleSet.load(disabled=["C1"])
    assert "C1" not in {rule.id for rule in rule_set.rules}
    assert rule_set.attribute(commit(GIT_AI_131DF6D9A, SASHA)).tool is None


def test_custom_rule_id_clash() -> None:
    with pytest.raises(RuleError, match=r"'C1'.*clashes"):
        RuleSet.load(custom_rules=[{**ACME, "id": "C1"}])


def test_duplicate_custom_ids() -> None:
    with pytest.raises(RuleError, match=r"'acme\.ci'.*duplicate"):
        RuleSet.load(custom_rules=[ACME, ACME])


def test_disabling_an_unknown_rule() -> None:
    with pytest.raises(RuleError, match="'NOPE'"):
        RuleSet.load(disabled=["NOPE"])


def test_disabling_a_required_rule_names_the_dependent_rule() -> None:
    with pytest.raises(RuleError, match=r"'G6'.*'G1'"):
        RuleSet.load(disabled=["G1"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pattern": "([unclosed"}, "not a valid regular expression"),
        ({"pattern": ""}, "pattern must be a non-empty string"),
        ({"field": "diff"}, "unknown field 'diff'"),
        ({"mode": "magic"}, "unknown mode 'magic'"),
        ({"confidence": 1.5}, "confidence 1.5"),
        ({"confidence": -0.1}, "confidence -0.1"),
        ({"confidence": True}, "confidence True"),
        ({"confidence": "high"}, "confidence 'high'"),
        ({"tool": "ACME CI"}, "snake_case"),
        ({"colour": "red"}, "unknown key"),
        ({"examples": ["Someone <someone@example.com>"]}, "does not match its example"),
        ({"counterexamples": ["Release Robot <ci@acme.example>"]}, "matches its counterexample"),
        ({"requires": ["missing"]}, "requires rule 'missing'"),
        ({"requires": ["acme.ci"]}, "cannot require itself"),
        ({"fallback": "yes"}, "'fallback'"),
        ({"author_type": "Bot"}, "author_type"),
        ({"window": {"from": "2026-05-01", "to": "2026-04-01", "confidence": 0.1}}, "after"),
        ({"window": {"from": "someday", "to": "2026-04-01", "confidence": 0.1}}, "ISO date"),
        ({"window": {"from": "2026-04-01", "to": "2026-05-01", "confidence": 2}}, "window"),
        ({"tool_map": [{"pattern": "x"}]}, "tool_map"),
        ({"tool_map": [{"pattern": "(", "tool": "x"}]}, "tool_map pattern"),
    ],
)
def test_invalid_custom_rule_names_the_rule(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=re.escape(message)) as raised:
        RuleSet.load(custom_rules=[{**ACME, **change}])
    assert "'acme.ci'" in str(raised.value)


def test_missing_required_key_names_the_rule() -> None:
    broken = {key: value for key, value in ACME.items() if key != "tool"}
    with pytest.raises(RuleError, match=r"'acme.ci'.*missing required key\(s\) 'tool'"):
        RuleSet.load(custom_rules=[broken])


def test_invalid_rule_id() -> None:
    with pytest.raises(RuleError, match="'id'"):
        RuleSet.load(custom_rules=[{**ACME, "id": "has space"}])


def test_custom_rule_with_window_requires_and_tool_map() -> None:
    custom = [
        {
            "id": "acme.ticket",
            "field": "subject",
            "pattern": r"^\[ai\] \w+",
            "requires": ["acme.ci"],
            "tool": "declared",
            "tool_map": [{"pattern": "claude", "tool": "claude_code"}],
            "mode": "assisted",
            "confidence": 0.7,
            "window": {"from": "2026-01-01", "to": "2026-01-31", "confidence": 0.1},
        },
        ACME,
    ]
    rule_set = RuleSet.load(custom_rules=custom)
    signals = commit("[ai] claude fixed it\n", "Release Robot <ci@acme.example>")
    result = rule_set.attribute(signals)
    assert ("acme.ticket", "claude_code", 0.7) in {
        (e.rule_id, e.tool, e.confidence) for e in result.evidence
    }
    in_window = rule_set.attribute(replace(signals, when=datetime(2026, 1, 10, tzinfo=UTC)))
    assert ("acme.ticket", 0.1) in {(e.rule_id, e.confidence) for e in in_window.evidence}
    without_author = rule_set.attribute(commit("[ai] claude fixed it\n", SASHA))
    assert "acme.ticket" not in rule_ids(without_author)


def test_load_from_another_catalogue_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        yaml.safe_dump({"version": "test.1", "rules": [{**ACME, "source": "test"}]}),
        encoding="utf-8",
    )
    rule_set = RuleSet.load(path=path)
    assert rule_set.version == "test.1"
    assert [rule.id for rule in rule_set.rules] == ["acme.ci"]
    assert not rule_set.rules[0].custom


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("rules: []\n", "'version' and 'rules'"),
        ("version: x\nrules: {a: 1}\n", "list of mappings"),
        ("version: [unclosed\n", "not valid YAML"),
        (
            "version: x\nrules:\n  - {id: a, field: body, pattern: x, tool: t, mode: bot, confidence: 1}\n",
            "'description'",
        ),
    ],
)
def test_broken_catalogue_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RuleError, match=re.escape(message)):
        RuleSet.load(path=path)


def test_custom_patterns_with_backrefs_flags_or_no_literal_still_match() -> None:
    custom = [
        {
            **ACME,
            "id": "acme.backref",
            "pattern": r"(\w+)-\1@acme",
            "examples": ["Bo <bo-bo@acme>"],
        },
        {**ACME, "id": "acme.flags", "pattern": r"(?x) ci \s+ bot", "examples": ["ci bot <x@y>"]},
        {**ACME, "id": "acme.class", "pattern": r"\d{3}", "examples": ["X <123@y>"]},
    ]
    rule_set = RuleSet.load(custom_rules=custom)
    assert _required_literals(rule_set.rules[-1].pattern) is None
    for rule in rule_set.rules[-3:]:
        result = rule_set.attribute(Signals(authors=rule.examples))
        assert rule.id in rule_ids(result)


# --------------------------------------------------------------------------- prefilter

_FRAGMENTS = [fragment for rule in CATALOGUE_RULES for fragment in rule.examples]
_NOISE = st.sampled_from(["İ", "ı", "ſ", "K", "ß", " ", "\n", "x", "é", "🤖", "<", ">", ":"])


@st.composite
def _mutated_example(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_FRAGMENTS))
    chars = list(text)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(chars)))
        chars.insert(position, draw(_NOISE))
    text = "".join(chars)
    swap = draw(st.sampled_from(["keep", "upper", "title", "dotted", "dotless", "long-s"]))
    if swap == "upper":
        text = text.upper()
    elif swap == "title":
        text = text.title()
    elif swap == "dotted":
        text = text.replace("I", "İ")
    elif swap == "dotless":
        text = text.replace("i", "ı")
    elif swap == "long-s":
        text = text.replace("s", "ſ")
    return text


@settings(max_examples=300, deadline=None)
@given(text=_mutated_example())
def test_literal_prefilter_never_hides_a_match(text: str) -> None:
    folded = _fold(text)
    for rule in CATALOGUE_RULES:
        literals = _required_literals(rule.pattern)
        if literals is not None and rule.pattern.search(text):
            assert any(literal in folded for literal in literals), (rule.id, text)


# --------------------------------------------------------------------------- trailers


def test_parse_trailers_crlf() -> None:
    message = (
        "Fix\r\n\r\nBody line\r\n\r\n"
        "Co-authored-by: Ann <ann@example.com>\r\nSigned-off-by: Bo <bo@example.com>\r\n"
    )
    assert parse_trailers(message) == [
        ("Co-authored-by", "Ann <ann@example.com>"),
        ("Signed-off-by", "Bo <bo@example.com>"),
    ]


def test_parse_trailers_continuation_lines_are_unfolded() -> None:
    message = "Fix\n\nReviewed-by: Ann\n  <ann@example.com>\n\tand team\nAcked-by: Bo\n"
    assert parse_trailers(message) == [
        ("Reviewed-by", "Ann <ann@example.com> and team"),
        ("Acked-by", "Bo"),
    ]


def test_parse_trailers_cherry_pick_line_is_allowed_but_not_returned() -> None:
    message = (
        "Fix\n\nBody.\n\nSigned-off-by: Ann <ann@example.com>\n"
        "(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n"
    )
    assert parse_trailers(message) == [("Signed-off-by", "Ann <ann@example.com>")]


def test_parse_trailers_25_percent_rule() -> None:
    three_prose = "Fix\n\nThis is prose.\nMore prose.\nEven more.\nSigned-off-by: Ann <a@x>\n"
    assert parse_trailers(three_prose) == [("Signed-off-by", "Ann <a@x>")]
    four_prose = "Fix\n\nOne.\nTwo.\nThree.\nFour.\nSigned-off-by: Ann <a@x>\n"
    assert parse_trailers(four_prose) == []
    unknown_key = "Fix\n\nSome prose here.\nFoo: bar\n"
    assert parse_trailers(unknown_key) == []
    all_unknown = "Fix\n\nFoo: bar\nBaz-Qux: 1\n"
    assert parse_trailers(all_unknown) == [("Foo", "bar"), ("Baz-Qux", "1")]
    # An indented line that follows no trailer counts against the block.
    assert parse_trailers("Fix\n\n  indented\nFoo: bar\n") == []
    assert parse_trailers("Fix\n\n  indented\nSigned-off-by: A\n") == [("Signed-off-by", "A")]
    prose_then_indented = "Fix\n\nprose\n  indented\nFoo: bar\n"
    assert parse_trailers(prose_then_indented) == []


def test_parse_trailers_subject_only_and_first_paragraph() -> None:
    assert parse_trailers("Co-Authored-By: Claude <noreply@anthropic.com>") == []
    assert parse_trailers("Co-Authored-By: Claude <noreply@anthropic.com>\n\n") == []
    assert parse_trailers("Fix thing\nCo-authored-by: Ann <a@x>\n") == []
    assert parse_trailers("") == []
    assert parse_trailers("\n\n\n") == []


def test_parse_trailers_message_that_is_only_trailers_after_the_subject() -> None:
    assert parse_trailers("Fix\n\nCo-authored-by: Ann <a@x>") == [("Co-authored-by", "Ann <a@x>")]
    assert parse_trailers("\n\nFix\n\nMade-with: Cursor\n\n\n") == [("Made-with", "Cursor")]


def test_parse_trailers_quoted_trailer_in_the_middle_is_ignored() -> None:
    message = (
        "Docs\n\nExample:\nCo-Authored-By: Claude <noreply@anthropic.com>\n\n"
        "That is all there is to it, really.\n"
    )
    assert parse_trailers(message) == []


def test_parse_trailers_git_details() -> None:
    # Blank before the separator is allowed, and comment lines are skipped, as in git.
    assert parse_trailers("Fix\n\nKey : value\n# note\nOther:x\n") == [
        ("Key", "value"),
        ("Other", "x"),
    ]
    # A line with a space inside the key is not a trailer.
    assert parse_trailers("Fix\n\nNot A Key: value\n") == []
    # The trailer key keeps its spelling.
    assert parse_trailers("Fix\n\nCO-AUTHORED-BY: Ann <a@x>\n") == [("CO-AUTHORED-BY", "Ann <a@x>")]


def test_parse_trailers_skips_comment_lines_like_git() -> None:
    assert parse_trailers(AIDER_A87DE4637) == []
    # With "# Context:" skipped, a last paragraph of "KEY: text" lines is a trailer block.
    message = "aider: x\n\n# Context:\nUSER: do it\nASSISTANT: done\n"
    assert parse_trailers(message) == [("USER", "do it"), ("ASSISTANT", "done")]


_KEYS = ["Co-authored-by", "Signed-off-by", "Made-with", "X-Tag", "Claude-Session", "Foo"]
_rest_line = st.one_of(
    st.text(max_size=25),
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(_KEYS), st.text(max_size=15)),
    st.sampled_from(["", " ", "  continued", "(cherry picked from commit abc)", "# c", "\r"]),
)
_first_line = st.one_of(
    st.builds(lambda v: f"First-Para-Key: {v}", st.text(alphabet="abc <>@.", max_size=10)),
    st.text(max_size=25).filter(
        lambda s: s.strip(" \t\n\v\f\r") != "" and not set(s) & {"\n", "\r"}
    ),
)


@settings(max_examples=400)
@given(
    first=st.lists(_first_line, min_size=1, max_size=5),
    rest=st.lists(_rest_line, max_size=10),
    separator=st.sampled_from(["\n\n", "\r\n\r\n", "\n \n", ""]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_parse_trailers_property(
    first: list[str], rest: list[str], separator: str, newline: str
) -> None:
    message = newline.join(first) + (separator + newline.join(rest) if separator else "")
    trailers = parse_trailers(message)
    assert all(key != "First-Para-Key" for key, _ in trailers)
    if not separator:
        assert trailers == []
    for key, value in trailers:
        assert re.fullmatch(r"[A-Za-z0-9-]+", key)
        assert "\n" not in value


@given(st.text())
def test_parse_trailers_never_raises(message: str) -> None:
    assert isinstance(parse_trailers(message), list)


# --------------------------------------------------------------------------- helpers


def test_split_message() -> None:
    assert split_message("  Fix thing  \r\n\r\nBody\r\nmore\r\n") == ("Fix thing", "\nBody\nmore\n")
    assert split_message("Only subject") == ("Only subject", "")
    assert split_message("") == ("", "")


@pytest.mark.parametrize(
    ("subject", "branch"),
    [
        ("Merge pull request #12 from acme/codex/fix-x", "codex/fix-x"),
        (
            "Merge pull request #1989 from git-ai-project/codex/fix-pull-rebase-target-note",
            "codex/fix-pull-rebase-target-note",
        ),
        ("Merge branch 'x' into 'main'", "x"),
        ("Merge branch 'devin/1771599590-hooks' into 'main'", "devin/1771599590-hooks"),
        ("Merged in feature/login (pull request #7)", "feature/login"),
        ("Fix merge of pull requests", None),
        ("Merge pull request #12", None),
        ("", None),
    ],
)
def test_branch_from_merge_subject(subject: str, branch: str | None) -> None:
    assert branch_from_merge_subject(subject) == branch


# --------------------------------------------------------------------------- pull requests


def test_pr_attribution_is_the_union_of_its_own_and_its_commits_signals() -> None:
    rules = RuleSet.load()
    pr = Signals(
        subject="Fix login", branch="feature/login", pr_author="alice", pr_author_type="User"
    )
    human = ("a" * 40, Signals(subject="wip", authors=("Alice <alice@acme.example>",)))
    assisted = (
        "b" * 40,
        Signals(subject="tests", trailers=[("Co-authored-by", "Claude <noreply@anthropic.com>")],
                authors=("Alice <alice@acme.example>",)),
    )  # fmt: skip
    alone = rules.attribute_pr(pr, [human])
    assert (alone.tool, alone.mode, alone.evidence) == (None, None, ())
    both = rules.attribute_pr(pr, [human, assisted])
    assert (both.tool, both.mode) == ("claude_code", "assisted")
    assert [(e.field, v) for e, v in zip(both.evidence, both.via, strict=True)] == [
        ("trailer", "b" * 40)
    ]


def test_pr_agent_author_outranks_a_commit_marker_and_keeps_its_origin() -> None:
    rules = RuleSet.load()
    pr = Signals(
        subject="Add retries",
        branch="copilot/add-retries",
        pr_author="copilot-swe-agent",
        pr_author_type="Bot",
    )
    commit = (
        "c" * 40,
        Signals(
            subject="Initial plan",
            authors=("copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",),
        ),
    )
    result = rules.attribute_pr(pr, [commit])
    assert (result.tool, result.mode) == ("copilot_agent", "agent")
    origins = {e.field: v for e, v in zip(result.evidence, result.via, strict=True)}
    assert origins["pr_author"] is None and origins["branch"] is None


@pytest.mark.parametrize(
    ("login", "kind", "mode"),
    [("coderabbitai[bot]", "Bot", "review"), ("dependabot[bot]", "Bot", "bot"), ("renovate[bot]", "Bot", "bot"),
     ("copilot-swe-agent", "Bot", "agent"), ("claude", "User", None), ("alice", "User", None)],
)  # fmt: skip
def test_accounts_are_classified_by_the_pr_author_rules(
    login: str, kind: str, mode: str | None
) -> None:
    assert RuleSet.load().classify_account(login, kind).mode == mode
