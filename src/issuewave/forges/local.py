"""The local forge: Markdown issue files in the repository; PR records in the state store."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from issuewave.forges.base import PullRequestDraft
from issuewave.forges.local_issues import read_issues_dir
from issuewave.issues import Issue
from issuewave.store import PullRecord, Store
from issuewave.types import BranchName, PullNumber, RunId


@dataclass(frozen=True)
class LocalForge:
    issues_dir: Path
    store: Store
    name: str = "local"
    push_remote: str | None = None  # PR records live in the store: nothing to push
    api_calls: int = 0

    def list_issues(self) -> list[Issue]:
        return read_issues_dir(self.issues_dir)

    def pull_request_for(self, head: BranchName) -> PullRecord | None:
        record = self.store.pull_for_head(head)
        return record if record is not None and record.state == "open" else None

    def progress(self, issue: Issue, text: str) -> None:
        """The local forge's progress is the journal itself: nothing more to write."""

    def publish(
        self, run_id: RunId, draft: PullRequestDraft, task_fields: Mapping[str, Any]
    ) -> PullRecord:
        now = time.time()
        record = PullRecord(
            PullNumber(0),
            run_id,
            draft.issue.number,
            draft.head,
            draft.base,
            draft.title,
            draft.body,
            draft.issue.labels,
            "open",
            now,
            now,
        )
        return self.store.open_pull_request(record, task_fields)
