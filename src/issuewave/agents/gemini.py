"""`gemini`: Google's Gemini CLI, run headless with `--output-format stream-json`.

Flags and format from the Gemini CLI docs, `docs/cli/headless.md`, `docs/cli/cli-reference.md`,
`docs/cli/session-management.md` and `docs/cli/non-interactive-automation.md` in
google-gemini/gemini-cli, with field names checked against `packages/core/src/output/types.ts`.
Stdout is JSON Lines, one event per line, each with `type` and `timestamp`:

- `init` {session_id, model}: the session id, which `--resume <id>` continues;
- `message` {role: user|assistant, content, delta}: assistant text arrives in chunks;
- `tool_use` {tool_name, tool_id, parameters}, `tool_result` {tool_id, status, output, error};
- `error` {severity: warning|error, message}: non-fatal warnings and errors;
- `result` {status: success|error, error: {type, message}, stats: {total_tokens, input_tokens,
  output_tokens, cached, input, duration_ms, tool_calls}}: the last event.

Stream JSON rather than `--output-format json`: the session id comes first, and a run that dies
part way still leaves its events. Gemini reports no cost. A fatal error is printed to stderr
without a `result` event, so a run without one is a failure.

Headless mode starts when stdin is not a terminal (`echo "..." | gemini`); the prompt is read from
stdin, so a long one never meets argv limits. Sessions are kept per project folder, and a retry
runs in the same worktree, so `--resume <session_id>` finds the previous attempt's session.

Credentials (docs/get-started/authentication.md): `GEMINI_API_KEY`; for Vertex AI
`GOOGLE_GENAI_USE_VERTEXAI` with `GOOGLE_API_KEY` or `GOOGLE_APPLICATION_CREDENTIALS`, and
`GOOGLE_CLOUD_PROJECT` / `GOOGLE_CLOUD_LOCATION`; a cached Google login lives in `~/.gemini`.
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
from issuewave.agents.output import get_dict, get_int, get_str, json_lines

CREDENTIALS = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_PROJECT_ID",
    "GOOGLE_CLOUD_LOCATION",
)


@dataclass(frozen=True)
class GeminiAgent:
    name: str = "gemini"
    credentials: tuple[str, ...] = CREDENTIALS

    PROGRAM: ClassVar[str] = "gemini"
    HEADLESS: ClassVar[tuple[str, ...]] = ("--output-format", "stream-json")
    # Headless, a tool that needs approval is denied. auto_edit approves file edits only (shell
    # commands stay denied); yolo approves every tool. `--yolo` itself is deprecated.
    APPROVAL_MODE: ClassVar[Mapping[bool, str]] = {False: "auto_edit", True: "yolo"}
    RESUME: ClassVar[str] = "--resume"

    def program(self) -> str:
        return self.PROGRAM

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (
            self.PROGRAM,
            *self.HEADLESS,
            "--approval-mode",
            self.APPROVAL_MODE[ctx.settings.full_auto],
            *model_args(ctx.settings, "--model"),
            *ctx.settings.extra_args,
            *self._resume(ctx),
        )
        return Invocation(argv, issue_variables(ctx), prompt_input(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        run = _Run()
        for event in json_lines(stdout, self.name):
            run.read(event)
        return run.report(exit_code)

    def _resume(self, ctx: AttemptContext) -> tuple[str, ...]:
        return (self.RESUME, ctx.resume_session) if ctx.resume_session else ()


@dataclass
class _Run:
    """What the events of one headless run said, read in order."""

    session_id: str | None = None
    # The assistant's text since its last tool call: the closing answer, not the whole monologue.
    reply: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    completed: bool = False
    error: str | None = None
    last_error_event: str | None = None

    def read(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self.session_id = get_str(event, "session_id") or self.session_id
        elif kind == "message" and event.get("role") == "assistant":
            self.reply.append(get_str(event, "content") or "")
        elif kind == "tool_use":
            self.reply.clear()
        elif kind == "error":
            self.last_error_event = get_str(event, "message") or self.last_error_event
        elif kind == "result":
            self._result(event)

    def report(self, exit_code: int | None) -> AgentReport:
        error = self.error
        if not self.completed and error is None:
            error = self.last_error_event or f"gemini {_ended(exit_code)} without a result event"
        succeeded = self.completed and self.error is None
        final = "".join(self.reply).strip()
        return AgentReport(succeeded, final, self.session_id, self.usage, error)

    def _result(self, event: Mapping[str, Any]) -> None:
        self.usage = _usage(get_dict(event, "stats"))
        if event.get("status") == "success":
            self.completed, self.error = True, None
            return
        message = get_str(get_dict(event, "error"), "message")
        self.completed, self.error = False, message or self.last_error_event or "result: error"


def _usage(stats: Mapping[str, Any]) -> Usage:
    # input_tokens is the whole prompt, its cached part included; issuewave keeps cache reads
    # apart (as the other adapters do). Thinking tokens, billed as output, appear only in the
    # total, so output is what the total holds beyond the prompt.
    prompt, cached = get_int(stats, "input_tokens"), get_int(stats, "cached")
    output = max(get_int(stats, "output_tokens"), get_int(stats, "total_tokens") - prompt)
    return Usage(max(prompt - cached, 0), output, cached)


def _ended(exit_code: int | None) -> str:
    return "was stopped" if exit_code is None else f"exited {exit_code}"
