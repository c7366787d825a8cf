"""The amp adapter against a stand-in `amp` that prints Amp's stream JSON."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import standin
from issuewave.agents.amp import AmpAgent
from issuewave.agents.base import AgentReport, AgentSettings, Usage, allowed_environment

THREAD = "T-2775dc92-90ed-4f85-8b73-8f9766029e83"
EXECUTE = ["--execute", "--stream-json"]

INIT = {
    "type": "system",
    "subtype": "init",
    "cwd": "/work/worktree",
    "session_id": THREAD,
    "tools": ["Bash", "create_file", "edit_file", "Grep", "Read", "oracle"],
    "mcp_servers": [],
}
USER = {
    "type": "user",
    "message": {"role": "user", "content": [{"type": "text", "text": "# Issue #7: Add a parser"}]},
    "parent_tool_use_id": None,
    "session_id": THREAD,
}
TOOL_USE = {
    "type": "assistant",
    "message": {
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"cmd": "pytest -q"}}
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 12783,
            "cache_creation_input_tokens": 367,
            "cache_read_input_tokens": 12416,
            "output_tokens": 58,
            "max_tokens": 224000,
            "service_tier": "standard",
        },
    },
    "parent_tool_use_id": None,
    "session_id": THREAD,
}
TOOL_RESULT = {
    "type": "user",
    "message": {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_01",
                "content": "1 passed",
                "is_error": False,
            }
        ],
    },
    "parent_tool_use_id": None,
    "session_id": THREAD,
}
TEXT = {
    "type": "assistant",
    "message": {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Added the parser; the tests pass."}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 200,
            "cache_creation_input_tokens": 33,
            "cache_read_input_tokens": 13150,
            "output_tokens": 42,
            "max_tokens": 224000,
            "service_tier": "standard",
        },
    },
    "parent_tool_use_id": None,
    "session_id": THREAD,
}
UNKNOWN = {"type": "thread_title", "title": "Add a parser", "session_id": THREAD}
SUCCESS = {
    "type": "result",
    "subtype": "success",
    "duration_ms": 29060,
    "is_error": False,
    "num_turns": 2,
    "result": "Added `parse()` in src/parser.py; `pytest -q` passes.",
    "session_id": THREAD,
}
ERROR = {
    "type": "result",
    "subtype": "error_during_execution",
    "duration_ms": 1200,
    "is_error": True,
    "num_turns": 1,
    "error": "Insufficient credit balance",
    "session_id": THREAD,
}


def stream(*events: dict[str, object]) -> str:
    # A broken line after the first event: skipped, never fatal.
    return standin.jsonl(*events).replace("\n", "\nnot json {\n", 1)


def run(tmp_path: Path, step: standin.Step, **context: Any) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "amp", [step])
    fake.put_first_on_path()
    return standin.run_agent(AmpAgent(), standin.context(tmp_path, **context)), fake


def only_call(fake: standin.StandIn) -> dict[str, Any]:
    calls = fake.calls()
    assert len(calls) == 1
    return calls[0]


def test_first_attempt_executes_with_the_prompt_on_stdin(tmp_path: Path) -> None:
    report, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)))
    call = only_call(fake)
    ctx = standin.context(tmp_path)
    assert call["argv"] == EXECUTE
    assert call["stdin"] == ctx.prompt
    assert Path(call["cwd"]).resolve() == ctx.worktree.resolve()
    assert report.succeeded


def test_full_auto_allows_everything(tmp_path: Path) -> None:
    settings = AgentSettings(full_auto=True)
    _, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)), settings=settings)
    assert only_call(fake)["argv"] == [*EXECUTE, "--dangerously-allow-all"]


def test_model_names_the_mode_and_extra_arguments_come_last(tmp_path: Path) -> None:
    settings = AgentSettings(model="rush", extra_args=("--no-notifications",))
    _, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)), settings=settings)
    assert only_call(fake)["argv"] == ["--mode", "rush", *EXECUTE, "--no-notifications"]


def test_retry_continues_the_thread_with_the_feedback_prompt(tmp_path: Path) -> None:
    settings = AgentSettings(model="rush")
    report, fake = run(
        tmp_path,
        standin.Step(stream(INIT, SUCCESS)),
        attempt=2,
        resume_session=THREAD,
        settings=settings,
    )
    call = only_call(fake)
    assert call["argv"] == ["threads", "continue", THREAD, *EXECUTE]
    assert call["stdin"] == "Your last attempt was rejected:\ntests failed"
    assert report.session_id == THREAD


def test_success_reads_thread_message_and_summed_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = (INIT, USER, UNKNOWN, TOOL_USE, TOOL_RESULT, TEXT, SUCCESS)
    report, _ = run(tmp_path, standin.Step(stream(*events)))
    assert "amp: line 2 of its output is not JSON; skipped" in caplog.text
    assert report.succeeded
    assert report.session_id == THREAD
    assert report.final_message == SUCCESS["result"]
    # The result carries no usage: the messages' usage is summed; Amp reports no cost.
    assert report.usage == Usage(12783 + 367 + 200 + 33, 58 + 42, 12416 + 13150, None)


def test_usage_on_the_result_is_the_total(tmp_path: Path) -> None:
    totals = {"input_tokens": 900, "cache_read_input_tokens": 30000, "output_tokens": 120}
    report, _ = run(tmp_path, standin.Step(stream(INIT, TOOL_USE, {**SUCCESS, "usage": totals})))
    assert report.usage == Usage(900, 120, 30000, None)


def test_an_error_result_fails_even_with_exit_zero(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(stream(INIT, TEXT, ERROR), exit=0))
    assert not report.succeeded
    assert report.error == "amp reported error_during_execution: Insufficient credit balance"
    assert report.session_id == THREAD


def test_exit_one_after_a_success_result_is_a_success(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(stream(INIT, TEXT, SUCCESS), exit=1))
    assert report.succeeded
    assert report.error is None


def test_no_result_event_is_a_failure_that_says_so(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(stream(INIT, TOOL_USE), exit=0))
    assert not report.succeeded
    assert report.error == "amp exited 0 without a result event; its stderr log may say why"
    assert report.session_id == THREAD


def test_only_allowlisted_variables_and_its_credentials_reach_it(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "amp", [standin.Step(stream(INIT, SUCCESS))])
    fake.put_first_on_path()
    os.environ.update(GITHUB_TOKEN="ghp_not_for_agents", AMP_API_KEY="sgamp_for_amp")
    agent = AmpAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = only_call(fake)["env"]
    assert "GITHUB_TOKEN" not in env
    assert env["AMP_API_KEY"] == "sgamp_for_amp"
