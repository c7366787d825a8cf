"""The agent protocol and registry.

An adapter only builds an invocation (argv, env, stdin) and reads the agent's output. Running it —
process group, timeout, kill, logs, environment allowlist — is the runner's job (`proc.supervise`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from issuewave.issues import Issue
from issuewave.types import BranchName, CommitSha

# What every agent may see of the parent's environment; everything else (tokens included) stays
# out unless the user names it in `pass_env`.
ENV_ALLOWLIST = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "TMPDIR",
        "TZ",
        "LANG",
        "LANGUAGE",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "VIRTUAL_ENV",
    }
)


@dataclass(frozen=True)
class AttemptContext:
    """Everything an adapter may put into an invocation."""

    issue: Issue
    attempt: int
    worktree: Path
    branch: BranchName
    base: CommitSha
    prompt_file: Path
    feedback_file: Path | None


@dataclass(frozen=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stdin_file: Path | None = None


@dataclass(frozen=True)
class AgentReport:
    """What the agent said about its own work: a claim, which verification then checks."""

    succeeded: bool
    final_message: str = ""
    session_id: str | None = None


class Agent(Protocol):
    @property
    def name(self) -> str: ...

    def program(self) -> str:
        """The executable that must exist before a run starts."""
        ...

    def invocation(self, ctx: AttemptContext) -> Invocation: ...

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport: ...


def issue_variables(ctx: AttemptContext) -> dict[str, str]:
    """The ISSUEWAVE_* variables every agent gets (values are data, never shell text)."""
    variables = {
        "ISSUEWAVE_ISSUE": str(ctx.issue.number),
        "ISSUEWAVE_TITLE": ctx.issue.title,
        "ISSUEWAVE_PROMPT_FILE": str(ctx.prompt_file),
        "ISSUEWAVE_WORKTREE": str(ctx.worktree),
        "ISSUEWAVE_BRANCH": ctx.branch,
        "ISSUEWAVE_BASE": ctx.base,
        "ISSUEWAVE_ATTEMPT": str(ctx.attempt),
    }
    if ctx.feedback_file is not None:
        variables["ISSUEWAVE_FEEDBACK_FILE"] = str(ctx.feedback_file)
    return variables


def allowed_environment(
    pass_env: Iterable[str], parent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The parent's variables that are on the allowlist or named by the user; nothing else."""
    source = os.environ if parent is None else parent
    names = ENV_ALLOWLIST | set(pass_env)
    return {k: v for k, v in source.items() if k in names or k.startswith("LC_")}


def find_program(program: str, cwd: Path) -> str | None:
    """Absolute path of the program, a relative path read against the repository root."""
    if os.sep in program:
        candidate = (cwd / program).resolve()
        return str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None
    return shutil.which(program)
