"""`cursor`: the Cursor CLI (`cursor-agent`) in print mode, read through its stream-json output.

Invocation from Cursor's docs, "Using Headless CLI", "Parameters" and "Authentication": `-p`
(`--print`) runs without a terminal and takes the prompt from stdin when it is piped; in print mode
the agent applies file changes and runs commands only with `--force` ("without --force, changes are
only proposed, not applied"), which allows every command not explicitly denied in the user's
`.cursor/cli.json`; `--trust` trusts the workspace without prompting (each worktree is a directory
Cursor has not seen, and an untrusted one makes it refuse); `--sandbox disabled` lifts the
sandbox; `--resume <chatId>` continues a chat; `--model` picks the model; `CURSOR_API_KEY`
authenticates scripts. The program is `cursor-agent`, the name the CLI shipped under and its
installer still creates; the docs now also say `agent`, a name too generic to trust on PATH.

Output from "Output format": NDJSON with a `system`/`init` event carrying `session_id` (the chat
id), `assistant` messages, `tool_call` events, and a terminal `result` event (`subtype` "success",
`is_error`, `result`, `session_id`, `duration_ms`). On failure the CLI exits non-zero, may end the
stream without a result event and writes the error to stderr. The docs list no usage; recent
versions add `usage` with `inputTokens`, `outputTokens`, `cacheReadTokens`, `cacheWriteTokens` to
the result, read when present. Cursor reports no cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from issuewave.agents.claude import read_stream_json
from issuewave.agents.output import get_int


@dataclass(frozen=True)
class CursorAgent:
    name: str = "cursor"
    credentials: tuple[str, ...] = ("CURSOR_API_KEY",)

    PRINT: ClassVar[tuple[str, ...]] = ("-p", "--output-format", "stream-json")
    # Print mode has no edit-only setting: without --force nothing is applied at all.
    EDIT_AND_RUN: ClassVar[tuple[str, ...]] = ("--force", "--trust")
    FULL_AUTO: ClassVar[tuple[str, ...]] = ("--force", "--trust", "--sandbox", "disabled")

    def program(self) -> str:
        return "cursor-agent"

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (
            self.program(),
            *self.PRINT,
            *(self.FULL_AUTO if ctx.settings.full_auto else self.EDIT_AND_RUN),
            *(("--resume", ctx.resume_session) if ctx.resume_session else ()),
            *model_args(ctx.settings, "--model"),
            *ctx.settings.extra_args,
        )
        return Invocation(argv, issue_variables(ctx), prompt_input(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        stream = read_stream_json(stdout, self.name)
        return stream.report(self.name, exit_code, stream.usage(cursor_usage, None))


def cursor_usage(usage: Mapping[str, Any], cost: float | None) -> Usage:
    # Counted as for Claude: cache writes are fresh input, cache reads stay apart as cached.
    return Usage(
        get_int(usage, "inputTokens") + get_int(usage, "cacheWriteTokens"),
        get_int(usage, "outputTokens"),
        get_int(usage, "cacheReadTokens"),
        cost,
    )
