"""The repository a command works on: its checkout, configuration, store, forge and plan."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from issuewave import proc
from issuewave.config import Config, load_config
from issuewave.errors import InputError
from issuewave.forges import remotes
from issuewave.forges.base import Forge
from issuewave.forges.local import LocalForge
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
        if self.forge_kind == "github":
            return self._github()
        return LocalForge(self.path(self.config.issues_dir), self.store)

    @cached_property
    def forge_kind(self) -> str:
        """As configured; else GitHub when the remote is on GitHub and no issue folder exists."""
        if self.config.forge:
            return self.config.forge
        url = self.remote_url()
        on_github = url is not None and remotes.is_github_remote(url, self._github_host())
        return "github" if on_github and not self.path(self.config.issues_dir).is_dir() else "local"

    def remote_url(self) -> str | None:
        done = self.git.run("remote", "get-url", self.config.remote, check=False)
        return done.stdout.strip() or None if done.returncode == 0 else None

    def _github_host(self) -> str:
        api = self.config.api_url
        return urlparse(api).hostname or "github.com" if api else "github.com"

    def _github(self) -> Forge:
        from issuewave.forges import github  # githubkit loads only when GitHub is used

        owner, name = self._owner_and_repo()
        token = github.resolve_token(os.environ, host=self._github_host(), cwd=self.root)
        proc.add_secret(token)  # from `gh auth token` it is in no variable redact() knows
        c = self.config
        return github.GitHubForge(
            owner,
            name,
            token=token,
            store=self.store,
            base_url=c.api_url,
            selection=github.Selection(c.labels, c.milestone, c.assignee),
            trust=github.Trust(c.trusted_authors, c.require_label),
            publishing=github.Publishing(draft=c.draft),
            push_remote=c.remote,
        )

    def _owner_and_repo(self) -> tuple[str, str]:
        if self.config.repo:
            owner, _, name = self.config.repo.partition("/")
            if owner and name and "/" not in name:
                return owner, name
            raise InputError(f"repo must be owner/name, not {self.config.repo!r}")
        url = self.remote_url()
        parsed = remotes.parse_remote(url, self._github_host()) if url else None
        if parsed is None:
            raise InputError(
                f"cannot tell the GitHub repository from remote {self.config.remote!r} ({url})",
                hint="pass --repo owner/name",
            )
        return parsed

    def path(self, configured: str) -> Path:
        """A configured path, read against the repository root: absolute from here on."""
        return (self.root / configured).resolve()

    @property
    def worktree_root(self) -> Path:
        return self.path(self.config.worktree_dir)

    def branch_for(self, issue: Issue) -> BranchName:
        return branch_name(self.config.branch, issue)

    def plan(self, *, ignore_missing: bool, only: Iterable[int] = ()) -> Plan:
        issues = self.forge.list_issues()
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
