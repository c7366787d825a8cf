"""The cursor adapter against a stand-in `cursor-agent` that prints Cursor's stream-json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, Usage, allowed_environment
from issuewave.agents.cursor import CursorAgent

CHAT = "fdc86797-fa4a-4660-8737-8ab3dbb42f70"
PRINT = ["-p", "--output-format", "stream-json"]
EDIT_AND_RUN = ["--force", "--trust"]

INIT = {
    "type": "system",
    "subtype": "init",
    "apiKeySource": "env",
    "cwd": "/work/worktree",
    "session_id": CHAT,
    "model": "Claude 4.5 Sonnet",
    "permissionMode": "default",
}
USER = {
    "type": "user",
    "message": {"role": "user", "content": [{"type": "text", "text": "# Issue #7: Add a parser"}]},
    "session_id": CHAT,
}
THINKING = {
    "type": "thinking",
    "subtype": "delta",
    "text": "Reading the tests.",
    "session_id": CHAT,
}
TOOL_STARTED = {
    "type": "tool_call",
    "subtype": "started",
    "call_id": "toolu_01",
    "tool_call": {"shellToolCall": {"args": {"command": "pytest -q"}}},
    "session_id": CHAT,
}
TOOL_COMPLETED = {
    "type": "tool_call",
    "subtype": "completed",
    "call_id": "toolu_01",
    "tool_call": {
        "shellToolCall": {
            "args": {"command": "pytest -q"},
            "result": {"success": {"exitCode": 0, "stdout": "1 passed\n"}},
        }
    },
    "session_id": CHAT,
}
TEXT = {
    "type": "assistant",
    "message": {
        "role": "assistant",
        "content": [{"type": "text", "text": "Added the parser; the tests pass."}],
    },
    "session_id": CHAT,
}
SUCCESS = {
    "type": "result",
    "subtype": "success",
    "duration_ms": 31846,
    "duration_api_ms": 31846,
    "is_error": False,
    "result": "I'll add the parser.Added the parser; the tests pass.",
    "session_id": CHAT,
    "request_id": "a5e65011-58e7-43ed-a65e-81cd4ae19b08",
    "usage": {
        "inputTokens": 14125,
        "outputTokens": 611,
        "cacheReadTokens": 28224,
        "cacheWriteTokens": 1024,
    },
}


def stream(*events: dict[str, object]) -> str:
    # A broken line after the first event: skipped, never fatal.
    return standin.jsonl(*events).replace("\n", '\n{"type": "tool_call",\n', 1)


def run(tmp_path: Path, step: standin.Step, **context: Any) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "cursor-agent", [step])
    fake.put_first_on_path()
    return standin.run_agent(CursorAgent(), standin.context(tmp_path, **context)), fake


def only_call(fake: standin.StandIn) -> dict[str, Any]:
    calls = fake.calls()
    assert len(calls) == 1
    return calls[0]


def test_first_attempt_prints_with_force_and_the_prompt_on_stdin(tmp_path: Path) -> None:
    report, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)))
    call = only_call(fake)
    ctx = standin.context(tmp_path)
    assert call["argv"] == [*PRINT, *EDIT_AND_RUN]
    assert call["stdin"] == ctx.prompt
    assert Path(call["cwd"]).resolve() == ctx.worktree.resolve()
    assert report.succeeded


def test_full_auto_also_lifts_the_sandbox(tmp_path: Path) -> None:
    settings = AgentSettings(full_auto=True)
    _, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)), settings=settings)
    assert only_call(fake)["argv"] == [*PRINT, *EDIT_AND_RUN, "--sandbox", "disabled"]


def test_model_then_extra_arguments_come_last(tmp_path: Path) -> None:
    settings = AgentSettings(model="gpt-5", extra_args=("--approve-mcps",))
    _, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)), settings=settings)
    argv = only_call(fake)["argv"]
    assert argv == [*PRINT, *EDIT_AND_RUN, "--model", "gpt-5", "--approve-mcps"]


def test_retry_resumes_the_chat_with_the_feedback_prompt(tmp_path: Path) -> None:
    report, fake = run(
        tmp_path, standin.Step(stream(INIT, SUCCESS)), attempt=2, resume_session=CHAT
    )
    call = only_call(fake)
    assert call["argv"] == [*PRINT, *EDIT_AND_RUN, "--resume", CHAT]
    assert call["stdin"] == "Your last attempt was rejected:\ntests failed"
    assert report.session_id == CHAT


def test_success_reads_chat_message_and_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = (INIT, USER, THINKING, TOOL_STARTED, TOOL_COMPLETED, TEXT, SUCCESS)
    report, _ = run(tmp_path, standin.Step(stream(*events)))
    assert "cursor: line 2 of its output is not JSON; skipped" in caplog.text
    assert report.succeeded
    assert report.session_id == CHAT
    assert report.final_message == SUCCESS["result"]
    # Cache writes count as input, cache reads as cached; Cursor reports no cost.
    assert report.usage == Usage(14125 + 1024, 611, 28224, None)


def test_a_result_without_usage_reads_as_no_tokens(tmp_path: Path) -> None:
    bare = {k: v for k, v in SUCCESS.items() if k != "usage"}
    report, _ = run(tmp_path, standin.Step(stream(INIT, TEXT, bare)))
    assert report.succeeded
    assert report.usage == Usage()


def test_an_error_result_fails_even_with_exit_zero(tmp_path: Path) -> None:
    error = {**SUCCESS, "is_error": True, "result": "Model request failed: rate limited"}
    report, _ = run(tmp_path, standin.Step(stream(INIT, error), exit=0))
    assert not report.succeeded
    assert report.error == "cursor reported an error: Model request failed: rate limited"


def test_exit_one_after_a_success_result_is_a_success(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(stream(INIT, TEXT, SUCCESS), exit=1))
    assert report.succeeded


def test_no_result_event_is_a_failure_that_says_so(tmp_path: Path) -> None:
    # Cursor's documented failure: a non-zero exit, the stream cut short, the reason on stderr.
    step = standin.Step(stream(INIT, TEXT), exit=1, stderr="Error: authentication required\n")
    report, _ = run(tmp_path, step)
    assert not report.succeeded
    assert report.error == "cursor exited 1 without a result event; its stderr log may say why"
    assert report.session_id == CHAT
    assert report.final_message == "Added the parser; the tests pass."


def test_only_allowlisted_variables_and_its_credentials_reach_it(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "cursor-agent", [standin.Step(stream(INIT, SUCCESS))])
    fake.put_first_on_path()
    os.environ.update(GITHUB_TOKEN="ghp_not_for_agents", CURSOR_API_KEY="key_for_cursor")
    agent = CursorAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = only_call(fake)["env"]
    assert "GITHUB_TOKEN" not in env
    assert env["CURSOR_API_KEY"] == "key_for_cursor"
