"""`amp`: Sourcegraph Amp in execute mode, read through its stream JSON output.

Invocation from Amp's Owner's Manual (CLI, and the appendix "Stream JSON Output") and Amp's
"Streaming JSON" announcement: `amp --execute` (`-x`) sends one message, waits for the agent to end
its turn and exits, taking the message from stdin when none is given; `--stream-json` prints Claude
Code compatible stream JSON; `amp threads continue <thread-id> --execute` continues a thread in a
new invocation; `--dangerously-allow-all` skips every permission check; `--mode` picks the agent
mode (smart, rush, ...), which is how Amp chooses its model: it has no model flag. `AMP_API_KEY`
authenticates runs without a login.

Output: a `system`/`init` event whose `session_id` is the thread id (`T-...`), `assistant` messages
with Anthropic-style `usage`, and a final `result` event: subtype `success` with `result`, or
`is_error` true (subtype error_during_execution, error_max_turns) with an `error` text. Amp reports
no cost; the Amp SDK's types let the result carry `usage`, else the messages' usage is summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from issuewave.agents.base import (
    AgentReport,
    AttemptContext,
    Invocation,
    issue_variables,
    model_args,
    prompt_input,
)
from issuewave.agents.claude import anthropic_usage, read_stream_json


@dataclass(frozen=True)
class AmpAgent:
    name: str = "amp"
    credentials: tuple[str, ...] = ("AMP_API_KEY",)

    EXECUTE: ClassVar[tuple[str, ...]] = ("--execute", "--stream-json")
    CONTINUE: ClassVar[tuple[str, ...]] = ("threads", "continue")
    FULL_AUTO: ClassVar[tuple[str, ...]] = ("--dangerously-allow-all",)

    def program(self) -> str:
        return "amp"

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (
            self.program(),
            *self._thread(ctx),
            *self.EXECUTE,
            *(self.FULL_AUTO if ctx.settings.full_auto else ()),
            *ctx.settings.extra_args,
        )
        return Invocation(argv, issue_variables(ctx), prompt_input(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        stream = read_stream_json(stdout, self.name)
        return stream.report(self.name, exit_code, stream.usage(anthropic_usage, None))

    def _thread(self, ctx: AttemptContext) -> tuple[str, ...]:
        if ctx.resume_session:
            # A thread keeps the mode it was started in, so no --mode here.
            return (*self.CONTINUE, ctx.resume_session)
        # Amp has no model flag: its agent mode picks the model, so `model` names the mode.
        return model_args(ctx.settings, "--mode")
