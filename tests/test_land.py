"""Landing the wave: merges in dependency order, tests green after each, resumable, never twice."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time

from conftest import Project, git

SIX = {1: (), 2: (), 3: (), 4: (1, 2), 5: (2, 3), 6: (1,)}  # two waves: 1-3, then 4-6


def six_issues(project: Project) -> None:
    for number, deps in SIX.items():
        project.add_issue(number, f"Issue {number}", depends_on=list(deps))
    project.commit("six issues")


def merges_on(project: Project, branch: str = "main") -> list[int]:
    subjects = git(project.root, "log", "--first-parent", "--format=%s", branch).splitlines()
    return [int(m.group(1)) for s in reversed(subjects) if (m := re.match(r"Merge #(\d+)", s))]


def test_land_merges_every_issue_in_order_with_tests_after_each(project: Project) -> None:
    six_issues(project)
    assert project.cli("run", env={"AGENT_SLEEP": "0"}).returncode == 0
    plan = project.cli("land", "--dry-run")
    assert plan.returncode == 0 and "would merge" in plan.stderr
    assert merges_on(project) == []  # a dry run changes nothing

    done = project.cli("land")
    assert done.returncode == 0, done.stderr
    order = merges_on(project)
    assert sorted(order) == [1, 2, 3, 4, 5, 6]
    for issue, deps in SIX.items():
        assert all(order.index(d) < order.index(issue) for d in deps)
    files = git(project.root, "ls-tree", "-r", "--name-only", "main", "work/").splitlines()
    assert files == [f"work/issue-{n}.txt" for n in range(1, 7)]
    for number in SIX:
        text = git(project.root, "show", f"main:.issuewave/issues/{number:03d}.md")
        assert "state: closed" in text and "state: open" not in text
    # The main checkout followed main forward and is clean; the tests pass on the result.
    assert git(project.root, "status", "--porcelain") == ""
    assert (project.root / "work" / "issue-6.txt").is_file()
    prs = project.cli("prs", "--json").stdout
    assert prs.count('"state": "merged"') == 6
    again = project.cli("land")
    assert again.returncode == 0 and merges_on(project) == order  # idempotent


def test_land_stops_at_the_first_failing_merge_leaving_the_last_good_one(project: Project) -> None:
    project.add_issue(1, "Good")
    project.add_issue(2, "Breaks the suite once merged", body="Depends on #1")
    project.commit("issues")
    assert project.cli("run", env={"AGENT_SLEEP": "0"}).returncode == 0
    # The branch of #2 passed alone; make the suite fail once #2's file is on main.
    project.write(
        "checks/test_no_two.py",
        "import pathlib\nassert not pathlib.Path('work/issue-2.txt').exists()\n",
    )
    project.commit("a stricter suite")
    tip_before = git(project.root, "rev-parse", "main")
    done = project.cli("land")
    assert done.returncode == 1
    assert "#2: the tests fail after merging it" in done.stderr
    assert merges_on(project) == [1]
    assert git(project.root, "rev-parse", "main^") == tip_before  # only #1's merge on top


def test_land_killed_midway_finishes_on_rerun_without_merging_twice(project: Project) -> None:
    six_issues(project)
    assert project.cli("run", env={"AGENT_SLEEP": "0"}).returncode == 0
    project.write("checks/test_slow.py", "import time\ntime.sleep(0.6)\n")  # each land test waits
    project.commit("a slower suite")
    landing = project.popen("land")
    db = project.root / ".git" / "issuewave" / "state.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _landed(db) < 2:
        time.sleep(0.05)
    os.killpg(landing.pid, signal.SIGKILL)
    landing.wait(timeout=10)
    assert 2 <= _landed(db) < 6
    done = project.cli("land")
    assert done.returncode == 0, done.stderr
    assert sorted(merges_on(project)) == [1, 2, 3, 4, 5, 6]  # each exactly once


def test_clean_removes_landed_worktrees_and_refuses_unsaved_work(project: Project) -> None:
    six_issues(project)
    assert project.cli("run", env={"AGENT_SLEEP": "0"}).returncode == 0
    assert project.cli("land").returncode == 0
    precious = project.root / ".worktrees" / "issue-3" / "notes.txt"
    precious.write_text("not committed anywhere\n")
    done = project.cli("clean")
    assert done.returncode == 0, done.stderr
    assert "uncommitted changes" in done.stderr and "reclaimed" in done.stderr
    remaining = sorted(p.name for p in (project.root / ".worktrees").iterdir())
    assert remaining == ["issue-3"]
    assert precious.read_text() == "not committed anywhere\n"
    assert git(project.root, "branch", "--list", "feature/issue-1") == ""  # merged: deleted
    assert "feature/issue-3" in git(project.root, "branch", "--list", "feature/issue-3")


def test_clean_keeps_unmerged_work(project: Project) -> None:
    project.add_issue(1, "Not landed")
    project.commit("issue")
    assert project.cli("run", env={"AGENT_SLEEP": "0"}).returncode == 0
    done = project.cli("clean")
    assert "neither merged nor backed up" in done.stderr
    assert (project.root / ".worktrees" / "issue-1").is_dir()


def _landed(db: object) -> int:
    try:
        with sqlite3.connect(str(db)) as conn:
            row = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'landed'").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0
