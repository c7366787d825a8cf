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
class AgentSettings:
    """What the user chose for the agent: model, extra arguments, permission mode."""

    model: str | None = None
    extra_args: tuple[str, ...] = ()
    # False: the CLI's mode that lets the agent edit files and run commands in its worktree
    # without asking; True: the CLI's approve-everything mode (documented per agent).
    full_auto: bool = False


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
    # The attempt's unique tag: adapters that can name a session up front derive its id from it.
    tag: str = ""
    # The session of the previous attempt, to resume on a retry where the CLI supports it.
    resume_session: str | None = None
    # On a retry: the short prompt for a resumed session (the feedback), the full one otherwise.
    retry_prompt: str | None = None
    settings: AgentSettings = field(default_factory=AgentSettings)
    # The attempt really runs in the sandbox (set by the executor, never assumed).
    sandboxed: bool = False

    @property
    def prompt(self) -> str:
        return self.prompt_file.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stdin_file: Path | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None  # None where the CLI reports no cost

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            cost,
        )

    def beyond(self, earlier: Usage) -> Usage:
        """What this running total adds to an `earlier` one (never below zero)."""
        cost = None if self.cost_usd is None else max(self.cost_usd - (earlier.cost_usd or 0), 0)
        return Usage(
            max(self.input_tokens - earlier.input_tokens, 0),
            max(self.output_tokens - earlier.output_tokens, 0),
            max(self.cached_tokens - earlier.cached_tokens, 0),
            cost,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class AgentReport:
    """What the agent said about its own work: a claim, which verification then checks.

    `succeeded` comes from the output's own error fields where the CLI has them, not only from
    the exit code: some CLIs exit 0 after an error, some exit 1 after recovering.
    """

    succeeded: bool
    final_message: str = ""
    session_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: str | None = None


class Agent(Protocol):
    """One agent CLI: its data (read by the runner, the sandbox, `issuewave agents`) and behaviour.

    Every tuple is empty where the CLI has none; callers read them directly, never by getattr.
    """

    @property
    def name(self) -> str: ...

    @property
    def credentials(self) -> tuple[str, ...]:
        """Environment variables the agent's CLI reads its credentials from (passed through)."""
        ...

    @property
    def credential_files(self) -> tuple[str, ...]:
        """Files the CLI reads a login from (`~` for the home folder), reported by `agents`."""
        ...

    @property
    def state_dirs(self) -> tuple[str, ...]:
        """The CLI's own state folders (`~` for the home folder), which it must be able to write."""
        ...

    @property
    def scratch_patterns(self) -> tuple[str, ...]:
        """Git exclude patterns for files the CLI leaves in the worktree that are not work."""
        ...

    @property
    def usage_accumulates(self) -> bool:
        """True where a resumed session reports the whole session's usage so far, not the run's
        (codex): the attempt's own is what it adds to the earlier attempts of that session."""
        ...

    def program(self) -> str:
        """The executable that must exist before a run starts."""
        ...

    def invocation(self, ctx: AttemptContext) -> Invocation: ...

    def read_output(self, stdout: str, exit_code: int | None) -> AgentReport: ...


def last_line_report(stdout: str, exit_code: int | None) -> AgentReport:
    """For programs with no output format: the exit code decides, the last line is the message."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    return AgentReport(exit_code == 0, lines[-1] if lines else "")


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
