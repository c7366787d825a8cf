"""Landing on GitHub: each PR merged through the API, in dependency order, and only while its
head is the commit issuewave verified; GitHub's required checks are the tests.

GitHub is the record of what is merged, so a re-run skips merged PRs and goes on where the last
one stopped. A PR stacked on a merged one is pointed at the base branch before the lower branch
is deleted (deleting first would close it), and rebased without the lower's own commits when
those were squashed.
"""

from __future__ import annotations

from dataclasses import replace

from issuewave.errors import IssuewaveError
from issuewave.forges.base import Landing
from issuewave.forges.github.pulls import MergeMethod, Pulls, RemotePull
from issuewave.store import TaskRecord
from issuewave.testbed import ScratchCheckout
from issuewave.types import BranchName, CommitSha, IssueNumber
from issuewave.ui import say
from issuewave.workspace import backup_tip


def land(landing: Landing, pulls: Pulls, *, remote: str) -> int:
    """Land the run's PRs through `pulls`; `remote` is where the branches were pushed."""
    lander = _GitHubLander(landing, pulls, remote)
    try:
        for task in landing.tasks:
            if landing.dry_run and not lander.preview(task):
                break
            if not landing.dry_run and not lander.land(task):
                return 1
    finally:
        lander.close(dry_run=landing.dry_run)
    base = landing.run.base_branch
    say("nothing changed (dry run)" if landing.dry_run else f"{base} on GitHub holds every "
        f"verified issue of run {landing.run.id}; `git pull` brings it here")  # fmt: skip
    return 0


class _GitHubLander:
    """Merges the PRs through GitHub's API. What GitHub shows as merged is skipped; the journal
    keeps the intent (`landing`), the result (`landed`) and the tips of rebased branches."""

    def __init__(self, landing: Landing, pulls: Pulls, remote: str) -> None:
        self.run, self.pulls, self.remote = landing.run, pulls, remote
        self.store, self.git = landing.store, landing.git
        self.method: MergeMethod = "squash" if landing.squash else "merge"
        self.by_issue = {t.issue: t for t in landing.tasks}
        self.by_branch = {t.branch: t for t in landing.tasks}
        self.scratch = ScratchCheckout(self.git, self.store.home / "landing" / self.run.id)

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
        for upper in self.pulls.on_base(pull.head):
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
        pull = self.pulls.by_head(task.branch, record.remote_number if record else None)
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
        outcome = self.pulls.merge(pull, method=self.method)
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
        for upper in self.pulls.on_base(pull.head):
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
        moved = self.pulls.retarget(upper.number, base)
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
        if self.pulls.publishing.head_owner is not None:
            return
        if self._journalled("branch_deleted", task.issue):
            return
        existed = self.pulls.delete_branch(pull.head)
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
        return self.git.fetch_branch(self.remote, self.run.base_branch)

    def _rebase(
        self, task: TaskRecord, pull: RemotePull, old: CommitSha, onto: CommitSha
    ) -> CommitSha | None:
        backup = backup_tip(self.git, pull.head, pull.head_sha)  # GitHub's tip, not ours
        worktree = self.scratch.at(pull.head_sha)
        conflict = worktree.rebase_onto(onto, old)
        base = f"{self.remote}/{self.run.base_branch}"
        if conflict is not None:
            say(f"#{task.issue}: rebasing {pull.head} onto {base} conflicts; landing stops here. "
                f"Its tip is saved as {backup}. Rebase it by hand and merge PR #{pull.number} "
                f"on GitHub, then run `issuewave land` again:\n{conflict}")  # fmt: skip
            return None
        new = self.scratch.bring_back()
        self.store.log_event(self.run.id, task.issue, "restacked", branch=pull.head,
                             old=pull.head_sha, new=new, onto=onto, backup=backup)  # fmt: skip
        if not self._force_push(task, pull, new):
            return None
        say(f"#{task.issue}: {pull.head} rebased onto {base} without #{task.depends_on[0]}'s "
            f"squashed commits; its old tip is saved as {backup}")  # fmt: skip
        self.pulls.await_head(pull, new)
        return new

    def _force_push(self, task: TaskRecord, pull: RemotePull, new: CommitSha) -> bool:
        """Replaces the branch only if it is still where GitHub showed it: nobody's push is lost."""
        refusal = self.git.push_with_lease(self.remote, new, pull.head, pull.head_sha)
        if refusal is not None:
            say(f"#{task.issue}: pushing the rebased {pull.head} was refused; landing stops "
                f"here. Someone may have pushed to it: review PR #{pull.number} and merge it on "
                f"GitHub, then run `issuewave land` again:\n{refusal}")  # fmt: skip
        return refusal is None

    def close(self, *, dry_run: bool) -> None:
        self.scratch.close()
        calls = self.pulls.api.calls
        if calls and not dry_run:  # counted into the run's report
            self.store.log_event(self.run.id, None, "forge_api_calls", count=calls)
