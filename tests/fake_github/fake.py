"""FakeGitHub: the state and its parts composed, the helpers tests drive it with, faults, and the
router from a request to the part that answers it."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_github.comments import Comments
from fake_github.common import DOCS, NO_SHA, SECONDARY_LIMIT, Call, FakeIssue, Fault, Json
from fake_github.graphql import GraphQL
from fake_github.merges import Merges
from fake_github.pulls import PullRequests
from fake_github.server import serve
from fake_github.shapes import Shapes


class FakeGitHub(GraphQL, PullRequests, Merges, Comments, Shapes):
    """One repository on GitHub (`owner`/`repo`), with the token that may call it (`token`)."""

    # --- test helpers ---------------------------------------------------------------------------
    def add_issue(
        self,
        number: int,
        title: str,
        body: str = "",
        *,
        repo: str | None = None,
        blocked_by: Iterable[int | str] = (),
        sub_issues: Iterable[int | str] = (),
        **fields: Any,
    ) -> FakeIssue:
        """An issue; links are numbers of this repository or "owner/repo#N" of another."""
        home = repo or self.full_name
        issue = FakeIssue(home, number, title, body, **fields)
        issue.blocked_by = [self._link(home, link) for link in blocked_by]
        issue.sub_issues = [self._link(home, link) for link in sub_issues]
        self.issues[(home.lower(), number)] = issue
        return issue

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int | None = 502,
        headers: dict[str, str] | None = None,
        after_effect: bool = False,
        *,
        delay: float = 0.0,
        body: Json | list[Json] | None = None,
    ) -> None:
        """The next matching request fails; with `after_effect`, after doing its work.

        With `status=None` it is answered normally, after `delay` and with `headers` added.
        """
        fault = Fault(method, path_prefix, status, headers or {}, after_effect, delay, body)
        self.faults.append(fault)

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for c in self.calls if c.method == method and c.path.startswith(prefix))

    def mutations(self) -> list[Call]:
        """The REST calls that change something, in the order they came."""
        return [c for c in self.calls if c.method != "GET" and c.path != "/graphql"]

    def fail_check(self, number: int, check: str | None = "ci") -> None:
        """Make a required status check of the PR fail (None: it passes again)."""
        self.pulls[number]["failing_check"] = check

    @property
    def graphql_calls(self) -> int:
        return self.count("POST", "/graphql")

    def open_pulls(self, head: str | None = None) -> list[Json]:
        return [
            pr
            for pr in self.pulls.values()
            if pr["state"] == "open" and (head is None or pr["head"] == head)
        ]

    def merge(self, number: int) -> None:
        """Merged by hand on GitHub (no commit is made)."""
        self.pulls[number] |= {"state": "closed", "merged": True, "merge_commit_sha": NO_SHA}

    def pull_json(self, number: int) -> Json:
        return self._pull(self.pulls[number])

    def pull_simple_json(self, number: int) -> Json:
        return self._pull_simple(self.pulls[number])

    @staticmethod
    def _link(home: str, link: int | str) -> tuple[str, int]:
        if isinstance(link, int):
            return home, link
        repo, number = link.rsplit("#", 1)
        return repo, int(number)

    # --- serving --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def serving(self) -> Iterator[FakeGitHub]:
        with serve(self) as url:
            self.url = url
            yield self

    def respond(
        self, method: str, target: str, auth: str | None, raw: bytes
    ) -> tuple[int, dict[str, str], Json | list[Json] | None]:
        url = urlsplit(target)
        with self._lock:
            self.calls.append(Call(method, _unprefixed(url.path), _note(raw)))
            if auth not in (f"Bearer {self.token}", f"token {self.token}"):
                return 401, self._rate_headers(), {"message": "Bad credentials", "status": "401"}
            fault = self._take_fault(method, url.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)  # longer than the client's timeout: it gives up first
        with self._lock:
            if fault is not None and fault.status is not None and not fault.after_effect:
                return self._fault_answer(fault)
            path = _unprefixed(url.path)
            status, payload = self._route(method, path, parse_qs(url.query), raw)
            if fault is not None and fault.status is not None:
                return self._fault_answer(fault)
            extra = fault.headers if fault is not None else {}
            return status, self._rate_headers(path) | extra, payload

    def _take_fault(self, method: str, path: str) -> Fault | None:
        path = _unprefixed(path)
        for fault in self.faults:
            if fault.method == method and path.startswith(fault.path_prefix):
                self.faults.remove(fault)
                return fault
        return None

    def _fault_answer(self, fault: Fault) -> tuple[int, dict[str, str], Json | list[Json]]:
        headers = {**self._rate_headers(), **fault.headers}
        if fault.body is not None:
            return fault.status or 500, headers, fault.body
        if fault.status in (403, 429) and "retry-after" in headers:
            message = SECONDARY_LIMIT
        elif fault.status in (403, 429) and headers.get("x-ratelimit-remaining") == "0":
            message = "API rate limit exceeded for user ID 1."
        else:
            message = "Server Error" if (fault.status or 500) >= 500 else "Forbidden"
        return fault.status or 500, headers, {"message": message, "documentation_url": DOCS}

    def _rate_headers(self, path: str = "") -> dict[str, str]:
        self.rate_remaining = max(self.rate_remaining - 1, 1)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self.rate_remaining),
            "x-ratelimit-used": str(5000 - self.rate_remaining),
            "x-ratelimit-reset": str(self.rate_reset),
            "x-ratelimit-resource": "graphql" if path == "/graphql" else "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    # --- routing --------------------------------------------------------------------------------
    def _route(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes
    ) -> tuple[int, Json | list[Json] | None]:
        body = json.loads(raw) if raw else {}
        if method == "POST" and path == "/graphql":
            return 200, self._graphql(body)
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)", path)
        if match is None or f"{match[1]}/{match[2]}".lower() != self.full_name.lower():
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        rest = match[3]
        for pattern, verb, handler in self._routes():
            found = re.fullmatch(pattern, rest)
            if found and verb == method:
                return handler(*found.groups(), query=query, body=body)  # type: ignore[no-any-return]
        return 404, {"message": "Not Found", "documentation_url": DOCS}

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"/pulls", "GET", self._list_pulls),
            (r"/pulls", "POST", self._create_pull),
            (r"/pulls/(\d+)", "GET", self._get_pull),
            (r"/pulls/(\d+)", "PATCH", self._update_pull),
            (r"/pulls/(\d+)/merge", "PUT", self._merge_pull),
            (r"/git/refs/heads/(.+)", "DELETE", self._delete_branch),
            (r"/issues/(\d+)/labels", "POST", self._add_labels),
            (r"/issues/(\d+)/comments", "GET", self._list_comments),
            (r"/issues/(\d+)/comments", "POST", self._create_comment),
            (r"/issues/comments/(\d+)", "PATCH", self._update_comment),
        ]

    # --- GraphQL --------------------------------------------------------------------------------


def _note(raw: bytes) -> str:
    """What a mutation asked for, among the fields landing depends on."""
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return ", ".join(f"{key}={body[key]}" for key in ("base", "merge_method") if key in body)


def _unprefixed(path: str) -> str:
    """GitHub Enterprise Server's /api/v3 and /api/graphql, as github.com's paths."""
    if path == "/api/graphql":
        return "/graphql"
    return path.removeprefix("/api/v3") or "/"
