"""`issuewave check`: which verified branches conflict, and (--integration) do they work together.

Runs automatically at the end of `run` (the conflict part); its findings go into the journal, so
`status`, the report and the next `plan` show them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from issuewave import integrate, proc
from issuewave.agents.base import allowed_environment
from issuewave.commands.run import checked_test_command
from issuewave.git import Git
from issuewave.integrate import Branch, CheckResult, Integration
from issuewave.plan import dependency_order
from issuewave.project import Project, open_project
from issuewave.runs import pick_run, run_config
from issuewave.store import DONE_STATES, RunRecord, Store
from issuewave.types import CommitSha, IssueNumber
from issuewave.ui import out, say


def check(
    *, cwd: Path, as_json: bool = False, integration: bool = False, repair: bool = False
) -> int:
    opened = open_project(cwd)
    run = pick_run(opened.store, None)
    if repair:
        from issuewave.commands.repair import repair as redo  # repair builds on check

        return redo(opened, run, plain=not as_json)
    project = Project(opened.git, run_config(run))
    result = conflict_check(project, run)
    report: dict[str, object] = result.as_json()
    broken = False
    if integration:
        verdict = integration_run(project, run)
        report["integration"] = verdict
        broken = not verdict["passed"]
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print(result, report.get("integration"))
    return 1 if result.conflicts or broken else 0


def verified_branches(store: Store, run: RunRecord) -> list[Branch]:
    return [
        Branch(t.issue, CommitSha(t.head_commit), CommitSha(t.base_commit or run.base_commit))
        for t in store.tasks(run.id)
        if t.status in DONE_STATES and t.head_commit
    ]


def conflict_check(project: Project, run: RunRecord) -> CheckResult:
    return record_conflicts(project.git, project.store, run)


def record_conflicts(git: Git, store: Store, run: RunRecord) -> CheckResult:
    """Trial merges of the run's verified branches, journalled for status, report and plan."""
    deps = {t.issue: t.depends_on for t in store.tasks(run.id)}
    result = integrate.check(git, verified_branches(store, run), deps)
    store.log_event(run.id, None, "conflict_check", **result.as_json())
    return result


def integration_run(project: Project, run: RunRecord) -> dict[str, object]:
    """Merge every verified branch in dependency order, test the result, and if it fails,
    bisect over the merges for the first one after which the tests broke."""
    tasks = {t.issue: t for t in project.store.tasks(run.id)}
    branches = {b.issue: b for b in verified_branches(project.store, run)}
    order = [
        n for n in dependency_order({n: tasks[n].depends_on for n in branches}) if n in branches
    ]
    merged = integrate.integrate(
        project.git, CommitSha(run.base_commit), [branches[n] for n in order]
    )
    verdict = _judge(project, run, merged)
    project.store.log_event(run.id, None, "integration_run", **verdict)
    return verdict


def _judge(project: Project, run: RunRecord, merged: Integration) -> dict[str, object]:
    if merged.conflict is not None:
        issue, files = merged.conflict
        return {"passed": False, "merged": [s.issue for s in merged.steps],
                "conflict": {"issue": issue, "files": list(files)}, "broken_by": issue}  # fmt: skip
    if not merged.steps:
        return {"passed": True, "merged": [], "broken_by": None}
    tester = _Tester(project, run)
    try:
        if tester.passes(merged.steps[-1].commit):
            return {"passed": True, "merged": [s.issue for s in merged.steps], "broken_by": None}
        culprit = _first_failing(tester, merged.steps)
    finally:
        tester.close()
    return {"passed": False, "merged": [s.issue for s in merged.steps], "broken_by": culprit,
            "commit": merged.steps[-1].commit}  # fmt: skip


def _first_failing(tester: _Tester, steps: Sequence[integrate.Step]) -> IssueNumber:
    """Binary search: the tests pass on the base and fail after the last merge."""
    low, high = 0, len(steps) - 1  # steps[high] fails; find the first failing index
    while low < high:
        middle = (low + high) // 2
        if tester.passes(steps[middle].commit):
            low = middle + 1
        else:
            high = middle
    return steps[low].issue


class _Tester:
    """The test command in one temporary worktree, moved from commit to commit."""

    def __init__(self, project: Project, run: RunRecord) -> None:
        self.project = project
        self.argv = checked_test_command(project)
        self.folder = project.store.home / "integration" / run.id
        self.log = self.folder.parent / f"{run.id}.log"
        self.env = allowed_environment(project.config.pass_env)
        self.tag = f"{run.id}-integration"
        if self.folder.exists():
            project.git.worktree_remove(self.folder)
        project.git.run("worktree", "add", "--quiet", "--detach", str(self.folder), run.base_commit)

    def passes(self, commit: str) -> bool:
        self.project.git.at(self.folder).run("checkout", "--quiet", "--detach", commit)
        self.log.unlink(missing_ok=True)
        outcome = asyncio.run(
            proc.supervise(self.argv, cwd=self.folder, env=self.env,
                           timeout=self.project.config.timeout, stdout_path=self.log, tag=self.tag)
        )  # fmt: skip
        return outcome.returncode == 0

    def close(self) -> None:
        self.project.git.worktree_remove(self.folder)


def _print(result: CheckResult, integration: object) -> None:
    if not result.conflicts and not result.overlaps:
        out.print("no conflicts between the verified branches")
    for pair in result.conflicts:
        out.print(f"CONFLICT #{pair.a} and #{pair.b}: {', '.join(pair.files)}", markup=False)
    for pair in result.overlaps:
        out.print(f"overlap #{pair.a} and #{pair.b} (merge cleanly; worth a look): "
                  f"{', '.join(pair.files)}", markup=False)  # fmt: skip
    if isinstance(integration, dict):
        if integration["passed"]:
            out.print("integration: every verified branch merged together passes the tests")
        elif "conflict" in integration:
            say(f"integration: merging #{integration['broken_by']} conflicts")
        else:
            out.print(f"integration: the tests fail together; they broke after merging "
                      f"#{integration['broken_by']}", markup=False)  # fmt: skip
