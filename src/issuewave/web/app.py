"""`issuewave serve`'s web application: pages, fragments and server-sent event streams.

Everything is read from the state store and the attempts' log files on each request or poll, never
from the orchestrator's memory: the dashboard works for a run started in another terminal, and a
run that is interrupted and resumed carries on on the same page.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.middleware.trustedhost import TrustedHostMiddleware

from issuewave.agents.base import Agent
from issuewave.git import Git
from issuewave.live import Watcher, readable
from issuewave.report.html import gantt as gantt_svg
from issuewave.report.html import graph as graph_svg
from issuewave.report.html import ordered, tests_section
from issuewave.report.metrics import compute
from issuewave.store import BLOCKED, DONE_STATES, FAILED, AttemptRecord, RunRecord, Store
from issuewave.types import IssueNumber, RunId
from issuewave.web import pages

POLL_S = 0.5
TOKEN_COOKIE = "issuewave_token"
STREAMS = {"out": "agent.out", "err": "agent.err", "tests": "tests.log"}
CHUNK = 64 * 1024
SHOW_LIMIT = 512 * 1024  # of each log, on a page opened afresh; the whole is in `issuewave logs`
Handler = Callable[[Request], Awaitable[Response]]
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


@dataclass(frozen=True)
class Site:
    """What the application reads: the repository's store and checkout, and how to read agents."""

    project: str
    store: Store
    git: Git
    agent_for: Callable[[RunRecord], Agent | None]


def create_app(site: Site, *, token: str | None, loopback: bool) -> FastAPI:
    app = FastAPI(title="issuewave", docs_url=None, redoc_url=None, openapi_url=None)
    if loopback:
        # A page on another site must not reach this one through a DNS name that points here.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES)
    if token is not None:
        app.middleware("http")(_token_guard(token))
    _routes(app, site)
    return app


def _token_guard(
    token: str,
) -> Callable[[Request, Handler], Awaitable[Response]]:
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.query_params.get("token")
        offered = (
            given
            or request.cookies.get(TOKEN_COOKIE)
            or request.headers.get("authorization", "").removeprefix("Bearer ")
        )
        if not offered or not hmac.compare_digest(offered.encode(), token.encode()):
            return PlainTextResponse(
                "401: this dashboard needs its access token. Open the address that "
                "`issuewave serve` printed (it ends in ?token=…).",
                status_code=401,
            )
        response = await call_next(request)
        if given:  # remember it, so links and event streams need no token in their address
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    return guard


def _routes(app: FastAPI, site: Site) -> None:
    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        latest = site.store.latest_run()
        return RedirectResponse(pages.run_url(latest.id) if latest else "/runs", status_code=303)

    @app.get("/runs", response_class=HTMLResponse)
    def runs() -> str:
        listed = []
        for run in site.store.runs():
            tasks = site.store.tasks(run.id)
            counts = {
                "issues": len(tasks),
                "done": sum(t.status in DONE_STATES for t in tasks),
                "failed": sum(t.status in (FAILED, BLOCKED) for t in tasks),
            }
            listed.append((run, counts))
        listed.sort(key=lambda pair: pair[0].created_at, reverse=True)
        return pages.runs_page(site.project, listed)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_overview(run_id: str) -> str:
        run = _run(site, run_id)
        snapshot = Watcher(site.store, run.id, site.agent_for(run)).snapshot()
        figures = compute(site.store, run)
        return pages.run_page(site.project, snapshot, figures, site.store.attempts(run.id))

    @app.get("/runs/{run_id}/fragments")
    def fragments(run_id: str) -> dict[str, str]:
        """The overview's server-drawn parts, redrawn together from one reading of the figures."""
        run = _run(site, run_id)
        figures = compute(site.store, run)
        issues, critical = ordered(figures.issues), figures.run.critical_path
        return {
            "graph": graph_svg(issues, critical),
            "gantt": gantt_svg(issues, site.store.attempts(run.id), critical),
            "figures": pages.figures_table(figures),
            "tests": tests_section(figures),
        }

    @app.get("/runs/{run_id}/state")
    def run_state(run_id: str) -> dict[str, Any]:
        run = _run(site, run_id)
        return _snapshot_json(Watcher(site.store, run.id, site.agent_for(run)))

    @app.get("/runs/{run_id}/events", response_class=EventSourceResponse)
    async def run_events(run_id: str) -> AsyncIterator[ServerSentEvent]:
        run = _run(site, run_id)
        watcher = Watcher(site.store, run.id, site.agent_for(run))
        previous = None
        while True:
            data = await asyncio.to_thread(_snapshot_json, watcher)
            changed = {k: v for k, v in data.items() if k not in ("server_now", "elapsed_s")}
            if changed != previous:
                previous = changed
                yield ServerSentEvent(event="snapshot", data=data, retry=2000)
            await asyncio.sleep(POLL_S)

    @app.get("/runs/{run_id}/issues/{issue}", response_class=HTMLResponse)
    def issue_view(run_id: str, issue: int, attempt: int | None = None) -> str:
        run = _run(site, run_id)
        return pages.issue_page(site.project, _issue_page(site, run, IssueNumber(issue), attempt))

    @app.get(
        "/runs/{run_id}/issues/{issue}/attempts/{number}/output",
        response_class=EventSourceResponse,
    )
    async def attempt_output(
        run_id: str, issue: int, number: int, request: Request
    ) -> AsyncIterator[ServerSentEvent]:
        run = _run(site, run_id)
        chosen = _find_attempt(site.store, run.id, IssueNumber(issue), number)
        resumed = request.headers.get("last-event-id", "")
        offsets = _offsets(resumed)
        if not resumed:  # a new page: a runaway log is shown from its last SHOW_LIMIT bytes
            for name, skipped in _skip_to_tail(Path(chosen.log_dir), offsets).items():
                note = _skipped_note(name, skipped, f"{issue} --attempt {number}")
                yield ServerSentEvent(event=name, data=note, id=_offset_id(offsets))
        while True:
            # Read before the files, so nothing written before the end is missed.
            finished = site.store.attempt_finished(chosen.id)
            for name, filename in STREAMS.items():
                path = Path(chosen.log_dir) / filename
                while text := await asyncio.to_thread(read_from, path, offsets[name]):
                    offsets[name] += len(text.encode("utf-8"))
                    # Colours and cursor moves are for terminals; the page shows the text.
                    shown = readable(text)
                    yield ServerSentEvent(event=name, data=shown, id=_offset_id(offsets))
            if finished:
                yield ServerSentEvent(event="end", data=chosen.number, id=_offset_id(offsets))
                return
            await asyncio.sleep(POLL_S)


