"""The GitHub forge, one concern a module:

- `auth`: the token (GITHUB_TOKEN, GH_TOKEN, `gh auth token`), masked from every log;
- `settings`: what the forge is told, as data (Selection, Trust, Publishing, Pacing);
- `api`: `GitHubApi.call`, the one way to GitHub (pacing, rate limits, retries, lost answers);
- `queries` and `nodes`: the GraphQL documents, and what their answers say about an issue;
- `issues`: reading issues, trust and dependencies into one `IssueSet`;
- `pulls`, `comments`, `landing`: pull requests, the progress comment, merging in order;
- `forge`: `GitHubForge`, which composes them, and `open_forge` (the registry's opener).

Importing this package imports githubkit; `forges.registry` imports it only when GitHub is used.
"""

from issuewave.forges.github.api import GitHubApi, GitHubError, api_base_url
from issuewave.forges.github.auth import resolve_token
from issuewave.forges.github.comments import PROGRESS_MARKER
from issuewave.forges.github.forge import GitHubForge, open_forge
from issuewave.forges.github.issues import GitHubIssue
from issuewave.forges.github.pulls import MergeMethod, MergeOutcome, RemotePull
from issuewave.forges.github.settings import Pacing, Publishing, Selection, Trust

__all__ = [
    "PROGRESS_MARKER",
    "GitHubApi",
    "GitHubError",
    "GitHubForge",
    "GitHubIssue",
    "MergeMethod",
    "MergeOutcome",
    "Pacing",
    "Publishing",
    "RemotePull",
    "Selection",
    "Trust",
    "api_base_url",
    "open_forge",
    "resolve_token",
]
