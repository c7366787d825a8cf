"""The progress comment: one per issue, carrying a hidden marker, created once and then edited
in place, so a resumed run (a new process) finds and edits the same one."""

from __future__ import annotations

import logging

from issuewave.forges.github.api import PAGE_SIZE, GitHubApi, GitHubError, Json, json_of
from issuewave.forges.github.settings import Repository
from issuewave.issues import Issue
from issuewave.types import IssueNumber

log = logging.getLogger("issuewave.github")

# Hidden in the progress comment so a resumed run finds and edits the same one.
PROGRESS_MARKER = "<!-- issuewave:progress -->"


class ProgressComments:
    def __init__(self, api: GitHubApi, repository: Repository) -> None:
        self.api = api
        self.owner, self.repo = repository.owner, repository.name
        self.full_name = repository.full_name
        self._ids: dict[IssueNumber, int] = {}

    def progress(self, issue: Issue, text: str) -> None:
        """The Forge protocol's progress note: a failure to write it never fails the issue."""
        try:
            self.comment(issue.number, text)
        except GitHubError as exc:
            log.warning("could not write the progress comment on #%d: %s", issue.number, exc)

    def comment(self, issue: IssueNumber, text: str) -> int:
        """Write `text` as the issue's one progress comment: created once, then edited in place.
        Returns the comment's id."""
        body = f"{PROGRESS_MARKER}\n{text}"
        comment_id = self._ids.get(issue) or self._find_progress_comment(issue)
        if comment_id is not None:
            try:
                self._edit_comment(comment_id, body)
            except GitHubError as exc:
                if exc.status not in (403, 404):
                    raise
                comment_id = None  # deleted, or someone else's copy of the marker: write ours
        if comment_id is None:
            comment_id = self._create_comment(issue, body)
        self._ids[issue] = comment_id
        return comment_id

    def _find_progress_comment(self, issue: IssueNumber) -> int | None:
        """The id of the comment carrying our marker, looked for page by page."""
        page = 1
        while True:
            comments = self._comments_page(issue, page)
            for item in comments:
                if PROGRESS_MARKER in str(item.get("body") or ""):
                    return int(item["id"])
            if len(comments) < PAGE_SIZE:
                return None
            page += 1

    def _comments_page(self, issue: IssueNumber, page: int) -> list[Json]:
        def send() -> list[Json]:
            answer = self.api.github.rest.issues.list_comments(
                self.owner, self.repo, issue, per_page=PAGE_SIZE, page=page
            )
            return list(json_of(answer))

        path = f"/repos/{self.full_name}/issues/{issue}/comments?page={page}"
        return self.api.call(f"GET {path}", send)

    def _create_comment(self, issue: IssueNumber, body: str) -> int:
        def send() -> int:
            answer = self.api.github.rest.issues.create_comment(
                self.owner, self.repo, issue, body=body
            )
            return int(json_of(answer)["id"])

        what = f"POST /repos/{self.full_name}/issues/{issue}/comments"
        return self.api.call(
            what, send, mutation=True, recover=lambda: self._find_progress_comment(issue)
        )

    def _edit_comment(self, comment_id: int, body: str) -> None:
        self.api.call(
            f"PATCH /repos/{self.full_name}/issues/comments/{comment_id}",
            lambda: self.api.github.rest.issues.update_comment(
                self.owner, self.repo, comment_id, body=body
            ),
            mutation=True,
        )
