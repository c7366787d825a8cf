"""`issuewave rollback`: remove an issue's worktree and branch — after saving every bit of work.

Uncommitted changes in the worktree are committed first, then the branch tip is saved under
refs/issuewave/backup/<branch>/<timestamp>; only then is anything removed. `--keep-branch` keeps
the branch for manual fixing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from issuewave.commands._shared import pick_run, say
from issuewave.errors import InputError
from issuewave.git import Git
from issuewave.project import open_project
from issuewave.store import BLOCKED, FAILED, Store, TaskRecord, run_lock
from issuewave.workspace import backup_branch, registered_worktree, save_uncommitted


def rollback(
    *, cwd: Path, issues: Sequence[int] = (), failed: bool = False, keep_branch: bool = False
) -> int:
    if not issues and not failed:
        raise InputError("name the issues to roll back, or pass --failed")
    project = open_project(cwd)
    store = project.store
    run = pick_run(store, None)
    targets = _targets(store.tasks(run.id), issues, failed)
    with run_lock(store.home, f"rollback of {run.id}"):
        for task in targets:
            _roll_back(project.git, store, task, keep_branch=keep_branch)
    return 0


def _targets(tasks: list[TaskRecord], issues: Sequence[int], failed: bool) -> list[TaskRecord]:
    by_issue = {t.issue: t for t in tasks}
    unknown = [n for n in issues if n not in by_issue]
    if unknown:
        raise InputError(
            f"issue #{unknown[0]} is not part of the latest run",
            hint="`issuewave status` lists the run's issues",
        )
    chosen = [by_issue[n] for n in issues]  # type: ignore[index]
    if failed:
        chosen += [t for t in tasks if t.status in (FAILED, BLOCKED) and t not in chosen]
    if not chosen:
        say("nothing to roll back: no failed issues in the latest run")
    return chosen


def _roll_back(git: Git, store: Store, task: TaskRecord, *, keep_branch: bool) -> None:
    path = Path(task.worktree)
    if path.is_dir() and registered_worktree(git, path) is not False:
        save_uncommitted(git, path, f"issuewave: work left in the worktree of #{task.issue}")
    saved = backup_branch(git, task.branch)
    if path.is_dir() and registered_worktree(git, path) is not False:
        git.worktree_remove(path)
    git.worktree_prune()
    if saved is not None and not keep_branch:
        git.delete_branch(task.branch, saved[1])
    pr = store.pull_for_head(task.branch)
    if pr is not None and pr.state == "open" and not keep_branch:
        store.set_pull_state(task.run_id, pr.number, "closed")
    store.log_event(
        task.run_id,
        task.issue,
        "rolled_back",
        backup=saved[0] if saved else None,
        kept_branch=keep_branch,
    )
    say(_describe(task, saved, keep_branch))


def _describe(task: TaskRecord, saved: tuple[str, str] | None, keep_branch: bool) -> str:
    if saved is None:
        return f"#{task.issue}: no branch {task.branch}; worktree removed if it existed"
    kept = "kept the branch" if keep_branch else "removed the branch"
    return (
        f"#{task.issue}: saved {task.branch} at {saved[1][:12]} as {saved[0]}; "
        f"removed the worktree, {kept} (restore: git branch {task.branch} {saved[0]})"
    )
