"""The live reader behind the terminal view and the dashboard: state, tokens, last line so far."""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from issuewave.agents.claude import ClaudeAgent
from issuewave.live import IssueNow, RunNow, Watcher
from issuewave.progress import live_table
from issuewave.store import AttemptRecord, RunRecord, Store, TaskRecord
from issuewave.types import BranchName, IssueNumber, RunId

RUN = RunId("r1")
BRANCH = BranchName("feature/x")


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "state.db")
    run = RunRecord(RUN, time.time(), None, "running", BranchName("main"), "abc", 2, {}, None)
    tasks = [
        TaskRecord(
            RUN,
            IssueNumber(n),
            f"Issue {n}",
            (),
            deps,
            wave,
            1.0,
            "pending",
            BranchName(f"feature/{n}"),
            "",
        )
        for n, deps, wave in ((1, (), 0), (2, (IssueNumber(1),), 1))
    ]
    store.create_run(run, tasks)
    return store


def _attempt(store: Store, tmp_path: Path, issue: int) -> AttemptRecord:
    log_dir = tmp_path / f"issue-{issue}" / "attempt-1"
    log_dir.mkdir(parents=True)
    record = AttemptRecord(0, RUN, IssueNumber(issue), 1, "running", "claude", "t", time.time(),
                           None, None, None, False, None, str(log_dir))  # fmt: skip
    return replace(record, id=store.start_attempt(record))


def _assistant(message_id: str, text: str, output_tokens: int) -> str:
    message = {
        "id": message_id,
        "content": [{"type": "text", "text": text}],
        "usage": {"input_tokens": 100, "output_tokens": output_tokens},
    }
    return json.dumps({"type": "assistant", "message": message}) + "\n"


def test_running_attempt_shows_tokens_and_last_words_its_output_reported_so_far(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    attempt = _attempt(store, tmp_path, 1)
    out = Path(attempt.log_dir) / "agent.out"
    out.write_text(_assistant("m1", "Reading the parser", 20))
    watcher = Watcher(store, RUN, ClaudeAgent())

    first = watcher.snapshot().issues[0]
    assert (first.state, first.agent, first.tokens) == ("running", "claude", 120)
    assert first.last_line == "Reading the parser"

    with out.open("a") as handle:  # the agent goes on talking
        handle.write(_assistant("m2", "Tests pass now\nAll done", 30))
    second = watcher.snapshot()
    assert second.issues[0].tokens == 250
    assert second.issues[0].last_line == "All done"
    assert second.counts == {"done": 0, "running": 1, "waiting": 1, "failed": 0}


def test_finished_attempts_count_their_recorded_usage_and_verifying_is_shown(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    attempt = _attempt(store, tmp_path, 1)
    (Path(attempt.log_dir) / "agent.out").write_text(_assistant("m1", "done", 5))
    store.update_attempt(attempt, "agent_finished", agent_finished_at=time.time())
    watcher = Watcher(store, RUN, ClaudeAgent())
    assert watcher.snapshot().issues[0].state == "verifying"

    store.update_attempt(attempt, "attempt_failed", finished_at=time.time(), status="failed",
                         input_tokens=1000, output_tokens=500, cost_usd=0.25)  # fmt: skip
    store.update_task(RUN, IssueNumber(1), "task_failed", status="failed", reason="tests failed")
    issue = watcher.snapshot().issues[0]
    # The recorded figures of a finished attempt, not a re-reading of its output.
    assert (issue.tokens, issue.cost_usd) == (1500, 0.25)
    assert issue.last_line == "tests failed"


def test_plain_command_output_gives_its_last_line_and_no_tokens(tmp_path: Path) -> None:
    store = _store(tmp_path)
    attempt = _attempt(store, tmp_path, 1)
    (Path(attempt.log_dir) / "agent.out").write_text("step 1\nstep 2\n\n")
    issue = Watcher(store, RUN, None).snapshot().issues[0]
    assert (issue.last_line, issue.tokens, issue.cost_usd) == ("step 2", 0, None)


def test_escape_sequences_and_progress_redraws_never_reach_the_view(tmp_path: Path) -> None:
    store = _store(tmp_path)
    attempt = _attempt(store, tmp_path, 1)
    noisy = "\x1b[32mcompiling\x1b[0m 10%\r\x1b[32mcompiling\x1b[0m 100%\x07\n\x1b]0;title\x07"
    (Path(attempt.log_dir) / "agent.out").write_text(noisy)
    issue = Watcher(store, RUN, None).snapshot().issues[0]
    assert issue.last_line == "compiling 100%"


def test_a_wave_taller_than_the_window_shows_work_in_hand_and_trouble_first() -> None:
    states = ["succeeded"] * 10 + ["failed", "running", "verifying"] + ["pending"] * 7
    issues = [
        IssueNow(n, f"Issue {n}", 0, state, 1, "claude", [], None, None, 0, None, "", None, None)
        for n, state in enumerate(states, start=1)
    ]
    run = RunNow("r", "running", time.time(), None, issues)
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(live_table(run, time.time(), max_rows=6))
    text = console.export_text()
    shown = set(re.findall(r"#(\d+) ", text))
    assert shown == {"11", "12", "13", "14", "15"}  # failed, running, verifying, next pending
    assert "… and 15 more: 10 succeeded, 5 pending" in text
    console.print(live_table(run, time.time()))  # no limit: every issue
    assert "#1 " in console.export_text()
