"""The dashboard's HTML: server-rendered pages that a small script keeps live.

Each page is complete without the script (a reload shows the present state); the script only
applies the server-sent snapshots to it. Every piece of text from an issue or an agent goes
through `html.escape` here, and through `textContent` in the script: never through innerHTML.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from urllib.parse import quote

from issuewave.findings import Findings, clean_summary, describe
from issuewave.live import IssueNow, RunNow, clock
from issuewave.naming import one_line
from issuewave.report import html as report_html
from issuewave.report import markdown
from issuewave.report.metrics import Figures
from issuewave.store import AttemptRecord, PullRecord, RunRecord, TaskRecord

DASHBOARD_CSS = """
nav { margin-bottom: 1em; } nav a { margin-right: 1em; }
.counts span { margin-right: 1.2em; } .counts b { font-size: 1.2em; }
th { white-space: nowrap; } td.state { font-weight: bold; }
td.last { max-width: 420px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; color: #555; }
tr.state-running td.state, tr.state-verifying td.state { color: #3b6fb6; }
tr.state-succeeded td.state, tr.state-reused td.state { color: #2e9d57; }
tr.state-failed td.state, tr.state-blocked td.state { color: #c0392b; }
pre { background: #111; color: #ddd; padding: 0.8em; max-height: 32em; overflow: auto;
      white-space: pre-wrap; word-break: break-all; font-size: 12px; }
pre.prompt { background: #f7f7f7; color: #222; }
.live-dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
            background: #bbb; margin-right: 6px; } .live-dot.on { background: #2e9d57; }
"""
STATE_COLOURS = {**report_html.STATE_COLOURS, "verifying": "#e6b800"}


@dataclass(frozen=True)
class IssuePage:
    run: RunRecord
    task: TaskRecord
    now: IssueNow | None
    attempts: list[AttemptRecord]
    shown: AttemptRecord | None
    latest: bool  # the page follows the issue's latest attempt (no ?attempt= given)
    prompt: str
    diff_stat: str
    pull: PullRecord | None


def document(title: str, body: str, *, script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{report_html.CSS}{DASHBOARD_CSS}</style>\n</head>\n<body>\n"
        '<nav><a href="/runs">Runs</a></nav>\n'
        f"{body}\n{js}\n</body>\n</html>\n"
    )


def runs_page(project: str, runs: Sequence[tuple[RunRecord, dict[str, int]]]) -> str:
    rows = []
    for run, counts in runs:
        link = f'<a href="{run_url(run.id)}">{escape(run.id)}</a>'
        figures = [str(counts[key]) for key in ("issues", "done", "failed")]
        rows.append(
            [link, escape(markdown.local_date(run.created_at)), escape(run.status), *figures]
        )
    headers = ("Run", "Started", "Status", "Issues", "Done", "Failed")
    table = _html_table("runs", headers, rows)
    empty = "<p>No run yet in this repository: start one with <code>issuewave run</code>.</p>"
    heading = f"<h1>{escape(project)}: runs</h1>"
    return document(f"{project} — runs", heading + (table if runs else empty))


def _html_table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of cells that are HTML already (escaped by their maker)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def run_page(
    project: str, snapshot: RunNow, figures: Figures, attempts: Sequence[AttemptRecord]
) -> str:
    issues = report_html.ordered(figures.issues)
    critical = figures.run.critical_path
    body = [
        f"<h1>{escape(project)} — run <code>{escape(snapshot.id)}</code></h1>",
        _counts(snapshot),
        "<h2>Issues</h2>",
        live_table(snapshot),
        "<h2>Dependency graph</h2>",
        f'<div id="graph">{report_html.graph(issues, critical)}</div>',
        "<h2>Timeline</h2>",
        f'<div id="gantt">{report_html.gantt(issues, attempts, critical)}</div>',
        "<h2>Figures</h2>",
        f'<div id="figures">{figures_table(figures)}</div>',
        "<h2>Tests</h2>",
        f'<div id="tests">{report_html.tests_section(figures)}</div>',
    ]
    return document(
        f"{project} — run {snapshot.id}", "\n".join(body), script=_script(snapshot.id, None)
    )


def _counts(snapshot: RunNow) -> str:
    counts = snapshot.counts
    parts = [f'<span><span class="live-dot" id="live-dot" title="live updates"></span>'
             f'<span id="run-status">{escape(snapshot.status)}</span></span>']  # fmt: skip
    for key in ("done", "running", "waiting", "failed"):
        parts.append(f'<span>{key} <b id="count-{key}">{counts[key]}</b></span>')
    elapsed = clock(snapshot.elapsed_s(time.time()))
    parts.append(f'<span>elapsed <b id="run-elapsed">{elapsed}</b></span>')
    return f'<p class="counts">{"".join(parts)}</p>'


LIVE_COLUMNS = ("Issue", "Wave", "State", "Try", "Elapsed", "Agent", "Tokens", "Cost", "Title",
                "Agent's last line")  # fmt: skip


def live_table(snapshot: RunNow) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in LIVE_COLUMNS)
    rows = "".join(_live_row(snapshot.id, i) for i in snapshot.issues)
    return f'<table id="live"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _live_row(run_id: str, issue: IssueNow) -> str:
    elapsed = issue.elapsed_s(time.time())
    cells = [
        ("issue", f'<a href="{issue_url(run_id, issue.number)}">#{issue.number}</a>'),
        ("wave", str(issue.wave)),
        ("state", escape(issue.state)),
        ("attempt", str(issue.attempt or "")),
        ("elapsed", clock(elapsed) if elapsed is not None else ""),
        ("agent", escape(issue.agent or "")),
        ("tokens", f"{issue.tokens:,}" if issue.tokens else ""),
        ("cost", f"${issue.cost_usd:.2f}" if issue.cost_usd is not None else ""),
        ("title", escape(one_line(issue.title, 60))),
        ("last", escape(issue.last_line)),
    ]
    tds = "".join(f'<td class="{name}">{value}</td>' for name, value in cells)
    return f'<tr id="issue-{issue.number}" class="state-{escape(issue.state)}">{tds}</tr>'


def figures_table(figures: Figures) -> str:
    table = report_html.table(markdown.METRIC_HEADERS, markdown.metric_rows(figures.run))
    if figures.run.status == "running":
        return (
            "<p><i>So far: the run is still going; these cover what has happened.</i></p>" + table
        )
    return table


def issue_page(project: str, page: IssuePage) -> str:
    task = page.task
    state = page.now.state if page.now else task.status
    deps = ", ".join(f'<a href="{issue_url(page.run.id, d)}">#{d}</a>' for d in task.depends_on)
    body = [
        f"<h1>#{task.issue} {escape(task.title)}</h1>",
        f'<p>Run <a href="{run_url(page.run.id)}"><code>{escape(page.run.id)}</code></a> · '
        f'state <b id="issue-state">{escape(state)}</b> · wave {task.wave} · branch '
        f"<code>{escape(task.branch)}</code>" + (f" · depends on {deps}" if deps else "") + "</p>",
        # Re-read by the script when the attempt ends (see refreshIssue in dashboard.js).
        '<div id="issue-facts">',
        _pull(page.pull),
        f"<p>{escape(task.reason)}</p>" if task.reason else "",
        "<h2>Attempts</h2>",
        _attempts(page),
        _tests(page.shown),
        "</div>",
    ]
    if page.shown is not None:
        shown = page.shown.number
        body += [
            f"<h2>Agent output (attempt {shown})</h2>",
            '<pre id="agent-out" class="stream" data-stream="out"></pre>',
            "<details><summary>Agent's stderr</summary>"
            '<pre id="agent-err" class="stream" data-stream="err"></pre></details>',
            f"<h2>Test output (attempt {shown})</h2>",
            '<pre id="tests-log" class="stream" data-stream="tests"></pre>',
        ]
    body += [
        "<h2>Diff stat</h2>",
        f'<pre class="prompt" id="diff-stat">{escape(page.diff_stat or "no change yet")}</pre>',
        "<h2>Prompt</h2>",
        f'<pre class="prompt" id="prompt">{escape(page.prompt or "not written yet")}</pre>',
    ]
    shown_number = page.shown.number if page.shown else None
    script = _script(page.run.id, (task.issue, shown_number), latest=page.latest)
    return document(f"#{task.issue} {task.title}", "\n".join(b for b in body if b), script=script)


def _pull(pull: PullRecord | None) -> str:
    if pull is None:
        return "<p>No pull request yet.</p>"
    number = pull.remote_number or pull.number
    what = f"pull request #{number}: {escape(pull.title)} ({escape(pull.state)})"
    if pull.url and pull.url.startswith(("https://", "http://")):  # never a javascript: link
        return f'<p id="pull"><a href="{escape(pull.url)}">{what}</a></p>'
    where = f"<code>{escape(pull.head)}</code> into <code>{escape(pull.base)}</code>"
    return f'<p id="pull">{what}, {where}</p>'


def _attempts(page: IssuePage) -> str:
    if not page.attempts:
        return "<p>No attempt yet.</p>"
    headers = ("Attempt", "Status", "Agent", "Started", "Agent s", "Tests s", "Exit", "Tokens",
               "Cost", "Reason")  # fmt: skip
    rows = []
    for a in page.attempts:
        link = f'<a href="{issue_url(a.run_id, a.issue)}?attempt={a.number}">{a.number}</a>'
        agent_s = (a.agent_finished_at or a.finished_at or time.time()) - a.started_at
        tests_s = (
            (a.finished_at or time.time()) - a.agent_finished_at if a.agent_finished_at else None
        )
        cells = [
            link,
            escape(a.status),
            escape(a.agent),
            escape(markdown.local_date(a.started_at)),
            f"{agent_s:.1f}",
            f"{tests_s:.1f}" if tests_s is not None else "",
            "" if a.exit_code is None else str(a.exit_code),
            f"{a.input_tokens + a.output_tokens:,}" if a.input_tokens + a.output_tokens else "",
            f"${a.cost_usd:.4f}" if a.cost_usd is not None else "",
            escape(one_line(a.reason or "", 200)),
        ]
        rows.append(cells)
    return _html_table("attempts", headers, rows)


def _tests(shown: AttemptRecord | None) -> str:
    """What verification found about the shown attempt's tests (the hidden tests' names too:
    this page is the user's, never the agent's)."""
    findings = Findings.loads(shown.test_findings) if shown is not None else None
    if shown is None or findings is None:
        return ""
    said = describe(findings, limit=50) or [clean_summary(findings)]
    items = "".join(f"<li>{escape(line)}</li>" for line in said)
    return f'<h2>Tests (attempt {shown.number})</h2><ul id="tests">{items}</ul>'


def run_url(run_id: str) -> str:
    return f"/runs/{quote(run_id, safe='')}"


def issue_url(run_id: str, issue: int) -> str:
    return f"{run_url(run_id)}/issues/{issue}"


def _script(run_id: str, issue: tuple[int, int | None] | None, *, latest: bool = False) -> str:
    settings = {
        "run": run_url(run_id),
        "latest": latest,
        "issue": issue[0] if issue else None,
        "attempt": issue[1] if issue else None,
        "colours": STATE_COLOURS,
    }
    # JSON inside a <script>: "</" is escaped so no value can close the element.
    data = json.dumps(settings).replace("</", "<\\/")
    code = resources.files("issuewave.web").joinpath("dashboard.js").read_text(encoding="utf-8")
    return f"const ISSUEWAVE = {data};\n{code}"
