"""What every step of one run needs, built once by `run` or `resume` (`launch.py`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from issuewave.agents.base import Agent
from issuewave.config import Config
from issuewave.executor import LocalExecutor, LocalSettings
from issuewave.forges.base import Forge
from issuewave.git import Git
from issuewave.plan import Plan
from issuewave.store import Store
from issuewave.testbed import TestCommand
from issuewave.testchecks import TestChecks, acceptance_of, private_root, recorded_results
from issuewave.types import BranchName, CommitSha, RunId


@dataclass(frozen=True)
class RunContext:
    """What every step of one run needs; built once by `run` or `resume`."""

    run_id: RunId
    git: Git  # the main checkout
    store: Store
    forge: Forge
    config: Config
    plan: Plan
    agent: Agent
    tests: TestCommand
    base_branch: BranchName
    base_commit: CommitSha
    baseline_failures: frozenset[str]
    env: Mapping[str, str]
    worktree_root: Path

    @property
    def run_dir(self) -> Path:
        return self.store.home / "runs" / self.run_id

    def local_executor(self) -> LocalExecutor:
        checks = self.test_checks()
        return LocalExecutor(
            LocalSettings(
                self.git, self.agent, checks.tests, self.env, self.config.timeout,
                self.base_branch, self.baseline_failures,
                branches=frozenset(t.branch for t in self.store.tasks(self.run_id)),
                worktree_root=self.worktree_root, remote=self.config.remote,
                checks=checks, sandbox=checks.tests.sandbox,
            )
        )  # fmt: skip

    def test_checks(self) -> TestChecks:
        """Verification's checks after the workspace's tests, as this run sets them."""
        acceptance = acceptance_of(self.git.cwd, self.store.tasks(self.run_id))
        private = private_root(self.run_dir)
        tests = self.tests
        if tests.sandbox is not None:  # declared acceptance folders may lie anywhere
            hidden = [*acceptance.values(), private]
            tests = dataclasses.replace(tests, sandbox=tests.sandbox.hiding(hidden))
        return TestChecks(
            self.git, tests, self.config.tests_policy, self.baseline_failures,
            recorded_results(self.store, self.run_id, self.git, self.base_commit),
            acceptance, scratch_root=self.run_dir / "scratch", private_root=private,
        )  # fmt: skip
