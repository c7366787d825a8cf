"""The claude adapter against a stand-in `claude` that prints Claude Code's stream-json."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, Usage, allowed_environment
from issuewave.agents.claude import ClaudeAgent

SESSION = "5b9a6f64-3c4e-4a8e-9d61-0f2b8f7e1a11"
PRINT = ["-p", "--output-format", "stream-json", "--verbose"]
EDIT_AND_RUN = ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]

INIT = {
    "type": "system",
    "subtype": "init",
    "cwd": "/work/worktree",
    "session_id": SESSION,
    "tools": ["Bash", "Edit", "Read", "Write"],
    "mcp_servers": [],
    "model": "claude-sonnet-4-5",
    "permissionMode": "acceptEdits",
    "apiKeySource": "ANTHROPIC_API_KEY",
}
MESSAGE_USAGE = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 500,
    "cache_read_input_tokens": 12000,
    "output_tokens": 40,
    "service_tier": "standard",
}
TOOL_USE = {
    "type": "assistant",
    "message": {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "pytest"}}
        ],
        "stop_reason": "tool_use",
        "usage": MESSAGE_USAGE,
    },
    "parent_tool_use_id": None,
    "session_id": SESSION,
}
TOOL_RESULT = {
    "type": "user",
    "message": {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "1 passed"}],
    },
    "parent_tool_use_id": None,
    "session_id": SESSION,
}
TEXT = {
    "type": "assistant",
    "message": {
        "id": "msg_02",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "The parser is in place and the tests pass."}],
        "stop_reason": "end_turn",
        "usage": MESSAGE_USAGE,
    },
    "parent_tool_use_id": None,
    "session_id": SESSION,
}
# Event types this adapter does not know: a later CLI may print them, and they must not matter.
UNKNOWN = [
    {"type": "system", "subtype": "compact_boundary", "session_id": SESSION},
    {"type": "rate_limit_event", "session_id": SESSION, "rate_limit_info": {"status": "allowed"}},
]
SUCCESS = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "duration_ms": 48210,
    "duration_api_ms": 40125,
    "num_turns": 6,
    "result": "Added `parse()` in src/parser.py; `pytest -q` passes (12 tests).",
    "session_id": SESSION,
    "total_cost_usd": 0.0837,
    "usage": {
        "input_tokens": 1200,
        "cache_creation_input_tokens": 3000,
        "cache_read_input_tokens": 45000,
        "output_tokens": 850,
        "server_tool_use": {"web_search_requests": 0},
        "service_tier": "standard",
    },
    "permission_denials": [],
    "uuid": "0a6c1f1e-7f0e-4f43-9d5e-0b3f3a0d3e10",
}


def stream(*events: dict[str, object], malformed: bool = True) -> str:
    text = standin.jsonl(*events)
    # A broken line in the middle, as a crashed writer or a stray log line leaves it.
    return text.replace("\n", '\n{"type": "assistant", "message": \n', 1) if malformed else text


def run(tmp_path: Path, step: standin.Step, **context: Any) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "claude", [step])
    fake.put_first_on_path()
    return standin.run_agent(ClaudeAgent(), standin.context(tmp_path, **context)), fake


def only_call(fake: standin.StandIn) -> dict[str, object]:
    calls = fake.calls()
    assert len(calls) == 1
    return calls[0]


def test_first_attempt_names_its_session_and_reads_the_prompt_on_stdin(tmp_path: Path) -> None:
    report, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)))
    call = only_call(fake)
    ctx = standin.context(tmp_path)
    session = str(uuid.uuid5(uuid.NAMESPACE_URL, "issuewave:" + ctx.tag))
    assert call["argv"] == [*PRINT, "--session-id", session, *EDIT_AND_RUN]
    assert call["stdin"] == ctx.prompt
    assert Path(str(call["cwd"])).resolve() == ctx.worktree.resolve()
    assert report.succeeded


def test_full_auto_skips_permissions_instead(tmp_path: Path) -> None:
    _, fake = run(
        tmp_path, standin.Step(stream(INIT, SUCCESS)), settings=AgentSettings(full_auto=True)
    )
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[len(PRINT) + 2 :] == ["--dangerously-skip-permissions"]


def test_model_then_extra_arguments_come_last(tmp_path: Path) -> None:
    settings = AgentSettings(model="opus", extra_args=("--max-turns", "40"))
    _, fake = run(tmp_path, standin.Step(stream(INIT, SUCCESS)), settings=settings)
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[len(PRINT) + 2 :] == [*EDIT_AND_RUN, "--model", "opus", "--max-turns", "40"]


def test_retry_resumes_the_session_with_the_feedback_prompt(tmp_path: Path) -> None:
    report, fake = run(
        tmp_path, standin.Step(stream(INIT, SUCCESS)), attempt=2, resume_session=SESSION
    )
    call = only_call(fake)
    assert call["argv"] == [*PRINT, "--resume", SESSION, *EDIT_AND_RUN]
    assert call["stdin"] == "Your last attempt was rejected:\ntests failed"
    assert report.session_id == SESSION


def test_success_reads_session_message_tokens_and_cost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = (INIT, *UNKNOWN, TOOL_USE, TOOL_USE, TOOL_RESULT, TEXT, SUCCESS)
    report, _ = run(tmp_path, standin.Step(stream(*events)))
    assert "claude: line 2 of its output is not JSON; skipped" in caplog.text
    assert report.succeeded
    assert report.session_id == SESSION
    assert report.final_message == SUCCESS["result"]
    # Cache writes count as input; cache reads are reported apart as cached.
    assert report.usage == Usage(4200, 850, 45000, 0.0837)
    assert report.error is None


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (
            {
                "subtype": "error_max_turns",
                "is_error": True,
                "errors": ["Reached maximum number of turns (40)"],
            },
            "claude reported error_max_turns: Reached maximum number of turns (40)",
        ),
        (
            {"subtype": "success", "is_error": True, "result": "API Error: 529 Overloaded"},
            "claude reported an error: API Error: 529 Overloaded",
        ),
        ({"subtype": "error_during_execution", "is_error": True}, "error_during_execution"),
    ],
)
def test_an_error_result_fails_even_with_exit_zero(
    tmp_path: Path, result: dict[str, object], says: str
) -> None:
    error = {"type": "result", "session_id": SESSION, "total_cost_usd": 0.5, **result}
    report, _ = run(tmp_path, standin.Step(stream(INIT, TEXT, error), exit=0))
    assert not report.succeeded
    assert says in str(report.error)
    assert report.session_id == SESSION
    assert report.usage.cost_usd == 0.5


def test_exit_one_after_a_success_result_is_a_success(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(stream(INIT, TEXT, SUCCESS), exit=1))
    assert report.succeeded
    assert report.final_message == SUCCESS["result"]


def test_no_result_event_is_a_failure_that_says_so(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(stream(INIT, TOOL_USE, TEXT), exit=1))
    assert not report.succeeded
    assert report.error == "claude exited 1 without a result event; its stderr log may say why"
    assert report.session_id == SESSION
    assert report.final_message == "The parser is in place and the tests pass."


def test_only_allowlisted_variables_and_its_credentials_reach_it(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "claude", [standin.Step(stream(INIT, SUCCESS))])
    fake.put_first_on_path()
    os.environ.update(GITHUB_TOKEN="ghp_not_for_agents", ANTHROPIC_API_KEY="sk-ant-for-claude")
    agent = ClaudeAgent()
    ctx = standin.context(tmp_path)
    standin.run_agent(agent, ctx, allowed_environment(agent.credentials))
    env = only_call(fake)["env"]
    assert isinstance(env, dict)
    assert "GITHUB_TOKEN" not in env
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-for-claude"
    assert env["ISSUEWAVE_ISSUE"] == "7"
