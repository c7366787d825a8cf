"""`issuewave land`: merge the verified work into the base branch, in dependency order, with the
tests green after every step.

Local forge: each merge is made and tested in a temporary worktree; the base branch moves only
after the tests passed (compare-and-swap on the ref), so a failure leaves it at the last good
merge. Intent is journalled before the ref moves, so a run killed at any point is finished by
running `land` again, and nothing is merged twice.

GitHub: each PR is merged through the API, in the same order, and only while its head is the
commit issuewave verified; GitHub's required checks are the tests. GitHub is the record of what
is merged, so a re-run skips merged PRs and goes on where the last one stopped. A PR stacked on
a merged one is pointed at the base branch before the lower branch is deleted (deleting first
would close it), and rebased without the lower's own commits when those were squashed.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

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
from issuewave.types import BranchName, CommitSha, IssueNumber
from issuewave.workspace import BACKUP_PREFIX

if TYPE_CHECKING:
    from issuewave.forges.github import GitHubForge, MergeMethod, RemotePull

_STATE_LINE = re.compile(r"^state:.*$", re.M)


def land(*, cwd: Path, squash: bool = False, dry_run: bool = False) -> int:
    opened = open_project(cwd)
    run = pick_run(opened.store, None)
    project = Project(opened.git, run_config(run))
    tasks = [t for t in project.store.tasks(run.id) if t.status in DONE_STATES and t.head_commit]
    order = dependency_order({t.issue: t.depends_on for t in tasks})
    by_issue = {t.issue: t for t in tasks}
    ordered = [by_issue[n] for n in order]
    with run_lock(project.store.home, f"land of {run.id}"):
        if project.forge_kind == "github":
            return _land_on_github(project, run, ordered, squash=squash, dry_run=dry_run)
        _refuse_dirty_base_checkout(project, run)
        return _land_all(project, run, ordered, squash=squash, dry_run=dry_run)


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


class _Scratch:
    """A temporary detached worktree under the store: made on first use, removed at the end."""

    def __init__(self, git: Git, folder: Path) -> None:
        self.git, self.folder = git, folder
        self._worktree: Git | None = None

    def at(self, commit: str) -> Git:
        if self._worktree is None:
            if self.folder.exists():
                self.git.worktree_remove(self.folder, even_locked=True)
            self.git.run("worktree", "add", "--quiet", "--detach", str(self.folder), commit)
            self._worktree = self.git.at(self.folder)
        self._worktree.run("checkout", "--quiet", "--detach", commit)
        return self._worktree

    def reset(self, commit: str) -> None:
        if self._worktree is not None:
            self._worktree.run("reset", "--quiet", "--hard", commit, check=False)

    def close(self) -> None:
        if self._worktree is not None:
            self.git.worktree_remove(self.folder, even_locked=True)
            self.git.worktree_prune()


class _Lander:
    def __init__(self, project: Project, run: RunRecord, *, squash: bool) -> None:
        self.project, self.run, self.squash = project, run, squash
        self.git = project.git
        self.base_ref = f"refs/heads/{run.base_branch}"
        self.folder = project.store.home / "landing" / run.id
        self.scratch = _Scratch(self.git, self.folder)

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
        return self.scratch.at(self.git.must_rev(self.base_ref))

    def _worktree_reset(self) -> None:
        self.scratch.reset(self.base_ref)

    def close(self) -> None:
        self.scratch.close()


# --- GitHub ------------------------------------------------------------------------------------
def _land_on_github(
    project: Project, run: RunRecord, tasks: list[TaskRecord], *, squash: bool, dry_run: bool
) -> int:
    from issuewave.forges.github import GitHubForge  # githubkit loads only when GitHub is used

    forge = project.forge
    if not isinstance(forge, GitHubForge):  # pragma: no cover - forge_kind said github
        raise AssertionError(f"the GitHub forge is a {type(forge).__name__}")
    lander = _GitHubLander(project, run, forge, tasks, squash=squash)
    try:
        for task in tasks:
            if dry_run and not lander.preview(task):
                break
            if not dry_run and not lander.land(task):
                return 1
    finally:
        lander.close(dry_run=dry_run)
    base = run.base_branch
    say("nothing changed (dry run)" if dry_run else f"{base} on GitHub holds every verified "
        f"issue of run {run.id}; `git pull` brings it here")  # fmt: skip
    return 0


class _GitHubLander:
    """Merges the PRs through GitHub's API. What GitHub shows as merged is skipped; the journal
    keeps the intent (`landing`), the result (`landed`) and the tips of rebased branches."""

    def __init__(
        self,
        project: Project,
        run: RunRecord,
        forge: GitHubForge,
        tasks: list[TaskRecord],
        *,
        squash: bool,
    ) -> None:
        self.run, self.forge = run, forge
        self.store, self.git = project.store, project.git
        self.method: MergeMethod = "squash" if squash else "merge"
        self.remote = forge.push_remote or project.config.remote
        self.by_issue = {t.issue: t for t in tasks}
        self.by_branch = {t.branch: t for t in tasks}
        self.scratch = _Scratch(self.git, project.store.home / "landing" / run.id)

    # --- one issue ----------------------------------------------------------------------------
    def land(self, task: TaskRecord) -> bool:
        pull = self._pull(task)
        if pull is None:
            return False
        if pull.state == "merged":
            say(f"#{task.issue}: PR #{pull.number} is merged already")
            return self._after_merge(task, pull)
        if not self._may_merge(task, pull):
            return False
        restacked = self._restack(task, pull)
        merged = self._merge(task, restacked) if restacked is not None else None
        return merged is not None and self._after_merge(task, merged)

    def preview(self, task: TaskRecord) -> bool:
        """What `land` would do for this issue; False where it would stop."""
        pull = self._pull(task)
        if pull is None:
            return False
        if pull.state == "merged":
            say(f"#{task.issue}: PR #{pull.number} is merged already")
            return True
        if not self._may_merge(task, pull, preview=True):
            return False
        how = "squashed" if self.method == "squash" else "with a merge commit"
        say(f"#{task.issue}: would merge PR #{pull.number} ({pull.head} → {self.run.base_branch}) "
            f"{how}{self._before_merging(task, pull)}")  # fmt: skip
        for upper in self.forge.pulls_on_base(pull.head):
            say(f"  then point PR #{upper.number} at {self.run.base_branch} (it targets "
                f"{pull.head}), and only then delete {pull.head}")  # fmt: skip
        return True

    def _before_merging(self, task: TaskRecord, pull: RemotePull) -> str:
        steps = []
        if pull.base != self.run.base_branch:
            steps.append(f"after it is pointed at {self.run.base_branch} (it targets {pull.base})")
        if self.method == "squash" and len(task.depends_on) == 1:
            steps.append(f"rebased without #{task.depends_on[0]}'s own commits if it holds them")
        return ", " + " and ".join(steps) if steps else ""

    def _pull(self, task: TaskRecord) -> RemotePull | None:
        record = self.store.pull_for_head(task.branch)
        pull = self.forge.pull_by_head(task.branch, record.remote_number if record else None)
        if pull is None:
            say(f"#{task.issue}: GitHub has no pull request for {task.branch}; landing stops "
                "here (`issuewave resume` opens it)")  # fmt: skip
        return pull

    def _may_merge(self, task: TaskRecord, pull: RemotePull, *, preview: bool = False) -> bool:
        """Open, aimed at the base branch (or at a lower PR's branch, in a preview), and still
        at the commit issuewave verified: nothing else is merged for it."""
        stop = "landing would stop here" if preview else "landing stops here"
        base_ok = pull.base == self.run.base_branch or (preview and pull.base in self.by_branch)
        if pull.state != "open":
            say(f"#{task.issue}: PR #{pull.number} was closed without merging; {stop}. Reopen it "
                "on GitHub, then run `issuewave land` again")  # fmt: skip
        elif not base_ok:
            say(f"#{task.issue}: PR #{pull.number} targets {pull.base}, not "
                f"{self.run.base_branch}; {stop}. Point it at {self.run.base_branch} on GitHub, "
                "then run `issuewave land` again")  # fmt: skip
        elif pull.head_sha not in self._verified(task):
            say(f"#{task.issue}: PR #{pull.number}'s head {pull.head_sha[:12]} is not the commit "
                f"issuewave verified ({str(task.head_commit)[:12]}): someone pushed to "
                f"{pull.head}; {stop}. Review it and merge it on GitHub, then run `issuewave "
                "land` again to go on")  # fmt: skip
        else:
            return True
        return False

    def _verified(self, task: TaskRecord) -> list[CommitSha]:
        """The verified tip, and the tips `land` rebased it to since."""
        rebased = [
            CommitSha(str(e.data["new"]))
            for e in self.store.events(self.run.id)
            if e.kind == "restacked" and e.issue == task.issue
        ]
        return [CommitSha(str(task.head_commit)), *rebased]

    def _merge(self, task: TaskRecord, pull: RemotePull) -> RemotePull | None:
        self.store.log_event(self.run.id, task.issue, "landing", pr=pull.number,
                             head=pull.head_sha, method=self.method)  # fmt: skip
        outcome = self.forge.merge(pull, method=self.method)
        if outcome.commit is None:
            say(f"#{task.issue}: {outcome.refusal}\n  landing stops at PR #{pull.number}; the "
                "PRs after it stay unmerged. Once GitHub can merge it, run `issuewave land` "
                "again")  # fmt: skip
            return None
        how = "squashed" if self.method == "squash" else "merge commit"
        commit = outcome.commit[:12]
        say(f"#{task.issue}: PR #{pull.number} merged into {pull.base} ({how} {commit})")
        return replace(pull, state="merged", merge_commit=outcome.commit)

    # --- after a merge: the record, the PRs stacked on it, its branch ---------------------------
    def _after_merge(self, task: TaskRecord, pull: RemotePull) -> bool:
        """Stacked PRs are pointed elsewhere before their base branch goes: GitHub closes a PR
        whose base branch is deleted, and a closed PR cannot be re-pointed."""
        self._record_merged(task, pull)
        for upper in self.forge.pulls_on_base(pull.head):
            self._retarget(upper, pull.base)
        self._delete_branch(task, pull)
        return True

    def _record_merged(self, task: TaskRecord, pull: RemotePull) -> None:
        record = self.store.pull_for_head(task.branch)
        if record is not None and record.state != "merged":
            self.store.set_pull_state(self.run.id, record.number, "merged")
        if not self._journalled("landed", task.issue):
            self.store.log_event(self.run.id, task.issue, "landed", pr=pull.number,
                                 commit=pull.merge_commit)  # fmt: skip

    def _retarget(self, upper: RemotePull, base: BranchName) -> None:
        moved = self.forge.retarget(upper.number, base)
        if moved.state != "open" or moved.base != base:
            raise IssuewaveError(
                f"GitHub shows PR #{upper.number} {moved.state}, based on {moved.base}, after "
                f"pointing it at {base}",
                hint=f"reopen it on GitHub, point it at {base}, then run `issuewave land` again",
            )
        mine = self.by_branch.get(upper.head)
        record = self.store.pull_for_head(upper.head)
        if record is not None and record.base != base:
            self.store.open_pull_request(replace(record, base=base))
        self.store.log_event(self.run.id, mine.issue if mine else None, "pr_retargeted",
                             pr=upper.number, base=base, was=upper.base)  # fmt: skip
        say(f"  PR #{upper.number} ({upper.head}) now targets {base} instead of {upper.base}")

    def _delete_branch(self, task: TaskRecord, pull: RemotePull) -> None:
        """The merged head goes, as GitHub's "delete branch" button does; a fork's stays."""
        if self.forge.publishing.head_owner is not None:
            return
        if self._journalled("branch_deleted", task.issue):
            return
        existed = self.forge.delete_branch(pull.head)
        self.store.log_event(self.run.id, task.issue, "branch_deleted", branch=pull.head,
                             existed=existed)  # fmt: skip

    def _journalled(self, kind: str, issue: IssueNumber) -> bool:
        return any(e.kind == kind and e.issue == issue for e in self.store.events(self.run.id))

    # --- a PR on a squashed lower one: rebased without the lower's own commits ------------------
    def _restack(self, task: TaskRecord, pull: RemotePull) -> RemotePull | None:
        """When the lower PR was squashed (or rebased), the branch still carries the lower's
        original commits, which the base branch does not have: they are rebased away."""
        old = self._lower_tip(task, pull.head_sha)
        if old is None:
            return pull
        onto = self._fetch_base()
        if self.git.is_ancestor(old, onto):
            return pull  # merged with a merge commit: those commits are in the base already
        new = self._rebase(task, pull, old, onto)
        return replace(pull, head_sha=new) if new is not None else None

    def _lower_tip(self, task: TaskRecord, tip: str) -> CommitSha | None:
        """The lower (single dependency) tip this branch was built on, if it holds one."""
        lower = self.by_issue.get(task.depends_on[0]) if len(task.depends_on) == 1 else None
        if lower is None:
            return None
        return next((c for c in self._verified(lower) if self.git.is_ancestor(c, tip)), None)

    def _fetch_base(self) -> CommitSha:
        tracking = f"refs/remotes/{self.remote}/{self.run.base_branch}"
        self.git.run("fetch", "--quiet", self.remote,
                     f"+refs/heads/{self.run.base_branch}:{tracking}")  # fmt: skip
        return self.git.must_rev(tracking)

    def _rebase(
        self, task: TaskRecord, pull: RemotePull, old: CommitSha, onto: CommitSha
    ) -> CommitSha | None:
        backup = self._backup(pull.head, pull.head_sha)
        worktree = self.scratch.at(pull.head_sha)
        done = worktree.run(*worktree.identity_args, "rebase", "--quiet", "--no-verify",
                            "--onto", onto, old, check=False)  # fmt: skip
        base = f"{self.remote}/{self.run.base_branch}"
        if done.returncode != 0:
            worktree.run("rebase", "--abort", check=False)
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
            say(f"#{task.issue}: rebasing {pull.head} onto {base} conflicts; landing stops here. "
                f"Its tip is saved as {backup}. Rebase it by hand and merge PR #{pull.number} "
                f"on GitHub, then run `issuewave land` again:\n{tail}")  # fmt: skip
            return None
        new = worktree.must_rev("HEAD")
        self.store.log_event(self.run.id, task.issue, "restacked", branch=pull.head,
                             old=pull.head_sha, new=new, onto=onto, backup=backup)  # fmt: skip
        if not self._force_push(task, pull, new):
            return None
        say(f"#{task.issue}: {pull.head} rebased onto {base} without #{task.depends_on[0]}'s "
            f"squashed commits; its old tip is saved as {backup}")  # fmt: skip
        self.forge.await_head(pull, new)
        return new

    def _force_push(self, task: TaskRecord, pull: RemotePull, new: CommitSha) -> bool:
        """Replaces the branch only if it is still where GitHub showed it: nobody's push is lost."""
        lease = f"--force-with-lease=refs/heads/{pull.head}:{pull.head_sha}"
        done = self.git.run("push", "--quiet", lease, self.remote, f"{new}:refs/heads/{pull.head}",
                            check=False)  # fmt: skip
        if done.returncode != 0:
            say(f"#{task.issue}: pushing the rebased {pull.head} was refused; landing stops "
                f"here. Someone may have pushed to it: review PR #{pull.number} and merge it on "
                f"GitHub, then run `issuewave land` again:\n{done.stderr.strip()}")  # fmt: skip
        return done.returncode == 0

    def _backup(self, branch: str, tip: str) -> str:
        """Like workspace.backup_branch, for the tip on GitHub (the local branch may differ)."""
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
        ref = f"{BACKUP_PREFIX}/{branch}/{stamp}"
        self.git.update_ref(ref, tip)
        return ref

    def close(self, *, dry_run: bool) -> None:
        self.scratch.close()
        if self.forge.api_calls and not dry_run:  # counted into the run's report
            self.store.log_event(self.run.id, None, "forge_api_calls", count=self.forge.api_calls)


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
