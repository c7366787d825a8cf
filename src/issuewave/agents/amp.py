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

State: settings in `~/.config/amp`, an `amp login` key in `~/.local/share/amp/secrets.json`.
"""

from __future__ import annotations

from issuewave.agents.base import AgentReport
from issuewave.agents.spec import AgentSpec, CliAgent, Part, Resume
from issuewave.agents.streams import anthropic_usage, read_stream_json

SPEC = AgentSpec(
    name="amp",
    program="amp",
    credentials=("AMP_API_KEY",),
    credential_files=("~/.local/share/amp/secrets.json",),
    state_dirs=("~/.config/amp", "~/.local/share/amp"),
    headless=("--execute", "--stream-json"),
    full_auto=("--dangerously-allow-all",),
    # Amp has no model flag: its agent mode picks the model, so `model` names the mode. A thread
    # keeps the mode it was started in, so no --mode on a continued one.
    model_flag="--mode",
    resume=Resume(("threads", "continue"), keeps_model=True),
    order=(Part.RESUME, Part.MODEL, Part.HEADLESS, Part.PERMISSIONS, Part.EXTRA),
)


class AmpAgent(CliAgent):
    spec = SPEC

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        return read_stream_json(stdout, self.name, exit_code, anthropic_usage)
