"""`demo`: the deterministic stand-in for an AI agent used by `issuewave demo`.

It applies changes prepared for each demo issue (see `demo_agent.py`); it is not an AI.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from issuewave.agents.base import (
    AgentReport,
    AttemptContext,
    Invocation,
    issue_variables,
    last_line_report,
)


@dataclass(frozen=True)
class DemoAgent:
    name: str = "demo"
    credentials: tuple[str, ...] = ()
    credential_files: tuple[str, ...] = ()
    state_dirs: tuple[str, ...] = ()
    scratch_patterns: tuple[str, ...] = ()
    usage_accumulates: bool = False

    def program(self) -> str:
        return sys.executable

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (sys.executable, "-m", "issuewave.agents.demo_agent")
        return Invocation(argv, issue_variables(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        return last_line_report(stdout, exit_code)
