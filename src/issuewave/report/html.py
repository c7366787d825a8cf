"""The completion summary as one self-contained HTML file: inline CSS, inline SVG, nothing fetched.

A Gantt chart of every attempt (agent phase, then verification), the dependency graph by wave,
and the Markdown report's tables. Every piece of text from an issue goes through `html.escape`;
the SVG is built by string formatting of escaped values and numbers only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from issuewave.naming import one_line
from issuewave.report import markdown
from issuewave.report.metrics import Figures, IssueFigures, findings_by_issue
from issuewave.store import AttemptRecord

VERIFIED = "verified"  # an attempt's status when it passed verification (see orchestrator)

# Gantt geometry, in SVG user units (pixels).
LABEL_W = 260
CHART_W = 760
ROW_H = 26
BAR_H = 16
AXIS_H = 34
TOP = 10

# Dependency graph geometry.
COL_W = 200
NODE_W = 130
NODE_H = 34
NODE_GAP = 22
GRAPH_TOP = 34

PHASE_COLOURS = {
    ("agent", "ok"): "#3b6fb6",
    ("verify", "ok"): "#7fb0e6",
    ("agent", "failed"): "#c0392b",
    ("verify", "failed"): "#eba49c",
    ("agent", "other"): "#7f8c8d",
    ("verify", "other"): "#c3cacb",
}
STATE_COLOURS = {
    "succeeded": "#2e9d57",
    "failed": "#c0392b",
    "blocked": "#e08e0b",
    "reused": "#8e7cc3",
    "running": "#3b6fb6",
    "interrupted": "#7f8c8d",
    "pending": "#bdc3c7",
}

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
.critical-label { font-weight: bold; }
.axis line { stroke: #ccc; } .axis text { fill: #555; }
.edge { stroke: #555; stroke-width: 1.5; fill: none; }
code { background: #f4f4f4; padding: 0 3px; }
"""


@dataclass(frozen=True)
class Phase:
    """One bar of the Gantt chart: an attempt's agent or verification phase, in run seconds."""

    issue: int
    attempt: int
    kind: str  # "agent" or "verify"
    outcome: str  # "ok", "failed" or "other"
    start_s: float
    end_s: float


