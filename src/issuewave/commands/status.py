"""`issuewave status`: the state of the latest (or a named) run, readable while it runs."""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from issuewave.findings import IDS_UNKNOWN, OFF
from issuewave.naming import one_line
from issuewave.progress import STATE_STYLE
from issuewave.project import open_project
from issuewave.report.metrics import compute, findings_by_issue
from issuewave.runs import orchestrator_alive, pick_run
from issuewave.ui import out


def status(*, cwd: Path, run_id: str | None = None, as_json: bool = False) -> int:
    project = open_project(cwd)
    run = pick_run(project.store, run_id)
    figures = compute(project.store, run)
    if as_json:
        print(json.dumps(figures.as_json(), indent=2))
        return 0
    state = run.status
    if state == "running" and not orchestrator_alive(project.store.home):
        state = "stopped (the orchestrator is gone: `issuewave resume` continues it)"
    out.print(f"run {run.id}: {state}; base {run.base_branch} at {run.base_commit[:12]}")
    table = Table()
    columns = ("Issue", "Wave", "State", "Attempts", "Time", "Agent", "Tokens", "Cost", "PR")
    for column in (*columns, "Title / reason / agent's last word"):
        table.add_column(column, overflow="fold")
    for i in figures.issues:
        style = STATE_STYLE.get(i.status, "")
        detail = i.title if not i.reason or i.status == "succeeded" else f"{i.title} — {i.reason}"
        if i.final_message:
            detail += f" — “{one_line(i.final_message, 80)}”"
        tokens = i.tokens["input"] + i.tokens["output"]
        table.add_row(
            f"#{i.number}",
            str(i.wave),
            f"[{style}]{i.status}[/]",
            str(i.attempts),
            f"{i.duration_s:.1f}s",
            i.agent or "",
            f"{tokens:,}" if tokens else "",
            f"${i.cost_usd:.4f}" if i.cost_usd is not None else "",
            f"#{i.pr}" if i.pr else "",
            escape(one_line(detail, 200)),
        )
    out.print(table)
    if figures.run.tests_policy != OFF and not figures.run.test_ids:
        out.print(IDS_UNKNOWN, markup=False)
    for number, line in findings_by_issue(figures.issues):
        out.print(f"#{number} tests: {line}", markup=False)
    for pair in figures.run.conflicts:
        out.print(
            f"conflict: #{pair['a']} and #{pair['b']}: {', '.join(pair['files'])}", markup=False
        )
    return 0
