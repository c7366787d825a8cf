"""`issuewave check`: which verified branches conflict, and (--integration) do they work together;
(--repair) redo each conflicting branch on top of the other.

The conflict part runs automatically at the end of `run` too (`issuewave.conflicts`).
"""

from __future__ import annotations

import json
from pathlib import Path

from issuewave.conflicts import integration_run, record_conflicts
from issuewave.integrate import CheckResult
from issuewave.preflight import checked_test_command
from issuewave.project import Project, open_project
from issuewave.repair import repair as redo
from issuewave.runs import pick_run, run_config
from issuewave.ui import out, say


def check(
    *, cwd: Path, as_json: bool = False, integration: bool = False, repair: bool = False
) -> int:
    opened = open_project(cwd)
    run = pick_run(opened.store, None)
    if repair:
        return redo(opened, run, plain=not as_json)
    project = Project(opened.git, run_config(run))
    result = record_conflicts(project.git, project.store, run)
    report: dict[str, object] = result.as_json()
    broken = False
    if integration:
        tests = checked_test_command(project)
        verdict = integration_run(project.git, project.store, run, tests)
        report["integration"] = verdict
        broken = not verdict["passed"]
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print(result, report.get("integration"))
    return 1 if result.conflicts or broken else 0


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
