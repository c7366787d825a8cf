"""Tests the agent cannot weaken, and tests it never sees: verification's checks after the
workspace's own test run.

1. The workspace's run against what passed at the attempt's base (the baseline on the run's base
   commit; a dependency's verified head for an issue built on it): every test that passed there
   must still exist and pass. The others are removed, skipped or failing.
2. The existing test files the diff changes, and the runner configuration (`testfiles`): in a
   scratch checkout of the head, put back as they were on the base (configuration the diff adds
   is taken away), the test command run there, its ids compared the same way.
3. The issue's hidden acceptance tests (`acceptance`): laid over a scratch checkout of the head,
   the test command run there, with its checkout, log and reports under `private_root`, which
   no agent ever sees.

`tests_policy` decides what 1 and 2 do: strict rejects the attempt naming the tests and files,
review records them with the attempt (the PR body, status, report and dashboard show them), off
skips them. A failing hidden run rejects the attempt under every policy, and what the agent is
told for its next attempt is only that: no test name, content or output.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from issuewave import acceptance, verify
from issuewave.findings import OFF, STRICT, CheckRun, Findings, names
from issuewave.git import Git
from issuewave.store import Store, TaskRecord
from issuewave.testbed import ScratchCheckout, TestCommand, TestOutcome, run_tests
from issuewave.testfiles import TestChanges, changes_to_tests
from issuewave.testids import UNKNOWN, TestResults
from issuewave.types import CommitSha, IssueNumber, RunId

HIDDEN_FAILED = "hidden acceptance tests failed"
STRICT_FEEDBACK = (
    "tests_policy is strict: the tests that passed on the base must still exist and pass as "
    "they were. Put them back; test new behaviour with new tests."
)
Reference = Callable[[CommitSha], TestResults]


@dataclass(frozen=True)
class TestChecks:
    """What the checks need, for every attempt of a run."""

    git: Git  # the main checkout (its root holds the hidden tests)
    tests: TestCommand
    policy: str  # tests_policy
    known_failures: frozenset[str]  # failing on the run's base already: never held against one
    reference: Reference  # which tests passed at a commit
    acceptance: Mapping[IssueNumber, Path]  # the issues' hidden test folders
    scratch_root: Path  # scratch checkouts for the base versions of changed tests
    private_root: Path  # checkouts, logs and reports of the hidden runs

    def hidden_paths(self) -> list[Path]:
        """What a sandbox must hide from agents (and from the tests they wrote)."""
        root = acceptance.acceptance_root(self.git.cwd)
        return list(dict.fromkeys([root, *self.acceptance.values(), self.private_root]))


@dataclass(frozen=True)
class AttemptTests:
    """The attempt being verified."""

    worktree: Path
    base: CommitSha
    issue: IssueNumber
    tag: str  # the attempt's tag: names its scratch checkouts and test processes
    log_dir: Path  # the attempt's logs; base-tests.log goes here


async def check_attempt(
    checks: TestChecks,
    job: AttemptTests,
    outcome: TestOutcome,
    *,
    lock: asyncio.Lock | None = None,
) -> verify.Verdict:
    """The verdict on a workspace whose tests ran (`outcome`), with what the checks found.
    `lock`: held while a scratch checkout is made or removed (shared git state)."""
    own = verify.judge_tests(outcome.returncode, outcome.tail(), checks.known_failures,
                             results=outcome.results)  # fmt: skip
    head = await asyncio.to_thread(checks.git.at(job.worktree).must_rev, "HEAD")
    reference = await asyncio.to_thread(checks.reference, job.base)
    findings = compare(checks.policy, reference, outcome.results, checks.known_failures)
    if not own.ok:
        return dataclasses.replace(own, findings=findings)
    if checks.policy != OFF:
        findings = await _with_base_version(checks, job, head, reference, findings, lock)
        if checks.policy == STRICT and findings.weakened:
            return _strict_verdict(findings)
    hidden = await _hidden_run(checks, job, head, outcome.results, lock)
    findings = dataclasses.replace(findings, hidden=hidden)
    if hidden is not None and not hidden.passed:
        return verify.Verdict(False, HIDDEN_FAILED, "", findings)  # names stay in the findings
    return dataclasses.replace(own, findings=findings)


# --- 1. the tests that passed at the base -------------------------------------------------------
def compare(
    policy: str, reference: TestResults, head: TestResults, known_failures: frozenset[str]
) -> Findings:
    if policy == OFF or not reference.known:
        return Findings(policy, reference.source, results=head)
    removed, skipped, failing = lost_tests(reference, head, known_failures)
    return Findings(policy, reference.source, removed, skipped, failing,
                    ids_lost=not head.known, still_passing=len(reference.passed & head.passed),
                    results=head)  # fmt: skip


def lost_tests(
    reference: TestResults, now: TestResults, known_failures: frozenset[str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Tests that passed in `reference` and are gone, skipped or failing (beyond the known
    failures) `now`."""
    expected = reference.passed
    removed = sorted(expected - now.ids)
    skipped = sorted(expected & (now.skipped - now.failed))
    failing = sorted((expected & now.failed) - known_failures)
    return tuple(removed), tuple(skipped), tuple(failing)


