"""Each CLI's recorded outputs (tests/transcripts/<cli>/) read through its adapter, for real.

A stand-in of the CLI prints the transcript and exits with the recorded code; the report must be
exactly the one given here. Success is each CLI's own word, not only its exit code: the rows with
an exit code that disagrees with the output are the point of the table.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import standin
from issuewave.agents.base import AgentReport, Usage
from issuewave.agents.registry import AGENTS
from issuewave.config import Config

CLAUDE = "5b9a6f64-3c4e-4a8e-9d61-0f2b8f7e1a11"
AMP = "T-2775dc92-90ed-4f85-8b73-8f9766029e83"
CURSOR = "fdc86797-fa4a-4660-8737-8ab3dbb42f70"
CODEX = "0199a213-81c0-7800-8aa1-bbab2a035a53"
GEMINI = "b2b90938-611f-4bd0-adf6-829e14549653"
OPENCODE = "ses_44f9562d4ffeQ1zJ8nT2x3kLmV"
COPILOT = "aa778ea0-6eab-4ce9-b87e-11d6d33dab4f"
GOOSE = "20251108_3"

CLAUDE_DONE = "Added `parse()` in src/parser.py; `pytest -q` passes (12 tests)."
CLAUDE_TEXT = "The parser is in place and the tests pass."
# Cache writes count as input; cache reads are reported apart as cached.
CLAUDE_USAGE = Usage(1200 + 3000, 850, 45000, 0.0837)
# The error results carry no usage: the one message's (repeated per block) and the result's cost.
CLAUDE_TEXT_USAGE = Usage(10 + 500, 40, 12000, 0.5)
AMP_DONE = "Added `parse()` in src/parser.py; `pytest -q` passes."
AMP_TEXT = "Added the parser; the tests pass."
CURSOR_DONE = "I'll add the parser.Added the parser; the tests pass."
# Cache writes count as input, cache reads as cached; Cursor reports no cost.
CURSOR_USAGE = Usage(14125 + 1024, 611, 28224, None)
# Gemini's input_tokens is the whole prompt (its cached part kept apart); thinking tokens are
# only in the total, so output is the total beyond the input.
GEMINI_USAGE = Usage(24939 - 21263, 25113 - 24939, 21263)
AIDER_DONE = "I'll add `parse()`, which skips blank lines,\nand a test for the empty input."
# 2.3k + 3.4k sent, 150 + 210 received, 12k + 13k cache hits; the last session figure.
AIDER_USAGE = Usage(5700, 360, 25000, 0.02)
AIDER_AUTH = (
    'litellm.AuthenticationError: AnthropicException - {"type":"error","error":{"type":'
    '"authentication_error","message":"invalid x-api-key"}} '
    "The API provider is not able to authenticate you. Check your API key."
)
COPILOT_DONE = "Added `parse()` in src/parser.py with a test; `pytest -q` passes."
GOOSE_DONE = "Added `parse()` and its test; `pytest -q` passes."

# (cli, transcript, exit code, the report, the line its reader skips as not JSON, or 0/None)
ROWS: list[tuple[str, str, int, AgentReport, int | None]] = [
    ("claude", "success", 0, AgentReport(True, CLAUDE_DONE, CLAUDE, CLAUDE_USAGE), 2),
    (
        "claude", "error_max_turns", 0,
        AgentReport(False, CLAUDE_TEXT, CLAUDE, CLAUDE_TEXT_USAGE,
                    "claude reported error_max_turns: Reached maximum number of turns (40)"),
        2,
    ),
    (
        "claude", "api_error", 0,
        AgentReport(False, "API Error: 529 Overloaded", CLAUDE, CLAUDE_TEXT_USAGE,
                    "claude reported an error: API Error: 529 Overloaded"),
        2,
    ),
    (
        "claude", "error_during_execution", 0,
        AgentReport(False, CLAUDE_TEXT, CLAUDE, CLAUDE_TEXT_USAGE,
                    "claude reported error_during_execution"),
        2,
    ),
    ("claude", "text_then_success", 1, AgentReport(True, CLAUDE_DONE, CLAUDE, CLAUDE_USAGE), 2),
    (
        "claude", "no_result", 1,
        AgentReport(False, CLAUDE_TEXT, CLAUDE, Usage(1020, 80, 24000),
                    "claude exited 1 without a result event; its stderr log may say why"),
        2,
    ),
    # The result carries no usage: the messages' usage is summed; Amp reports no cost.
    (
        "amp", "success", 0,
        AgentReport(True, AMP_DONE, AMP, Usage(12783 + 367 + 200 + 33, 58 + 42, 12416 + 13150)),
        2,
    ),
    (
        "amp", "usage_on_result", 0,
        AgentReport(True, AMP_DONE, AMP, Usage(900, 120, 30000, None)),
        2,
    ),
    (
        "amp", "error", 0,
        AgentReport(False, AMP_TEXT, AMP, Usage(233, 42, 13150),
                    "amp reported error_during_execution: Insufficient credit balance"),
        2,
    ),
    ("amp", "text_then_success", 1, AgentReport(True, AMP_DONE, AMP, Usage(233, 42, 13150)), 2),
    (
        "amp", "no_result", 0,
        AgentReport(False, "", AMP, Usage(13150, 58, 12416),
                    "amp exited 0 without a result event; its stderr log may say why"),
        2,
    ),
    ("cursor", "success", 0, AgentReport(True, CURSOR_DONE, CURSOR, CURSOR_USAGE), 2),
    ("cursor", "no_usage", 0, AgentReport(True, CURSOR_DONE, CURSOR, Usage()), 2),
    (
        "cursor", "error", 0,
        AgentReport(False, "Model request failed: rate limited", CURSOR, CURSOR_USAGE,
                    "cursor reported an error: Model request failed: rate limited"),
        2,
    ),
    ("cursor", "text_then_success", 1, AgentReport(True, CURSOR_DONE, CURSOR, CURSOR_USAGE), 2),
    # Cursor's documented failure: a non-zero exit, the stream cut short, the reason on stderr.
    (
        "cursor", "no_result", 1,
        AgentReport(False, AMP_TEXT, CURSOR, Usage(),
                    "cursor exited 1 without a result event; its stderr log may say why"),
        2,
    ),
    # OpenAI counts the cached part inside input_tokens; issuewave keeps it apart.
    (
        "codex", "success", 0,
        AgentReport(True, "Added the parser.", CODEX, Usage(24763 - 24448, 122, 24448)),
        7,
    ),
    (
        "codex", "turn_failed", 0,
        AgentReport(False, "", CODEX, Usage(), "stream disconnected before completion"),
        None,
    ),
    (
        "codex", "error", 0,
        AgentReport(False, "", CODEX, Usage(), "unexpected status 401 Unauthorized"),
        None,
    ),
    ("codex", "recovered", 1, AgentReport(True, "Done", CODEX, Usage(10, 5, 0)), None),
    (
        "codex", "no_turn_completed", 0,
        AgentReport(False, "", CODEX, Usage(), "codex exited 0 without a turn.completed event"),
        None,
    ),
    # The reply after the last tool call, its chunks joined.
    ("gemini", "success", 0, AgentReport(True, "Added the parser.", GEMINI, GEMINI_USAGE), 8),
    (
        "gemini", "error_result", 0,
        AgentReport(False, "", GEMINI, GEMINI_USAGE, "Error executing tool: disk full"),
        None,
    ),
    (
        "gemini", "error_event_then_result", 0,
        AgentReport(False, "", GEMINI, GEMINI_USAGE,
                    "Invalid stream: The model returned an empty response or malformed tool call."),
        None,
    ),
    ("gemini", "recovered", 1, AgentReport(True, "Done.", GEMINI, GEMINI_USAGE), None),
    # Fatal errors go to stderr as text; stdout ends without a result event.
    (
        "gemini", "no_result", 0,
        AgentReport(False, "Working on it", GEMINI, Usage(),
                    "gemini exited 0 without a result event"),
        None,
    ),
    # Summed over both steps; cache writes count as input, cache reads stay apart as cached.
    (
        "opencode", "success", 0,
        AgentReport(True, "Added the parser and its tests.", OPENCODE,
                    Usage(1200 + (300 + 150), (80 + 40) + 25, 9000 + 10200, 0.0125 + 0.0031)),
        6,
    ),
    ("opencode", "error", 0, AgentReport(False, "", OPENCODE, Usage(), "Invalid API key"), None),
    (
        "opencode", "recovered", 1,
        AgentReport(True, "Done.", OPENCODE, Usage(10, 5, 0, 0.001)),
        None,
    ),
    (
        "opencode", "no_final_step", 0,
        AgentReport(False, "Running the tests", OPENCODE, Usage(cost_usd=0.002),
                    "opencode exited 0 before a final step_finish event"),
        None,
    ),
    ("aider", "success", 0, AgentReport(True, AIDER_DONE, None, AIDER_USAGE), None),
    # A reply without a price has tokens and no cost; the retried error before it is no failure.
    (
        "aider", "recovered", 0,
        AgentReport(True, "Done: `parse()` is in src/parser.py.", None, Usage(812, 95, 0, None)),
        None,
    ),
    ("aider", "auth_error", 0, AgentReport(False, "", None, Usage(), AIDER_AUTH), None),
    (
        "aider", "gave_up", 0,
        AgentReport(False, AIDER_DONE, None, AIDER_USAGE, "Only 3 reflections allowed, stopping."),
        None,
    ),
    # In --message-file mode aider exits 0 after any chat; 1 means it never started one.
    ("aider", "not_started", 1, AgentReport(False, "", None, Usage()), None),
    ("aider", "success", 1, AgentReport(False, AIDER_DONE, None, AIDER_USAGE), None),
    # Colour codes and unknown lines are skipped.
    ("aider", "noisy", 0, AgentReport(True, AIDER_DONE, None, AIDER_USAGE), None),
    # Copilot prints output tokens per message; no input tokens and no cost.
    ("copilot", "success", 0, AgentReport(True, COPILOT_DONE, COPILOT, Usage(0, 150, 0)), 2),
    # The task summary stands in for a missing final text.
    ("copilot", "task_summary", 0, AgentReport(True, "Parser added.", COPILOT, Usage(0, 102)), 0),
    (
        "copilot", "session_error", 0,
        AgentReport(False, "", COPILOT, Usage(), "authentication: Not authorized: invalid token"),
        None,
    ),
    ("copilot", "recovered", 0, AgentReport(True, COPILOT_DONE, COPILOT, Usage(0, 150)), None),
    (
        "copilot", "result_exit_code", 0,
        AgentReport(False, COPILOT_DONE, COPILOT, Usage(0, 48), "copilot reported exit code 1"),
        None,
    ),
    # The result event mirrors the process exit; no exit 1 after a recovery is documented.
    ("copilot", "success", 1, AgentReport(False, COPILOT_DONE, COPILOT, Usage(0, 150)), 2),
    # complete.total_tokens is the last call's context size, not what the run used: not recorded.
    ("goose", "success", 0, AgentReport(True, GOOSE_DONE, GOOSE), 5),
    ("goose", "success_drawn_banner", 0, AgentReport(True, GOOSE_DONE, GOOSE), 5),
    (
        "goose", "error", 0,
        AgentReport(False, "I'll add the parser first.", GOOSE,
                    error="Authentication failed. Status: 401 Unauthorized"),
        None,
    ),
    # goose exits non-zero only when it could not run; after any conversation it exits 0.
    ("goose", "success", 1, AgentReport(False, GOOSE_DONE, GOOSE), 5),
    # `--quiet` output has no banner: no session to resume.
    ("goose", "quiet", 0, AgentReport(True, GOOSE_DONE, None), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cli", "case", "exit_code", "expected", "skipped"),
    ROWS,
    ids=[f"{cli}-{case}-exit{code}" for cli, case, code, _, _ in ROWS],
)
def test_a_recorded_output_reads_as_its_report(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    cli: str,
    case: str,
    exit_code: int,
    expected: AgentReport,
    skipped: int | None,
) -> None:
    agent = AGENTS[cli](Config())
    step = standin.Step(standin.transcript(cli, case), exit=exit_code, stderr="Error: see log\n")
    with caplog.at_level(logging.WARNING, logger="issuewave.agents"):
        report, _ = standin.run_once(tmp_path, agent, step, standin.context(tmp_path))
    assert report == expected
    if skipped:
        assert f"{cli}: line {skipped} of its output is not JSON; skipped" in caplog.text


def test_every_transcript_is_read_by_a_row() -> None:
    recorded = {(p.parent.name, p.stem) for p in standin.TRANSCRIPTS.glob("*/*.*")}
    assert recorded == {(cli, case) for cli, case, *_ in ROWS}
