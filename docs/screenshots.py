"""Make the README's pictures from one real `issuewave demo` run: `make screenshots`.

The terminal view is the demo's own screen, read from tmux while the wave runs and drawn with
rich's ANSI reader; the dashboard is `issuewave serve` on that same demo, photographed by Debian's
chromium mid-run and afterwards; the HTML report is the file the demo wrote. Nothing is staged:
the demo agent's timings are its own, and the pictures are taken at a moment when some issues are
done and others still run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from rich.console import Console
from rich.text import Text

OUT = Path(__file__).parent / "images"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]  # fmt: skip
SESSION = "issuewave-screenshots"
ISSUEWAVE = str(Path(sys.executable).with_name("issuewave"))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="issuewave-shots-")) / "notebook"
    terminal = _start_demo(folder)
    try:
        _wait_for(lambda: (folder / ".git" / "issuewave" / "state.db").exists(), 60)
        serve = subprocess.Popen([ISSUEWAVE, "serve", "--port", "0"], cwd=folder,
                                 stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert serve.stdout is not None
        url = serve.stdout.readline().split()[-1]
        try:
            _photograph(folder, url)
        finally:
            serve.terminate()
            serve.wait()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], check=False)
    print(f"pictures in {OUT}; terminal capture in {terminal}")
    return 0


def _start_demo(folder: Path) -> Path:
    screen = folder.parent / "screen.ansi"
    command = f"{ISSUEWAVE} demo {folder} --jobs 3; sleep 600"
    subprocess.run(["tmux", "kill-session", "-t", SESSION], check=False, capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "190", "-y", "16",
                    command], check=True)  # fmt: skip
    return screen


def _capture_terminal(screen: Path) -> Path:
    """The demo's screen at this moment, with its colours, as an SVG drawn by rich."""
    ansi = subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", SESSION],
                          check=True, capture_output=True, text=True).stdout  # fmt: skip
    screen.write_text(ansi)
    with Path(os.devnull).open("w") as nowhere:
        console = Console(record=True, width=190, file=nowhere, force_terminal=True)
        console.print(Text.from_ansi(ansi.rstrip("\n")))
    svg = screen.with_suffix(".svg")
    svg.write_text(console.export_svg(title="issuewave demo"))
    return svg


def _photograph(folder: Path, url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        # Several agents at work and some issues done: the moment the pictures are about.
        page.wait_for_function(
            "Number(document.getElementById('count-done').textContent) >= 3"
            " && Number(document.getElementById('count-running').textContent) >= 1",
            timeout=120_000,
        )
        terminal = _capture_terminal(folder.parent / "screen.ansi")
        page.wait_for_timeout(600)
        _shot(page, "dashboard.png")
        page.locator("#issue-5 td.issue a").click()
        page.wait_for_function("document.getElementById('agent-out').textContent.length > 0")
        page.wait_for_timeout(400)
        _shot(page, "dashboard-issue.png", full=False)
        page.goto(url)
        page.wait_for_function("document.getElementById('run-status').textContent !== 'running'",
                               timeout=180_000)  # fmt: skip
        _wait_for(lambda: (folder / "issuewave-report.html").exists(), 60)
        report = browser.new_page(viewport={"width": 1200, "height": 900})
        report.goto((folder / "issuewave-report.html").as_uri())
        _shot(report, "report.png")
        drawing = browser.new_page(viewport={"width": 1700, "height": 400})
        drawing.goto(terminal.as_uri())
        drawing.locator("svg").first.screenshot(path=str(OUT / "terminal.png"))
        browser.close()


def _shot(page: Page, name: str, *, full: bool = True) -> None:
    page.screenshot(path=str(OUT / name), full_page=full)


def _wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:g} s")


if __name__ == "__main__":
    if not shutil.which("tmux"):
        raise SystemExit("make screenshots needs tmux: apt-get install tmux")
    if re.search(r"\s", ISSUEWAVE):
        raise SystemExit("the virtualenv's path must not contain spaces")
    raise SystemExit(main())
