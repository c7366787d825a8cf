"""`issuewave report`: the completion summary (Markdown or HTML) or its figures (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from issuewave.errors import IssuewaveError
from issuewave.files import write_atomically
from issuewave.project import open_project
from issuewave.report import html, markdown
from issuewave.report.metrics import compute
from issuewave.runs import pick_run
from issuewave.ui import say

FORMATS = ("markdown", "json", "html")


def report(
    *,
    cwd: Path,
    run_id: str | None = None,
    as_json: bool = False,
    output: Path | None = None,
    format: str | None = None,
) -> int:
    chosen = format or ("json" if as_json else "markdown")
    if chosen not in FORMATS:
        raise IssuewaveError(f"unknown report format {chosen!r}", hint="markdown, json or html")
    if as_json and chosen != "json":
        raise IssuewaveError("--json and --format disagree", hint="give one of them")
    project = open_project(cwd)
    run = pick_run(project.store, run_id)
    figures = compute(project.store, run)
    if chosen == "json":
        text = json.dumps(figures.as_json(), indent=2) + "\n"
    elif chosen == "html":
        attempts = project.store.attempts(run.id)
        text = html.render(figures, attempts, project=project.root.name)
    else:
        text = markdown.render(figures, project=project.root.name, html_report=_beside(output))
    if output is None:
        print(text, end="")
    else:
        write_atomically(output, text)
        say(f"wrote {output}")
    return 0


def _beside(output: Path | None) -> str | None:
    """The HTML report written next to the Markdown one (same name, .html), if there is one."""
    if output is None:
        return None
    sibling = output.with_suffix(".html")
    return sibling.name if sibling != output and sibling.is_file() else None
