"""Workspaces, branches, bases and backups.

A root issue starts at the base commit; a dependent starts from a commit that already contains
every dependency's branch, merged without touching any checkout. Nothing is deleted before its tip
is saved under refs/issuewave/backup/.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from issuewave.errors import IssuewaveError
from issuewave.git import Git, WorktreeEntry
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
    """The branch checked out at `path` if git knows it as a worktree of the user's repository
    (how issuewave 0.x kept workspaces); False if it does not."""
    for entry in git.worktrees():
        if entry.path.resolve() == path.resolve():
            return entry.branch
    return False


# --- private clones -----------------------------------------------------------------------------
# Each issue works in a clone of its own that borrows the repository's objects read-only (git's
# alternates). Its hooks, config, refs and index are its own: nothing the agent does to git reaches
# the user's repository. The user's branch of the same name is issuewave's: set at the base when
# the workspace is made, and moved to the workspace's tip only by `fetch_back`.


# Entries of a workspace's .git that would make it (a worktree of) another repository.
FOREIGN_GIT_ENTRIES = ("commondir", "gitdir", "config.worktree", "worktrees")


def is_workspace(path: Path) -> bool:
    """A clone made by issuewave: a real folder (not a link) with a real .git folder."""
    return not path.is_symlink() and path.is_dir() and _is_real_dir(path / ".git")


def _is_real_dir(path: Path) -> bool:
    return not path.is_symlink() and path.is_dir()


def pristine_git_files(git: Git) -> dict[str, bytes]:
    """What a workspace's .git holds that issuewave wrote and relies on (paths relative to .git):
    its config (identity, no remote), its excludes, the alternates. No hook."""
    name, email = git.identity
    config = (
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
        "\tlogallrefupdates = true\n[gc]\n\tauto = 0\n"
        f"[user]\n\tname = {_config_text(name)}\n\temail = {_config_text(email)}\n"
    )
    exclude = git.common_dir() / "info" / "exclude"
    return {
        "config": config.encode(),
        "info/exclude": exclude.read_bytes() if exclude.is_file() else b"",
        "objects/info/alternates": f"{git.common_dir() / 'objects'}\n".encode(),
    }


def _config_text(value: str) -> str:
    """A config value as git reads it back: quoted, with quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def write_pristine(path: Path, files: dict[str, bytes]) -> None:
    git_dir = path / ".git"
    for relative, content in files.items():
        target = git_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (git_dir / "hooks").mkdir(exist_ok=True)


def make_pristine(git: Git, path: Path) -> Git:
    """The workspace's .git back to what issuewave wrote (no hook, no config of the agent's, no
    link to another repository), so that issuewave's own git calls in it run nothing planted."""
    git_dir = path / ".git"
    if is_workspace(path):
        for name in ("hooks", "info", *FOREIGN_GIT_ENTRIES):
            _remove(git_dir / name)
        write_pristine(path, pristine_git_files(git))
    return git.at(path)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def create_worktree(git: Git, path: Path, branch: BranchName, start: CommitSha) -> Worktree:
    """The user's branch at `start` (created: it must not exist) and a clone on it at `path`."""
    git.create_ref(f"refs/heads/{branch}", start)
    _make_clone(git, path, branch, start)
    return Worktree(path, branch, start)


def _make_clone(git: Git, path: Path, branch: BranchName, tip: CommitSha) -> None:
    if path.exists():
        shutil.rmtree(path)  # a creation cut short: it holds nothing the branch lacks
    path.parent.mkdir(parents=True, exist_ok=True)
    clone = git.init_clone_of(path, git.common_dir() / "objects")
    write_pristine(path, pristine_git_files(git))
    clone.update_ref(f"refs/heads/{branch}", tip)
    clone.checkout_branch_files(branch)


