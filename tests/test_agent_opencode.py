"""The opencode adapter against a stand-in `opencode` printing `run --format json` events.

Event shapes follow anomalyco/opencode packages/opencode/src/cli/cmd/run.ts and the part types of
session/message-v2.ts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, AttemptContext, allowed_environment
from issuewave.agents.opencode import OpencodeAgent
from standin import Step, jsonl

SESSION = "ses_44f9562d4ffeQ1zJ8nT2x3kLmV"
MESSAGE = "msg_bb06a2e0a001"


def event(kind: str, part: dict[str, object] | None = None, **fields: object) -> dict[str, object]:
    body = {"part": {"sessionID": SESSION, "messageID": MESSAGE, **part}} if part else {}
    return {"type": kind, "timestamp": 1768191337567, "sessionID": SESSION, **body, **fields}


def step_finish(reason: str, cost: float, **tokens: int) -> dict[str, object]:
    usage = {"input": 0, "output": 0, "reasoning": 0, **tokens}
    cache = {"read": usage.pop("cache_read", 0), "write": usage.pop("cache_write", 0)}
    part = {"id": "prt_3", "type": "step-finish", "reason": reason, "cost": cost}
    return event("step_finish", {**part, "tokens": {**usage, "cache": cache}})


def text(words: str) -> dict[str, object]:
    times = {"start": 1768191337000, "end": 1768191337500}
    return event("text", {"id": "prt_2", "type": "text", "text": words, "time": times})


STEP_START = event("step_start", {"id": "prt_1", "type": "step-start", "snapshot": "4b825dc6"})
SUCCESS = (
    jsonl(
        STEP_START,
        text("Let me add the parser."),
        event(
            "tool_use",
            {
                "id": "prt_4",
                "type": "tool",
                "callID": "toolu_01",
                "tool": "write",
                "state": {
                    "status": "completed",
                    "input": {"filePath": "src/parser.py", "content": "def parse(): ...\n"},
                    "output": "",
                    "title": "src/parser.py",
                    "metadata": {},
                    "time": {"start": 1768191338000, "end": 1768191338100},
                },
            },
        ),
        step_finish("tool-calls", 0.0125, input=1200, output=80, reasoning=40, cache_read=9000),
        STEP_START,
    )
    + "Performing one time database migration, may take a few minutes...\n"
    + jsonl(
        text("Added the parser and its tests."),
        step_finish("stop", 0.0031, input=300, output=25, cache_read=10200, cache_write=150),
        event("done", reason="idle", rejected=[]),
    )
)


def run(
    tmp_path: Path, steps: list[Step], ctx: AttemptContext | None = None
) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "opencode", steps)
    fake.put_first_on_path()
    report = standin.run_agent(OpencodeAgent(), ctx or standin.context(tmp_path))
    return report, fake


def test_first_attempt_reads_the_prompt_from_stdin_in_the_worktree(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    [call] = fake.calls()
    assert call["argv"] == ["run", "--format", "json"]
    assert call["stdin"] == ctx.prompt
    assert call["cwd"] == str(ctx.worktree)
    env = call["env"]
    assert isinstance(env, dict)
    assert env["PWD"] == str(ctx.worktree)


def test_full_auto_model_and_extra_arguments(tmp_path: Path) -> None:
    settings = AgentSettings(
        model="anthropic/claude-sonnet-4-5", extra_args=("--agent", "build"), full_auto=True
    )
    _, fake = run(tmp_path, [Step(SUCCESS)], standin.context(tmp_path, settings=settings))
    assert fake.calls()[0]["argv"] == [
        "run", "--format", "json",
        "--auto",
        "--model", "anthropic/claude-sonnet-4-5",
        "--agent", "build",
    ]  # fmt: skip


def test_retry_resumes_the_session_with_the_feedback(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path, attempt=2, resume_session=SESSION)
    report, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    call = fake.calls()[0]
    assert call["argv"] == ["run", "--format", "json", "--session", SESSION]
    assert call["stdin"] == ctx.retry_prompt
    assert report.succeeded


def test_retry_without_a_session_starts_afresh_with_the_full_prompt(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path, attempt=2)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    call = fake.calls()[0]
    assert "--session" not in call["argv"]  # type: ignore[operator]
    assert call["stdin"] == ctx.prompt


def test_success_is_read_from_the_events(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="issuewave.agents"):
        report, _ = run(tmp_path, [Step(SUCCESS)])
    assert report.succeeded
    assert report.error is None
    assert report.session_id == SESSION
    assert report.final_message == "Added the parser and its tests."
    # Summed over both steps; cache writes count as input, cache reads stay apart as cached.
    assert report.usage.input_tokens == 1200 + (300 + 150)
    assert report.usage.cached_tokens == 9000 + 10200
    assert report.usage.output_tokens == (80 + 40) + 25
    assert report.usage.cost_usd == pytest.approx(0.0156)
    assert "opencode: line 6 of its output is not JSON" in caplog.text


def test_an_error_fails_even_with_exit_0(tmp_path: Path) -> None:
    error = {
        "name": "ProviderAuthError",
        "data": {"providerID": "anthropic", "message": "Invalid API key"},
    }
    stdout = jsonl(STEP_START, event("error", error=error))
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == "Invalid API key"
    assert report.session_id == SESSION


def test_a_final_step_after_an_error_succeeds_despite_exit_1(tmp_path: Path) -> None:
    error = {"name": "APIError", "data": {"message": "Overloaded", "isRetryable": True}}
    stdout = jsonl(
        STEP_START,
        event("error", error=error),
        STEP_START,
        text("Done."),
        step_finish("stop", 0.001, input=10, output=5),
    )
    report, _ = run(tmp_path, [Step(stdout, exit=1)])
    assert report.succeeded
    assert report.error is None
    assert report.final_message == "Done."


def test_no_final_step_is_a_failure(tmp_path: Path) -> None:
    stdout = jsonl(STEP_START, text("Running the tests"), step_finish("tool-calls", 0.002))
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == "opencode exited 0 before a final step_finish event"
    assert report.usage.cost_usd == pytest.approx(0.002)


def test_only_allowlisted_variables_and_its_credentials_reach_opencode(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "opencode", [Step(SUCCESS)])
    fake.put_first_on_path()
    os.environ["GITHUB_TOKEN"] = "ghp_not_for_agents"
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test"
    agent = OpencodeAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = fake.calls()[0]["env"]
    assert isinstance(env, dict)
    assert "GITHUB_TOKEN" not in env
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-test"
