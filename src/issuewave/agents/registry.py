"""The agents issuewave can drive, by name. A literal dict: adding an agent is one line."""

from __future__ import annotations

from collections.abc import Callable

from issuewave.agents.aider import AiderAgent
from issuewave.agents.amp import AmpAgent
from issuewave.agents.base import Agent
from issuewave.agents.claude import ClaudeAgent
from issuewave.agents.codex import CodexAgent
from issuewave.agents.command import CommandAgent
from issuewave.agents.copilot import CopilotAgent
from issuewave.agents.cursor import CursorAgent
from issuewave.agents.demo import DemoAgent
from issuewave.agents.gemini import GeminiAgent
from issuewave.agents.goose import GooseAgent
from issuewave.agents.opencode import OpencodeAgent
from issuewave.config import Config
from issuewave.errors import InputError

AGENTS: dict[str, Callable[[Config], Agent]] = {
    "claude": lambda config: ClaudeAgent(),
    "codex": lambda config: CodexAgent(),
    "amp": lambda config: AmpAgent(),
    "gemini": lambda config: GeminiAgent(),
    "opencode": lambda config: OpencodeAgent(),
    "cursor": lambda config: CursorAgent(),
    "aider": lambda config: AiderAgent(),
    "goose": lambda config: GooseAgent(),
    "copilot": lambda config: CopilotAgent(),
    "command": lambda config: CommandAgent.from_command_line(_require_cmd(config)),
    "demo": lambda config: DemoAgent(),
}


def make_agent(config: Config) -> Agent:
    factory = AGENTS.get(config.agent)
    if factory is None:
        known = ", ".join(sorted(AGENTS))
        raise InputError(f"unknown agent {config.agent!r}", hint=f"choose one of: {known}")
    return factory(config)


def _require_cmd(config: Config) -> str:
    if not config.agent_cmd or not config.agent_cmd.strip():
        raise InputError(
            "the command agent needs agent_cmd: the program to run for each issue",
            hint="set agent_cmd in .issuewave.toml or pass --agent-cmd 'my-agent {prompt_file}'",
        )
    return config.agent_cmd
