"""The completion summary, shaped like the seed's; every figure measured, every claim checked."""

from __future__ import annotations

import time
from collections.abc import Sequence

from issuewave.findings import IDS_UNKNOWN, OFF
from issuewave.naming import one_line
from issuewave.report.metrics import Figures, IssueFigures, RunFigures, findings_by_issue
from issuewave.store import REUSED, SUCCEEDED

STATUS_MARK = {
    "succeeded": "✅ succeeded",
    "failed": "❌ failed",
    "blocked": "⛔ blocked",
    "reused": "♻️ done in an earlier run",
    "pending": "… not started",
    "running": "… running",
    "interrupted": "⏸ interrupted",
}


def render(figures: Figures, *, project: str, html_report: str | None = None) -> str:
    """`html_report`: the name of the HTML report written beside this one, to link to."""
    run = figures.run
    sections = [
        _header(run, project),
        f"Charts (timeline, dependency graph): [{html_report}]({html_report})"
        if html_report
        else "",
        _summary(run),
        _issues(figures.issues, run),
        _tests(figures),
        _waves(figures),
        _metrics(run),
        _dependencies(figures),
        _conflicts(run),
        _footer(run),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _header(run: RunFigures, project: str) -> str:
    done = run.succeeded + run.reused
    total = run.issues_total + run.reused
    status = "✅ COMPLETE" if done == total and total else f"⚠️ INCOMPLETE ({done}/{total} done)"
    if run.status in ("running", "interrupted"):
        status = f"… {run.status.upper()} ({done}/{total} done so far)"
    return (
        f"# {_md(project)} Issue Wave — Completion Summary\n\n"
        f"**Run**: `{run.id}`  \n"
        f"**Execution date**: {local_date(run.started_at)}  \n"
        f"**Status**: {status}  \n"
        f"**Result**: {run.succeeded}/{run.issues_total} issues verified, "
        f"{run.succeeded} PR records opened"
    )


def _summary(run: RunFigures) -> str:
    lines = ["## Executive Summary", ""]
    lines.append(
        f"- **{run.issues_total} issues** worked on with up to **{run.jobs}** agents at once "
        f"(base `{run.base_branch}` at `{run.base_commit[:12]}`)."
    )
    lines.append(
        f"- **{run.succeeded} verified** (tests passed in the issue's worktree), "
        f"**{run.failed} failed**, **{run.blocked} blocked** by a failed dependency."
    )
    if run.reused:
        lines.append(f"- {run.reused} issue(s) already done by an earlier run were not redone.")
    lines.append(f"- **{run.attempts} agent attempts** in all.")
    lines.append(
        f"- **Makespan {_dur(run.makespan_s)}** against {_dur(run.sum_issue_s)} of issue time: "
        f"speedup {_num(run.speedup)}× on {run.jobs} jobs."
    )
    return "\n".join(lines)


ISSUE_HEADERS = (
    "Issue",
    "Title",
    "Status",
    "Branch",
    "PR",
    "Attempts",
    "Time",
    "Wave",
    "Agent",
    "Tokens",
    "Cost",
)
WAVE_HEADERS = ("Wave", "Issues", "Verified", "Span", "Issue time")
METRIC_HEADERS = ("Metric", "Value", "Notes")


def issue_rows(issues: Sequence[IssueFigures]) -> list[tuple[str, ...]]:
    """The Issues table's cells as plain text (the title shortened to one line, not escaped)."""
    return [
        (
            f"#{i.number}",
            one_line(i.title, 70),
            STATUS_MARK.get(i.status, i.status),
            i.branch,
            f"#{i.pr}" if i.pr else "—",
            str(i.attempts),
            _dur(i.duration_s),
            str(i.wave),
            i.agent or "—",
            _tokens(i.tokens),
            _money(i.cost_usd),
        )
        for i in issues
    ]


def agent_claims(issues: Sequence[IssueFigures]) -> list[tuple[int, str]]:
    """What each agent said at the end, one line each (plain text, not escaped)."""
    return [(i.number, one_line(i.final_message or "", 200)) for i in issues if i.final_message]


def failure_reasons(issues: Sequence[IssueFigures]) -> list[tuple[int, str]]:
    """Why the issues that did not land did not (plain text, not escaped)."""
    return [
        (i.number, one_line(i.reason or "", 300))
        for i in issues
        if i.reason and i.status not in (SUCCEEDED, REUSED)
    ]


def _issues(issues: Sequence[IssueFigures], run: RunFigures) -> str:
    lines = ["## Issues", ""]
    lines.append("| " + " | ".join(ISSUE_HEADERS) + " |")
    lines.append("|" + "---|" * len(ISSUE_HEADERS))
    for cells in issue_rows(issues):
        number, title, status, branch, *rest = cells
        lines.append("| " + " | ".join([number, _md(title), status, f"`{branch}`", *rest]) + " |")
    said = agent_claims(issues)
    if said:
        lines += ["", "What each agent said at the end (its claim; the tests decided):", ""]
        lines += [f"- #{n}: {_md(text)}" for n, text in said]
    reasons = failure_reasons(issues)
    if reasons:
        lines += ["", "Why the others did not land:", ""]
        lines += [f"- #{n}: {_md(text)}" for n, text in reasons]
    return "\n".join(lines)


def tests_summary(run: RunFigures) -> str:
    """How the existing tests were held, for the whole run (plain text, not escaped)."""
    if run.tests_policy == OFF:
        return "tests_policy off: only the test command's exit status was checked."
    if not run.test_ids:
        return f"tests_policy {run.tests_policy}; {IDS_UNKNOWN}."
    return (
        f"tests_policy {run.tests_policy}: every test that passed on the base was held to pass "
        f"(ids from {run.test_ids})."
    )


def _tests(figures: Figures) -> str:
    lines = ["## Tests", "", tests_summary(figures.run), ""]
    found = findings_by_issue(figures.issues)
    if not found:
        return "\n".join([*lines, "No existing test was changed, removed or skipped."])
    lines += [f"- #{n}: {_md(text)}" for n, text in found]
    return "\n".join(lines)


def wave_rows(figures: Figures) -> list[tuple[str, ...]]:
    return [
        (
            str(w.wave),
            ", ".join(f"#{n}" for n in w.issues),
            f"{w.succeeded}/{len(w.issues)}",
            _dur(w.span_s),
            _dur(w.work_s),
        )
        for w in figures.waves
    ]


def _waves(figures: Figures) -> str:
    lines = ["## Waves", "", "Waves are how the plan is drawn; an issue started as soon as its own"]
    lines += ["dependencies succeeded, not when its whole wave was done.", ""]
    lines += ["| " + " | ".join(WAVE_HEADERS) + " |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in wave_rows(figures)]
    return "\n".join(lines)


def metric_rows(run: RunFigures) -> list[tuple[str, str, str]]:
    path = " → ".join(f"#{n}" for n in run.critical_path) or "—"
    rows = [
        ("Makespan", _dur(run.makespan_s), "first attempt's start to last issue's end"),
        ("Sum of issue times", _dur(run.sum_issue_s), "agent plus verification, all attempts"),
        ("Speedup", f"{_num(run.speedup)}×", "sum of issue times / makespan"),
        ("Parallel efficiency", _pct(run.efficiency), f"speedup / {run.jobs} jobs"),
        ("Success rate", _pct(run.success_rate), f"{run.succeeded} of {run.issues_total}"),
        ("Critical path", f"{_dur(run.critical_path_s)}", path),
        ("Lower bound", _dur(run.lower_bound_s), "max(critical path, sum / jobs)"),
        ("Makespan / lower bound", f"{_num(run.makespan_to_lower_bound)}", "1.0 is the best"),
        ("Attempts", str(run.attempts), "retries included"),
        ("Tokens", _tokens(run.tokens), "input / output (cached), as the agents reported"),
        ("Cost", _money(run.cost_usd), "where the agent CLI reports it"),
        ("Forge API calls", str(run.api_calls), "counted by the forge client"),
        ("Sandbox", run.sandbox, "how the agents and their tests were confined"),
    ]
    if run.downtime_s:
        rows.append(("Time stopped", _dur(run.downtime_s), "between interruption and resume"))
    return rows


def _metrics(run: RunFigures) -> str:
    rows = metric_rows(run)
    lines = ["## Performance Metrics", "", "| Metric | Value | Notes |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {note} |" for name, value, note in rows]
    return "\n".join(lines)


def _dependencies(figures: Figures) -> str:
    run = figures.run
    order = " → ".join(f"PR #{p.number} (issue #{p.issue})" for p in figures.pull_requests)
    verdict = (
        "every PR record was opened after those of its dependencies"
        if run.prs_in_dependency_order
        else "**a PR record was opened before one of its dependencies' — see the table**"
    )
    return f"## Dependency Management\n\nPR order: {order or 'none opened'}.\n\nChecked: {verdict}."


def _conflicts(run: RunFigures) -> str:
    if not run.conflicts and not run.overlaps:
        return "## Conflicts\n\nNo two independent verified branches conflict."
    lines = ["## Conflicts", ""]
    lines += [f"- ❌ #{p['a']} and #{p['b']} conflict in {', '.join(p['files'])}"
              for p in run.conflicts]  # fmt: skip
    lines += [f"- ⚠️ #{p['a']} and #{p['b']} both change {', '.join(p['files'])} (merge cleanly)"
              for p in run.overlaps]  # fmt: skip
    return "\n".join(lines)


def _footer(run: RunFigures) -> str:
    return (
        "---\n\n"
        "Every figure above was computed from this run's journal "
        "(`issuewave report --json` gives the same under stable keys); nothing is estimated.  \n"
        f"Generated {local_date(time.time())} by issuewave."
    )


def _dur(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    return f"{seconds:.1f} s"


def _tokens(tokens: dict[str, int]) -> str:
    if not any(tokens.values()):
        return "—"
    return f"{tokens['input']:,} / {tokens['output']:,} ({tokens['cached']:,})"


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def local_date(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _md(text: str) -> str:
    """Issue text in a table cell: no pipes, no markup that could break the document."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
