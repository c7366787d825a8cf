"""A whole wave from the start: pre-flight checks, the run built, then executed.

Nothing is created until every pre-flight check has passed: a git repository with commits, a valid
plan, an agent program that exists, a test command that exists and passes on the base branch, and
hidden acceptance tests that git does not track.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from issuewave import preflight
from issuewave.execution import execute
from issuewave.launch import NewRun, create_run, new_run_id
from issuewave.project import Project
from issuewave.store import run_lock
from issuewave.types import BranchName
from issuewave.ui import say
from issuewave.workspace import add_exclude


@dataclass(frozen=True)
class WaveOptions:
    only: Sequence[int] = ()  # these issues and their dependencies; () for every open issue
    ignore_missing: bool = False  # plan even when an issue depends on one that does not exist
    allow_failing_baseline: bool = False  # only new failures count against an agent
    as_json: bool = False
    plain: bool = False


def start_wave(project: Project, options: WaveOptions) -> int:
    plan = project.plan(ignore_missing=options.ignore_missing, only=options.only)
    if not plan.issues:
        say(f"nothing to do: no open issues in {project.config.issues_dir}")
        return 0
    base_branch = BranchName(project.config.base or project.git.default_branch())
    hidden = preflight.hidden_tests(project, plan, base_branch)
    base_commit = preflight.base_commit(project.git, base_branch)
    agent = preflight.checked_agent(project)
    tests = preflight.checked_test_command(project)
    preflight.note_dirty_checkout(project.git, base_branch, base_commit)
    run_id = new_run_id()
    with run_lock(project.store.home, run_id):
        reused = preflight.reusable_branches(project, plan)
        for pattern in agent.scratch_patterns:  # an agent's caches, not work
            add_exclude(project.git, pattern, f"files the {agent.name} agent leaves behind")
        allow_failing = options.allow_failing_baseline
        baseline = preflight.baseline(project, tests, base_commit, run_id, allow_failing)
        new = NewRun(run_id, plan, agent, tests, base_branch, base_commit, reused, baseline,
                     hidden)  # fmt: skip
        return execute(create_run(project, new), as_json=options.as_json, plain=options.plain)
