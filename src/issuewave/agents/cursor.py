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

State: `~/.cursor` (`cli-config.json`, chats) and `~/.config/cursor`, where `cursor-agent login`
keeps its login (`auth.json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from issuewave.agents.base import AgentReport, Usage
from issuewave.agents.output import get_int
from issuewave.agents.spec import AgentSpec, CliAgent, Part, Resume
from issuewave.agents.streams import read_stream_json

SPEC = AgentSpec(
    name="cursor",
    program="cursor-agent",
    credentials=("CURSOR_API_KEY",),
    credential_files=("~/.config/cursor/auth.json",),
    state_dirs=("~/.cursor", "~/.config/cursor"),
    headless=("-p", "--output-format", "stream-json"),
    # Print mode has no edit-only setting: without --force nothing is applied at all.
    safe=("--force", "--trust"),
    full_auto=("--force", "--trust", "--sandbox", "disabled"),
    resume=Resume(("--resume",)),
    order=(Part.HEADLESS, Part.PERMISSIONS, Part.RESUME, Part.MODEL, Part.EXTRA),
)


class CursorAgent(CliAgent):
    spec = SPEC

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        return read_stream_json(stdout, self.name, exit_code, cursor_usage)


def cursor_usage(usage: Mapping[str, Any], cost: float | None) -> Usage:
    # Counted as for Claude: cache writes are fresh input, cache reads stay apart as cached.
    return Usage(
        get_int(usage, "inputTokens") + get_int(usage, "cacheWriteTokens"),
        get_int(usage, "outputTokens"),
        get_int(usage, "cacheReadTokens"),
        cost,
    )
