"""`claude`: Claude Code in print mode, read through its stream-json output.

Invocation from Claude Code's docs, "Run Claude Code programmatically" (headless mode) and "CLI
reference": `-p` reads the prompt from stdin when no prompt argument is given; `--output-format
stream-json` needs `--verbose`; `--session-id <uuid>` names a new session, `--resume <id>` continues
one; `--permission-mode acceptEdits` accepts file edits and `--allowedTools Bash` (a bare tool name
matches every use of it, per "Configure permissions") lets it run commands; `--dangerously-skip-
permissions` bypasses every check. Credentials from "Environment variables", "Claude Code on Amazon
Bedrock" and "Claude Code on Google Vertex AI".

Output from the headless page and the Agent SDK reference (SDKMessage types): one JSON object per
line, a `system` event of subtype `init` carrying `session_id`, `assistant`/`user` messages, and a
final `result` event with `subtype` (success, error_max_turns, error_during_execution, ...),
`is_error`, `result`, `session_id`, `total_cost_usd` and `usage` (`input_tokens`, `output_tokens`,
`cache_creation_input_tokens`, `cache_read_input_tokens`). Amp and Cursor print the same stream
shape: its reader is `streams.StreamJson`.

State: `~/.claude` and `~/.claude.json` (settings, sessions, per-project state); on Linux a
`/login` is kept in `~/.claude/.credentials.json` ("Identity and Access Management").
"""

from __future__ import annotations

from issuewave.agents.base import AgentReport
from issuewave.agents.spec import AgentSpec, CliAgent, Part, Resume
from issuewave.agents.streams import anthropic_usage, read_stream_json

SPEC = AgentSpec(
    name="claude",
    program="claude",
    credentials=(
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        # Amazon Bedrock: the switch, the region and the AWS credential chain's variables.
        "CLAUDE_CODE_USE_BEDROCK",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        # Google Vertex AI: the switch, the region and the project.
        "CLAUDE_CODE_USE_VERTEX",
        "CLOUD_ML_REGION",
        "ANTHROPIC_VERTEX_PROJECT_ID",
    ),
    credential_files=("~/.claude/.credentials.json",),
    state_dirs=("~/.claude", "~/.claude.json"),
    headless=("-p", "--output-format", "stream-json", "--verbose"),
    # Edits are accepted; the bare tool name allows every Bash command (run in the worktree).
    safe=("--permission-mode", "acceptEdits", "--allowedTools", "Bash"),
    full_auto=("--dangerously-skip-permissions",),
    # As root, `--dangerously-skip-permissions` exits 1 unless the CLI is told it is sandboxed.
    sandbox_env={"IS_SANDBOX": "1"},
    resume=Resume(("--resume",), names_new="--session-id"),
    order=(Part.HEADLESS, Part.RESUME, Part.PERMISSIONS, Part.MODEL, Part.EXTRA),
)


class ClaudeAgent(CliAgent):
    spec = SPEC

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        return read_stream_json(stdout, self.name, exit_code, anthropic_usage, "total_cost_usd")
