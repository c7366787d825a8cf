"""The copilot adapter against a stand-in `copilot` that prints Copilot CLI's JSONL events."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import standin
from issuewave.agents.base import AgentReport, AgentSettings, Usage, allowed_environment
from issuewave.agents.copilot import CopilotAgent

SESSION = "aa778ea0-6eab-4ce9-b87e-11d6d33dab4f"
PROGRAMMATIC = ["--output-format", "json", "--no-ask-user"]
GUARDS = [
    "--deny-tool=shell(git push),shell(git push:*)",
    "--secret-env-vars=COPILOT_GITHUB_TOKEN,GH_TOKEN,GITHUB_TOKEN",
]


def event(kind: str, data: dict[str, object], ephemeral: bool = False) -> dict[str, object]:
    envelope: dict[str, object] = {
        "type": kind,
        "data": data,
        "id": f"evt-{kind}",
        "timestamp": "2026-03-30T22:19:20.234Z",
        "parentId": "evt-parent",
    }
    return {**envelope, "ephemeral": True} if ephemeral else envelope


SERVERS = event(
    "session.mcp_servers_loaded",
    {"servers": [{"name": "github-mcp-server", "status": "connected", "source": "builtin"}]},
    ephemeral=True,
)
USER = event("user.message", {"content": "# Issue #7", "attachments": [], "interactionId": "i1"})
TOOL_CALL = event(
    "assistant.message",
    {
        "messageId": "m1",
        "content": "",
        "toolRequests": [{"toolCallId": "t1", "name": "edit", "arguments": {"path": "a.py"}}],
        "interactionId": "i1",
        "outputTokens": 102,
    },
)
DELTA = event("assistant.message_delta", {"messageId": "m2", "deltaContent": "Added"}, True)
TOOL_DONE = event(
    "tool.execution_complete",
    {"toolCallId": "t1", "success": True, "result": {"content": "ok"}},
)
TEXT = event(
    "assistant.message",
    {
        "messageId": "m2",
        "content": "\n\nAdded `parse()` in src/parser.py with a test; `pytest -q` passes.",
        "toolRequests": [],
        "interactionId": "i1",
        "outputTokens": 48,
    },
)
RESULT = {
    "type": "result",
    "timestamp": "2026-03-30T22:19:28.097Z",
    "sessionId": SESSION,
    "exitCode": 0,
    "usage": {
        "premiumRequests": 6,
        "totalApiDurationMs": 6866,
        "sessionDurationMs": 12927,
        "codeChanges": {"linesAdded": 12, "linesRemoved": 0, "filesModified": ["src/parser.py"]},
    },
}
EVENTS = (SERVERS, USER, TOOL_CALL, TOOL_DONE, DELTA, TEXT, RESULT)
ERROR = event(
    "session.error",
    {"errorType": "authentication", "message": "Not authorized: invalid token", "statusCode": 401},
)
RATE_LIMIT = event("session.error", {"errorType": "rate_limit", "message": "Rate limited"})


def run(tmp_path: Path, step: standin.Step, **context: Any) -> tuple[AgentReport, standin.StandIn]:
    fake = standin.install(tmp_path, "copilot", [step])
    fake.put_first_on_path()
    return standin.run_agent(CopilotAgent(), standin.context(tmp_path, **context)), fake


def only_call(fake: standin.StandIn) -> dict[str, object]:
    calls = fake.calls()
    assert len(calls) == 1
    return calls[0]


def test_first_attempt_passes_the_prompt_and_allows_tools(tmp_path: Path) -> None:
    report, fake = run(tmp_path, standin.Step(standin.jsonl(*EVENTS)))
    call = only_call(fake)
    ctx = standin.context(tmp_path)
    assert call["argv"] == ["-p", ctx.prompt, *PROGRAMMATIC, "--allow-all-tools", *GUARDS]
    assert call["stdin"] == ""
    assert Path(str(call["cwd"])).resolve() == ctx.worktree.resolve()
    env = call["env"]
    assert isinstance(env, dict)
    assert env["COPILOT_AUTO_UPDATE"] == "false"
    assert report.succeeded


def test_full_auto_allows_all_paths_and_urls_too(tmp_path: Path) -> None:
    _, fake = run(
        tmp_path, standin.Step(standin.jsonl(*EVENTS)), settings=AgentSettings(full_auto=True)
    )
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[2:] == [*PROGRAMMATIC, "--allow-all", *GUARDS]


def test_model_then_extra_arguments_come_last(tmp_path: Path) -> None:
    settings = AgentSettings(model="gpt-5.4", extra_args=("--autopilot",))
    _, fake = run(tmp_path, standin.Step(standin.jsonl(*EVENTS)), settings=settings)
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[2:] == [
        *PROGRAMMATIC,
        "--allow-all-tools",
        *GUARDS,
        "--model",
        "gpt-5.4",
        "--autopilot",
    ]


def test_retry_resumes_the_session_with_the_feedback_prompt(tmp_path: Path) -> None:
    report, fake = run(
        tmp_path, standin.Step(standin.jsonl(*EVENTS)), attempt=2, resume_session=SESSION
    )
    assert only_call(fake)["argv"] == [
        "-p",
        "Your last attempt was rejected:\ntests failed",
        f"--resume={SESSION}",
        *PROGRAMMATIC,
        "--allow-all-tools",
        *GUARDS,
    ]
    assert report.session_id == SESSION


def test_retry_without_a_session_starts_afresh_with_the_full_prompt(tmp_path: Path) -> None:
    prompt = "# Issue #7: Add a parser\n\n## Your previous attempt was not accepted\n"
    _, fake = run(tmp_path, standin.Step(standin.jsonl(*EVENTS)), attempt=2, prompt=prompt)
    argv = only_call(fake)["argv"]
    assert isinstance(argv, list)
    assert argv[:3] == ["-p", prompt, *PROGRAMMATIC[:1]]


def test_success_reads_session_message_and_output_tokens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = standin.jsonl(*EVENTS).replace("\n", '\n{"type": "assistant.mess\n', 1)
    report, _ = run(tmp_path, standin.Step(text))
    assert "copilot: line 2 of its output is not JSON; skipped" in caplog.text
    assert report.succeeded
    assert report.error is None
    assert report.session_id == SESSION
    assert report.final_message == (
        "Added `parse()` in src/parser.py with a test; `pytest -q` passes."
    )
    # Copilot prints output tokens per message; no input tokens and no cost.
    assert report.usage == Usage(0, 150, 0, None)


def test_the_task_summary_stands_in_for_a_missing_final_text(tmp_path: Path) -> None:
    summary = event("session.task_complete", {"summary": "Parser added.", "success": True})
    report, _ = run(tmp_path, standin.Step(standin.jsonl(TOOL_CALL, summary, RESULT)))
    assert report.final_message == "Parser added."


def test_a_session_error_fails_even_with_exit_zero(tmp_path: Path) -> None:
    result = {**RESULT, "exitCode": 0}
    report, _ = run(tmp_path, standin.Step(standin.jsonl(SERVERS, USER, ERROR, result), exit=0))
    assert not report.succeeded
    assert report.error == "authentication: Not authorized: invalid token"
    assert report.session_id == SESSION


def test_an_error_the_session_recovered_from_is_not_a_failure(tmp_path: Path) -> None:
    events = (USER, RATE_LIMIT, TOOL_CALL, TEXT, RESULT)
    report, _ = run(tmp_path, standin.Step(standin.jsonl(*events)))
    assert report.succeeded
    assert report.error is None


def test_a_result_exit_code_fails_the_run(tmp_path: Path) -> None:
    result = {**RESULT, "exitCode": 1}
    report, _ = run(tmp_path, standin.Step(standin.jsonl(USER, TEXT, result), exit=0))
    assert not report.succeeded
    assert report.error == "copilot reported exit code 1"


def test_a_non_zero_exit_is_a_failure_copilot_never_exits_one_after_recovering(
    tmp_path: Path,
) -> None:
    # The result event mirrors the process exit; no exit 1 after a recovery is documented.
    report, _ = run(tmp_path, standin.Step(standin.jsonl(*EVENTS), exit=1))
    assert not report.succeeded
    assert report.session_id == SESSION


def test_its_token_reaches_it_and_nothing_outside_the_allowlist_does(tmp_path: Path) -> None:
    fake = standin.install(tmp_path, "copilot", [standin.Step(standin.jsonl(*EVENTS))])
    fake.put_first_on_path()
    os.environ.update(DATABASE_PASSWORD="hunter2", COPILOT_GITHUB_TOKEN="github_pat_for_copilot")
    agent = CopilotAgent()
    standin.run_agent(agent, standin.context(tmp_path), allowed_environment(agent.credentials))
    env = only_call(fake)["env"]
    assert isinstance(env, dict)
    assert "DATABASE_PASSWORD" not in env
    assert env["COPILOT_GITHUB_TOKEN"] == "github_pat_for_copilot"
    assert env["ISSUEWAVE_ISSUE"] == "7"
