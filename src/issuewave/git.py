"""The one place that runs git. Every method is a small wrapper around one git command."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from issuewave import proc
from issuewave.errors import PrecheckError
from issuewave.types import BranchName, CommitSha

# Automatic gc or maintenance in the middle of parallel workspace operations takes locks we need.
# No hook and no fsmonitor ever runs inside issuewave's own git calls: an agent may have planted
# one (in a repository's config or hooks, or the global config) between two checks.
_QUIET_CONFIG = (
    "-c", "gc.auto=0", "-c", "maintenance.auto=false",
    "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
)  # fmt: skip
ZERO_SHA = "0" * 40
FALLBACK_NAME, FALLBACK_EMAIL = "issuewave", "issuewave@localhost"
FALLBACK_IDENTITY = ("-c", f"user.name={FALLBACK_NAME}", "-c", f"user.email={FALLBACK_EMAIL}")


@dataclass(frozen=True)
class MergeResult:
    tree: str
    conflicts: tuple[str, ...]


@dataclass(frozen=True)
class WorktreeEntry:
    path: Path
    head: CommitSha | None
    branch: BranchName | None


class Git:
    """git bound to one working directory (the main checkout or a worktree)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd.resolve()
        self._common_dir: Path | None = None

    def run(self, *args: str, check: bool = True) -> proc.Completed:
        return proc.run(["git", *_QUIET_CONFIG, *args], cwd=self.cwd, check=check)

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def at(self, cwd: Path) -> Git:
        return Git(cwd)

    # --- identity --------------------------------------------------------------------------
    @cached_property
    def identity_args(self) -> tuple[str, ...]:
        """Commits need an author; fall back to a neutral one instead of failing a whole run."""
        return () if self.config_value("user.email") else FALLBACK_IDENTITY

    # --- repository facts ------------------------------------------------------------------
    def toplevel(self) -> Path:
        return Path(self.out("rev-parse", "--show-toplevel")).resolve()

    def common_dir(self) -> Path:
        """Asked once per Git object: a checkout does not change repositories under it."""
        if self._common_dir is None:
            self._common_dir = Path(
                self.out("rev-parse", "--path-format=absolute", "--git-common-dir")
            )
        return self._common_dir

    @cached_property
    def identity(self) -> tuple[str, str]:
        """Who commits here (user.name, user.email), issuewave's neutral one where unset."""
        name = self.config_value("user.name") or FALLBACK_NAME
        return name, self.config_value("user.email") or FALLBACK_EMAIL

    def git_dir(self) -> Path:
        return Path(self.out("rev-parse", "--path-format=absolute", "--git-dir"))

    def rev(self, ref: str) -> CommitSha | None:
        done = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return CommitSha(done.stdout.strip()) if done.returncode == 0 else None

    def must_rev(self, ref: str) -> CommitSha:
        sha = self.rev(ref)
        if sha is None:
            raise PrecheckError(f"no commit named {ref!r} in {self.cwd}")
        return sha

    def branch_exists(self, branch: str) -> bool:
        return self.rev(f"refs/heads/{branch}") is not None

    def current_branch(self) -> BranchName | None:
        done = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return BranchName(done.stdout.strip()) if done.returncode == 0 else None

    def default_branch(self) -> BranchName:
        """origin's HEAD if known, else the main checkout's branch, else main/master."""
        done = self.run(
            "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False
        )
        if done.returncode == 0 and "/" in done.stdout:
            return BranchName(done.stdout.strip().split("/", 1)[1])
        current = self.current_branch()
        if current is not None:
            return current
        return BranchName("main" if self.branch_exists("main") else "master")

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return (
            self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False).returncode
            == 0
        )

    def is_valid_branch_name(self, name: str) -> bool:
        return self.run("check-ref-format", "--branch", name, check=False).returncode == 0

    # Diffs never run an external diff or textconv program a repository's config names.
    def changed_files(self, base: str, head: str) -> list[str]:
        if base == head:
            return []
        return self.out("diff", *_NO_PROGRAMS, "--name-only", "-z", base, head).split("\0")

    def diff_stat(self, base: str, head: str) -> str:
        return self.out("diff", *_NO_PROGRAMS, "--shortstat", base, head)

    def diff_stat_by_file(self, base: str, head: str, width: int = 100) -> str:
        return self.out("diff", *_NO_PROGRAMS, f"--stat={width}", base, head)

    def diff(self, base: str, head: str, paths: Sequence[str] = ()) -> str:
        return self.out("diff", *_NO_PROGRAMS, f"{base}..{head}", "--", *paths)

    def symlinks_added(self, base: str, head: str) -> list[tuple[str, str]]:
        """(path, target) of every symbolic link that `head` adds or changes against `base`."""
        lines = self.out("diff", *_NO_PROGRAMS, "--raw", "-z", "--no-abbrev", "--diff-filter=AMT",
                         base, head).split("\0")  # fmt: skip
        links = []
        for meta, path in zip(lines[0::2], lines[1::2], strict=False):
            fields = meta.split()
            if len(fields) >= 4 and fields[1] == "120000":
                links.append((path, self.out("cat-file", "blob", fields[3])))
        return links

    def remote_url(self, remote: str) -> str | None:
        done = self.run("remote", "get-url", remote, check=False)
        return done.stdout.strip() or None if done.returncode == 0 else None

    # --- merging without a checkout --------------------------------------------------------
    def merge_tree(self, ours: str, theirs: str) -> MergeResult:
        done = self.run(
            "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs, check=False
        )
        if done.returncode not in (0, 1):
            raise proc.CommandError(done.argv, done.returncode, done.stdout + done.stderr)
        tree, *conflicts = done.stdout.splitlines()
        return MergeResult(tree, tuple(dict.fromkeys(c for c in conflicts if c)))

    def commit_tree(self, tree: str, parents: list[str], message: str) -> CommitSha:
        parent_args = [arg for p in parents for arg in ("-p", p)]
        args = [*self.identity_args, "commit-tree", tree, *parent_args, "-m", message]
        return CommitSha(self.out(*args))

    # --- what test verification reads --------------------------------------------------------
    # Paths here may come from an agent's commit: read literally, never as pathspec magic or globs.
    def name_status(self, base: str, head: str) -> list[tuple[str, str]]:
        """(status letter, path) of each file `head` changes against `base`; a rename is a
        deletion and an addition, so a renamed test file counts as a removed one."""
        listing = self.run("diff", "--no-ext-diff", "--name-status", "--no-renames", "-z",
                           base, head).stdout.split("\0")  # fmt: skip
        return list(zip(listing[0::2], listing[1::2], strict=False))

    def file_at(self, commit: str, path: str) -> str | None:
        """The text of `path` in `commit`; None where it has no such file."""
        done = self.run("cat-file", "blob", f"{commit}:{path}", check=False)
        return done.stdout if done.returncode == 0 else None

    def tracked_under(self, folder: str, commit: str | None = None) -> list[str]:
        """Files under `folder` in the index, or in `commit`'s tree when one is given."""
        where = ("ls-tree", "-r", "--name-only", "-z", commit) if commit else ("ls-files", "-z")
        done = self.run("--literal-pathspecs", *where, "--", folder)
        return [name for name in done.stdout.split("\0") if name]

    def restore_files(self, commit: str, paths: Sequence[str]) -> None:
        """`paths` as they are in `commit`, written over this checkout's (index included)."""
        self.run("--literal-pathspecs", "checkout", "--quiet", commit, "--", *paths)

    def parents(self, commit: str) -> list[CommitSha]:
        line = self.out("rev-list", "--parents", "-n", "1", commit)
        return [CommitSha(parent) for parent in line.split()[1:]]

    # --- refs ------------------------------------------------------------------------------
    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        self.run("update-ref", ref, new, *([old] if old else []))

    def delete_branch(self, branch: str, expected_tip: str) -> None:
        """Delete only if the branch still points where we backed it up from."""
        self.run("update-ref", "-d", f"refs/heads/{branch}", expected_tip)

    def create_ref(self, ref: str, new: str) -> None:
        """Create `ref` at `new`; refuses when it exists."""
        self.run("update-ref", ref, new, ZERO_SHA)

    def delete_ref(self, ref: str) -> None:
        self.run("update-ref", "-d", ref)

    def symbolic_ref(self, name: str, ref: str) -> None:
        self.run("symbolic-ref", name, ref)

    def all_refs(self) -> dict[str, str]:
        """Every ref (tags and notes included) with the object it names, and HEAD's target."""
        lines = self.out("for-each-ref", "--format=%(refname) %(objectname)").splitlines()
        refs = dict(line.split(" ", 1) for line in lines)
        head = self.run("symbolic-ref", "--quiet", "HEAD", check=False).stdout.strip()
        refs["HEAD"] = head or (self.rev("HEAD") or "")
        return refs

    def refs(self, prefix: str) -> list[tuple[str, CommitSha]]:
        lines = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix).splitlines()
        return [(name, CommitSha(sha)) for name, sha in (line.split(" ", 1) for line in lines)]

    # --- linked worktrees (made by issuewave 0.x; removed when met) ------------------------
    def worktree_remove(self, path: Path, *, even_locked: bool = False) -> None:
        """--force drops uncommitted changes: callers save them first (workspace.py)."""
        force = ("--force", "--force") if even_locked else ("--force",)
        self.run("worktree", "remove", *force, str(path))

    def worktree_prune(self) -> None:
        self.run("worktree", "prune")

    def worktrees(self) -> list[WorktreeEntry]:
        return _parse_worktrees(self.out("worktree", "list", "--porcelain"))

    # --- private clones --------------------------------------------------------------------
    def init_clone_of(self, path: Path, source_objects: Path) -> Git:
        """An empty repository at `path` that reads `source_objects` (never writes them): no
        template (no sample hooks), no remote, no refs of the source."""
        path.mkdir(parents=True, exist_ok=True)
        proc.run(["git", *_QUIET_CONFIG, "init", "--quiet", "--template=", str(path)], cwd=path)
        clone = Git(path)
        alternates = clone.git_dir() / "objects" / "info" / "alternates"
        alternates.parent.mkdir(parents=True, exist_ok=True)
        alternates.write_text(f"{source_objects}\n")
        return clone

    def fetch_from(self, source: Path, ref: str) -> None:
        """The objects of `ref` in the repository at `source`, copied here; no ref written here
        (the caller moves its own ref with compare-and-swap), no tags, no submodules."""
        self.run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                 "--no-recurse-submodules", str(source), ref)  # fmt: skip

    def checkout_branch_files(self, branch: str) -> None:
        """Point HEAD at `branch` and make the index and files match it (a new clone's first
        checkout: there is nothing to lose)."""
        self.symbolic_ref("HEAD", f"refs/heads/{branch}")
        self.run("read-tree", "--reset", "-u", "HEAD")

    def config_value(self, key: str) -> str | None:
        done = self.run("config", "--get", key, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    # --- remotes ---------------------------------------------------------------------------
    def push(self, remote: str, branch: str) -> None:
        """Publish a branch under the same name; never forced (our branches only move forward)."""
        self.run("push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")

    def push_with_lease(self, remote: str, commit: str, branch: str, expected: str) -> str | None:
        """Replace the remote branch only if it is still at `expected`; the refusal, if any."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected}"
        done = self.run("push", "--quiet", lease, remote, f"{commit}:refs/heads/{branch}",
                        check=False)  # fmt: skip
        return done.stderr.strip() or "refused" if done.returncode != 0 else None

    def fetch_branch(self, remote: str, branch: str) -> CommitSha:
        """The remote's branch, fetched into its tracking ref (forced: it mirrors the remote)."""
        tracking = f"refs/remotes/{remote}/{branch}"
        self.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:{tracking}")
        return self.must_rev(tracking)

    # --- working tree ----------------------------------------------------------------------
    def switch(self, branch: str) -> None:
        """Refuses rather than lose changes."""
        self.run("switch", "--quiet", branch)

    def checkout_detached(self, commit: str) -> None:
        self.run("checkout", "--quiet", "--detach", commit)

    def reset_hard(self, commit: str, *, check: bool = True) -> None:
        """Only ever in issuewave's own worktrees, whose changes are saved or throwaway."""
        self.run("reset", "--quiet", "--hard", commit, check=check)

    def follow(self, old: str, new: str) -> None:
        """Move this checkout's files from `old` to `new` (a fast-forward of its branch's ref)."""
        self.run("read-tree", "-m", "-u", old, new)

    def merge(self, tip: str, *, squash: bool) -> str | None:
        """Merge `tip` into the index, uncommitted; on a conflict, undo it and say what clashed."""
        args = ["--squash"] if squash else ["--no-ff", "--no-commit"]
        done = self.run("merge", "--quiet", *args, tip, check=False)
        if done.returncode == 0:
            return None
        self.run("merge", "--abort", check=False)
        self.reset_hard("HEAD", check=False)
        return _last_lines(done.stdout + done.stderr)

    def rebase_onto(self, onto: str, upstream: str) -> str | None:
        """Replay the commits after `upstream` onto `onto`; on a conflict, undo it and say why."""
        done = self.run(*self.identity_args, "rebase", "--quiet", "--no-verify",
                        "--onto", onto, upstream, check=False)  # fmt: skip
        if done.returncode == 0:
            return None
        self.run("rebase", "--abort", check=False)
        return _last_lines(done.stdout + done.stderr)

    def add(self, path: str) -> None:
        self.run("add", path)

    def commit(self, message: str) -> None:
        """Commit what is staged; repository hooks never run inside issuewave's commits."""
        self.run(*self.identity_args, "commit", "--quiet", "--no-verify", "-m", message)

    def status(self) -> str:
        """Porcelain status; never rewrites the index (the user may be working in this checkout)."""
        return self.run(
            "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all"
        ).stdout

    def ignored_files(self, leave_out: Sequence[Path] = ()) -> list[str]:
        """Every file git ignores here (a .env, build output), but those under `leave_out`
        (relative folders). git lists a wholly ignored folder as one entry, and is never asked to
        walk into a left-out one (issuewave's workspaces: whole checkouts)."""
        done = self.run("ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                        "--directory")  # fmt: skip
        files = []
        for name in (n for n in done.stdout.split("\0") if n):
            if any(Path(name).is_relative_to(folder) for folder in leave_out):
                continue
            files += _walk(self.cwd, name, skip=leave_out) if name.endswith("/") else [name]
        return list(dict.fromkeys(files))  # a folder and a file in it may both be listed

    def commit_all(self, message: str) -> bool:
        """Stage everything and commit; False when there was nothing to commit."""
        self.run("add", "--all")
        if self.run("diff", "--cached", "--quiet", check=False).returncode == 0:
            return False
        self.commit(message)
        return True


_NO_PROGRAMS = ("--no-ext-diff", "--no-textconv")


def _walk(root: Path, folder: str, skip: Sequence[Path] = ()) -> list[str]:
    """The files under `folder` (relative to `root`), none under a `skip` folder."""
    found = []
    for top, dirs, names in os.walk(root / folder):
        relative = Path(top).relative_to(root)
        dirs[:] = [d for d in dirs if relative / d not in skip]
        found += [(relative / n).as_posix() for n in names]
    return found


def _last_lines(text: str, count: int = 10) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def _parse_worktrees(porcelain: str) -> list[WorktreeEntry]:
    entries = []
    for block in porcelain.strip().split("\n\n"):
        fields = dict(_field(line) for line in block.splitlines())
        if "worktree" not in fields:
            continue
        branch = fields.get("branch", "").removeprefix("refs/heads/") or None
        head = fields.get("HEAD") or None
        entries.append(
            WorktreeEntry(
                Path(fields["worktree"]),
                CommitSha(head) if head else None,
                BranchName(branch) if branch else None,
            )
        )
    return entries


def _field(line: str) -> tuple[str, str]:
    key, _, value = line.partition(" ")
    return key, value


MINIMUM_GIT = (2, 38)  # merge-tree --write-tree: merging dependencies without a checkout


def check_git_version(git: Git) -> None:
    text = git.run("--version").stdout
    found = tuple(int(part) for part in re.findall(r"\d+", text)[:2])
    if found < MINIMUM_GIT:
        raise PrecheckError(
            f"issuewave needs git 2.38 or newer; this is {text.strip()}",
            hint="upgrade git (merge-tree --write-tree is needed to merge dependencies)",
        )


def open_repository(path: Path) -> Git:
    """The main checkout that contains `path`, after the checks every command needs."""
    if not path.is_dir():
        raise PrecheckError(f"{path} is not a folder")
    git = Git(path)
    check_git_version(git)
    probe = git.run("rev-parse", "--is-bare-repository", check=False)
    if probe.returncode != 0:
        raise PrecheckError(
            f"{path} is not a git repository", hint="run issuewave inside a git repository"
        )
    if probe.stdout.strip() == "true":
        raise PrecheckError(
            f"{path} is a bare repository: issuewave needs a checkout to add worktrees to",
            hint="clone it (git clone <bare> <dir>) and run issuewave in the clone",
        )
    main = Git(_main_checkout(git))
    if main.rev("HEAD") is None and not main.refs("refs/heads/"):
        raise PrecheckError(
            f"the repository at {main.cwd} has no commits yet",
            hint="make a first commit on the base branch (git commit --allow-empty -m init)",
        )
    return main


def _main_checkout(git: Git) -> Path:
    """Run from inside a worktree, still operate on the main checkout."""
    common = Path(git.out("rev-parse", "--path-format=absolute", "--git-common-dir"))
    listed = git.worktrees()
    return listed[0].path if listed else common.parent


def init_repository(path: Path, branch: str = "main") -> Git:
    """A new repository at `path` whose first branch is `branch`."""
    proc.run(["git", *_QUIET_CONFIG, "init", "--quiet", "--initial-branch", branch], cwd=path)
    return Git(path)
