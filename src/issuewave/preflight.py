"""Pre-flight: what must hold before a run creates anything.

A git repository with commits, a base branch that exists, an agent program that exists, a test
command that exists and passes on the base (in a scratch checkout), hidden acceptance tests that
git does not track, and no branch or folder in the way that is not this run's. Each check raises
an error that names what to do.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

from issuewave import acceptance
from issuewave.agents.base import Agent, allowed_environment, find_program
from issuewave.agents.registry import AGENTS, make_agent
from issuewave.config import detect_test_cmd
from issuewave.errors import InputError, IssuewaveError, PrecheckError
from issuewave.findings import IDS_UNKNOWN, OFF
from issuewave.git import Git
from issuewave.plan import Plan
from issuewave.project import Project
from issuewave.sandbox import AttemptSandbox, resolve_sandbox
from issuewave.testbed import ScratchCheckout, TestCommand, run_tests
from issuewave.testids import TestResults
from issuewave.types import BranchName, CommitSha, IssueNumber, RunId
from issuewave.ui import say


def checked_agent(project: Project) -> Agent:
    agent = make_agent(project.config)
    if find_program(agent.program(), project.root) is None:
        raise PrecheckError(
            f"the agent program {agent.program()!r} was not found",
            hint="install it, put it on PATH, or fix agent/agent_cmd in the configuration",
        )
    return agent


def checked_test_command(project: Project) -> TestCommand:
    """The test command as it runs everywhere: its program found, the allowlisted environment."""
    argv = _test_argv(project)
    env = allowed_environment(project.config.pass_env)
    return TestCommand(argv, env, project.config.timeout, project.config.test_reports,
                       checked_sandbox(project))  # fmt: skip


def checked_sandbox(project: Project) -> AttemptSandbox:
    """What `sandbox` means on this machine (`bwrap` refuses when it does not work), and what
    every attempt may see: the repository's objects, but not issuewave's state, the hidden
    acceptance tests or the agent CLIs' logins (each attempt's own CLI keeps its own)."""
    common = project.git.common_dir()
    logins = [Path(f).expanduser() for name in AGENTS for f in _credential_files(project, name)]
    return AttemptSandbox(
        status=resolve_sandbox(project.config.sandbox),
        network=project.config.sandbox_network,
        home=Path.home(),
        readable=(common / "objects",),
        hidden=(common / "issuewave", acceptance.acceptance_root(project.root), *logins),
    )


def _credential_files(project: Project, name: str) -> tuple[str, ...]:
    try:
        return AGENTS[name](project.config).credential_files
    except IssuewaveError:  # an adapter that needs settings this run lacks (the command agent's)
        return ()


def _test_argv(project: Project) -> tuple[str, ...]:
    command = project.config.test_cmd or detect_test_cmd(project.root)
    if not command:
        raise PrecheckError(
            "no test command: issuewave accepts an agent's work only when the tests pass",
            hint="set test_cmd in .issuewave.toml or pass --test-cmd 'pytest -q'",
        )
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise InputError(f"test_cmd {command!r} cannot be split: {exc}") from None
    program = find_program(argv[0], project.root) if argv else None
    if program is None:
        raise PrecheckError(
            f"the test command's program {argv[0] if argv else command!r} was not found",
            hint="install it or fix test_cmd (it runs in each worktree, without a shell)",
        )
    return (program, *argv[1:]) if "/" in argv[0] else argv


def base_commit(git: Git, base: str) -> CommitSha:
    commit = git.rev(f"refs/heads/{base}") or git.rev(base)
    if commit is None:
        raise PrecheckError(
            f"the base branch {base!r} does not exist",
            hint="create it, or name another with --base (or `base` in .issuewave.toml)",
        )
    return commit


def hidden_tests(project: Project, plan: Plan, base: str) -> dict[IssueNumber, Path]:
    """The issues' hidden acceptance tests; refused (bad input) when git tracks them, because
    an agent would read them in its checkout."""
    folders = acceptance.folders_of(project.root, plan.issues.values())
    base_exists = project.git.rev(base) is not None
    acceptance.refuse_tracked(project.git, project.root, folders.values(),
                              base if base_exists else None)  # fmt: skip
    return folders


def note_dirty_checkout(git: Git, base_branch: str, commit: CommitSha) -> None:
    if git.status():
        say(
            f"note: the main checkout has uncommitted changes; they are left alone and not used "
            f"(issues start from {base_branch} at {commit[:12]}, in their own workspaces)"
        )


def reusable_branches(project: Project, plan: Plan) -> dict[IssueNumber, CommitSha]:
    """Refuse branches and folders that are not ours; reuse the work of earlier runs' PRs."""
    reused: dict[IssueNumber, CommitSha] = {}
    for number, issue in plan.issues.items():
        branch = project.branch_for(issue)
        tip = project.git.rev(f"refs/heads/{branch}")
        path = project.worktree_root / f"issue-{number}"
        if tip is not None and project.forge.find_open_pull(branch) is not None:
            reused[number] = tip
            continue
        if tip is not None:
            raise PrecheckError(
                _foreign_branch_message(project, branch),
                hint=f"`issuewave rollback {number}` saves and removes it, or "
                "choose another branch pattern (--branch)",
            )
        if path.exists():
            raise PrecheckError(
                f"the worktree folder {path} already exists and is not this run's",
                hint="move it away, or set worktree_dir to another folder",
            )
    return reused


def _foreign_branch_message(project: Project, branch: BranchName) -> str:
    earlier = project.store.tasks_for_branch(branch)
    if earlier:
        last = earlier[-1]
        return (
            f"branch {branch} already exists, left by issuewave run {last.run_id} "
            f"({last.status}); `issuewave resume --retry-failed` continues that run"
        )
    return f"branch {branch} already exists and was not made by issuewave"


def baseline(
    project: Project, tests: TestCommand, base: CommitSha, run_id: RunId, allow_failing: bool
) -> TestResults:
    """The tests on the base commit, in a throwaway checkout: failures here are not the agents',
    and the tests that pass here are what every attempt is held to."""
    folder = project.store.home / "baseline" / run_id
    log = folder.parent / f"{run_id}.log"
    with ScratchCheckout(project.git, folder) as scratch:
        scratch.at(base)
        outcome = asyncio.run(run_tests(tests, cwd=folder, log=log, tag=f"{run_id}-baseline"))
    if project.config.tests_policy != OFF and not outcome.results.known:
        say(
            f"note: {IDS_UNKNOWN} (no test ids in the output of `{tests.shown}`; pytest's are "
            "read without asking, other runners' JUnit XML through test_reports)"
        )
    if outcome.passed:
        return outcome.results
    if not allow_failing:
        raise PrecheckError(
            f"the test command fails on the base branch before any agent ran ({outcome.status}):"
            f"\n{outcome.tail(lines=40)}",
            hint="fix the tests first, or pass --allow-failing-baseline to count only new failures",
        )
    say(
        f"note: the tests fail on the base branch ({len(outcome.results.failed)} known failures); "
        "only new failures will count"
    )
    return outcome.results
