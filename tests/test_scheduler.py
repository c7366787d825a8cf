"""Dynamic list scheduling, run with real asyncio tasks and short sleeps; start/end recorded."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import pytest

from issuewave.scheduler import Outcome, schedule
from issuewave.types import IssueNumber

LONG, SHORT = 0.3, 0.05
# Generous enough for a loaded CI machine, far below LONG so ordering claims stay meaningful.
SLACK = 0.1


def n(*numbers: int) -> set[IssueNumber]:
    return {IssueNumber(x) for x in numbers}


@dataclass
class Recorder:
    """A run_one that sleeps per issue and records when each issue started and ended."""

    durations: Mapping[int, float] = field(default_factory=dict)
    failing: Collection[int] = ()
    start: dict[int, float] = field(default_factory=dict)
    end: dict[int, float] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    running: int = 0
    peak: int = 0

    async def __call__(self, issue: IssueNumber) -> bool:
        loop = asyncio.get_running_loop()
        self.start[issue] = loop.time()
        self.order.append(issue)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.durations.get(issue, 0.01))
        finally:
            self.running -= 1
            self.end[issue] = loop.time()
        return issue not in self.failing


def run(
    recorder: Recorder,
    issues: Collection[int],
    deps: Mapping[int, Collection[int]] | None = None,
    priority: Mapping[int, float] | None = None,
    *,
    jobs: int,
    **kwargs: object,
) -> Outcome:
    return asyncio.run(
        schedule(
            n(*issues),
            {IssueNumber(k): n(*v) for k, v in (deps or {}).items()},
            {IssueNumber(k): v for k, v in (priority or {}).items()},
            jobs=jobs,
            run_one=recorder,
            **kwargs,  # type: ignore[arg-type]
        )
    )


def test_never_more_than_jobs_at_once() -> None:
    recorder = Recorder(dict.fromkeys(range(1, 9), SHORT))
    outcome = run(recorder, range(1, 9), jobs=3)
    assert recorder.peak == 3  # bounded, and the bound is actually used
    assert outcome.succeeded == n(*range(1, 9))
    assert outcome.failed == set() and outcome.blocked == {} and outcome.not_started == set()


def test_an_issue_starts_only_after_all_its_dependencies_succeeded() -> None:
    recorder = Recorder({1: SHORT, 2: 0.1, 3: 0.01, 4: 0.01})
    run(recorder, [1, 2, 3, 4], {3: [1, 2], 4: [3]}, jobs=4)
    assert recorder.start[3] >= max(recorder.end[1], recorder.end[2])
    assert recorder.start[4] >= recorder.end[3]


def test_a_dependent_starts_right_after_its_dependency() -> None:
    recorder = Recorder({1: LONG, 2: SHORT, 3: SHORT})
    outcome = run(recorder, [1, 2, 3], {3: [1]}, {1: 2, 2: 1, 3: 1}, jobs=2)
    assert recorder.order == [1, 2, 3]
    assert recorder.start[3] >= recorder.end[1]
    assert recorder.start[3] - recorder.end[1] < SLACK
    assert outcome.succeeded == n(1, 2, 3)


def test_waves_are_not_barriers() -> None:
    """A (long) and B (short) have no deps; C needs only B, so C runs while A is still going."""
    a, b, c = 1, 2, 3
    recorder = Recorder({a: LONG, b: SHORT, c: SHORT})
    run(recorder, [a, b, c], {c: [b]}, {a: 2, b: 2, c: 1}, jobs=2)
    assert recorder.start[c] >= recorder.end[b]
    assert recorder.start[c] < recorder.end[a]
    assert recorder.end[c] < recorder.end[a]


def test_highest_priority_first_with_one_job() -> None:
    recorder = Recorder()
    run(recorder, [1, 2, 3, 4], {}, {1: 1.0, 2: 4.0, 3: 2.0, 4: 3.0}, jobs=1)
    assert recorder.order == [2, 4, 3, 1]


def test_equal_priority_breaks_ties_by_issue_number() -> None:
    recorder = Recorder()
    run(recorder, [5, 3, 9, 1], jobs=1)
    assert recorder.order == [1, 3, 5, 9]


def test_one_job_is_serial() -> None:
    recorder = Recorder(dict.fromkeys(range(1, 6), 0.02))
    run(recorder, range(1, 6), {4: [2]}, jobs=1)
    assert recorder.peak == 1
    spans = sorted((recorder.start[i], recorder.end[i]) for i in range(1, 6))
    pairs = itertools.pairwise(spans)
    assert all(prev_end <= next_start for (_, prev_end), (next_start, _) in pairs)


def test_a_failure_blocks_transitive_dependents_only() -> None:
    # 1 fails; 2 needs 1, 3 needs 2, 5 needs 1 and 4 (a diamond); 4 and 6 are independent.
    recorder = Recorder(failing=[1])
    blocked: list[tuple[int, int]] = []
    outcome = run(
        recorder,
        [1, 2, 3, 4, 5, 6],
        {2: [1], 3: [2], 5: [1, 4]},
        jobs=2,
        on_blocked=lambda issue, cause: blocked.append((issue, cause)),
    )
    assert outcome.failed == n(1)
    assert outcome.blocked == {2: 1, 3: 1, 5: 1}
    assert sorted(blocked) == [(2, 1), (3, 1), (5, 1)]
    assert outcome.succeeded == n(4, 6)
    assert set(recorder.order) == {1, 4, 6}  # blocked issues never ran
    assert outcome.not_started == set()


def test_done_issues_are_not_run_and_satisfy_dependents() -> None:
    recorder = Recorder()
    outcome = run(recorder, [1, 2, 3], {2: [1], 3: [2]}, jobs=2, done=n(1))
    assert recorder.order == [2, 3]
    assert outcome.succeeded == n(1, 2, 3)


def test_may_start_false_stops_new_starts() -> None:
    recorder = Recorder()
    outcome = run(
        recorder,
        [1, 2, 3, 4],
        {4: [1]},
        {1: 4, 2: 3, 3: 2, 4: 1},
        jobs=1,
        may_start=lambda: not recorder.order,  # stop once anything has started
    )
    assert recorder.order == [1]
    assert outcome.succeeded == n(1)
    # 4 became ready when 1 succeeded, but the run was stopping: reported, not blocked.
    assert outcome.not_started == n(2, 3, 4)
    assert outcome.blocked == {}


def test_upcoming_hears_the_ready_issues_next_in_line() -> None:
    # 5 waits for 1; with two jobs, 2 and 4 (the highest priorities) start first.
    recorder = Recorder(dict.fromkeys(range(1, 6), SHORT))
    heard: list[list[int]] = []
    run(
        recorder,
        [1, 2, 3, 4, 5],
        {5: [1]},
        {1: 1.0, 2: 5.0, 3: 2.0, 4: 4.0, 5: 3.0},
        jobs=2,
        upcoming=lambda issues: heard.append([int(i) for i in issues]),
    )
    assert recorder.order[:2] == [2, 4]
    assert heard[0] == [3, 1]  # the next two to start, in the order they will start
    assert all(len(issues) <= 2 for issues in heard)  # never more than `jobs` ahead
    assert all(5 not in issues for issues in heard)  # ready only when a job was free for it
    assert heard[-1] == []


def test_cancellation_cancels_and_awaits_running_issues() -> None:
    cleaned: list[int] = []
    started = asyncio.Event()

    async def run_one(issue: IssueNumber) -> bool:
        try:
            started.set()
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.02)  # cleanup that takes a while, like killing an agent
            cleaned.append(issue)
        return True

    async def scenario() -> None:
        task = asyncio.create_task(
            schedule(n(1, 2, 3), {}, {}, jobs=2, run_one=run_one), name="schedule"
        )
        await started.wait()
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Every running issue finished its cleanup before schedule() returned.
        assert sorted(cleaned) == [1, 2]
        assert [t for t in asyncio.all_tasks() if t.get_name().startswith("issue-")] == []

    asyncio.run(asyncio.wait_for(scenario(), 5))


def test_an_exception_in_one_issue_cancels_the_others_and_propagates() -> None:
    cancelled: list[int] = []

    async def run_one(issue: IssueNumber) -> bool:
        if issue == 1:
            await asyncio.sleep(0.02)
            raise RuntimeError("bug in issue 1")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(issue)
            raise
        return True

    with pytest.raises(RuntimeError, match="bug in issue 1"):
        asyncio.run(asyncio.wait_for(schedule(n(1, 2), {}, {}, jobs=2, run_one=run_one), 5))
    assert cancelled == [2]
