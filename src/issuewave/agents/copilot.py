"""`copilot`: GitHub Copilot CLI in programmatic mode, read through its JSONL output.

Invocation from GitHub's docs, "GitHub Copilot CLI programmatic reference" and "GitHub Copilot CLI
command reference" (docs.github.com/en/copilot/reference/copilot-cli-reference): `-p PROMPT` runs
one prompt and exits; `--output-format json` prints JSONL (`-s`, which leaves out the usage
statistics, is not used: the session id is in the closing result event); `--no-ask-user` disables
the tool that stops to ask questions; `--allow-all-tools` is "required when using the CLI
programmatically"; `--allow-all` adds every path and URL; `--deny-tool` rules win over every allow
rule; `--model`; `--resume=SESSION-ID` continues a session (with `-p`, only with the `=` form and an
explicit id); `--secret-env-vars` redacts variables from the agent's shell and MCP environments and
its output; COPILOT_AUTO_UPDATE=false stops the CLI updating itself mid-run.

The JSONL events are not specified by the docs. Their names are those of Copilot's session events
(the same vocabulary as `~/.copilot/session-state/*/events.jsonl` and the Copilot SDK's generated
types), each `{"type", "data", "id", "timestamp", "parentId"}`: `assistant.message` with
`data.content` and `data.outputTokens`, `session.task_complete` with `data.summary`, `session.error`
with `data.errorType` and `data.message`, and a last `{"type": "result", "sessionId", "exitCode",
"usage": {"premiumRequests", "totalApiDurationMs", "sessionDurationMs", "codeChanges"}}`, as
observed on CLI 1.0.13 (sortie-ai/sortie, docs/copilot-adapter-notes.md) and reported in
github/copilot-cli#4107. Hence:
- the final message is the last non-empty `assistant.message` (or the task summary);
- output tokens are the sum of `outputTokens`; input tokens and cost are not printed (the result's
  `premiumRequests` are billing units, not dollars): they stay 0 and unknown;
- a `session.error` with no assistant message after it is a failure even with exit 0; an error the
  CLI recovered from (a message follows it) is not. Copilot's result mirrors its exit code, and no
  exit non-zero after a recovery is documented: a non-zero exit is always a failure.

Permission: by default `--allow-all-tools`: every tool without asking, with Copilot's path check
still limiting files to the working directory (the worktree); URLs are not pre-approved.
`full_auto` is `--allow-all`: tools, every path and every URL. In both, `git push` is denied:
issuewave publishes branches itself.

Credentials: COPILOT_GITHUB_TOKEN, GH_TOKEN, GITHUB_TOKEN, which the docs name, in that order, as
where the CLI reads its token. A GitHub token reaches this agent only because it *is* this agent's
credential; it is passed to the agent alone (not to the test command), and `--secret-env-vars` keeps
it out of the commands the agent runs and out of its output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from issuewave.agents.base import AgentReport, Usage
from issuewave.agents.output import get_dict, get_int, get_str, json_lines
from issuewave.agents.spec import AgentSpec, CliAgent, Part, Prompt, Resume

TOKEN_VARIABLES = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
GUARDS = (
    # `shell(git push)` is the bare command; `:*` adds it followed by arguments.
    "--deny-tool=shell(git push),shell(git push:*)",
    "--secret-env-vars=" + ",".join(TOKEN_VARIABLES),
)

SPEC = AgentSpec(
    name="copilot",
    program="copilot",
    credentials=TOKEN_VARIABLES,
    # `/login` keeps its token in config.json where no system keychain is available.
    credential_files=("~/.copilot/config.json",),
    state_dirs=("~/.copilot",),
    # The prompt is an argument: the docs give no other way in for a programmatic run.
    prompt=Prompt.ARGV,
    prompt_flag="-p",
    resume=Resume(("--resume=",), joined=True, needs_retry_prompt=True),
    headless=("--output-format", "json", "--no-ask-user"),
    safe=("--allow-all-tools", *GUARDS),
    full_auto=("--allow-all", *GUARDS),
    env={"COPILOT_AUTO_UPDATE": "false"},
    order=(Part.PROMPT, Part.RESUME, Part.HEADLESS, Part.PERMISSIONS, Part.MODEL, Part.EXTRA),
)


class CopilotAgent(CliAgent):
    spec = SPEC

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        stream = CopilotStream()
        for event in json_lines(stdout, self.name):
            stream.take(event)
        error = stream.failure(exit_code)
        return AgentReport(
            exit_code == 0 and error is None,
            stream.final_message(),
            stream.session_id,
            Usage(output_tokens=stream.output_tokens),
            error,
        )


@dataclass
class CopilotStream:
    """What the JSONL said: messages, the last unrecovered error, and the result event."""

    session_id: str | None = None
    output_tokens: int = 0
    messages: list[str] = field(default_factory=list)
    summary: str = ""
    error: str | None = None
    result_exit: int | None = None

    def take(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        data = get_dict(event, "data")
        if kind == "assistant.message":
            self._take_message(data)
        elif kind == "session.task_complete":
            self.summary = get_str(data, "summary") or self.summary
        elif kind == "session.error":
            self.error = error_text(data)
        elif kind == "session.start":
            self.session_id = get_str(data, "sessionId") or self.session_id
        elif kind == "result":
            self.session_id = get_str(event, "sessionId") or self.session_id
            code = event.get("exitCode")
            self.result_exit = code if isinstance(code, int) else None
        # Deltas, tool events, session.info/warning and unknown types say nothing kept here.

    def _take_message(self, data: Mapping[str, Any]) -> None:
        self.output_tokens += get_int(data, "outputTokens")
        self.error = None  # the session went on after any earlier error: it recovered
        content = get_str(data, "content")
        if content and content.strip():
            self.messages.append(content.strip())

    def failure(self, exit_code: int | None) -> str | None:
        if self.error:
            return self.error
        if exit_code == 0 and self.result_exit:
            return f"copilot reported exit code {self.result_exit}"
        return None

    def final_message(self) -> str:
        return self.messages[-1] if self.messages else self.summary.strip()


def error_text(data: Mapping[str, Any]) -> str:
    message = get_str(data, "message") or "copilot reported an error"
    kind = get_str(data, "errorType")
    return f"{kind}: {message}" if kind else message
