"""`issuewave logs N [-f]`: an issue's agent output, also while the run is going elsewhere."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import Project

CHATTY_AGENT = """
    import pathlib, sys, time
    for n in range(3):
        print(f"step {n}", flush=True)
        time.sleep(0.4)
    print("to stderr", file=sys.stderr, flush=True)
    pathlib.Path("done.txt").write_text("x")
    print("finished")
"""


def test_logs_show_the_latest_attempt_and_the_tests(project: Project) -> None:
    project.add_issue(1, "Talk")
    project.commit("issue")
    project.configure(agent_cmd=project.agent("chatty", CHATTY_AGENT))
    assert project.cli("run").returncode == 0
    shown = project.cli("logs", "1")
    assert shown.returncode == 0
    assert shown.stdout.splitlines() == ["step 0", "step 1", "step 2", "finished", "to stderr"]
    assert "0 failed" in project.cli("logs", "1", "--tests").stdout
    missing = project.cli("logs", "1", "--attempt", "5")
    assert missing.returncode == 2 and "no attempt 5" in missing.stderr


def test_logs_follow_streams_while_the_run_goes(project: Project) -> None:
    project.add_issue(1, "Talk")
    project.commit("issue")
    project.configure(agent_cmd=project.agent("chatty", CHATTY_AGENT))
    running = project.popen("run", "--plain")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and project.cli("logs", "1").returncode != 0:
        time.sleep(0.1)
    follower = subprocess.run(
        [sys.executable, "-m", "issuewave", "logs", "1", "-f"],
        cwd=project.root, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    running.wait(timeout=60)
    assert follower.returncode == 0
    assert "finished" in follower.stdout  # it followed to the end, not just what was there
