"""Run state is never thrown away: an older state store is migrated forward in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from issuewave import store as store_module
from issuewave.store import SCHEMA_VERSION, Store
from issuewave.types import IssueNumber, RunId


def test_schema_1_store_is_migrated_with_its_runs_intact(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript(store_module._MIGRATIONS[0] + "PRAGMA user_version = 1;")
        db.execute(
            "INSERT INTO runs VALUES ('r1', 1.0, 2.0, 'succeeded', 'main', 'abc', 2, '{}', NULL)"
        )
        db.execute(
            "INSERT INTO attempts (run_id, issue, number, status, agent, tag, started_at,"
            " finished_at, log_dir) VALUES ('r1', 5, 1, 'verified', 'command', 't', 1.0, 2.0, '/l')"
        )
    migrated = Store(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    run = migrated.run("r1")
    assert run is not None and run.status == "succeeded"
    (attempt,) = migrated.attempts(RunId("r1"), IssueNumber(5))
    assert attempt.status == "verified"
    assert (attempt.input_tokens, attempt.cost_usd, attempt.session_id) == (0, None, None)


def test_schema_3_store_gains_test_records_and_keeps_its_tasks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript("".join(store_module._MIGRATIONS[:3]) + "PRAGMA user_version = 3;")
        db.execute(
            "INSERT INTO runs VALUES ('r1', 1.0, NULL, 'interrupted', 'main', 'abc', 2, '{}', 7)"
        )
        db.execute(
            "INSERT INTO tasks VALUES ('r1', 5, 'T', '[]', '[]', 1, 1.0, 'pending', 'b', '/w',"
            " NULL, NULL, NULL, NULL, 0, NULL)"
        )
    migrated = Store(path)
    (task,) = migrated.tasks(RunId("r1"))
    assert (task.title, task.acceptance) == ("T", None)
    assert migrated.test_results(RunId("r1"), "abc") is None  # resumed with exit status only
    migrated.record_test_results(RunId("r1"), "abc", {"source": "JUnit XML", "passed": ["t"]})
    assert migrated.test_results(RunId("r1"), "abc") == {"source": "JUnit XML", "passed": ["t"]}
