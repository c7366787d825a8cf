"""An agent CLI declared as data, and the one builder of its invocation.

A spec holds a CLI's vocabulary: its program, the variables and files it reads credentials from,
its state folders, the files it leaves in a worktree, and the words of its command line (headless
flags, permission modes, model flag, how a session resumes, how the prompt goes in). `CliAgent`
turns a spec and an attempt into an invocation; an adapter adds only its output reader and its
real quirks. The argv is the spec's `order` of parts, each part empty where the CLI has none.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from issuewave.agents.base import AttemptContext, Invocation, issue_variables


class Part(enum.Enum):
    """A piece of the command line after the program, in the order a spec names them."""

    SUBCOMMAND = "subcommand"  # `exec`, `run`
    PROMPT = "prompt"  # the prompt's flag and text or file (nothing when it goes on stdin)
    HEADLESS = "headless"  # the flags that make the CLI run unattended and print machine output
    CONTEXT = "context"  # the adapter's own words derived from the attempt (a quirk hook)
    PERMISSIONS = "permissions"  # the safe default or the full_auto flags
    MODEL = "model"  # the model flag and the chosen model
    EXTRA = "extra"  # the user's agent_args, verbatim
    RESUME = "resume"  # the words that continue a session, or name a new one
    STDIN = "stdin"  # the argument saying "read the prompt from stdin" (`-`)


class Prompt(enum.Enum):
    """How the prompt reaches the CLI."""

    STDIN = "stdin"  # piped from the prompt file: no argv limit
    ARGV = "argv"  # the text itself after `prompt_flag`
    FILE = "file"  # the prompt file's path after `prompt_flag`


@dataclass(frozen=True)
class Resume:
    """How the CLI continues a session on a retry."""

    words: tuple[str, ...]  # before the session id: ("--resume",), ("threads", "continue")
    joined: bool = False  # the id glued to the last word: `--resume=ID`
    # The flag naming a new session up front (its id derived from the attempt's tag), so the run
    # knows the session even if the CLI dies before saying it.
    names_new: str | None = None
    # A continued session keeps the model it started with: no model flag then.
    keeps_model: bool = False
    # Resume only with a short retry prompt to send; otherwise a fresh run of the full prompt.
    needs_retry_prompt: bool = False

    def argv(self, session: str) -> tuple[str, ...]:
        if self.joined:
            return (*self.words[:-1], self.words[-1] + session)
        return (*self.words, session)


DEFAULT_ORDER = (
    Part.SUBCOMMAND,
    Part.PROMPT,
    Part.HEADLESS,
    Part.CONTEXT,
    Part.PERMISSIONS,
    Part.MODEL,
    Part.EXTRA,
    Part.RESUME,
    Part.STDIN,
)


@dataclass(frozen=True)
class AgentSpec:
    """One agent CLI's vocabulary (see each adapter's docstring for where the words come from)."""

    name: str
    program: str
    credentials: tuple[str, ...] = ()  # environment variables passed through to the CLI
    credential_files: tuple[str, ...] = ()  # where its login is kept (`~` for the home folder)
    state_dirs: tuple[str, ...] = ()  # its own state, which it must be able to write
    scratch_patterns: tuple[str, ...] = ()  # files it leaves in the worktree that are not work
    usage_accumulates: bool = False  # a resumed session reports its running total
    subcommand: tuple[str, ...] = ()
    headless: tuple[str, ...] = ()
    safe: tuple[str, ...] = ()  # edit and run in the worktree without asking
    full_auto: tuple[str, ...] = ()  # the CLI's approve-everything mode
    model_flag: str | None = "--model"
    resume: Resume | None = None  # None: no session to continue, a retry starts afresh
    prompt: Prompt = Prompt.STDIN
    prompt_flag: str = ""
    stdin_marker: tuple[str, ...] = ()  # e.g. ("-",): an argument saying "read stdin"
    env: Mapping[str, str] = field(default_factory=dict)
    # Set only when the attempt really runs in the sandbox: how a CLI that refuses its
    # approve-everything mode as root is told that it is confined (Claude Code: IS_SANDBOX=1).
    sandbox_env: Mapping[str, str] = field(default_factory=dict)
    order: tuple[Part, ...] = DEFAULT_ORDER


class CliAgent:
    """An agent driven through its spec: the Agent protocol's data and the one argv builder.

    Subclasses set `spec` and write `read_output(stdout, exit_code)`; `context_args` and
    `environment` are the hooks for the few quirks data does not cover.
    """

    spec: ClassVar[AgentSpec]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def credentials(self) -> tuple[str, ...]:
        return self.spec.credentials

    @property
    def credential_files(self) -> tuple[str, ...]:
        return self.spec.credential_files

    @property
    def state_dirs(self) -> tuple[str, ...]:
        return self.spec.state_dirs

    @property
    def scratch_patterns(self) -> tuple[str, ...]:
        return self.spec.scratch_patterns

    @property
    def usage_accumulates(self) -> bool:
        return self.spec.usage_accumulates

    def program(self) -> str:
        return self.spec.program

    def invocation(self, ctx: AttemptContext) -> Invocation:
        session = self.session(ctx)
        argv = [self.spec.program]
        for part in self.spec.order:
            argv += self._part(part, ctx, session)
        stdin = self._prompt_file(ctx, session) if self.spec.prompt is Prompt.STDIN else None
        return Invocation(tuple(argv), self.environment(ctx), stdin)

    def session(self, ctx: AttemptContext) -> str | None:
        """The session this attempt continues, if the CLI can and the retry has one."""
        resume = self.spec.resume
        if resume is None or not ctx.resume_session:
            return None
        return None if resume.needs_retry_prompt and not ctx.retry_prompt else ctx.resume_session

    def context_args(self, ctx: AttemptContext) -> tuple[str, ...]:
        return ()

    def environment(self, ctx: AttemptContext) -> dict[str, str]:
        confined = self.spec.sandbox_env if ctx.sandboxed else {}
        return {**issue_variables(ctx), **self.spec.env, **confined}

    def _part(self, part: Part, ctx: AttemptContext, session: str | None) -> tuple[str, ...]:
        spec = self.spec
        words = {
            Part.SUBCOMMAND: lambda: spec.subcommand,
            Part.PROMPT: lambda: self._prompt_args(ctx, session),
            Part.HEADLESS: lambda: spec.headless,
            Part.CONTEXT: lambda: self.context_args(ctx),
            Part.PERMISSIONS: lambda: spec.full_auto if ctx.settings.full_auto else spec.safe,
            Part.MODEL: lambda: self._model_args(ctx, session),
            Part.EXTRA: lambda: ctx.settings.extra_args,
            Part.RESUME: lambda: self._resume_args(ctx, session),
            Part.STDIN: lambda: spec.stdin_marker,
        }
        return words[part]()

    def _prompt_args(self, ctx: AttemptContext, session: str | None) -> tuple[str, ...]:
        if self.spec.prompt is Prompt.ARGV:
            text = ctx.retry_prompt if session and ctx.retry_prompt else ctx.prompt
            return (self.spec.prompt_flag, text)
        if self.spec.prompt is Prompt.FILE:
            return (self.spec.prompt_flag, str(self._prompt_file(ctx, session)))
        return ()

    def _model_args(self, ctx: AttemptContext, session: str | None) -> tuple[str, ...]:
        flag, model, resume = self.spec.model_flag, ctx.settings.model, self.spec.resume
        if session is not None and resume is not None and resume.keeps_model:
            return ()
        return (flag, model) if flag and model else ()

    def _resume_args(self, ctx: AttemptContext, session: str | None) -> tuple[str, ...]:
        resume = self.spec.resume
        if resume is None:
            return ()
        if session is not None:
            return resume.argv(session)
        if resume.names_new:
            return (resume.names_new, str(uuid.uuid5(uuid.NAMESPACE_URL, "issuewave:" + ctx.tag)))
        return ()

    def _prompt_file(self, ctx: AttemptContext, session: str | None) -> Path:
        """The short feedback prompt when a session resumes, the full prompt otherwise."""
        if not (session and ctx.retry_prompt):
            return ctx.prompt_file
        retry = ctx.prompt_file.with_name(f"{ctx.prompt_file.stem}-retry.md")
        retry.write_text(ctx.retry_prompt, encoding="utf-8")
        return retry
