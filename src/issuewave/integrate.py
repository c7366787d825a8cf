"""Do the verified branches work together? Found out minutes after they exist, not at merge time.

Everything here merges without touching any checkout: `git merge-tree --write-tree` for trial
merges, `git commit-tree` for throwaway integration commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from issuewave.git import Git
from issuewave.types import CommitSha, IssueNumber


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    files: list[str]


@dataclass(frozen=True)
class CheckResult:
    conflicts: list[Pair]
    overlaps: list[Pair]  # files both changed, merging cleanly: worth a look

    def as_json(self) -> dict[str, Any]:
        return {
            "conflicts": [asdict(p) for p in self.conflicts],
            "overlaps": [asdict(p) for p in self.overlaps],
        }


@dataclass(frozen=True)
class Branch:
    issue: IssueNumber
    tip: CommitSha
    base: CommitSha  # where it started: its own changes are base..tip


def related(deps: Mapping[IssueNumber, Sequence[IssueNumber]]) -> set[frozenset[IssueNumber]]:
    """Pairs where one depends on the other, directly or not: their overlap is by design."""
    pairs: set[frozenset[IssueNumber]] = set()
    for issue in deps:
        for ancestor in _ancestors(deps, issue):
            pairs.add(frozenset((issue, ancestor)))
    return pairs


def _ancestors(
    deps: Mapping[IssueNumber, Sequence[IssueNumber]], issue: IssueNumber
) -> set[IssueNumber]:
    seen: set[IssueNumber] = set()
    stack = list(deps.get(issue, ()))
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.add(dep)
            stack.extend(deps.get(dep, ()))
    return seen


def check(
    git: Git, branches: Sequence[Branch], deps: Mapping[IssueNumber, Sequence[IssueNumber]]
) -> CheckResult:
    """Trial-merge every pair of independent branches that touch a common file.

    Two branches that change no file in common cannot conflict, so only those pairs cost a
    merge-tree: the check stays fast on wide waves.
    """
    changed = {b.issue: set(git.changed_files(b.base, b.tip)) - {""} for b in branches}
    linked = related(deps)
    conflicts: list[Pair] = []
    overlaps: list[Pair] = []
    for left, right in itertools.combinations(sorted(branches, key=lambda b: b.issue), 2):
        common = changed[left.issue] & changed[right.issue]
        if not common or frozenset((left.issue, right.issue)) in linked:
            continue
        result = git.merge_tree(left.tip, right.tip)
        pair = Pair(int(left.issue), int(right.issue), sorted(result.conflicts or common))
        (conflicts if result.conflicts else overlaps).append(pair)
    return CheckResult(conflicts, overlaps)


@dataclass(frozen=True)
class Step:
    """One merge of the integration: the commit after merging `issue` into what came before."""

    issue: IssueNumber
    commit: CommitSha


@dataclass(frozen=True)
class Integration:
    steps: list[Step]
    conflict: tuple[IssueNumber, tuple[str, ...]] | None  # the merge that could not be made


def integrate(git: Git, base: CommitSha, ordered: Sequence[Branch]) -> Integration:
    """Merge every branch, in dependency order, into one throwaway commit on top of `base`."""
    steps: list[Step] = []
    head = base
    for branch in ordered:
        if git.is_ancestor(branch.tip, head):
            steps.append(Step(branch.issue, head))  # already in, through a dependent
            continue
        result = git.merge_tree(head, branch.tip)
        if result.conflicts:
            return Integration(steps, (branch.issue, result.conflicts))
        message = f"issuewave integration: merge #{branch.issue}"
        head = git.commit_tree(result.tree, [head, branch.tip], message)
        steps.append(Step(branch.issue, head))
    return Integration(steps, None)
