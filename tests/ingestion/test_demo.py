"""The synthetic demo organisation: determinism, realistic git history and vendor-shaped exports."""

import csv
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2
import pytest
from pygit2.enums import SortMode

from ingestion.demo import DemoManifest, build_demo

# Exact identities and trailers of AI tools (shared/reference/ai-signals.md §1.1), matched on
# emails, ids and URLs, never on display names.
AI_MARKERS = re.compile(
    r"<noreply@anthropic\.com>|198982749\+Copilot@|223556219\+Copilot@|<cursoragent@cursor\.com>"
    r"|^Made-with: Cursor$|<aider@aider\.chat>|<noreply@openai\.com>"
    r"|158243242\+devin-ai-integration\[bot\]@|^Claude-Session: https://claude\.ai/code/session_",
    re.MULTILINE,
)
BOT_EMAILS = ("dependabot[bot]@", "renovate[bot]@", "github-actions[bot]@")
TICKET = re.compile(r"\b(PAY|WEB|MOB)-(\d+)\b", re.IGNORECASE)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return build_demo(tmp_path_factory.mktemp("demo") / "org")


def _repo(manifest: DemoManifest, name: str) -> pygit2.Repository:
    return pygit2.Repository(str(next(p for p in manifest.repos if p.name == f"{name}.git")))


def _main(repo: pygit2.Repository) -> list[pygit2.Commit]:
    return list(repo.walk(repo.references["refs/heads/main"].target, SortMode.TIME))


def _everything(repo: pygit2.Repository) -> list[pygit2.Commit]:
    """Commits reachable from any branch, tag or ``refs/pull/*`` head, each once."""
    walker = repo.walk(repo.head.target, SortMode.TIME)
    for name in repo.references:
        if name.startswith(("refs/heads/", "refs/pull/", "refs/tags/")):
            walker.push(repo.references[name].peel(pygit2.Commit).id)
    return list(walker)


def _json(manifest: DemoManifest, *parts: str) -> Any:
    base = manifest.jira_dir if parts[0] == "jira" else manifest.github_dir
    return json.loads(base.joinpath(*parts[1:]).read_text(encoding="utf-8"))


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _is_ai(commit: pygit2.Commit) -> bool:
    return bool(
        AI_MARKERS.search(f"{commit.author.name} <{commit.author.email}>\n{commit.message}")
    )


def _team_of_repo(manifest: DemoManifest, repo_name: str) -> str:
    return {"payments-api": "Payments", "web-app": "Web", "mobile-app": "Mobile"}[repo_name]


def _rollout(manifest: DemoManifest, repo_name: str) -> datetime:
    team = next(t for t in manifest.teams if t.name == _team_of_repo(manifest, repo_name))
    return datetime.combine(team.rollout_date, datetime.min.time(), tzinfo=UTC)


def _numstat(old: pygit2.Tree, new: pygit2.Tree) -> dict[str, tuple[int, int]]:
    stats = {}
    for patch in old.diff_to_tree(new):
        assert patch is not None
        _, added, deleted = patch.line_stats
        stats[patch.delta.new_file.path or patch.delta.old_file.path] = (added, deleted)
    return stats


