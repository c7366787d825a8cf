"""The codex adapter against a stand-in `codex` that prints events in `codex exec --json` format.

Event shapes follow openai/codex docs/exec.md and codex-rs/exec/src/exec_events.rs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, AttemptContext, allowed_environment
from issuewave.agents.codex import CodexAgent
from standin import Step, jsonl

THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53"


def completed(item_id: str, item_type: str, **fields: object) -> dict[str, object]:
    return {"type": "item.completed", "item": {"id": item_id, "type": item_type, **fields}}


SUCCESS = (
    jsonl(
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        completed("item_0", "reasoning", text="**Plan**"),
        {
            "type": "item.started",
            "item": {
                "id": "item_1",
                "type": "command_execution",
                "command": "bash -lc 'pytest -q'",
                "aggregated_output": "",
                "exit_code": None,
                "status": "in_progress",
            },
        },
        {
            "type": "item.completed",
            "item": {
                "id": "item_1",
                "type": "command_execution",
                "command": "bash -lc 'pytest -q'",
                "aggregated_output": "3 passed\n",
                "exit_code": 0,
                "status": "completed",
            },
        },
        {"type": "item.plan.delta", "item_id": "item_2", "delta": "a type this adapter ignores"},
    )
    + '{"type": "item.completed", "item": {"id": "item_3", "type": "agent_mess\n'
    + jsonl(
        {
            "type": "item.completed",
            "item": {
                "id": "item_4",
                "type": "file_change",
                "changes": [{"path": "src/parser.py", "kind": "add"}],
                "status": "completed",
            },
        },
        completed("item_5", "agent_message", text="Draft"),
        completed("item_6", "agent_message", text="Added the parser."),
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 24763, "cached_input_tokens": 24448, "output_tokens": 122},
        },
    )
)


def run(
    tmp_path: Path, steps: list[Step], ctx: AttemptContext | None = None
) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "codex", steps)
    fake.put_first_on_path()
    report = standin.run_agent(CodexAgent(), ctx or standin.context(tmp_path))
    return report, fake


def test_first_attempt_reads_the_prompt_from_stdin_in_the_worktree(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    [call] = fake.calls()
    worktree = str(ctx.worktree)
    assert call["argv"] == [
        "exec", "--json", "--cd", worktree, "--sandbox", "workspace-write", "-"
    ]  # fmt: skip
    assert call["stdin"] == ctx.prompt
    assert call["cwd"] == worktree


def test_full_auto_model_and_extra_arguments(tmp_path: Path) -> None:
    settings = AgentSettings(
        model="gpt-5-codex", extra_args=("-c", "model_reasoning_effort=high"), full_auto=True
    )
    ctx = standin.context(tmp_path, settings=settings)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    assert fake.calls()[0]["argv"] == [
        "exec", "--json", "--cd", str(ctx.worktree),
        "--dangerously-bypass-approvals-and-sandbox",
        "--model", "gpt-5-codex",
        "-c", "model_reasoning_effort=high",
        "-",
    ]  # fmt: skip


def test_retry_resumes_the_session_with_the_feedback(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path, attempt=2, resume_session=THREAD)
    report, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    call = fake.calls()[0]
    assert call["argv"] == [
        "exec", "--json", "--cd", str(ctx.worktree), "--sandbox", "workspace-write",
        "resume", THREAD, "-",
    ]  # fmt: skip
    assert call["stdin"] == ctx.retry_prompt
    assert report.succeeded


def test_retry_without_a_session_starts_afresh_with_the_full_prompt(tmp_path: Path) -> None:
    ctx = standin.context(tmp_path, attempt=2)
    _, fake = run(tmp_path, [Step(SUCCESS)], ctx)
    call = fake.calls()[0]
    assert "resume" not in call["argv"]  # type: ignore[operator]
    assert call["stdin"] == ctx.prompt


def test_success_is_read_from_the_events(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="issuewave.agents"):
        report, _ = run(tmp_path, [Step(SUCCESS)])
    assert report.succeeded
    assert report.error is None
    assert report.session_id == THREAD
    assert report.final_message == "Added the parser."
    # OpenAI counts the cached part inside input_tokens; issuewave keeps it apart.
    assert report.usage.input_tokens == 24763 - 24448
    assert report.usage.cached_tokens == 24448
    assert report.usage.output_tokens == 122
    assert report.usage.cost_usd is None
    assert "codex: line 7 of its output is not JSON" in caplog.text


def test_a_failed_turn_fails_even_with_exit_0(tmp_path: Path) -> None:
    stdout = jsonl(
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {"type": "turn.failed", "error": {"message": "stream disconnected before completion"}},
    )
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == "stream disconnected before completion"
    assert report.session_id == THREAD


def test_a_top_level_error_fails_even_with_exit_0(tmp_path: Path) -> None:
    stdout = jsonl(
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "error", "message": "unexpected status 401 Unauthorized"},
    )
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == "unexpected status 401 Unauthorized"


def test_a_turn_completed_after_an_error_succeeds_despite_exit_1(tmp_path: Path) -> None:
    stdout = jsonl(
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {"type": "error", "message": "Reconnecting... 1/5"},
        completed("item_0", "agent_message", text="Done"),
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5},
        },
    )
    report, _ = run(tmp_path, [Step(stdout, exit=1)])
    assert report.succeeded
    assert report.error is None
    assert report.final_message == "Done"


def test_no_completed_turn_is_a_failure(tmp_path: Path) -> None:
    stdout = jsonl({"type": "thread.started", "thread_id": THREAD}, {"type": "turn.started"})
    report, _ = run(tmp_path, [Step(stdout, exit=0)])
    assert not report.succeeded
    assert report.error == "codex exited 0 without a turn.completed event"


def test_only_allowlisted_variables_and_its_credentials_reach_codex(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "codex", [Step(SUCCESS)])
    fake.put_first_on_path()
    os.environ["GITHUB_TOKEN"] = "ghp_not_for_agents"
    os.environ["CODEX_API_KEY"] = "sk-codex-test"
    agent = CodexAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = fake.calls()[0]["env"]
    assert isinstance(env, dict)
    assert "GITHUB_TOKEN" not in env
    assert env["CODEX_API_KEY"] == "sk-codex-test"
