"""What a run is doing right now, read from the state store and the attempts' log files.

One reader for every live view: the terminal table of `issuewave run` and the dashboard of
`issuewave serve`. It reads only what the orchestrator writes down (the journal's projections and
the agent's output files), so it works from any process: a dashboard started in another terminal,
or one that outlives the run's restart.

Tokens and cost "so far" are the finished attempts' figures plus what the running attempt's own
output has reported until now, read by the agent's adapter. Nothing is estimated: an agent whose
CLI reports usage only at the end shows its tokens at the end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from issuewave.agents.base import Agent, Usage
from issuewave.naming import one_line
from issuewave.store import (
    BLOCKED,
    FAILED,
    INTERRUPTED,
    PENDING,
    REUSED,
    RUNNING,
    SUCCEEDED,
    AttemptRecord,
    RunRecord,
    Store,
    TaskRecord,
)

VERIFYING = "verifying"  # a running attempt whose agent has finished: its tests are running
# Output files larger than this are read from their tail only for the last line, and their usage
# is not re-parsed on every refresh (a runaway agent must not make the view slow).
PARSE_LIMIT = 8 * 1024 * 1024
TAIL_BYTES = 16 * 1024
# Terminal escape sequences (colours, cursor moves, titles) and other control characters that
# agents' output may hold: never passed on to the user's terminal or a page.
ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class IssueNow:
    number: int
    title: str
    wave: int
    state: str
    attempt: int
    agent: str | None
    depends_on: list[int]
    started_at: float | None
    finished_at: float | None
    tokens: int  # input + output, as the agent's CLI reported them
    cost_usd: float | None  # None where the CLI reports no cost
    last_line: str  # the agent's latest words (or the failure's reason once it is over)
    reason: str | None
    log_dir: str | None  # the latest attempt's logs

    def elapsed_s(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or now) - self.started_at


@dataclass(frozen=True)
class RunNow:
    id: str
    status: str
    started_at: float
    finished_at: float | None
    issues: list[IssueNow]

    def count(self, *states: str) -> int:
        return sum(i.state in states for i in self.issues)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "done": self.count(SUCCEEDED, REUSED),
            "running": self.count(RUNNING, VERIFYING),
            "waiting": self.count(PENDING),
            "failed": self.count(FAILED, BLOCKED, INTERRUPTED),
        }

    def elapsed_s(self, now: float) -> float:
        return (self.finished_at or now) - self.started_at

    def as_json(self, now: float | None = None) -> dict[str, object]:
        moment = time.time() if now is None else now
        return {
            "id": self.id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "elapsed_s": round(self.elapsed_s(moment), 1),
            "counts": self.counts,
            "issues": [
                {
                    "number": i.number,
                    "title": i.title,
                    "wave": i.wave,
                    "state": i.state,
                    "attempt": i.attempt,
                    "agent": i.agent,
                    "depends_on": i.depends_on,
                    "started_at": i.started_at,
                    "finished_at": i.finished_at,
                    "elapsed_s": _rounded(i.elapsed_s(moment)),
                    "tokens": i.tokens,
                    "cost_usd": i.cost_usd,
                    "last_line": i.last_line,
                    "reason": i.reason,
                }
                for i in self.issues
            ],
        }


@dataclass(frozen=True)
class _Read:
    size: int
    mtime_ns: int
    usage: Usage
    last_line: str


class Watcher:
    """Builds `RunNow` snapshots; remembers each output file's reading until the file grows."""

    def __init__(self, store: Store, run_id: str, agent: Agent | None) -> None:
        self.store = store
        self.run_id = run_id
        self.agent = agent
        self._reads: dict[Path, _Read] = {}

    def snapshot(self) -> RunNow:
        run = self.store.run(self.run_id)
        if run is None:
            raise LookupError(f"no run {self.run_id!r}")
        attempts = self.store.attempts(run.id)
        by_issue: dict[int, list[AttemptRecord]] = {}
        for a in attempts:
            by_issue.setdefault(a.issue, []).append(a)
        tasks = sorted(self.store.tasks(run.id), key=lambda t: (t.wave, t.issue))
        issues = [self.issue(t, by_issue.get(t.issue, [])) for t in tasks]
        return RunNow(run.id, run.status, _started(run, attempts), run.finished_at, issues)

    def issue(self, task: TaskRecord, attempts: Sequence[AttemptRecord]) -> IssueNow:
        """One issue now, from its task and its attempts in order."""
        latest = attempts[-1] if attempts else None
        used = sum((_recorded(a) for a in attempts if a.finished_at is not None), Usage())
        last_line = ""
        if latest is not None:
            reading = self._read(latest)
            if latest.finished_at is None:
                used = used + reading.usage
            last_line = reading.last_line
        if task.status in (FAILED, BLOCKED) and task.reason:
            last_line = one_line(task.reason, 200)
        return IssueNow(
            number=task.issue,
            title=task.title,
            wave=task.wave,
            state=_state(task, latest),
            attempt=latest.number if latest else task.attempts,
            agent=latest.agent if latest else None,
            depends_on=list(task.depends_on),
            started_at=task.started_at or (attempts[0].started_at if attempts else None),
            finished_at=task.finished_at if task.status != RUNNING else None,
            tokens=used.total_tokens,
            cost_usd=used.cost_usd,
            last_line=last_line,
            reason=task.reason,
            log_dir=latest.log_dir if latest else None,
        )

    def _read(self, attempt: AttemptRecord) -> _Read:
        path = Path(attempt.log_dir) / "agent.out"
        try:
            stat = path.stat()
        except OSError:
            return _Read(0, 0, Usage(), _last_line(Path(attempt.log_dir) / "agent.err", None))
        known = self._reads.get(path)
        if known and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return known
        reading = self._parse(path, stat.st_size, stat.st_mtime_ns, attempt)
        self._reads[path] = reading
        return reading

    def _parse(self, path: Path, size: int, mtime_ns: int, attempt: AttemptRecord) -> _Read:
        usage, said = Usage(), ""
        if self.agent is not None and size <= PARSE_LIMIT:
            text = path.read_text(encoding="utf-8", errors="replace")
            report = self.agent.read_output(text, None)
            usage = report.usage
            said = _last_words(report.final_message)
        if not said:
            said = _last_line(path, self.agent) or _last_line(
                Path(attempt.log_dir) / "agent.err", None
            )
        return _Read(size, mtime_ns, usage, said)