def _blob(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


def _refs(repo_dir: Path) -> dict[str, str]:
    repo = pygit2.Repository(str(repo_dir))
    return {name: str(repo.references[name].target) for name in repo.references}


def _tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# -- the organisation -------------------------------------------------------------------------


def test_organisation_has_three_teams_of_real_people(demo: DemoManifest) -> None:
    assert len(demo.repos) >= 3
    assert all((p / "HEAD").exists() for p in demo.repos)
    assert len(demo.people) >= 10
    assert len(demo.teams) == 3
    assert all(len(t.members) >= 4 for t in demo.teams)
    names = {p.name for p in demo.people}
    assert "Claude Moreau" in names
    assert any(n.startswith("Devin ") for n in names)
    for person in demo.people:
        assert person.emails[0].endswith("@acme-robotics.com")
        assert person.jira_account_id and person.github_login
    assert sum(1 for p in demo.people if len(p.emails) > 1) >= 3
    for team in demo.teams:
        months_in = (team.rollout_date - demo.start).days / 30.4
        assert 4 <= months_in <= 8.5, (team.name, team.rollout_date)
    assert len({t.rollout_date for t in demo.teams}) == 3
    assert demo.first_sprint_start.weekday() == 0 and demo.first_sprint_start <= demo.start


def test_history_spans_twelve_months_with_a_realistic_volume(demo: DemoManifest) -> None:
    total = 0
    for repo_dir in demo.repos:
        repo = pygit2.Repository(str(repo_dir))
        assert repo.is_bare and repo.head.shorthand == "main"
        commits = _main(repo)
        first = min(datetime.fromtimestamp(c.commit_time, UTC) for c in commits)
        last = max(datetime.fromtimestamp(c.commit_time, UTC) for c in commits)
        assert first.date() <= demo.start + timedelta(days=1)
        assert last.date() >= demo.end - timedelta(days=3)
        assert last.date() <= demo.end
        total += len(_everything(repo))
        if shutil.which("git"):
            count = subprocess.run(
                ["git", "-C", str(repo_dir), "rev-list", "--count", "main"],
                capture_output=True,
                text=True,
                check=True,
            )
            assert int(count.stdout) == len(commits)
            fsck = subprocess.run(
                ["git", "-C", str(repo_dir), "fsck", "--no-dangling"],
                check=False,
                capture_output=True,
                text=True,
            )
            assert fsck.returncode == 0, fsck.stderr
    assert 4000 <= total <= 8000


def test_people_commit_in_working_hours_across_time_zones(demo: DemoManifest) -> None:
    offsets: Counter[int] = Counter()
    hours: Counter[bool] = Counter()
    emails = {e for p in demo.people for e in p.emails}
    for repo_dir in demo.repos:
        for commit in _main(pygit2.Repository(str(repo_dir))):
            # Merge and squash commits carry the moment someone clicked "Merge", and incident
            # responders ignore office hours: only commits people made locally count here.
            if commit.author.email in emails and commit.committer.email == commit.author.email:
                offsets[commit.author.offset] += 1
                local = datetime.fromtimestamp(commit.author.time, UTC) + timedelta(
                    minutes=commit.author.offset
                )
                hours[8 <= local.hour < 19 and local.weekday() < 5] += 1
    assert {60, -300, 330, 345} <= set(offsets)
    assert hours[True] / sum(hours.values()) > 0.95


def test_engineers_named_claude_and_devin_are_not_ai(demo: DemoManifest) -> None:
    humans = {
        p.name: set(p.emails) for p in demo.people if p.name.split()[0] in ("Claude", "Devin")
    }
    assert len(humans) == 2
    found = Counter()
    for repo_dir in demo.repos:
        for commit in _main(pygit2.Repository(str(repo_dir))):
            for name, emails in humans.items():
                if commit.author.name == name:
                    found[name] += 1
                    assert commit.author.email in emails
                    assert not AI_MARKERS.search(f"<{commit.author.email}>")
    assert all(found[name] > 20 for name in humans)


def test_mailmap_folds_every_alias_into_the_work_identity(demo: DemoManifest) -> None:
    aliases = {e: p.emails[0] for p in demo.people for e in p.emails[1:]}
    used = set()
    for repo_dir in demo.repos:
        repo = pygit2.Repository(str(repo_dir))
        head = repo.head.peel(pygit2.Commit)
        assert ".mailmap" in head.tree
        mailmap = pygit2.Mailmap.from_repository(repo)
        assert mailmap.resolve("Claude M", "claude.moreau@gmail.com") == (
            "Claude Moreau",
            "claude.moreau@acme-robotics.com",
        )
        assert mailmap.resolve("Priya Raghunathan", "priya.r@acmerobotics.io")[1] == (
            "priya.raghunathan@acme-robotics.com"
        )
        assert mailmap.resolve("twojcik", "tomasz.wojcik@acme-robotics.com")[0] == "Tomasz Wójcik"
        for commit in _everything(repo):
            if commit.author.email in aliases:
                used.add(commit.author.email)
                assert (
                    mailmap.resolve_signature(commit.author).email == aliases[commit.author.email]
                )
    assert len(used) >= 3


# -- AI adoption ------------------------------------------------------------------------------


def test_ai_markers_appear_after_each_rollout_and_rise(demo: DemoManifest) -> None:
    for repo_dir in demo.repos:
        name = repo_dir.name.removesuffix(".git")
        rollout = _rollout(demo, name)
        before, after = Counter(), Counter()
        late = datetime.combine(demo.end, datetime.min.time(), tzinfo=UTC) - timedelta(days=60)
        for commit in _main(pygit2.Repository(str(repo_dir))):
            if commit.author.email.endswith(BOT_EMAILS) or len(commit.parents) > 1:
                continue
            when = datetime.fromtimestamp(commit.commit_time, UTC)
            if when < rollout:
                before[_is_ai(commit)] += 1
            elif when >= late:
                after[_is_ai(commit)] += 1
        share_before = before[True] / sum(before.values())
        share_after = after[True] / sum(after.values())
        assert share_before <= 0.02, (name, share_before)
        assert share_after >= 0.15, (name, share_after)


def _pr_is_ai(pull: dict[str, Any], commits: list[dict[str, Any]]) -> bool:
    text = (pull["body"] or "") + "\n".join(
        "{name} <{email}>\n".format(**c["commit"]["author"]) + c["commit"]["message"]
        for c in commits
    )
    return (
        bool(AI_MARKERS.search(text))
        or pull["user"]["type"] == "Bot"
        or "chatgpt.com/codex/tasks/task_e_" in text
        or "CURSOR_AGENT_PR_BODY_BEGIN" in text
    )


def test_ai_share_of_pull_requests_goes_from_zero_to_a_third_or_more(demo: DemoManifest) -> None:
    ends = []
    for repo_dir in demo.repos:
        name = repo_dir.name.removesuffix(".git")
        rollout = _rollout(demo, name)
        pulls = _json(demo, "github", name, "pulls.json")
        commits = _json(demo, "github", name, "pr_commits.json")
        late = datetime.combine(demo.end, datetime.min.time(), tzinfo=UTC) - timedelta(days=60)
        before, after = Counter(), Counter()
        for pull in pulls:
            if not pull["merged_at"] or pull["user"]["login"] in (
                "dependabot[bot]",
                "renovate[bot]",
            ):
                continue
            created = _when(pull["created_at"])
            ai = _pr_is_ai(pull, commits[str(pull["number"])])
            if created < rollout:
                before[ai] += 1
            elif created >= late:
                after[ai] += 1
        assert before[True] <= 1, name  # at most one early experiment
        ends.append(after[True] / sum(after.values()))
        assert 0.25 <= ends[-1] <= 0.75, (name, ends[-1])
    assert max(ends) - min(ends) > 0.05  # teams adopt differently


def test_every_tool_leaves_its_real_marker(demo: DemoManifest) -> None:
    text = "\n".join(
        f"{c.author.name} <{c.author.email}>|{c.committer.name} <{c.committer.email}>\n{c.message}"
        for repo_dir in demo.repos
        for c in _everything(pygit2.Repository(str(repo_dir)))
    )
    for marker in (
        "Co-Authored-By: Claude Opus 4.6 <noreply@anthropic.com>",
        "🤖 Generated with [Claude Code](https://claude.com/claude-code)",
        "Claude <noreply@anthropic.com>|Claude <noreply@anthropic.com>",
        "Claude-Session: https://claude.ai/code/session_",
        "copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
        "Co-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>",
        "Co-authored-by: Cursor <cursoragent@cursor.com>",
        "Made-with: Cursor",
        "Co-authored-by: aider (gpt-5.4) <aider@aider.chat>",
        "Co-authored-by: Codex <noreply@openai.com>",
        "Devin AI <158243242+devin-ai-integration[bot]@users.noreply.github.com>",
        "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
        "renovate[bot] <29139614+renovate[bot]@users.noreply.github.com>",
    ):
        assert marker in text, marker
    assert re.search(
        r"copilot-swe-agent\[bot\] <198982749\+Copilot@[^>]+>\|.*\nInitial plan\n", text
    )
    assert re.search(
        r"^Agent-Logs-Url: https://github\.com/acme-robotics/[\w-]+/sessions/[0-9a-f-]{36}$",
        text,
        re.MULTILINE,
    )


def test_agent_pull_requests_look_like_the_real_ones(demo: DemoManifest) -> None:
    seen = Counter()
    for repo_dir in demo.repos:
        for pull in _json(demo, "github", repo_dir.name.removesuffix(".git"), "pulls.json"):
            login, ref, body = pull["user"]["login"], pull["head"]["ref"], pull["body"] or ""
            if login == "Copilot":
                seen["copilot"] += 1
                assert pull["user"]["type"] == "Bot" and ref.startswith("copilot/")
                assert "<!-- START COPILOT CODING AGENT SUFFIX -->" in body
            elif login == "devin-ai-integration[bot]":
                seen["devin"] += 1
                assert re.fullmatch(r"devin/\d{10}-[a-z0-9-]+", ref)
                assert re.search(
                    r"Link to Devin run: https://app\.devin\.ai/sessions/[0-9a-f]{32}", body
                )
                assert "Requested by: " in body
            elif ref.startswith("claude/"):
                seen["claude"] += 1
                assert re.fullmatch(r"claude/[a-z0-9-]+-[A-Za-z0-9]{5}", ref)
                assert "https://claude.ai/code/session_" in body
            elif ref.startswith("codex/"):
                seen["codex"] += 1
                assert re.search(
                    r"\[Codex Task\]\(https://chatgpt\.com/codex/tasks/task_e_[0-9a-f]{32}\)", body
                )
            elif ref.startswith("dependabot/"):
                seen["dependabot"] += 1
                assert re.fullmatch(r"dependabot/(npm_and_yarn|pip)/[@\w./-]+-\d[\w.]*", ref)
                assert pull["user"]["type"] == "Bot"
    assert all(seen[k] >= 3 for k in ("copilot", "devin", "claude", "codex", "dependabot")), seen


def test_git_ai_notes_attest_lines_the_commit_added(demo: DemoManifest) -> None:
    repo = _repo(demo, "web-app")
    # pygit2's stub omits the notes ref parameter that the runtime accepts.
    notes = list(repo.notes("refs/notes/ai"))  # pyright: ignore[reportCallIssue]
    assert len(notes) >= 30
    key = re.compile(r"^(s_[0-9a-f]{14}::t_[0-9a-f]{14}|h_[0-9a-f]{14})$")
    for note in notes:
        attestation, separator, meta_text = note.message.partition("\n---\n")
        assert separator
        meta = json.loads(meta_text)
        assert meta["schema_version"] == "authorship/3.0.0"
        assert meta["base_commit_sha"] == str(note.annotated_id)
        assert meta["sessions"] and all(s["agent_id"]["tool"] for s in meta["sessions"].values())
        commit = repo[note.annotated_id].peel(pygit2.Commit)
        added: dict[str, set[int]] = {}
        for patch in commit.parents[0].tree.diff_to_tree(commit.tree):
            assert patch is not None
            added[patch.delta.new_file.path] = {
                ln.new_lineno for hunk in patch.hunks for ln in hunk.lines if ln.origin == "+"
            }
        path = None
        for line in attestation.splitlines():
            if not line.startswith(" "):
                path = line.strip('"')
                assert path in added
                continue
            assert line.startswith("  ") and path is not None
            who, ranges = line.strip().split(" ")
            assert key.match(who), who
            for part in ranges.split(","):
                first, _, last = part.partition("-")
                lines = set(range(int(first), int(last or first) + 1))
                assert lines <= added[path], (str(commit.id), path, part)


# -- merges, squashes, reverts ---------------------------------------------------------------


def test_merge_commits_have_two_parents_and_carry_the_branch(demo: DemoManifest) -> None:
    repo = _repo(demo, "web-app")
    pulls = {
        p["merge_commit_sha"]: p
        for p in _json(demo, "github", "web-app", "pulls.json")
        if p["merged_at"]
    }
    merges = [c for c in _main(repo) if c.message.startswith("Merge pull request #")]
    assert len(merges) > 100
    for merge in merges[:150]:
        assert len(merge.parents) == 2
        pull = pulls[str(merge.id)]
        assert merge.message.startswith(
            f"Merge pull request #{pull['number']} from acme-robotics/{pull['head']['ref']}"
        )
        main_parent, head = merge.parents
        assert str(head.id) == pull["head"]["sha"]
        base = repo[repo.merge_base(main_parent.id, head.id)].peel(pygit2.Commit)
        for path in _numstat(base.tree, head.tree):
            if _blob(main_parent.tree, path) == _blob(base.tree, path):
                assert _blob(merge.tree, path) == _blob(head.tree, path), path
        for path in _numstat(base.tree, main_parent.tree):
            if _blob(head.tree, path) == _blob(base.tree, path):
                assert _blob(merge.tree, path) == _blob(main_parent.tree, path), path


def test_squash_merges_pile_up_the_branch_trailers(demo: DemoManifest) -> None:
    repo = _repo(demo, "payments-api")
    pulls = _json(demo, "github", "payments-api", "pulls.json")
    commits = _json(demo, "github", "payments-api", "pr_commits.json")
    piled = 0
    for pull in pulls:
        if not pull["merged_at"]:
            continue
        trunk = repo[pull["merge_commit_sha"]].peel(pygit2.Commit)
        assert len(trunk.parents) == 1
        assert trunk.message.splitlines()[0].endswith(f"(#{pull['number']})")
        branch = commits[str(pull["number"])]
        ai_lines = [
            ln
            for c in branch
            for ln in c["commit"]["message"].splitlines()
            if AI_MARKERS.search(ln)
        ]
        if len(branch) > 1 and len(ai_lines) > 1:
            piled += 1
            trunk_lines = [ln for ln in trunk.message.splitlines() if AI_MARKERS.search(ln)]
            assert len(trunk_lines) >= len(ai_lines)
    assert piled >= 10


def test_reverts_really_undo_their_target(demo: DemoManifest) -> None:
    count = 0
    for repo_dir in demo.repos:
        repo = pygit2.Repository(str(repo_dir))
        for commit in _main(repo):
            if not commit.message.startswith('Revert "'):
                continue
            count += 1
            match = re.search(r"^This reverts commit ([0-9a-f]{40})", commit.message, re.MULTILINE)
            assert match
            target = repo[match[1]].peel(pygit2.Commit)
            assert commit.message.split("\n")[0] == f'Revert "{target.message.splitlines()[0]}"'
            forward = _numstat(target.parents[0].tree, target.tree)
            backward = _numstat(commit.parents[0].tree, commit.tree)
            assert forward and backward == {path: (d, a) for path, (a, d) in forward.items()}
            for path in forward:
                if _blob(commit.parents[0].tree, path) == _blob(target.tree, path):
                    assert _blob(commit.tree, path) == _blob(target.parents[0].tree, path)
    assert count >= 3


# -- vendor exports ---------------------------------------------------------------------------


def test_github_exports_match_the_repositories_and_jira(demo: DemoManifest) -> None:
    keys = {i["key"] for i in _json(demo, "jira", "issues.json")}
    referenced = 0
    for repo_dir in demo.repos:
        name = repo_dir.name.removesuffix(".git")
        repo = pygit2.Repository(str(repo_dir))
        main = {str(c.id) for c in _main(repo)}
        pulls = _json(demo, "github", name, "pulls.json")
        commits = _json(demo, "github", name, "pr_commits.json")
        reviews = _json(demo, "github", name, "reviews.json")
        assert {p["state"] for p in pulls} == {"open", "closed"}
        assert any(p["state"] == "closed" and not p["merged_at"] for p in pulls)
        for pull in pulls:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pull["created_at"])
            if pull["merged_at"]:
                assert pull["merge_commit_sha"] in main
            branch = commits[str(pull["number"])]
            assert 1 <= len(branch) <= 4 and branch[-1]["sha"] == pull["head"]["sha"]
            for c in branch:
                assert c["sha"] in repo
            if pull["state"] == "open":
                assert f"refs/heads/{pull['head']['ref']}" in repo.references
            for match in TICKET.finditer(pull["title"] + " " + pull["head"]["ref"]):
                referenced += 1
                assert f"{match[1].upper()}-{int(match[2])}" in keys
        states = Counter(r["state"] for rows in reviews.values() for r in rows)
        assert {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"} <= set(states)
        assert any(r["user"]["type"] == "Bot" for rows in reviews.values() for r in rows)
        tags = {n.removeprefix("refs/tags/") for n in repo.references if n.startswith("refs/tags/")}
        releases = _json(demo, "github", name, "releases.json")
        assert len(releases) >= 15 and {r["tag_name"] for r in releases} <= tags
        deployments = sorted(
            _json(demo, "github", name, "deployments.json"), key=lambda d: d["created_at"]
        )
        assert all(d["sha"] in main for d in deployments)
        outcomes = [d["statuses"][0]["state"] for d in deployments]
        assert "failure" in outcomes and outcomes[-1] == "success"
        for i, outcome in enumerate(outcomes):
            if outcome == "failure":
                assert "success" in outcomes[i + 1 :]
        issues = _json(demo, "github", name, "issues.json")
        assert any("bug" in [lbl["name"] for lbl in i["labels"]] for i in issues)
        assert any("enhancement" in [lbl["name"] for lbl in i["labels"]] for i in issues)
        numbers = [p["number"] for p in pulls] + [i["number"] for i in issues]
        assert len(numbers) == len(set(numbers))  # issues and PRs share one counter
    assert referenced > 1000


def test_jira_export_has_sprints_points_and_history(demo: DemoManifest) -> None:
    fields = {f["name"]: f for f in _json(demo, "jira", "fields.json")}
    assert {"Story Points", "Story point estimate", "Sprint"} <= set(fields)
    points_field, sprint_field = fields["Story Points"]["id"], fields["Sprint"]["id"]
    boards = _json(demo, "jira", "boards.json")
    sprints = _json(demo, "jira", "sprints.json")
    assert len(boards) == 3
    for board in boards:
        mine = [s for s in sprints if s["originBoardId"] == board["id"]]
        assert Counter(s["state"] for s in mine).keys() == {"closed", "active", "future"}
        starts = sorted(date.fromisoformat(s["startDate"][:10]) for s in mine)
        assert starts[0] == demo.first_sprint_start
        assert all((b - a).days == demo.sprint_length_days for a, b in itertools.pairwise(starts))
    issues = _json(demo, "jira", "issues.json")
    kinds = Counter(i["fields"]["issuetype"]["name"] for i in issues)
    assert 0.1 <= kinds["Bug"] / len(issues) <= 0.35
    points = {i["fields"][points_field] for i in issues} - {None}
    assert points == {1.0, 2.0, 3.0, 5.0, 8.0}
    carried = mid_sprint = unfinished = linked = 0
    by_id = {s["id"]: s for s in sprints}
    for issue in issues:
        fields_ = issue["fields"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000[+-]\d{4}", fields_["created"])
        histories = issue["changelog"]["histories"]
        statuses = [it for h in histories for it in h["items"] if it["field"] == "status"]
        for earlier, later in itertools.pairwise(statuses):
            assert earlier["toString"] == later["fromString"]
        if statuses:
            assert statuses[-1]["toString"] == fields_["status"]["name"]
        sprint_values = fields_[sprint_field] or []
        carried += len(sprint_values) > 1
        for history in histories:
            for item in history["items"]:
                if item["field"] == "Sprint" and item["to"] and not item["from"]:
                    sprint = by_id[int(item["to"].split(", ")[-1])]
                    mid_sprint += history["created"] > sprint["startDate"].replace("Z", "")
        unfinished += (
            fields_["status"]["statusCategory"]["key"] != "done" and fields_["created"] < "2026-06"
        )
        linked += bool(fields_["issuelinks"])
    assert carried > 50 and mid_sprint > 50 and unfinished > 20 and linked > 30


def test_pr_ticket_keys_point_at_issues_in_the_right_project(demo: DemoManifest) -> None:
    projects = {"payments-api": "PAY", "web-app": "WEB", "mobile-app": "MOB"}
    for name, project in projects.items():
        for pull in _json(demo, "github", name, "pulls.json"):
            for match in TICKET.finditer(pull["title"] + " " + pull["head"]["ref"]):
                assert match[1].upper() == project


def test_jira_csv_parses_with_repeated_sprint_columns(demo: DemoManifest) -> None:
    issues = _json(demo, "jira", "issues.json")
    with (demo.jira_dir / "export.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    for column in (
        "Summary",
        "Issue key",
        "Issue id",
        "Issue Type",
        "Status",
        "Priority",
        "Assignee",
        "Created",
        "Resolved",
        "Sprint",
        "Custom field (Story Points)",
        "Labels",
    ):
        assert column in header, column
    assert header.count("Sprint") >= 2
    assert len(body) == len(issues)
    index = {name: header.index(name) for name in header}
    stamp = re.compile(r"\d\d/[A-Z][a-z]{2}/\d\d \d{1,2}:\d\d (AM|PM)")
    sprint_columns = [i for i, name in enumerate(header) if name == "Sprint"]
    assert any(sum(bool(row[i]) for i in sprint_columns) > 1 for row in body)
    keys = {i["key"] for i in issues}
    for row in body:
        assert row[index["Issue key"]] in keys
        assert stamp.fullmatch(row[index["Created"]])
        assert not row[index["Resolved"]] or stamp.fullmatch(row[index["Resolved"]])


# -- building --------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "a", seed=11, end=date(2026, 2, 27), months=3)
    # Another interpreter with another hash seed: set or str-hash order must not leak in.
    script = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from ingestion.demo import build_demo; "
        "build_demo(Path(sys.argv[1]), seed=11, end=date(2026, 2, 27), months=3)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(Path(__file__).parents[2])}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "b")], env=env, check=True)
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")
    third = build_demo(tmp_path / "b", seed=12, end=date(2026, 2, 27), months=3)  # over a demo
    heads = [_refs(p)["refs/heads/main"] for p in first.repos]
    assert heads != [_refs(p)["refs/heads/main"] for p in third.repos]
    assert _tree_bytes(first.root / "vendor") != _tree_bytes(third.root / "vendor")


def test_refuses_to_overwrite_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a SprintProof demo"):
        build_demo(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