def _snapshot_json(watcher: Watcher) -> dict[str, Any]:
    now = time.time()
    return {**watcher.snapshot().as_json(now), "server_now": now}


def _run(site: Site, run_id: str) -> RunRecord:
    run = site.store.run(run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r} in this repository")
    return run


def _find_attempt(store: Store, run_id: RunId, issue: IssueNumber, number: int) -> AttemptRecord:
    found = store.attempt(run_id, issue, number)
    if found is None:
        raise HTTPException(404, f"issue #{issue} has no attempt {number} in run {run_id}")
    return found


def read_from(path: Path, offset: int) -> str:
    """Up to CHUNK bytes from `offset`, cut at a whole UTF-8 character."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(CHUNK)
    except OSError:
        return ""
    for cut in range(len(data), max(len(data) - 4, 0) - 1, -1):
        try:
            return data[:cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")  # not UTF-8 at all: shown, replaced


def _skipped_note(stream: str, skipped: int, which: str) -> str:
    command = f"issuewave logs {which}" + (" --tests" if stream == "tests" else "")
    return f"[… {skipped:,} bytes before this; `{command}` prints them all]\n"


def _skip_to_tail(log_dir: Path, offsets: dict[str, int]) -> dict[str, int]:
    """Move each stream's offset to its last SHOW_LIMIT bytes (at a character's start);
    how many bytes each skipped."""
    skipped = {}
    for name, filename in STREAMS.items():
        path = log_dir / filename
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size <= SHOW_LIMIT:
            continue
        start = size - SHOW_LIMIT
        with path.open("rb") as handle:
            handle.seek(start)
            lead = handle.read(4)
        start += next((i for i, b in enumerate(lead) if b & 0xC0 != 0x80), 0)
        offsets[name] = skipped[name] = start
    return skipped


def _offsets(last_event_id: str) -> dict[str, int]:
    """Where a reconnecting browser left off: `out:120,err:0,tests:0`."""
    offsets = dict.fromkeys(STREAMS, 0)
    for part in last_event_id.split(","):
        name, _, value = part.partition(":")
        if name in offsets and value.isdigit():
            offsets[name] = int(value)
    return offsets


def _offset_id(offsets: dict[str, int]) -> str:
    return ",".join(f"{name}:{offset}" for name, offset in offsets.items())


def _issue_page(
    site: Site, run: RunRecord, issue: IssueNumber, attempt: int | None
) -> pages.IssuePage:
    try:
        task = site.store.task(run.id, issue)
    except KeyError as gone:
        raise HTTPException(404, f"issue #{issue} is not in run {run.id}") from gone
    attempts = site.store.attempts(run.id, issue)
    shown = _find_attempt(site.store, run.id, issue, attempt) if attempt else None
    shown = shown or (attempts[-1] if attempts else None)
    pulls = [
        p for p in site.store.pull_requests(run.id) if p.issue == issue and p.state != "closed"
    ]
    return pages.IssuePage(
        run=run,
        task=task,
        now=Watcher(site.store, run.id, site.agent_for(run)).issue(task, attempts),
        attempts=attempts,
        shown=shown,
        latest=attempt is None,
        prompt=_text(Path(shown.log_dir) / "prompt.md") if shown else "",
        diff_stat=_diff_stat(site.git, task.base_commit, task.head_commit or task.branch),
        pull=pulls[-1] if pulls else None,
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _diff_stat(git: Git, base: str | None, head: str) -> str:
    if base is None or git.rev(head) is None:
        return ""
    return git.diff_stat_by_file(base, head)
