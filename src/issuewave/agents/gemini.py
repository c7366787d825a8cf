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

Folder trust: a real run of Gemini CLI 0.61 in a fresh workspace printed that the folder is not
trusted and exited 55; `GEMINI_CLI_TRUST_WORKSPACE=true` trusts it for that run.

Credentials (docs/get-started/authentication.md): `GEMINI_API_KEY`; for Vertex AI
`GOOGLE_GENAI_USE_VERTEXAI` with `GOOGLE_API_KEY` or `GOOGLE_APPLICATION_CREDENTIALS`, and
`GOOGLE_CLOUD_PROJECT` / `GOOGLE_CLOUD_LOCATION`; a cached Google login lives in `~/.gemini`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from issuewave.agents.base import AgentReport, Usage
from issuewave.agents.output import get_dict, get_int, get_str
from issuewave.agents.spec import AgentSpec, CliAgent, Resume
from issuewave.agents.streams import Outcome

SPEC = AgentSpec(
    name="gemini",
    program="gemini",
    credentials=(
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_PROJECT_ID",
        "GOOGLE_CLOUD_LOCATION",
    ),
    credential_files=("~/.gemini/oauth_creds.json",),
    state_dirs=("~/.gemini",),
    headless=("--output-format", "stream-json"),
    # Headless, a tool that needs approval is denied. auto_edit approves file edits only (shell
    # commands stay denied); yolo approves every tool. `--yolo` itself is deprecated.
    safe=("--approval-mode", "auto_edit"),
    full_auto=("--approval-mode", "yolo"),
    resume=Resume(("--resume",)),
    # Gemini CLI 0.61 refuses, exit 55, to work in a folder it has not been told to trust, and
    # every workspace is a new folder. The CLI names this variable (and `--skip-trust`, which
    # older releases would reject as unknown).
    env={"GEMINI_CLI_TRUST_WORKSPACE": "true"},
)


class GeminiAgent(CliAgent):
    spec = SPEC

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        run = _Run().read(stdout, self.name)
        return run.report(self.name, exit_code, "without a result event")


@dataclass
class _Run(Outcome):
    """What the events of one headless run said, read in order."""

    # The assistant's text since its last tool call: the closing answer, not the whole monologue.
    reply: list[str] = field(default_factory=list)
    last_error_event: str | None = None

    def take(self, event: Mapping[str, Any]) -> None:
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

    def report(self, agent: str, exit_code: int | None, missing: str) -> AgentReport:
        self.final_message = "".join(self.reply).strip()
        if not self.completed:
            # A run without a result says why in its last error event, where it printed one.
            self.error = self.error or self.last_error_event
        return super().report(agent, exit_code, missing)

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
