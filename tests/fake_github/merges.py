"""Merging and deleting branches, over the bare repository the branches were pushed to (when a
test gives one): a merge is a real merge or squash commit on the base branch, made by git."""

from __future__ import annotations

import secrets
from urllib.parse import unquote

from fake_github.common import (
    CLOSING,
    DOCS,
    MERGE_DOCS,
    NO_SHA,
    REFS_DOCS,
    FakeState,
    Json,
)


class Merges(FakeState):
    def _merge_pull(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        pr = self.pulls.get(int(number))
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        method = str(body.get("merge_method") or "merge")
        refusal = self._merge_refusal(pr, method, body.get("sha"))
        if refusal is not None:
            return refusal
        sha = self._merge_commit(pr, method) if self.repository else secrets.token_hex(20)
        if sha is None:
            return 405, _not_mergeable()
        head_sha = self._tip(pr["head"])
        pr |= {"state": "closed", "merged": True, "merge_commit_sha": sha}
        pr |= {"merged_head": head_sha, "merge_method": method}
        if pr["base"] == self.default_branch:
            self._close_named_issues(str(pr["body"] or ""))
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    def _merge_refusal(self, pr: Json, method: str, sha: object) -> tuple[int, Json] | None:
        """GitHub's 405 and 409 answers, in the order it checks."""
        if pr["state"] != "open":
            return 405, _not_mergeable()
        if method not in ("merge", "squash"):
            message = f"{method.capitalize()} merges are not allowed on this repository."
            return 405, {"message": message, "documentation_url": MERGE_DOCS}
        if pr.get("failing_check"):
            message = f'Required status check "{pr["failing_check"]}" is failing.'
            return 405, {"message": message, "documentation_url": MERGE_DOCS}
        if sha is not None and sha != self._tip(pr["head"]):
            message = "Head branch was modified. Review and try the merge again."
            return 409, {"message": message, "documentation_url": MERGE_DOCS}
        return None

    def _merge_commit(self, pr: Json, method: str) -> str | None:
        """A real merge (or squash) commit on the base branch; None when the two conflict."""
        base, head = self._tip(pr["base"]), self._tip(pr["head"])
        merged = self._git("merge-tree", "--write-tree", base, head, check=False)
        if merged.returncode != 0:
            return None
        tree = merged.stdout.split()[0]
        if method == "squash":
            parents, message = ["-p", base], f"{pr['title']} (#{pr['number']})"
        else:
            parents = ["-p", base, "-p", head]
            message = f"Merge pull request #{pr['number']} from {pr['head_owner']}/{pr['head']}"
        sha = self._git("commit-tree", tree, *parents, "-m", message).stdout.strip()
        self._git("update-ref", f"refs/heads/{pr['base']}", sha, base)
        return sha

    def _close_named_issues(self, body: str) -> None:
        for number in CLOSING.findall(body):
            issue = self.issue_record(int(number))
            if issue is not None:
                issue.state = "closed"

    def _delete_branch(
        self, branch: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json | None]:
        branch = unquote(branch)
        if self.repository is None:
            exists = branch not in self.deleted_branches
        else:
            exists = self._tip(branch) != NO_SHA
        if not exists:
            gone = {"message": "Reference does not exist", "documentation_url": REFS_DOCS}
            return 422, gone | {"status": "422"}
        if self.repository is not None:
            self._git("update-ref", "-d", f"refs/heads/{branch}")
        self.deleted_branches.add(branch)
        return 204, None


def _not_mergeable() -> Json:
    return {"message": "Pull Request is not mergeable", "documentation_url": MERGE_DOCS}
