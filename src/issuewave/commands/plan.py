"""`issuewave plan`: the waves, the critical path, and optionally the execution-plan document."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from issuewave import acceptance
from issuewave.config import detect_test_cmd
from issuewave.files import write_atomically
from issuewave.findings import OFF
from issuewave.launch import external_waits
from issuewave.plan import Plan
from issuewave.planfile import plan_json, plan_markdown, plan_table
from issuewave.preflight import hidden_tests
from issuewave.project import Project, open_project
from issuewave.sandbox import resolve_sandbox
from issuewave.testids import ids_note
from issuewave.types import IssueNumber
from issuewave.ui import out, say


def forge_notes(project: Project, the_plan: Plan) -> list[str]:
    """What the forge found that the table cannot show: outside blockers, untrusted authors."""
    found = project.issue_set
    notes = [
        f"#{n} {reason}: it will not start"
        for n, reason in external_waits(project, the_plan).items()
    ]
    notes += _last_conflicts(project)
    for number in the_plan.issues:
        elsewhere = found.cross_repository.get(number, ())
        if elsewhere:
            listed = ", ".join(elsewhere)
            notes.append(f"#{number} refers to {listed} in another repository (shown, not tracked)")
    if found.untrusted:
        notes.append(
            "left out, not handed to an agent (written by someone outside the trusted authors; "
            "add them with --trusted-authors or label the issue with require_label):"
        )
        notes += [f"  #{n}: {reason}" for n, reason in sorted(found.untrusted.items())]
    return notes


def test_notes(project: Project, hidden: Mapping[IssueNumber, Path]) -> list[str]:
    """How the tests will be read and judged, and which issues have hidden acceptance tests
    (how many files, never what they hold)."""
    notes = acceptance.describe(project.root, hidden)
    status = resolve_sandbox(project.config.sandbox)  # `bwrap` that does not work: refused here
    notes.append(f"sandbox: {status.shown}; processes: {status.processes}")
    if project.config.tests_policy != OFF:
        command = project.config.test_cmd or detect_test_cmd(project.root) or "the test command"
        ids = ids_note(command, project.config.test_reports)
        notes.append(f"tests_policy {project.config.tests_policy}: {ids}")
    return notes


def _last_conflicts(project: Project) -> list[str]:
    """The previous run's conflicting branches: worth knowing before the next one."""
    run = project.store.latest_run()
    checks = (
        [e.data for e in project.store.events(run.id) if e.kind == "conflict_check"] if run else []
    )
    if not checks:
        return []
    return [
        f"the last run's branches for #{p['a']} and #{p['b']} conflict in {', '.join(p['files'])}"
        for p in checks[-1].get("conflicts", [])
    ]


def plan(
    *,
    cwd: Path,
    overrides: Mapping[str, Any],
    as_json: bool = False,
    write: Path | None = None,
    ignore_missing: bool = False,
) -> int:
    project = open_project(cwd, overrides)
    the_plan = project.plan(ignore_missing=ignore_missing)
    base = project.config.base or project.git.default_branch()
    hidden = hidden_tests(project, the_plan, base)  # refused here already when git tracks them
    if as_json:
        print(json.dumps(plan_json(the_plan, project.branch_for), indent=2))
    elif not the_plan.issues:
        out.print(f"nothing to do: no open issues in {project.config.issues_dir}")
    else:
        out.print(plan_table(the_plan, project.branch_for))
        path = " → ".join(f"#{n}" for n in the_plan.critical_path)
        out.print(f"critical path ({len(the_plan.critical_path)} issues): {path}")
        for line in [*forge_notes(project, the_plan), *test_notes(project, hidden)]:
            out.print(line, markup=False)
    if write is not None:
        test_cmd = project.config.test_cmd or detect_test_cmd(project.root) or "(not set)"
        document = plan_markdown(
            the_plan,
            branch_for=project.branch_for,
            test_cmd=test_cmd,
            project=project.root.name,
            date=time.strftime("%Y-%m-%d"),
            jobs=project.config.jobs,
        )
        write_atomically(write, document)
        say(f"wrote the execution plan to {write}")
    return 0
