"""The state store on a real SQLite file: schema version, event journal, WAL, the run lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from issuewave.errors import IssuewaveError
from issuewave.store import (
    PENDING,
    RUNNING,
    SCHEMA_VERSION,
    SUCCEEDED,
    PullRecord,
    RunLocked,
    RunRecord,
    Store,
    TaskRecord,
    run_lock,
)
from issuewave.types import BranchName, IssueNumber, PullNumber, RunId

RUN = RunId("run-1")


def make_run(run_id: RunId = RUN) -> RunRecord:
    return RunRecord(
        id=run_id,
        created_at=time.time(),
        finished_at=None,
        status="running",
        base_branch=BranchName("main"),
        base_commit="a" * 40,
        jobs=2,
        config={"jobs": 2, "agent": "command"},
        pid=os.getpid(),
    )


def make_task(issue: int, *depends_on: int, run_id: RunId = RUN) -> TaskRecord:
    return TaskRecord(
        run_id=run_id,
        issue=IssueNumber(issue),
        title=f"Issue {issue}",
        labels=("backend",),
        depends_on=tuple(IssueNumber(d) for d in depends_on),
        wave=1 if depends_on else 0,
        priority=float(10 - issue),
        status=PENDING,
        branch=BranchName(f"feature/issue-{issue}"),
        worktree=f"/tmp/wt/issue-{issue}",
    )


def make_pull(issue: int, title: str = "feat: thing", run_id: RunId = RUN) -> PullRecord:
    return PullRecord(
        number=PullNumber(0),  # the store assigns the number
        run_id=run_id,
        issue=IssueNumber(issue),
        head=BranchName(f"feature/issue-{issue}"),
        base=BranchName("main"),
        title=title,
        body="Closes #1",
        labels=("issuewave",),
        state="open",
        created_at=0.0,
        updated_at=0.0,
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "common" / "issuewave" / "state.db"


@pytest.fixture
def store(db_path: Path) -> Store:
    made = Store(db_path)
    made.create_run(make_run(), [make_task(1), make_task(2, 1)])
    return made


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def event_count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        db.close()


# --- schema -----------------------------------------------------------------------------------
def test_new_store_creates_the_schema_at_the_current_version(db_path: Path) -> None:
    Store(db_path)
    assert db_path.is_file()
    assert SCHEMA_VERSION >= 1
    assert user_version(db_path) == SCHEMA_VERSION
    with sqlite3.connect(db_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "tasks", "attempts", "events", "pull_requests"} <= tables


def test_for_repository_keeps_state_in_the_common_dir(tmp_path: Path) -> None:
    made = Store.for_repository(tmp_path / ".git")
    assert made.path == tmp_path / ".git" / "issuewave" / "state.db"
    assert made.home == tmp_path / ".git" / "issuewave"


def test_reopening_keeps_runs_tasks_and_events(store: Store, db_path: Path) -> None:
    store.update_task(RUN, IssueNumber(1), "task_started", status=RUNNING)
    reopened = Store(db_path)
    run = reopened.latest_run()
    assert run is not None
    assert run.id == RUN
    assert run.config == {"jobs": 2, "agent": "command"}
    tasks = reopened.tasks(RUN)
    assert [t.issue for t in tasks] == [1, 2]
    assert tasks[0].status == RUNNING
    assert tasks[1].depends_on == (1,)
    assert tasks[1].labels == ("backend",)
    assert [e.kind for e in reopened.events(RUN)] == ["run_created", "task_started"]
    assert user_version(db_path) == SCHEMA_VERSION


def test_a_store_from_a_newer_issuewave_is_refused_clearly(store: Store, db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(IssuewaveError) as caught:
        Store(db_path)
    assert "newer issuewave" in caught.value.message
    assert str(SCHEMA_VERSION + 1) in caught.value.message
    assert caught.value.hint is not None and "upgrade" in caught.value.hint
    # Refusing must not damage what is there.
    assert user_version(db_path) == SCHEMA_VERSION + 1
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT id FROM runs").fetchall() == [(RUN,)]


# --- the event journal ------------------------------------------------------------------------
def test_update_task_appends_an_event_with_its_kind_and_fields(store: Store) -> None:
    before = time.time()
    store.update_task(RUN, IssueNumber(1), "task_started", status=RUNNING, started_at=123.5)
    store.update_task(RUN, IssueNumber(1), "task_failed", status="failed", reason="tests failed")
    after = time.time()

    events = store.events(RUN)
    assert [e.kind for e in events] == ["run_created", "task_started", "task_failed"]
    started, failed = events[1], events[2]
    assert started.issue == 1
    assert started.data == {"status": RUNNING, "started_at": 123.5}
    assert failed.data == {"status": "failed", "reason": "tests failed"}
    # Ordered by id, timestamped when written.
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert len({e.id for e in events}) == len(events)
    assert events[0].ts <= started.ts <= failed.ts
    assert before <= started.ts <= after
    task = store.tasks(RUN)[0]
    assert (task.status, task.reason, task.started_at) == ("failed", "tests failed", 123.5)


def test_events_after_returns_only_newer_events(store: Store) -> None:
    first = store.events(RUN)[-1].id
    store.log_event(RUN, IssueNumber(2), "note", text="hello")
    newer = store.events(RUN, after=first)
    assert [(e.kind, e.issue, e.data) for e in newer] == [("note", 2, {"text": "hello"})]


def test_a_failed_projection_leaves_no_event_behind(store: Store, db_path: Path) -> None:
    """Event and projection are one transaction: if the update fails, the event is rolled back."""
    count = event_count(db_path)
    with pytest.raises(sqlite3.OperationalError):
        store.update_task(RUN, IssueNumber(1), "task_started", no_such_column=1)
    assert event_count(db_path) == count
    assert store.tasks(RUN)[0].status == PENDING


def test_update_run_records_the_event_and_the_projection(store: Store) -> None:
    store.update_run(RUN, "run_finished", status="succeeded", finished_at=99.0)
    run = store.run(RUN)
    assert run is not None
    assert (run.status, run.finished_at) == ("succeeded", 99.0)
    last = store.events(RUN)[-1]
    assert (last.kind, last.issue, last.data) == (
        "run_finished",
        None,
        {"status": "succeeded", "finished_at": 99.0},
    )


# --- pull requests ----------------------------------------------------------------------------
def test_opening_a_pull_request_twice_for_one_head_keeps_one_record(store: Store) -> None:
    first = store.open_pull_request(make_pull(1, title="first title"))
    second = store.open_pull_request(make_pull(1, title="second title"))

    assert first.number == second.number
    assert second.title == "second title"
    assert second.state == "open"
    assert [p.number for p in store.pull_requests()] == [first.number]
    pr_events = [e for e in store.events(RUN) if e.kind.startswith("pr_")]
    assert [e.kind for e in pr_events] == ["pr_opened", "pr_updated"]
    assert all(e.data["pr"] == first.number for e in pr_events)
    assert pr_events[0].data["head"] == "feature/issue-1"


def test_reopening_a_closed_pull_request_reuses_its_number(store: Store) -> None:
    first = store.open_pull_request(make_pull(1))
    store.set_pull_state(RUN, first.number, "closed")
    assert store.pull_requests()[0].state == "closed"
    again = store.open_pull_request(make_pull(1))
    assert again.number == first.number
    assert again.state == "open"


def test_different_heads_get_different_numbers(store: Store) -> None:
    one = store.open_pull_request(make_pull(1))
    two = store.open_pull_request(make_pull(2))
    assert one.number != two.number
    assert store.pull_for_head("feature/issue-2") == two
    assert store.pull_for_head("feature/issue-9") is None


def test_open_pull_request_updates_the_task_in_the_same_transaction(
    store: Store, db_path: Path
) -> None:
    pr = store.open_pull_request(
        make_pull(1), task_fields={"status": SUCCEEDED, "head_commit": "b" * 40}
    )
    task = store.tasks(RUN)[0]
    assert (task.status, task.head_commit) == (SUCCEEDED, "b" * 40)
    kinds = [e.kind for e in store.events(RUN)]
    assert kinds[-2:] == ["pr_opened", "task_succeeded"]
    assert store.pull_requests(RUN) == [pr]

    # And it is all or nothing: a bad task field leaves neither the PR nor its events.
    count = event_count(db_path)
    with pytest.raises(sqlite3.OperationalError):
        store.open_pull_request(make_pull(2), task_fields={"no_such_column": 1})
    assert store.pull_for_head("feature/issue-2") is None
    assert event_count(db_path) == count


# --- concurrency ------------------------------------------------------------------------------
def test_a_reader_sees_committed_state_while_a_writer_works(store: Store, db_path: Path) -> None:
    reader = Store(db_path)
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    writer = sqlite3.connect(db_path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE tasks SET status = 'running' WHERE issue = 1")
        started = time.monotonic()
        # The reader neither blocks (busy timeout is 30 s) nor sees the uncommitted change.
        assert reader.tasks(RUN)[0].status == PENDING
        assert time.monotonic() - started < 2
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert reader.tasks(RUN)[0].status == RUNNING


def test_a_second_store_object_sees_writes_of_the_first(store: Store, db_path: Path) -> None:
    other = Store(db_path)
    store.update_task(RUN, IssueNumber(2), "task_blocked", status="blocked", reason="#1 failed")
    assert other.tasks(RUN)[1].reason == "#1 failed"


# --- the run lock -----------------------------------------------------------------------------
LOCK_HOLDER = textwrap.dedent(
    """\
    import sys, time
    from pathlib import Path
    from issuewave.store import run_lock
    with run_lock(Path(sys.argv[1]), "run-held"):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_a_second_process_cannot_take_the_run_lock_until_the_holder_dies(tmp_path: Path) -> None:
    home = tmp_path / "issuewave"
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(home)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked) as caught, run_lock(home, "run-mine"):
            pass
        assert f"pid {holder.pid}" in caught.value.message
        assert "run-held" in caught.value.message
        assert caught.value.hint is not None and "issuewave status" in caught.value.hint

        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        # The kernel released the flock with the process: no stale lock to clean up by hand.
        with run_lock(home, "run-mine"):
            assert (home / "run.lock").read_text() == f"pid {os.getpid()}, run run-mine\n"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_the_run_lock_is_released_on_exit_from_the_block(tmp_path: Path) -> None:
    with run_lock(tmp_path, "first"):
        pass
    with run_lock(tmp_path, "second"):
        assert "run second" in (tmp_path / "run.lock").read_text()


def test_commands_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """`run` creates the store while `logs` or `status` beside it opens it too: each process
    must find it migrated, never fail on a table another one just made."""
    script = (
        "import sys; from pathlib import Path; from issuewave.store import Store; "
        "Store(Path(sys.argv[1]))"
    )
    path = tmp_path / "state" / "state.db"
    starts = [
        subprocess.Popen([sys.executable, "-c", script, str(path)], stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    errors = [p.communicate()[1].decode() for p in starts]
    assert [p.returncode for p in starts] == [0] * 8, errors
