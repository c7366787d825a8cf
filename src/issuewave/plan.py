"""The dependency graph of a set of issues: validation, waves, critical path and priorities.

Pure functions: no I/O. Waves are how a plan is shown; the scheduler does not wait at them. It
starts an issue as soon as that issue's own dependencies have succeeded, highest `priority` first.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from issuewave.errors import InputError
from issuewave.issues import Issue
from issuewave.types import IssueNumber

Graph = Mapping[IssueNumber, Sequence[IssueNumber]]
_Edges = dict[IssueNumber, tuple[IssueNumber, ...]]

_CYCLE_HINT = "remove one of these dependencies (a depends_on entry or a 'Depends on #N' line)"


class CycleError(InputError):
    """Issues that depend on each other in a ring, so none of them can ever start."""

    def __init__(self, cycle: Sequence[IssueNumber]) -> None:
        self.cycle = list(cycle)
        if len(self.cycle) == 1:
            message = f"issue #{self.cycle[0]} depends on itself"
        else:
            message = "dependency cycle: " + " → ".join(f"#{n}" for n in [*cycle, cycle[0]])
        super().__init__(message, hint=_CYCLE_HINT)


class MissingDependencyError(InputError):
    """Dependencies on issues that are neither open nor closed: typos, or another repository's."""

    def __init__(self, missing: Mapping[IssueNumber, Sequence[IssueNumber]]) -> None:
        self.missing = {number: tuple(missing[number]) for number in sorted(missing)}
        message = "\n".join(
            f"#{number} depends on #{dependency}, which does not exist"
            for number, dependencies in self.missing.items()
            for dependency in dependencies
        )
        super().__init__(
            message, hint="fix the reference, or pass --ignore-missing to plan without it"
        )


@dataclass(frozen=True)
class Plan:
    """The open issues to work on and everything the scheduler and the documents need."""

    issues: dict[IssueNumber, Issue]  # open issues only, in number order
    deps: dict[IssueNumber, tuple[IssueNumber, ...]]  # edges among the open issues
    satisfied: dict[IssueNumber, tuple[IssueNumber, ...]]  # dependencies already closed
    missing: dict[IssueNumber, tuple[IssueNumber, ...]]  # nonexistent, ignored on request
    waves: list[list[IssueNumber]]
    wave_of: dict[IssueNumber, int]  # 0-based
    critical_path: list[IssueNumber]
    priority: dict[IssueNumber, float]  # longest remaining path from the issue, itself included
    dependents: dict[IssueNumber, tuple[IssueNumber, ...]]

    def transitive_dependents(self, number: IssueNumber) -> set[IssueNumber]:
        """Every issue that cannot start if `number` fails."""
        found: set[IssueNumber] = set()
        pending = list(self.dependents[number])
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(self.dependents[current])
        return found


def build_plan(
    issues: Iterable[Issue],
    *,
    ignore_missing: bool = False,
    weights: Mapping[IssueNumber, float] | None = None,
) -> Plan:
    """Plan every open issue given; closed issues are not planned but satisfy dependencies.

    `weights` (estimated durations; 1.0 each when absent) shape the critical path and priorities.
    """
    by_number = _index(issues)
    open_issues = {n: by_number[n] for n in sorted(by_number) if by_number[n].is_open}
    deps, satisfied, missing = _split_dependencies(open_issues, by_number)
    if missing and not ignore_missing:
        raise MissingDependencyError(missing)
    waves = topological_waves(deps)
    dependents = _reverse(deps)
    priority = _remaining_lengths(waves, dependents, weights)
    return Plan(
        issues=open_issues,
        deps=deps,
        satisfied=satisfied,
        missing=missing,
        waves=waves,
        wave_of={n: level for level, wave in enumerate(waves) for n in wave},
        critical_path=_longest_chain(priority, dependents),
        priority=priority,
        dependents=dependents,
    )


def critical_path_of(
    deps: Graph, weights: Mapping[IssueNumber, float] | None = None, *, default_weight: float = 1.0
) -> tuple[list[IssueNumber], float]:
    """The heaviest dependency chain among the keys of `deps`, and its total weight.

    Edges to issues that are not keys are outside the graph (already done) and ignored. The report
    passes measured durations as `weights`; an issue without one weighs `default_weight`. Of equally
    heavy chains, the one with the smallest numbers first wins, so the answer is reproducible.
    """
    graph = {n: tuple(sorted(d for d in deps[n] if d in deps)) for n in sorted(deps)}
    waves = topological_waves(graph)
    dependents = _reverse(graph)
    priority = _remaining_lengths(waves, dependents, weights, default_weight)
    path = _longest_chain(priority, dependents)
    return path, (priority[path[0]] if path else 0.0)


def dependency_order(deps: Mapping[IssueNumber, Iterable[IssueNumber]]) -> list[IssueNumber]:
    """Every issue after its dependencies; wave by wave, by number within a wave."""
    graph = {n: tuple(d for d in ds if d in deps) for n, ds in deps.items()}
    return [n for wave in topological_waves(graph) for n in wave]


def topological_waves(deps: Graph) -> list[list[IssueNumber]]:
    """Topological levels: wave 0 has no dependencies, any other issue sits one wave after its
    latest dependency. Raises CycleError naming a whole cycle."""
    sorter = graphlib.TopologicalSorter(deps)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise CycleError(_as_dependency_ring(exc.args[1])) from None
    waves: list[list[IssueNumber]] = []
    # Each round releases exactly the issues whose dependencies all sit in earlier rounds.
    while sorter.is_active():
        wave = sorted(sorter.get_ready())
        sorter.done(*wave)
        waves.append(wave)
    return waves


