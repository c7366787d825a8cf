"""`issuewave land`: merge the verified work into the base branch, in dependency order.

The forge lands it: the local forge merges in a scratch checkout with the tests green after every
step; GitHub merges the pull requests through its API (see each forge's lander).
"""

from __future__ import annotations

from pathlib import Path

from issuewave.forges.base import Landing
from issuewave.plan import dependency_order
from issuewave.preflight import checked_test_command
from issuewave.project import Project, open_project
from issuewave.runs import pick_run, run_config
from issuewave.store import DONE_STATES, run_lock


def land(*, cwd: Path, squash: bool = False, dry_run: bool = False) -> int:
    opened = open_project(cwd)
    run = pick_run(opened.store, None)
    project = Project(opened.git, run_config(run))
    tasks = [t for t in project.store.tasks(run.id) if t.status in DONE_STATES and t.head_commit]
    by_issue = {t.issue: t for t in tasks}
    ordered = [by_issue[n] for n in dependency_order({t.issue: t.depends_on for t in tasks})]
    landing = Landing(
        project.git, project.store, run, ordered,
        tests=lambda: checked_test_command(project), squash=squash, dry_run=dry_run,
    )  # fmt: skip
    with run_lock(project.store.home, f"land of {run.id}"):
        return project.forge.land(landing)