# --- 2. the base versions of changed tests ------------------------------------------------------
async def _with_base_version(
    checks: TestChecks,
    job: AttemptTests,
    head: CommitSha,
    reference: TestResults,
    findings: Findings,
    lock: asyncio.Lock | None,
) -> Findings:
    changes = await asyncio.to_thread(changes_to_tests, checks.git, job.base, head)
    findings = dataclasses.replace(findings, changed_tests=changes.changed_tests,
                                   changed_config=changes.changed_config)  # fmt: skip
    if not changes.base_version_differs:
        return findings
    log = job.log_dir / "base-tests.log"
    folder = checks.scratch_root / f"{job.tag}-base"
    put_back = _base_version_of(job.base, changes)
    outcome = await _scratch_run(checks, folder, head, log, f"{job.tag}-base", put_back, lock)
    passed, failing = _judge_run(reference, outcome, checks.known_failures)
    files = (*changes.restore, *changes.remove)
    run = CheckRun(files, len(files), passed, failing, outcome.status, str(log))
    return dataclasses.replace(findings, base_version=run)


def _base_version_of(base: CommitSha, changes: TestChanges) -> Callable[[Git], None]:
    def put_back(checkout: Git) -> None:
        if changes.restore:
            checkout.restore_files(base, changes.restore)
        for path in changes.remove:
            (checkout.cwd / path).unlink(missing_ok=True)

    return put_back


def _judge_run(
    reference: TestResults, outcome: TestOutcome, known_failures: frozenset[str]
) -> tuple[bool, tuple[str, ...]]:
    """Compared by id where both sides have ids; else by the exit status alone."""
    if reference.known and outcome.results.known:
        lost = sum(lost_tests(reference, outcome.results, known_failures), ())
        return not lost, tuple(sorted(lost))
    verdict = verify.judge_tests(outcome.returncode, "", known_failures, results=outcome.results)
    return verdict.ok, tuple(sorted(outcome.results.failed - known_failures))


def _strict_verdict(findings: Findings) -> verify.Verdict:
    parts = [f"{what} {names(ids, 5)}" for what, ids in
             (("removed", findings.removed), ("skipped", findings.skipped),
              ("failing", findings.failing)) if ids]  # fmt: skip
    if findings.ids_lost:
        parts.append("no test ids could be read at the head")
    run = findings.base_version
    if run is not None and not run.passed:
        parts.append(f"failing in their base version: {names(run.failing, 5) or run.status}")
    files = (*findings.changed_tests, *findings.changed_config)
    where = f" (files: {names(files, 5)})" if files else ""
    reason = f"existing tests weakened: {'; '.join(parts)}{where}"
    tail = verify.read_tail(Path(run.log)) if run is not None and not run.passed else ""
    return verify.Verdict(False, reason, f"{STRICT_FEEDBACK}\n\n{tail}".strip(), findings)


