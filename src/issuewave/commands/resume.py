"""`issuewave resume`: continue an interrupted run (Ctrl-C, SIGTERM, or the orchestrator killed).

Succeeded issues are not redone, an attempt caught mid-flight is restarted on its branch, an
attempt that had passed verification goes straight to its PR record, and no PR record is duplicated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from issuewave.execution import execute, mark_interrupted
from issuewave.launch import WAITS_FOR, resumed_context
from issuewave.project import Project, open_project
from issuewave.runs import pick_run, run_config
from issuewave.store import BLOCKED, FAILED, PENDING, RunRecord, Store, run_lock
from issuewave.ui import say


def resume(
    *,
    cwd: Path,
    run_id: str | None = None,
    retry_failed: bool = False,
    as_json: bool = False,
    plain: bool = False,
    budgets: Mapping[str, Any] | None = None,
) -> int:
    opened = open_project(cwd)
    run = pick_run(opened.store, run_id)
    if run.status == "succeeded":
        say(f"run {run.id} already succeeded: nothing to resume")
        return 0
    project = Project(opened.git, run_config(run, budgets or {}))
    with run_lock(project.store.home, run.id):
        requeued = [int(n) for n in mark_interrupted(project.store, run.id, requeue=True)]
        if retry_failed:
            requeued += _requeue_failed(project.store, run)
        say(
            f"resuming run {run.id}"
            + (f"; restarting #{', #'.join(map(str, requeued))}" if requeued else "")
        )
        ctx = resumed_context(project, run)
        return execute(ctx, as_json=as_json, plain=plain)


def _requeue_failed(store: Store, run: RunRecord) -> list[int]:
    """Failed and blocked issues get fresh attempts; the old ones stay in the journal."""
    requeued: list[int] = []
    for task in store.tasks(run.id):
        if task.status in (FAILED, BLOCKED) and not (task.reason or "").startswith(WAITS_FOR):
            for attempt in store.attempts(run.id, task.issue):
                if attempt.status == FAILED:
                    store.update_attempt(attempt, "attempt_superseded", status="superseded")
            store.update_task(
                run.id, task.issue, "task_requeued", status=PENDING, finished_at=None, reason=None
            )
            requeued.append(int(task.issue))
    return requeued
