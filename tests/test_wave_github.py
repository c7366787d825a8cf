"""`issuewave run --forge github` end to end: the fake GitHub on 127.0.0.1, a bare `origin`."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from conftest import Project, git
from fake_github import FakeGitHub, fake_github

__all__ = ["fake_github"]  # the fixture, imported for pytest

ENV_DUMPING_AGENT = """
    import json, os, pathlib
    issue = os.environ["ISSUEWAVE_ISSUE"]
    pathlib.Path(f"issue-{issue}.txt").write_text("done")
    dump = pathlib.Path(__file__).parent / f"env-{issue}.json"
    dump.write_text(json.dumps(dict(os.environ)))
"""


def github_project(project: Project, fake: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(project.root, "remote", "add", "origin", str(origin))
    git(project.root, "push", "-q", "origin", "main")
    project.configure(
        forge="github",
        repo=fake.full_name,
        api_url=fake.url,
        labels=["wave"],
        agent_cmd=project.agent("env_dumper", ENV_DUMPING_AGENT),
    )
    return {"GITHUB_TOKEN": fake.token}


def seed_on_github(fake: FakeGitHub) -> None:
    fake.add_issue(152, "Cross-Platform VM Research", labels=["wave", "research"])
    fake.add_issue(154, "Platform-Agnostic VM Abstraction Layer", labels=["wave"])
    fake.add_issue(155, "Implement macOS VM Backend", "Depends on #154", labels=["wave"],
                   blocked_by=[152])  # fmt: skip


def test_github_wave_pushes_and_opens_prs_in_dependency_order(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = github_project(project, fake_github, tmp_path)
    seed_on_github(fake_github)
    fake_github.add_issue(999, "Someone else's prerequisite")  # open, not labelled: outside
    fake_github.add_issue(160, "Waits on the outside", labels=["wave"], blocked_by=[999])
    done = project.cli("run", "--plain", env=env)
    assert done.returncode == 1, done.stderr  # #160 cannot start

    pulls = sorted(fake_github.open_pulls(), key=lambda p: p["number"])
    heads = [p["head"] for p in pulls]
    assert sorted(heads) == ["feature/issue-152", "feature/issue-154", "feature/issue-155"]
    assert heads[-1] == "feature/issue-155"  # after both of its dependencies
    last = pulls[-1]
    assert "Closes #155" in last["body"] and "Depends on #152, #154" in last["body"]
    assert last["base"] == "main"
    remote_heads = git(project.root, "ls-remote", "--heads", "origin")
    for head in heads:
        assert f"refs/heads/{head}" in remote_heads
        assert git(project.root, "rev-parse", head) in remote_heads

    issues = {i["number"]: i for i in json.loads(project.cli("status", "--json").stdout)["issues"]}
    assert issues[160]["status"] == "blocked"
    assert "waits for #999" in issues[160]["reason"]
    assert not (project.scratch / "env-160.json").exists()  # never handed to an agent

    report = json.loads(project.cli("report", "--json", env=env).stdout)
    assert report["run"]["api_calls"] >= 4
    records = json.loads(project.cli("prs", "--json").stdout)
    assert {r["remote_number"] for r in records} == {p["number"] for p in pulls}
    assert all(r["url"] for r in records)

    agent_env = json.loads((project.scratch / "env-155.json").read_text())
    assert "GITHUB_TOKEN" not in agent_env
    assert fake_github.token not in json.dumps(agent_env)
    _assert_token_nowhere(project, fake_github.token, done.stdout + done.stderr)


def test_resume_after_a_crash_right_after_pr_creation_opens_no_duplicate(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = github_project(project, fake_github, tmp_path)
    fake_github.add_issue(1, "Only one", labels=["wave"])
    # The PR gets created; the labels call after it hangs: the orchestrator dies in between.
    fake_github.fail_next("POST", f"/repos/{fake_github.full_name}/issues/1/labels", None,
                          delay=20)  # fmt: skip
    os.environ.update(env)
    running = project.popen("run", "--plain")
    deadline = time.monotonic() + 60
    while not fake_github.open_pulls() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_github.open_pulls(), "the PR was never created"
    os.killpg(running.pid, signal.SIGKILL)
    running.wait(timeout=10)

    resumed = project.cli("resume", "--plain")
    assert resumed.returncode == 0, resumed.stderr
    assert len(fake_github.open_pulls()) == 1
    assert fake_github.count("POST", f"/repos/{fake_github.full_name}/pulls") == 1
    assert [r["issue"] for r in json.loads(project.cli("prs", "--json").stdout)] == [1]


def test_missing_token_is_a_clear_precheck(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    github_project(project, fake_github, tmp_path)
    seed_on_github(fake_github)
    os.environ["PATH"] = "/usr/bin:/bin"  # no `gh` here
    done = project.cli("run", "--plain")
    assert done.returncode == 1
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "gh auth"):
        assert name in done.stderr
    assert git(project.root, "branch", "--list", "feature/*") == ""


def test_plan_shows_untrusted_issues_left_out(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = github_project(project, fake_github, tmp_path)
    fake_github.add_issue(1, "From the team", "Depends on acme/lib#4", labels=["wave"])
    fake_github.add_issue(2, "From a stranger", labels=["wave"], author="mallory",
                          association="NONE")  # fmt: skip
    project.configure(require_label="agent-ok")
    done = project.cli("plan", env=env)
    assert done.returncode == 0, done.stderr
    assert "#2" in done.stdout and "left out" in done.stdout
    assert "#1 refers to acme/lib#4 in another repository" in done.stdout
    plan = json.loads(project.cli("plan", "--json", env=env).stdout)
    assert [i["number"] for i in plan["issues"]] == [1]


def _assert_token_nowhere(project: Project, token: str, output: str) -> None:
    assert token not in output
    state = project.root / ".git" / "issuewave"
    for path in state.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_stack_bases_a_pr_on_its_single_dependency_and_says_so(
    project: Project, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = github_project(project, fake_github, tmp_path)
    fake_github.add_issue(1, "Lower", labels=["wave"])
    fake_github.add_issue(2, "Upper", "Depends on #1", labels=["wave"])
    done = project.cli("run", "--plain", "--stack", "--draft", "--label", "wave", env=env)
    assert done.returncode == 0, done.stderr
    pulls = {p["head"]: p for p in fake_github.open_pulls()}
    assert pulls["feature/issue-1"]["base"] == "main"
    upper = pulls["feature/issue-2"]
    assert upper["base"] == "feature/issue-1"
    assert "re-point" in upper["body"] and upper["draft"] is True
