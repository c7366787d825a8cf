"""`issuewave run`: pre-checks, then the whole wave.

Nothing is created until every pre-check has passed: a git repository with commits, a valid plan, an
agent program that exists, a test command that exists and passes on the base branch.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from issuewave import proc
from issuewave.agents.base import Agent, allowed_environment, find_program
from issuewave.agents.registry import make_agent
from issuewave.config import detect_test_cmd
from issuewave.errors import InputError, PrecheckError
from issuewave.git import Git
from issuewave.live import Watcher
from issuewave.orchestrator import Orchestrator, RunContext, describe_outcome, mark_interrupted
from issuewave.plan import Plan
from issuewave.progress import Row, make_view
from issuewave.project import Project, open_project
from issuewave.report.metrics import state_json
from issuewave.scheduler import Outcome
from issuewave.store import (
    BLOCKED,
    PENDING,
    REUSED,
    SUCCEEDED,
    RunRecord,
    TaskRecord,
    run_lock,
)
from issuewave.types import BranchName, CommitSha, IssueNumber, RunId
from issuewave.verify import failed_test_ids
from issuewave.workspace import add_exclude, ensure_excluded

WAITS_FOR = "waits for"  # the reason of an issue blocked outside the run; never retried blindly


def run(
    *,
    cwd: Path,
    overrides: Mapping[str, Any],
    only: Sequence[int] = (),
    ignore_missing: bool = False,
    allow_failing_baseline: bool = False,
    as_json: bool = False,
    plain: bool = False,
) -> int:
    project = open_project(cwd, overrides)
    plan = project.plan(ignore_missing=ignore_missing, only=only)
    if not plan.issues:
        _say(f"nothing to do: no open issues in {project.config.issues_dir}")
        return 0
    base_branch = BranchName(project.config.base or project.git.default_branch())
    base_commit = _base_commit(project.git, base_branch)
    agent = checked_agent(project)
    test_argv = checked_test_command(project)
    _note_dirty_checkout(project.git, base_branch, base_commit)
    run_id = RunId(time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    with run_lock(project.store.home, run_id):
        reused = _check_branches(project, plan, run_id)
        for pattern in getattr(agent, "scratch_patterns", ()):  # an agent's caches, not work
            add_exclude(project.git, pattern, f"files the {agent.name} agent leaves behind")
        baseline = _baseline(project, test_argv, base_commit, run_id, allow_failing_baseline)
        _create_run(project, plan, run_id, base_branch, base_commit, reused, baseline)
        ctx = _context(project, plan, run_id, agent, test_argv, base_branch, base_commit, baseline)
        return execute(ctx, as_json=as_json, plain=plain)


# --- pre-checks ------------------------------------------------------------------------------
def checked_agent(project: Project) -> Agent:
    agent = make_agent(project.config)
    if find_program(agent.program(), project.root) is None:
        raise PrecheckError(
            f"the agent program {agent.program()!r} was not found",
            hint="install it, put it on PATH, or fix agent/agent_cmd in the configuration",
        )
    return agent


def checked_test_command(project: Project) -> tuple[str, ...]:
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


def _base_commit(git: Git, base: str) -> CommitSha:
    commit = git.rev(f"refs/heads/{base}") or git.rev(base)
    if commit is None:
        raise PrecheckError(
            f"the base branch {base!r} does not exist",
            hint="create it, or name another with --base (or `base` in .issuewave.toml)",
        )
    return commit


def _note_dirty_checkout(git: Git, base_branch: str, base_commit: CommitSha) -> None:
    if git.status():
        _say(
            f"note: the main checkout has uncommitted changes; they are left alone and not used "
            f"(issues start from {base_branch} at {base_commit[:12]}, in their own worktrees)"
        )


def _check_branches(project: Project, plan: Plan, run_id: RunId) -> dict[IssueNumber, CommitSha]:
    """Refuse branches and folders that are not ours; reuse the work of earlier runs' PRs."""
    reused: dict[IssueNumber, CommitSha] = {}
    for number, issue in plan.issues.items():
        branch = project.branch_for(issue)
        tip = project.git.rev(f"refs/heads/{branch}")
        path = project.worktree_root / f"issue-{number}"
        if tip is not None and _has_open_pr(project, branch):
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


