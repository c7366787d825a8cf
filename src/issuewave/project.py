"""The repository a command works on: its checkout, configuration, store, forge and plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from issuewave.config import Config, load_config
from issuewave.errors import InputError
from issuewave.forges.base import Forge, IssueSet
from issuewave.forges.registry import DEFAULT_FORGE, ForgeSite, claiming, forge_kind
from issuewave.git import Git, open_repository
from issuewave.issues import Issue
from issuewave.naming import branch_name
from issuewave.plan import Plan, build_plan
from issuewave.store import Store
from issuewave.types import BranchName, IssueNumber


@dataclass(frozen=True)
class Project:
    git: Git  # the main checkout
    config: Config

    @property
    def root(self) -> Path:
        return self.git.cwd

    @cached_property
    def store(self) -> Store:
        return Store.for_repository(self.git.common_dir())

    @cached_property
    def forge(self) -> Forge:
        return forge_kind(self.forge_name).open(ForgeSite(self.git, self.config, self.store))

    @cached_property
    def forge_name(self) -> str:
        """As configured; else the forge whose host the remote is on, unless issue files exist
        (a repository on GitHub that keeps its issues as files stays local)."""
        if self.config.forge:
            return self.config.forge
        if self.path(self.config.issues_dir).is_dir():
            return DEFAULT_FORGE
        return claiming(self.git.remote_url(self.config.remote), self.config)

    def path(self, configured: str) -> Path:
        """A configured path, read against the repository root: absolute from here on."""
        return (self.root / configured).resolve()

    @property
    def worktree_root(self) -> Path:
        return self.path(self.config.worktree_dir)

    def branch_for(self, issue: Issue) -> BranchName:
        return branch_name(self.config.branch, issue)

    @cached_property
    def issue_set(self) -> IssueSet:
        """The forge's issues, read once per command."""
        return self.forge.read_issues()

    def plan(self, *, ignore_missing: bool, only: Iterable[int] = ()) -> Plan:
        issues = list(self.issue_set.issues)
        return select(build_plan(issues, ignore_missing=ignore_missing), issues, only)


def open_project(cwd: Path, overrides: Mapping[str, Any] | None = None) -> Project:
    git = open_repository(cwd)
    return Project(git, load_config(git.cwd, overrides))


def select(plan: Plan, issues: list[Issue], only: Iterable[int]) -> Plan:
    """Keep the chosen issues and every open issue they depend on, transitively."""
    wanted = {IssueNumber(n) for n in only}
    if not wanted:
        return plan
    unknown = sorted(n for n in wanted if n not in plan.issues)
    if unknown:
        raise InputError(
            f"no open issue #{unknown[0]} in {plan_source(issues)}",
            hint="`issuewave plan` lists the open issues",
        )
    keep = set(wanted)
    for number in wanted:
        keep |= _ancestors(plan, number)
    chosen = [i for i in issues if i.number in keep or not i.is_open]
    return build_plan(chosen, ignore_missing=True)


def _ancestors(plan: Plan, number: IssueNumber) -> set[IssueNumber]:
    seen: set[IssueNumber] = set()
    stack = list(plan.deps.get(number, ()))
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.add(dep)
            stack.extend(plan.deps.get(dep, ()))
    return seen


def plan_source(issues: list[Issue]) -> str:
    return str(Path(issues[0].source).parent) if issues and issues[0].source else "the forge"
