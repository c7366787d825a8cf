"""Pull requests on GitHub, through REST: found by head, opened (never a second for a head),
labelled, merged only at the head issuewave verified, re-pointed, and their branches deleted.

Answers are read from the raw JSON (`RemotePull`), a few fields only: a schema drift elsewhere
in GitHub's answer cannot break them. A create whose answer was lost is found, not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from issuewave.forges.base import PullRef, PullRequestDraft
from issuewave.forges.github.api import PAGE_SIZE, GitHubApi, GitHubError, Json, json_of
from issuewave.forges.github.settings import Publishing, Repository
from issuewave.types import BranchName, CommitSha

MergeMethod = Literal["merge", "squash"]
MERGE_REFUSALS = (405, 409, 422)  # a failing required check, a moved head, a conflict, not open
MERGE_TRIES = 3  # "Base branch was modified": GitHub is still digesting the previous merge


@dataclass(frozen=True)
class RemotePull:
    number: int
    url: str
    head: BranchName
    base: BranchName
    title: str
    body: str
    labels: tuple[str, ...]
    state: str = "open"  # "open", "merged", or "closed" (closed without merging)
    head_sha: str = ""  # the head's commit as GitHub shows it
    merge_commit: CommitSha | None = None

    @property
    def ref(self) -> PullRef:
        return PullRef(self.number, self.url, self.labels)


@dataclass(frozen=True)
class MergeOutcome:
    """A merge GitHub made (`commit`), or its reason for refusing one (`refusal`)."""

    commit: CommitSha | None
    refusal: str = ""


class Pulls:
    """The pull requests of one repository whose heads are issuewave's branches."""

    def __init__(self, api: GitHubApi, repository: Repository, publishing: Publishing) -> None:
        self.api, self.publishing = api, publishing
        self.owner, self.repo = repository.owner, repository.name
        self.full_name = repository.full_name

    # --- looking ------------------------------------------------------------------------------
    def find_open(self, head: BranchName) -> RemotePull | None:
        """The head's open pull request (the oldest, should there be two)."""
        pulls = self._listed(head=head, state="open")
        return min(pulls, key=lambda p: p.number, default=None)

    def state(self, head: BranchName) -> str | None:
        """The state of the head's pull requests on GitHub: open, merged, closed, or None.
        A merged dependency satisfies the publishing order as well as an open one does."""
        states = {pull.state for pull in self._listed(head=head, state="all")}
        return next((s for s in ("open", "merged", "closed") if s in states), None)

    def by_head(self, head: BranchName, number: int | None = None) -> RemotePull | None:
        """The head's pull request in any state: `number` if it is one of them, else the open
        one, else the merged one, else a closed one."""
        pulls = self._listed(head=head, state="all")
        if chosen := [pull for pull in pulls if pull.number == number]:
            return chosen[0]
        rank = {"open": 0, "merged": 1}
        return min(pulls, key=lambda p: (rank.get(p.state, 2), -p.number), default=None)

    def on_base(self, base: BranchName) -> list[RemotePull]:
        """The open pull requests whose base is `base`: those stacked on that branch."""
        return self._listed(base=base, state="open")

    def _listed(
        self, *, state: Literal["open", "all"], head: str | None = None, base: str | None = None
    ) -> list[RemotePull]:
        full_head = self._head(head) if head is not None else None

        def send() -> list[RemotePull]:
            answer = self.api.github.rest.pulls.list(
                self.owner, self.repo, head=full_head, base=base, state=state, per_page=PAGE_SIZE
            )
            return [remote_pull(pull) for pull in json_of(answer)]

        asked = f"head={head}" if head is not None else f"base={base}"
        asked += "&state=all" if state == "all" else ""
        return self.api.call(f"GET /repos/{self.full_name}/pulls?{asked}", send)

    def _head(self, branch: str) -> str:
        return f"{self.publishing.head_owner or self.owner}:{branch}"

    # --- opening ------------------------------------------------------------------------------
    def open(self, draft: PullRequestDraft) -> PullRef:
        """Open the PR (or update the open one for the head: never a second) and label it."""
        existing = self.find_open(draft.head)
        pull = self._update(existing.number, draft) if existing else self._create(draft)
        copied = draft.issue.labels if self.publishing.copy_issue_labels else ()
        labels = tuple(dict.fromkeys((*copied, *self.publishing.labels)))
        self._add_labels(pull.number, labels)
        return PullRef(pull.number, pull.url, labels)

    def _create(self, draft: PullRequestDraft) -> RemotePull:
        head = draft.head if self.publishing.head_owner is None else self._head(draft.head)

        def send() -> RemotePull:
            answer = self.api.github.rest.pulls.create(
                self.owner, self.repo, title=draft.title, head=head, base=draft.base,
                body=draft.body, draft=self.publishing.draft,
            )  # fmt: skip
            return remote_pull(json_of(answer))

        what = f"POST /repos/{self.full_name}/pulls (head {draft.head})"
        try:
            return self.api.call(
                what, send, mutation=True, recover=lambda: self.find_open(draft.head)
            )
        except GitHubError as exc:
            # Another process opened it between our look and our create: use theirs.
            found = self.find_open(draft.head) if exc.status == 422 else None
            if found is None:
                raise
            return self._update(found.number, draft)

    def _update(self, number: int, draft: PullRequestDraft) -> RemotePull:
        def send() -> RemotePull:
            answer = self.api.github.rest.pulls.update(
                self.owner, self.repo, number, title=draft.title, body=draft.body, base=draft.base
            )
            return remote_pull(json_of(answer))

        return self.api.call(f"PATCH /repos/{self.full_name}/pulls/{number}", send, mutation=True)

    def _add_labels(self, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return
        self.api.call(
            f"POST /repos/{self.full_name}/issues/{number}/labels",
            lambda: self.api.github.rest.issues.add_labels(
                self.owner, self.repo, number, labels=list(labels)
            ),
            mutation=True,  # adding a label twice is harmless, so a plain retry is safe
        )

    # --- merging and what follows ---------------------------------------------------------------
    def merge(self, pull: RemotePull, *, method: MergeMethod) -> MergeOutcome:
        """Merge the PR if its head is still `pull.head_sha`. GitHub's refusals (a required check
        failing, the head moved, not mergeable) come back as the outcome, not as an error."""
        for attempt in range(MERGE_TRIES):
            try:
                return self._merge_once(pull, method)
            except GitHubError as exc:
                if exc.status not in MERGE_REFUSALS:
                    raise
                busy = "base branch was modified" in exc.message.lower()
                if not busy or attempt + 1 == MERGE_TRIES:
                    return MergeOutcome(None, exc.message)
                self.api.pacing.sleep(self.api.pacing.backoff * 2**attempt)
        raise AssertionError("unreachable: the last try returns")  # pragma: no cover

    def _merge_once(self, pull: RemotePull, method: MergeMethod) -> MergeOutcome:
        def send() -> MergeOutcome:
            answer = self.api.github.rest.pulls.merge(
                self.owner, self.repo, pull.number, merge_method=method, sha=pull.head_sha
            )
            data = json_of(answer)
            if not data.get("merged"):
                return MergeOutcome(None, str(data.get("message") or "GitHub did not merge it"))
            return MergeOutcome(CommitSha(str(data["sha"])))

        def recover() -> MergeOutcome | None:  # the merge happened and its answer was lost
            found = self.by_head(pull.head, pull.number)
            if found is None or found.state != "merged":
                return None
            return MergeOutcome(found.merge_commit or CommitSha(""))  # newer API versions omit it

        what = f"PUT /repos/{self.full_name}/pulls/{pull.number}/merge"
        return self.api.call(what, send, mutation=True, recover=recover)

    def await_head(self, pull: RemotePull, sha: str, *, tries: int = 5) -> bool:
        """After a push GitHub moves the PR's head in the background; until it shows `sha`, a
        merge of `sha` would be refused as "head branch was modified"."""
        for attempt in range(tries):
            found = self.by_head(pull.head, pull.number)
            if found is not None and found.head_sha == sha:
                return True
            self.api.pacing.sleep(min(self.api.pacing.backoff * 2**attempt, 8.0))
        return False

    def retarget(self, number: int, base: BranchName) -> RemotePull:
        """Point the PR at another base branch; GitHub's answer says whether it still is open."""

        def send() -> RemotePull:
            answer = self.api.github.rest.pulls.update(self.owner, self.repo, number, base=base)
            return remote_pull(json_of(answer))

        what = f"PATCH /repos/{self.full_name}/pulls/{number} (base {base})"
        return self.api.call(what, send, mutation=True)  # the same base twice is harmless

    def delete_branch(self, branch: BranchName) -> bool:
        """Delete the branch on GitHub; False when it was gone already (404, 422)."""
        ref = "heads/" + quote(branch, safe="/")
        try:
            self.api.call(
                f"DELETE /repos/{self.full_name}/git/refs/{ref}",
                lambda: self.api.github.rest.git.delete_ref(self.owner, self.repo, ref),
                mutation=True,  # a retry after a lost answer finds it gone: 422, fine
            )
        except GitHubError as exc:
            if exc.status in (404, 422):
                return False
            raise
        return True


def remote_pull(data: Json) -> RemotePull:
    """The few fields we use, read from the raw answer: a schema drift elsewhere cannot break it."""
    merged = bool(data.get("merged_at") or data.get("merged"))
    merge_commit = data.get("merge_commit_sha") if merged else None
    return RemotePull(
        number=int(data["number"]),
        url=str(data["html_url"]),
        head=BranchName(str(data["head"]["ref"])),
        base=BranchName(str(data["base"]["ref"])),
        title=str(data["title"]),
        body=str(data.get("body") or ""),
        labels=tuple(str(label["name"]) for label in data.get("labels") or []),
        state="merged" if merged else str(data["state"]),
        head_sha=str(data["head"].get("sha") or ""),
        merge_commit=CommitSha(str(merge_commit)) if merge_commit else None,
    )
