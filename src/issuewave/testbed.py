"""The test bed: the project's own test command, run in a checkout, and what came of it.

One place for "run the tests somewhere": the baseline on the base commit, each attempt's
verification in its worktree, the integration check and landing in a scratch checkout moved from
commit to commit. Every one of them gets the same environment (the allowlist: never an agent's
credentials), timeout, log file and supervision (own process group, all of it killed at the end).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from issuewave import proc
from issuewave.git import Git
from issuewave.types import CommitSha
from issuewave.workspace import (
    make_pristine,
    pristine_git_files,
    registered_worktree,
    write_pristine,
)


@dataclass(frozen=True)
class TestCommand:
    """The test command as it runs: argv (no shell), environment, timeout per run."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    timeout: float

    @property
    def shown(self) -> str:
        return proc.quote(self.argv)


@dataclass(frozen=True)
class TestOutcome:
    returncode: int | None  # None: killed at the timeout
    timed_out: bool
    log: Path

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    @property
    def status(self) -> str:
        return "timed out" if self.timed_out else f"exited {self.returncode}"

    def tail(self, lines: int = 200, max_bytes: int = 256_000) -> str:
        return proc.tail(self.log, lines=lines, max_bytes=max_bytes)


async def run_tests(tests: TestCommand, *, cwd: Path, log: Path, tag: str) -> TestOutcome:
    """The tests in `cwd`, their output (a fresh log each run) in `log`."""
    log.unlink(missing_ok=True)
    outcome = await proc.supervise(
        tests.argv, cwd=cwd, env=dict(tests.env), timeout=tests.timeout, stdout_path=log, tag=tag
    )
    return TestOutcome(outcome.returncode, outcome.timed_out, log)


class ScratchCheckout:
    """A private clone of issuewave's own (it borrows the repository's objects, and the code
    tested in it cannot reach the repository's hooks, config or refs): made on first use, moved
    from commit to commit, removed at the end (a leftover of a killed earlier use is replaced)."""

    def __init__(self, git: Git, folder: Path) -> None:
        self.git, self.folder = git, folder
        self._clone: Git | None = None

    def at(self, commit: str) -> Git:
        if self._clone is None:
            self._remove_leftover()
            self._clone = self.git.init_clone_of(self.folder, self.git.common_dir() / "objects")
            write_pristine(self.folder, pristine_git_files(self.git))
        else:
            make_pristine(self.git, self.folder)  # the last tests ran code in here
        self._clone.checkout_detached(commit)
        return self._clone

    def bring_back(self) -> CommitSha:
        """The commit checked out here (a merge or rebase made here) into the repository."""
        assert self._clone is not None, "nothing checked out yet"
        make_pristine(self.git, self.folder)
        head = self._clone.must_rev("HEAD")
        if self.git.rev(head) is None:
            self.git.fetch_from(self.folder, "HEAD")
        return head

    def reset(self, commit: str) -> None:
        if self._clone is not None:
            self._clone.reset_hard(commit, check=False)

    def close(self) -> None:
        if self._clone is not None:
            self._clone = None
            self._remove_leftover()

    def _remove_leftover(self) -> None:
        if registered_worktree(self.git, self.folder) is not False:  # issuewave 0.x made worktrees
            self.git.worktree_remove(self.folder, even_locked=True)
            self.git.worktree_prune()
        elif self.folder.exists():
            shutil.rmtree(self.folder)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class TestBed(ScratchCheckout):
    """The test command in a scratch checkout under the state folder, at any commit."""

    def __init__(self, git: Git, folder: Path, tests: TestCommand, *, tag: str) -> None:
        super().__init__(git, folder)
        self.tests, self.tag = tests, tag
        self.log = folder.parent / f"{folder.name}.log"

    def test(self, commit: str | None = None, *, tag: str | None = None) -> TestOutcome:
        """The tests at `commit` (None: where the checkout stands now, e.g. after a merge)."""
        if commit is not None:
            self.at(commit)
        outcome = run_tests(self.tests, cwd=self.folder, log=self.log, tag=tag or self.tag)
        return asyncio.run(outcome)
