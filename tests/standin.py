"""Stand-ins for agent CLIs: an executable of the CLI's own name, first on PATH.

The agents' models cannot be reached from here, so each adapter is tested against a program that
records what it was given (argv, cwd, stdin, environment) and prints output in the real CLI's
documented format. The Nth call prints the Nth scripted output (the last one repeats). What the
real CLIs print is recorded under tests/transcripts/<cli>/.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from issuewave import proc
from issuewave.agents.base import (
    Agent,
    AgentReport,
    AgentSettings,
    AttemptContext,
    allowed_environment,
)
from issuewave.issues import Issue
from issuewave.types import BranchName, CommitSha, IssueNumber

TRANSCRIPTS = Path(__file__).parent / "transcripts"

_SCRIPT = textwrap.dedent(
    """\
    #!{python}
    import json, os, pathlib, sys
    state = pathlib.Path({state!r})
    calls = json.loads(state.read_text()) if state.exists() else []
    stdin = "" if sys.stdin is None or sys.stdin.closed else sys.stdin.read()
    calls.append({{"argv": sys.argv[1:], "cwd": os.getcwd(), "stdin": stdin,
                   "env": dict(os.environ)}})
    state.write_text(json.dumps(calls))
    script = json.loads(pathlib.Path({script!r}).read_text())
    step = script[min(len(calls), len(script)) - 1]
    for name, text in step.get("files", {{}}).items():
        pathlib.Path(name).write_text(text)
    sys.stdout.write(step["stdout"])
    sys.stderr.write(step.get("stderr", ""))
    sys.exit(step.get("exit", 0))
    """
)


@dataclass(frozen=True)
class Step:
    """What the stand-in does on one call."""

    stdout: str
    exit: int = 0
    stderr: str = ""
    files: dict[str, str] | None = None  # written into its cwd, like an agent's edits


@dataclass
class StandIn:
    name: str
    bin_dir: Path
    state: Path

    def calls(self) -> list[dict[str, object]]:
        return json.loads(self.state.read_text()) if self.state.exists() else []

    def put_first_on_path(self) -> None:
        os.environ["PATH"] = f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def install(tmp: Path, name: str, steps: Sequence[Step]) -> StandIn:
    """Write the stand-in `name` into tmp/bin (put it first on PATH with `put_first_on_path`)."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = tmp / f"{name}.script.json"
    script.write_text(
        json.dumps(
            [
                {"stdout": s.stdout, "exit": s.exit, "stderr": s.stderr, "files": s.files or {}}
                for s in steps
            ]
        )
    )
    state = tmp / f"{name}.calls.json"
    executable = bin_dir / name
    executable.write_text(
        _SCRIPT.format(python=sys.executable, state=str(state), script=str(script))
    )
    executable.chmod(0o755)
    return StandIn(name, bin_dir, state)


def jsonl(*events: dict[str, object]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def context(
    tmp: Path,
    *,
    attempt: int = 1,
    resume_session: str | None = None,
    settings: AgentSettings | None = None,
    prompt: str = "# Issue #7: Add a parser\n\nDo the work.\n",
) -> AttemptContext:
    """An attempt's context with a real worktree folder and prompt file."""
    worktree = tmp / "worktree"
    worktree.mkdir(exist_ok=True)
    prompt_file = tmp / f"prompt-{attempt}.md"
    prompt_file.write_text(prompt)
    feedback = tmp / "feedback.txt" if attempt > 1 else None
    if feedback is not None:
        feedback.write_text("tests failed (exit 1): tests/test_parser.py::test_empty\n")
    return AttemptContext(
        issue=Issue(IssueNumber(7), "Add a parser"),
        attempt=attempt,
        worktree=worktree,
        branch=BranchName("feature/issue-7"),
        base=CommitSha("0" * 40),
        prompt_file=prompt_file,
        feedback_file=feedback,
        tag=f"run1-7-{attempt}",
        resume_session=resume_session,
        retry_prompt="Your last attempt was rejected:\ntests failed" if attempt > 1 else None,
        settings=settings or AgentSettings(),
    )


def run_agent(agent: Agent, ctx: AttemptContext, env: dict[str, str] | None = None) -> AgentReport:
    """Run the adapter's invocation for real (as the orchestrator does) and read its output."""
    invocation = agent.invocation(ctx)
    out = ctx.worktree.parent / f"agent-{ctx.attempt}.out"
    outcome = asyncio.run(
        proc.supervise(
            invocation.argv,
            cwd=ctx.worktree,
            env={**(env if env is not None else dict(os.environ)), **invocation.env},
            timeout=60,
            stdout_path=out,
            stderr_path=ctx.worktree.parent / f"agent-{ctx.attempt}.err",
            tag=ctx.tag,
            stdin_path=invocation.stdin_file,
        )
    )
    return agent.read_output(out.read_text(), outcome.returncode)


def transcript(cli: str, case: str) -> str:
    """A recorded output of the CLI, tests/transcripts/<cli>/<case>.jsonl or .txt, as it is."""
    [path] = TRANSCRIPTS.joinpath(cli).glob(case + ".*")
    return path.read_bytes().decode("utf-8")


def run_once(
    tmp: Path, agent: Agent, step: Step, ctx: AttemptContext, *, allowlisted: bool = False
) -> tuple[AgentReport, dict[str, object]]:
    """Run the agent once against a stand-in of its program; its report and what the CLI got.

    `allowlisted`: the environment the runner gives agents (the allowlist and its credentials),
    not this process's whole environment.
    """
    fake = install(tmp, agent.program(), [step])
    fake.put_first_on_path()
    env = allowed_environment(agent.credentials) if allowlisted else None
    report = run_agent(agent, ctx, env)
    [call] = fake.calls()
    return report, call
