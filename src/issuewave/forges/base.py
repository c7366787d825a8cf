"""The forge protocol: where issues come from and pull requests go.

`local` (issue files + PR records in the state store) is the embedded default; GitHub and others
implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from issuewave.issues import Issue
from issuewave.naming import one_line
from issuewave.store import PullRecord
from issuewave.types import BranchName, RunId


@dataclass(frozen=True)
class PullRequestDraft:
    issue: Issue
    head: BranchName
    base: BranchName
    body: str

    @property
    def title(self) -> str:
        return one_line(self.issue.title, 200)


class Forge(Protocol):
    @property
    def name(self) -> str: ...

    def list_issues(self) -> list[Issue]: ...

    def pull_request_for(self, head: BranchName) -> PullRecord | None:
        """The open pull request whose head is `head`, if any."""
        ...

    @property
    def push_remote(self) -> str | None:
        """The git remote verified branches are pushed to before their PR; None: no push."""
        ...

    @property
    def api_calls(self) -> int:
        """Calls made to the forge's API so far (shown in the report)."""
        ...

    def publish(
        self, run_id: RunId, draft: PullRequestDraft, task_fields: Mapping[str, Any]
    ) -> PullRecord:
        """Open (or update: never duplicate) the PR, and record the task's success with it."""
        ...

    def progress(self, issue: Issue, text: str) -> None:
        """Tell the issue how it is going: one comment, edited in place (where the forge can)."""
        ...
