"""What each CLI is given (argv, stdin, environment, folder) for each kind of attempt, for real.

A stand-in of the CLI records its call. In an argv below, `PROMPT`, `RETRY_PROMPT`, `WORKTREE`,
`PROMPT_FILE`, `RETRY_FILE`, `NAMED_SESSION` (and aider's history files) stand for the attempt's
values.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import standin
from issuewave.agents.base import AgentSettings, AttemptContext
from issuewave.agents.registry import AGENTS
from issuewave.agents.spec import CliAgent, Prompt
from issuewave.config import Config
from test_agent_transcripts import AMP, CLAUDE, CODEX, COPILOT, CURSOR, GEMINI, GOOSE, OPENCODE

PROMPT, RETRY_PROMPT, WORKTREE = "<prompt>", "<retry prompt>", "<worktree>"
PROMPT_FILE, RETRY_FILE, NAMED_SESSION = "<prompt file>", "<retry file>", "<named session>"
FULL_AUTO = AgentSettings(full_auto=True)
RETRY_WITH_FEEDBACK = "# Issue #7: Add a parser\n\n## Your previous attempt was not accepted\n"


@dataclass(frozen=True)
class Case:
    argv: list[str]
    stdin: str = PROMPT  # "" where the prompt is not piped
    settings: AgentSettings = field(default_factory=AgentSettings)
    attempt: int = 1
    session: str | None = None
    prompt: str | None = None  # the prompt file's text, where the case sets it


def retry(argv: list[str], session: str, stdin: str = RETRY_PROMPT, **more: object) -> Case:
    return Case(argv, stdin, attempt=2, session=session, **more)  # type: ignore[arg-type]


def fresh(argv: list[str], stdin: str = PROMPT, **more: object) -> Case:
    """A retry without a session to continue: a fresh run of the full prompt."""
    return Case(argv, stdin, attempt=2, **more)  # type: ignore[arg-type]


PRINT = ["-p", "--output-format", "stream-json", "--verbose"]
CLAUDE_EDIT = ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]
EXECUTE = ["--execute", "--stream-json"]
CURSOR_PRINT, CURSOR_EDIT = ["-p", "--output-format", "stream-json"], ["--force", "--trust"]
CODEX_EXEC, CODEX_SANDBOX = ["exec", "--json", "--cd", WORKTREE], ["--sandbox", "workspace-write"]
GEMINI_HEADLESS = ["--output-format", "stream-json", "--approval-mode"]
OPENCODE_RUN = ["run", "--format", "json"]
SCRIPTING = [
    "--yes-always",
    "--no-auto-commits",
    "--no-gitignore",
    "--no-pretty",
    "--no-stream",
    "--no-check-update",
    "--no-show-release-notes",
    "--no-analytics",
    "--no-detect-urls",
]
# aider's histories are kept next to the prompt, outside the worktree.
CHAT, INPUT = "<prompt folder>/aider.chat.history.md", "<prompt folder>/aider.input.history"
HISTORY = ["--chat-history-file", CHAT, "--input-history-file", INPUT]
COPILOT_RUN = ["--output-format", "json", "--no-ask-user"]
GUARDS = [
    "--deny-tool=shell(git push),shell(git push:*)",
    "--secret-env-vars=COPILOT_GITHUB_TOKEN,GH_TOKEN,GITHUB_TOKEN",
]
GOOSE_OUT = ["--output-format", "stream-json"]

CASES: dict[str, dict[str, Case]] = {
    "claude": {
        # The first attempt names its session, so the run knows it even if claude dies early.
        "first": Case([*PRINT, "--session-id", NAMED_SESSION, *CLAUDE_EDIT]),
        "full_auto": Case(
            [*PRINT, "--session-id", NAMED_SESSION, "--dangerously-skip-permissions"],
            settings=FULL_AUTO,
        ),
        "model": Case(
            [
                *PRINT,
                "--session-id",
                NAMED_SESSION,
                *CLAUDE_EDIT,
                "--model",
                "opus",
                "--max-turns",
                "40",
            ],
            settings=AgentSettings(model="opus", extra_args=("--max-turns", "40")),
        ),
        "retry": retry([*PRINT, "--resume", CLAUDE, *CLAUDE_EDIT], CLAUDE),
        "fresh": fresh([*PRINT, "--session-id", NAMED_SESSION, *CLAUDE_EDIT]),
    },
    "amp": {
        "first": Case(EXECUTE),
        "full_auto": Case([*EXECUTE, "--dangerously-allow-all"], settings=FULL_AUTO),
        # The model names Amp's mode; a continued thread keeps its mode.
        "model": Case(
            ["--mode", "rush", *EXECUTE, "--no-notifications"],
            settings=AgentSettings(model="rush", extra_args=("--no-notifications",)),
        ),
        "retry": retry(
            ["threads", "continue", AMP, *EXECUTE], AMP, settings=AgentSettings(model="rush")
        ),
        "fresh": fresh(EXECUTE),
    },
    "cursor": {
        "first": Case([*CURSOR_PRINT, *CURSOR_EDIT]),
        "full_auto": Case(
            [*CURSOR_PRINT, *CURSOR_EDIT, "--sandbox", "disabled"], settings=FULL_AUTO
        ),
        "model": Case(
            [*CURSOR_PRINT, *CURSOR_EDIT, "--model", "gpt-5", "--approve-mcps"],
            settings=AgentSettings(model="gpt-5", extra_args=("--approve-mcps",)),
        ),
        "retry": retry([*CURSOR_PRINT, *CURSOR_EDIT, "--resume", CURSOR], CURSOR),
        "fresh": fresh([*CURSOR_PRINT, *CURSOR_EDIT]),
    },
    "codex": {
        "first": Case([*CODEX_EXEC, *CODEX_SANDBOX, "-"]),
        "full_auto": Case(
            [*CODEX_EXEC, "--dangerously-bypass-approvals-and-sandbox", "-"], settings=FULL_AUTO
        ),
        "model": Case(
            [
                *CODEX_EXEC,
                "--dangerously-bypass-approvals-and-sandbox",
                "--model",
                "gpt-5-codex",
                "-c",
                "model_reasoning_effort=high",
                "-",
            ],
            settings=AgentSettings(
                model="gpt-5-codex",
                extra_args=("-c", "model_reasoning_effort=high"),
                full_auto=True,
            ),
        ),
        "retry": retry([*CODEX_EXEC, *CODEX_SANDBOX, "resume", CODEX, "-"], CODEX),
        "fresh": fresh([*CODEX_EXEC, *CODEX_SANDBOX, "-"]),
    },
    "gemini": {
        "first": Case([*GEMINI_HEADLESS, "auto_edit"]),
        "full_auto": Case([*GEMINI_HEADLESS, "yolo"], settings=FULL_AUTO),
        "model": Case(
            [
                *GEMINI_HEADLESS,
                "yolo",
                "--model",
                "gemini-2.5-pro",
                "--include-directories",
                "../shared",
            ],
            settings=AgentSettings(
                model="gemini-2.5-pro",
                extra_args=("--include-directories", "../shared"),
                full_auto=True,
            ),
        ),
        "retry": retry([*GEMINI_HEADLESS, "auto_edit", "--resume", GEMINI], GEMINI),
        "fresh": fresh([*GEMINI_HEADLESS, "auto_edit"]),
    },
    "opencode": {
        "first": Case(OPENCODE_RUN),
        "full_auto": Case([*OPENCODE_RUN, "--auto"], settings=FULL_AUTO),
        "model": Case(
            [*OPENCODE_RUN, "--auto", "--model", "anthropic/claude-sonnet-4-5", "--agent", "build"],
            settings=AgentSettings(
                model="anthropic/claude-sonnet-4-5", extra_args=("--agent", "build"), full_auto=True
            ),
        ),
        "retry": retry([*OPENCODE_RUN, "--session", OPENCODE], OPENCODE),
        "fresh": fresh(OPENCODE_RUN),
    },
    "aider": {
        "first": Case(["--message-file", PROMPT_FILE, *SCRIPTING, *HISTORY], ""),
        # aider has no broader mode: full_auto changes nothing.
        "full_auto": Case(["--message-file", PROMPT_FILE, *SCRIPTING, *HISTORY], "", FULL_AUTO),
        "model": Case(
            [
                "--message-file",
                PROMPT_FILE,
                *SCRIPTING,
                *HISTORY,
                "--model",
                "sonnet",
                "--map-tokens",
                "2048",
            ],
            "",
            AgentSettings(model="sonnet", extra_args=("--map-tokens", "2048")),
        ),
        # No session to resume: the prompt file of a retry carries the feedback.
        "retry": retry(
            ["--message-file", PROMPT_FILE, *SCRIPTING, *HISTORY],
            "ignored",
            "",
            prompt=RETRY_WITH_FEEDBACK,
        ),
        "fresh": fresh(["--message-file", PROMPT_FILE, *SCRIPTING, *HISTORY], ""),
    },
    "copilot": {
        "first": Case(["-p", PROMPT, *COPILOT_RUN, "--allow-all-tools", *GUARDS], ""),
        "full_auto": Case(["-p", PROMPT, *COPILOT_RUN, "--allow-all", *GUARDS], "", FULL_AUTO),
        "model": Case(
            [
                "-p",
                PROMPT,
                *COPILOT_RUN,
                "--allow-all-tools",
                *GUARDS,
                "--model",
                "gpt-5.4",
                "--autopilot",
            ],
            "",
            AgentSettings(model="gpt-5.4", extra_args=("--autopilot",)),
        ),
        "retry": retry(
            ["-p", RETRY_PROMPT, f"--resume={COPILOT}", *COPILOT_RUN, "--allow-all-tools", *GUARDS],
            COPILOT,
            "",
        ),
        "fresh": fresh(
            ["-p", PROMPT, *COPILOT_RUN, "--allow-all-tools", *GUARDS],
            "",
            prompt=RETRY_WITH_FEEDBACK,
        ),
    },
    "goose": {
        "first": Case(["run", "--instructions", PROMPT_FILE, *GOOSE_OUT], ""),
        # GOOSE_MODE=auto is already goose's approve-everything mode.
        "full_auto": Case(["run", "--instructions", PROMPT_FILE, *GOOSE_OUT], "", FULL_AUTO),
        "model": Case(
            [
                "run",
                "--instructions",
                PROMPT_FILE,
                *GOOSE_OUT,
                "--model",
                "claude-sonnet-4",
                "--with-builtin",
                "developer",
            ],
            "",
            AgentSettings(model="claude-sonnet-4", extra_args=("--with-builtin", "developer")),
        ),
        "retry": retry(
            ["run", "--resume", "--session-id", GOOSE, "--instructions", RETRY_FILE, *GOOSE_OUT],
            GOOSE,
            "",
        ),
        "fresh": fresh(["run", "--instructions", PROMPT_FILE, *GOOSE_OUT], ""),
    },
}
# Variables each CLI is given on top of the ISSUEWAVE_* ones, in every case.
ENV = {
    "aider": {"BROWSER": "true", "COLUMNS": "10000"},
    "copilot": {"COPILOT_AUTO_UPDATE": "false"},
    "gemini": {"GEMINI_CLI_TRUST_WORKSPACE": "true"},
    "goose": {"GOOSE_MODE": "auto", "GOOSE_DISABLE_SESSION_NAMING": "true"},
    "opencode": {"PWD": WORKTREE},
}
ALL = [(cli, name) for cli, cases in CASES.items() for name in cases]


def values(ctx: AttemptContext) -> dict[str, str]:
    retry_file = ctx.prompt_file.with_name(f"{ctx.prompt_file.stem}-retry.md")
    return {
        PROMPT: ctx.prompt,
        RETRY_PROMPT: ctx.retry_prompt or "",
        WORKTREE: str(ctx.worktree),
        PROMPT_FILE: str(ctx.prompt_file),
        RETRY_FILE: str(retry_file),
        CHAT: str(ctx.prompt_file.parent / "aider.chat.history.md"),
        INPUT: str(ctx.prompt_file.parent / "aider.input.history"),
        NAMED_SESSION: str(uuid.uuid5(uuid.NAMESPACE_URL, "issuewave:" + ctx.tag)),
    }


def context(tmp_path: Path, case: Case) -> AttemptContext:
    prompt = {"prompt": case.prompt} if case.prompt is not None else {}
    return standin.context(
        tmp_path,
        attempt=case.attempt,
        resume_session=case.session,
        settings=case.settings,
        **prompt,
    )


@pytest.mark.parametrize(("cli", "name"), ALL, ids=[f"{cli}-{name}" for cli, name in ALL])
def test_the_cli_gets_its_documented_command_line(tmp_path: Path, cli: str, name: str) -> None:
    case, agent = CASES[cli][name], AGENTS[cli](Config())
    ctx = context(tmp_path, case)
    step = standin.Step(standin.transcript(cli, "success"))
    report, call = standin.run_once(tmp_path, agent, step, ctx)
    known = values(ctx)
    assert call["argv"] == [known.get(arg, arg) for arg in case.argv]
    assert call["stdin"] == known.get(case.stdin, case.stdin)
    assert call["cwd"] == str(ctx.worktree)
    env = call["env"]
    assert isinstance(env, dict)
    assert {k: env.get(k) for k in ENV.get(cli, {})} == {
        k: known.get(v, v) for k, v in ENV.get(cli, {}).items()
    }
    assert report.succeeded
    if case.session is not None:
        resumes = isinstance(agent, CliAgent) and agent.spec.resume is not None
        assert report.session_id == (case.session if resumes else None)


@pytest.mark.parametrize(("cli", "name"), [(c, n) for c, n in ALL if c in ("aider", "goose")])
def test_a_prompt_file_holds_the_prompt_the_attempt_sends(
    tmp_path: Path, cli: str, name: str
) -> None:
    case, agent = CASES[cli][name], AGENTS[cli](Config())
    assert isinstance(agent, CliAgent) and agent.spec.prompt is Prompt.FILE
    ctx = context(tmp_path, case)
    argv = agent.invocation(ctx).argv
    sent = Path(argv[argv.index(agent.spec.prompt_flag) + 1]).read_text()
    resumed = case.session is not None and agent.spec.resume is not None
    assert sent == (ctx.retry_prompt if resumed else case.prompt or ctx.prompt)


@pytest.mark.parametrize("sandboxed", [True, False])
def test_claude_is_told_it_is_sandboxed_only_when_it_is(tmp_path: Path, sandboxed: bool) -> None:
    """As root, `--dangerously-skip-permissions` needs IS_SANDBOX=1; claiming it outside the
    sandbox would switch off the CLI's own protection for nothing."""
    agent = AGENTS["claude"](Config(full_auto=True))
    ctx = dataclasses.replace(standin.context(tmp_path), sandboxed=sandboxed)
    assert agent.invocation(ctx).env.get("IS_SANDBOX") == ("1" if sandboxed else None)
