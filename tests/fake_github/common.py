"""What every part of the fake shares: its records (issues, pulls, comments, faults), the calls it
saw, and GitHub's constants. Each part of the fake is a mixin over `FakeState`."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

Json = dict[str, Any]
STAMP = "2025-02-14T12:00:00Z"
DOCS = "https://docs.github.com/rest"
LINK_LIMIT = 50  # what issuewave's query asks for per connection
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
MERGE_DOCS = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
REFS_DOCS = "https://docs.github.com/rest/git/refs#delete-a-reference"
NO_SHA = "0" * 40
# On a merge into the default branch, GitHub closes the issues the PR's body names this way.
CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)", re.IGNORECASE)


class Call(NamedTuple):
    method: str
    path: str
    note: str = ""  # "base=main", "merge_method=squash": what a mutation asked for


@dataclass
class FakeIssue:
    repo: str  # "owner/name" as GitHub spells it
    number: int
    title: str
    body: str = ""
    state: str = "open"
    author: str | None = "octocat"  # None: a deleted account (GitHub's "ghost")
    association: str = "OWNER"
    labels: list[str] = field(default_factory=list)
    blocked_by: list[tuple[str, int]] = field(default_factory=list)
    sub_issues: list[tuple[str, int]] = field(default_factory=list)
    milestone: int | None = None
    assignees: list[str] = field(default_factory=list)


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int | None  # None: answer normally, after `delay`
    headers: dict[str, str]
    after_effect: bool
    delay: float
    body: Json | list[Json] | None


class FakeState:
    def __init__(self, owner: str = "octo", repo: str = "widgets") -> None:
        self.owner, self.repo = owner, repo
        self.full_name = f"{owner}/{repo}"
        self.token = "ghp_" + secrets.token_hex(18)  # random: a leak test finds it anywhere
        self.issues: dict[tuple[str, int], FakeIssue] = {}
        self.pulls: dict[int, Json] = {}  # our own record; answers are built from it
        self.comments: dict[int, Json] = {}
        self.milestones: dict[int, str] = {}  # number: title
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.repository: Path | None = None  # the bare repository the branches are pushed to
        self.default_branch = "main"
        self.deleted_branches: set[str] = set()
        self.rate_remaining = 5000
        self.rate_reset = int(time.time()) + 3600
        self.url = ""
        self._ids = 1000
        self._lock = threading.Lock()

    def issue_record(self, number: int) -> FakeIssue | None:
        return self.issues.get((self.full_name.lower(), number))

    def _tip(self, branch: str) -> str:
        """The branch's commit in the bare repository; NO_SHA when there is none."""
        if self.repository is None:
            return NO_SHA
        found = self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
        return found.stdout.strip() or NO_SHA

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """git in the bare repository, as GitHub's own committer on a pinned date."""
        env = {**os.environ, "GIT_AUTHOR_DATE": STAMP, "GIT_COMMITTER_DATE": STAMP}
        for role in ("AUTHOR", "COMMITTER"):
            env |= {f"GIT_{role}_NAME": "GitHub", f"GIT_{role}_EMAIL": "noreply@github.com"}
        return subprocess.run(
            ["git", *args],
            cwd=self.repository,
            env=env,
            capture_output=True,
            text=True,
            check=check,
        )

    def next_number(self) -> int:
        used = [n for (repo, n) in self.issues if repo == self.full_name.lower()]
        return max([0, *used, *self.pulls]) + 1

    def new_id(self) -> int:
        self._ids += 1
        return self._ids
