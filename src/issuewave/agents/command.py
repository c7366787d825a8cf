"""`command`: any program, given as an argv template. Never run through a shell."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from issuewave.agents.base import (
    AgentReport,
    AttemptContext,
    Invocation,
    issue_variables,
    last_line_report,
)

PLACEHOLDERS = ("issue", "prompt_file", "worktree", "branch", "attempt")


@dataclass(frozen=True)
class CommandAgent:
    """`agent_cmd` split with shlex; each placeholder filled inside its own argv element."""

    template: tuple[str, ...]
    name: str = "command"
    credentials: tuple[str, ...] = ()
    credential_files: tuple[str, ...] = ()
    state_dirs: tuple[str, ...] = ()
    scratch_patterns: tuple[str, ...] = ()
    usage_accumulates: bool = False

    @classmethod
    def from_command_line(cls, agent_cmd: str) -> CommandAgent:
        return cls(tuple(shlex.split(agent_cmd)))

    def program(self) -> str:
        return self.template[0]

    def invocation(self, ctx: AttemptContext) -> Invocation:
        values = {
            "issue": str(ctx.issue.number),
            "prompt_file": str(ctx.prompt_file),
            "worktree": str(ctx.worktree),
            "branch": ctx.branch,
            "attempt": str(ctx.attempt),
        }
        return Invocation(tuple(_fill(arg, values) for arg in self.template), issue_variables(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        return last_line_report(stdout, exit_code)


def _fill(arg: str, values: dict[str, str]) -> str:
    # str.replace, not str.format: an argument may hold braces of its own (JSON, shell-free awk).
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg
