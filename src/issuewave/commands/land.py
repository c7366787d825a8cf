"""`issuewave land`: merge the verified work into the base branch, in dependency order, with the
tests green after every step.

Each merge is made and tested in a temporary worktree; the base branch moves only after the tests
passed (compare-and-swap on the ref), so a failure leaves it at the last good merge. Intent is
journalled before the ref moves, so a run killed at any point is finished by running `land`
again, and nothing is merged twice.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from issuewave import proc
from issuewave.agents.base import allowed_environment
from issuewave.commands._shared import pick_run, run_config, say
from issuewave.commands.run import checked_test_command
from issuewave.errors import IssuewaveError
from issuewave.git import Git
from issuewave.naming import one_line
from issuewave.plan import dependency_order
from issuewave.project import Project, open_project
from issuewave.store import DONE_STATES, RunRecord, TaskRecord, run_lock
from issuewave.types import CommitSha, IssueNumber

_STATE_LINE = re.compile(r"^state:.*$", re.M)


def land(*, cwd: Path, squash: bool = False, dry_run: bool = False) -> int:
    opened = open_project(cwd)
    run = pick_run(opened.store, None)
    project = Project(opened.git, run_config(run))
    if project.forge_kind != "local":
        raise IssuewaveError(
            "landing through GitHub's API is not built yet",
            hint="merge the pull requests on GitHub in the order `issuewave prs` lists them",
        )
    tasks = [t for t in project.store.tasks(run.id) if t.status in DONE_STATES and t.head_commit]
    order = dependency_order({t.issue: t.depends_on for t in tasks})
    by_issue = {t.issue: t for t in tasks}
    with run_lock(project.store.home, f"land of {run.id}"):
        _refuse_dirty_base_checkout(project, run)
        return _land_all(project, run, [by_issue[n] for n in order], squash=squash, dry_run=dry_run)


def _land_all(
    project: Project, run: RunRecord, tasks: list[TaskRecord], *, squash: bool, dry_run: bool
) -> int:
    lander = _Lander(project, run, squash=squash)
    try:
        for task in tasks:
            if lander.landed(task):
                say(f"#{task.issue}: already in {run.base_branch}")
                continue
            if dry_run:
                say(f"#{task.issue}: would merge {task.branch} into {run.base_branch}, then test")
                continue
            if not lander.land(task):
                return 1
    finally:
        lander.close()
    say("" if dry_run else f"{run.base_branch} holds every verified issue of run {run.id}")
    return 0


def _refuse_dirty_base_checkout(project: Project, run: RunRecord) -> None:
    """The main checkout follows the base branch forward only when nothing in it can be lost."""
    if project.git.current_branch() == run.base_branch and project.git.status():
        raise IssuewaveError(
            f"the main checkout is on {run.base_branch} and has uncommitted changes",
            hint="commit or stash them, then run `issuewave land` again",
        )


class _Lander:
    def __init__(self, project: Project, run: RunRecord, *, squash: bool) -> None:
        self.project, self.run, self.squash = project, run, squash
        self.git = project.git
        self.base_ref = f"refs/heads/{run.base_branch}"
        self.folder = project.store.home / "landing" / run.id
        self._worktree: Git | None = None

    # --- what is already there ----------------------------------------------------------------
    def landed(self, task: TaskRecord) -> bool:
        tip = self.git.must_rev(self.base_ref)
        if task.head_commit and self.git.is_ancestor(task.head_commit, tip):
            return True
        return any(  # a squash leaves no ancestry: the journal says which commit carried it
            e.issue == task.issue and self.git.is_ancestor(str(e.data["commit"]), tip)
            for e in self.project.store.events(self.run.id)
            if e.kind == "landing"
        )

    # --- one issue ----------------------------------------------------------------------------
    def land(self, task: TaskRecord) -> bool:
        worktree = self._at_base()
        old = self.git.must_rev(self.base_ref)
        if not self._merge(worktree, task):
            return False
        new = worktree.must_rev("HEAD")
        if not self._tests_pass(task):
            say(f"#{task.issue}: the tests fail after merging it; {self.run.base_branch} stays at "
                f"{old[:12]} (log: {self._log})")  # fmt: skip
            return False
        self.project.store.log_event(self.run.id, task.issue, "landing", commit=new, old=old)
        self.git.update_ref(self.base_ref, new, old)
        self._follow_in_main_checkout(old, new)
        self._record_merged(task, new)
        say(f"#{task.issue}: merged into {self.run.base_branch} at {new[:12]}; tests pass")
        return True

    def _merge(self, worktree: Git, task: TaskRecord) -> bool:
        tip = str(task.head_commit)
        title = one_line(task.title, 100)
        args = ["--squash"] if self.squash else ["--no-ff", "--no-commit"]
        done = worktree.run("merge", "--quiet", *args, tip, check=False)
        if done.returncode != 0:
            worktree.run("merge", "--abort", check=False)
            worktree.run("reset", "--quiet", "--hard", "HEAD", check=False)  # our own worktree
            conflict = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
            say(f"#{task.issue}: merging {task.branch} conflicts:\n{conflict}")
            return False
        self._close_issue_file(worktree, task.issue)
        worktree.run(*worktree.identity_args, "commit", "--quiet", "--no-verify", "-m",
                     f"Merge #{task.issue}: {title}\n\nCloses #{task.issue}")  # fmt: skip
        return True

    def _close_issue_file(self, worktree: Git, number: IssueNumber) -> None:
        """The local forge's issue is closed in the same commit that lands its work."""
        issues = {i.number: i for i in self.project.forge.list_issues()}
        issue = issues.get(number)
        if issue is None or not issue.source:
            return
        relative = Path(issue.source).resolve().relative_to(self.project.root)
        path = worktree.cwd / relative
        if path.is_file():
            path.write_text(close_front_matter(path.read_text(encoding="utf-8")), encoding="utf-8")
            worktree.run("add", str(relative))

    @property
    def _log(self) -> Path:
        return self.folder.parent / f"{self.run.id}.log"

    def _tests_pass(self, task: TaskRecord) -> bool:
        self._log.unlink(missing_ok=True)
        outcome = asyncio.run(
            proc.supervise(
                checked_test_command(self.project), cwd=self.folder,
                env=allowed_environment(self.project.config.pass_env),
                timeout=self.project.config.timeout, stdout_path=self._log,
                tag=f"{self.run.id}-land-{task.issue}",
            )
        )  # fmt: skip
        if outcome.returncode != 0:
            self._worktree_reset()
        return outcome.returncode == 0

    def _follow_in_main_checkout(self, old: CommitSha, new: CommitSha) -> None:
        """A main checkout on the base branch moves with it (a fast-forward; never forced)."""
        if self.git.current_branch() == self.run.base_branch:
            self.git.run("read-tree", "-m", "-u", old, new)

    def _record_merged(self, task: TaskRecord, commit: CommitSha) -> None:
        pr = self.project.store.pull_for_head(task.branch)
        if pr is not None:
            self.project.store.set_pull_state(self.run.id, pr.number, "merged")
        self.project.store.log_event(self.run.id, task.issue, "landed", commit=commit)

    # --- the temporary worktree ---------------------------------------------------------------
    def _at_base(self) -> Git:
        tip = self.git.must_rev(self.base_ref)
        if self._worktree is None:
            if self.folder.exists():
                self.git.worktree_remove(self.folder, even_locked=True)
            self.git.run("worktree", "add", "--quiet", "--detach", str(self.folder), tip)
            self._worktree = self.git.at(self.folder)
        self._worktree.run("checkout", "--quiet", "--detach", tip)
        return self._worktree

    def _worktree_reset(self) -> None:
        if self._worktree is not None:
            self._worktree.run("reset", "--quiet", "--hard", self.base_ref, check=False)

    def close(self) -> None:
        if self._worktree is not None:
            self.git.worktree_remove(self.folder, even_locked=True)
            self.git.worktree_prune()


def close_front_matter(text: str) -> str:
    """`state: closed` in the front matter: replaced if present, added before the closing line."""
    lines = text.split("\n")
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if not lines or lines[0].strip() != "---" or closing is None:
        return text
    front = "\n".join(lines[1:closing])
    if _STATE_LINE.search(front):
        front = _STATE_LINE.sub("state: closed", front)
    else:
        front = front + "\nstate: closed" if front else "state: closed"
    return "\n".join(["---", front, *lines[closing:]])
