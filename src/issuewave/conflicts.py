"""Conflict checks between a run's verified branches, and the integration run: every verified
branch merged in dependency order, tested, and bisected to the merge that broke the tests.

Findings go into the journal, so `status`, the report and the next `plan` show them.
"""

from __future__ import annotations

from collections.abc import Sequence

from issuewave import integrate
from issuewave.git import Git
from issuewave.integrate import Branch, CheckResult, Integration
from issuewave.plan import dependency_order
from issuewave.store import DONE_STATES, RunRecord, Store
from issuewave.testbed import TestBed, TestCommand
from issuewave.types import CommitSha, IssueNumber


def verified_branches(store: Store, run: RunRecord) -> list[Branch]:
    return [
        Branch(t.issue, CommitSha(t.head_commit), CommitSha(t.base_commit or run.base_commit))
        for t in store.tasks(run.id)
        if t.status in DONE_STATES and t.head_commit
    ]


def record_conflicts(git: Git, store: Store, run: RunRecord) -> CheckResult:
    """Trial merges of the run's verified branches, journalled for status, report and plan."""
    deps = {t.issue: t.depends_on for t in store.tasks(run.id)}
    result = integrate.check(git, verified_branches(store, run), deps)
    store.log_event(run.id, None, "conflict_check", **result.as_json())
    return result


def integration_run(
    git: Git, store: Store, run: RunRecord, tests: TestCommand
) -> dict[str, object]:
    """Merge every verified branch in dependency order, test the result, and if it fails,
    bisect over the merges for the first one after which the tests broke."""
    tasks = {t.issue: t for t in store.tasks(run.id)}
    branches = {b.issue: b for b in verified_branches(store, run)}
    order = [
        n for n in dependency_order({n: tasks[n].depends_on for n in branches}) if n in branches
    ]
    merged = integrate.integrate(git, CommitSha(run.base_commit), [branches[n] for n in order])
    folder = store.home / "integration" / run.id
    with TestBed(git, folder, tests, tag=f"{run.id}-integration") as bed:
        verdict = _judge(bed, merged)
    store.log_event(run.id, None, "integration_run", **verdict)
    return verdict


def _judge(bed: TestBed, merged: Integration) -> dict[str, object]:
    issues = [s.issue for s in merged.steps]
    if merged.conflict is not None:
        issue, files = merged.conflict
        return {"passed": False, "merged": issues,
                "conflict": {"issue": issue, "files": list(files)}, "broken_by": issue}  # fmt: skip
    if not merged.steps or bed.test(merged.steps[-1].commit).passed:
        return {"passed": True, "merged": issues, "broken_by": None}
    culprit = _first_failing(bed, merged.steps)
    return {"passed": False, "merged": issues, "broken_by": culprit,
            "commit": merged.steps[-1].commit}  # fmt: skip


def _first_failing(bed: TestBed, steps: Sequence[integrate.Step]) -> IssueNumber:
    """Binary search: the tests pass on the base and fail after the last merge."""
    low, high = 0, len(steps) - 1  # steps[high] fails; find the first failing index
    while low < high:
        middle = (low + high) // 2
        if bed.test(steps[middle].commit).passed:
            low = middle + 1
        else:
            high = middle
    return steps[low].issue
