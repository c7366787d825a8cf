"""`goose`: Block's goose, `goose run` read through its `stream-json` output.

Invocation from goose's docs, "CLI Commands" (`run`): `-i/--instructions <FILE>` is the prompt, `-t
/--text` a prompt given inline, `--output-format stream-json` prints events as they occur, `--model`
overrides GOOSE_MODEL, `-r/--resume` with `--session-id <id>` continues a session (ids look like
`20251108_1`). "Environment Variables": GOOSE_MODE (`auto`, `approve`, `smart_approve`, `chat`),
GOOSE_PROVIDER/GOOSE_MODEL, GOOSE_DISABLE_SESSION_NAMING ("useful for CI/headless runs"); the
provider keys come from "Supported LLM Providers".

The events are not described by the docs; their shape is goose's own (crates/goose-cli/src/session/
mod.rs, `StreamEvent`, serde-tagged by `type`): `{"type": "message", "message": {...}}` for each
message of the conversation (an assistant reply may come in chunks sharing one `id`, each with
`content: [{"type": "text", "text": ...}, {"type": "toolRequest", ...}]`), `notification`,
`model_change`, `{"type": "error", "error": "..."}` when the agent's reply failed (goose stops
there), and a last `{"type": "complete", "total_tokens": N}`. goose exits 0 after an error event,
so the event decides. It exits non-zero only when it could not run (bad arguments, no provider,
a missing instruction file): a non-zero exit is always a failure, goose has no exit after
recovering.

Session id: no event carries it. Unless `--quiet` is given, goose prints its session banner to
stdout before the events (`starting session | provider: ... model: ...` then `session id:
20251108_1`, or in newer versions the id after the goose drawing), and the id is read from there.
Without one, a retry starts afresh with the full prompt, which carries the feedback.

Usage: none recorded. `complete.total_tokens` is the session's `total_tokens`, which goose sets to
the *last* model call's total (the current context size, crates/goose/src/agents/reply_parts.rs),
not to what the run consumed; reporting it as the run's tokens would understate them. goose prints
no cost.

Permission: GOOSE_MODE=auto, the only mode in which goose edits files and runs commands without a
person to approve them (the approve modes would stop to ask on a terminal the run does not have). It
is also goose's approve-everything mode, so `full_auto` changes nothing. goose's tools need the
`developer` extension, which `goose configure` enables; otherwise add `--with-builtin developer` to
the agent arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from issuewave.agents.base import AgentReport
from issuewave.agents.output import get_dict, get_str, json_lines
from issuewave.agents.spec import AgentSpec, CliAgent, Part, Prompt, Resume

SESSION_ID = re.compile(r"\b(\d{8}_\d+)\b")

SPEC = AgentSpec(
    name="goose",
    program="goose",
    credentials=(
        "GOOSE_PROVIDER",
        "GOOSE_MODEL",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GOOGLE_API_KEY",
        "OPENROUTER_API_KEY",
        "GROQ_API_KEY",
        "DATABRICKS_HOST",
        "DATABRICKS_TOKEN",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_DEPLOYMENT_NAME",
    ),
    # Where goose keeps API keys when the system keyring is disabled ("Configuration Overview").
    credential_files=("~/.config/goose/secrets.yaml",),
    # Config and history, session records, logs ("goose Logging System").
    state_dirs=("~/.config/goose", "~/.local/share/goose", "~/.local/state/goose"),
    subcommand=("run",),
    # A file, not `--text`: argv has a size limit, files not. A resumed run gets the feedback's.
    prompt=Prompt.FILE,
    prompt_flag="--instructions",
    resume=Resume(("--resume", "--session-id"), needs_retry_prompt=True),
    headless=("--output-format", "stream-json"),
    env={
        "GOOSE_MODE": "auto",
        # The session's name would cost a model call that no event reports.
        "GOOSE_DISABLE_SESSION_NAMING": "true",
    },
    order=(Part.SUBCOMMAND, Part.RESUME, Part.PROMPT, Part.HEADLESS, Part.MODEL, Part.EXTRA),
)


class GooseAgent(CliAgent):
    spec = SPEC

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        stream = GooseStream.read(stdout, self.name)
        return AgentReport(
            exit_code == 0 and stream.error is None,
            stream.final_message(),
            stream.session_id,
            error=stream.error,
        )


@dataclass
class GooseStream:
    """What goose printed: its banner's session id, its replies and its error event."""

    session_id: str | None = None
    error: str | None = None
    # The assistant's replies as (message id, text so far); chunks of one reply share an id.
    replies: list[tuple[str | None, str]] = field(default_factory=list)

    @classmethod
    def read(cls, stdout: str, agent: str) -> GooseStream:
        stream = cls()
        lines = stdout.splitlines()
        # The banner is plain text: the JSON reader gets the other lines, at their own numbers.
        stream.session_id = banner_session(line for line in lines if not is_json(line))
        for event in json_lines("\n".join(li if is_json(li) else "" for li in lines), agent):
            stream.take(event)
        return stream

    def take(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message":
            self._take_message(get_dict(event, "message"))
        elif kind == "error":
            self.error = get_str(event, "error") or "goose reported an error"
        # notification, model_change, complete and unknown events say nothing kept here.

    def _take_message(self, message: Mapping[str, Any]) -> None:
        if message.get("role") != "assistant":
            return
        text = message_text(message)
        key = get_str(message, "id")
        if self.replies and key is not None and self.replies[-1][0] == key:
            self.replies[-1] = (key, self.replies[-1][1] + text)
        else:
            self.replies.append((key, text))

    def final_message(self) -> str:
        texts = [text.strip() for _, text in self.replies if text.strip()]
        return texts[-1] if texts else ""


def is_json(line: str) -> bool:
    return line.lstrip().startswith("{")


def banner_session(lines: Iterable[str]) -> str | None:
    for line in lines:
        match = SESSION_ID.search(line)
        if match:
            return match.group(1)
    return None


def message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    return "".join(
        get_str(part, "text") or ""
        for part in parts
        if isinstance(part, dict) and part.get("type") == "text"
    )
