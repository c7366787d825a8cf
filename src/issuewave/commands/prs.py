"""`issuewave prs`: the pull-request records of the local forge, in the order they were opened."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from issuewave.naming import one_line
from issuewave.project import open_project
from issuewave.ui import out


def prs(*, cwd: Path, as_json: bool = False) -> int:
    project = open_project(cwd)
    records = project.store.pull_requests()
    if as_json:
        print(json.dumps([asdict(r) for r in records], indent=2))
        return 0
    if not records:
        out.print("no pull-request records yet")
        return 0
    table = Table()
    for column in ("PR", "Issue", "State", "Head", "Base", "Title", "Body"):
        table.add_column(column, overflow="fold")
    for r in records:
        body = " / ".join(line for line in r.body.splitlines()[:2] if line)
        table.add_row(
            f"#{r.number}",
            f"#{r.issue}",
            r.state,
            r.head,
            r.base,
            escape(one_line(r.title, 60)),
            escape(body),
        )
    out.print(table)
    return 0
