"""The test bed: the project's own test command, run in a checkout, and what came of it.

One place for "run the tests somewhere": the baseline on the base commit, each attempt's
verification in its worktree, the integration check and landing in a scratch checkout moved from
commit to commit. Every one of them gets the same environment (the allowlist: never an agent's
credentials), timeout, log file and supervision (own process group, all of it killed at the end).

Every run also says which tests passed, failed or were skipped (`testids`): pytest is asked for
its JUnit XML through PYTEST_ADDOPTS, written into a folder issuewave makes fresh for the run
beside its log, outside the checkout (`report_dir`); the user's command is left as it is.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from issuewave import proc
from issuewave.git import Git
from issuewave.sandbox import AttemptSandbox
from issuewave.testids import UNKNOWN, TestResults, read_results
from issuewave.types import CommitSha
from issuewave.workspace import (
    make_pristine,
    pristine_git_files,
    registered_worktree,
    write_pristine,
)

PYTEST_REPORT = "pytest-junit.xml"
MAX_OUTPUT_READ = 16_000_000  # the end of a huge log is where the runners' summaries are


@dataclass(frozen=True)
class TestCommand:
    """The test command as it runs: argv (no shell), environment, timeout per run."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    timeout: float
    reports: tuple[str, ...] = ()  # globs of JUnit XML files the tests write (`test_reports`)
    # Every run of it is confined so (the tests run the agents' code); None: not at all.
    sandbox: AttemptSandbox | None = None

    @property
    def shown(self) -> str:
        return proc.quote(self.argv)


@dataclass(frozen=True)
class TestOutcome:
    returncode: int | None  # None: killed at the timeout
    timed_out: bool
    log: Path
    results: TestResults = UNKNOWN  # each test's outcome, where the runner's output says

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    @property
    def status(self) -> str:
        return "timed out" if self.timed_out else f"exited {self.returncode}"

    def tail(self, lines: int = 200, max_bytes: int = 256_000) -> str:
        return proc.tail(self.log, lines=lines, max_bytes=max_bytes)


async def run_tests(tests: TestCommand, *, cwd: Path, log: Path, tag: str) -> TestOutcome:
    """The tests in `cwd`, their output (a fresh log each run) in `log`, their reports in
    `report_dir(log)`."""
    log.unlink(missing_ok=True)
    reports = _fresh_folder(report_dir(log))
    before = _report_files(cwd, tests.reports)
    confinement = tests.sandbox.for_tests(cwd, reports, tests.argv) if tests.sandbox else None
    outcome = await proc.supervise(
        tests.argv, cwd=cwd, env=environment_for(tests, log), timeout=tests.timeout,
        stdout_path=log, tag=tag, confinement=confinement,
    )  # fmt: skip
    written = [path for path, stat in _report_files(cwd, tests.reports).items()
               if before.get(path) != stat]  # fmt: skip
    output = proc.tail(log, lines=10**9, max_bytes=MAX_OUTPUT_READ)
    results = read_results(output, [*sorted(reports.glob("*.xml")), *written])
    return TestOutcome(outcome.returncode, outcome.timed_out, log, results)


def report_dir(log: Path) -> Path:
    """Where the test run that writes `log` keeps its reports (pytest's JUnit XML): made fresh
    for each run, outside the checkout. The test process writes here, so a sandbox around it
    must leave this folder writable."""
    return log.with_name(f"{log.stem}.reports")


def environment_for(tests: TestCommand, log: Path) -> dict[str, str]:
    """The test command's environment, with pytest asked for its JUnit XML (appended to any
    PYTEST_ADDOPTS the user passes through, which pytest splits like a shell)."""
    env = dict(tests.env)
    ask = shlex.quote(f"--junitxml={report_dir(log) / PYTEST_REPORT}")
    given = env.get("PYTEST_ADDOPTS", "").strip()
    if "no:junitxml" in " ".join((*tests.argv, given)):
        return env  # without its plugin, pytest would refuse the option and fail
    env["PYTEST_ADDOPTS"] = f"{given} {ask}" if given else ask
    return env


def _fresh_folder(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _report_files(cwd: Path, globs: Iterable[str]) -> dict[Path, tuple[int, int, int]]:
    """The files the `test_reports` globs match inside the checkout, with what identifies their
    content; a file the run did not write (left by an earlier run, or committed) is not read."""
    found = {}
    for pattern in globs:
        for path in cwd.glob(pattern):
            if _plain_file_inside(path, cwd):
                stat = path.lstat()
                found[path] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return found


def _plain_file_inside(path: Path, folder: Path) -> bool:
    """Not a symbolic link, and not reached through one: the tests may have planted either."""
    return (
        path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(folder.resolve())
    )


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