def _has_open_pr(project: Project, branch: str) -> bool:
    return project.forge.pull_request_for(BranchName(branch)) is not None


def _foreign_branch_message(project: Project, branch: str) -> str:
    earlier = project.store.tasks_for_branch(branch)
    if earlier:
        last = earlier[-1]
        return (
            f"branch {branch} already exists, left by issuewave run {last.run_id} "
            f"({last.status}); `issuewave resume --retry-failed` continues that run"
        )
    return f"branch {branch} already exists and was not made by issuewave"


def _baseline(
    project: Project, argv: tuple[str, ...], base: CommitSha, run_id: RunId, allow_failing: bool
) -> frozenset[str]:
    """The tests on the base commit, in a throwaway worktree: failures here are not the agents'."""
    folder = project.store.home / "baseline" / run_id
    project.git.run("worktree", "add", "--quiet", "--detach", str(folder), base)
    try:
        log = folder.parent / f"{run_id}.log"
        env = allowed_environment(project.config.pass_env)
        outcome = asyncio.run(
            proc.supervise(
                argv,
                cwd=folder,
                env=env,
                timeout=project.config.timeout,
                stdout_path=log,
                tag=f"{run_id}-baseline",
            )
        )
    finally:
        project.git.worktree_remove(folder)
    if outcome.returncode == 0:
        return frozenset()
    output = proc.tail(log, lines=40)
    if not allow_failing:
        status = "timed out" if outcome.timed_out else f"exited {outcome.returncode}"
        raise PrecheckError(
            f"the test command fails on the base branch before any agent ran ({status}):\n{output}",
            hint="fix the tests first, or pass --allow-failing-baseline to count only new failures",
        )
    failures = failed_test_ids(proc.tail(log, lines=2000, max_bytes=2_000_000))
    _say(
        f"note: the tests fail on the base branch ({len(failures)} known failures); "
        "only new failures will count"
    )
    return failures


# --- the run record ---------------------------------------------------------------------------
def _create_run(
    project: Project,
    plan: Plan,
    run_id: RunId,
    base_branch: BranchName,
    base_commit: CommitSha,
    reused: Mapping[IssueNumber, CommitSha],
    baseline: frozenset[str],
) -> None:
    ensure_excluded(project.git, project.root, project.worktree_root)
    config = {**project.config.model_dump(), "baseline_failures": sorted(baseline)}
    record = RunRecord(
        run_id,
        time.time(),
        None,
        "running",
        base_branch,
        base_commit,
        project.config.jobs,
        config,
        None,
    )
    waiting = external_waits(project, plan)
    tasks = [_task(project, plan, run_id, n, reused.get(n), waiting.get(n)) for n in plan.issues]
    project.store.create_run(record, tasks)


def external_waits(project: Project, plan: Plan) -> dict[IssueNumber, str]:
    """Issues that wait for open issues outside the selection, and everything after them:
    blocked from the start, never handed to an agent (a GitHub forge's finding)."""
    outside: dict[IssueNumber, tuple[str, ...]] = getattr(project.forge, "blocked_by_external", {})
    waits: dict[IssueNumber, str] = {}
    for number, blockers in sorted(outside.items()):
        if number in plan.issues and blockers:
            waits[number] = f"{WAITS_FOR} {', '.join(blockers)} (open, outside this run)"
            for later in plan.transitive_dependents(number):
                waits.setdefault(later, f"{WAITS_FOR} #{number}, which waits outside this run")
    return waits