def _as_dependency_ring(reported: list[IssueNumber]) -> list[IssueNumber]:
    """graphlib lists a cycle as [a, b, ..., a] with a a dependency of b; turn it into the
    "depends on" direction, starting from its smallest number, without the repeated end."""
    ring = list(reversed(reported[1:]))
    start = ring.index(min(ring))
    return ring[start:] + ring[:start]


def _index(issues: Iterable[Issue]) -> dict[IssueNumber, Issue]:
    by_number: dict[IssueNumber, Issue] = {}
    for issue in issues:
        if issue.number in by_number:
            first = by_number[issue.number].source or "one issue"
            raise InputError(
                f"issue #{issue.number} appears twice: {first} and {issue.source or 'another'}"
            )
        by_number[issue.number] = issue
    return by_number


def _split_dependencies(
    open_issues: Mapping[IssueNumber, Issue], every: Mapping[IssueNumber, Issue]
) -> tuple[_Edges, _Edges, _Edges]:
    """Each open issue's dependencies, sorted into open ones, closed ones and nonexistent ones."""
    deps: _Edges = {}
    satisfied: _Edges = {}
    missing: _Edges = {}
    for number, issue in open_issues.items():
        wanted = sorted(set(issue.depends_on))
        deps[number] = tuple(d for d in wanted if d in open_issues)
        closed = tuple(d for d in wanted if d in every and d not in open_issues)
        absent = tuple(d for d in wanted if d not in every)
        if closed:
            satisfied[number] = closed
        if absent:
            missing[number] = absent
    return deps, satisfied, missing


def _reverse(deps: Graph) -> _Edges:
    dependents: dict[IssueNumber, list[IssueNumber]] = {n: [] for n in deps}
    for number in sorted(deps):
        for dependency in deps[number]:
            dependents[dependency].append(number)
    return {n: tuple(found) for n, found in dependents.items()}


def _remaining_lengths(
    waves: list[list[IssueNumber]],
    dependents: Graph,
    weights: Mapping[IssueNumber, float] | None,
    default_weight: float = 1.0,
) -> dict[IssueNumber, float]:
    """Per issue, the weight of the heaviest chain that starts with it (itself included)."""
    given = weights or {}
    remaining: dict[IssueNumber, float] = {}
    # The last wave first: every dependent's value is known before its dependency needs it.
    for number in (n for wave in reversed(waves) for n in wave):
        after = max((remaining[d] for d in dependents[number]), default=0.0)
        remaining[number] = given.get(number, default_weight) + after
    return remaining


def _longest_chain(priority: Mapping[IssueNumber, float], dependents: Graph) -> list[IssueNumber]:
    """Follow the heaviest remaining chain from the heaviest start; ties go to smaller numbers."""

    def heaviest(candidates: Iterable[IssueNumber]) -> IssueNumber:
        return min(candidates, key=lambda n: (-priority[n], n))

    if not priority:
        return []
    chain = [heaviest(priority)]
    while dependents[chain[-1]]:
        chain.append(heaviest(dependents[chain[-1]]))
    return chain


# Label names (or the part after "type:" / "kind/") that name a category outright.
_LABEL_CATEGORIES = {
    "research": "research",
    "design": "design",
    "implementation": "implementation",
    "fix": "fix",
    "bug": "fix",
    "docs": "docs",
    "documentation": "docs",
}
# Words that suggest a category. On a tie the earlier category wins, so the specific ones come
# before "implementation", which is also what an issue with no clue at all becomes.
_KEYWORDS = {
    "research": r"research\w*|investigat(?:e|es|ed|ing|ion)|evaluat(?:e|es|ed|ing|ion)"
    r"|surveys?|spikes?",
    "design": r"design(?:s|ed|ing)?|protocols?|interfaces?|apis?|abstractions?|traits?"
    r"|architecture|rfcs?",
    "docs": r"docs|documentation|readme|guides?|tutorials?",
    "fix": r"fix(?:es|ed|ing)?|bugs?|crash(?:es|ed|ing)?|errors?|regressions?|broken",
    "implementation": r"implement(?:s|ed|ing|ation)?|add(?:s|ed|ing)?|build(?:s|ing)?"
    r"|features?|support(?:s|ed|ing)?",
}
_KEYWORD_PATTERNS = {
    category: re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
    for category, words in _KEYWORDS.items()
}
_TITLE_WEIGHT = 3  # a word in the title says more about the issue than one in a long body


def category_of(issue: Issue) -> str:
    """research, design, implementation, fix or docs: from a label, else from the words used."""
    for label in issue.labels:
        category = _LABEL_CATEGORIES.get(_label_name(label))
        if category is not None:
            return category
    scores = {
        category: _TITLE_WEIGHT * len(pattern.findall(issue.title))
        + len(pattern.findall(issue.body))
        for category, pattern in _KEYWORD_PATTERNS.items()
    }
    best = max(scores, key=lambda category: scores[category])  # first of the highest
    return best if scores[best] > 0 else "implementation"


def _label_name(label: str) -> str:
    """'type: bug', 'kind/bug' and 'Bug' all name 'bug'."""
    return re.split(r"[:/]", label)[-1].strip().lower()
