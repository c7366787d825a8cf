"""`issuewave logs N [-f]`: one issue's agent output (and test output), shown or followed live.

The logs are files under .git/issuewave/runs/<run>/issue-<N>/attempt-<K>/, written while the agent
runs, so this works from another terminal while the run goes on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from issuewave.errors import InputError
from issuewave.project import open_project
from issuewave.runs import pick_run
from issuewave.store import AttemptRecord, Store
from issuewave.types import IssueNumber, RunId

POLL_S = 0.3


def logs(
    *, cwd: Path, issue: int, attempt: int | None = None, follow: bool = False, tests: bool = False
) -> int:
    project = open_project(cwd)
    run = pick_run(project.store, None)
    chosen = _attempt(project.store, run.id, IssueNumber(issue), attempt)
    names = ("tests.log",) if tests else ("agent.out", "agent.err")
    paths = [Path(chosen.log_dir) / name for name in names]
    offsets = {p: _show(p, 0) for p in paths}
    while follow and not project.store.attempt_finished(chosen.id):
        time.sleep(POLL_S)
        offsets = {p: _show(p, offsets[p]) for p in paths}
    if follow:
        offsets = {p: _show(p, offsets[p]) for p in paths}  # what came after the last poll
    return 0


def _attempt(store: Store, run_id: RunId, issue: IssueNumber, number: int | None) -> AttemptRecord:
    attempts = store.attempts(run_id, issue)
    if not attempts:
        raise InputError(
            f"issue #{issue} has no attempt in run {run_id} yet",
            hint="`issuewave status` shows which issues have started",
        )
    chosen = attempts[-1] if number is None else store.attempt(run_id, issue, number)
    if chosen is None:
        raise InputError(f"issue #{issue} has no attempt {number} (it has {len(attempts)})")
    return chosen


def _show(path: Path, offset: int) -> int:
    """Print what the file gained since `offset`; the new offset."""
    if not path.exists():
        return offset
    with path.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read()
    sys.stdout.write(chunk.decode("utf-8", errors="replace"))
    sys.stdout.flush()
    return offset + len(chunk)
