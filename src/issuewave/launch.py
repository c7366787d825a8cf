"""Building a run: the run record and its tasks, written once the pre-flight checks passed, and
the context an orchestrator needs, for a new run or one that resumes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from issuewave.agents.base import Agent, allowed_environment
from issuewave.context import RunContext
from issuewave.issues import Issue
from issuewave.plan import Plan, build_plan
from issuewave.preflight import checked_agent, checked_test_command
from issuewave.project import Project
from issuewave.store import BLOCKED, PENDING, REUSED, RunRecord, TaskRecord
from issuewave.testbed import TestCommand
from issuewave.testids import TestResults
from issuewave.types import BranchName, CommitSha, IssueNumber, RunId
from issuewave.workspace import ensure_excluded

WAITS_FOR = "waits for"  # the reason of an issue blocked outside the run; never retried blindly


def new_run_id() -> RunId:
    return RunId(time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])


@dataclass(frozen=True)
class NewRun:
    """What the pre-flight checks found, from which the run is built."""

    run_id: RunId
    plan: Plan
    agent: Agent
    tests: TestCommand
    base_branch: BranchName
    base_commit: CommitSha
    reused: Mapping[IssueNumber, CommitSha]
    baseline: TestResults  # the tests on the base commit
    acceptance: Mapping[IssueNumber, Path] = field(default_factory=dict)  # hidden test folders


def create_run(project: Project, new: NewRun) -> RunContext:
    """The run and its tasks in the store, in one transaction; then its context."""
    ensure_excluded(project.git, project.root, project.worktree_root)
    config = {**project.config.model_dump(), "baseline_failures": sorted(new.baseline.failed)}
    record = RunRecord(new.run_id, time.time(), None, "running", new.base_branch,
                       new.base_commit, project.config.jobs, config, None)  # fmt: skip
    waiting = external_waits(project, new.plan)
    tasks = [_task(project, new, number, waiting.get(number)) for number in new.plan.issues]
    project.store.create_run(record, tasks, new.baseline.as_json())
    return _context(project, new.run_id, new.plan, new.agent, new.tests, record)


def external_waits(project: Project, plan: Plan) -> dict[IssueNumber, str]:
    """Issues that wait for open issues outside the selection, and everything after them:
    blocked from the start, never handed to an agent."""
    waits: dict[IssueNumber, str] = {}
    for number, blockers in sorted(project.issue_set.waits_outside.items()):
        if number in plan.issues and blockers:
            waits[number] = f"{WAITS_FOR} {', '.join(blockers)} (open, outside this run)"
            for later in plan.transitive_dependents(number):
                waits.setdefault(later, f"{WAITS_FOR} #{number}, which waits outside this run")
    return waits


def _task(project: Project, new: NewRun, number: IssueNumber, waits: str | None) -> TaskRecord:
    issue, plan = new.plan.issues[number], new.plan
    reused_tip = new.reused.get(number)
    status = REUSED if reused_tip else BLOCKED if waits else PENDING
    return TaskRecord(
        new.run_id,
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
        acceptance=_relative(project, new.acceptance.get(number)),
    )


def _relative(project: Project, folder: Path | None) -> str | None:
    return folder.relative_to(project.root).as_posix() if folder is not None else None


def resumed_context(project: Project, run: RunRecord) -> RunContext:
    """A run goes on with its own graph and settings; the agent and tests checked again."""
    plan = _plan_from_tasks(project, project.store.tasks(run.id))
    agent, tests = checked_agent(project), checked_test_command(project)
    return _context(project, run.id, plan, agent, tests, run)


def _context(
    project: Project, run_id: RunId, plan: Plan, agent: Agent, tests: TestCommand, run: RunRecord
) -> RunContext:
    return RunContext(
        run_id=run_id,
        git=project.git,
        store=project.store,
        forge=project.forge,
        config=project.config,
        plan=plan,
        agent=agent,
        tests=tests,
        base_branch=BranchName(run.base_branch),
        base_commit=CommitSha(run.base_commit),
        baseline_failures=frozenset(run.config.get("baseline_failures", [])),
        env=allowed_environment(project.config.pass_env),
        worktree_root=project.worktree_root,
    )


def _plan_from_tasks(project: Project, tasks: Sequence[TaskRecord]) -> Plan:
    """The run's own graph; issue texts re-read from the forge when they are still there."""
    current = {i.number: i for i in _readable_issues(project)}
    issues = [
        Issue(t.issue, t.title, _body(current.get(t.issue)), t.labels, t.depends_on) for t in tasks
    ]
    return build_plan(issues, ignore_missing=True)


def _body(issue: Issue | None) -> str:
    return issue.body if issue is not None else ""


def _readable_issues(project: Project) -> Sequence[Issue]:
    try:
        return project.issue_set.issues
    except Exception:  # the issue files may have changed; the run's own records suffice
        return ()
