"""Executing a run and finishing it: the live view, the orchestrator under signal handling, and
what the end of a run records (its status, the forge's API calls, conflicts between branches).
Shared by `run`, `resume` and `check --repair`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

from issuewave import proc
from issuewave.conflicts import record_conflicts
from issuewave.context import RunContext
from issuewave.live import Watcher
from issuewave.naming import one_line
from issuewave.orchestrator import Orchestrator
from issuewave.progress import Row, make_view
from issuewave.report.metrics import state_json
from issuewave.sandbox import harden_orchestrator
from issuewave.scheduler import Outcome
from issuewave.store import INTERRUPTED, PENDING, REUSED, RUNNING, SUCCEEDED, Store, TaskRecord
from issuewave.types import IssueNumber, RunId
from issuewave.ui import say


def execute(ctx: RunContext, *, as_json: bool, plain: bool) -> int:
    store = ctx.store
    harden_orchestrator()  # before any agent starts: its environment holds the forge's token
    _say_sandbox(ctx)
    rows = [_row(t) for t in store.tasks(ctx.run_id)]
    store.update_run(ctx.run_id, "run_started", status="running", pid=os.getpid())
    try:
        watcher = Watcher(store, ctx.run_id, ctx.agent)
        with make_view(rows, plain=plain, watcher=watcher) as view:
            outcome = asyncio.run(_supervised(Orchestrator(ctx, view)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        mark_interrupted(store, ctx.run_id, requeue=False)
        store.update_run(
            ctx.run_id, "run_interrupted", status="interrupted", finished_at=time.time()
        )
        say("interrupted: the agents were stopped; `issuewave resume` continues this run")
        return 130
    return _finish(ctx, outcome, as_json=as_json)


def _say_sandbox(ctx: RunContext) -> None:
    """The plan says it beforehand; the run says (and journals, for the report) what holds."""
    sandbox = ctx.tests.sandbox
    if sandbox is None:
        return
    shown = f"{sandbox.status.shown}; processes: {sandbox.status.processes}"
    say(f"sandbox: {shown}")
    ctx.store.log_event(ctx.run_id, None, "sandbox", shown=shown, on=sandbox.on)


async def _supervised(orchestrator: Orchestrator) -> Outcome:
    """SIGTERM stops the run like Ctrl-C: agents killed, state left resumable."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await orchestrator.run()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _finish(ctx: RunContext, outcome: Outcome, *, as_json: bool) -> int:
    tasks = ctx.store.tasks(ctx.run_id)
    ok = all(t.status in (SUCCEEDED, REUSED) for t in tasks)
    if ctx.forge.api_calls:
        ctx.store.log_event(ctx.run_id, None, "forge_api_calls", count=ctx.forge.api_calls)
    status = "succeeded" if ok else "failed"
    ctx.store.update_run(ctx.run_id, "run_finished", status=status, finished_at=time.time())
    _conflicts_at_the_end(ctx)
    if as_json:
        print(json.dumps(state_json(ctx.store, ctx.run_id), indent=2))
    say(f"run {ctx.run_id}: {describe_outcome(outcome)}")
    say("next: `issuewave report` for the summary, `issuewave prs` for the pull requests")
    return 0 if ok else 1


def _conflicts_at_the_end(ctx: RunContext) -> None:
    """Parallel branches that pass alone may collide when merged: say so now, not at merge time."""
    run = ctx.store.run(ctx.run_id)
    if run is None:
        return
    for pair in record_conflicts(ctx.git, ctx.store, run).conflicts:
        say(f"conflict: #{pair.a} and #{pair.b} both change {', '.join(pair.files)}; "
            "`issuewave check` for details")  # fmt: skip


def _row(task: TaskRecord) -> Row:
    state = SUCCEEDED if task.status == REUSED else task.status
    return Row(task.issue, task.title, task.wave, state, task.attempts)


def mark_interrupted(store: Store, run_id: RunId, *, requeue: bool) -> list[IssueNumber]:
    """Tasks caught mid-flight by a crash or Ctrl-C: strays killed, open attempts closed.

    `requeue` (on resume) puts them back to pending; otherwise they show as interrupted.
    """
    interrupted = []
    for task in store.tasks(run_id):
        if task.status in (RUNNING, INTERRUPTED):
            _end_open_attempts(store, run_id, task.issue)
            status, kind = (PENDING, "task_requeued") if requeue else (INTERRUPTED, "task_stopped")
            store.update_task(run_id, task.issue, kind, status=status, reason=None)
            interrupted.append(task.issue)
    return interrupted


def _end_open_attempts(store: Store, run_id: RunId, issue: IssueNumber) -> None:
    for attempt in store.attempts(run_id, issue):
        if attempt.status == RUNNING:
            killed = proc.kill_tagged(attempt.tag) + proc.kill_tagged(f"{attempt.tag}-tests")
            store.update_attempt(
                attempt,
                "attempt_interrupted",
                status=INTERRUPTED,
                finished_at=time.time(),
                reason=_killed_note(killed),
            )


def _killed_note(killed: list[int]) -> str:
    return "interrupted" + (f"; killed {len(killed)} leftover processes" if killed else "")


def describe_outcome(outcome: Outcome) -> str:
    parts = [f"{len(outcome.succeeded)} succeeded"]
    if outcome.failed:
        parts.append(f"{len(outcome.failed)} failed ({_issues(outcome.failed)})")
    if outcome.blocked:
        parts.append(f"{len(outcome.blocked)} blocked ({_issues(outcome.blocked)})")
    if outcome.not_started:
        parts.append(
            f"{len(outcome.not_started)} not started ({_issues(outcome.not_started)}): the run "
            "budget is spent; raise max_run_cost / max_run_tokens and `issuewave resume`"
        )
    return one_line(", ".join(parts), 400)


def _issues(numbers: object) -> str:
    return ", ".join(f"#{n}" for n in sorted(numbers))  # type: ignore[call-overload]
