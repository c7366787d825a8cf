"""Dynamic list scheduling.

An issue starts the moment all its dependencies have succeeded, highest priority first (the longest
remaining path), at most `jobs` at once. Waves are how the plan is shown, not a barrier. A failure
blocks every transitive dependent and nothing else. One job is simply serial.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from issuewave.types import IssueNumber

RunOne = Callable[[IssueNumber], Coroutine[Any, Any, bool]]


@dataclass
class Outcome:
    succeeded: set[IssueNumber] = field(default_factory=set)
    failed: set[IssueNumber] = field(default_factory=set)
    blocked: dict[IssueNumber, IssueNumber] = field(default_factory=dict)  # issue -> failed cause
    not_started: set[IssueNumber] = field(default_factory=set)  # the run stopped before them


@dataclass
class _State:
    deps: Mapping[IssueNumber, Collection[IssueNumber]]
    dependents: dict[IssueNumber, list[IssueNumber]]
    outcome: Outcome
    ready: list[tuple[float, IssueNumber]] = field(default_factory=list)
    waiting: set[IssueNumber] = field(default_factory=set)


async def schedule(
    issues: Collection[IssueNumber],
    deps: Mapping[IssueNumber, Collection[IssueNumber]],
    priority: Mapping[IssueNumber, float],
    *,
    jobs: int,
    run_one: RunOne,
    done: Collection[IssueNumber] = (),
    failed: Collection[IssueNumber] = (),
    on_blocked: Callable[[IssueNumber, IssueNumber], None] = lambda issue, cause: None,
    may_start: Callable[[], bool] = lambda: True,
    upcoming: Callable[[list[IssueNumber]], None] = lambda issues: None,
) -> Outcome:
    """`upcoming` hears, after every round of starts, the ready issues next in line (at most
    `jobs`, highest priority first), so their preparation can overlap the running ones."""
    state = _State(deps, _dependents(issues, deps), Outcome(succeeded=set(done)))
    state.waiting = set(issues) - state.outcome.succeeded - set(failed)
    for issue in sorted(failed):  # failed or blocked before this pass: their dependents wait
        _settle(state, issue, False, priority, on_blocked)
    for issue in sorted(state.waiting):
        _release_if_ready(state, issue, priority)
    running: dict[asyncio.Task[bool], IssueNumber] = {}
    try:
        while True:
            _start_ready(state, running, jobs, run_one, may_start)
            upcoming([issue for _, issue in heapq.nsmallest(jobs, state.ready)])
            if not running:
                break
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                _settle(state, running.pop(task), task.result(), priority, on_blocked)
    except BaseException:
        await _cancel_all(running)
        raise
    state.outcome.not_started = {n for n in state.waiting if n not in state.outcome.blocked}
    return state.outcome


def _dependents(
    issues: Collection[IssueNumber], deps: Mapping[IssueNumber, Collection[IssueNumber]]
) -> dict[IssueNumber, list[IssueNumber]]:
    dependents: dict[IssueNumber, list[IssueNumber]] = {n: [] for n in issues}
    for issue in issues:
        for dep in deps.get(issue, ()):
            dependents.setdefault(dep, []).append(issue)
    return dependents


def _release_if_ready(
    state: _State, issue: IssueNumber, priority: Mapping[IssueNumber, float]
) -> None:
    if issue in state.waiting and all(
        d in state.outcome.succeeded for d in state.deps.get(issue, ())
    ):
        state.waiting.discard(issue)
        heapq.heappush(state.ready, (-priority.get(issue, 0.0), issue))


def _start_ready(
    state: _State,
    running: dict[asyncio.Task[bool], IssueNumber],
    jobs: int,
    run_one: RunOne,
    may_start: Callable[[], bool],
) -> None:
    while state.ready and len(running) < jobs and may_start():
        _, issue = heapq.heappop(state.ready)
        running[asyncio.create_task(run_one(issue), name=f"issue-{issue}")] = issue
    if state.ready and not may_start():
        state.waiting.update(issue for _, issue in state.ready)
        state.ready.clear()


def _settle(
    state: _State,
    issue: IssueNumber,
    succeeded: bool,
    priority: Mapping[IssueNumber, float],
    on_blocked: Callable[[IssueNumber, IssueNumber], None],
) -> None:
    if succeeded:
        state.outcome.succeeded.add(issue)
        for dependent in state.dependents.get(issue, ()):
            _release_if_ready(state, dependent, priority)
        return
    state.outcome.failed.add(issue)
    for dependent in _transitive(state.dependents, issue):
        if dependent in state.waiting and dependent not in state.outcome.blocked:
            state.outcome.blocked[dependent] = issue
            on_blocked(dependent, issue)


def _transitive(
    dependents: Mapping[IssueNumber, list[IssueNumber]], root: IssueNumber
) -> list[IssueNumber]:
    seen: set[IssueNumber] = set()
    stack = list(dependents.get(root, ()))
    while stack:
        issue = stack.pop()
        if issue not in seen:
            seen.add(issue)
            stack.extend(dependents.get(issue, ()))
    return sorted(seen)


async def _cancel_all(running: Mapping[asyncio.Task[bool], IssueNumber]) -> None:
    """Cancel every running issue and wait, so each one kills its agent before we return."""
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
