"""`claude`: Claude Code in print mode, read through its stream-json output.

Invocation from Claude Code's docs, "Run Claude Code programmatically" (headless mode) and "CLI
reference": `-p` reads the prompt from stdin when no prompt argument is given; `--output-format
stream-json` needs `--verbose`; `--session-id <uuid>` names a new session, `--resume <id>` continues
one; `--permission-mode acceptEdits` accepts file edits and `--allowedTools Bash` (a bare tool name
matches every use of it, per "Configure permissions") lets it run commands; `--dangerously-skip-
permissions` bypasses every check. Credentials from "Environment variables", "Claude Code on Amazon
Bedrock" and "Claude Code on Google Vertex AI".

Output from the headless page and the Agent SDK reference (SDKMessage types): one JSON object per
line, a `system` event of subtype `init` carrying `session_id`, `assistant`/`user` messages, and a
final `result` event with `subtype` (success, error_max_turns, error_during_execution, ...),
`is_error`, `result`, `session_id`, `total_cost_usd` and `usage` (`input_tokens`, `output_tokens`,
`cache_creation_input_tokens`, `cache_read_input_tokens`). Amp and Cursor print the same stream
shape, so the reading helpers here serve their adapters too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from issuewave.agents.base import (
    AgentReport,
    AttemptContext,
    Invocation,
    Usage,
    issue_variables,
    model_args,
    prompt_input,
)
from issuewave.agents.output import get_dict, get_float, get_int, get_str, json_lines

# Turns one usage object of a CLI's own shape (and a cost, where known) into a Usage.
UsageReader = Callable[[Mapping[str, Any], float | None], Usage]


@dataclass(frozen=True)
class ClaudeAgent:
    name: str = "claude"
    credentials: tuple[str, ...] = (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        # Amazon Bedrock: the switch, the region and the AWS credential chain's variables.
        "CLAUDE_CODE_USE_BEDROCK",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        # Google Vertex AI: the switch, the region and the project.
        "CLAUDE_CODE_USE_VERTEX",
        "CLOUD_ML_REGION",
        "ANTHROPIC_VERTEX_PROJECT_ID",
    )

    PRINT: ClassVar[tuple[str, ...]] = ("-p", "--output-format", "stream-json", "--verbose")
    # Edits are accepted; the bare tool name allows every Bash command (run in the worktree).
    EDIT_AND_RUN: ClassVar[tuple[str, ...]] = (
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        "Bash",
    )
    FULL_AUTO: ClassVar[tuple[str, ...]] = ("--dangerously-skip-permissions",)

    def program(self) -> str:
        return "claude"

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (
            self.program(),
            *self.PRINT,
            *self._session(ctx),
            *(self.FULL_AUTO if ctx.settings.full_auto else self.EDIT_AND_RUN),
            *model_args(ctx.settings, "--model"),
            *ctx.settings.extra_args,
        )
        return Invocation(argv, issue_variables(ctx), prompt_input(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        stream = read_stream_json(stdout, self.name)
        cost = get_float(stream.result, "total_cost_usd")
        return stream.report(self.name, exit_code, stream.usage(anthropic_usage, cost))

    def _session(self, ctx: AttemptContext) -> tuple[str, ...]:
        if ctx.resume_session:
            return ("--resume", ctx.resume_session)
        # Named up front, so the run knows the session even if the CLI dies before saying it.
        return ("--session-id", str(uuid.uuid5(uuid.NAMESPACE_URL, "issuewave:" + ctx.tag)))


def anthropic_usage(usage: Mapping[str, Any], cost: float | None) -> Usage:
    """Anthropic's counters: `input_tokens` excludes both cache counters.

    Cache writes are input the model read afresh (billed above the base input rate), so they count
    as input; cache reads are re-used context billed at a tenth of it, so they stay apart as cached
    and out of the token budget, which would otherwise be dominated by them.
    """
    return Usage(
        get_int(usage, "input_tokens") + get_int(usage, "cache_creation_input_tokens"),
        get_int(usage, "output_tokens"),
        get_int(usage, "cache_read_input_tokens"),
        cost,
    )


@dataclass
class StreamJson:
    """What a Claude-style stream said: its session, its final result event and its last text."""

    session_id: str | None = None
    result: dict[str, Any] | None = None
    last_text: str = ""
    # Per API message: Claude Code repeats a message's usage on each of its content blocks.
    message_usage: dict[str, dict[str, Any]] = field(default_factory=dict)

    def take(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            self.session_id = get_str(event, "session_id") or self.session_id
        elif kind == "assistant":
            self._take_message(get_dict(event, "message"))
        elif kind == "result":
            self.result = dict(event)
            self.session_id = get_str(event, "session_id") or self.session_id
        # Any other event type (user, tool_call, thinking, stream events...) says nothing we keep.

    def _take_message(self, message: Mapping[str, Any]) -> None:
        blocks = message.get("content")
        texts = [get_str(b, "text") or "" for b in blocks or () if isinstance(b, dict)]
        self.last_text = "".join(texts).strip() or self.last_text
        if get_dict(message, "usage"):
            key = get_str(message, "id") or f"#{len(self.message_usage)}"
            self.message_usage[key] = get_dict(message, "usage")

    def usage(self, convert: UsageReader, cost: float | None) -> Usage:
        """The result's totals; the messages' sum where the result carries none."""
        totals = get_dict(self.result, "usage")
        if totals:
            return convert(totals, cost)
        parts = [convert(u, None) for u in self.message_usage.values()]
        return sum(parts, Usage(cost_usd=cost))

    def report(self, agent: str, exit_code: int | None, usage: Usage) -> AgentReport:
        """Success is the result event's own word: the exit code can say either thing."""
        result = self.result
        if result is None:
            missing = _no_result(agent, exit_code)
            return AgentReport(False, self.last_text, self.session_id, usage, missing)
        message = get_str(result, "result") or self.last_text
        if _failed(result):
            return AgentReport(False, message, self.session_id, usage, _error(result, agent))
        return AgentReport(True, message, self.session_id, usage)


def read_stream_json(stdout: str, agent: str) -> StreamJson:
    stream = StreamJson()
    for event in json_lines(stdout, agent):
        stream.take(event)
    return stream


def _failed(result: Mapping[str, Any]) -> bool:
    # An error subtype, or `is_error` on a "success" (an API error ends that way).
    return result.get("is_error") is True or get_str(result, "subtype") not in (None, "success")


def _error(result: Mapping[str, Any], agent: str) -> str:
    errors = [e for e in result.get("errors") or () if isinstance(e, str) and e]
    text = get_str(result, "error", "result") or "; ".join(errors)
    subtype = get_str(result, "subtype")
    what = subtype if subtype and subtype != "success" else "an error"
    return f"{agent} reported {what}: {text}" if text else f"{agent} reported {what}"


def _no_result(agent: str, exit_code: int | None) -> str:
    ended = "was stopped" if exit_code is None else f"exited {exit_code}"
    return f"{agent} {ended} without a result event; its stderr log may say why"
