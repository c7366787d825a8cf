"""The forge contract: where issues come from, where pull requests go, and how work lands.

A forge reads issues into one `IssueSet` (what the plan needs, and what it must say it left out),
opens pull requests and answers with a `PullRef` (the orchestrator records it: a forge never
writes run state), and lands verified work through its own lander. `registry.py` names every
forge; adding one is a package of its own and one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from issuewave.git import Git
from issuewave.issues import Issue
from issuewave.naming import one_line
from issuewave.store import RunRecord, Store, TaskRecord
from issuewave.testbed import TestCommand
from issuewave.types import BranchName, IssueNumber


@dataclass(frozen=True)
class IssueSet:
    """What reading a forge's issues found."""

    # The selected, trusted issues, plus closed ones they depend on (which count as satisfied).
    issues: tuple[Issue, ...] = ()
    # Left out, never handed to an agent: the issue, and why (an untrusted author, say).
    untrusted: Mapping[IssueNumber, str] = field(default_factory=dict)
    # Open dependencies outside the selection ("#12", "owner/repo#3"): the issue cannot start.
    waits_outside: Mapping[IssueNumber, tuple[str, ...]] = field(default_factory=dict)
    # References to issues of other repositories: shown in the plan, not tracked.
    cross_repository: Mapping[IssueNumber, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PullRequestDraft:
    issue: Issue
    head: BranchName
    base: BranchName
    body: str

    @property
    def title(self) -> str:
        return one_line(self.issue.title, 200)


@dataclass(frozen=True)
class PullRef:
    """A pull request as the forge knows it; both None where the store's record is the PR."""

    remote_number: int | None = None
    url: str | None = None
    labels: tuple[str, ...] = ()  # the labels it carries (the issue's, and the forge's own)


@dataclass(frozen=True)
class Landing:
    """What a lander gets: the run's verified issues in dependency order, and where to work."""

    git: Git  # the main checkout
    store: Store
    run: RunRecord
    tasks: Sequence[TaskRecord]
    # The test command, checked when a lander needs it (GitHub's required checks are its tests).
    tests: Callable[[], TestCommand]
    squash: bool = False
    dry_run: bool = False


class Forge(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def push_remote(self) -> str | None:
        """The git remote verified branches are pushed to before their PR; None: no push."""
        ...

    @property
    def api_calls(self) -> int:
        """Calls made to the forge's API so far (shown in the report)."""
        ...

    def read_issues(self) -> IssueSet: ...

    def find_open_pull(self, head: BranchName) -> PullRef | None:
        """The open pull request whose head is `head`, if any."""
        ...

    def open_pull(self, draft: PullRequestDraft) -> PullRef:
        """Open the PR, or update the open one for the same head: never a second one."""
        ...

    def progress(self, issue: Issue, text: str) -> None:
        """Tell the issue how it is going: one comment, edited in place (where the forge can)."""
        ...

    def land(self, landing: Landing) -> int:
        """Merge the verified work in dependency order; an exit code (0: all of it landed)."""
        ...
