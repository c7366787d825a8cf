"""The local forge: Markdown issue files in the repository; PR records in the state store.

Its pull requests are the store's records, which the orchestrator writes: opening one here only
answers that there is nothing more to do. Landing merges in a scratch checkout (`local_landing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from issuewave.forges import local_landing
from issuewave.forges.base import IssueSet, Landing, PullRef, PullRequestDraft
from issuewave.forges.local_issues import read_issues_dir
from issuewave.forges.registry import ForgeSite
from issuewave.issues import Issue
from issuewave.store import Store
from issuewave.types import BranchName


@dataclass(frozen=True)
class LocalForge:
    issues_dir: Path
    store: Store
    name: str = "local"
    push_remote: str | None = None  # PR records live in the store: nothing to push
    api_calls: int = 0

    def read_issues(self) -> IssueSet:
        return IssueSet(tuple(read_issues_dir(self.issues_dir)))

    def find_open_pull(self, head: BranchName) -> PullRef | None:
        record = self.store.pull_for_head(head)
        return PullRef() if record is not None and record.state == "open" else None

    def open_pull(self, draft: PullRequestDraft) -> PullRef:
        return PullRef(labels=draft.issue.labels)

    def progress(self, issue: Issue, text: str) -> None:
        """The local forge's progress is the journal itself: nothing more to write."""

    def land(self, landing: Landing) -> int:
        return local_landing.land(landing, {i.number: i for i in self.read_issues().issues})


def open_forge(site: ForgeSite) -> LocalForge:
    return LocalForge(site.path(site.config.issues_dir), site.store)
