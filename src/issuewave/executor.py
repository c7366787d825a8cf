"""Executors: the one place that runs an attempt.

An executor prepares an issue's workspace (its worktree and branch at the base the orchestrator
chose), runs the agent in it, and verifies the result: the agent's own verdict, the main checkout
and base branch untouched, still on its branch, real changes committed, the tests passing. It
writes nothing to the store: it reports back (`AttemptEvents` while it runs, an `AttemptResult`
at the end), and the orchestrator, the only writer of run state, records it.

`LocalExecutor` runs on this machine, in git worktrees of the user's repository. A confined or a
remote executor implements the same protocol.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from issuewave import proc, verify
from issuewave.agents.base import Agent, AgentReport, AttemptContext
from issuewave.errors import IssuewaveError
from issuewave.git import Git
from issuewave.naming import one_line
from issuewave.testbed import TestCommand, run_tests
from issuewave.testchecks import AttemptTests, TestChecks, check_attempt
from issuewave.types import BranchName, CommitSha
from issuewave.workspace import Worktree, create_worktree, discard_unstarted, reopen_worktree

MAX_AGENT_OUTPUT = 64 * 1024 * 1024  # structured output beyond this is not parsed


@dataclass(frozen=True)
class AttemptOrder:
    """One attempt as the orchestrator hands it over."""

    agent: AttemptContext  # the issue, the worktree, the prompt files, the session to resume
    log_dir: Path  # agent.out, agent.err and tests.log go here
    commit_message: str


@dataclass(frozen=True)
class AttemptResult:
    process: proc.Outcome  # the agent's process
    report: AgentReport  # what the agent said of its work: a claim
    verdict: verify.Verdict  # what verification found
    head: CommitSha | None = None  # the verified commit, when the verdict is ok


class AttemptEvents(Protocol):
    def agent_exited(self, process: proc.Outcome, report: AgentReport) -> None:
        """The agent is done and verification starts (the live view shows "verifying")."""
        ...


class Executor(Protocol):
    async def prepare(self, path: Path, branch: BranchName, base: CommitSha, *,
                      started: bool) -> Worktree:  # fmt: skip
        """The issue's workspace at `base`; `started`: an earlier attempt's work is there."""
        ...

    async def discard(self, worktree: Worktree) -> None:
        """Undo a workspace no agent ever ran in (the run stopped before its turn)."""
        ...

    async def attempt(self, order: AttemptOrder, events: AttemptEvents) -> AttemptResult: ...


@dataclass(frozen=True)
class LocalSettings:
    git: Git  # the main checkout
    agent: Agent
    tests: TestCommand
    env: Mapping[str, str]  # the allowlisted environment; the agent adds its own credentials
    timeout: float  # per agent run
    base_branch: BranchName
    baseline_failures: frozenset[str]
    # The checks after the workspace's own test run (tests the agent cannot weaken, hidden
    # acceptance tests); None: the exit status alone decides, against the known failures.
    checks: TestChecks | None = None


class LocalExecutor:
    """Attempts in git worktrees of the user's repository, on this machine."""

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        # git worktree add/prune and branch creation share files under .git: one at a time.
        self._workspace_lock = asyncio.Lock()

    # --- workspaces -------------------------------------------------------------------------
    async def prepare(
        self, path: Path, branch: BranchName, base: CommitSha, *, started: bool
    ) -> Worktree:
        async with self._workspace_lock:
            return await asyncio.to_thread(self._prepare, path, branch, base, started)

    def _prepare(self, path: Path, branch: BranchName, base: CommitSha, started: bool) -> Worktree:
        """The pre-checks refused foreign branches, so an existing branch here is this run's."""
        git = self.settings.git
        if git.branch_exists(branch):
            if started:
                return reopen_worktree(git, path, branch, base)
            # No agent ever ran here: a creation cut short, holding nothing but the base.
            discard_unstarted(git, path, branch, base)
        return create_worktree(git, path, branch, base)

    async def discard(self, worktree: Worktree) -> None:
        async with self._workspace_lock:
            await asyncio.to_thread(
                discard_unstarted, self.settings.git, worktree.path, worktree.branch, worktree.base
            )

    # --- one attempt ------------------------------------------------------------------------
    async def attempt(self, order: AttemptOrder, events: AttemptEvents) -> AttemptResult:
        ctx = order.agent
        if not ctx.worktree.is_dir():  # a previous attempt removed its own folder
            await self.prepare(ctx.worktree, ctx.branch, ctx.base, started=True)
        before = await asyncio.to_thread(
            verify.snapshot, self.settings.git, self.settings.base_branch
        )
        process, report = await self._run_agent(order)
        events.agent_exited(process, report)
        verdict, head = await self._verify(order, process, report, before)
        return AttemptResult(process, report, verdict, head)

    async def _run_agent(self, order: AttemptOrder) -> tuple[proc.Outcome, AgentReport]:
        agent, ctx = self.settings.agent, order.agent
        invocation = agent.invocation(ctx)
        process = await proc.supervise(
            invocation.argv,
            cwd=ctx.worktree,
            env={**self.settings.env, **self._credentials(), **invocation.env},
            timeout=self.settings.timeout,
            stdout_path=order.log_dir / "agent.out",
            stderr_path=order.log_dir / "agent.err",
            tag=ctx.tag,
            stdin_path=invocation.stdin_file,
        )
        output = proc.head(order.log_dir / "agent.out", max_bytes=MAX_AGENT_OUTPUT)
        return process, agent.read_output(output, process.returncode)

    def _credentials(self) -> dict[str, str]:
        """The agent's own credential variables: the agent gets them, the test command does not."""
        return {k: os.environ[k] for k in self.settings.agent.credentials if k in os.environ}

    # --- verification -----------------------------------------------------------------------
    async def _verify(
        self,
        order: AttemptOrder,
        process: proc.Outcome,
        report: AgentReport,
        before: verify.CheckoutSnapshot,
    ) -> tuple[verify.Verdict, CommitSha | None]:
        try:
            verdict = await asyncio.to_thread(self._verify_git, order, process, report, before)
        except IssuewaveError as exc:  # e.g. the agent left a lock file or broke its worktree
            return verify.Verdict(False, f"the worktree could not be checked: {exc}"), None
        if not verdict.ok:
            return verdict, None
        verdict = await self._run_tests(order)
        if not verdict.ok:
            return verdict, None
        return verdict, self.settings.git.at(order.agent.worktree).must_rev("HEAD")

    def _verify_git(
        self,
        order: AttemptOrder,
        process: proc.Outcome,
        report: AgentReport,
        before: verify.CheckoutSnapshot,
    ) -> verify.Verdict:
        ctx, git = order.agent, self.settings.git
        worktree = git.at(ctx.worktree)
        checks: list[Callable[[], verify.Verdict]] = [
            lambda: agent_verdict(process, report, order.log_dir, self.settings.timeout),
            lambda: verify.checkout_untouched(git, before),
            lambda: verify.still_on_branch(worktree, ctx.branch),
        ]
        for check in checks:
            verdict = check()
            if not verdict.ok:
                return verdict
        worktree.commit_all(order.commit_message)
        return verify.has_changes(worktree, ctx.base)

    async def _run_tests(self, order: AttemptOrder) -> verify.Verdict:
        ctx, checks = order.agent, self.settings.checks
        log, tag = order.log_dir / "tests.log", f"{ctx.tag}-tests"
        outcome = await run_tests(self.settings.tests, cwd=ctx.worktree, log=log, tag=tag)
        if checks is None:
            return verify.judge_tests(
                outcome.returncode,
                outcome.tail(),
                self.settings.baseline_failures,
                results=outcome.results,
            )
        job = AttemptTests(ctx.worktree, ctx.base, ctx.issue.number, ctx.tag, order.log_dir)
        return await check_attempt(checks, job, outcome, lock=self._workspace_lock)


def agent_verdict(
    process: proc.Outcome, report: AgentReport, log_dir: Path, timeout: float
) -> verify.Verdict:
    """The agent's own verdict, read from its output where the CLI reports one."""
    if process.timed_out:
        return verify.Verdict(False, f"the agent timed out after {timeout:g} s and was killed")
    if report.succeeded:
        return verify.Verdict(True)
    errors = verify.read_tail(log_dir / "agent.err") or verify.read_tail(log_dir / "agent.out")
    if report.error:
        return verify.Verdict(
            False, f"the agent reported an error: {one_line(report.error)}", errors
        )
    return verify.Verdict(False, f"the agent exited with status {process.returncode}", errors)
