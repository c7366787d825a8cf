from __future__ import annotations

import itertools
import json
import random
import re

import pytest
from rich.console import Console

from issuewave.errors import InputError
from issuewave.issues import Issue, IssueState
from issuewave.plan import (
    CycleError,
    MissingDependencyError,
    Plan,
    build_plan,
    category_of,
    critical_path_of,
)
from issuewave.planfile import deliverables_of, plan_json, plan_markdown, plan_table
from issuewave.types import IssueNumber


def issue(
    number: int,
    *depends_on: int,
    title: str = "",
    body: str = "",
    labels: tuple[str, ...] = (),
    state: IssueState = "open",
) -> Issue:
    return Issue(
        number=IssueNumber(number),
        title=title or f"Issue {number}",
        body=body,
        labels=labels,
        depends_on=tuple(IssueNumber(d) for d in depends_on),
        state=state,
        source=f"issue-{number}.md",
    )


def n(*numbers: int) -> list[IssueNumber]:
    return [IssueNumber(x) for x in numbers]


def seed_plan() -> Plan:
    """The seed's run: #155 needs both the research (#152) and the design (#154)."""
    return build_plan(
        [
            issue(152, title="Cross-Platform VM Research"),
            issue(154, title="Platform-Agnostic VM Abstraction Layer"),
            issue(155, 152, 154, title="Implement macOS VM Backend"),
        ]
    )


def branch_for(i: Issue) -> str:
    return f"feature/issue-{i.number}"


def test_seed_scenario_waves_and_critical_path() -> None:
    plan = seed_plan()
    assert plan.waves == [n(152, 154), n(155)]
    assert plan.wave_of == {152: 0, 154: 0, 155: 1}
    assert len(plan.critical_path) == 2
    assert plan.critical_path == n(152, 155)  # the tie with #154 goes to the smaller number
    assert plan.deps[IssueNumber(155)] == (152, 154)
    assert plan.dependents[IssueNumber(152)] == (155,)


def test_closed_dependency_is_satisfied_not_planned() -> None:
    plan = build_plan([issue(1, state="closed"), issue(2, 1), issue(3, 2)])
    assert list(plan.issues) == [2, 3]
    assert plan.deps == {2: (), 3: (2,)}
    assert plan.satisfied == {2: (1,)}
    assert plan.waves == [n(2), n(3)]


def test_issues_are_kept_in_number_order() -> None:
    plan = build_plan([issue(9), issue(3), issue(5)])
    assert list(plan.issues) == [3, 5, 9]


def test_two_node_cycle_message_is_exact() -> None:
    with pytest.raises(CycleError) as caught:
        build_plan([issue(5, 3), issue(3, 5), issue(1)])
    assert caught.value.message == "dependency cycle: #3 → #5 → #3"
    assert caught.value.cycle == [3, 5]
    assert caught.value.exit_code == 2


def test_three_node_cycle_is_printed_whole_in_depends_on_direction() -> None:
    # 3 depends on 7, 7 on 5, 5 on 3.
    with pytest.raises(CycleError) as caught:
        build_plan([issue(3, 7), issue(7, 5), issue(5, 3), issue(8, 3)])
    assert caught.value.message == "dependency cycle: #3 → #7 → #5 → #3"


def test_self_dependency() -> None:
    with pytest.raises(CycleError) as caught:
        build_plan([issue(4, 4)])
    assert caught.value.message == "issue #4 depends on itself"
    assert caught.value.cycle == [4]


def test_missing_dependency_names_each_pair() -> None:
    with pytest.raises(MissingDependencyError) as caught:
        build_plan([issue(7, 99), issue(8, 98, 99)])
    lines = caught.value.message.splitlines()
    assert lines == [
        "#7 depends on #99, which does not exist",
        "#8 depends on #98, which does not exist",
        "#8 depends on #99, which does not exist",
    ]
    assert "--ignore-missing" in (caught.value.hint or "")
    assert isinstance(caught.value, InputError)


def test_ignore_missing_plans_without_the_missing_issue() -> None:
    plan = build_plan([issue(7, 99), issue(8, 7)], ignore_missing=True)
    assert plan.missing == {7: (99,)}
    assert plan.waves == [n(7), n(8)]


def test_duplicate_issue_numbers_are_an_input_error() -> None:
    with pytest.raises(InputError, match=r"#2 appears twice: issue-2\.md"):
        build_plan([issue(2), issue(2)])


def test_empty_plan() -> None:
    plan = build_plan([issue(1, state="closed")])
    assert (plan.issues, plan.waves, plan.critical_path) == ({}, [], [])


