"""`demo`: the deterministic stand-in for an AI agent used by `issuewave demo`.

It applies changes prepared for each demo issue (see `demo_agent.py`); it is not an AI.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from issuewave.agents.base import AgentReport, AttemptContext, Invocation, issue_variables


@dataclass(frozen=True)
class DemoAgent:
    name: str = "demo"
    credentials: tuple[str, ...] = ()

    def program(self) -> str:
        return sys.executable

    def invocation(self, ctx: AttemptContext) -> Invocation:
        argv = (sys.executable, "-m", "issuewave.agents.demo_agent")
        return Invocation(argv, issue_variables(ctx))

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport:
        lines = [line for line in stdout.splitlines() if line.strip()]
        return AgentReport(exit_code == 0, lines[-1] if lines else "")
