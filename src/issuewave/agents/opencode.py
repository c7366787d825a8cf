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
as listed on models.dev (below, the main providers; others can be added with `pass_env`).
"""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True)
class OpencodeAgent:
    name: str = "opencode"
    credentials: tuple[str, ...] = PROVIDER_KEYS + SETTINGS

    PROGRAM: ClassVar[str] = "opencode"
    HEADLESS: ClassVar[tuple[str, ...]] = ("run", "--format", "json")
    APPROVE_ASKS: ClassVar[tuple[str, ...]] = ("--auto",)
    RESUME: ClassVar[str] = "--session"
    # A step that ends this way hands over to the next step: the run has not finished.
    UNFINISHED: ClassVar[frozenset[str]] = frozenset({"tool-calls", "error"})

    def program(self) -> str:
        return self.PROGRAM

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (
            self.PROGRAM,
            *self.HEADLESS,
            *(self.APPROVE_ASKS if ctx.settings.full_auto else ()),
            *model_args(ctx.settings, "--model"),
            *ctx.settings.extra_args,
            *self._resume(ctx),
        )
        # opencode takes its project folder from PWD before the real working directory.
        env = {**issue_variables(ctx), "PWD": str(ctx.worktree)}
        return Invocation(argv, env, prompt_input(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        session = _Session(self.UNFINISHED)
        for event in json_lines(stdout, self.name):
            session.read(event)
        return session.report(exit_code)

    def _resume(self, ctx: AttemptContext) -> tuple[str, ...]:
        return (self.RESUME, ctx.resume_session) if ctx.resume_session else ()


@dataclass
class _Session:
    """What the events of one `opencode run` said, read in order."""

    unfinished: frozenset[str]
    session_id: str | None = None
    final_message: str = ""
    usage: Usage = field(default_factory=Usage)
    finished: bool = False
    error: str | None = None

    def read(self, event: Mapping[str, Any]) -> None:
        self.session_id = self.session_id or get_str(event, "sessionID")
        kind, part = event.get("type"), get_dict(event, "part")
        if kind == "text":
            self.final_message = get_str(part, "text") or self.final_message
        elif kind == "step_finish":
            self._step_finished(part)
        elif kind == "error":
            self.finished, self.error = False, _error_text(get_dict(event, "error"))

    def report(self, exit_code: int | None) -> AgentReport:
        error = self.error
        if not self.finished and error is None:
            error = f"opencode {_ended(exit_code)} before a final step_finish event"
        succeeded = self.finished and self.error is None
        return AgentReport(succeeded, self.final_message, self.session_id, self.usage, error)

    def _step_finished(self, part: Mapping[str, Any]) -> None:
        # Every step is a model call billed on its own: the run's usage is their sum.
        self.usage = self.usage + _usage(part)
        if part.get("reason") not in self.unfinished:
            # A final step after an error event: the session recovered (a retried request).
            self.finished, self.error = True, None


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


def _ended(exit_code: int | None) -> str:
    return "was stopped" if exit_code is None else f"exited {exit_code}"
