"""The state store: SQLite in the git common dir, shared by every worktree.

Every state change is an event first: each write appends to `events` and updates the projection
(`runs`, `tasks`, `attempts`, `pull_requests`, `test_results`) in the same transaction, so
`status`, the report and `resume` all read one consistent journal. A connection per unit of
work; WAL so readers (status in another terminal) never block the run; the schema is versioned
with PRAGMA user_version and only ever migrated forward.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from issuewave.errors import IssuewaveError
from issuewave.types import BranchName, IssueNumber, PullNumber, RunId

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        finished_at REAL,
        status TEXT NOT NULL,
        base_branch TEXT NOT NULL,
        base_commit TEXT NOT NULL,
        jobs INTEGER NOT NULL,
        config TEXT NOT NULL,
        pid INTEGER
    );
    CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs(id),
        issue INTEGER NOT NULL,
        title TEXT NOT NULL,
        labels TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        wave INTEGER NOT NULL,
        priority REAL NOT NULL,
        status TEXT NOT NULL,
        branch TEXT NOT NULL,
        worktree TEXT NOT NULL,
        base_commit TEXT,
        head_commit TEXT,
        started_at REAL,
        finished_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        PRIMARY KEY (run_id, issue)
    );
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        issue INTEGER NOT NULL,
        number INTEGER NOT NULL,
        status TEXT NOT NULL,
        agent TEXT NOT NULL,
        tag TEXT NOT NULL,
        started_at REAL NOT NULL,
        agent_finished_at REAL,
        finished_at REAL,
        exit_code INTEGER,
        timed_out INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        log_dir TEXT NOT NULL,
        UNIQUE (run_id, issue, number)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        ts REAL NOT NULL,
        issue INTEGER,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_by_run ON events (run_id, id);
    CREATE TABLE pull_requests (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        issue INTEGER NOT NULL,
        head TEXT NOT NULL UNIQUE,
        base TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        labels TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 2: what the agent CLIs report about each attempt.
    """
    ALTER TABLE attempts ADD COLUMN session_id TEXT;
    ALTER TABLE attempts ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN cost_usd REAL;
    ALTER TABLE attempts ADD COLUMN final_message TEXT;
    """,
    # 3: pull requests that live on a forge: its number and address for them.
    """
    ALTER TABLE pull_requests ADD COLUMN remote_number INTEGER;
    ALTER TABLE pull_requests ADD COLUMN url TEXT;
    """,
    # 4: which tests passed where (the baseline at the run's base, each verified head), what
    # verification found about an attempt's tests, and where an issue's hidden tests are.
    """
    CREATE TABLE test_results (
        run_id TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        results TEXT NOT NULL,
        recorded_at REAL NOT NULL,
        PRIMARY KEY (run_id, commit_sha)
    );
    ALTER TABLE attempts ADD COLUMN test_findings TEXT;
    ALTER TABLE tasks ADD COLUMN acceptance TEXT;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
# Task states. `succeeded` means verified *and* its PR record exists.
PENDING, RUNNING, SUCCEEDED, FAILED, BLOCKED, INTERRUPTED = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "blocked",
    "interrupted",
)
# Done by an earlier run whose PR record is still open: a satisfied dependency, not redone.
REUSED = "reused"
DONE_STATES = frozenset({SUCCEEDED, REUSED})
FINAL_STATES = frozenset({SUCCEEDED, FAILED, BLOCKED, REUSED})


@dataclass(frozen=True)
class RunRecord:
    id: RunId
    created_at: float
    finished_at: float | None
    status: str
    base_branch: BranchName
    base_commit: str
    jobs: int
    config: dict[str, Any]
    pid: int | None