def _task(
    project: Project,
    plan: Plan,
    run_id: RunId,
    number: IssueNumber,
    reused_tip: CommitSha | None,
    waits: str | None,
) -> TaskRecord:
    issue = plan.issues[number]
    status = REUSED if reused_tip else BLOCKED if waits else PENDING
    return TaskRecord(
        run_id,
        number,
        issue.title,
        issue.labels,
        plan.deps.get(number, ()),
        plan.wave_of[number] + 1,
        plan.priority[number],
        status,
        project.branch_for(issue),
        str(project.worktree_root / f"issue-{number}"),
        head_commit=reused_tip,
        reason=waits,
    )


def _context(
    project: Project,
    plan: Plan,
    run_id: RunId,
    agent: Agent,
    test_argv: tuple[str, ...],
    base_branch: BranchName,
    base_commit: CommitSha,
    baseline: frozenset[str],
) -> RunContext:
    return RunContext(
        run_id=run_id,
        git=project.git,
        store=project.store,
        forge=project.forge,
        config=project.config,
        plan=plan,
        agent=agent,
        test_argv=test_argv,
        base_branch=base_branch,
        base_commit=base_commit,
        baseline_failures=baseline,
        env=allowed_environment(project.config.pass_env),
        worktree_root=project.worktree_root,
    )


# --- execution, shared with resume --------------------------------------------------------------
def execute(ctx: RunContext, *, as_json: bool, plain: bool) -> int:
    store = ctx.store
    rows = [_row(t) for t in store.tasks(ctx.run_id)]
    store.update_run(ctx.run_id, "run_started", status="running", pid=os.getpid())
    try:
        watcher = Watcher(store, ctx.run_id, ctx.agent)
        with make_view(rows, plain=plain, watcher=watcher) as view:
            outcome = asyncio.run(_supervised(Orchestrator(ctx, view)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        mark_interrupted(store, ctx.run_id, requeue=False)
        store.update_run(
            ctx.run_id, "run_interrupted", status="interrupted", finished_at=time.time()
        )
        _say("interrupted: the agents were stopped; `issuewave resume` continues this run")
        return 130
    return _finish(ctx, outcome, as_json=as_json)


async def _supervised(orchestrator: Orchestrator) -> Outcome:
    """SIGTERM stops the run like Ctrl-C: agents killed, state left resumable."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await orchestrator.run()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _finish(ctx: RunContext, outcome: Outcome, *, as_json: bool) -> int:
    tasks = ctx.store.tasks(ctx.run_id)
    ok = all(t.status in (SUCCEEDED, REUSED) for t in tasks)
    if ctx.forge.api_calls:
        ctx.store.log_event(ctx.run_id, None, "forge_api_calls", count=ctx.forge.api_calls)
    status = "succeeded" if ok else "failed"
    ctx.store.update_run(ctx.run_id, "run_finished", status=status, finished_at=time.time())
    _conflicts_at_the_end(ctx)
    if as_json:
        print(json.dumps(state_json(ctx.store, ctx.run_id), indent=2))
    _say(f"run {ctx.run_id}: {describe_outcome(outcome)}")
    _say("next: `issuewave report` for the summary, `issuewave prs` for the pull requests")
    return 0 if ok else 1


def _conflicts_at_the_end(ctx: RunContext) -> None:
    """Parallel branches that pass alone may collide when merged: say so now, not at merge time."""
    from issuewave.commands.check import record_conflicts  # the check builds on this module

    run = ctx.store.run(ctx.run_id)
    if run is None:
        return
    for pair in record_conflicts(ctx.git, ctx.store, run).conflicts:
        _say(f"conflict: #{pair.a} and #{pair.b} both change {', '.join(pair.files)}; "
             "`issuewave check` for details")  # fmt: skip


def _row(task: TaskRecord) -> Row:
    state = SUCCEEDED if task.status == REUSED else task.status
    return Row(task.issue, task.title, task.wave, state, task.attempts)


def _say(message: str) -> None:
    print(message, file=sys.stderr)
