"""The GitHub forge: issues read with GraphQL, pull requests and progress comments through REST.

Reading costs one GraphQL query per 100 issues (or one for a list of numbers), plus at most one
more when issue text names dependencies whose state the first answer did not show. Dependencies
are the union of GitHub's native "blocked by" links, sub-issues (a parent waits for its
sub-issues) and the "Depends on #N" forms of the issue text. Only trusted issues are planned.

Every call goes through `GitHubApi.call`, which paces mutations, honours GitHub's rate limits,
retries server errors and timeouts with bounded backoff, and never retries a create blindly:
before it tries again, it looks for what the lost answer may already have created. Sleeping and
the clock are injected, so tests check every wait without waiting.
"""

from __future__ import annotations

import logging
import os
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from githubkit import GitHub, Response, TokenAuthStrategy
from githubkit.exception import (
    GitHubException,
    GraphQLFailed,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
)

from issuewave import __version__, proc
from issuewave.dependencies import extract_dependencies, extract_external_references
from issuewave.errors import InputError, IssuewaveError, PrecheckError
from issuewave.forges import github_landing
from issuewave.forges.base import IssueSet, Landing, PullRef, PullRequestDraft
from issuewave.forges.registry import ForgeSite
from issuewave.forges.remotes import github_host, parse_remote
from issuewave.issues import Issue
from issuewave.types import BranchName, CommitSha, IssueNumber, PullNumber, RunId

log = logging.getLogger("issuewave.github")

T = TypeVar("T")
Json = dict[str, Any]

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
# Said by the issue author's relation to the repository: these may hand work to an agent.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
# Hidden in the progress comment so a resumed run finds and edits the same one.
PROGRESS_MARKER = "<!-- issuewave:progress -->"
PAGE_SIZE = 100  # GitHub's largest page, for issues and comments alike
LINKS_PER_ISSUE = 50  # blocked-by links, sub-issues and labels read per issue
_HINTS = {
    401: "the token was refused: renew GITHUB_TOKEN / GH_TOKEN, or run `gh auth login`",
    403: "the token lacks a permission (issues: read and write, pull requests: write)",
    404: "the repository or item is not there, or the token cannot see it",
}


