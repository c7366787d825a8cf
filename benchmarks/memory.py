"""Memory: the orchestrator's peak RSS while 32 agents run at once.

32 independent issues, jobs=32, agents that sleep about 5 s, write one file and exit; the test
command is `true`. The `issuewave run` process's VmHWM (peak resident set) is read from
/proc/<pid>/status every 20 ms while it runs, and its ru_maxrss from wait4() when it exits (that
one is the largest of the process and the children it waited for, agents included). For scale, the
same two figures of a Python process that only imports issuewave.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import _common as c

AGENTS = 32
# For scale: a process that imports what `run` imports, then stays long enough to be sampled.
IMPORTS_ONLY = "import issuewave.cli, issuewave.commands.run, time; time.sleep(0.5)"
SLEEP_S = 5.0
AGENT = textwrap.dedent(
    """\
    import os, pathlib, sys, time
    time.sleep(float(sys.argv[1]))
    issue = os.environ["ISSUEWAVE_ISSUE"]
    pathlib.Path(f"issue-{issue}.txt").write_text(f"done {issue}\\n")
    print(f"resolved issue {issue}")
    """
)


def make_repository(box: c.Sandbox, agents: int, sleep_s: float) -> Path:
    repo = box.path("repo")
    c.init_repo(box, repo)
    (box.path("agent.py")).write_text(AGENT)
    (repo / "README.md").write_text("A small project for the memory benchmark.\n")
    c.write_issues(repo, ((n, f"Independent change {n}", ()) for n in range(1, agents + 1)))
    agent = f"{sys.executable} -I -S {box.path('agent.py')} {sleep_s}"
    c.write_config(
        repo,
        agent="command",
        agent_cmd=agent,
        test_cmd="true",
        jobs=agents,
        timeout=600,
        max_attempts=1,
    )
    c.commit_all(box, repo, "a small project")
    return repo


def watch(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run argv, sampling /proc/<pid>/status; returns the peaks and wait4's ru_maxrss."""
    peaks = {"VmHWM": 0, "VmRSS": 0, "Threads": 0}
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        while True:
            for key, value in _status(child.pid).items():
                peaks[key] = max(peaks[key], value)
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                break
            time.sleep(0.02)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return {
        **peaks,
        "maxrss_kb": usage.ru_maxrss,
        "returncode": child.returncode,
        "wall_s": time.perf_counter() - started,
    }


def _status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            found[key] = int(value.split()[0])
    return found


def most_at_once(issues: list[dict[str, Any]]) -> int:
    points = sorted(
        [(i["started_at"], 1) for i in issues] + [(i["finished_at"], -1) for i in issues]
    )
    running = best = 0
    for _, step in points:
        running += step
        best = max(best, running)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=AGENTS)
    parser.add_argument("--sleep", type=float, default=SLEEP_S)
    args = parser.parse_args()
    box = c.sandbox("memory")
    try:
        repo = make_repository(box, args.agents, args.sleep)
        imports = watch(
            [sys.executable, "-c", IMPORTS_ONLY],
            repo,
            box.env,
            box.path("imports.log"),
        )
        run = watch(
            [sys.executable, "-m", "issuewave", "run", "--plain"],
            repo,
            box.env,
            box.path("run.log"),
        )
        if run["returncode"] != 0:
            print(box.path("run.log").read_text()[-3000:], file=sys.stderr)
            raise RuntimeError(f"issuewave run exited {run['returncode']}")
        figures = c.report(box, repo)
    finally:
        c.remove(box.folder)
    describe(args, run, imports, figures)
    return 0


def describe(
    args: argparse.Namespace, run: dict[str, Any], imports: dict[str, Any], figures: dict[str, Any]
) -> None:
    c.header(
        f"Memory: the orchestrator with {args.agents} agents at once",
        {
            "command": c.command_line(),
            "agents": f"{args.agents} independent issues, jobs={args.agents}, each agent sleeps "
            f"{args.sleep:g} s, writes one file, exits",
            "most issues running at once (journal)": most_at_once(figures["issues"]),
            "run": f"{run['wall_s']:.1f} s, makespan {figures['run']['makespan_s']:.1f} s",
        },
    )
    c.print_table(
        ["process", "VmHWM MB", "ru_maxrss MB", "peak threads"],
        [
            ["issuewave run", run["VmHWM"] / 1024, run["maxrss_kb"] / 1024, run["Threads"]],
            [
                "python importing issuewave only",
                imports["VmHWM"] / 1024,
                imports["maxrss_kb"] / 1024,
                imports["Threads"],
            ],
        ],
    )
    print(f"\ntarget: the orchestrator's VmHWM under 150 MB ({run['VmHWM'] / 1024:.1f} MB)")


if __name__ == "__main__":
    raise SystemExit(main())