@dataclass(frozen=True)
class TaskRecord:
    run_id: RunId
    issue: IssueNumber
    title: str
    labels: tuple[str, ...]
    depends_on: tuple[IssueNumber, ...]
    wave: int
    priority: float
    status: str
    branch: BranchName
    worktree: str
    base_commit: str | None = None
    head_commit: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    reason: str | None = None
    acceptance: str | None = None  # the folder of its hidden tests, relative to the root


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    run_id: RunId
    issue: IssueNumber
    number: int
    status: str
    agent: str
    tag: str
    started_at: float
    agent_finished_at: float | None
    finished_at: float | None
    exit_code: int | None
    timed_out: bool
    reason: str | None
    log_dir: str
    session_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None
    final_message: str | None = None
    test_findings: str | None = None  # JSON: what verification found (`findings.Findings`)


@dataclass(frozen=True)
class PullRecord:
    number: PullNumber
    run_id: RunId
    issue: IssueNumber
    head: BranchName
    base: BranchName
    title: str
    body: str
    labels: tuple[str, ...]
    state: str
    created_at: float
    updated_at: float
    remote_number: int | None = None  # the forge's own number (GitHub's), when there is one
    url: str | None = None


@dataclass(frozen=True)
class EventRecord:
    id: int
    run_id: RunId
    ts: float
    issue: IssueNumber | None
    kind: str
    data: dict[str, Any]


