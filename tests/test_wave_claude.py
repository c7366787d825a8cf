"""A whole wave driven through the `claude` adapter, against a stand-in `claude` on PATH.

The stand-in prints Claude Code's stream-json and edits files like the real agent would; issuewave
must run it exactly as documented, read its claims, verify them, resume its session with the test
output on a retry, account tokens and cost, and keep secrets out of its environment.
"""

from __future__ import annotations

import json
import os
import uuid

import standin
from conftest import Project, git, seed_issues
from standin import Step, jsonl

TOKEN = "ghp_do_not_leak_this_value_123"


def claude_says(session: str, text: str, *, cost: float, tokens: int, error: bool = False) -> str:
    """A Claude Code stream-json transcript: init, one assistant message, the result."""
    return jsonl(
        {"type": "system", "subtype": "init", "session_id": session, "cwd": ".", "tools": []},
        {
            "type": "assistant",
            "session_id": session,
            "message": {
                "id": "m1",
                "role": "assistant",
                "content": [{"type": "text", "text": text}],
            },
        },
        {
            "type": "result",
            "subtype": "error_during_execution" if error else "success",
            "is_error": error,
            "result": text,
            "session_id": session,
            "total_cost_usd": cost,
            "num_turns": 2,
            "usage": {
                "input_tokens": tokens,
                "output_tokens": tokens // 10,
                "cache_read_input_tokens": tokens * 2,
                "cache_creation_input_tokens": 0,
            },
        },
    )


def session_of(tag_call: dict[str, object]) -> str:
    argv = list(tag_call["argv"])  # type: ignore[call-overload]
    return argv[argv.index("--session-id") + 1]


def test_seed_wave_through_claude(project: Project) -> None:
    seed_issues(project)
    steps = [
        Step(
            claude_says("s1", f"Did part {n}.", cost=0.01, tokens=1000), files={f"part{n}.txt": "x"}
        )
        for n in (1, 2, 3)
    ]
    claude = standin.install(project.scratch, "claude", steps)
    claude.put_first_on_path()
    project.configure(agent="claude", jobs=1, model="claude-sonnet-4-5")
    done = project.cli("run", "--plain", env={"GITHUB_TOKEN": TOKEN, "ANTHROPIC_API_KEY": "k-1"})
    assert done.returncode == 0, done.stderr

    calls = claude.calls()
    assert len(calls) == 3
    first = calls[0]
    argv = list(first["argv"])  # type: ignore[call-overload]
    assert argv[:4] == ["-p", "--output-format", "stream-json", "--verbose"]
    assert "--model" in argv and argv[argv.index("--model") + 1] == "claude-sonnet-4-5"
    assert first["cwd"] == str(project.root / ".worktrees" / "issue-152")
    assert "# Issue #152: Cross-Platform VM Research" in str(first["stdin"])
    env = first["env"]
    assert env["ANTHROPIC_API_KEY"] == "k-1"  # type: ignore[index]
    assert "GITHUB_TOKEN" not in env  # type: ignore[operator]
    assert TOKEN not in json.dumps(calls)

    report = json.loads(project.cli("report", "--json").stdout)
    issue = {i["number"]: i for i in report["issues"]}[155]
    assert issue["agent"] == "claude"
    assert issue["tokens"] == {"input": 1000, "output": 100, "cached": 2000}
    assert issue["cost_usd"] == 0.01
    assert issue["session_id"] == "s1"
    assert issue["final_message"] == "Did part 3."
    assert report["run"]["tokens"] == {"input": 3000, "output": 300, "cached": 6000}
    assert abs(report["run"]["cost_usd"] - 0.03) < 1e-9
    assert TOKEN not in done.stderr + done.stdout


def test_retry_resumes_the_claude_session_with_the_test_output(project: Project) -> None:
    project.write(
        "checks/test_answer.py", "import answer\nassert answer.VALUE == 42, answer.VALUE\n"
    )
    project.write("answer.py", "VALUE = 42\n")
    project.add_issue(1, "Change the answer")
    project.commit("answer")
    wrong = Step(claude_says("sess-A", "Done, all tests pass!", cost=0.02, tokens=500),
                 files={"answer.py": "VALUE = 41\n"})  # fmt: skip
    right = Step(claude_says("sess-A", "Fixed the value.", cost=0.01, tokens=200),
                 files={"answer.py": "VALUE = 42  # fixed\n"})  # fmt: skip
    claude = standin.install(project.scratch, "claude", [wrong, right])
    claude.put_first_on_path()
    project.configure(agent="claude")
    done = project.cli("run", "--plain")
    assert done.returncode == 0, done.stderr

    first, second = claude.calls()
    tag_session = session_of(first)
    assert uuid.UUID(tag_session)  # assigned up front
    argv = list(second["argv"])  # type: ignore[call-overload]
    assert argv[argv.index("--resume") + 1] == "sess-A"  # the session the CLI reported
    assert "--session-id" not in argv
    feedback = str(second["stdin"])
    assert "FAILED checks/test_answer.py" in feedback and "41" in feedback
    assert "# Issue #1" not in feedback  # the short prompt: the session knows the issue
    state = json.loads(project.cli("report", "--json").stdout)
    issue = state["issues"][0]
    assert issue["attempts"] == 2 and issue["status"] == "succeeded"
    assert abs(issue["cost_usd"] - 0.03) < 1e-9