class GitHubError(IssuewaveError):
    """GitHub refused a call, or kept failing after the retries; `status` is its HTTP status."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint=hint)
        self.status = status


# --- the token and the remote --------------------------------------------------------------------
def resolve_token(
    environ: Mapping[str, str], *, host: str = "github.com", cwd: Path | None = None
) -> str:
    """GITHUB_TOKEN, else GH_TOKEN, else what `gh auth token` prints when gh is installed."""
    for name in TOKEN_VARIABLES:
        if value := environ.get(name, "").strip():
            return value
    program = shutil.which("gh", path=environ.get("PATH", ""))
    if program is not None and (token := _gh_token(program, environ, host, cwd or Path.cwd())):
        return token
    asked = "`gh auth token` printed none" if program else "gh (the GitHub CLI) is not installed"
    raise PrecheckError(
        f"no GitHub token: GITHUB_TOKEN and GH_TOKEN are not set, and {asked}",
        hint="export GITHUB_TOKEN (or GH_TOKEN), or install the GitHub CLI and run `gh auth login`",
    )


def _gh_token(program: str, environ: Mapping[str, str], host: str, cwd: Path) -> str | None:
    argv = [program, "auth", "token", *([] if host == "github.com" else ["--hostname", host])]
    try:
        done = proc.run(argv, cwd=cwd, env=proc.clean_env(environ), check=False, timeout=30)
    except IssuewaveError as exc:  # gh hung or vanished: as good as no token
        log.debug("gh auth token failed: %s", exc)
        return None
    token = done.stdout.strip()
    return token if done.returncode == 0 and token else None


def api_base_url(host: str = "github.com") -> str:
    """The REST root of github.com or of a GitHub Enterprise Server host."""
    return "https://api.github.com/" if host == "github.com" else f"https://{host}/api/v3/"


# --- settings, as data --------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """Which issues to read: filters, or explicit numbers (then the filters do not apply)."""

    labels: tuple[str, ...] = ()  # issues carrying all of them
    milestone: int | str | None = None  # its number (as in its URL), its exact title, or "*"
    assignee: str | None = None  # a login, or "*" for any assignee
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Trust:
    """Whose issues may reach an agent: trusted logins, OWNER/MEMBER/COLLABORATOR, or a label."""

    authors: tuple[str, ...] = ()
    require_label: str | None = None  # only people with triage rights can add a label


@dataclass(frozen=True)
class Publishing:
    labels: tuple[str, ...] = ()  # added to every PR
    copy_issue_labels: bool = True  # the issue's labels too, as the local forge records them
    draft: bool = False
    head_owner: str | None = None  # a fork's owner when the branches live there


@dataclass(frozen=True)
class Pacing:
    """How calls are spaced and retried. Tests pass a fake `sleep` and `clock`."""

    mutation_interval: float = 1.0  # GitHub asks for a second between content-creating calls
    max_attempts: int = 5
    backoff: float = 1.0  # first wait after a server error or timeout; doubles each time
    max_backoff: float = 30.0
    max_wait: float = 900.0  # a longer rate-limit wait is an error instead of a silent stall
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class GitHubIssue:
    """What the shared Issue model has no room for, per planned issue."""

    number: IssueNumber
    url: str
    author: str | None  # None for a deleted account
    author_association: str
    parent: str | None  # "#N" or "owner/repo#N"
    # Open dependencies that are not planned here: filtered out, untrusted, or in another
    # repository ("#12", "owner/repo#3"). The issue cannot start until they are closed.
    external_blockers: tuple[str, ...] = ()
    cross_repository: tuple[str, ...] = ()  # every dependency on another repository
    truncated: bool = False  # more than LINKS_PER_ISSUE links: some were not read


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


@dataclass(frozen=True)
class MergeOutcome:
    """A merge GitHub made (`commit`), or its reason for refusing one (`refusal`)."""

    commit: CommitSha | None
    refusal: str = ""


MergeMethod = Literal["merge", "squash"]
MERGE_REFUSALS = (405, 409, 422)  # a failing required check, a moved head, a conflict, not open
MERGE_TRIES = 3  # "Base branch was modified": GitHub is still digesting the previous merge


# --- the HTTP layer: pacing, rate limits, retries ------------------------------------------------
class GitHubApi:
    """githubkit's client with our own retry policy; counts every request in `calls`.

    githubkit's auto-retry is off: it sleeps with time.sleep (not injectable), retries a POST
    whose answer was lost without looking first (a duplicate PR), and does not retry timeouts.
    """

    def __init__(self, token: str, base_url: str, pacing: Pacing) -> None:
        self.base_url = base_url
        self.pacing = pacing
        self.calls = 0
        self._secrets = (token,)
        self._lock = threading.RLock()  # GitHub asks for one request at a time per client
        self._last_mutation = -math.inf
        self._resume_at: dict[str, float] = {}  # per rate-limit resource, from response headers
        self.github = GitHub(
            _SecretToken(token),
            base_url=base_url,
            user_agent=f"issuewave/{__version__}",
            timeout=pacing.timeout,
            http_cache=False,
            auto_retry=False,
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    def __repr__(self) -> str:
        return f"GitHubApi({self.base_url!r}, calls={self.calls})"

    def redact(self, text: str) -> str:
        return proc.redact(text, self._secrets)

    def call(
        self,
        what: str,
        send: Callable[[], T],
        *,
        mutation: bool = False,
        recover: Callable[[], T | None] | None = None,
        kind: str = "core",
    ) -> T:
        """`send()` with retries. Before retrying, `recover()` may find what a lost answer did.

        `kind` names GitHub's rate-limit resource: "core" (REST) or "graphql".
        """
        for attempt in range(self.pacing.max_attempts):
            with self._lock:
                self._pace(kind, mutation)
                try:
                    return send()
                except GitHubException as exc:
                    failure = exc
                finally:
                    if mutation:
                        self._last_mutation = self.pacing.clock()
            self._wait_before_retry(what, failure, attempt)
            if recover is not None and (found := recover()) is not None:
                log.info("%s had succeeded before its answer was lost; not repeating it", what)
                return found
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def graphql(self, what: str, query: str, variables: Json, *, partial: bool = False) -> Json:
        """The query's data. With `partial`, NOT_FOUND and FORBIDDEN parts come back as None."""

        def send() -> Json:
            try:
                return self.github.graphql.request(query, variables)
            except GraphQLFailed as exc:
                if partial and _only_missing(exc):
                    return exc.response.data or {}
                raise

        return self.call(f"GraphQL query for {what}", send, kind="graphql")

    # --- pacing and waiting ---------------------------------------------------------------------
    def _pace(self, kind: str, mutation: bool) -> None:
        now = self.pacing.clock()
        wait = self._resume_at.get(kind, 0.0) - now
        if mutation:
            wait = max(wait, self._last_mutation + self.pacing.mutation_interval - now)
        if wait > self.pacing.max_wait:
            raise GitHubError(
                f"GitHub's {kind} rate limit is used up for {wait:.0f} s more",
                hint=f"try again later; waits longer than {self.pacing.max_wait:.0f} s are refused",
            )
        if wait > 0:
            log.log(logging.INFO if wait >= 1 else logging.DEBUG, "waiting %.1f s for GitHub", wait)
            self.pacing.sleep(wait)

    def _wait_before_retry(self, what: str, failure: GitHubException, attempt: int) -> None:
        delay = self._retry_delay(failure, attempt)
        last = attempt + 1 >= self.pacing.max_attempts
        if delay is None or last:
            raise self._error(what, failure, attempts=attempt + 1) from failure
        seconds, why = delay
        if seconds > self.pacing.max_wait:
            raise GitHubError(
                f"GitHub asks to wait {seconds:.0f} s before {what} ({why})",
                hint=f"try again later; waits longer than {self.pacing.max_wait:.0f} s are refused",
            ) from failure
        log.warning("%s: %s; retrying in %.0f s", what, why, seconds)
        self.pacing.sleep(seconds)

    def _retry_delay(self, exc: GitHubException, attempt: int) -> tuple[float, str] | None:
        """(seconds, reason) when the failure is worth another try, else None."""
        if isinstance(exc, RequestTimeout):
            return self._backoff(attempt), "timed out"
        if isinstance(exc, RequestFailed):
            return self._status_delay(exc, attempt)
        if isinstance(exc, RequestError):  # connection refused or reset, and the like
            return self._backoff(attempt), f"connection failed ({type(exc.exc).__name__})"
        return None

    def _status_delay(self, exc: RequestFailed, attempt: int) -> tuple[float, str] | None:
        status = exc.response.status_code
        if status >= 500:
            return self._backoff(attempt), f"GitHub answered {status}"
        if isinstance(exc, RateLimitExceeded) or status in (403, 429):
            found = self._limit_delay(exc.response.headers, _message(exc), attempt)
            if found is None and isinstance(exc, RateLimitExceeded):  # e.g. GraphQL's RATE_LIMITED
                return max(exc.retry_after.total_seconds(), 1.0), "rate limited"
            return found
        return None

    def _limit_delay(
        self, headers: httpx.Headers, message: str, attempt: int
    ) -> tuple[float, str] | None:
        if (after := _seconds(headers.get("retry-after"))) is not None:
            return after, f"rate limited (retry-after {after:.0f} s)"
        reset = _seconds(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            # Until the window resets, plus a second for the clocks' difference.
            return max(reset - self.pacing.clock(), 0.0) + 1.0, "rate limit used up until reset"
        if "rate limit" in message.lower():  # secondary limit without retry-after: GitHub's rule
            return 60.0 * 2**attempt, "secondary rate limit"
        return None  # a plain 403: a permission, not a limit

    def _backoff(self, attempt: int) -> float:
        return float(min(self.pacing.backoff * 2**attempt, self.pacing.max_backoff))

    def _error(self, what: str, exc: GitHubException, *, attempts: int) -> GitHubError:
        tries = f" after {attempts} tries" if attempts > 1 else ""
        if isinstance(exc, RequestFailed):
            status = exc.response.status_code
            text = f"GitHub refused {what}{tries}: {status} {_message(exc)}"
            return GitHubError(self.redact(text), hint=_HINTS.get(status), status=status)
        if isinstance(exc, GraphQLFailed):
            errors = exc.response.errors or []
            text = f"GitHub refused {what}: " + "; ".join(e.message for e in errors)
            hint = _HINTS[404] if any(e.type == "NOT_FOUND" for e in errors) else None
            return GitHubError(self.redact(text), hint=hint)
        reason = "timed out" if isinstance(exc, RequestTimeout) else "could not reach GitHub"
        return GitHubError(
            self.redact(f"{what} {reason}{tries} ({self.base_url})"),
            hint="check the network, or GitHub's status page, and run the command again",
        )

    # --- every request and response ---------------------------------------------------------
    def _on_request(self, request: httpx.Request) -> None:
        self.calls += 1

    def _on_response(self, response: httpx.Response) -> None:
        headers = response.headers
        request = response.request
        log.debug(
            "%s %s → %s (rate limit left: %s)",
            request.method,
            request.url.path,
            response.status_code,
            headers.get("x-ratelimit-remaining", "?"),
        )
        reset = _seconds(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            kind = "graphql" if request.url.path.endswith("/graphql") else "core"
            self._resume_at[kind] = reset + 1.0  # the next call of this kind waits for the reset


class _SecretToken(TokenAuthStrategy):
    """githubkit's token strategy, without the token in its (dataclass) repr."""

    def __repr__(self) -> str:
        return "TokenAuthStrategy(token='***')"


def _only_missing(exc: GraphQLFailed) -> bool:
    errors = exc.response.errors or []
    return bool(errors) and all(e.type in ("NOT_FOUND", "FORBIDDEN") for e in errors)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(exc: RequestFailed) -> str:
    """GitHub's error message and the details of its `errors` list, on one line."""
    try:
        payload = exc.response.json()
    except ValueError:
        return exc.response.reason_phrase
    if not isinstance(payload, dict):
        return exc.response.reason_phrase
    details = [e.get("message") or e.get("code", "") for e in payload.get("errors", []) or []]
    details = [str(d) for d in details if d]
    message = str(payload.get("message", exc.response.reason_phrase))
    return f"{message} ({'; '.join(details)})" if details else message


# --- GraphQL documents ------------------------------------------------------------------------
_LINK_FRAGMENT = """
fragment IssuewaveLink on Issue { number title state url repository { nameWithOwner } }
"""
_ISSUE_FRAGMENT = f"""
fragment IssuewaveIssue on Issue {{
  number title body state url
  author {{ login }}
  authorAssociation
  labels(first: {LINKS_PER_ISSUE}) {{ nodes {{ name }} }}
  blockedBy(first: {LINKS_PER_ISSUE}) {{ totalCount nodes {{ ...IssuewaveLink }} }}
  subIssues(first: {LINKS_PER_ISSUE}) {{ totalCount nodes {{ ...IssuewaveLink }} }}
  parent {{ number repository {{ nameWithOwner }} }}
}}
"""
LIST_QUERY = (
    f"""
query IssuewaveIssues($owner: String!, $name: String!, $cursor: String, $labels: [String!],
                      $filterBy: IssueFilters) {{
  repository(owner: $owner, name: $name) {{
    issues(first: {PAGE_SIZE}, after: $cursor, states: OPEN, labels: $labels, filterBy: $filterBy,
           orderBy: {{field: CREATED_AT, direction: ASC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...IssuewaveIssue }}
    }}
  }}
}}
"""
    + _ISSUE_FRAGMENT
    + _LINK_FRAGMENT
)


MILESTONES_QUERY = """
query IssuewaveMilestones($owner: String!, $name: String!, $title: String!) {
  repository(owner: $owner, name: $name) {
    milestones(first: 100, query: $title, states: [OPEN, CLOSED]) { nodes { number title } }
  }
}
"""


def numbers_query(numbers: Sequence[int]) -> str:
    """One query for chosen issues, one alias each; a pull request's number comes back NOT_FOUND."""
    fields = "\n".join(
        f"    i{int(n)}: issue(number: {int(n)}) {{ ...IssuewaveIssue }}" for n in numbers
    )
    return (
        "query IssuewaveIssuesByNumber($owner: String!, $name: String!) {\n"
        f"  repository(owner: $owner, name: $name) {{\n{fields}\n  }}\n}}\n"
        + _ISSUE_FRAGMENT
        + _LINK_FRAGMENT
    )


def states_query(wanted: Mapping[str, Sequence[int]]) -> tuple[str, Json]:
    """One query for the state of issues in any repositories; names travel as variables."""
    parts: list[str] = []
    params: list[str] = []
    variables: Json = {}
    for index, (full_name, numbers) in enumerate(sorted(wanted.items())):
        owner, name = full_name.split("/", 1)
        variables |= {f"o{index}": owner, f"n{index}": name}
        params.append(f"$o{index}: String!, $n{index}: String!")
        issues = " ".join(
            f"i{int(n)}: issue(number: {int(n)}) {{ ...IssuewaveLink }}" for n in numbers
        )
        parts.append(f"  r{index}: repository(owner: $o{index}, name: $n{index}) {{ {issues} }}")
    head = f"query IssuewaveIssueStates({', '.join(params)}) {{\n"
    return head + "\n".join(parts) + "\n}\n" + _LINK_FRAGMENT, variables


# --- references between issues ---------------------------------------------------------------
@dataclass(frozen=True, order=True)
class _Ref:
    """An issue anywhere: `repo` is "owner/name" in lower case (GitHub's names ignore case)."""

    repo: str
    number: int
    shown_repo: str = field(compare=False, default="")

    def label(self, home: str) -> str:
        return f"#{self.number}" if self.repo == home else f"{self.shown_repo}#{self.number}"


def _ref(full_name: str, number: int) -> _Ref:
    return _Ref(full_name.lower(), int(number), full_name)


@dataclass(frozen=True)
class _Seen:
    state: str  # "open" or "closed"
    title: str
    url: str = ""


def _seen_link(link: Json) -> _Seen:
    return _Seen(
        str(link["state"]).lower(), str(link.get("title") or ""), str(link.get("url") or "")
    )


def _is_open(node: Json) -> bool:
    return str(node["state"]).upper() == "OPEN"


def _link_refs(node: Json) -> Iterator[tuple[_Ref, _Seen]]:
    """The issue's native links (blocked by, sub-issues) with the state GitHub showed."""
    for connection in ("blockedBy", "subIssues"):
        for link in (node.get(connection) or {}).get("nodes") or []:
            if link:
                yield _ref(link["repository"]["nameWithOwner"], link["number"]), _seen_link(link)


def _truncated(node: Json) -> bool:
    return any(
        (node.get(c) or {}).get("totalCount", 0) > len((node.get(c) or {}).get("nodes") or [])
        for c in ("blockedBy", "subIssues")
    )


def _labels(node: Json) -> tuple[str, ...]:
    return tuple(str(n["name"]) for n in (node.get("labels") or {}).get("nodes") or [] if n)


# --- the forge ---------------------------------------------------------------------------------
class GitHubForge:
    """Issues of one GitHub repository in; pull requests and progress comments out.

    After reading: `details`, `untrusted`, and the views `blocked_by_external`, `authors` and
    `author_association`. After `open_pull()`: `remote_pulls`, GitHub's own view of each PR.
    """

    name = "github"

    def __init__(
        self,
        owner: str,
        repo: str,
        *,
        token: str,
        base_url: str | None = None,
        selection: Selection = Selection(),
        trust: Trust = Trust(),
        publishing: Publishing = Publishing(),
        pacing: Pacing = Pacing(),
        push_remote: str | None = "origin",
    ) -> None:
        self.owner, self.repo = owner, repo
        self.push_remote = push_remote  # the lead pushes there before publish()
        self.full_name = f"{owner}/{repo}"
        self.selection, self.trust, self.publishing = selection, trust, publishing
        self.api = GitHubApi(token, base_url or api_base_url(), pacing)
        self.details: dict[IssueNumber, GitHubIssue] = {}
        self.untrusted: dict[IssueNumber, str] = {}
        self.remote_pulls: dict[BranchName, RemotePull] = {}
        self._progress_comments: dict[IssueNumber, int] = {}

    def __repr__(self) -> str:
        return f"GitHubForge({self.full_name!r}, api={self.api.base_url!r})"

    @property
    def api_calls(self) -> int:
        return self.api.calls

    @property
    def blocked_by_external(self) -> dict[IssueNumber, tuple[str, ...]]:
        return {n: d.external_blockers for n, d in self.details.items() if d.external_blockers}

    @property
    def authors(self) -> dict[IssueNumber, str | None]:
        return {n: d.author for n, d in self.details.items()}

    @property
    def author_association(self) -> dict[IssueNumber, str]:
        return {n: d.author_association for n, d in self.details.items()}

    # --- reading issues -------------------------------------------------------------------------
    def read_issues(self) -> IssueSet:
        """The selected, trusted issues, plus closed issues they depend on (which satisfy)."""
        issues = self.list_issues()
        return IssueSet(
            tuple(issues),
            untrusted=dict(self.untrusted),
            waits_outside=self.blocked_by_external,
            cross_repository={n: d.cross_repository for n, d in self.details.items()
                              if d.cross_repository},
        )  # fmt: skip

    def list_issues(self) -> list[Issue]:
        self.details, self.untrusted = {}, {}
        fetched = self._fetch()
        chosen = {n: node for n, node in fetched.items() if self._accept(n, node)}
        seen = self._seen(fetched)
        refs = {
            n: self._dependency_refs(node) if _is_open(node) else () for n, node in chosen.items()
        }
        seen |= self._look_up(r for found in refs.values() for r in found if r not in seen)
        return self._build(chosen, refs, seen)

    def _fetch(self) -> dict[int, Json]:
        if self.selection.numbers:
            return self._fetch_numbers(sorted(set(self.selection.numbers)))
        nodes: dict[int, Json] = {}
        cursor: str | None = None
        filter_by = self._filter_by()
        while True:
            page = self._page(cursor, filter_by)
            nodes |= {int(n["number"]): n for n in page["nodes"] if n and self._has_labels(n)}
            if not page["pageInfo"]["hasNextPage"]:
                return nodes
            cursor = page["pageInfo"]["endCursor"]

    def _page(self, cursor: str | None, filter_by: Json | None) -> Json:
        variables = {
            "owner": self.owner,
            "name": self.repo,
            "cursor": cursor,
            "labels": list(self.selection.labels) or None,
            "filterBy": filter_by,
        }
        data = self.api.graphql(f"issues of {self.full_name}", LIST_QUERY, variables)
        return dict(self._repository(data)["issues"])

    def _has_labels(self, node: Json) -> bool:
        """All the selection's labels: GitHub's `labels` argument may match any one of them."""
        carried = {name.casefold() for name in _labels(node)}
        return all(label.casefold() in carried for label in self.selection.labels)

    def _filter_by(self) -> Json | None:
        filters: Json = {}
        if self.selection.milestone is not None:
            filters["milestoneNumber"] = self._milestone_number(self.selection.milestone)
        if self.selection.assignee:
            filters["assignee"] = self.selection.assignee
        return filters or None

    def _milestone_number(self, milestone: int | str) -> str:
        """GitHub filters by a milestone's number; a title costs one query to find it."""
        text = str(milestone).strip()
        if text.isdigit() or text == "*":
            return text
        variables = {"owner": self.owner, "name": self.repo, "title": text}
        data = self.api.graphql(f"milestone {text!r}", MILESTONES_QUERY, variables)
        found = self._repository(data)["milestones"]["nodes"] or []
        numbers = [m["number"] for m in found if m and m["title"] == text]
        if not numbers:
            raise InputError(
                f"{self.full_name} has no milestone titled {text!r}",
                hint="give the milestone's exact title, or its number as in its URL",
            )
        return str(numbers[0])

    def _fetch_numbers(self, numbers: list[int]) -> dict[int, Json]:
        nodes: dict[int, Json] = {}
        for start in range(0, len(numbers), PAGE_SIZE):
            chunk = numbers[start : start + PAGE_SIZE]
            variables = {"owner": self.owner, "name": self.repo}
            what = f"issues {', '.join(f'#{n}' for n in chunk)} of {self.full_name}"
            data = self.api.graphql(what, numbers_query(chunk), variables, partial=True)
            found = self._repository(data)
            nodes |= {n: found[f"i{n}"] for n in chunk if found.get(f"i{n}")}
        if missing := [n for n in numbers if n not in nodes]:
            raise InputError(
                f"{self.full_name} has no issue " + ", ".join(f"#{n}" for n in missing),
                hint="pull requests are not issues; `issuewave plan` lists the open issues",
            )
        return nodes

    def _repository(self, data: Json) -> Json:
        repository = data.get("repository")
        if not isinstance(repository, dict):
            raise GitHubError(f"GitHub shows no repository {self.full_name}", hint=_HINTS[404])
        return repository

    def _accept(self, number: int, node: Json) -> bool:
        if not _is_open(node):
            return True  # closed issues are never planned; they only satisfy dependencies
        reason = self._distrust(node)
        if reason is not None:
            self.untrusted[IssueNumber(number)] = reason
            log.info("#%d is left out: %s", number, reason)
        return reason is None

    def _distrust(self, node: Json) -> str | None:
        """Why the issue may not reach an agent, or None when it may."""
        login = (node.get("author") or {}).get("login")
        association = str(node.get("authorAssociation") or "NONE")
        trusted = {a.casefold() for a in self.trust.authors}
        label = self.trust.require_label
        if (login and login.casefold() in trusted) or association in TRUSTED_ASSOCIATIONS:
            return None
        if label and label.casefold() in {name.casefold() for name in _labels(node)}:
            return None
        who = f"@{login}" if login else "a deleted account"
        lacking = f"and the issue lacks the label {label!r}" if label else "and no label admits it"
        return f"opened by {who} ({association.lower()}), not a trusted author, {lacking}"

    def _seen(self, fetched: Mapping[int, Json]) -> dict[_Ref, _Seen]:
        """Every issue whose state an answer showed: the fetched ones and their links."""
        seen: dict[_Ref, _Seen] = {}
        for node in fetched.values():
            seen.update(_link_refs(node))
        for number, node in fetched.items():
            seen[_ref(self.full_name, number)] = _seen_link(node)
        return seen

    def _dependency_refs(self, node: Json) -> tuple[_Ref, ...]:
        """Native links and text forms together, each issue once, in a stable order."""
        refs = {ref for ref, _ in _link_refs(node)}
        body = str(node.get("body") or "")
        refs |= {_ref(self.full_name, n) for n in extract_dependencies(body)}
        for text in extract_external_references(body):
            full_name, number = text.rsplit("#", 1)
            refs.add(_ref(full_name, int(number)))
        return tuple(sorted(refs))

    def _look_up(self, refs: Iterable[_Ref]) -> dict[_Ref, _Seen]:
        """One query for the states no answer showed yet; what GitHub cannot find stays out."""
        wanted: dict[str, set[int]] = {}
        shown: dict[str, str] = {}
        for ref in refs:
            wanted.setdefault(ref.repo, set()).add(ref.number)
            shown.setdefault(ref.repo, ref.shown_repo)
        if not wanted:
            return {}
        query, variables = states_query({shown[r]: sorted(ns) for r, ns in wanted.items()})
        data = self.api.graphql("states of referenced issues", query, variables, partial=True)
        return dict(_answered_states(data))

    def _build(
        self,
        chosen: Mapping[int, Json],
        refs: Mapping[int, tuple[_Ref, ...]],
        seen: Mapping[_Ref, _Seen],
    ) -> list[Issue]:
        issues: dict[int, Issue] = {}
        for number, node in chosen.items():
            depends_on, closed, blockers = self._sort_dependencies(chosen, refs[number], seen)
            issues[number] = self._issue(node, depends_on)
            detail = self._detail(node, refs[number], blockers)
            self.details[IssueNumber(number)] = detail
            if detail.truncated:
                log.warning(
                    "#%d has more than %d links; only those were read", number, LINKS_PER_ISSUE
                )
            for ref in closed:  # a closed dependency is listed so the plan shows it satisfied
                issues.setdefault(ref.number, _closed_issue(ref, seen[ref]))
        return [issues[n] for n in sorted(issues)]

    def _sort_dependencies(
        self, chosen: Mapping[int, Json], refs: Sequence[_Ref], seen: Mapping[_Ref, _Seen]
    ) -> tuple[list[IssueNumber], list[_Ref], list[str]]:
        """(depends_on, closed ones of this repository, open ones outside the selection)."""
        home = self.full_name.lower()
        depends_on: list[IssueNumber] = []
        closed: list[_Ref] = []
        blockers: list[str] = []
        for ref in refs:
            state = seen[ref].state if ref in seen else None
            local = ref.repo == home
            if local and (ref.number in chosen or state != "open"):
                # chosen, closed (satisfied), or unknown (the plan reports it as missing)
                depends_on.append(IssueNumber(ref.number))
                closed += [ref] if state == "closed" and ref.number not in chosen else []
            elif state != "closed":  # open elsewhere, or another repository's we cannot see
                blockers.append(ref.label(home))
        return depends_on, closed, blockers

    def _issue(self, node: Json, depends_on: Sequence[IssueNumber]) -> Issue:
        return Issue(
            number=IssueNumber(int(node["number"])),
            title=str(node["title"]),
            body=str(node.get("body") or ""),
            labels=_labels(node),
            depends_on=tuple(sorted(set(depends_on))),
            state="open" if _is_open(node) else "closed",
            source=str(node.get("url") or f"{self.full_name}#{node['number']}"),
        )

    def _detail(self, node: Json, refs: Sequence[_Ref], blockers: Sequence[str]) -> GitHubIssue:
        home = self.full_name.lower()
        parent = node.get("parent")
        return GitHubIssue(
            number=IssueNumber(int(node["number"])),
            url=str(node.get("url") or ""),
            author=(node.get("author") or {}).get("login"),
            author_association=str(node.get("authorAssociation") or "NONE"),
            parent=_ref(parent["repository"]["nameWithOwner"], parent["number"]).label(home)
            if parent
            else None,
            external_blockers=tuple(blockers),
            cross_repository=tuple(r.label(home) for r in refs if r.repo != home),
            truncated=_truncated(node),
        )

    # --- pull requests ------------------------------------------------------------------------
    def find_open_pull(self, head: BranchName) -> PullRef | None:
        """The open pull request GitHub has for `head`."""
        pull = self._find_pull(head)
        if pull is None:
            return None
        self.remote_pulls[head] = pull
        return PullRef(pull.number, pull.url, pull.labels)

    def open_pull(self, draft: PullRequestDraft) -> PullRef:
        """Open the PR (or update the open one for the head: never a second) and label it.
        The lead pushed the branch before, and records the answer."""
        existing = self._find_pull(draft.head)
        pull = self._update_pull(existing.number, draft) if existing else self._create_pull(draft)
        copied = draft.issue.labels if self.publishing.copy_issue_labels else ()
        labels = tuple(dict.fromkeys((*copied, *self.publishing.labels)))
        self._add_labels(pull.number, labels)
        self.remote_pulls[draft.head] = pull
        return PullRef(pull.number, pull.url, labels)

    def pull_state(self, head: BranchName) -> str | None:
        """The state of the head's pull requests on GitHub: open, merged, closed, or None.

        A merged dependency satisfies the publishing order as well as an open one does."""

        def send() -> str | None:
            answer = self.api.github.rest.pulls.list(
                self.owner, self.repo, head=self._head(head), state="all", per_page=PAGE_SIZE
            )
            return _pulls_state(_json(answer))

        return self.api.call(f"GET /repos/{self.full_name}/pulls?head={head}&state=all", send)

    def _head(self, branch: str) -> str:
        return f"{self.publishing.head_owner or self.owner}:{branch}"

    def _find_pull(self, head: BranchName) -> RemotePull | None:
        def send() -> RemotePull | None:
            answer = self.api.github.rest.pulls.list(
                self.owner, self.repo, head=self._head(head), state="open", per_page=PAGE_SIZE
            )
            pulls = sorted(_json(answer), key=lambda p: int(p["number"]))
            return _remote_pull(pulls[0]) if pulls else None

        return self.api.call(f"GET /repos/{self.full_name}/pulls?head={head}", send)

    def _create_pull(self, draft: PullRequestDraft) -> RemotePull:
        head = draft.head if self.publishing.head_owner is None else self._head(draft.head)

        def send() -> RemotePull:
            answer = self.api.github.rest.pulls.create(
                self.owner,
                self.repo,
                title=draft.title,
                head=head,
                base=draft.base,
                body=draft.body,
                draft=self.publishing.draft,
            )
            return _remote_pull(_json(answer))

        what = f"POST /repos/{self.full_name}/pulls (head {draft.head})"
        try:
            return self.api.call(
                what, send, mutation=True, recover=lambda: self._find_pull(draft.head)
            )
        except GitHubError as exc:
            # Another process opened it between our look and our create: use theirs.
            found = self._find_pull(draft.head) if exc.status == 422 else None
            if found is None:
                raise
            return self._update_pull(found.number, draft)

    def _update_pull(self, number: int, draft: PullRequestDraft) -> RemotePull:
        def send() -> RemotePull:
            answer = self.api.github.rest.pulls.update(
                self.owner, self.repo, number, title=draft.title, body=draft.body, base=draft.base
            )
            return _remote_pull(_json(answer))

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

    # --- landing ------------------------------------------------------------------------------
    def land(self, landing: Landing) -> int:
        return github_landing.land(landing, self)

    def pull_by_head(self, head: BranchName, number: int | None = None) -> RemotePull | None:
        """The head's pull request in any state: `number` if it is one of them, else the open
        one, else the merged one, else a closed one."""

        def send() -> list[RemotePull]:
            answer = self.api.github.rest.pulls.list(
                self.owner, self.repo, head=self._head(head), state="all", per_page=PAGE_SIZE
            )
            return [_remote_pull(pull) for pull in _json(answer)]

        pulls = self.api.call(f"GET /repos/{self.full_name}/pulls?head={head}&state=all", send)
        if chosen := [pull for pull in pulls if pull.number == number]:
            return chosen[0]
        rank = {"open": 0, "merged": 1}
        return min(pulls, key=lambda p: (rank.get(p.state, 2), -p.number), default=None)

    def pulls_on_base(self, base: BranchName) -> list[RemotePull]:
        """The open pull requests whose base is `base`: those stacked on that branch."""

        def send() -> list[RemotePull]:
            answer = self.api.github.rest.pulls.list(
                self.owner, self.repo, base=base, state="open", per_page=PAGE_SIZE
            )
            return [_remote_pull(pull) for pull in _json(answer)]

        return self.api.call(f"GET /repos/{self.full_name}/pulls?base={base}", send)

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
            data = _json(answer)
            if not data.get("merged"):
                return MergeOutcome(None, str(data.get("message") or "GitHub did not merge it"))
            return MergeOutcome(CommitSha(str(data["sha"])))

        def recover() -> MergeOutcome | None:  # the merge happened and its answer was lost
            found = self.pull_by_head(pull.head, pull.number)
            if found is None or found.state != "merged":
                return None
            return MergeOutcome(found.merge_commit or CommitSha(""))  # newer API versions omit it

        what = f"PUT /repos/{self.full_name}/pulls/{pull.number}/merge"
        return self.api.call(what, send, mutation=True, recover=recover)

    def await_head(self, pull: RemotePull, sha: str, *, tries: int = 5) -> bool:
        """After a push GitHub moves the PR's head in the background; until it shows `sha`, a
        merge of `sha` would be refused as "head branch was modified"."""
        for attempt in range(tries):
            found = self.pull_by_head(pull.head, pull.number)
            if found is not None and found.head_sha == sha:
                return True
            self.api.pacing.sleep(min(self.api.pacing.backoff * 2**attempt, 8.0))
        return False

    def retarget(self, number: int, base: BranchName) -> RemotePull:
        """Point the PR at another base branch; GitHub's answer says whether it still is open."""

        def send() -> RemotePull:
            answer = self.api.github.rest.pulls.update(self.owner, self.repo, number, base=base)
            return _remote_pull(_json(answer))

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

    # --- the progress comment -----------------------------------------------------------------
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
        comment_id = self._progress_comments.get(issue) or self._find_progress_comment(issue)
        if comment_id is not None:
            try:
                self._edit_comment(comment_id, body)
            except GitHubError as exc:
                if exc.status not in (403, 404):
                    raise
                comment_id = None  # deleted, or someone else's copy of the marker: write ours
        if comment_id is None:
            comment_id = self._create_comment(issue, body)
        self._progress_comments[issue] = comment_id
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
            return list(_json(answer))

        path = f"/repos/{self.full_name}/issues/{issue}/comments?page={page}"
        return self.api.call(f"GET {path}", send)

    def _create_comment(self, issue: IssueNumber, body: str) -> int:
        def send() -> int:
            answer = self.api.github.rest.issues.create_comment(
                self.owner, self.repo, issue, body=body
            )
            return int(_json(answer)["id"])

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


def _answered_states(data: Json) -> Iterator[tuple[_Ref, _Seen]]:
    for repository in data.values():
        for link in (repository or {}).values():
            if link:
                yield _ref(link["repository"]["nameWithOwner"], link["number"]), _seen_link(link)


def _pulls_state(pulls: Sequence[Json]) -> str | None:
    if any(pull["state"] == "open" for pull in pulls):
        return "open"
    if any(pull.get("merged_at") for pull in pulls):
        return "merged"
    return "closed" if pulls else None


def _closed_issue(ref: _Ref, seen: _Seen) -> Issue:
    title = seen.title or f"#{ref.number}"
    return Issue(IssueNumber(ref.number), title, state="closed", source=seen.url)


def _remote_pull(data: Json) -> RemotePull:
    """The few fields we use, read from the raw answer: a schema drift elsewhere cannot break it."""
    merged = bool(data.get("merged_at") or data.get("merged"))
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
        merge_commit=CommitSha(str(data["merge_commit_sha"]))
        if merged and data.get("merge_commit_sha")
        else None,
    )


def _json(answer: Response[Any, Any]) -> Any:
    """The answer's JSON as GitHub sent it, without githubkit's model validation."""
    return answer.raw_response.json()


# --- opening the forge from a repository's settings ----------------------------------------------
def open_forge(site: ForgeSite) -> GitHubForge:
    """The forge of the repository the settings (or the remote's URL) name; the token from the
    environment or `gh`, masked in every log from here on."""
    owner, name = _owner_and_repo(site)
    c = site.config
    token = resolve_token(os.environ, host=github_host(c.api_url), cwd=site.root)
    proc.add_secret(token)  # from `gh auth token` it is in no variable redact() knows
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
