"""Finding a run in the store, and the settings it goes on with."""

from __future__ import annotations

import fcntl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from issuewave.config import Config
from issuewave.errors import IssuewaveError
from issuewave.store import RunRecord, Store


def pick_run(store: Store, run_id: str | None) -> RunRecord:
    run = store.run(run_id) if run_id else store.latest_run()
    if run is None:
        what = f"no run {run_id!r}" if run_id else "no run yet in this repository"
        raise IssuewaveError(what, hint="start one with `issuewave run`")
    return run


def run_config(run: RunRecord, overrides: Mapping[str, Any] | None = None) -> Config:
    """A run goes on with the settings it started with, not whatever the files say now;
    `overrides` (resume's raised budgets) are the only exception."""
    settings = {k: v for k, v in run.config.items() if k in Config.model_fields}
    settings.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return Config.model_validate(settings, strict=False)


def orchestrator_alive(home: Path) -> bool:
    """True while some process holds the run lock (a run or resume is going)."""
    path = home / "run.lock"
    if not path.exists():
        return False
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