def render(
    figures: Figures, attempts: Sequence[AttemptRecord], *, project: str, now: float | None = None
) -> str:
    """The whole document."""
    run = figures.run
    issues = ordered(figures.issues)
    title = f"{project} Issue Wave — Completion Summary"
    body = [
        f"<h1>{escape(title)}</h1>",
        _header(figures),
        "<h2>Timeline</h2>",
        gantt(issues, attempts, run.critical_path, now=now),
        "<h2>Dependency graph</h2>",
        graph(issues, run.critical_path),
        _tables(figures),
        f"<p><small>Every figure was computed from run {escape(run.id)}'s journal; nothing is "
        f"estimated. Generated {escape(_now())} by issuewave.</small></p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def ordered(issues: Sequence[IssueFigures]) -> list[IssueFigures]:
    """One row per issue, by wave then number."""
    return sorted(issues, key=lambda i: (i.wave, i.number))


def phases(attempts: Sequence[AttemptRecord], origin: float, now: float) -> list[Phase]:
    """Each attempt as its agent phase and, once the agent finished, its verification phase."""
    found = []
    for a in attempts:
        outcome = "ok" if a.status == VERIFIED else "failed" if a.status == "failed" else "other"
        agent_end = a.agent_finished_at or a.finished_at or now
        found.append(
            Phase(a.issue, a.number, "agent", outcome, a.started_at - origin, agent_end - origin)
        )
        if a.agent_finished_at is not None:
            end = a.finished_at or now
            found.append(
                Phase(a.issue, a.number, "verify", outcome, agent_end - origin, end - origin)
            )
    return found


def gantt(
    issues: Sequence[IssueFigures],
    attempts: Sequence[AttemptRecord],
    critical: Sequence[int],
    *,
    now: float | None = None,
) -> str:
    """The attempts over time: one row per issue, the time axis in seconds from the first start."""
    if not attempts:
        return "<p>No attempts yet.</p>"
    origin = min(a.started_at for a in attempts)
    bars = phases(attempts, origin, now if now is not None else time.time())
    span = max([b.end_s for b in bars] + [0.001])
    scale = CHART_W / span
    height = TOP + ROW_H * len(issues) + AXIS_H
    rows = [_gantt_row(n, i, bars, scale, i.number in critical) for n, i in enumerate(issues)]
    return (
        f'<svg class="gantt" width="{LABEL_W + CHART_W + 20}"'
        f' height="{height}" viewBox="0 0 {LABEL_W + CHART_W + 20} {height}"'
        f' data-scale="{scale:.6f}" data-origin="{origin:.6f}">'
        + _axis(span, scale, TOP + ROW_H * len(issues))
        + "".join(rows)
        + "</svg>\n"
        + _gantt_legend()
    )


def _gantt_row(
    index: int, issue: IssueFigures, bars: Sequence[Phase], scale: float, critical: bool
) -> str:
    y = TOP + index * ROW_H
    label = escape(one_line(f"#{issue.number} {issue.title}", 38))
    mark = " ★" if critical else ""
    label_class = ' class="critical-label"' if critical else ""
    parts = [
        f'<g class="row{" critical" if critical else ""}" data-issue="{issue.number}">',
        f"<title>{escape(f'#{issue.number} {issue.title}')}</title>",
        f'<text x="4" y="{y + ROW_H / 2 + 4:.1f}"{label_class}>{label}{mark}</text>',
    ]
    for bar in (b for b in bars if b.issue == issue.number):
        parts.append(_bar(bar, y + (ROW_H - BAR_H) / 2, scale, critical))
    parts.append("</g>")
    return "".join(parts)


def _bar(bar: Phase, y: float, scale: float, critical: bool) -> str:
    x = LABEL_W + bar.start_s * scale
    width = max(0.0, (bar.end_s - bar.start_s) * scale)
    stroke = ' stroke="#000" stroke-width="2"' if critical else ""
    what = "agent" if bar.kind == "agent" else "verification"
    return (
        f'<rect class="phase {bar.kind} {bar.outcome}" data-issue="{bar.issue}"'
        f' data-attempt="{bar.attempt}" data-start="{bar.start_s:.3f}"'
        f' data-seconds="{bar.end_s - bar.start_s:.3f}" x="{x:.2f}" y="{y:.1f}"'
        f' width="{width:.3f}" height="{BAR_H}" fill="{PHASE_COLOURS[(bar.kind, bar.outcome)]}"'
        f"{stroke}><title>#{bar.issue} attempt {bar.attempt}: {what} "
        f"{bar.end_s - bar.start_s:.1f} s ({bar.outcome})</title></rect>"
    )


def _axis(span: float, scale: float, y: float) -> str:
    step = _tick_step(span)
    ticks = []
    t = 0.0
    while t <= span + 1e-9:
        x = LABEL_W + t * scale
        ticks.append(
            f'<line x1="{x:.2f}" y1="{TOP}" x2="{x:.2f}" y2="{y}"/>'
            f'<text x="{x:.2f}" y="{y + 14}" text-anchor="middle">{t:g}</text>'
        )
        t += step
    return (
        f'<g class="axis">{"".join(ticks)}<text x="{LABEL_W + CHART_W / 2:.0f}" y="{y + 30}"'
        ' text-anchor="middle">seconds from the run\'s first start</text></g>'
    )


def _tick_step(span: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if span / step <= 10:
            return float(step)
    return 7200.0


def _gantt_legend() -> str:
    items = [
        (PHASE_COLOURS[("agent", "ok")], "", "agent (verified attempt)"),
        (PHASE_COLOURS[("verify", "ok")], "", "verification (verified attempt)"),
        (PHASE_COLOURS[("agent", "failed")], "", "agent (failed attempt, retried or given up)"),
        (PHASE_COLOURS[("verify", "failed")], "", "verification (failed attempt)"),
        (PHASE_COLOURS[("agent", "other")], "", "unfinished attempt"),
        ("#ffffff", ' stroke="#000" stroke-width="2"', "★ critical path (bold outline)"),
    ]
    return _legend("gantt-legend", items)


def _legend(css_class: str, items: Sequence[tuple[str, str, str]]) -> str:
    width = 300 * 2
    rows = (len(items) + 1) // 2
    parts = [
        f'<svg class="legend {css_class}" width="{width}"'
        f' height="{rows * 20 + 6}" viewBox="0 0 {width} {rows * 20 + 6}">'
    ]
    for n, (colour, extra, text) in enumerate(items):
        x, y = (n % 2) * 300 + 4, (n // 2) * 20 + 4
        parts.append(
            f'<rect x="{x}" y="{y}" width="24" height="12" fill="{colour}"{extra}/>'
            f'<text x="{x + 30}" y="{y + 11}">{escape(text)}</text>'
        )
    return "".join(parts) + "</svg>\n"


def graph(issues: Sequence[IssueFigures], critical: Sequence[int]) -> str:
    """Waves as columns, issues as nodes coloured by state, an arrow from each dependency."""
    if not issues:
        return "<p>No issues.</p>"
    waves = sorted({i.wave for i in issues})
    places: dict[int, tuple[float, float]] = {}
    for col, wave in enumerate(waves):
        members = [i for i in issues if i.wave == wave]
        for row, issue in enumerate(members):
            places[issue.number] = (20 + col * COL_W, GRAPH_TOP + row * (NODE_H + NODE_GAP))
    tallest = max(sum(i.wave == w for i in issues) for w in waves)
    width = 40 + len(waves) * COL_W
    height = GRAPH_TOP + tallest * (NODE_H + NODE_GAP) + 10
    heads = "".join(
        f'<text x="{20 + c * COL_W + NODE_W / 2:.0f}" y="20" text-anchor="middle">wave {w}</text>'
        for c, w in enumerate(waves)
    )
    edges = [
        _edge(dep, i.number, places[dep], places[i.number])
        for i in issues
        for dep in i.depends_on
        if dep in places
    ]
    nodes = [_node(i, places[i.number], i.number in critical) for i in issues]
    return (
        f'<svg class="graph" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10"'
        ' refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>'
        + heads
        + "".join(edges)
        + "".join(nodes)
        + "</svg>\n"
        + _graph_legend(issues)
    )


def _edge(dep: int, issue: int, start: tuple[float, float], end: tuple[float, float]) -> str:
    x1, y1 = start[0] + NODE_W, start[1] + NODE_H / 2
    x2, y2 = end[0], end[1] + NODE_H / 2
    if x2 <= x1:  # same or earlier column (should not happen): go round below
        x2, y2 = end[0] + NODE_W / 2, end[1] + NODE_H
    mid = (x1 + x2) / 2
    return (
        f'<path class="edge" data-from="{dep}" data-to="{issue}" marker-end="url(#arrow)"'
        f' d="M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"/>'
    )


def _node(issue: IssueFigures, place: tuple[float, float], critical: bool) -> str:
    x, y = place
    colour = STATE_COLOURS.get(issue.status, "#bdc3c7")
    stroke = 'stroke="#000" stroke-width="3"' if critical else 'stroke="#555" stroke-width="1"'
    label = escape(one_line(f"#{issue.number} {issue.title}", 17))  # fits NODE_W at 12px
    return (
        f'<g class="node{" critical" if critical else ""}" data-issue="{issue.number}"'
        f' data-status="{escape(issue.status)}"><title>'
        f"{escape(f'#{issue.number} {issue.title} ({issue.status})')}</title>"
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6"'
        f' fill="{colour}" {stroke}/>'
        f'<text x="{x + 8:.1f}" y="{y + NODE_H / 2 + 4:.1f}" style="fill:#fff">{label}</text></g>'
    )


def _graph_legend(issues: Sequence[IssueFigures]) -> str:
    states = sorted({i.status for i in issues})
    items = [(STATE_COLOURS.get(s, "#bdc3c7"), "", s) for s in states]
    items.append(("#ffffff", ' stroke="#000" stroke-width="3"', "critical path"))
    return _legend("graph-legend", items)


def _header(figures: Figures) -> str:
    run = figures.run
    done = run.succeeded + run.reused
    total = run.issues_total + run.reused
    return (
        f"<p><b>Run</b>: <code>{escape(run.id)}</code><br>"
        f"<b>Execution date</b>: {escape(markdown.local_date(run.started_at))}<br>"
        f"<b>Status</b>: {escape(run.status)} ({done}/{total} done)<br>"
        f"<b>Result</b>: {run.succeeded}/{run.issues_total} issues verified</p>"
    )


def _tables(figures: Figures) -> str:
    issues = figures.issues
    parts = [
        "<h2>Issues</h2>",
        table(markdown.ISSUE_HEADERS, markdown.issue_rows(issues)),
        _notes("What each agent said at the end (its claim; the tests decided):",
               markdown.agent_claims(issues)),
        _notes("Why the others did not land:", markdown.failure_reasons(issues)),
        "<h2>Tests</h2>",
        tests_section(figures),
        "<h2>Waves</h2>",
        table(markdown.WAVE_HEADERS, markdown.wave_rows(figures)),
        "<h2>Performance Metrics</h2>",
        table(markdown.METRIC_HEADERS, markdown.metric_rows(figures.run)),
    ]  # fmt: skip
    return "\n".join(p for p in parts if p)


def tests_section(figures: Figures) -> str:
    """How the existing tests were held, and what was found about each issue's (the report's
    Tests section, and the dashboard's)."""
    summary = f"<p>{escape(markdown.tests_summary(figures.run))}</p>"
    found = findings_by_issue(figures.issues)
    if not found:
        return summary + "<p>No existing test was changed, removed or skipped.</p>"
    return summary + _notes("Found by verification:", found)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>\n" for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _notes(intro: str, notes: Sequence[tuple[int, str]]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>#{n}: {escape(text)}</li>" for n, text in notes)
    return f"<p>{escape(intro)}</p><ul>{items}</ul>"


def _now() -> str:
    return markdown.local_date(time.time())
