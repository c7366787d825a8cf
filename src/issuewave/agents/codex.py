"""`codex`: the OpenAI Codex CLI, run headless as `codex exec --json`.

Flags and format from the Codex docs, `docs/exec.md` in openai/codex ("Non-interactive mode"),
with field names checked against `codex-rs/exec/src/exec_events.rs` and `cli.rs`. Stdout is JSON
Lines, one event per line:

- `thread.started` {thread_id}: the session id, which `codex exec resume <id>` continues;
- `turn.started`, `item.started` / `item.updated` / `item.completed` {item: {id, type, ...}},
  where an `agent_message` item carries the reply in `text`;
- `turn.completed` {usage: {input_tokens, cached_input_tokens, output_tokens}};
- `turn.failed` {error: {message}} and `error` {message}.

Codex reports no cost. The prompt goes through stdin (`-`), so a long one never meets argv limits.

Credentials: `CODEX_API_KEY` (documented for `codex exec`) or `OPENAI_API_KEY`; a ChatGPT login is
kept in `$CODEX_HOME/auth.json` (default `~/.codex/auth.json`), found through HOME. `~/.codex`
also holds its config, sessions and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from issuewave.agents.base import AgentReport, AttemptContext, Usage
from issuewave.agents.output import get_dict, get_int, get_str
from issuewave.agents.spec import AgentSpec, CliAgent, Resume
from issuewave.agents.streams import Outcome

SPEC = AgentSpec(
    name="codex",
    program="codex",
    credentials=("CODEX_API_KEY", "OPENAI_API_KEY", "CODEX_HOME"),
    credential_files=("~/.codex/auth.json",),
    state_dirs=("~/.codex",),
    subcommand=("exec",),
    headless=("--json",),
    # `codex exec` never asks for approval; its default sandbox is read-only. workspace-write lets
    # the agent edit and run commands inside the worktree, without network. (`--full-auto` meant
    # the same and is deprecated in newer releases in favour of this flag.)
    safe=("--sandbox", "workspace-write"),
    full_auto=("--dangerously-bypass-approvals-and-sandbox",),
    resume=Resume(("resume",)),
    # Codex 0.17x reports a resumed thread's running total in `turn.completed.usage`: a retry
    # would count attempt 1 again.
    usage_accumulates=True,
    stdin_marker=("-",),
    # The default order: options go before `resume`, as the docs pass them to `exec` and
    # `resume` inherits them.
)


class CodexAgent(CliAgent):
    spec = SPEC

    def context_args(self, ctx: AttemptContext) -> tuple[str, ...]:
        return ("--cd", str(ctx.worktree))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        thread = _Thread().read(stdout, self.name)
        return thread.report(self.name, exit_code, "without a turn.completed event")


@dataclass
class _Thread(Outcome):
    """What the events of one `codex exec` run said, read in order."""

    def take(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            self.session_id = get_str(event, "thread_id") or self.session_id
        elif kind == "item.completed":
            self._item(get_dict(event, "item"))
        elif kind == "turn.completed":
            self._completed(get_dict(event, "usage"))
        elif kind == "turn.failed":
            self._failed(get_str(get_dict(event, "error"), "message") or "turn failed")
        elif kind == "error":
            self._failed(get_str(event, "message") or "error")

    def _item(self, item: Mapping[str, Any]) -> None:
        if item.get("type") == "agent_message":
            self.final_message = get_str(item, "text") or self.final_message

    def _completed(self, usage: Mapping[str, Any]) -> None:
        # A turn that completes after an error event recovered from it (a retried request).
        self.completed, self.error = True, None
        # The last turn's figures: one turn per `codex exec`, and newer releases report the
        # thread's running total here, which summing would count twice.
        self.usage = _usage(usage)

    def _failed(self, message: str) -> None:
        self.completed, self.error = False, message


def _usage(usage: Mapping[str, Any]) -> Usage:
    # OpenAI counts cached input inside input_tokens; issuewave keeps cache reads apart (as the
    # other adapters do), so the token budget counts the input read afresh.
    cached = get_int(usage, "cached_input_tokens")
    return Usage(
        input_tokens=max(get_int(usage, "input_tokens") - cached, 0),
        output_tokens=get_int(usage, "output_tokens"),
        cached_tokens=cached,
    )