class Store:
    """All reads and writes of run state; one short transaction per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Two commands opening a new store at once (`run` and a `logs` beside it) would both
        # migrate it, and the second would fail on tables the first made: one at a time.
        with path.with_name(f"{path.name}.migrating").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self._connect() as db:
                _migrate(db)

    @classmethod
    def for_repository(cls, common_dir: Path) -> Store:
        return cls(common_dir / "issuewave" / "state.db")

    @property
    def home(self) -> Path:
        """Where runs keep their logs, prompts and lock: beside the database."""
        return self.path.parent

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- writes: each one an event plus its projection ------------------------------------
    def create_run(
        self,
        run: RunRecord,
        tasks: Sequence[TaskRecord],
        baseline: Mapping[str, Any] | None = None,
    ) -> None:
        """`baseline`: which tests passed on the run's base commit, recorded with the run."""
        with self._transaction() as db:
            _append(db, run.id, None, "run_created", {"jobs": run.jobs, "pid": run.pid})
            db.execute(
                "INSERT INTO runs (id, created_at, finished_at, status, base_branch, base_commit,"
                " jobs, config, pid) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run.id,
                    run.created_at,
                    None,
                    run.status,
                    run.base_branch,
                    run.base_commit,
                    run.jobs,
                    json.dumps(run.config),
                    run.pid,
                ),
            )
            db.executemany(
                f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(_TASK_COLUMNS))})",
                [_task_row(t) for t in tasks],
            )
            if baseline is not None:
                _insert_results(db, run.id, run.base_commit, baseline)

    def record_test_results(self, run_id: RunId, commit: str, results: Mapping[str, Any]) -> None:
        """Which tests passed at a verified head: what its dependents' tests are held to."""
        with self._transaction() as db:
            counts = {k: len(v) for k, v in results.items() if isinstance(v, list)}
            _append(db, run_id, None, "test_results", {"commit": commit, **counts})
            _insert_results(db, run_id, commit, results)

    def update_run(self, run_id: RunId, kind: str, **fields: Any) -> None:
        with self._transaction() as db:
            _append(db, run_id, None, kind, fields)
            _update(db, "runs", fields, "id = ?", (run_id,))

    def update_task(self, run_id: RunId, issue: IssueNumber, kind: str, **fields: Any) -> None:
        with self._transaction() as db:
            _append(db, run_id, issue, kind, fields)
            _update(db, "tasks", fields, "run_id = ? AND issue = ?", (run_id, issue))

    def start_attempt(self, attempt: AttemptRecord) -> int:
        with self._transaction() as db:
            _append(
                db, attempt.run_id, attempt.issue, "attempt_started", {"attempt": attempt.number}
            )
            _update(
                db,
                "tasks",
                {"attempts": attempt.number, "status": RUNNING},
                "run_id = ? AND issue = ?",
                (attempt.run_id, attempt.issue),
            )
            cursor = db.execute(
                "INSERT INTO attempts (run_id, issue, number, status, agent, tag, started_at,"
                " log_dir) VALUES (?,?,?,?,?,?,?,?)",
                (
                    attempt.run_id,
                    attempt.issue,
                    attempt.number,
                    attempt.status,
                    attempt.agent,
                    attempt.tag,
                    attempt.started_at,
                    attempt.log_dir,
                ),
            )
            return int(cursor.lastrowid or 0)

    def update_attempt(self, attempt: AttemptRecord, kind: str, **fields: Any) -> None:
        with self._transaction() as db:
            _append(db, attempt.run_id, attempt.issue, kind, {"attempt": attempt.number, **fields})
            _update(db, "attempts", fields, "id = ?", (attempt.id,))

    def open_pull_request(
        self, pr: PullRecord, task_fields: Mapping[str, Any] | None = None
    ) -> PullRecord:
        """Create the record, or update the open one for the same head: never a second one."""
        with self._transaction() as db:
            existing = db.execute(
                "SELECT * FROM pull_requests WHERE head = ?", (pr.head,)
            ).fetchone()
            number = _upsert_pull(db, pr, existing)
            _append(
                db,
                pr.run_id,
                pr.issue,
                "pr_opened" if existing is None else "pr_updated",
                {"pr": number, "head": pr.head, "base": pr.base},
            )
            if task_fields:
                _append(db, pr.run_id, pr.issue, "task_succeeded", dict(task_fields))
                _update(db, "tasks", task_fields, "run_id = ? AND issue = ?", (pr.run_id, pr.issue))
            row = db.execute("SELECT * FROM pull_requests WHERE number = ?", (number,)).fetchone()
        return _pull(row)

    def set_pull_state(self, run_id: RunId, number: PullNumber, state: str) -> None:
        with self._transaction() as db:
            _append(db, run_id, None, "pr_state", {"pr": number, "state": state})
            _update(
                db,
                "pull_requests",
                {"state": state, "updated_at": time.time()},
                "number = ?",
                (number,),
            )

    def log_event(self, run_id: RunId, issue: IssueNumber | None, kind: str, **data: Any) -> None:
        with self._transaction() as db:
            _append(db, run_id, issue, kind, data)

    # --- reads ------------------------------------------------------------------------------
    def latest_run(self) -> RunRecord | None:
        rows = self._select("SELECT * FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1")
        return _run(rows[0]) if rows else None

    def run(self, run_id: str) -> RunRecord | None:
        rows = self._select("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    def runs(self) -> list[RunRecord]:
        return [_run(r) for r in self._select("SELECT * FROM runs ORDER BY created_at")]

    def tasks(self, run_id: RunId) -> list[TaskRecord]:
        rows = self._select("SELECT * FROM tasks WHERE run_id = ? ORDER BY issue", (run_id,))
        return [_task(r) for r in rows]

    def task(self, run_id: RunId, issue: IssueNumber) -> TaskRecord:
        rows = self._select("SELECT * FROM tasks WHERE run_id = ? AND issue = ?", (run_id, issue))
        if not rows:
            raise KeyError(f"run {run_id} has no issue #{issue}")
        return _task(rows[0])

    def tasks_for_branch(self, branch: str) -> list[TaskRecord]:
        rows = self._select("SELECT * FROM tasks WHERE branch = ? ORDER BY rowid", (branch,))
        return [_task(r) for r in rows]

    def attempts(self, run_id: RunId, issue: IssueNumber | None = None) -> list[AttemptRecord]:
        query = "SELECT * FROM attempts WHERE run_id = ?" + (" AND issue = ?" if issue else "")
        params = (run_id, issue) if issue else (run_id,)
        rows = self._select(query + " ORDER BY issue, number", params)
        return [_attempt(r) for r in rows]

    def attempt(self, run_id: RunId, issue: IssueNumber, number: int) -> AttemptRecord | None:
        rows = self._select(
            "SELECT * FROM attempts WHERE run_id = ? AND issue = ? AND number = ?",
            (run_id, issue, number),
        )
        return _attempt(rows[0]) if rows else None

    def attempt_finished(self, attempt_id: int) -> bool:
        """True once the attempt has ended (or no longer exists)."""
        rows = self._select("SELECT finished_at FROM attempts WHERE id = ?", (attempt_id,))
        return not rows or rows[0]["finished_at"] is not None

    def events(
        self, run_id: RunId, after: int = 0, *, kind: str | None = None
    ) -> list[EventRecord]:
        """The run's journal after event `after`; only events of `kind` when given, filtered in
        SQL because the journal grows with every issue and the orchestrator asks per issue."""
        query = "SELECT * FROM events WHERE run_id = ? AND id > ?"
        params: tuple[Any, ...] = (run_id, after)
        if kind is not None:
            query, params = query + " AND kind = ?", (*params, kind)
        return [_event(r) for r in self._select(query + " ORDER BY id", params)]

    def pull_requests(self, run_id: RunId | None = None) -> list[PullRecord]:
        if run_id is None:
            rows = self._select("SELECT * FROM pull_requests ORDER BY number")
        else:
            rows = self._select(
                "SELECT * FROM pull_requests WHERE run_id = ? ORDER BY number", (run_id,)
            )
        return [_pull(r) for r in rows]

    def test_results(self, run_id: RunId, commit: str) -> dict[str, Any] | None:
        rows = self._select(
            "SELECT results FROM test_results WHERE run_id = ? AND commit_sha = ?",
            (run_id, commit),
        )
        return dict(json.loads(rows[0]["results"])) if rows else None

    def pull_for_head(self, head: str) -> PullRecord | None:
        rows = self._select("SELECT * FROM pull_requests WHERE head = ?", (head,))
        return _pull(rows[0]) if rows else None

    def _select(self, query: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._connect() as db:
            return db.execute(query, params).fetchall()


# --- the run lock: one run per repository at a time -------------------------------------------
class RunLocked(IssuewaveError):
    pass


@contextlib.contextmanager
def run_lock(home: Path, run_id: str) -> Iterator[None]:
    """An flock held for the whole run; the kernel drops it if the process dies, even by SIGKILL."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "run.lock"
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"another issuewave run is going on this repository ({_holder(path)})",
                hint="watch it with `issuewave status`, or wait for it to finish",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, run {run_id}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def _holder(path: Path) -> str:
    text = path.read_text(errors="replace").strip()
    return text or "holder unknown"


# --- rows <-> records ----------------------------------------------------------------------------
def _migrate(db: sqlite3.Connection) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise IssuewaveError(
            f"the state store was written by a newer issuewave (schema {version})",
            hint="upgrade issuewave (pip install -U issuewave)",
        )
    for index in range(version, SCHEMA_VERSION):
        db.executescript(f"BEGIN; {_MIGRATIONS[index]} PRAGMA user_version = {index + 1}; COMMIT;")


def _append(
    db: sqlite3.Connection, run_id: str, issue: int | None, kind: str, data: Mapping[str, Any]
) -> None:
    db.execute(
        "INSERT INTO events (run_id, ts, issue, kind, data) VALUES (?,?,?,?,?)",
        (run_id, time.time(), issue, kind, json.dumps(dict(data), default=str)),
    )


def _update(
    db: sqlite3.Connection, table: str, fields: Mapping[str, Any], where: str, params: Sequence[Any]
) -> None:
    if not fields:
        return
    # Column names come from our own keyword arguments, never from input.
    assignments = ", ".join(f"{column} = ?" for column in fields)
    values = [_column_value(v) for v in fields.values()]
    db.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*values, *params))


def _column_value(value: Any) -> Any:
    return json.dumps(list(value)) if isinstance(value, tuple | list) else value


def _upsert_pull(db: sqlite3.Connection, pr: PullRecord, existing: sqlite3.Row | None) -> int:
    now = time.time()
    labels = json.dumps(list(pr.labels))
    if existing is not None:
        db.execute(
            "UPDATE pull_requests SET run_id=?, base=?, title=?, body=?, labels=?, state='open',"
            " updated_at=?, remote_number=COALESCE(?, remote_number), url=COALESCE(?, url)"
            " WHERE number=?",
            (pr.run_id, pr.base, pr.title, pr.body, labels, now, pr.remote_number, pr.url,
             existing["number"]),
        )  # fmt: skip
        return int(existing["number"])
    cursor = db.execute(
        "INSERT INTO pull_requests (run_id, issue, head, base, title, body, labels, state,"
        " created_at, updated_at, remote_number, url) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (pr.run_id, pr.issue, pr.head, pr.base, pr.title, pr.body, labels, "open", now, now,
         pr.remote_number, pr.url),
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def _insert_results(
    db: sqlite3.Connection, run_id: str, commit: str, results: Mapping[str, Any]
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO test_results VALUES (?,?,?,?)",
        (run_id, commit, json.dumps(dict(results)), time.time()),
    )


_TASK_COLUMNS = ("run_id", "issue", "title", "labels", "depends_on", "wave", "priority", "status",
                 "branch", "worktree", "base_commit", "head_commit", "started_at", "finished_at",
                 "attempts", "reason", "acceptance")  # fmt: skip


def _task_row(t: TaskRecord) -> tuple[Any, ...]:
    return (
        t.run_id,
        t.issue,
        t.title,
        json.dumps(list(t.labels)),
        json.dumps(list(t.depends_on)),
        t.wave,
        t.priority,
        t.status,
        t.branch,
        t.worktree,
        t.base_commit,
        t.head_commit,
        t.started_at,
        t.finished_at,
        t.attempts,
        t.reason,
        t.acceptance,
    )


def _run(r: sqlite3.Row) -> RunRecord:
    return RunRecord(
        RunId(r["id"]),
        r["created_at"],
        r["finished_at"],
        r["status"],
        BranchName(r["base_branch"]),
        r["base_commit"],
        r["jobs"],
        json.loads(r["config"]),
        r["pid"],
    )


def _task(r: sqlite3.Row) -> TaskRecord:
    return TaskRecord(
        RunId(r["run_id"]),
        IssueNumber(r["issue"]),
        r["title"],
        tuple(json.loads(r["labels"])),
        tuple(IssueNumber(n) for n in json.loads(r["depends_on"])),
        r["wave"],
        r["priority"],
        r["status"],
        BranchName(r["branch"]),
        r["worktree"],
        r["base_commit"],
        r["head_commit"],
        r["started_at"],
        r["finished_at"],
        r["attempts"],
        r["reason"],
        r["acceptance"],
    )


def _attempt(r: sqlite3.Row) -> AttemptRecord:
    return AttemptRecord(
        r["id"],
        RunId(r["run_id"]),
        IssueNumber(r["issue"]),
        r["number"],
        r["status"],
        r["agent"],
        r["tag"],
        r["started_at"],
        r["agent_finished_at"],
        r["finished_at"],
        r["exit_code"],
        bool(r["timed_out"]),
        r["reason"],
        r["log_dir"],
        r["session_id"],
        r["input_tokens"],
        r["output_tokens"],
        r["cached_tokens"],
        r["cost_usd"],
        r["final_message"],
        r["test_findings"],
    )


def _pull(r: sqlite3.Row) -> PullRecord:
    return PullRecord(
        PullNumber(r["number"]),
        RunId(r["run_id"]),
        IssueNumber(r["issue"]),
        BranchName(r["head"]),
        BranchName(r["base"]),
        r["title"],
        r["body"],
        tuple(json.loads(r["labels"])),
        r["state"],
        r["created_at"],
        r["updated_at"],
        r["remote_number"],
        r["url"],
    )


def _event(r: sqlite3.Row) -> EventRecord:
    issue = IssueNumber(r["issue"]) if r["issue"] is not None else None
    return EventRecord(
        r["id"], RunId(r["run_id"]), r["ts"], issue, r["kind"], json.loads(r["data"])
    )
