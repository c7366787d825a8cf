"""The plan rendered for people and programs: JSON, a terminal table, the Markdown plan document.

Pure renderers: they return values and write nothing. Issue text is untrusted, so every title or
body fragment passes through an escaper before it lands in rich markup or Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypedDict

from rich.markup import escape
from rich.table import Table

from issuewave.config import Config
from issuewave.dependencies import drop_fenced_blocks
from issuewave.issues import Issue
from issuewave.naming import commit_message, one_line
from issuewave.plan import Plan, category_of
from issuewave.types import IssueNumber

BranchFor = Callable[[Issue], str]

TABLE_TITLE_MAX = 60
# Unicode's control characters (category Cc): escape sequences, bells, carriage returns.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_DELIVERABLES = 20


class IssueEntry(TypedDict):
    number: int
    title: str
    depends_on: list[int]
    wave: int  # 1-based, as people count waves
    branch: str
    category: str


class PlanJson(TypedDict):
    waves: list[list[int]]
    critical_path: list[int]
    issues: list[IssueEntry]


def plan_json(plan: Plan, branch_for: BranchFor) -> PlanJson:
    """The plan as JSON-ready data; `depends_on` also lists dependencies that are already closed."""
    return {
        "waves": [list(wave) for wave in plan.waves],
        "critical_path": list(plan.critical_path),
        "issues": [_issue_entry(plan, issue, branch_for) for issue in plan.issues.values()],
    }


def _issue_entry(plan: Plan, issue: Issue, branch_for: BranchFor) -> IssueEntry:
    return {
        "number": issue.number,
        "title": issue.title,
        "depends_on": list(_known_dependencies(plan, issue.number)),
        "wave": plan.wave_of[issue.number] + 1,
        "branch": branch_for(issue),
        "category": category_of(issue),
    }


def _known_dependencies(plan: Plan, number: IssueNumber) -> list[IssueNumber]:
    return sorted((*plan.deps[number], *plan.satisfied.get(number, ())))


def plan_table(plan: Plan, branch_for: BranchFor) -> Table:
    """One row per issue, wave by wave, for the terminal."""
    table = Table()
    for column in ("Wave", "Issue", "Title", "Category", "Branch", "Depends on"):
        table.add_column(column)
    for level, wave in enumerate(plan.waves, start=1):
        for number in wave:
            issue = plan.issues[number]
            table.add_row(
                str(level),
                f"#{number}",
                escape(_plain(issue.title, TABLE_TITLE_MAX)),
                category_of(issue).capitalize(),
                escape(_plain(branch_for(issue))),
                escape(_dependency_summary(plan, number)),
            )
    return table


def _plain(text: str, limit: int = 200) -> str:
    """One line without control characters: a title must not move the cursor or clear a screen."""
    return one_line(_CONTROL.sub(" ", text), limit)


def _dependency_summary(plan: Plan, number: IssueNumber) -> str:
    """Open dependencies, then closed ones and ignored missing ones, marked as such."""
    parts = [f"#{d}" for d in plan.deps[number]]
    parts += [f"#{d} (closed)" for d in plan.satisfied.get(number, ())]
    parts += [f"#{d} (missing)" for d in plan.missing.get(number, ())]
    return ", ".join(parts) or "—"


def plan_markdown(
    plan: Plan,
    *,
    branch_for: BranchFor,
    test_cmd: str,
    project: str,
    date: str,
    jobs: int,
    commit_for: Callable[[Issue], str] | None = None,
) -> str:
    """The execution-plan document. `commit_for` gives an issue's commit subject; by default the
    one the default `commit` setting would write."""
    commit = commit_for or _default_commit_subject
    sections = [
        _header(plan, project=project, date=date, jobs=jobs),
        _overview(plan, test_cmd),
        _summary_table(plan, branch_for),
        _wave_section(plan, jobs),
        _critical_path_section(plan),
        _task_section(plan, branch_for=branch_for, test_cmd=test_cmd, commit=commit),
        _pr_order_section(plan),
        _rollback_section(),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _default_commit_subject(issue: Issue) -> str:
    return commit_message(Config().commit, issue).split("\n", 1)[0]


def _header(plan: Plan, *, project: str, date: str, jobs: int) -> list[str]:
    # Two trailing spaces end a Markdown line without starting a new paragraph.
    return [
        f"# {_md(project)} Issue Wave Execution Plan",
        "",
        f"**Date**: {_md(date)}  ",
        f"**Waves**: {len(plan.waves)}  ",
        f"**Target**: {_count(len(plan.issues), 'open issue')}, at most {jobs} at once",
    ]


def _overview(plan: Plan, test_cmd: str) -> list[str]:
    if not plan.issues:
        return ["## Overview", "", "There are no open issues to work on."]
    lines = [
        "## Overview",
        "",
        f"This plan covers {_refs(plan.issues)}, each in its own git worktree and branch.",
        f"An issue counts as done only when {_code(test_cmd)} passes in its worktree and its"
        " branch holds real changes; an agent saying it is done is not enough.",
    ]
    closed = sorted({d for found in plan.satisfied.values() for d in found})
    if closed:
        lines += ["", f"Already closed, so already satisfied: {_refs(closed)}."]
    lines += [
        f"Ignored: #{n} depends on #{d}, which does not exist."
        for n, missing in plan.missing.items()
        for d in missing
    ]
    return lines


def _summary_table(plan: Plan, branch_for: BranchFor) -> list[str]:
    lines = [
        "## Issue Summary",
        "",
        "| Issue | Title | Category | Depends on | Branch |",
        "|-------|-------|----------|------------|--------|",
    ]
    for number, issue in plan.issues.items():
        cells = [
            f"#{number}",
            _md(issue.title),
            category_of(issue).capitalize(),
            _md(_dependency_summary(plan, number)),
            _escape_pipes(_code(branch_for(issue))),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _wave_section(plan: Plan, jobs: int) -> list[str]:
    lines = [
        "## Wave Execution",
        "",
        "Waves group the issues by their depth in the dependency graph: they are how the plan is"
        " shown, not a barrier the run waits at. An issue starts as soon as its own dependencies"
        f" have succeeded, at most {jobs} at once, the issues with the longest chain of work"
        " still behind them first.",
    ]
    for level, wave in enumerate(plan.waves, start=1):
        lines += ["", f"### Wave {level}", ""]
        lines += [f"- **#{n}** {_md(plan.issues[n].title)}: {_start_rule(plan, n)}" for n in wave]
    return lines


def _start_rule(plan: Plan, number: IssueNumber) -> str:
    if not plan.deps[number]:
        return "starts right away"
    return f"starts when {_refs(plan.deps[number])} {_verb(plan.deps[number])} succeeded"


def _critical_path_section(plan: Plan) -> list[str]:
    path = plan.critical_path
    if not path:
        return ["## Critical Path", "", "None: there is nothing to run."]
    chain = " → ".join(f"#{n}" for n in path)
    if len(path) == 1:
        why = "No number of parallel agents makes the run shorter than this issue alone."
    else:
        why = (
            "Each of these needs the one before it, so they run one after another: no number of"
            " parallel agents makes the run shorter than this chain."
        )
    return ["## Critical Path", "", f"{chain} ({_count(len(path), 'issue')})", "", why]


def _task_section(
    plan: Plan, *, branch_for: BranchFor, test_cmd: str, commit: Callable[[Issue], str]
) -> list[str]:
    lines = ["## Issue Tasks"]
    for number, issue in plan.issues.items():
        lines += ["", f"### #{number}: {_md(issue.title)}", ""]
        lines += [
            f"- **Goal**: {_md(issue.title)}",
            f"- **Branch**: {_code(branch_for(issue))}",
            f"- **Depends on**: {_md(_dependency_summary(plan, number))}",
            "- **Deliverables**:",
            *(f"  - {_md(item)}" for item in deliverables_of(issue.body)),
            f"- **Verify**: {_code(test_cmd)} passes in the issue's worktree",
            f"- **Commit**: {_code(commit(issue))}",
            f"- **If it fails**: {_failure_effect(plan, number)}",
        ]
    return lines


def _failure_effect(plan: Plan, number: IssueNumber) -> str:
    # Direct dependents only: listing every transitive one would cost quadratic time on a deep
    # graph and bury the reader in numbers.
    direct = plan.dependents[number]
    if not direct:
        return "no other issue waits for it"
    further = (
        ", and the issues that wait for those," if any(plan.dependents[d] for d in direct) else ""
    )
    return f"{_refs(direct)}{further} cannot start; the run reports them as blocked"


def _pr_order_section(plan: Plan) -> list[str]:
    lines = [
        "## PR Order",
        "",
        "Pull requests are opened in dependency order: an issue's PR only after the PRs of the"
        " issues it depends on.",
        "",
    ]
    # Wave after wave is a topological order: every dependency sits in an earlier wave.
    ordered = [n for wave in plan.waves for n in wave]
    for position, number in enumerate(ordered, start=1):
        body = f"`Closes #{number}`"
        if plan.deps[number]:
            body += " + `Depends on " + ", ".join(f"#{d}" for d in plan.deps[number]) + "`"
        lines.append(f"{position}. **PR for #{number}**: {_md(plan.issues[number].title)}")
        lines.append(f"   - Body: {body}")
    return lines


def _rollback_section() -> list[str]:
    return [
        "## Rollback",
        "",
        "`issuewave rollback N` removes issue N's worktree and branch. It first saves the branch"
        " tip under `refs/issuewave/backup/`, so no work is lost:"
        " `git for-each-ref refs/issuewave/backup/` lists what was saved.",
    ]


# Headings that open the list of things an issue must deliver: "## Deliverables",
# "**Acceptance criteria**", "Tasks:".
_HEADING = re.compile(r"^ {0,3}(?:#{1,6}[ \t]+(?P<atx>.*)|\*\*(?P<bold>[^*]+)\*\*[ \t]*:?[ \t]*)$")
_LABEL_LINE = re.compile(r"^ {0,3}(?P<label>[A-Za-z][A-Za-z ]{0,40}):[ \t]*$")
_SECTION_WORDS = re.compile(r"\b(?:deliverables?|acceptance|tasks)\b", re.IGNORECASE)
_BULLET = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?(?P<text>\S.*)$")
_OPEN_TASK = re.compile(r"^[ \t]*[-*+][ \t]+\[ \][ \t]+(?P<text>\S.*)$")
_NOTHING_LISTED = "the change the issue describes"


def deliverables_of(body: str) -> list[str]:
    """The bullets under a Deliverables/Acceptance/Tasks heading, else the open task-list items,
    else a sentence that sends the reader to the issue."""
    lines = drop_fenced_blocks(body.replace("\r\n", "\n")).split("\n")
    items = _section_items(lines) or [m["text"] for m in map(_OPEN_TASK.match, lines) if m]
    if len(items) > MAX_DELIVERABLES:
        extra = len(items) - MAX_DELIVERABLES
        items = [*items[:MAX_DELIVERABLES], f"({extra} more in the issue)"]
    return items or [_NOTHING_LISTED]


def _section_items(lines: list[str]) -> list[str]:
    items: list[str] = []
    inside = False
    for line in lines:
        heading = _HEADING.match(line)
        label = _LABEL_LINE.match(line)
        if heading:
            inside = bool(_SECTION_WORDS.search(heading["atx"] or heading["bold"] or ""))
        elif label and _SECTION_WORDS.search(label["label"]):
            # A plain "Deliverables:" line opens a section; another "Note:" line does not close it.
            inside = True
        elif inside and (bullet := _BULLET.match(line)):
            items.append(bullet["text"])
    return items


def _md(text: str) -> str:
    """Untrusted text made safe for one line of Markdown, table cells included.

    One line, so it cannot end a table row or start a block; '<' escaped, so it cannot open raw
    HTML; '|' escaped (with any backslashes just before it), so it cannot end a table cell.
    """
    return _escape_pipes(_plain(text, 500).replace("<", "&lt;"))


def _escape_pipes(text: str) -> str:
    # "\|" would otherwise read as an escaped backslash followed by a cell boundary.
    return re.sub(r"(\\*)\|", lambda m: m[1] * 2 + "\\|", text)


def _code(text: str) -> str:
    """An inline code span that holds any text: its fence is longer than any backtick run in it."""
    flat = _plain(text, 500)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _refs(numbers: Iterable[IssueNumber]) -> str:
    """'#1', '#1 and #2', '#1, #2 and #3'."""
    shown = [f"#{n}" for n in numbers]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _verb(numbers: Iterable[IssueNumber]) -> str:
    return "has" if len(list(numbers)) == 1 else "have"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
