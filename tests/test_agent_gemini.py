"""The gemini adapter against a stand-in `gemini` printing `--output-format stream-json` events.

Event shapes follow google-gemini/gemini-cli docs/cli/headless.md and
packages/core/src/output/types.ts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, AttemptContext, allowed_environment
from issuewave.agents.gemini import GeminiAgent
from standin import Step, jsonl

SESSION = "b2b90938-611f-4bd0-adf6-829e14549653"
T = "2025-11-03T10:00:00.000Z"


def event(kind: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "timestamp": T, **fields}


def said(text: str) -> dict[str, object]:
    return event("message", role="assistant", content=text, delta=True)


INIT = event("init", session_id=SESSION, model="gemini-2.5-pro")
STATS = {
    "total_tokens": 25113,
    "input_tokens": 24939,
    "output_tokens": 20,
    "cached": 21263,
    "input": 3676,
    "duration_ms": 5053,
    "tool_calls": 1,
}
SUCCESS = (
    jsonl(
        INIT,
        event("message", role="user", content="# Issue #7: Add a parser"),
        said("I'll look at the "),
        said("project first."),
        event(
            "tool_use",
            tool_name="write_file",
            tool_id="write_file-1",
            parameters={"file_path": "src/parser.py", "content": "def parse(): ...\n"},
        ),
        event("tool_result", tool_id="write_file-1", status="success", output="Created file"),
        event("thought", subject="a type this adapter ignores"),
    )
    + "[ERROR] Loaded cached credentials.\n"
    + jsonl(
        said("Added the "),
        said("parser."),
        event("result", status="success", stats=STATS),
    )
)


def run(
    tmp_path: Path, steps: list[Step], ctx: AttemptContext | None = None
) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "gemini", steps)
    fake.put_first_on_path()
    report = standin.run_agent(GeminiAgent(), ctx or standin.context(tmp_path))
    return report, fake


def test_first_attempt_reads_the_prompt_from_stdin_in_the_worktree(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    [call] = fake.calls()
    assert call["argv"] == ["--output-format", "stream-json", "--approval-mode", "auto_edit"]
    assert call["stdin"] == ctx.prompt
    assert call["cwd"] == str(ctx.worktree)


def test_full_auto_model_and_extra_arguments(tmp_path: Path) -> None:
    settings = AgentSettings(
        model="gemini-2.5-pro", extra_args=("--include-directories", "../shared"), full_auto=True
    )
    _, fake = run(tmp_path, [Step(SUCCESS)], standin.context(tmp_path, settings=settings))
    assert fake.calls()[0]["argv"] == [
        "--output-format", "stream-json",
        "--approval-mode", "yolo",
        "--model", "gemini-2.5-pro",
        "--include-directories", "../shared",
    ]  # fmt: skip


def test_retry_resumes_the_session_with_the_feedback(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path, attempt=2, resume_session=SESSION)
    report, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    call = fake.calls()[0]
    assert call["argv"] == [
        "--output-format", "stream-json", "--approval-mode", "auto_edit", "--resume", SESSION
    ]  # fmt: skip
    assert call["stdin"] == ctx.retry_prompt
    assert report.succeeded


def test_retry_without_a_session_starts_afresh_with_the_full_prompt(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path, attempt=2)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    call = fake.calls()[0]
    assert "--resume" not in call["argv"]  # type: ignore[operator]
    assert call["stdin"] == ctx.prompt


def test_success_is_read_from_the_events(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="issuewave.agents"):
        report, _ = run(tmp_path, [Step(SUCCESS)])
    assert report.succeeded
    assert report.error is None
    assert report.session_id == SESSION
    # The reply after the last tool call, its chunks joined.
    assert report.final_message == "Added the parser."
    # input_tokens is the whole prompt; its cached part is kept apart.
    assert report.usage.input_tokens == 24939 - 21263
    assert report.usage.cached_tokens == 21263
    # Thinking tokens are only in the total: output is the total beyond the input.
    assert report.usage.output_tokens == 25113 - 24939
    assert report.usage.cost_usd is None
    assert "gemini: line 8 of its output is not JSON" in caplog.text


def test_an_error_result_fails_even_with_exit_0(tmp_path: Path) -> None:
    stdout = jsonl(
        INIT,
        event(
            "result",
            status="error",
            error={"type": "FatalToolExecutionError", "message": "Error executing tool: disk full"},
            stats=STATS,
        ),
    )
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == "Error executing tool: disk full"
    assert report.session_id == SESSION


def test_an_error_result_without_details_takes_the_error_event(tmp_path: Path) -> None:
    message = "Invalid stream: The model returned an empty response or malformed tool call."
    stdout = jsonl(
        INIT,
        event("error", severity="error", message=message),
        event("result", status="error", stats=STATS),
    )
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == message


def test_a_success_result_after_an_error_succeeds_despite_exit_1(tmp_path: Path) -> None:
    stdout = jsonl(
        INIT,
        event("error", severity="warning", message="Loop detected, stopping execution"),
        said("Done."),
        event("result", status="success", stats=STATS),
    )
    report, _ = run(tmp_path, [Step(stdout, exit=1)])
    assert report.succeeded
    assert report.error is None
    assert report.final_message == "Done."


def test_no_result_is_a_failure(tmp_path: Path) -> None:
    # Fatal errors go to stderr as text; stdout ends without a result event.
    stdout = jsonl(INIT, said("Working on it"))
    report, _ = run(tmp_path, [Step(stdout, exit=0, stderr="Error: quota exceeded\n")])
    assert not report.succeeded
    assert report.error == "gemini exited 0 without a result event"


def test_only_allowlisted_variables_and_its_credentials_reach_gemini(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "gemini", [Step(SUCCESS)])
    fake.put_first_on_path()
    os.environ["GITHUB_TOKEN"] = "ghp_not_for_agents"
    os.environ["GEMINI_API_KEY"] = "AIza-gemini-test"
    agent = GeminiAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = fake.calls()[0]["env"]
    assert isinstance(env, dict)
    assert "GITHUB_TOKEN" not in env
    assert env["GEMINI_API_KEY"] == "AIza-gemini-test"
