"""An agent's "done" is a claim, not a fact.

An attempt is accepted only when the agent exited 0 in time, its branch holds real changes against
its base, the test command passes in the worktree, and the base branch and the main checkout are as
they were; then the tests that passed on its base still pass and its hidden acceptance tests pass
(`testchecks`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from issuewave import proc
from issuewave.findings import Findings
from issuewave.git import Git
from issuewave.testids import TestResults, read_results
from issuewave.types import CommitSha


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    feedback: str = ""  # for the agent's next attempt, with the reason
    findings: Findings | None = None  # what the test checks found (recorded with the attempt)


@dataclass(frozen=True)
class CheckoutSnapshot:
    """The main checkout and base branch as they were; compared after every attempt."""

    base_ref: str
    base_tip: CommitSha
    head: CommitSha | None
    status_digest: str


def snapshot(git: Git, base_ref: str) -> CheckoutSnapshot:
    return CheckoutSnapshot(base_ref, git.must_rev(base_ref), git.rev("HEAD"), _status_digest(git))


def _status_digest(git: Git) -> str:
    """Porcelain status plus size and mtime of each dirty file: catches edits to dirty files too."""
    status = git.status()
    digest = hashlib.sha256(status.encode())
    for path in _status_paths(status):
        full = git.cwd / path
        if full.is_file():
            stat = full.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _status_paths(status: str) -> list[str]:
    return [entry[3:] for entry in status.split("\0") if len(entry) > 3]


def checkout_untouched(git: Git, before: CheckoutSnapshot) -> Verdict:
    if git.rev(before.base_ref) != before.base_tip:
        return Verdict(False, f"the base branch {before.base_ref} moved during the attempt")
    if git.rev("HEAD") != before.head or _status_digest(git) != before.status_digest:
        return Verdict(False, f"files in the main checkout {git.cwd} changed during the attempt")
    return Verdict(True)


def still_on_branch(worktree: Git, branch: str) -> Verdict:
    current = worktree.current_branch()
    if current != branch:
        return Verdict(
            False, f"the agent left branch {branch} (HEAD is now {current or 'detached'})"
        )
    return Verdict(True)


def has_changes(worktree: Git, base: CommitSha) -> Verdict:
    head = worktree.must_rev("HEAD")
    if head == base or not worktree.changed_files(base, head):
        return Verdict(False, "the agent exited without changing anything")
    return Verdict(True)


def failed_test_ids(output: str) -> frozenset[str]:
    """The failing tests a run's output names (`testids`, the one parser)."""
    return read_results(output).failed


def judge_tests(
    returncode: int | None,
    output: str,
    baseline_failures: Iterable[str] | None,
    *,
    results: TestResults | None = None,
) -> Verdict:
    """Pass on exit 0; with a failing baseline, pass when every failure was already there.
    `results`: the run's test ids when known (its JUnit reports read); else read from `output`."""
    if returncode == 0:
        return Verdict(True)
    if returncode is None:
        return Verdict(False, "the test command timed out", output)
    known = frozenset(baseline_failures or ())
    failures = (results or read_results(output)).failed
    if known and failures and failures <= known:
        return Verdict(True, f"only tests that already failed on the base failed ({len(failures)})")
    new = sorted(failures - known)
    named = f": {', '.join(new[:5])}" if new else ""
    return Verdict(False, f"tests failed (exit {returncode}){named}", output)


def read_tail(path: Path) -> str:
    return proc.tail(path, lines=80)
