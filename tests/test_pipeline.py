"""The issue wave end to end: real git, real agent processes, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

from conftest import Project, git, process_alive, seed_issues


def state(project: Project) -> dict[str, object]:
    done = project.cli("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def prs(project: Project) -> list[dict[str, object]]:
    done = project.cli("prs", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_seed_scenario_runs_in_dependency_order(project: Project) -> None:
    seed_issues(project)
    plan = json.loads(project.cli("plan", "--json").stdout)
    assert plan["waves"] == [[152, 154], [155]]

    done = project.cli("run", env={"AGENT_SLEEP": "1.0"})
    assert done.returncode == 0, done.stderr

    events = {(e["issue"], e["kind"]): e for e in project.events()}
    # 152 and 154 ran at the same time: each started before the other ended.
    assert events[(152, "start")]["t"] < events[(154, "end")]["t"]
    assert events[(154, "start")]["t"] < events[(152, "end")]["t"]
    # 155's worktree held both dependencies' work before its agent started.
    assert events[(155, "start")]["files"] == ["issue-152.txt", "issue-154.txt"]
    worktree = project.root / ".worktrees" / "issue-155" / "work"
    assert sorted(p.name for p in worktree.iterdir()) == [
        "issue-152.txt",
        "issue-154.txt",
        "issue-155.txt",
    ]
    records = {p["issue"]: p for p in prs(project)}
    assert records[155]["number"] > max(records[152]["number"], records[154]["number"])
    assert "Closes #155" in records[155]["body"]
    assert "Depends on #152, #154" in records[155]["body"]
    assert records[155]["head"] == "feature/issue-155"
    assert records[155]["base"] == "main"
    assert records[152]["labels"] == ["research"]


def test_branches_hold_commits_and_base_is_untouched(project: Project) -> None:
    seed_issues(project)
    main_before = git(project.root, "rev-parse", "main")
    assert project.cli("run", env={"AGENT_SLEEP": "0.05"}).returncode == 0
    assert git(project.root, "rev-parse", "main") == main_before
    message = git(project.root, "log", "-1", "--format=%B", "feature/issue-152")
    assert message.startswith("feat: Cross-Platform VM Research (#152)")
    assert "Closes #152" in message
    assert git(project.root, "status", "--porcelain") == ""  # .worktrees/ is excluded


def test_failure_blocks_dependents_only(project: Project) -> None:
    seed_issues(project)
    project.add_issue(160, "Independent work")
    project.commit("more issues")
    failing = project.agent(
        "failing",
        """
        import os, pathlib, sys
        issue = os.environ["ISSUEWAVE_ISSUE"]
        if issue == "152":
            print("I give up", file=sys.stderr)
            sys.exit(3)
        pathlib.Path(f"issue-{issue}.txt").write_text("ok")
        """,
    )
    done = project.cli("run", "--agent-cmd", failing)
    assert done.returncode == 1
    issues = {i["number"]: i for i in state(project)["issues"]}
    assert issues[152]["status"] == "failed"
    assert issues[152]["attempts"] == 2
    assert "exited with status 3" in issues[152]["reason"]
    assert issues[155]["status"] == "blocked"
    assert issues[155]["attempts"] == 0
    assert "#152" in issues[155]["reason"]
    assert issues[154]["status"] == "succeeded"
    assert issues[160]["status"] == "succeeded"
    assert not (project.root / ".worktrees" / "issue-155").exists()
    assert {p["issue"] for p in prs(project)} == {154, 160}


def test_retry_with_feedback_file_succeeds_on_attempt_two(project: Project) -> None:
    project.write(
        "checks/test_answer.py", "import answer\nassert answer.VALUE == 42, answer.VALUE\n"
    )
    project.write("answer.py", "VALUE = 42\n")
    project.add_issue(1, "Change the answer")
    project.commit("answer")
    fixer = project.agent(
        "fixer",
        """
        import os, pathlib
        attempt = int(os.environ["ISSUEWAVE_ATTEMPT"])
        feedback = os.environ.get("ISSUEWAVE_FEEDBACK_FILE")
        if attempt == 1:
            assert feedback is None
            pathlib.Path("answer.py").write_text("VALUE = 41\\n")
        else:
            text = pathlib.Path(feedback).read_text()
            assert "41" in text and "FAILED checks/test_answer.py" in text, text
            pathlib.Path("answer.py").write_text("VALUE = 42  # fixed from feedback\\n")
        """,
    )
    done = project.cli("run", "--agent-cmd", fixer)
    assert done.returncode == 0, done.stderr
    issue = state(project)["issues"][0]
    assert issue["status"] == "succeeded"
    assert issue["attempts"] == 2
    assert "fixed from feedback" in (project.root / ".worktrees/issue-1/answer.py").read_text()


def test_agent_claiming_success_without_changes_fails(project: Project) -> None:
    project.add_issue(1, "Do something")
    project.commit("issue")
    liar = project.agent("liar", 'print("All done! 100% success.")\n')
    done = project.cli("run", "--agent-cmd", liar)
    assert done.returncode == 1
    issue = state(project)["issues"][0]
    assert issue["status"] == "failed"
    assert "without changing anything" in issue["reason"]
    assert prs(project) == []


def test_timeout_kills_agent_and_its_children(project: Project) -> None:
    project.add_issue(1, "Hang forever")
    project.commit("issue")
    pids = project.scratch / "pids"
    sleeper = project.agent(
        "sleeper",
        f"""
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        with open({str(pids)!r}, "w") as out:
            out.write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(300)
        """,
    )
    started = time.monotonic()
    done = project.cli("run", "--agent-cmd", sleeper, "--timeout", "2", "--max-attempts", "1")
    assert done.returncode == 1
    assert time.monotonic() - started < 30
    agent_pid, child_pid = (int(p) for p in pids.read_text().split())
    assert not process_alive(agent_pid)
    assert not process_alive(child_pid)
    assert "timed out after 2 s" in state(project)["issues"][0]["reason"]


def test_resume_after_sigkill_redoes_nothing_and_duplicates_nothing(project: Project) -> None:
    seed_issues(project)
    project.configure(jobs=1)
    running = project.popen("run", "--plain")
    env_sleep = {"AGENT_SLEEP": "0.3"}
    _wait_for(lambda: len(_succeeded(project)) >= 1, timeout=60)
    os.killpg(running.pid, signal.SIGKILL)
    running.wait(timeout=10)
    done_before = _succeeded(project)
    assert done_before and len(done_before) < 3

    resumed = project.cli("resume", env=env_sleep)
    assert resumed.returncode == 0, resumed.stderr
    starts = [e["issue"] for e in project.events() if e["kind"] == "start"]
    for issue in done_before:
        assert starts.count(issue) == 1, f"#{issue} was redone"
    records = prs(project)
    assert sorted(p["issue"] for p in records) == [152, 154, 155]
    assert len({p["head"] for p in records}) == len(records)
    assert all(i["status"] == "succeeded" for i in state(project)["issues"])


def test_second_run_while_one_is_going_is_refused(project: Project) -> None:
    seed_issues(project)
    first = project.popen("run", "--plain")
    try:
        _wait_for(lambda: bool(project.events()), timeout=60)
        second = project.cli("run")
        assert second.returncode == 1
        assert "another issuewave run is going" in second.stderr
        status = project.cli("status")  # readable while the run goes
        assert status.returncode == 0
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0


def test_ctrl_c_exits_130_and_leaves_state_resumable(project: Project) -> None:
    project.add_issue(1, "Slow one")
    project.commit("issue")
    project.configure(agent_cmd=project.agent("slow", "import time\ntime.sleep(300)\n"))
    running = project.popen("run", "--plain")
    _wait_for(lambda: _attempts_started(project) >= 1, timeout=60)
    time.sleep(0.5)
    running.send_signal(signal.SIGINT)
    _, err = running.communicate(timeout=30)
    assert running.returncode == 130, err
    assert "issuewave resume" in err
    issue = state(project)["issues"][0]
    assert issue["status"] == "interrupted"


def test_report_json_figures_come_from_the_journal(project: Project) -> None:
    seed_issues(project)
    assert project.cli("run", env={"AGENT_SLEEP": "0.3"}).returncode == 0
    report = json.loads(project.cli("report", "--json").stdout)
    run = report["run"]
    for key in ("makespan_s", "speedup", "efficiency", "lower_bound_s", "success_rate"):
        assert isinstance(run[key], float), key
    assert run["success_rate"] == 1.0
    issues = {i["number"]: i for i in report["issues"]}
    assert set(issues[155]) >= {
        "number",
        "status",
        "branch",
        "pr",
        "attempts",
        "duration_s",
        "wave",
    }
    assert issues[155]["wave"] == 2
    durations = [i["duration_s"] for i in report["issues"]]
    assert abs(run["sum_issue_s"] - sum(durations)) < 0.01
    assert abs(run["speedup"] - run["sum_issue_s"] / run["makespan_s"]) < 0.002
    assert run["lower_bound_s"] >= max(durations) - 0.01
    assert run["makespan_s"] >= run["lower_bound_s"] - 0.05
    markdown = project.cli("report").stdout
    assert "Completion Summary" in markdown
    assert "100%" in markdown and "simulat" not in markdown.lower()


def test_rollback_backs_up_before_deleting(project: Project) -> None:
    seed_issues(project)
    assert project.cli("run", env={"AGENT_SLEEP": "0.05"}).returncode == 0
    tip = git(project.root, "rev-parse", "feature/issue-155")
    worktree = project.root / ".worktrees" / "issue-155"
    (worktree / "unsaved.txt").write_text("work nobody committed\n")
    done = project.cli("rollback", "155")
    assert done.returncode == 0, done.stderr
    assert not worktree.exists()
    assert git(project.root, "branch", "--list", "feature/issue-155") == ""
    backups = git(project.root, "for-each-ref", "--format=%(refname)", "refs/issuewave/backup/")
    (backup,) = backups.splitlines()
    assert backup.startswith("refs/issuewave/backup/feature/issue-155/")
    assert git(project.root, "rev-parse", f"{backup}^") == tip  # saved work sits on the old tip
    assert git(project.root, "show", f"{backup}:unsaved.txt") == "work nobody committed"
    assert {p["issue"]: p["state"] for p in prs(project)}[155] == "closed"


def test_rollback_keep_branch_keeps_it(project: Project) -> None:
    seed_issues(project)
    assert project.cli("run", env={"AGENT_SLEEP": "0.05"}).returncode == 0
    tip = git(project.root, "rev-parse", "feature/issue-152")
    assert project.cli("rollback", "152", "--keep-branch").returncode == 0
    assert git(project.root, "rev-parse", "feature/issue-152") == tip
    assert not (project.root / ".worktrees" / "issue-152").exists()


def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    from conftest import run_cli

    done = run_cli(tmp_path, "demo", str(tmp_path / "demo"), "--plain", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "✅ COMPLETE" in done.stdout
    assert "7/7 issues verified" in done.stdout
    report = json.loads(run_cli(tmp_path / "demo", "report", "--json").stdout)
    by_issue = {i["number"]: i for i in report["issues"]}
    assert by_issue[5]["attempts"] == 2  # the demo agent's first try at #5 fails its tests
    assert report["run"]["prs_in_dependency_order"] is True
    # The charts beside the Markdown report, linked from it.
    charts = (tmp_path / "demo" / "issuewave-report.html").read_text()
    assert charts.count('class="phase agent') == 8  # seven issues, one retry
    assert "(issuewave-report.html)" in (tmp_path / "demo" / "issuewave-report.md").read_text()


def _succeeded(project: Project) -> list[int]:
    db = project.root / ".git" / "issuewave" / "state.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT issue FROM tasks WHERE status = 'succeeded'").fetchall()
    return [r[0] for r in rows]


def _attempts_started(project: Project) -> int:
    db = project.root / ".git" / "issuewave" / "state.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def _wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out waiting")
