"""The one way to GitHub's API: `GitHubApi.call` paces mutations, honours GitHub's rate limits,
retries server errors and timeouts with bounded backoff, and never retries a create blindly:
before it tries again, it asks `recover` whether the lost answer already created it. Sleeping
and the clock are injected (`Pacing`), so tests check every wait without waiting.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from githubkit import GitHub, Response
from githubkit.exception import (
    GitHubException,
    GraphQLFailed,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
)

from issuewave import __version__, proc
from issuewave.errors import IssuewaveError
from issuewave.forges.github.auth import SecretToken
from issuewave.forges.github.settings import Pacing

log = logging.getLogger("issuewave.github")

T = TypeVar("T")
Json = dict[str, Any]

PAGE_SIZE = 100  # GitHub's largest page, for issues, pulls and comments alike
HINTS = {
    401: "the token was refused: renew GITHUB_TOKEN / GH_TOKEN, or run `gh auth login`",
    403: "the token lacks a permission (issues: read and write, pull requests: write)",
    404: "the repository or item is not there, or the token cannot see it",
}


class GitHubError(IssuewaveError):
    """GitHub refused a call, or kept failing after the retries; `status` is its HTTP status."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint=hint)
        self.status = status


def api_base_url(host: str = "github.com") -> str:
    """The REST root of github.com or of a GitHub Enterprise Server host."""
    return "https://api.github.com/" if host == "github.com" else f"https://{host}/api/v3/"


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
            SecretToken(token),
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
            return GitHubError(self.redact(text), hint=HINTS.get(status), status=status)
        if isinstance(exc, GraphQLFailed):
            errors = exc.response.errors or []
            text = f"GitHub refused {what}: " + "; ".join(e.message for e in errors)
            hint = HINTS[404] if any(e.type == "NOT_FOUND" for e in errors) else None
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


def json_of(answer: Response[Any, Any]) -> Any:
    """The answer's JSON as GitHub sent it, without githubkit's model validation."""
    return answer.raw_response.json()
