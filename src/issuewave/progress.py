"""Progress while a run goes: a live table on a terminal, one line per event anywhere else.

Both write to stderr, so `run --json` keeps stdout for the final state alone.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from issuewave.live import IssueNow, RunNow, Watcher, clock
from issuewave.naming import one_line
from issuewave.types import IssueNumber

STATE_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "verifying": "yellow",
    "reused": "green",
    "succeeded": "green",
    "failed": "red",
    "blocked": "magenta",
    "interrupted": "red",
}


@dataclass
class Row:
    issue: IssueNumber
    title: str
    wave: int
    state: str = "pending"
    attempt: int = 0
    note: str = ""
    started: float | None = None
    ended: float | None = None

    def elapsed(self) -> str:
        if self.started is None:
            return ""
        seconds = (self.ended or time.time()) - self.started
        return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class View(Protocol):
    def __enter__(self) -> View: ...
    def __exit__(self, *exc: object) -> None: ...
    def update(
        self, issue: IssueNumber, state: str, *, attempt: int = 0, note: str = ""
    ) -> None: ...


@dataclass
class _Rows:
    rows: dict[IssueNumber, Row] = field(default_factory=dict)

    def apply(self, issue: IssueNumber, state: str, attempt: int, note: str) -> Row:
        row = self.rows[issue]
        if state == "running" and row.started is None:
            row.started = time.time()
        if state in ("succeeded", "failed", "blocked", "interrupted"):
            row.ended = time.time()
        row.state, row.note = state, note
        row.attempt = attempt or row.attempt
        return row


class PlainView:
    """A line per event: for logs, pipes, CI and NO_COLOR."""

    def __init__(self, rows: list[Row]) -> None:
        self._rows = _Rows({r.issue: r for r in rows})

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, issue: IssueNumber, state: str, *, attempt: int = 0, note: str = "") -> None:
        row = self._rows.apply(issue, state, attempt, note)
        stamp = time.strftime("%H:%M:%S")
        detail = f" (attempt {row.attempt})" if row.attempt and state == "running" else ""
        tail = f": {one_line(note, 160)}" if note else ""
        print(f"{stamp} #{issue} {state}{detail}{tail}", file=sys.stderr, flush=True)


class LiveView:
    """A table redrawn in place on a terminal, from what the run has written down (`live`)."""

    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher
        self._console = Console(stderr=True)
        self._live = Live(get_renderable=self._table, console=self._console, refresh_per_second=2)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def update(self, issue: IssueNumber, state: str, *, attempt: int = 0, note: str = "") -> None:
        self._live.refresh()  # the store already says it; draw it now rather than at the tick

    def _table(self) -> Table:
        # Title, header and borders take 6 lines; the rest of the window is for issues.
        room = max(3, self._console.size.height - 6)
        return live_table(self._watcher.snapshot(), time.time(), max_rows=room)


# Which issues a window too small for all of them shows first: work in hand, then trouble.
SHOW_FIRST = {"running": 0, "verifying": 0, "failed": 1, "blocked": 1, "interrupted": 1,
              "pending": 2}  # fmt: skip


def live_table(run: RunNow, now: float, *, max_rows: int | None = None) -> Table:
    counts = run.counts
    title = (
        f"issuewave — {counts['done']} done, {counts['running']} running, {counts['waiting']}"
        f" waiting, {counts['failed']} failed or blocked — {clock(run.elapsed_s(now))}"
    )
    table = Table(title=title, expand=False)
    columns = ("Issue", "Wave", "State", "Try", "Elapsed", "Agent", "Tokens", "Cost", "Title")
    for column in columns:
        # Number and state stay whole on a narrow terminal; the title and last line give way.
        keep = column in ("Issue", "State")
        table.add_column(column, overflow="ellipsis", no_wrap=True, min_width=9 if keep else None)
    table.add_column("Agent's last line", overflow="ellipsis", no_wrap=True, max_width=60)
    shown, hidden = _fit(run.issues, max_rows)
    if hidden:
        table.caption = f"… and {len(hidden)} more: " + ", ".join(
            f"{n} {state}" for state, n in Counter(i.state for i in hidden).most_common()
        )
    for i in shown:
        style = STATE_STYLE.get(i.state, "")
        elapsed = i.elapsed_s(now)
        table.add_row(
            f"#{i.number}",
            str(i.wave),
            f"[{style}]{i.state}[/]",
            str(i.attempt or ""),
            clock(elapsed) if elapsed is not None else "",
            escape(i.agent or ""),
            f"{i.tokens:,}" if i.tokens else "",
            f"${i.cost_usd:.2f}" if i.cost_usd is not None else "",
            escape(one_line(i.title, 40)),
            escape(i.last_line),
        )
    return table


def _fit(issues: list[IssueNow], max_rows: int | None) -> tuple[list[IssueNow], list[IssueNow]]:
    """All issues when they fit; else the most telling ones (kept in wave order) and the rest."""
    if max_rows is None or len(issues) <= max_rows:
        return issues, []
    room = max_rows - 1  # one line for the caption
    ranked = sorted(range(len(issues)), key=lambda n: (SHOW_FIRST.get(issues[n].state, 3), n))
    kept = set(ranked[:room])
    return (
        [i for n, i in enumerate(issues) if n in kept],
        [i for n, i in enumerate(issues) if n not in kept],
    )


def make_view(rows: list[Row], *, plain: bool, watcher: Watcher) -> View:
    # The table is drawn on stderr; with either stream redirected (a log, `| tee`, CI) the output
    # is being kept, and kept output should be lines, not redraws.
    terminal = sys.stderr.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    interactive = terminal and not plain and "NO_COLOR" not in os.environ
    return LiveView(watcher) if interactive else PlainView(rows)
