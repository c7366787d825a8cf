"""Per-issue overhead: issuewave against a hand-written shell script doing the same git steps.

100 independent issues on a repository of 5,000 files; the agent writes one file and exits; the
test command is `true`. issuewave runs the whole pipeline per issue (worktree, agent, verification,
commit, PR record) at jobs=1 and jobs=2; the script does `git worktree add -b`, writes the file,
`git add` + `git commit`, `git worktree remove`, one issue after the other. issuewave keeps its
worktrees for the user, so their removal (`git worktree remove`, the same command as the script's)
is timed separately and added to issuewave's figure for the side-by-side ratio. A second run of
the script keeps its worktrees too (removed at the end, timed apart), to tell a per-issue cost that
grows with the worktrees already there (the system's) from one that grows in issuewave.

issuewave's workspaces are private clones (they borrow the repository's objects), so its cleanup
is their removal (`rm -rf`), timed the same way. The sandbox's cost per attempt is measured side by
side: the same run at jobs=1 with `--sandbox bwrap` against `--sandbox none` (the agent and the test
command each start under bubblewrap in the first).

Every variant starts from a byte-identical copy of one repository, in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import _common as c

ISSUES = 100
FILES = 5000
PER_FOLDER = 100
# The same steps issuewave takes per issue, written by hand: no verification, no journal.
# $3: "remove" (each worktree right after its commit) or "keep"; $4: each issue's start time.
BY_HAND = """\
set -euo pipefail
cd "$1"
for n in $(seq 1 "$2"); do
  echo "$EPOCHREALTIME" >> "$4"
  git worktree add --quiet -b "feature/issue-$n" ".worktrees/issue-$n" main
  echo "done $n" > ".worktrees/issue-$n/issue-$n.txt"
  git -C ".worktrees/issue-$n" add --all
  git -C ".worktrees/issue-$n" commit --quiet -m "feat: issue $n (#$n)"
  if [ "$3" = remove ]; then git worktree remove ".worktrees/issue-$n"; fi
done
"""
CLEANUP = """\
set -euo pipefail
cd "$1"
for path in .worktrees/issue-*; do rm -rf "$path"; done
"""
AGENT = "sh -c 'echo done $ISSUEWAVE_ISSUE > issue-$ISSUEWAVE_ISSUE.txt'"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=ISSUES)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles of each run")
    args = parser.parse_args()
    box = c.sandbox("overhead")
    try:
        template = make_repository(box, args.issues, args.files)
        measure(box, template, args.issues, args.files, args.profile)
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


def measure(box: c.Sandbox, template: Path, issues: int, files: int, profile: Path | None) -> None:
    by_hand = run_script(box, template, issues, "remove")
    keeping = run_script(box, template, issues, "keep")
    runs = {jobs: run_issuewave(box, template, issues, jobs, profile) for jobs in (1, 2)}
    sandboxed = run_issuewave(box, template, issues, 1, None, sandbox="bwrap")
    c.header(
        f"Overhead: {issues} independent issues on a repository of {files} files",
        {
            "command": c.command_line(),
            "agent": AGENT,
            "test command": "true",
            "per issue": "wall time of the whole run (process start to exit) / issues",
            "cleanup": "issuewave keeps its workspaces (private clones); removing each is timed "
            "separately and added in the '+ cleanup' rows (the first script removes its own)",
            "sandbox": "issuewave rows run with --sandbox none, but the last (--sandbox bwrap)",
        },
    )
    base = by_hand["wall"]
    rows: list[list[object]] = [
        ["script, removing each worktree", base, _ms(base, issues), 1.0],
        ["script keeping worktrees, run only", keeping["wall"], _ms(keeping["wall"], issues),
         c.ratio(keeping["wall"], base)],
    ]  # fmt: skip
    for jobs, run in runs.items():
        whole = run["wall"] + run["cleanup"]
        rows += [
            [f"issuewave jobs={jobs}, run only", run["wall"], _ms(run["wall"], issues),
             c.ratio(run["wall"], base)],
            [f"issuewave jobs={jobs}, run + cleanup", whole, _ms(whole, issues),
             c.ratio(whole, base)],
        ]  # fmt: skip
    rows.append(["issuewave jobs=1, sandbox bwrap, run only", sandboxed["wall"],
                 _ms(sandboxed["wall"], issues), c.ratio(sandboxed["wall"], base)])  # fmt: skip
    c.print_table(["variant", "total s", "per issue ms", "× script"], rows)
    print()
    cost = c.ratio(sandboxed["wall"], runs[1]["wall"])
    print(f"The sandbox's cost: jobs=1 with bwrap / jobs=1 without = {cost:.3f} (aim: <= 1.10)\n")
    starts = {
        "script, removing each worktree": by_hand["starts"],
        "script keeping worktrees": keeping["starts"],
        **{f"issuewave jobs={jobs}": run["starts"] for jobs, run in runs.items()},
    }
    growth_table(starts, issues)


def run_script(box: c.Sandbox, template: Path, issues: int, mode: str) -> dict[str, Any]:
    repo = copy_of(box, template, f"by-hand-{mode}")
    stamps = box.path(f"by-hand-{mode}.starts")
    wall = timed_bash(box, BY_HAND, str(repo), str(issues), mode, str(stamps))
    starts = [float(line) for line in stamps.read_text().split()]
    return {"wall": wall, "starts": starts}


def run_issuewave(
    box: c.Sandbox, template: Path, issues: int, jobs: int, profile: Path | None,
    sandbox: str = "none",
) -> dict[str, Any]:  # fmt: skip
    repo = copy_of(box, template, f"issuewave-j{jobs}-{sandbox}")
    spy = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spy = profile / f"overhead-j{jobs}.txt"
    run = c.issuewave(box, repo, "run", "--plain", "--json", "--jobs", str(jobs),
                      "--sandbox", sandbox, profile=spy)  # fmt: skip
    if spy is not None:
        print(f"\nprofile of jobs={jobs} ({spy}), inclusive seconds:")
        for name, seconds in c.profile_summary(spy):
            print(f"  {seconds:8.2f}  {name}")
    cleanup = timed_bash(box, CLEANUP, str(repo))
    figures = c.report(box, repo)
    done = sum(i["status"] == "succeeded" for i in figures["issues"])
    if done != issues:
        raise RuntimeError(f"jobs={jobs}: only {done} of {issues} issues succeeded")
    starts = sorted(i["started_at"] for i in figures["issues"])
    return {"wall": run.wall_s, "cleanup": cleanup, "starts": starts}


def growth_table(starts: dict[str, list[float]], issues: int) -> None:
    """Per-issue cost early and late in the run: the mean interval between consecutive starts."""
    k = min(20, issues // 2)
    rows: list[list[object]] = []
    for name, times in starts.items():
        first, last = _mean_gap(times[:k]), _mean_gap(times[-k:])
        rows.append([name, first, last, c.ratio(last, first)])
    print(f"Per-issue time of the first and last {k} issues: the mean interval between")
    print("consecutive issue starts, in ms (issuewave: report --json issues[].started_at;")
    print("the scripts: a timestamp at the top of each iteration).\n")
    c.print_table(["variant", f"first {k}", f"last {k}", "last/first"], rows)


def _mean_gap(starts: list[float]) -> float:
    return 1000 * (starts[-1] - starts[0]) / (len(starts) - 1)


def _ms(total: float, issues: int) -> float:
    return 1000 * total / issues


if __name__ == "__main__":
    raise SystemExit(main())
