"""`issuewave serve` in a real browser: Debian's chromium, headless, driven by Playwright.

The dashboard runs as its own process beside a real `issuewave run`, as a user would have it: it
knows the run only through the state store. Agents here wait for a release file, so each test
decides when the run advances. Screenshots go to test-artifacts/ (or $TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import Project, seed_issues
from issuewave.web.app import read_from

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))

# Says one line, then waits for scratch/release-<issue> before finishing its work.
GATED_AGENT = """
    import os, pathlib, sys, time
    scratch = pathlib.Path(__file__).parent
    issue = os.environ["ISSUEWAVE_ISSUE"]
    print(f"step one for issue {issue}", flush=True)
    release = scratch / f"release-{issue}"
    deadline = time.time() + 90
    while not release.exists() and time.time() < deadline:
        time.sleep(0.05)
    pathlib.Path("work").mkdir(exist_ok=True)
    pathlib.Path("work", f"issue-{issue}.txt").write_text(f"done {issue}\\n")
    print(f"finished issue {issue}", flush=True)
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


class Dashboard:
    def __init__(self, project: Project, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "issuewave", "serve", "--port", "0", *args],
            cwd=project.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        found = re.search(r"(http://\S+?/)(\?token=(\S+))?$", first.strip())
        assert found, f"serve printed {first!r}; stderr: {self.process.stderr}"
        self.url, self.token = found.group(1), found.group(3)
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def local(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def dashboard(project: Project) -> Iterator[Dashboard]:
    served = Dashboard(project)
    yield served
    served.stop()


def _start_gated(project: Project, waiting: set[int]) -> subprocess.Popen[str]:
    """`issuewave run` with gated agents, once those of `waiting` have said their first line."""
    project.configure(agent_cmd=project.agent("gated", GATED_AGENT))
    project.commit("gated agent")
    run = project.popen("run", "--plain")
    _wait_for_attempts(project, waiting)
    return run


def _release(project: Project, *issues: int) -> None:
    for issue in issues:
        (project.scratch / f"release-{issue}").write_text("go")


def _wait_for_attempts(project: Project, issues: set[int]) -> None:
    """Until each issue's agent has said its first line (it runs, gated)."""
    deadline = time.monotonic() + 60
    runs = project.root / ".git" / "issuewave" / "runs"
    while time.monotonic() < deadline:
        said = {
            int(m.group(1))
            for out in runs.glob("*/issue-*/attempt-*/agent.out")
            if (m := re.search(r"step one for issue (\d+)", out.read_text()))
        }
        if issues <= said:
            return
        time.sleep(0.05)
    raise AssertionError(f"agents for {issues} did not start")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _finish(run: subprocess.Popen[str]) -> None:
    _, err = run.communicate(timeout=90)
    assert run.returncode == 0, err


def test_run_in_progress_changes_state_on_the_page_without_a_reload(
    project: Project, dashboard: Dashboard, page: Page
) -> None:
    seed_issues(project)
    run = _start_gated(project, {152, 154})
    try:
        page.goto(dashboard.url)  # the latest run's overview
        row = page.locator("#issue-152")
        expect(row.locator("td.state")).to_have_text("running")
        expect(row.locator("td.agent")).to_have_text("command")
        expect(row.locator("td.last")).to_have_text("step one for issue 152")
        expect(page.locator("#issue-155 td.state")).to_have_text("pending")
        expect(page.locator("#count-running")).to_have_text("2")
        expect(page.locator("#live-dot.on")).to_have_count(1)  # the event stream is open
        page.evaluate("window.loadedOnce = true")  # gone if the page reloads
        _shot(page, "dashboard-running")

        _release(project, 152, 154)
        expect(row.locator("td.state")).to_have_text("succeeded")
        expect(page.locator("#issue-155 td.state")).to_have_text("running")
        node = page.locator('#graph g.node[data-issue="152"]')
        expect(node).to_have_attribute("data-status", "succeeded")
        expect(node.locator("rect")).to_have_attribute("fill", "#2e9d57")
        _release(project, 155)
        expect(page.locator("#run-status")).to_have_text("succeeded")
        expect(page.locator("#count-done")).to_have_text("3")
        # The timeline was redrawn from the store: every issue's agent and verification phases.
        expect(page.locator("#gantt rect.phase.agent")).to_have_count(3)
        expect(page.locator("#gantt rect.phase.verify")).to_have_count(3)
        assert page.evaluate("window.loadedOnce") is True
        _shot(page, "dashboard-finished")
    finally:
        _release(project, 152, 154, 155)
        _finish(run)


def test_the_page_follows_the_run_through_an_interruption_and_its_resume(
    project: Project, dashboard: Dashboard, page: Page
) -> None:
    project.add_issue(3, "Something slow")
    run = _start_gated(project, {3})
    page.goto(dashboard.url)
    expect(page.locator("#issue-3 td.state")).to_have_text("running")
    page.evaluate("window.loadedOnce = true")
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in the run's terminal
    assert run.wait(timeout=60) == 130
    expect(page.locator("#run-status")).to_have_text("interrupted")

    resumed = project.popen("resume")
    try:
        expect(page.locator("#run-status")).to_have_text("running")
        expect(page.locator("#issue-3 td.state")).to_have_text("running")
        _release(project, 3)
        expect(page.locator("#issue-3 td.state")).to_have_text("succeeded")
        expect(page.locator("#run-status")).to_have_text("succeeded")
        assert page.evaluate("window.loadedOnce") is True
    finally:
        _release(project, 3)
        _finish(resumed)


def test_issue_page_streams_the_agents_output_and_then_its_tests(
    project: Project, dashboard: Dashboard, page: Page
) -> None:
    project.add_issue(7, "Add a greeting <script>alert(1)</script>")
    run = _start_gated(project, {7})
    try:
        page.goto(dashboard.local("/"))
        page.locator("#issue-7 td.issue a").click()
        expect(page.locator("h1")).to_have_text("#7 Add a greeting <script>alert(1)</script>")
        output = page.locator("#agent-out")
        expect(output).to_have_text(re.compile(r"step one for issue 7"))
        expect(page.locator("#prompt")).to_contain_text("Add a greeting")
        page.evaluate("window.loadedOnce = true")
        _release(project, 7)
        expect(output).to_have_text(re.compile(r"step one for issue 7\s+finished issue 7"))
        expect(page.locator("#tests-log")).to_have_text(re.compile(r"0 failed"))
        expect(page.locator("#issue-state")).to_have_text("succeeded")
        # The attempt's facts were re-read when it ended: its verdict, the diff and the PR.
        expect(page.locator("#attempts td").nth(1)).to_have_text("verified")
        expect(page.locator("#diff-stat")).to_contain_text("work/issue-7.txt")
        expect(page.locator("#pull")).to_contain_text("feature/issue-7")
        assert page.evaluate("window.loadedOnce") is True
        _shot(page, "dashboard-issue")
    finally:
        _release(project, 7)
        _finish(run)
    page.reload()  # a finished attempt: the whole output at once
    expect(page.locator("#agent-out")).to_have_text(re.compile(r"step one.*\s+finished issue 7"))


def test_graph_and_gantt_render_as_svg_and_past_runs_are_listed(
    project: Project, dashboard: Dashboard, page: Page
) -> None:
    seed_issues(project)
    assert project.cli("run").returncode == 0
    page.goto(dashboard.local("/runs"))
    links = page.locator("#runs tbody a")
    expect(links).to_have_count(1)
    links.first.click()
    graph = page.locator("#graph svg.graph")
    expect(graph.locator("g.node")).to_have_count(3)
    expect(graph.locator("path.edge[data-to='155']")).to_have_count(2)
    expect(graph.locator("g.node.critical")).to_have_count(2)  # one of #152/#154, then #155
    gantt = page.locator("#gantt svg.gantt")
    expect(gantt.locator("g.row")).to_have_count(3)
    expect(gantt.locator("rect.phase")).to_have_count(6)
    # The bars were laid out by the browser, not only present in the markup.
    box = gantt.locator("rect.phase.agent[data-issue='155']").bounding_box()
    assert box is not None and box["width"] > 5
    expect(page.locator("#figures")).to_contain_text("Makespan")
    _shot(page, "dashboard-graph-gantt")


def test_off_loopback_the_dashboard_refuses_requests_without_its_token(
    project: Project, page: Page
) -> None:
    seed_issues(project)
    assert project.cli("run").returncode == 0
    served = Dashboard(project, "--host", "0.0.0.0")
    try:
        assert served.token, "a token must be printed when bound beyond loopback"
        refused = page.goto(served.local("/runs"))
        assert refused is not None and refused.status == 401
        expect(page.locator("body")).to_contain_text("access token")
        for wrong in (f"runs?token={served.token[:-1]}x", "runs/x/events"):
            assert _status(served.local(wrong)) == 401
        assert _status(served.local("runs"), bearer=served.token) == 200

        allowed = page.goto(served.local(f"/?token={served.token}"))
        assert allowed is not None and allowed.status == 200
        # The cookie it set carries on: links and the event stream need no token in the address.
        page.locator("#issue-155 td.issue a").click()
        expect(page.locator("#issue-state")).to_have_text("succeeded")
        expect(page.locator("#agent-out")).to_contain_text("resolved issue 155")
    finally:
        served.stop()


def test_on_loopback_a_foreign_host_name_is_refused(dashboard: Dashboard) -> None:
    assert dashboard.token is None
    assert _status(dashboard.local("runs")) == 200
    assert _status(dashboard.local("runs"), host="attacker.example") == 400


def test_a_port_in_use_is_a_clear_error(project: Project, dashboard: Dashboard) -> None:
    second = project.cli("serve", "--port", str(dashboard.port), timeout=30)
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{dashboard.port}" in second.stderr
    assert "--port" in second.stderr


def _events(stream: str) -> list[dict[str, str]]:
    """A text/event-stream body as its events' fields."""
    return [
        dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        for block in stream.split("\n\n")
        if block.strip()
    ]


def _status(url: str, *, bearer: str | None = None, host: str | None = None) -> int:
    request = urllib.request.Request(url)
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_output_stream_resumes_where_a_reconnecting_browser_left_off(
    project: Project, dashboard: Dashboard
) -> None:
    project.add_issue(4, "Small")
    project.commit("issue")
    assert project.cli("run").returncode == 0
    run_id = next((project.root / ".git" / "issuewave" / "runs").iterdir()).name
    full = next(
        (project.root / ".git" / "issuewave" / "runs").glob("*/issue-4/attempt-1/agent.out")
    )
    request = urllib.request.Request(dashboard.local(f"runs/{run_id}/issues/4/attempts/1/output"))
    request.add_header("Last-Event-ID", "out:9,err:0,tests:0")  # as EventSource sends it
    with urllib.request.urlopen(request, timeout=30) as answer:
        stream = answer.read().decode()  # the attempt is over: the stream ends by itself
    events = _events(stream)
    outs = [json.loads(e["data"]) for e in events if e.get("event") == "out"]
    assert "".join(outs) == full.read_text()[9:]
    assert events[-1]["event"] == "end"


def test_a_partial_utf8_character_waits_for_its_last_byte(tmp_path: Path) -> None:
    log = tmp_path / "agent.out"
    log.write_bytes("ok é".encode()[:-1])  # the writer is mid-character
    assert read_from(log, 0) == "ok "
    with log.open("ab") as handle:
        handle.write("é!".encode()[1:])
    assert read_from(log, len(b"ok ")) == "é!"


RUNAWAY_AGENT = """
    import os, pathlib, sys
    pathlib.Path("work").mkdir(exist_ok=True)
    pathlib.Path("work", "out.txt").write_text("x")
    sys.stdout.write("".join(f"ünïcödé line {n}\\n" for n in range(120_000)))  # about 2.4 MB
"""


def test_a_runaway_log_opens_at_its_tail_with_a_pointer_to_the_whole(
    project: Project, dashboard: Dashboard
) -> None:
    project.add_issue(4, "Chatty")
    project.configure(agent_cmd=project.agent("runaway", RUNAWAY_AGENT))
    project.commit("runaway agent")
    assert project.cli("run").returncode == 0
    runs = project.root / ".git" / "issuewave" / "runs"
    run_id = next(runs.iterdir()).name
    full = (runs / run_id / "issue-4" / "attempt-1" / "agent.out").read_text()
    url = dashboard.local(f"runs/{run_id}/issues/4/attempts/1/output")
    with urllib.request.urlopen(url, timeout=30) as answer:
        events = _events(answer.read().decode())
    outs = [json.loads(e["data"]) for e in events if e.get("event") == "out"]
    assert outs[0].startswith("[… ") and "`issuewave logs 4 --attempt 1` prints them all" in outs[0]
    shown = "".join(outs[1:])
    assert 500_000 < len(shown.encode()) <= 512 * 1024
    assert full.endswith(shown)  # the tail, cut at a character's start, nothing garbled
