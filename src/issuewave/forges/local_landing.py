"""Landing on the local forge: the verified branches merged into the base branch, in dependency
order, with the tests green after every step.

Each merge is made and tested in a scratch checkout; the base branch moves only after the tests
passed (compare-and-swap on the ref), so a failure leaves it at the last good merge. Intent is
journalled before the ref moves, so a land killed at any point is finished by running `land`
again, and nothing is merged twice. The issue's file is closed in the commit that lands it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from issuewave.errors import IssuewaveError
from issuewave.forges.base import Landing
from issuewave.git import Git
from issuewave.issues import Issue
from issuewave.naming import one_line
from issuewave.store import TaskRecord
from issuewave.testbed import TestBed
from issuewave.types import CommitSha, IssueNumber
from issuewave.ui import say

_STATE_LINE = re.compile(r"^state:.*$", re.M)


def land(landing: Landing, issues: Mapping[IssueNumber, Issue]) -> int:
    _refuse_dirty_base_checkout(landing)
    lander = _Lander(landing, issues)
    try:
        for task in landing.tasks:
            if lander.landed(task):
                say(f"#{task.issue}: already in {landing.run.base_branch}")
            elif landing.dry_run:
                say(f"#{task.issue}: would merge {task.branch} into {landing.run.base_branch}, "
                    "then test")  # fmt: skip
            elif not lander.land(task):
                return 1
    finally:
        lander.close()
    done = f"{landing.run.base_branch} holds every verified issue of run {landing.run.id}"
    say("" if landing.dry_run else done)
    return 0


def _refuse_dirty_base_checkout(landing: Landing) -> None:
    """The main checkout follows the base branch forward only when nothing in it can be lost."""
    if landing.git.current_branch() == landing.run.base_branch and landing.git.status():
        raise IssuewaveError(
            f"the main checkout is on {landing.run.base_branch} and has uncommitted changes",
            hint="commit or stash them, then run `issuewave land` again",
        )


class _Lander:
    def __init__(self, landing: Landing, issues: Mapping[IssueNumber, Issue]) -> None:
        self.landing, self.issues = landing, issues
        self.git, self.store, self.run = landing.git, landing.store, landing.run
        self.base_ref = f"refs/heads/{self.run.base_branch}"
        self._bed: TestBed | None = None

    @property
    def bed(self) -> TestBed:
        """Made on the first merge: a dry run or a finished land needs no test command."""
        if self._bed is None:
            folder = self.store.home / "landing" / self.run.id
            self._bed = TestBed(self.git, folder, self.landing.tests(), tag=f"{self.run.id}-land")
        return self._bed

    def close(self) -> None:
        if self._bed is not None:
            self._bed.close()

    def landed(self, task: TaskRecord) -> bool:
        tip = self.git.must_rev(self.base_ref)
        if task.head_commit and self.git.is_ancestor(task.head_commit, tip):
            return True
        return any(  # a squash leaves no ancestry: the journal says which commit carried it
            e.issue == task.issue and self.git.is_ancestor(str(e.data["commit"]), tip)
            for e in self.store.events(self.run.id)
            if e.kind == "landing"
        )

    def land(self, task: TaskRecord) -> bool:
        old = self.git.must_rev(self.base_ref)
        worktree = self.bed.at(old)
        if not self._merge(worktree, task):
            return False
        new = self.bed.bring_back()  # before the tests: their code cannot touch the commit
        tests = self.bed.test(tag=f"{self.run.id}-land-{task.issue}")
        if not tests.passed:
            self.bed.reset(self.base_ref)
            say(f"#{task.issue}: the tests fail after merging it; {self.run.base_branch} stays at "
                f"{old[:12]} (log: {tests.log})")  # fmt: skip
            return False
        self.store.log_event(self.run.id, task.issue, "landing", commit=new, old=old)
        self.git.update_ref(self.base_ref, new, old)
        if self.git.current_branch() == self.run.base_branch:  # the main checkout moves with it
            self.git.follow(old, new)
        self._record_merged(task, new)
        say(f"#{task.issue}: merged into {self.run.base_branch} at {new[:12]}; tests pass")
        return True

    def _merge(self, worktree: Git, task: TaskRecord) -> bool:
        conflict = worktree.merge(str(task.head_commit), squash=self.landing.squash)
        if conflict is not None:
            say(f"#{task.issue}: merging {task.branch} conflicts:\n{conflict}")
            return False
        self._close_issue_file(worktree, task.issue)
        title = one_line(task.title, 100)
        worktree.commit(f"Merge #{task.issue}: {title}\n\nCloses #{task.issue}")
        return True

    def _close_issue_file(self, worktree: Git, number: IssueNumber) -> None:
        """The local forge's issue is closed in the same commit that lands its work."""
        issue = self.issues.get(number)
        if issue is None or not issue.source:
            return
        relative = Path(issue.source).resolve().relative_to(self.git.cwd)
        path = worktree.cwd / relative
        if path.is_file():
            path.write_text(close_front_matter(path.read_text(encoding="utf-8")), encoding="utf-8")
            worktree.add(str(relative))

    def _record_merged(self, task: TaskRecord, commit: CommitSha) -> None:
        pr = self.store.pull_for_head(task.branch)
        if pr is not None:
            self.store.set_pull_state(self.run.id, pr.number, "merged")
        self.store.log_event(self.run.id, task.issue, "landed", commit=commit)


def close_front_matter(text: str) -> str:
    """`state: closed` in the front matter: replaced if present, added before the closing line."""
    lines = text.split("\n")
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if not lines or lines[0].strip() != "---" or closing is None:
        return text
    front = "\n".join(lines[1:closing])
    if _STATE_LINE.search(front):
        front = _STATE_LINE.sub("state: closed", front)
    else:
        front = front + "\nstate: closed" if front else "state: closed"
    return "\n".join(["---", front, *lines[closing:]])