def test_priority_favours_the_long_chain() -> None:
    # 1 → 2 → 3 → 4 is a chain; 10 is a leaf with nothing after it.
    plan = build_plan([issue(1), issue(2, 1), issue(3, 2), issue(4, 3), issue(10)])
    assert plan.priority[IssueNumber(1)] == 4.0
    assert plan.priority[IssueNumber(4)] == 1.0
    assert plan.priority[IssueNumber(1)] > plan.priority[IssueNumber(10)]
    assert plan.critical_path == n(1, 2, 3, 4)


def test_weights_move_the_critical_path() -> None:
    issues = [issue(1), issue(2), issue(3, 1, 2)]
    plan = build_plan(issues, weights={IssueNumber(2): 5.0})
    assert plan.critical_path == n(2, 3)
    assert plan.priority[IssueNumber(2)] == 6.0


def test_critical_path_of_measured_durations() -> None:
    deps = {IssueNumber(1): (), IssueNumber(2): (IssueNumber(1),), IssueNumber(3): ()}
    weights = {IssueNumber(1): 30.0, IssueNumber(2): 15.0, IssueNumber(3): 40.0}
    assert critical_path_of(deps, weights) == (n(1, 2), 45.0)
    assert critical_path_of({}, {}) == ([], 0.0)


def test_critical_path_of_ignores_edges_leaving_the_graph() -> None:
    deps = {IssueNumber(2): (IssueNumber(1),), IssueNumber(3): (IssueNumber(2),)}
    assert critical_path_of(deps) == (n(2, 3), 2.0)


def test_transitive_dependents() -> None:
    plan = build_plan([issue(1), issue(2, 1), issue(3, 2), issue(4, 1), issue(5)])
    assert plan.transitive_dependents(IssueNumber(1)) == {2, 3, 4}
    assert plan.transitive_dependents(IssueNumber(5)) == set()


def random_dag(count: int, edges: int, seed: int) -> list[Issue]:
    """Edges always point from a higher number to a lower one, so there is no cycle."""
    rng = random.Random(seed)
    wanted: dict[int, set[int]] = {k: set() for k in range(1, count + 1)}
    added = 0
    while added < edges:
        a, b = rng.sample(range(1, count + 1), 2)
        low, high = min(a, b), max(a, b)
        if low not in wanted[high]:
            wanted[high].add(low)
            added += 1
    return [issue(k, *sorted(deps)) for k, deps in wanted.items()]


def test_large_random_dag_is_planned_consistently() -> None:
    issues = random_dag(10_000, 30_000, seed=7)
    plan = build_plan(issues)
    assert sum(len(d) for d in plan.deps.values()) == 30_000
    assert sorted(x for wave in plan.waves for x in wave) == list(range(1, 10_001))
    for number, deps in plan.deps.items():
        assert all(plan.wave_of[d] < plan.wave_of[number] for d in deps)
        # Wave = 1 + the latest dependency's wave: a wave is as early as it can be.
        assert plan.wave_of[number] == max((plan.wave_of[d] + 1 for d in deps), default=0)
    path = plan.critical_path
    assert len(path) == len(plan.waves)
    assert all(a in plan.deps[b] for a, b in itertools.pairwise(path))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"labels": ("type: bug",)}, "fix"),
        ({"labels": ("kind/Documentation",)}, "docs"),
        ({"labels": ("platform", "Research")}, "research"),
        ({"labels": ("design",), "title": "Fix the crash"}, "design"),
        ({"title": "Cross-Platform VM Research"}, "research"),
        ({"title": "Platform-Agnostic VM Abstraction Layer"}, "design"),
        (
            {"title": "Implement macOS VM Backend", "body": "Implement the Hypervisor trait"},
            "implementation",
        ),
        ({"title": "Crash when saving an empty note"}, "fix"),
        ({"title": "Write a tutorial for tags"}, "docs"),
        ({"title": "Tags", "body": "Investigate how other tools evaluate tags."}, "research"),
        ({"title": "Notebook export"}, "implementation"),
        (
            {"title": "Add an export command", "body": "Return an error on a bad path."},
            "implementation",
        ),
    ],
)
def test_category_of(kwargs: dict[str, object], expected: str) -> None:
    assert category_of(issue(1, **kwargs)) == expected  # type: ignore[arg-type]


