"""The goose adapter against a stand-in `goose` printing goose's banner and stream-json events."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, Usage, allowed_environment
from issuewave.agents.goose import GooseAgent

SESSION = "20251108_3"
OUTPUT = ["--output-format", "stream-json"]
BANNER = f"""\
starting session | provider: anthropic model: claude-sonnet-4-20250514
    session id: {SESSION}
    working directory: /tmp/worktree

"""
# goose's newer banner: the session id follows the drawing.
DRAWN_BANNER = f"""
    __( O)>  ● new session · anthropic claude-sonnet-4-20250514
   \\____)    {SESSION} · /tmp/worktree

"""
TOOL_REQUEST = {
    "type": "message",
    "message": {
        "id": "msg_01",
        "role": "assistant",
        "created": 1762600000,
        "content": [
            {"type": "text", "text": "I'll add the parser first."},
            {
                "type": "toolRequest",
                "id": "toolu_01",
                "toolCall": {
                    "status": "success",
                    "value": {
                        "name": "developer__text_editor",
                        "arguments": {"command": "write", "path": "src/parser.py"},
                    },
                },
            },
        ],
        "metadata": {"userVisible": True, "agentVisible": True},
    },
}
NOTIFICATION = {"type": "notification", "extension_id": "developer", "log": {"message": "wrote"}}
TOOL_RESPONSE = {
    "type": "message",
    "message": {
        "id": None,
        "role": "user",
        "created": 1762600003,
        "content": [
            {
                "type": "toolResponse",
                "id": "toolu_01",
                "toolResult": {"status": "success", "value": [{"type": "text", "text": "ok"}]},
            }
        ],
        "metadata": {"userVisible": True, "agentVisible": True},
    },
}


def chunk(text: str) -> dict[str, object]:
    """One streamed piece of the final reply: pieces of one reply share its id."""
    content = [{"type": "text", "text": text}]
    return {
        "type": "message",
        "message": {"id": "msg_02", "role": "assistant", "created": 1762600009, "content": content},
    }


COMPLETE = {"type": "complete", "total_tokens": 18250}
EVENTS = (
    TOOL_REQUEST,
    NOTIFICATION,
    TOOL_RESPONSE,
    {"type": "model_change", "model": "claude-sonnet-4", "mode": "auto"},
    chunk("Added `parse()` and its test; "),
    chunk("`pytest -q` passes."),
    {"type": "future_event", "data": 1},
    COMPLETE,
)
ERROR = {"type": "error", "error": "Authentication failed. Status: 401 Unauthorized"}


def output(banner: str = BANNER, *events: dict[str, object]) -> str:
    return banner + standin.jsonl(*events)


def run(tmp_path: Path, step: standin.Step, **context: Any) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "goose", [step])
    fake.put_first_on_path()
    return standin.run_agent(GooseAgent(), standin.context(tmp_path, **context)), fake


def only_call(fake: standin.StandIn) -> dict[str, object]:
    calls = fake.calls()
    assert len(calls) == 1
    return calls[0]


def test_first_attempt_runs_the_instructions_file_in_auto_mode(tmp_path: Path) -> None:
    report, fake = run(tmp_path, standin.Step(output(BANNER, *EVENTS)))
    call = only_call(fake)
    ctx = standin.context(tmp_path)
    assert call["argv"] == ["run", "--instructions", str(ctx.prompt_file), *OUTPUT]
    assert call["stdin"] == ""
    assert Path(str(call["cwd"])).resolve() == ctx.worktree.resolve()
    env = call["env"]
    assert isinstance(env, dict)
    assert env["GOOSE_MODE"] == "auto"
    assert env["GOOSE_DISABLE_SESSION_NAMING"] == "true"
    assert report.succeeded


def test_full_auto_is_the_same_auto_mode(tmp_path: Path) -> None:
    _, fake = run(
        tmp_path, standin.Step(output(BANNER, *EVENTS)), settings=AgentSettings(full_auto=True)
    )
    call = only_call(fake)
    assert call["argv"] == ["run", "--instructions", str(tmp_path / "prompt-1.md"), *OUTPUT]
    env = call["env"]
    assert isinstance(env, dict)
    assert env["GOOSE_MODE"] == "auto"


def test_model_then_extra_arguments_come_last(tmp_path: Path) -> None:
    settings = AgentSettings(model="claude-sonnet-4", extra_args=("--with-builtin", "developer"))
    _, fake = run(tmp_path, standin.Step(output(BANNER, *EVENTS)), settings=settings)
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[3:] == [*OUTPUT, "--model", "claude-sonnet-4", "--with-builtin", "developer"]


def test_retry_resumes_the_session_with_the_feedback_prompt(tmp_path: Path) -> None:
    report, fake = run(
        tmp_path, standin.Step(output(BANNER, *EVENTS)), attempt=2, resume_session=SESSION
    )
    call = only_call(fake)
    retry = tmp_path / "prompt-2-retry.md"
    assert call["argv"] == [
        "run",
        "--resume",
        "--session-id",
        SESSION,
        "--instructions",
        str(retry),
        *OUTPUT,
    ]
    assert retry.read_text() == "Your last attempt was rejected:\ntests failed"
    assert report.session_id == SESSION


def test_retry_without_a_session_starts_afresh_with_the_full_prompt(tmp_path: Path) -> None:
    _, fake = run(tmp_path, standin.Step(output(BANNER, *EVENTS)), attempt=2)
    assert only_call(fake)["argv"] == [
        "run",
        "--instructions",
        str(tmp_path / "prompt-2.md"),
        *OUTPUT,
    ]


@pytest.mark.parametrize("banner", [BANNER, DRAWN_BANNER])
def test_success_reads_the_banner_session_and_the_streamed_reply(
    tmp_path: Path, banner: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = output(banner, *EVENTS).replace("\n{", '\n{"type": "message", "mess\n{', 1)
    report, _ = run(tmp_path, standin.Step(text))
    assert "goose: line 5 of its output is not JSON; skipped" in caplog.text
    assert report.succeeded
    assert report.error is None
    assert report.session_id == SESSION
    assert report.final_message == "Added `parse()` and its test; `pytest -q` passes."
    # complete.total_tokens is the last call's context size, not what the run used: not recorded.
    assert report.usage == Usage()


def test_an_error_event_fails_even_with_exit_zero(tmp_path: Path) -> None:
    events = (TOOL_REQUEST, ERROR, {"type": "complete", "total_tokens": None})
    report, _ = run(tmp_path, standin.Step(output(BANNER, *events), exit=0))
    assert not report.succeeded
    assert report.error == "Authentication failed. Status: 401 Unauthorized"
    assert report.session_id == SESSION
    assert report.final_message == "I'll add the parser first."


def test_a_non_zero_exit_is_a_failure_goose_never_exits_one_after_recovering(
    tmp_path: Path,
) -> None:
    # goose exits non-zero only when it could not run; after any conversation it exits 0.
    report, _ = run(tmp_path, standin.Step(output(BANNER, *EVENTS), exit=1))
    assert not report.succeeded
    assert report.error is None
    assert report.final_message == "Added `parse()` and its test; `pytest -q` passes."


def test_quiet_output_has_no_session_to_resume(tmp_path: Path) -> None:
    report, _ = run(tmp_path, standin.Step(output("", *EVENTS)))
    assert report.succeeded
    assert report.session_id is None


def test_only_allowlisted_variables_and_its_credentials_reach_it(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "goose", [standin.Step(output(BANNER, *EVENTS))])
    fake.put_first_on_path()
    os.environ.update(
        DATABASE_PASSWORD="hunter2", GOOSE_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-ant-goose"
    )
    agent = GooseAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = only_call(fake)["env"]
    assert isinstance(env, dict)
    assert "DATABASE_PASSWORD" not in env
    assert env["GOOSE_PROVIDER"] == "anthropic"
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-goose"
    assert env["ISSUEWAVE_ISSUE"] == "7"