def _state(task: TaskRecord, latest: AttemptRecord | None) -> str:
    running = latest is not None and latest.finished_at is None
    if task.status == RUNNING and running and latest and latest.agent_finished_at is not None:
        return VERIFYING
    return task.status


def _recorded(attempt: AttemptRecord) -> Usage:
    return Usage(
        attempt.input_tokens, attempt.output_tokens, attempt.cached_tokens, attempt.cost_usd
    )


def _started(run: RunRecord, attempts: Sequence[AttemptRecord]) -> float:
    return min((a.started_at for a in attempts), default=run.created_at)


def readable(text: str) -> str:
    """Agent output without escape sequences or control characters (line ends and tabs kept)."""
    return CONTROLS.sub("", ESCAPES.sub("", text))


def _last_words(message: str) -> str:
    lines = [line for line in readable(message).splitlines() if line.strip()]
    return one_line(lines[-1], 200) if lines else ""


def _last_line(path: Path, agent: Agent | None) -> str:
    """The file's last non-empty line; JSON event lines are skipped where an adapter reads them."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - TAIL_BYTES))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    for line in reversed(readable(tail).splitlines()):
        text = line.strip()
        if text and not (agent is not None and text.startswith("{")):
            return one_line(text, 200)
    return ""


def clock(seconds: float) -> str:
    """Elapsed time as m:ss, or h:mm:ss past the hour."""
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