def test_plan_json_shape() -> None:
    plan = build_plan(
        [
            issue(3, state="closed"),
            issue(152, title="Cross-Platform VM Research"),
            issue(154, 3, title="Platform-Agnostic VM Abstraction Layer"),
            issue(155, 152, 154, title="Implement macOS VM Backend"),
        ]
    )
    data = plan_json(plan, branch_for)
    assert json.loads(json.dumps(data)) == data
    assert data["waves"] == [[152, 154], [155]]
    assert data["critical_path"] == [152, 155]
    assert data["issues"][1] == {
        "number": 154,
        "title": "Platform-Agnostic VM Abstraction Layer",
        "depends_on": [3],
        "wave": 1,
        "branch": "feature/issue-154",
        "category": "design",
    }
    assert data["issues"][2]["depends_on"] == [152, 154]
    assert data["issues"][2]["wave"] == 2


def test_plan_table_escapes_markup_and_shortens_titles() -> None:
    title = "[bold red]boom[/]\nsecond\x1b[2J line " + "x" * 100
    plan = build_plan([issue(1, title=title)])
    console = Console(width=200, record=True, color_system=None)
    console.print(plan_table(plan, branch_for))
    text = console.export_text()
    assert "[bold red]boom[/] second [2J line" in text  # the escape character itself is gone
    assert "…" in text
    assert "x" * 70 not in text


def markdown(plan: Plan) -> str:
    return plan_markdown(
        plan,
        branch_for=branch_for,
        test_cmd="make test",
        project="LuminaGuard",
        date="2025-02-14",
        jobs=2,
    )


def test_markdown_follows_the_seed_shape() -> None:
    text = markdown(seed_plan())
    assert text.startswith("# LuminaGuard Issue Wave Execution Plan\n")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "Overview",
        "Issue Summary",
        "Wave Execution",
        "Critical Path",
        "Issue Tasks",
        "PR Order",
        "Rollback",
    ]
    assert "**Date**: 2025-02-14" in text
    assert "**Waves**: 2" in text
    assert "at most 2 at once" in text
    assert "not a barrier" in text
    assert "#152 → #155 (2 issues)" in text
    assert "starts when #152 and #154 have succeeded" in text
    assert "`make test`" in text
    assert "refs/issuewave/backup/" in text
    assert "| #155 | Implement macOS VM Backend | Implementation | #152, #154 |" in text


def test_markdown_pr_order_puts_dependencies_first() -> None:
    # Numbers deliberately run against the dependency order: #1 needs #3, which needs #2.
    plan = build_plan([issue(1, 3), issue(2), issue(3, 2)])
    text = markdown(plan)
    pr_section = text.split("## PR Order", 1)[1].split("## Rollback", 1)[0]
    order = [int(x) for x in re.findall(r"\*\*PR for #(\d+)\*\*", pr_section)]
    assert order == [2, 3, 1]
    assert "`Closes #1` + `Depends on #3`" in pr_section


def test_markdown_titles_cannot_break_the_table() -> None:
    hostile = "A | B \\| C\n| D | E |\n<details>"
    text = markdown(build_plan([issue(1, title=hostile)]))
    row = next(line for line in text.splitlines() if line.startswith("| #1 "))
    assert row == (
        "| #1 | A \\| B \\\\\\| C \\| D \\| E \\| &lt;details> | Implementation | — "
        "| `feature/issue-1` |"
    )
    # Every unescaped pipe is a cell boundary: the row still has exactly five cells.
    assert len(re.findall(r"(?<!\\)\|", row.replace("\\\\", ""))) == 6
    # Raw HTML could swallow the rest of the document; inside a code span it is plain text.
    assert all("<details>" not in line for line in text.splitlines() if "`" not in line)


def test_markdown_deliverables_come_from_the_body() -> None:
    body = "Intro.\n\n## Deliverables\n- `docs/research.md`\n- Comparison table\n\n## Notes\n- no"
    text = markdown(build_plan([issue(1, body=body)]))
    assert "  - `docs/research.md`\n  - Comparison table\n- **Verify**" in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("## Acceptance criteria\n\n- [ ] saves\n- [x] loads\n\n## Other\n- z", ["saves", "loads"]),
        ("**Tasks**:\n1. one\n2) two", ["one", "two"]),
        ("Deliverables:\nThe change is done when:\n- a", ["a"]),
        ("Text\n- [ ] open item\n- [x] closed item\n- plain", ["open item"]),
        ("```\n## Deliverables\n- fake\n```\n", ["the change the issue describes"]),
        ("", ["the change the issue describes"]),
    ],
)
def test_deliverables_of(body: str, expected: list[str]) -> None:
    assert deliverables_of(body) == expected
