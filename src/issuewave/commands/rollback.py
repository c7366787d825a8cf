"""`issuewave rollback`: remove an issue's worktree and branch — after saving every bit of work.

Uncommitted changes in the worktree are committed first, then the branch tip is saved under
refs/issuewave/backup/<branch>/<timestamp>; only then is anything removed. `--keep-branch` keeps
the branch for manual fixing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from issuewave.errors import InputError
from issuewave.git import Git
from issuewave.issues import Issue
from issuewave.naming import worktree_folder
from issuewave.project import Project, open_project
from issuewave.store import BLOCKED, FAILED, Store, TaskRecord, run_lock
from issuewave.types import IssueNumber, RunId
from issuewave.ui import say
from issuewave.workspace import (
    backup_branch,
    is_workspace,
    registered_worktree,
    remove_workspace,
    save_uncommitted,
)


@dataclass(frozen=True)
class Target:
    issue: int
    branch: str
    worktree: Path
    run_id: RunId | None  # None: a branch no run of ours knows, found by the branch pattern


def rollback(
    *, cwd: Path, issues: Sequence[int] = (), failed: bool = False, keep_branch: bool = False
) -> int:
    if not issues and not failed:
        raise InputError("name the issues to roll back, or pass --failed")
    project = open_project(cwd)
    run = project.store.latest_run()
    tasks = project.store.tasks(run.id) if run else []
    targets = _targets(project, tasks, issues, failed)
    with run_lock(project.store.home, "rollback"):
        for target in targets:
            _roll_back(project.git, project.store, target, keep_branch=keep_branch)
    return 0


def _targets(
    project: Project, tasks: list[TaskRecord], issues: Sequence[int], failed: bool
) -> list[Target]:
    by_issue = {int(t.issue): _of_task(t) for t in tasks}
    chosen = [by_issue.get(n) or _by_pattern(project, n) for n in issues]
    if failed:
        chosen += [
            by_issue[t.issue]
            for t in tasks
            if t.status in (FAILED, BLOCKED) and t.issue not in issues
        ]
    if not chosen:
        say("nothing to roll back: no failed issues in the latest run")
    return chosen


def _of_task(task: TaskRecord) -> Target:
    return Target(int(task.issue), task.branch, Path(task.worktree), task.run_id)


def _by_pattern(project: Project, number: int) -> Target:
    """An issue outside the latest run: its branch and folder by the configured patterns."""
    known = {int(i.number): i for i in project.issue_set.issues}
    issue = known.get(number) or Issue(IssueNumber(number), "")
    return Target(
        number,
        project.branch_for(issue),
        project.worktree_root / worktree_folder(issue),
        None,
    )


def _roll_back(git: Git, store: Store, target: Target, *, keep_branch: bool) -> None:
    path = target.worktree
    if is_workspace(path) or registered_worktree(git, path) is not False:
        save_uncommitted(git, path, f"issuewave: work left in the workspace of #{target.issue}")
    saved = backup_branch(git, target.branch)
    remove_workspace(git, path)
    if saved is not None and not keep_branch:
        git.delete_branch(target.branch, saved[1])
    pr = store.pull_for_head(target.branch)
    if pr is not None and pr.state == "open" and not keep_branch:
        store.set_pull_state(pr.run_id, pr.number, "closed")
    if target.run_id is not None:
        store.log_event(
            target.run_id,
            IssueNumber(target.issue),
            "rolled_back",
            backup=saved[0] if saved else None,
            kept_branch=keep_branch,
        )
    say(_describe(target, saved, keep_branch))


def _describe(target: Target, saved: tuple[str, str] | None, keep_branch: bool) -> str:
    if saved is None:
        return f"#{target.issue}: no branch {target.branch}; worktree removed if it existed"
    kept = "kept the branch" if keep_branch else "removed the branch"
    return (
        f"#{target.issue}: saved {target.branch} at {saved[1][:12]} as {saved[0]}; "
        f"removed the worktree, {kept} (restore: git branch {target.branch} {saved[0]})"
    )
