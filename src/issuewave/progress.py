"""Progress while a run goes: a live table on a terminal, one line per event anywhere else.

Both write to stderr, so `run --json` keeps stdout for the final state alone.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from issuewave.naming import one_line
from issuewave.types import IssueNumber

STATE_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "verifying": "yellow",
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
    """A table redrawn in place on a terminal."""

    def __init__(self, rows: list[Row]) -> None:
        self._rows = _Rows({r.issue: r for r in rows})
        self._started = time.time()
        self._live = Live(
            get_renderable=self._table, console=Console(stderr=True), refresh_per_second=4
        )

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def update(self, issue: IssueNumber, state: str, *, attempt: int = 0, note: str = "") -> None:
        self._rows.apply(issue, state, attempt, note)

    def _table(self) -> Table:
        rows = list(self._rows.rows.values())
        counts = {s: sum(r.state == s for r in rows) for s in STATE_STYLE}
        elapsed = time.time() - self._started
        title = (
            f"issuewave — {counts['succeeded']} done, {counts['running'] + counts['verifying']}"
            f" running, {counts['pending']} waiting, {counts['failed'] + counts['blocked']}"
            f" failed or blocked — {elapsed:.0f}s"
        )
        table = Table(title=title, expand=False)
        for column in ("Issue", "Wave", "State", "Attempt", "Elapsed", "Title", "Note"):
            table.add_column(column, overflow="ellipsis", no_wrap=column != "Note")
        for r in sorted(rows, key=lambda r: (r.wave, r.issue)):
            style = STATE_STYLE.get(r.state, "")
            table.add_row(
                f"#{r.issue}",
                str(r.wave),
                f"[{style}]{r.state}[/]",
                str(r.attempt or ""),
                r.elapsed(),
                escape(one_line(r.title, 50)),
                escape(one_line(r.note, 60)),
            )
        return table


def make_view(rows: list[Row], *, plain: bool) -> View:
    interactive = sys.stderr.isatty() and not plain and "NO_COLOR" not in os.environ
    return LiveView(rows) if interactive else PlainView(rows)