# --- 3. hidden acceptance tests -----------------------------------------------------------------
async def _hidden_run(
    checks: TestChecks,
    job: AttemptTests,
    head: CommitSha,
    workspace: TestResults,
    lock: asyncio.Lock | None,
) -> CheckRun | None:
    folder = checks.acceptance.get(job.issue)
    if folder is None:
        return None
    if not acceptance.hidden_files(folder):  # removed since the run began: not verifiable
        return CheckRun((), 0, False, (), f"{folder} is gone", "")
    where = checks.private_root / job.tag
    log = checks.private_root / f"{job.tag}.log"

    def lay_over(checkout: Git) -> None:
        acceptance.lay_over(folder, checkout.cwd)

    outcome = await _scratch_run(checks, where, head, log, f"{job.tag}-hidden", lay_over, lock)
    passed, failing, status = _judge_hidden(outcome, workspace, checks.known_failures)
    return CheckRun((), len(acceptance.hidden_files(folder)), passed, failing, status, str(log))


def _judge_hidden(
    outcome: TestOutcome, workspace: TestResults, known_failures: frozenset[str]
) -> tuple[bool, tuple[str, ...], str]:
    """Passed: the run passed and, where ids are known, tests the workspace's run did not have
    ran and none of them was skipped (code under test can skip what it does not know)."""
    results = outcome.results
    verdict = verify.judge_tests(outcome.returncode, "", known_failures, results=results)
    added = results.ids - workspace.ids if results.known and workspace.known else None
    skipped = sorted((added or frozenset()) & results.skipped)
    failing = (*sorted(results.failed - known_failures), *skipped)
    if added is not None and not added - results.skipped:
        return False, failing, "none of them ran"
    return verdict.ok and not skipped, failing, outcome.status


# --- scratch runs -------------------------------------------------------------------------------
async def _scratch_run(
    checks: TestChecks,
    folder: Path,
    head: CommitSha,
    log: Path,
    tag: str,
    prepare: Callable[[Git], None],
    lock: asyncio.Lock | None,
) -> TestOutcome:
    """The test command in a scratch checkout of `head`, made ready by `prepare`, then removed."""
    scratch = ScratchCheckout(checks.git, folder)
    try:
        async with _held(lock):
            checkout = await asyncio.to_thread(scratch.at, head)
        await asyncio.to_thread(prepare, checkout)
        return await run_tests(checks.tests, cwd=checkout.cwd, log=log, tag=tag)
    finally:
        async with _held(lock):
            await asyncio.to_thread(scratch.close)


def _held(lock: asyncio.Lock | None) -> contextlib.AbstractAsyncContextManager[object]:
    return lock if lock is not None else contextlib.nullcontext()


# --- what a run's checks are held to ------------------------------------------------------------
def recorded_results(store: Store, run_id: RunId, git: Git, base_commit: CommitSha) -> Reference:
    """Which tests passed at a commit, as the run recorded it: the baseline at its base commit,
    an issue's verified head, the union of its dependencies' heads for a merged base. Anything
    else (a head reused from an earlier run) is held to the baseline."""

    def read(commit: str) -> TestResults | None:
        found = store.test_results(run_id, commit)
        return TestResults.from_json(found) if found is not None else None

    def reference(commit: CommitSha) -> TestResults:
        baseline = read(base_commit) or UNKNOWN
        own = read(commit)
        if own is not None:
            return own
        parents = git.parents(commit)
        if len(parents) < 2:
            return baseline
        return union([read(p) or baseline for p in parents])

    return reference


def union(results: Sequence[TestResults]) -> TestResults:
    """What passes in any of them must pass in their merge."""
    passed = frozenset().union(*(r.passed for r in results))
    failed = frozenset().union(*(r.failed for r in results)) - passed
    skipped = frozenset().union(*(r.skipped for r in results)) - passed - failed
    known = all(r.known for r in results)
    return TestResults(passed, failed, skipped, results[0].source if known and results else "")


def acceptance_of(repo_root: Path, tasks: Iterable[TaskRecord]) -> dict[IssueNumber, Path]:
    """The hidden test folders the run recorded for its issues."""
    return {t.issue: repo_root / t.acceptance for t in tasks if t.acceptance}


def private_root(run_dir: Path) -> Path:
    return run_dir / "hidden"
