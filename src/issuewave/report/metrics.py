"""The run's figures, computed from the journal alone: measured, never estimated.

An issue's time is the sum of its attempts (agent plus verification). The makespan runs from the
first attempt's start to the last issue's end, less any time the orchestrator was not running
(between a crash or Ctrl-C and the `resume`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from issuewave import budget
from issuewave.agents.base import Usage
from issuewave.findings import Findings, describe
from issuewave.plan import critical_path_of
from issuewave.store import (
    BLOCKED,
    FAILED,
    REUSED,
    SUCCEEDED,
    AttemptRecord,
    EventRecord,
    PullRecord,
    RunRecord,
    Store,
    TaskRecord,
)
from issuewave.testids import TestResults
from issuewave.types import IssueNumber, RunId


@dataclass(frozen=True)
class IssueFigures:
    number: int
    title: str
    status: str
    branch: str
    pr: int | None
    attempts: int
    duration_s: float
    wave: int
    depends_on: list[int]
    started_at: float | None
    finished_at: float | None
    reason: str | None
    agent: str | None
    tokens: dict[str, int]
    cost_usd: float | None  # None where the agent CLI reports no cost
    session_id: str | None
    final_message: str | None
    # What verification found about its tests (the latest attempt that ran them): `Findings`.
    tests: dict[str, Any] | None = None


@dataclass(frozen=True)
class WaveFigures:
    wave: int
    issues: list[int]
    succeeded: int
    span_s: float
    work_s: float


@dataclass(frozen=True)
class RunFigures:
    id: str
    status: str
    base_branch: str
    base_commit: str
    jobs: int
    started_at: float
    finished_at: float | None
    issues_total: int
    succeeded: int
    failed: int
    blocked: int
    reused: int
    attempts: int
    makespan_s: float
    downtime_s: float
    sum_issue_s: float
    speedup: float | None
    efficiency: float | None
    success_rate: float | None
    critical_path: list[int]
    critical_path_s: float
    lower_bound_s: float
    makespan_to_lower_bound: float | None
    prs_in_dependency_order: bool
    tokens: dict[str, int]
    cost_usd: float | None
    api_calls: int  # calls to the forge's API (GitHub), counted by the client
    conflicts: list[dict[str, Any]]  # from the last conflict check of the run
    overlaps: list[dict[str, Any]]
    sandbox: str = "not recorded"  # how the attempts were confined, as the run started
    tests_policy: str = "review"
    test_ids: str = ""  # where the baseline's test ids came from; "" : they could not be read


@dataclass(frozen=True)
class Figures:
    run: RunFigures
    issues: list[IssueFigures]
    waves: list[WaveFigures]
    pull_requests: list[PullRecord]

    def as_json(self) -> dict[str, Any]:
        return {
            "run": asdict(self.run),
            "issues": [asdict(i) for i in self.issues],
            "waves": [asdict(w) for w in self.waves],
        }


def compute(store: Store, run: RunRecord) -> Figures:
    tasks = store.tasks(run.id)
    attempts = store.attempts(run.id)
    events = store.events(run.id)
    prs: dict[str, PullRecord] = {p.head: p for p in store.pull_requests() if p.state != "closed"}
    issues = [_issue(t, attempts, prs) for t in tasks]
    figures = _run(run, tasks, issues, attempts, events, prs)
    baseline = TestResults.from_json(store.test_results(run.id, run.base_commit) or {})
    policy = str(run.config.get("tests_policy", "review"))
    return Figures(
        replace(figures, tests_policy=policy, test_ids=baseline.source),
        issues,
        _waves(issues),
        [prs[t.branch] for t in tasks if t.branch in prs],
    )


def _issue(
    task: TaskRecord, attempts: Sequence[AttemptRecord], prs: dict[str, PullRecord]
) -> IssueFigures:
    own = [a for a in attempts if a.issue == task.issue]
    pr = prs.get(task.branch)
    used = budget.spent(own)
    last = own[-1] if own else None
    return IssueFigures(
        task.issue,
        task.title,
        task.status,
        task.branch,
        pr.number if pr else None,
        len(own),
        round(sum(_attempt_time(a) for a in own), 3),
        task.wave,
        list(task.depends_on),
        task.started_at,
        task.finished_at,
        task.reason,
        last.agent if last else None,
        _tokens(used),
        _cost(used),
        next((a.session_id for a in reversed(own) if a.session_id), None),
        last.final_message if last else None,
        _tests(own),
    )


def _tests(attempts: Sequence[AttemptRecord]) -> dict[str, Any] | None:
    found = next((a.test_findings for a in reversed(attempts) if a.test_findings), None)
    return dict(json.loads(found)) if found else None


def findings_by_issue(issues: Sequence[IssueFigures]) -> list[tuple[int, str]]:
    """What verification found about each issue's tests, one line each (plain text, not
    escaped); nothing for an issue with nothing to say."""
    found = [(i.number, Findings.from_json(i.tests)) for i in issues if i.tests]
    return [(number, line) for number, f in found for line in describe(f)]


def _tokens(used: Usage) -> dict[str, int]:
    return {"input": used.input_tokens, "output": used.output_tokens, "cached": used.cached_tokens}


def _cost(used: Usage) -> float | None:
    return None if used.cost_usd is None else round(used.cost_usd, 6)


def _attempt_time(attempt: AttemptRecord) -> float:
    end = attempt.finished_at or attempt.agent_finished_at
    return max(0.0, end - attempt.started_at) if end else 0.0


def _run(
    run: RunRecord,
    tasks: Sequence[TaskRecord],
    issues: Sequence[IssueFigures],
    attempts: Sequence[AttemptRecord],
    events: Sequence[EventRecord],
    prs: dict[str, PullRecord],
) -> RunFigures:
    worked = [i for i in issues if i.status != REUSED]
    makespan, downtime = _makespan(attempts, tasks, events)
    total = sum(i.duration_s for i in worked)
    path, path_s = _critical_path(worked)
    lower = max(path_s, total / run.jobs) if worked else 0.0
    succeeded = sum(i.status == SUCCEEDED for i in worked)
    return RunFigures(
        run.id,
        run.status,
        run.base_branch,
        run.base_commit,
        run.jobs,
        run.created_at,
        run.finished_at,
        len(worked),
        succeeded,
        sum(i.status == FAILED for i in worked),
        sum(i.status == BLOCKED for i in worked),
        len(issues) - len(worked),
        len(attempts),
        round(makespan, 3),
        round(downtime, 3),
        round(total, 3),
        _ratio(total, makespan),
        _ratio(total, makespan * run.jobs),
        _ratio(succeeded, len(worked)),
        path,
        round(path_s, 3),
        round(lower, 3),
        _ratio(makespan, lower),
        _in_order(tasks, prs),
        _tokens(budget.spent(attempts)),
        _cost(budget.spent(attempts)),
        sum(int(e.data.get("count", 0)) for e in events if e.kind == "forge_api_calls"),
        *_last_check(events),
        sandbox=_sandbox(events),
    )


def _sandbox(events: Sequence[EventRecord]) -> str:
    said = [e.data for e in events if e.kind == "sandbox"]
    return str(said[-1].get("shown", "")) if said else "not recorded"


def _last_check(events: Sequence[EventRecord]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    checks = [e.data for e in events if e.kind == "conflict_check"]
    if not checks:
        return [], []
    return list(checks[-1].get("conflicts", [])), list(checks[-1].get("overlaps", []))


def _makespan(
    attempts: Sequence[AttemptRecord], tasks: Sequence[TaskRecord], events: Sequence[EventRecord]
) -> tuple[float, float]:
    starts = [a.started_at for a in attempts]
    ends = [t.finished_at for t in tasks if t.finished_at] + [
        a.finished_at for a in attempts if a.finished_at
    ]
    if not starts or not ends:
        return 0.0, 0.0
    downtime = _downtime(events)
    return max(0.0, max(ends) - min(starts) - downtime), downtime


def _downtime(events: Sequence[EventRecord]) -> float:
    """Gaps before each restart of the run: the orchestrator was not running then."""
    gaps, last_ts, starts = 0.0, None, 0
    for event in events:
        if event.kind == "run_started":
            starts += 1
            if starts > 1 and last_ts is not None:
                gaps += max(0.0, event.ts - last_ts)
        last_ts = event.ts
    return gaps


def _critical_path(issues: Sequence[IssueFigures]) -> tuple[list[int], float]:
    numbers = {i.number for i in issues}
    deps = {
        IssueNumber(i.number): tuple(IssueNumber(d) for d in i.depends_on if d in numbers)
        for i in issues
    }
    weights = {IssueNumber(i.number): i.duration_s for i in issues}
    path, length = critical_path_of(deps, weights)
    return [int(n) for n in path], length


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


def _in_order(tasks: Sequence[TaskRecord], prs: dict[str, PullRecord]) -> bool:
    """Checked, not assumed: every PR record was created after those of its dependencies."""
    by_issue = {t.issue: prs.get(t.branch) for t in tasks}
    for task in tasks:
        mine = by_issue.get(task.issue)
        for dep in task.depends_on:
            theirs = by_issue.get(dep)
            if mine is not None and (theirs is None or theirs.number > mine.number):
                return False
    return True


def _waves(issues: Sequence[IssueFigures]) -> list[WaveFigures]:
    waves = []
    for wave in sorted({i.wave for i in issues}):
        members = [i for i in issues if i.wave == wave]
        starts = [i.started_at for i in members if i.started_at]
        ends = [i.finished_at for i in members if i.finished_at]
        span = max(ends) - min(starts) if starts and ends else 0.0
        waves.append(
            WaveFigures(
                wave,
                [i.number for i in members],
                sum(i.status == SUCCEEDED for i in members),
                round(max(0.0, span), 3),
                round(sum(i.duration_s for i in members), 3),
            )
        )
    return waves


def state_json(store: Store, run_id: RunId) -> dict[str, Any]:
    """What `status --json` and `run --json` print: the run and each issue's state."""
    run = store.run(run_id)
    if run is None:
        return {"run": None, "issues": []}
    return compute(store, run).as_json()
