"""Worktrees, branches, bases and backups.

A root issue starts at the base commit; a dependent starts from a commit that already contains
every dependency's branch, merged without touching any checkout. Nothing is deleted before its tip
is saved under refs/issuewave/backup/.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from issuewave.errors import IssuewaveError
from issuewave.git import Git
from issuewave.types import BranchName, CommitSha

BACKUP_PREFIX = "refs/issuewave/backup"


class MergeConflict(IssuewaveError):
    """Two dependencies of one issue changed the same lines."""

    def __init__(self, left: str, right: str, files: Sequence[str]) -> None:
        listed = ", ".join(files)
        super().__init__(f"dependencies {left} and {right} conflict in: {listed}")
        self.files = tuple(files)


@dataclass(frozen=True)
class Worktree:
    path: Path
    branch: BranchName
    base: CommitSha


def merged_base(git: Git, tips: Sequence[tuple[str, CommitSha]], message: str) -> CommitSha:
    """One commit containing every tip: the tip itself for one, else a chain of merge commits."""
    label, acc = tips[0]
    for other_label, other in tips[1:]:
        if git.is_ancestor(other, acc):
            continue
        if git.is_ancestor(acc, other):
            label, acc = other_label, other
            continue
        result = git.merge_tree(acc, other)
        if result.conflicts:
            raise MergeConflict(label, other_label, result.conflicts)
        acc = git.commit_tree(result.tree, [acc, other], message)
        label = f"{label}+{other_label}"
    return acc


def ensure_excluded(git: Git, repo_root: Path, folder: Path) -> None:
    """Keep the worktrees folder out of `git status` of the main checkout."""
    try:
        relative = folder.resolve().relative_to(repo_root)
    except ValueError:
        return  # outside the repository: nothing to exclude
    add_exclude(git, f"/{relative.as_posix()}/", "issuewave worktrees")


def add_exclude(git: Git, entry: str, why: str) -> None:
    """One line in .git/info/exclude, shared by every worktree; added once."""
    exclude = git.common_dir() / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    existing = exclude.read_text().splitlines() if exclude.exists() else []
    if entry not in existing:
        with exclude.open("a") as handle:
            prefix = "" if not existing or exclude.read_text().endswith("\n") else "\n"
            handle.write(f"{prefix}# {why}\n{entry}\n")


def registered_worktree(git: Git, path: Path) -> BranchName | bool | None:
    """The branch checked out at `path` if git knows that worktree; False if it does not."""
    for entry in git.worktrees():
        if entry.path.resolve() == path.resolve():
            return entry.branch
    return False


def create_worktree(git: Git, path: Path, branch: BranchName, start: CommitSha) -> Worktree:
    path.parent.mkdir(parents=True, exist_ok=True)
    git.worktree_add_new_branch(path, branch, start)
    return Worktree(path, branch, start)


def reopen_worktree(git: Git, path: Path, branch: BranchName, base: CommitSha) -> Worktree:
    """Resume on a branch that already holds this run's work; recreate a removed folder."""
    checked_out = registered_worktree(git, path) if path.is_dir() else False
    if checked_out is False:
        git.worktree_prune()
        git.worktree_add(path, branch)
    elif checked_out != branch:
        git.at(path).switch(branch)
    return Worktree(path, branch, base)


def discard_unstarted(git: Git, path: Path, branch: BranchName, base: CommitSha) -> None:
    """Undo a worktree creation cut short: only when the branch holds nothing beyond its base."""
    if git.rev(f"refs/heads/{branch}") != base:
        raise IssuewaveError(f"branch {branch} moved past its base before any agent ran")
    if registered_worktree(git, path) is not False:
        git.worktree_remove(path, even_locked=True)  # git locks it while it initialises
    git.worktree_prune()
    git.delete_branch(branch, base)


def backup_branch(git: Git, branch: str) -> tuple[str, CommitSha] | None:
    """Save the branch tip under refs/issuewave/backup/<branch>/<timestamp>; None if no branch."""
    tip = git.rev(f"refs/heads/{branch}")
    if tip is None:
        return None
    return backup_tip(git, branch, tip), tip


def backup_tip(git: Git, branch: str, tip: str) -> str:
    """Save `tip` (the branch's, here or on a remote) as a new backup ref of `branch`."""
    ref = f"{BACKUP_PREFIX}/{branch}/{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
    git.update_ref(ref, tip)
    return ref


def unsaved_changes(git: Git, path: Path) -> bool:
    return path.is_dir() and bool(git.at(path).status())


def save_uncommitted(git: Git, path: Path, message: str) -> CommitSha | None:
    """Commit whatever the worktree holds so the backup has it; None if it was clean."""
    worktree = git.at(path)
    if not worktree.status():
        return None
    worktree.commit_all(message)
    return worktree.must_rev("HEAD")
