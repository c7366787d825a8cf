"""`opencode`: the opencode CLI (sst, now anomalyco/opencode), run as `opencode run --format json`.

Flags from the opencode docs, `packages/web/src/content/docs/cli.mdx` ("run") and
`permissions.mdx`; the event format from `packages/opencode/src/cli/cmd/run.ts` and the part
types in `session/message-v2.ts`. Stdout is JSON Lines, each event {type, timestamp, sessionID}:

- `step_start` {part}: a model call begins;
- `text` {part: {text}}: a finished block of assistant text;
- `tool_use` {part: {tool, callID, state: {status, input, output | error}}};
- `step_finish` {part: {reason, cost, tokens: {input, output, reasoning, cache: {read, write}}}}:
  one model call's usage and its cost in USD; reason `tool-calls` means the loop goes on;
- `error` {error: {name, data: {message}}}: a session error (opencode then exits 1, even when a
  later step recovered).

`run` reads the message from stdin when stdin is not a terminal (run.ts), so the prompt goes
through stdin and a long one never meets argv limits. A retry continues the previous attempt's
session with `--session <id>`.

Permissions come from `permission` in opencode.json (or OPENCODE_PERMISSION). By default nearly
everything is "allow" (edits and bash included); `external_directory` and `doom_loop` are "ask",
and `opencode run` rejects every "ask" on its own unless `--auto` approves it. Rules set to "deny"
stay denied either way.

Credentials: a `/connect` login in ~/.local/share/opencode/auth.json, or the provider's variable
as listed on models.dev (below, the main providers; others can be added with `pass_env`). State:
`~/.local/share/opencode` (sessions, logs, the login) and `~/.cache/opencode` (provider packages).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from issuewave.agents.base import AgentReport, AttemptContext, Usage
from issuewave.agents.output import get_dict, get_float, get_int, get_str
from issuewave.agents.spec import AgentSpec, CliAgent, Resume
from issuewave.agents.streams import Outcome

PROVIDER_KEYS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GOOGLE_GENERATIVE_AI_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENCODE_API_KEY",
)
# Where opencode keeps its login and config, the permission rules included: without them a
# user's own restrictions would silently not apply to the agent.
SETTINGS = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "OPENCODE_CONFIG", "OPENCODE_PERMISSION")
# A step that ends this way hands over to the next step: the run has not finished.
UNFINISHED = frozenset({"tool-calls", "error"})

SPEC = AgentSpec(
    name="opencode",
    program="opencode",
    credentials=PROVIDER_KEYS + SETTINGS,
    credential_files=("~/.local/share/opencode/auth.json",),
    state_dirs=("~/.local/share/opencode", "~/.cache/opencode"),
    subcommand=("run",),
    headless=("--format", "json"),
    full_auto=("--auto",),  # approves what the permission rules leave as "ask"
    resume=Resume(("--session",)),
)


class OpencodeAgent(CliAgent):
    spec = SPEC

    def environment(self, ctx: AttemptContext) -> dict[str, str]:
        # opencode takes its project folder from PWD before the real working directory.
        return {**super().environment(ctx), "PWD": str(ctx.worktree)}

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        session = _Session().read(stdout, self.name)
        return session.report(self.name, exit_code, "before a final step_finish event")


@dataclass
class _Session(Outcome):
    """What the events of one `opencode run` said, read in order."""

    def take(self, event: Mapping[str, Any]) -> None:
        self.session_id = self.session_id or get_str(event, "sessionID")
        kind, part = event.get("type"), get_dict(event, "part")
        if kind == "text":
            self.final_message = get_str(part, "text") or self.final_message
        elif kind == "step_finish":
            self._step_finished(part)
        elif kind == "error":
            self.completed, self.error = False, _error_text(get_dict(event, "error"))

    def _step_finished(self, part: Mapping[str, Any]) -> None:
        # Every step is a model call billed on its own: the run's usage is their sum.
        self.usage = self.usage + _usage(part)
        if part.get("reason") not in UNFINISHED:
            # A final step after an error event: the session recovered (a retried request).
            self.completed, self.error = True, None


def _usage(part: Mapping[str, Any]) -> Usage:
    tokens = get_dict(part, "tokens")
    cache = get_dict(tokens, "cache")
    # opencode's `input` leaves out cache reads and writes. Writes are input read afresh; reads
    # stay apart as cached (as in the other adapters). Reasoning is billed as output.
    return Usage(
        input_tokens=get_int(tokens, "input") + get_int(cache, "write"),
        output_tokens=get_int(tokens, "output") + get_int(tokens, "reasoning"),
        cached_tokens=get_int(cache, "read"),
        cost_usd=get_float(part, "cost"),
    )


def _error_text(error: Mapping[str, Any]) -> str:
    return get_str(get_dict(error, "data"), "message") or get_str(error, "name") or "error"
