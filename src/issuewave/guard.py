"""What an attempt may not change, compared after every attempt, named, and undone.

An agent is untrusted code. Its workspace is a private clone, and on Linux it runs in a sandbox
that cannot write the user's repository, but without the sandbox it can write anything the user
can. So after every attempt two things are compared with their state before it:

- the user's repository: every ref but issuewave's own (backups, this run's branches, which the
  executor checks against the tips it set), its config, hooks and info, the global git config, and,
  without the sandbox, the main checkout's files (ignored ones such as `.env` included);
- the workspace's own `.git`: its config, hooks and info must be what issuewave wrote, since
  issuewave runs git there next (an fsmonitor, a hook or a filter driver would run inside it).

Any change fails the attempt with the change named. Refs and files are put back; whatever was
replaced is kept (a backup ref, or a copy under the run's folder), so nothing is lost even when the
change was the user's own.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from issuewave.git import Git
from issuewave.workspace import FOREIGN_GIT_ENTRIES, is_workspace, pristine_git_files

GUARD_PREFIX = "refs/issuewave/guard"  # what an undone ref change pointed to
KEEP_FILE_BYTES = 1024 * 1024  # content kept per file, to put it back
KEEP_TOTAL_BYTES = 32 * 1024 * 1024  # and in all, per snapshot
_GIT_FILES = ("config", "config.worktree", "commondir", "hooks", "info", "objects/info/alternates")


@dataclass(frozen=True)
class FileState:
    fingerprint: tuple[int, int, int]  # size, mtime, mode: changes when the file does
    content: bytes | None  # None: not kept (too large); a change is named, not undone


@dataclass(frozen=True)
class RepositorySnapshot:
    refs: Mapping[str, str]
    files: Mapping[Path, FileState]  # absolute paths: git's own files, the global config
    checkout: Mapping[Path, FileState]  # the main checkout's files, where they are watched


@dataclass(frozen=True)
class Change:
    what: str  # "hook .git/hooks/post-commit added"
    undo: Callable[[], str] = field(compare=False)  # puts it back; says where the change went


class RepositoryGuard:
    """The user's repository as an attempt must leave it."""

    def __init__(self, git: Git, *, own_ref: Callable[[str], bool], leave_out: Iterable[Path],
                 scan_checkout: bool) -> None:  # fmt: skip
        self.git = git
        self.own_ref = own_ref  # refs issuewave itself moves during the run
        relative = (_relative(p, git.cwd) for p in leave_out)
        self.leave_out = [p for p in relative if p is not None]
        self.scan_checkout = scan_checkout

    # --- the snapshot ---------------------------------------------------------------------------
    def snapshot(self, *, checkout: bool = True) -> RepositorySnapshot:
        """`checkout`: the main checkout's files too (where watched): the costly part, a walk
        of its whole tree."""
        refs = {k: v for k, v in self.git.all_refs().items() if not self.own_ref(k)}
        budget = [KEEP_TOTAL_BYTES]
        files = _states(self._git_files(), budget)
        scanned = self.scan_checkout and checkout
        return RepositorySnapshot(refs, files, _states(self._checkout_files(), budget) if scanned
                                  else {})  # fmt: skip

    def _git_files(self) -> list[Path]:
        common = self.git.common_dir()
        paths = [p for name in _GIT_FILES for p in _files_under(common / name)]
        return paths + [p for config in global_git_configs() for p in _files_under(config)]

    def _checkout_files(self) -> list[Path]:
        """Ignored, untracked and modified files of the main checkout (tracked clean files show
        up in `git status` once changed, and git has their content)."""
        root = self.git.cwd
        listed = self.git.ignored_files(self.leave_out)
        dirty = [entry[3:] for entry in self.git.status().split("\0") if len(entry) > 3]
        return [root / name for name in [*listed, *dirty] if not self._left_out(name)]

    def _left_out(self, name: str) -> bool:
        return any(Path(name).is_relative_to(folder) for folder in self.leave_out)

    # --- the comparison -------------------------------------------------------------------------
    def changes(
        self, before: RepositorySnapshot, keep: Path, *, checkout: bool = True
    ) -> list[Change]:
        """What differs from `before`; `keep` is where replaced files are saved when undone.
        `checkout`: compare the main checkout's files too (`before` must hold them)."""
        after = self.snapshot(checkout=checkout)
        found = self._ref_changes(before.refs, after.refs)
        found += self._file_changes(before.files, after.files, keep)
        if checkout:
            found += self._file_changes(before.checkout, after.checkout, keep)
        return found

    def _ref_changes(self, before: Mapping[str, str], after: Mapping[str, str]) -> list[Change]:
        found = []
        for ref in sorted(set(before) | set(after)):
            old, new = before.get(ref), after.get(ref)
            if old != new:
                found.append(self._ref_change(ref, old, new))
        return found

    def _ref_change(self, ref: str, old: str | None, new: str | None) -> Change:
        git = self.git
        if ref == "HEAD":  # its files moved with it: only the user can put the checkout back
            moved = f"the main checkout's HEAD moved from {old} to {new}"
            return Change(moved, lambda: "not undone")
        if old is None:
            created = f"ref {ref} created at {_short(new)}"
            return Change(created, lambda: _drop_ref(git, ref, new))
        if new is None:
            deleted = f"ref {ref} deleted (was {_short(old)})"
            return Change(deleted, lambda: _set_ref(git, ref, old))
        return Change(f"ref {ref} moved from {_short(old)} to {_short(new)}",
                      lambda: _set_ref(git, ref, old, saved=new))  # fmt: skip

    def _file_changes(self, before: Mapping[Path, FileState], after: Mapping[Path, FileState],
                      keep: Path) -> list[Change]:  # fmt: skip
        found = []
        for path in sorted(set(before) | set(after)):
            old, new = before.get(path), after.get(path)
            if old is None and new is not None and self._is_newly_dirty_tracked(path):
                found.append(self._tracked_change(path, keep))
            elif (old and old.fingerprint) != (new and new.fingerprint):
                found.append(self._file_change(path, old, new, keep))
        return found

    def _is_newly_dirty_tracked(self, path: Path) -> bool:
        relative = _relative(path, self.git.cwd)
        if relative is None or self.git.common_dir() in path.parents:
            return False
        done = self.git.run("ls-files", "--error-unmatch", "--", str(relative), check=False)
        return done.returncode == 0

    def _tracked_change(self, path: Path, keep: Path) -> Change:
        relative = _relative(path, self.git.cwd)
        shown = f"file {relative} of the main checkout changed"

        def undo() -> str:
            saved = _keep_copy(path, keep, self.git.cwd)
            self.git.run("checkout", "--quiet", "HEAD", "--", str(relative))
            return f"restored from HEAD; the changed file is kept as {saved}"

        return Change(shown, undo)

    def _file_change(self, path: Path, old: FileState | None, new: FileState | None,
                     keep: Path) -> Change:  # fmt: skip
        shown = _describe(path, self.git, old, new)

        def undo() -> str:
            saved = _keep_copy(path, keep, self.git.cwd) if path.exists() else None
            kept = f"; the changed file is kept as {saved}" if saved else ""
            if old is None:
                path.unlink(missing_ok=True)
                return f"removed{kept}"
            if old.content is None:
                return f"not restored (too large to keep a copy of){kept}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            path.write_bytes(old.content)
            path.chmod(stat.S_IMODE(old.fingerprint[2]))
            return f"restored{kept}"

        return Change(shown, undo)


