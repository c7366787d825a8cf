"""`issuewave report`: the completion summary (Markdown) or its figures (JSON)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from issuewave.commands._shared import pick_run, say
from issuewave.project import open_project
from issuewave.report import markdown
from issuewave.report.metrics import compute


def report(
    *, cwd: Path, run_id: str | None = None, as_json: bool = False, output: Path | None = None
) -> int:
    project = open_project(cwd)
    run = pick_run(project.store, run_id)
    figures = compute(project.store, run)
    if as_json:
        text = json.dumps(figures.as_json(), indent=2) + "\n"
    else:
        text = markdown.render(figures, project=project.root.name)
    if output is None:
        print(text, end="")
    else:
        write_atomically(output, text)
        say(f"wrote {output}")
    return 0


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target and rename: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    Path(temporary).replace(path)
