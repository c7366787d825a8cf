"""An agent's "done" is a claim, not a fact.

An attempt is accepted only when the agent exited 0 in time, its branch holds real changes against
its base and no link out of the workspace, the test command passes in the workspace, and nothing
outside it changed (`guard.py`); then the tests that passed on its base still pass and its hidden
acceptance tests pass (`testchecks`).
"""

from __future__ import annotations

import os
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


def no_escaping_links(worktree: Git, base: CommitSha) -> Verdict:
    """No symbolic link the agent committed leads out of the workspace: the tests, a later
    checkout or the user would write through it into their own files."""
    root = worktree.cwd
    for path, target in worktree.symlinks_added(base, "HEAD"):
        resolved = Path(os.path.normpath(root / Path(path).parent / target))
        if not resolved.is_relative_to(root) or resolved.is_relative_to(root / ".git"):
            return Verdict(False, f"the agent added a symbolic link that leads out of its "
                           f"workspace: {path} -> {target}")  # fmt: skip
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
