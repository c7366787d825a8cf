"""`issuewave clean`: remove the workspaces of landed or rolled-back issues and say what it freed.

A workspace with changes its branch does not hold is never removed, and a branch is deleted only
when its work is merged into the base branch or saved under refs/issuewave/backup/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from issuewave.git import Git, WorktreeEntry
from issuewave.project import open_project
from issuewave.store import Store, run_lock
from issuewave.ui import say
from issuewave.workspace import BACKUP_PREFIX, remove_workspace, unsaved_changes, workspaces


@dataclass(frozen=True)
class Verdict:
    remove: bool
    why: str


def clean(*, cwd: Path, dry_run: bool = False) -> int:
    project = open_project(cwd)
    git, store = project.git, project.store
    run = store.latest_run()
    base = f"refs/heads/{run.base_branch}" if run else f"refs/heads/{git.default_branch()}"
    root = project.worktree_root
    ours = workspaces(git, root)
    freed = 0
    with run_lock(store.home, "clean"):
        for entry in ours:
            verdict = _judge(git, store, entry, base)
            if not verdict.remove or dry_run:
                action = "would remove" if verdict.remove else "kept"
                say(f"{action} {entry.path}: {verdict.why}")
                continue
            freed += _remove(git, entry, base)
            say(f"removed {entry.path}: {verdict.why}")
    say(f"reclaimed {_size(freed)}" if not dry_run else "nothing removed (dry run)")
    return 0


def _judge(git: Git, store: Store, entry: WorktreeEntry, base: str) -> Verdict:
    if unsaved_changes(git, entry.path):
        dirty = bool(git.at(entry.path).status())  # the .git is pristine again by now
        why = "it has uncommitted changes" if dirty else "it has commits its branch lacks"
        return Verdict(False, why)
    if entry.head is not None and git.is_ancestor(entry.head, base):
        return Verdict(True, f"its work is merged into {base.removeprefix('refs/heads/')}")
    if entry.branch is None or not git.branch_exists(entry.branch):
        return Verdict(True, "its branch was rolled back (saved under refs/issuewave/backup/)")
    if entry.head is not None and _backed_up(git, entry.branch, entry.head):
        return Verdict(True, "its branch tip is saved under refs/issuewave/backup/")
    return Verdict(False, "its work is neither merged nor backed up")


def _backed_up(git: Git, branch: str, head: str) -> bool:
    return any(sha == head for _, sha in git.refs(f"{BACKUP_PREFIX}/{branch}/"))


def _remove(git: Git, entry: WorktreeEntry, base: str) -> int:
    size = _disk_usage(entry.path)
    remove_workspace(git, entry.path)
    merged = entry.head is not None and git.is_ancestor(entry.head, base)
    if entry.branch and merged and git.branch_exists(entry.branch):
        git.delete_branch(entry.branch, git.must_rev(f"refs/heads/{entry.branch}"))
    return size


def _disk_usage(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} B"