# --- the workspace's own .git ---------------------------------------------------------------------
def workspace_git_changes(git: Git, path: Path) -> list[str]:
    """How the workspace's .git differs from what issuewave wrote there (and relies on)."""
    if not is_workspace(path):
        return [f"the workspace {path} is no longer a folder with its own .git folder"]
    git_dir = path / ".git"
    found = []
    for relative, content in pristine_git_files(git).items():
        target = git_dir / relative
        if not target.is_file() or target.is_symlink() or target.read_bytes() != content:
            found.append(f"its .git/{relative} was changed")
    hooks = sorted(_names(git_dir / "hooks"))
    found += [f"hook .git/hooks/{name} planted in its workspace" for name in hooks]
    extra = sorted(set(_names(git_dir / "info")) - {"exclude"})
    found += [f"its .git/info/{name} was added" for name in extra]
    found += [f"its .git/{e} was added" for e in FOREIGN_GIT_ENTRIES if (git_dir / e).exists()]
    return found


# --- helpers --------------------------------------------------------------------------------------
def global_git_configs() -> list[Path]:
    """The config files git reads besides the repository's own (they apply to every repository
    of the user, so a change there outlives the attempt)."""
    home = Path(os.environ.get("HOME", "~")).expanduser()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [home / ".gitconfig", xdg / "git", Path("/etc/gitconfig")]