def reopen_worktree(git: Git, path: Path, branch: BranchName, base: CommitSha) -> Worktree:
    """Resume on a branch that already holds this run's work: the clone as the last attempt left
    it (its git files made pristine again), or a new clone at the branch's tip."""
    if registered_worktree(git, path) is not False:  # a workspace of issuewave 0.x
        _retire_old_worktree(git, path, branch)
    if not is_workspace(path):
        _make_clone(git, path, branch, git.must_rev(f"refs/heads/{branch}"))
        return Worktree(path, branch, base)
    clone = make_pristine(git, path)
    if clone.current_branch() != branch:
        clone.switch(branch)
    return Worktree(path, branch, base)


def _retire_old_worktree(git: Git, path: Path, branch: BranchName) -> None:
    """A linked worktree shares the repository's hooks and config with its agent: its work is
    committed to the branch, then it makes way for a private clone."""
    worktree = git.at(path)
    if worktree.current_branch() == branch:
        worktree.commit_all(f"issuewave: work left in the worktree of {branch}")
    git.worktree_remove(path, even_locked=True)
    git.worktree_prune()


def fetch_back(git: Git, path: Path, branch: BranchName) -> CommitSha:
    """The workspace's branch tip, brought into the user's branch (whose old tip, if the new one
    does not contain it, is saved first). Runs only when no process of the attempt is alive and
    the workspace's git files are pristine, so no program of the agent's runs here."""
    tip = git.at(path).must_rev(f"refs/heads/{branch}")
    ref = f"refs/heads/{branch}"
    old = git.rev(ref)
    if old == tip:
        return tip
    git.fetch_from(path, ref)
    if old is not None and not git.is_ancestor(old, tip):
        backup_tip(git, branch, old)
    git.update_ref(ref, tip, old)
    return tip


def discard_unstarted(git: Git, path: Path, branch: BranchName, base: CommitSha) -> None:
    """Undo a workspace creation cut short: only when the branch holds nothing beyond its base."""
    if git.rev(f"refs/heads/{branch}") != base:
        raise IssuewaveError(f"branch {branch} moved past its base before any agent ran")
    if registered_worktree(git, path) is not False:
        git.worktree_remove(path, even_locked=True)  # git locks it while it initialises
        git.worktree_prune()
    elif is_workspace(path) and git.at(path).rev(f"refs/heads/{branch}") in (base, None):
        shutil.rmtree(path)
    git.delete_branch(branch, base)


def workspaces(git: Git, root: Path) -> list[WorktreeEntry]:
    """The workspaces under `root`: private clones, and linked worktrees of issuewave 0.x."""
    found = [w for w in git.worktrees() if w.path.resolve().is_relative_to(root)]
    listed = {w.path.resolve() for w in found}
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.resolve() not in listed and is_workspace(path):
            clone = make_pristine(git, path)
            branch = clone.current_branch()
            found.append(WorktreeEntry(path, clone.rev("HEAD"), branch))
    return found


def remove_workspace(git: Git, path: Path) -> None:
    """Callers save its work first (`save_uncommitted`)."""
    if registered_worktree(git, path) is not False:
        git.worktree_remove(path)
        git.worktree_prune()
    elif is_workspace(path):
        shutil.rmtree(path)


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
    """Files not committed, or commits the user's branch does not have yet."""
    if not is_workspace(path) and registered_worktree(git, path) is False:
        return False
    workspace = make_pristine(git, path)
    branch = workspace.current_branch()
    behind = branch is not None and workspace.rev(f"refs/heads/{branch}") != git.rev(
        f"refs/heads/{branch}"
    )
    return behind or bool(workspace.status())


def save_uncommitted(git: Git, path: Path, message: str) -> CommitSha | None:
    """Commit whatever the workspace holds and bring its branch into the user's repository, so a
    backup of the branch has everything; None if nothing was there to save."""
    workspace = make_pristine(git, path)  # no program of the agent's runs in here
    branch = workspace.current_branch()
    if branch is None:
        return None
    committed = workspace.commit_all(message)
    if not is_workspace(path):
        return workspace.must_rev("HEAD") if committed else None
    before = git.rev(f"refs/heads/{branch}")
    tip = fetch_back(git, path, branch)
    return tip if committed or tip != before else None
