"""Per-issue overhead: issuewave against a hand-written shell script doing the same git steps.

100 independent issues on a repository of 5,000 files; the agent writes one file and exits; the
test command is `true`. issuewave runs the whole pipeline per issue (worktree, agent, verification,
commit, PR record) at jobs=1 and jobs=2; the script does `git worktree add -b`, writes the file,
`git add` + `git commit`, `git worktree remove`, one issue after the other. issuewave keeps its
worktrees for the user, so their removal (`git worktree remove`, the same command as the script's)
is timed separately and added to issuewave's figure for the side-by-side ratio.

Every variant starts from a byte-identical copy of one repository, in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import _common as c

ISSUES = 100
FILES = 5000
PER_FOLDER = 100
# The same steps issuewave takes per issue, written by hand: no verification, no journal.
BY_HAND = """\
set -euo pipefail
cd "$1"
for n in $(seq 1 "$2"); do
  git worktree add --quiet -b "feature/issue-$n" ".worktrees/issue-$n" main
  echo "done $n" > ".worktrees/issue-$n/issue-$n.txt"
  git -C ".worktrees/issue-$n" add --all
  git -C ".worktrees/issue-$n" commit --quiet -m "feat: issue $n (#$n)"
  git worktree remove ".worktrees/issue-$n"
done
"""
CLEANUP = """\
set -euo pipefail
cd "$1"
for path in .worktrees/issue-*; do git worktree remove "$path"; done
"""
AGENT = "sh -c 'echo done $ISSUEWAVE_ISSUE > issue-$ISSUEWAVE_ISSUE.txt'"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=ISSUES)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    box = c.sandbox("overhead")
    try:
        template = make_repository(box, args.issues, args.files)
        measure(box, template, args.issues, args.files)
    finally:
        if not args.keep:
            c.remove(box.folder)
    return 0


def make_repository(box: c.Sandbox, issues: int, files: int) -> Path:
    repo = box.path("template")
    c.init_repo(box, repo)
    for index in range(files):
        folder = repo / "src" / f"pkg{index // PER_FOLDER:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module{index % PER_FOLDER:03d}.py").write_text(f"VALUE = {index}\n")
    c.write_issues(repo, ((n, f"Independent change {n}", ()) for n in range(1, issues + 1)))
    c.write_config(
        repo, agent="command", agent_cmd=AGENT, test_cmd="true", timeout=600, max_attempts=1
    )
    c.commit_all(box, repo, "a repository of many files")
    return repo


def copy_of(box: c.Sandbox, template: Path, name: str) -> Path:
    target = box.path(name)
    shutil.copytree(template, target, symlinks=True)
    return target


def timed_bash(box: c.Sandbox, script: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-c", script, "bash", *args], env=box.env, check=True)
    return time.perf_counter() - started


def measure(box: c.Sandbox, template: Path, issues: int, files: int) -> None:
    by_hand = timed_bash(box, BY_HAND, str(copy_of(box, template, "by-hand")), str(issues))
    runs = {jobs: run_issuewave(box, template, issues, jobs) for jobs in (1, 2)}
    c.header(
        f"Overhead: {issues} independent issues on a repository of {files} files",
        {
            "command": c.command_line(),
            "agent": AGENT,
            "test command": "true",
            "per issue": "wall time of the whole run (process start to exit) / issues",
            "cleanup": "issuewave keeps its worktrees; `git worktree remove` of each is timed "
            "separately and added in the '+ cleanup' rows (the script removes its own)",
        },
    )
    rows: list[list[object]] = [["hand-written script (serial)", by_hand, _ms(by_hand, issues), 1.0]]
    for jobs, run in runs.items():
        whole = run["wall"] + run["cleanup"]
        rows += [
            [f"issuewave jobs={jobs}, run only", run["wall"], _ms(run["wall"], issues),
             c.ratio(run["wall"], by_hand)],
            [f"issuewave jobs={jobs}, run + cleanup", whole, _ms(whole, issues),
             c.ratio(whole, by_hand)],
        ]  # fmt: skip
    c.print_table(["variant", "total s", "per issue ms", "× script"], rows)
    print()
    growth_table(runs, issues)


def run_issuewave(box: c.Sandbox, template: Path, issues: int, jobs: int) -> dict[str, Any]:
    repo = copy_of(box, template, f"issuewave-j{jobs}")
    run = c.issuewave(box, repo, "run", "--plain", "--json", "--jobs", str(jobs))
    cleanup = timed_bash(box, CLEANUP, str(repo))
    figures = c.report(box, repo)
    done = sum(i["status"] == "succeeded" for i in figures["issues"])
    if done != issues:
        raise RuntimeError(f"jobs={jobs}: only {done} of {issues} issues succeeded")
    return {"wall": run.wall_s, "cleanup": cleanup, "figures": figures}


def growth_table(runs: dict[int, dict[str, Any]], issues: int) -> None:
    """Per-issue cost early and late in the run, from the journal (report --json)."""
    k = min(20, issues // 2)
    rows: list[list[object]] = []
    for jobs, run in runs.items():
        ordered = sorted(run["figures"]["issues"], key=lambda i: i["started_at"])
        first, last = ordered[:k], ordered[-k:]
        rows.append(
            [
                jobs,
                _mean_span(first),
                _mean_span(last),
                c.ratio(_mean_span(last), _mean_span(first)),
                _mean_gap(first),
                _mean_gap(last),
                c.ratio(_mean_gap(last), _mean_gap(first)),
                run["figures"]["run"]["makespan_s"],
            ]
        )
    print(f"Per-issue time of the first and last {k} issues, in ms (report --json, by start):")
    print("span = the issue's start to its end (worktree, agent, verification, PR record);")
    print("interval = between consecutive issue starts (span plus the scheduler's share).\n")
    c.print_table(
        ["jobs", "span first", "span last", "last/first", "interval first", "interval last",
         "last/first", "makespan s"],
        rows,
    )  # fmt: skip


def _mean_span(issues: list[dict[str, Any]]) -> float:
    return 1000 * statistics.fmean(i["finished_at"] - i["started_at"] for i in issues)


def _mean_gap(issues: list[dict[str, Any]]) -> float:
    starts = [i["started_at"] for i in issues]
    return 1000 * (starts[-1] - starts[0]) / (len(starts) - 1)


def _ms(total: float, issues: int) -> float:
    return 1000 * total / issues


if __name__ == "__main__":
    raise SystemExit(main())
