"""The GitHub forge: issues read with GraphQL, pull requests and progress comments through REST,
landing through GitHub's merge button. One `GitHubApi` carries every call; this class only
composes the reader, the pulls, the comments and the lander over it.
"""

from __future__ import annotations

import os

from issuewave.errors import InputError
from issuewave.forges.base import IssueSet, Landing, PullRef, PullRequestDraft
from issuewave.forges.github import landing as github_landing
from issuewave.forges.github.api import GitHubApi, api_base_url
from issuewave.forges.github.auth import masked_token
from issuewave.forges.github.comments import ProgressComments
from issuewave.forges.github.issues import GitHubIssue, IssueReader
from issuewave.forges.github.pulls import Pulls
from issuewave.forges.github.settings import Pacing, Publishing, Repository, Selection, Trust
from issuewave.forges.registry import ForgeSite
from issuewave.forges.remotes import github_host, parse_remote
from issuewave.issues import Issue
from issuewave.types import BranchName, IssueNumber


class GitHubForge:
    """Issues of one GitHub repository in; pull requests and progress comments out.

    After `read_issues()`, `details` holds what GitHub says of each planned issue beyond the
    shared model (author, association, parent): for logs and tests, never needed by a caller.
    """

    name = "github"

    def __init__(
        self,
        owner: str,
        repo: str,
        *,
        token: str,
        base_url: str | None = None,
        selection: Selection | None = None,
        trust: Trust | None = None,
        publishing: Publishing | None = None,
        pacing: Pacing | None = None,
        push_remote: str | None = "origin",
    ) -> None:
        self.repository = Repository(owner, repo)
        self.push_remote = push_remote  # the orchestrator pushes there before open_pull()
        self.api = GitHubApi(token, base_url or api_base_url(), pacing or Pacing())
        self.reader = IssueReader(
            self.api, self.repository, selection or Selection(), trust or Trust()
        )
        self.pulls = Pulls(self.api, self.repository, publishing or Publishing())
        self.comments = ProgressComments(self.api, self.repository)
        self.details: dict[IssueNumber, GitHubIssue] = {}

    def __repr__(self) -> str:
        return f"GitHubForge({self.repository.full_name!r}, api={self.api.base_url!r})"

    @property
    def api_calls(self) -> int:
        return self.api.calls

    def read_issues(self) -> IssueSet:
        """The selected, trusted issues, plus closed issues they depend on (which satisfy)."""
        reading = self.reader.read()
        self.details = dict(reading.details)
        return reading.issue_set

    def find_open_pull(self, head: BranchName) -> PullRef | None:
        pull = self.pulls.find_open(head)
        return pull.ref if pull is not None else None

    def open_pull(self, draft: PullRequestDraft) -> PullRef:
        """The orchestrator pushed the branch before, and records the answer."""
        return self.pulls.open(draft)

    def progress(self, issue: Issue, text: str) -> None:
        self.comments.progress(issue, text)

    def land(self, landing: Landing) -> int:
        return github_landing.land(landing, self.pulls, remote=self.push_remote or "origin")


def open_forge(site: ForgeSite) -> GitHubForge:
    """The forge of the repository the settings (or the remote's URL) name; the token from the
    environment or `gh`, masked in every log from here on."""
    owner, name = _owner_and_repo(site)
    c = site.config
    token = masked_token(os.environ, host=github_host(c.api_url), cwd=site.root)
    return GitHubForge(
        owner,
        name,
        token=token,
        base_url=c.api_url,
        selection=Selection(c.labels, c.milestone, c.assignee),
        trust=Trust(c.trusted_authors, c.require_label),
        publishing=Publishing(draft=c.draft),
        push_remote=c.remote,
    )


def _owner_and_repo(site: ForgeSite) -> tuple[str, str]:
    config = site.config
    if config.repo:
        owner, _, name = config.repo.partition("/")
        if owner and name and "/" not in name:
            return owner, name
        raise InputError(f"repo must be owner/name, not {config.repo!r}")
    url = site.git.remote_url(config.remote)
    parsed = parse_remote(url, github_host(config.api_url)) if url else None
    if parsed is None:
        raise InputError(
            f"cannot tell the GitHub repository from remote {config.remote!r} ({url})",
            hint="pass --repo owner/name",
        )
    return parsed
