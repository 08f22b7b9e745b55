"""Shared fixtures: a hermetic git environment and a builder for small synthetic repositories."""

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pygit2
import pytest
from pygit2.enums import ConfigLevel

EPOCH = 1_700_000_000
"""Author and committer time of a builder's first commit; each further commit is a minute later."""

Content = str | bytes | None
"""A file's new content for GitRepo.commit; None deletes the path."""
Files = Mapping[str, Content] | Mapping[bytes, Content] | Mapping[str | bytes, Content]
"""Paths (bytes for names that are not UTF-8) to their new content."""


@dataclass
class GitRepo:
    """A repository built with the git CLI under an isolated environment."""

    path: Path
    env: Mapping[str, str]
    clock: int = EPOCH

    def run(
        self,
        *args: str | bytes,
        stdin: bytes | None = None,
        env: Mapping[str, str | bytes] | None = None,
    ) -> bytes:
        """Run git in the repository and return its raw stdout; fail the test on a non-zero exit."""
        merged: dict[str, str | bytes] = {**self.env, **(env or {})}
        environ = {os.fsencode(k): os.fsencode(v) for k, v in merged.items()}
        done = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=environ,
            input=stdin,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"git {args!r} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        return self.run(*args, stdin=stdin).decode("utf-8", "replace").strip()

    def write(self, rel: str | bytes, content: str | bytes) -> Path:
        target = self.path / os.fsdecode(rel)
        if target.is_symlink() or target.is_file():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        return target

    def commit(
        self,
        message: str | bytes = "change",
        files: Files | None = None,
        *,
        author: str | None = None,
        date: str | None = None,
        committer_date: str | None = None,
        config: tuple[str, ...] = (),
        env: Mapping[str, str | bytes] | None = None,
    ) -> str:
        """Write (None: delete) files, stage everything and commit; returns the new commit's sha.

        Each commit is stamped a minute after the previous one unless a date is given; author is
        "Name <email>"; config holds "key=value" pairs passed to git with -c.
        """
        for rel, content in (files or {}).items():
            if content is None:
                self.run("rm", "-r", "-q", "--", rel)
            else:
                self.write(rel, content)
        self.run("add", "-A")
        self.clock += 60
        stamp = date or f"@{self.clock} +0000"
        extra: dict[str, str | bytes] = {
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": committer_date or stamp,
        }
        if author is not None:
            name, _, email = author.partition(" <")
            extra |= {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">")}
        body = message.encode() if isinstance(message, str) else message
        options = [arg for pair in config for arg in ("-c", pair)]
        self.run(
            *options, "commit", "-q", "--allow-empty", "--no-verify", "-F", "-",
            stdin=body, env=extra | dict(env or {}),
        )  # fmt: skip
        return self.head()

    def head(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", f"{rev}^{{commit}}")


class MakeRepo(Protocol):
    def __call__(self, name: str = "repo", *, bare: bool = False) -> GitRepo: ...


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment in which neither git nor libgit2 sees the user's or the system's configuration."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Ada Lovelace",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": f"@{EPOCH} +0000",
        "GIT_COMMITTER_NAME": "Ada Lovelace",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_COMMITTER_DATE": f"@{EPOCH} +0000",
        "LC_ALL": "C",
        "TZ": "UTC",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # libgit2 read HOME when pygit2 was imported; point its configuration search at the empty home.
    levels = (ConfigLevel.SYSTEM, ConfigLevel.XDG, ConfigLevel.GLOBAL)
    saved = {level: pygit2.settings.search_path[level] for level in levels}
    for level in levels:
        pygit2.settings.search_path[level] = str(home)
    try:
        yield {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    finally:
        for level, path in saved.items():
            pygit2.settings.search_path[level] = path


@pytest.fixture
def make_repo(tmp_path: Path, git_env: dict[str, str]) -> MakeRepo:
    """Factory: make_repo("name", bare=False) initialises an empty repository on branch main."""

    def make(name: str = "repo", *, bare: bool = False) -> GitRepo:
        path = tmp_path / name
        path.mkdir(parents=True)
        repo = GitRepo(path, git_env)
        repo.run("-c", "init.defaultBranch=main", "init", "-q", *(["--bare"] if bare else []))
        return repo

    return make