def test_error_result_after_exit_0_is_a_failed_attempt(project: Project) -> None:
    project.add_issue(1, "Anything")
    project.commit("issue")
    broken = Step(claude_says("s", "API Error: overloaded", cost=0.0, tokens=5, error=True),
                  files={"partial.txt": "half"})  # fmt: skip
    claude = standin.install(project.scratch, "claude", [broken])
    claude.put_first_on_path()
    project.configure(agent="claude", max_attempts=1)
    done = project.cli("run", "--plain")
    assert done.returncode == 1
    issue = json.loads(project.cli("status", "--json").stdout)["issues"][0]
    assert "reported an error" in issue["reason"] and "overloaded" in issue["reason"]


def test_run_budget_stops_new_issues_and_says_so(project: Project) -> None:
    seed_issues(project)
    steps = [
        Step(claude_says("s", f"part {n}", cost=0.50, tokens=10), files={f"p{n}.txt": "x"})
        for n in (1, 2, 3)
    ]
    claude = standin.install(project.scratch, "claude", steps)
    claude.put_first_on_path()
    project.configure(agent="claude", jobs=1, max_run_cost=0.4)
    done = project.cli("run", "--plain")
    assert done.returncode == 1
    assert len(claude.calls()) == 1  # the first issue spent the budget; nothing else started
    assert "budget" in done.stderr
    statuses = {
        i["number"]: i["status"]
        for i in json.loads(project.cli("status", "--json").stdout)["issues"]
    }
    assert statuses[152] == "succeeded"
    assert statuses[154] == "pending"
    # 154's worktree was made in advance while 152 ran; never started, it is undone.
    assert git(project.root, "branch", "--list", "feature/issue-154") == ""
    assert not (project.root / ".worktrees" / "issue-154").exists()


def test_issue_budget_stops_retries(project: Project) -> None:
    project.add_issue(1, "Expensive")
    project.commit("issue")
    no_change = Step(claude_says("s", "nothing to do", cost=1.0, tokens=10))
    claude = standin.install(project.scratch, "claude", [no_change])
    claude.put_first_on_path()
    project.configure(agent="claude", max_attempts=5, max_cost=0.5)
    done = project.cli("run", "--plain")
    assert done.returncode == 1
    assert len(claude.calls()) == 1
    issue = json.loads(project.cli("status", "--json").stdout)["issues"][0]
    assert "issue budget spent" in issue["reason"]


def test_doctor_names_the_command_line_and_credentials_without_values(project: Project) -> None:
    claude = standin.install(project.scratch, "claude", [Step("1.0.0 (Claude Code)\n")])
    claude.put_first_on_path()
    done = project.cli("agents", "--json", env={"ANTHROPIC_API_KEY": "sk-secret-value-1"})
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert set(rows) >= {
        "claude",
        "codex",
        "amp",
        "gemini",
        "opencode",
        "cursor",
        "command",
        "demo",
    }
    row = rows["claude"]
    assert row["path"] == str(claude.bin_dir / "claude")
    assert row["version"] == "1.0.0 (Claude Code)"
    assert "ANTHROPIC_API_KEY" in row["credentials_present"]
    assert row["command_line"].startswith("claude -p --output-format stream-json")
    assert "sk-secret-value-1" not in done.stdout
    assert git(project.root, "branch", "--list", "feature/*") == ""
    assert os.environ.get("ANTHROPIC_API_KEY") is None


def test_resume_with_a_raised_run_budget_finishes_the_wave(project: Project) -> None:
    seed_issues(project)
    steps = [
        Step(claude_says("s", f"part {n}", cost=0.50, tokens=10), files={f"p{n}.txt": "x"})
        for n in (1, 2, 3)
    ]
    claude = standin.install(project.scratch, "claude", steps)
    claude.put_first_on_path()
    project.configure(agent="claude", jobs=1, max_run_cost=0.4)
    assert project.cli("run", "--plain").returncode == 1
    resumed = project.cli("resume", "--plain", "--max-run-cost", "5")
    assert resumed.returncode == 0, resumed.stderr
    assert len(claude.calls()) == 3  # nothing redone
