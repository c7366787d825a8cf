"""Executors: the one place that runs an attempt.

An executor prepares an issue's workspace (its worktree and branch at the base the orchestrator
chose), runs the agent in it, and verifies the result: the agent's own verdict, the main checkout
and base branch untouched, still on its branch, real changes committed, the tests passing. It
writes nothing to the store: it reports back (`AttemptEvents` while it runs, an `AttemptResult`
at the end), and the orchestrator, the only writer of run state, records it.

`LocalExecutor` runs on this machine, each issue in a private clone that borrows the user's
repository's objects read-only: the agent's git state (hooks, config, refs, index) is its own, and
only the verified branch comes back, fetched with hooks off. After every attempt `guard.py` compares
the user's repository and the workspace's .git with their state before; a change fails the attempt
and is undone. A remote executor implements the same protocol.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from issuewave import guard, proc, verify
from issuewave.agents.base import Agent, AgentReport, AttemptContext
from issuewave.errors import IssuewaveError
from issuewave.git import Git
from issuewave.naming import one_line
from issuewave.sandbox import AttemptSandbox
from issuewave.testbed import TestCommand, run_tests
from issuewave.testchecks import AttemptTests, TestChecks, check_attempt
from issuewave.types import BranchName, CommitSha
from issuewave.workspace import (
    Worktree,
    backup_tip,
    create_worktree,
    discard_unstarted,
    fetch_back,
    make_pristine,
    reopen_worktree,
)

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
    branches: frozenset[BranchName] = frozenset()  # every branch of the run: issuewave's own
    worktree_root: Path | None = None  # left out of the main checkout's comparison
    # How the agent's processes are confined (the tests' is `tests.sandbox`); None: not at all.
    sandbox: AttemptSandbox | None = None
    remote: str = "origin"
    # The checks after the workspace's own test run (tests the agent cannot weaken, hidden
    # acceptance tests); None: the exit status alone decides, against the known failures.
    checks: TestChecks | None = None


class LocalExecutor:
    """Attempts in private clones of the user's repository, on this machine."""

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        # Branch creation in the user's repository, one at a time.
        self._workspace_lock = asyncio.Lock()
        # The tips issuewave gave this run's branches; a branch found elsewhere was moved by an
        # agent. Read and written together with the refs (attempts end in worker threads).
        self._tips_lock = threading.Lock()
        heads = dict(settings.git.refs("refs/heads/"))
        self._tips = {b: heads[f"refs/heads/{b}"] for b in settings.branches
                      if f"refs/heads/{b}" in heads}  # fmt: skip
        self.guard = guard.RepositoryGuard(
            settings.git,
            own_ref=self._own_ref,
            leave_out=[settings.worktree_root] if settings.worktree_root else [],
            # In the sandbox the kernel keeps the attempt out of the main checkout's files.
            scan_checkout=not self.sandboxed,
        )

    @property
    def sandboxed(self) -> bool:
        return self.settings.sandbox is not None and self.settings.sandbox.on

    def _own_ref(self, ref: str) -> bool:
        """Refs issuewave moves during the run: its backups and journal, this run's branches
        (checked against `_tips`) and their remote-tracking copies (moved by pushes)."""
        if ref.startswith("refs/issuewave/"):
            return True
        branches = self.settings.branches
        for prefix in ("refs/heads/", f"refs/remotes/{self.settings.remote}/"):
            if ref.startswith(prefix) and ref.removeprefix(prefix) in branches:
                return True
        return False

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
                worktree = reopen_worktree(git, path, branch, base)
                self._set_tip(branch, git.must_rev(f"refs/heads/{branch}"))
                return worktree
            # No agent ever ran here: a creation cut short, holding nothing but the base.
            discard_unstarted(git, path, branch, base)
        with self._tips_lock:
            worktree = create_worktree(git, path, branch, base)
            self._tips[branch] = base
        return worktree

    def _set_tip(self, branch: BranchName, tip: CommitSha) -> None:
        with self._tips_lock:
            self._tips[branch] = tip

    async def discard(self, worktree: Worktree) -> None:
        async with self._workspace_lock:
            await asyncio.to_thread(
                discard_unstarted, self.settings.git, worktree.path, worktree.branch, worktree.base
            )

    # --- one attempt ------------------------------------------------------------------------
    async def attempt(self, order: AttemptOrder, events: AttemptEvents) -> AttemptResult:
        ctx = order.agent
        # A previous attempt may have removed or broken its own folder, or planted files in its
        # .git: the workspace is made whole and pristine before each attempt.
        await self.prepare(ctx.worktree, ctx.branch, ctx.base, started=True)
        before = await asyncio.to_thread(self.guard.snapshot)
        process, report = await self._run_agent(order)
        events.agent_exited(process, report)
        verdict, head = await self._verify(order, process, report, before)
        return AttemptResult(process, report, verdict, head)

    async def _run_agent(self, order: AttemptOrder) -> tuple[proc.Outcome, AgentReport]:
        agent = self.settings.agent
        ctx = dataclasses.replace(order.agent, sandboxed=self.sandboxed)
        invocation = agent.invocation(ctx)
        sandbox = self.settings.sandbox
        confinement = (
            sandbox.for_agent(ctx.worktree, agent.state_dirs, order.log_dir, invocation.argv)
            if sandbox is not None
            else None
        )
        process = await proc.supervise(
            invocation.argv,
            cwd=ctx.worktree,
            env={**self.settings.env, **self._credentials(), **invocation.env},
            timeout=self.settings.timeout,
            stdout_path=order.log_dir / "agent.out",
            stderr_path=order.log_dir / "agent.err",
            tag=ctx.tag,
            stdin_path=invocation.stdin_file,
            confinement=confinement,
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
        before: guard.RepositorySnapshot,
    ) -> tuple[verify.Verdict, CommitSha | None]:
        head: CommitSha | None = None
        try:
            verdict = await asyncio.to_thread(self._verify_git, order, process, report, before)
            if verdict.ok:
                head = await asyncio.to_thread(self._bring_back, order)
                verdict = await self._run_tests(order)
        except IssuewaveError as exc:  # e.g. the agent left a lock file or broke its workspace
            verdict = verify.Verdict(False, f"the workspace could not be checked: {exc}")
        # Whatever failed before: the last check runs, the main checkout's files included, and
        # the tests (the agent's code) are held to the same rules as the agent.
        final = await asyncio.to_thread(self._confined, order, before, head, True)
        if not final.ok:
            return final, None
        return (verdict, head) if verdict.ok else (verdict, None)

    def _verify_git(
        self,
        order: AttemptOrder,
        process: proc.Outcome,
        report: AgentReport,
        before: guard.RepositorySnapshot,
    ) -> verify.Verdict:
        ctx, git = order.agent, self.settings.git
        worktree = git.at(ctx.worktree)
        checks: list[Callable[[], verify.Verdict]] = [
            # First: git runs in there next. The main checkout's files wait for the end.
            lambda: self._confined(order, before, None, False),
            lambda: agent_verdict(process, report, order.log_dir, self.settings.timeout),
            lambda: verify.still_on_branch(worktree, ctx.branch),
        ]
        for check in checks:
            verdict = check()
            if not verdict.ok:
                return verdict
        worktree.commit_all(order.commit_message)
        changed = verify.has_changes(worktree, ctx.base)
        return changed if not changed.ok else verify.no_escaping_links(worktree, ctx.base)

    def _bring_back(self, order: AttemptOrder) -> CommitSha:
        """The attempt's commit into the user's branch, so its work is never only in a folder."""
        ctx = order.agent
        with self._tips_lock:
            head = fetch_back(self.settings.git, ctx.worktree, ctx.branch)
            self._tips[ctx.branch] = head
        return head

    def _confined(
        self,
        order: AttemptOrder,
        before: guard.RepositorySnapshot,
        head: CommitSha | None,
        final: bool,
    ) -> verify.Verdict:
        """Nothing outside the workspace changed, its .git is as issuewave wrote it, and (after
        the tests) its branch is still at the verified commit. What changed is named and undone.
        `final`: the last check of the attempt, which walks the main checkout's files too."""
        ctx, git = order.agent, self.settings.git
        named = [f"{c} (undone)" for c in guard.workspace_git_changes(git, ctx.worktree)]
        make_pristine(git, ctx.worktree)
        keep = order.log_dir / "undone"
        changes = self.guard.changes(before, keep, checkout=final)
        named += [f"{c.what} ({c.undo()})" for c in changes]
        named += self._moved_branches()
        if head is not None and git.at(ctx.worktree).rev(f"refs/heads/{ctx.branch}") != head:
            named.append(f"the tests moved branch {ctx.branch} away from the verified {head[:12]}")
        if not named:
            return verify.Verdict(True)
        listed = "; ".join(named)
        return verify.Verdict(False, f"the attempt changed what it must not: {listed}", listed)

    def _moved_branches(self) -> list[str]:
        """This run's branches (other issues' verified work) still where issuewave left them."""
        git, named = self.settings.git, []
        with self._tips_lock:
            heads = dict(git.refs("refs/heads/"))  # one call, however many branches the run has
            for branch, tip in self._tips.items():
                now = heads.get(f"refs/heads/{branch}")
                if now != tip:
                    moved = f"branch {branch} moved from {tip[:12]} to {(now or 'nothing')[:12]}"
                    named.append(f"{moved} ({_put_back(git, branch, tip, now)})")
        return named

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
        return await check_attempt(checks, job, outcome, lock=None)  # scratches are clones


def _put_back(git: Git, branch: BranchName, tip: CommitSha, moved_to: CommitSha | None) -> str:
    kept = ""
    if moved_to is not None:
        kept = f"; what it pointed to is kept as {backup_tip(git, branch, moved_to)}"
    git.update_ref(f"refs/heads/{branch}", tip)
    return f"put back{kept}"


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
    said = last_meaningful_line(verify.read_tail(log_dir / "agent.err"))
    reason = f"the agent exited with status {process.returncode}"
    return verify.Verdict(False, f"{reason}: {one_line(said)}" if said else reason, errors)


def last_meaningful_line(text: str) -> str:
    """The CLI's own last word on stderr: not blank, not a bare traceback frame or separator."""
    for line in reversed(text.splitlines()):
        stripped = line.strip()
        if (
            len(stripped) > 2
            and not stripped.startswith(('File "', "^", "at "))
            and any(ch.isalpha() for ch in stripped)
        ):
            return stripped[:300]
    return ""