def _files_under(path: Path) -> list[Path]:
    if path.is_symlink() or path.is_file():
        return [path]
    if path.is_dir():
        return [p for p in sorted(path.rglob("*")) if p.is_symlink() or p.is_file()]
    return []


def _states(paths: Iterable[Path], budget: list[int]) -> dict[Path, FileState]:
    found = {p: _state(p, budget) for p in paths}
    return {p: s for p, s in found.items() if s is not None}


def _state(path: Path, budget: list[int]) -> FileState | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    fingerprint = (info.st_size, info.st_mtime_ns, info.st_mode)
    content = None
    if stat.S_ISREG(info.st_mode) and info.st_size <= min(KEEP_FILE_BYTES, budget[0]):
        try:
            content = path.read_bytes()
            budget[0] -= len(content)
        except OSError:
            content = None
    return FileState(fingerprint, content)


def _describe(path: Path, git: Git, old: FileState | None, new: FileState | None) -> str:
    verb = "added" if old is None else "deleted" if new is None else "changed"
    common = git.common_dir()
    if path.is_relative_to(common):
        relative = path.relative_to(common)
        kind = "hook" if relative.parts[0] == "hooks" else "file"
        return f"{kind} .git/{relative.as_posix()} of the repository {verb}"
    if path.is_relative_to(git.cwd):
        return f"file {path.relative_to(git.cwd).as_posix()} of the main checkout {verb}"
    return f"git config file {path} {verb}"


def _keep_copy(path: Path, keep: Path, root: Path) -> Path:
    relative = _relative(path, root) or Path(*path.parts[1:])
    target = keep / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        target.symlink_to(path.readlink())
    else:
        shutil.copy2(path, target)
    return target


def _set_ref(git: Git, ref: str, old: str, saved: str | None = None) -> str:
    kept = ""
    if saved is not None:
        backup = f"{GUARD_PREFIX}/{ref.removeprefix('refs/')}/{time.time_ns()}"
        git.update_ref(backup, saved)
        kept = f"; what it pointed to is kept as {backup}"
    git.update_ref(ref, old)
    return f"put back at {_short(old)}{kept}"


def _drop_ref(git: Git, ref: str, new: str | None) -> str:
    backup = f"{GUARD_PREFIX}/{ref.removeprefix('refs/')}/{time.time_ns()}"
    if new and git.rev(new) is not None:
        git.update_ref(backup, new)
    git.delete_ref(ref)
    return f"deleted; what it pointed to is kept as {backup}"


def _short(sha: str | None) -> str:
    return (sha or "nothing")[:12]


def _relative(path: Path, root: Path) -> Path | None:
    try:
        return path.resolve().relative_to(root) if path.is_absolute() else path
    except ValueError:
        return None


def _names(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()] if _is_dir(folder) else []


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
