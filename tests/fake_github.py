"""A stateful fake GitHub, served over real HTTP on 127.0.0.1.

It answers the three GraphQL operations issuewave sends (recognised by operation name; the
aliases and variables are read from the document) and the REST endpoints it uses, in the shapes of
GitHub's published schemas: the tests parse its answers with githubkit's generated models.
Every answer carries rate-limit headers; `fail_next` injects faults, including the nasty one where
the mutation happens and the client still sees an error.

Given the bare repository the branches are pushed to (`repository`), it is a forge over real git: a
pull request's head is the branch's tip there, merging makes a real merge or squash commit on the
base branch, and deleting a ref deletes the branch. `calls` keeps every request in order, with the
fields of a mutation that matter for landing (`base=`, `merge_method=`), so a test can assert that
a stacked PR was re-pointed before its base branch was deleted.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

Json = dict[str, Any]
STAMP = "2025-02-14T12:00:00Z"
DOCS = "https://docs.github.com/rest"
LINK_LIMIT = 50  # what issuewave's query asks for per connection
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
MERGE_DOCS = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
REFS_DOCS = "https://docs.github.com/rest/git/refs#delete-a-reference"
NO_SHA = "0" * 40
# On a merge into the default branch, GitHub closes the issues the PR's body names this way.
CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)", re.IGNORECASE)


class Call(NamedTuple):
    method: str
    path: str
    note: str = ""  # "base=main", "merge_method=squash": what a mutation asked for


@dataclass
class FakeIssue:
    repo: str  # "owner/name" as GitHub spells it
    number: int
    title: str
    body: str = ""
    state: str = "open"
    author: str | None = "octocat"  # None: a deleted account (GitHub's "ghost")
    association: str = "OWNER"
    labels: list[str] = field(default_factory=list)
    blocked_by: list[tuple[str, int]] = field(default_factory=list)
    sub_issues: list[tuple[str, int]] = field(default_factory=list)
    milestone: int | None = None
    assignees: list[str] = field(default_factory=list)


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int | None  # None: answer normally, after `delay`
    headers: dict[str, str]
    after_effect: bool
    delay: float
    body: Json | list[Json] | None


class FakeGitHub:
    def __init__(self, owner: str = "octo", repo: str = "widgets") -> None:
        self.owner, self.repo = owner, repo
        self.full_name = f"{owner}/{repo}"
        self.token = "ghp_" + secrets.token_hex(18)  # random: a leak test finds it anywhere
        self.issues: dict[tuple[str, int], FakeIssue] = {}
        self.pulls: dict[int, Json] = {}  # our own record; answers are built from it
        self.comments: dict[int, Json] = {}
        self.milestones: dict[int, str] = {}  # number: title
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.repository: Path | None = None  # the bare repository the branches are pushed to
        self.default_branch = "main"
        self.deleted_branches: set[str] = set()
        self.rate_remaining = 5000
        self.rate_reset = int(time.time()) + 3600
        self.url = ""
        self._ids = 1000
        self._lock = threading.Lock()

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
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

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
    def _graphql(self, body: Json) -> Json:
        query = str(body.get("query", ""))
        variables = body.get("variables") or {}
        operation = re.search(r"\bquery\s+(\w+)", query)
        name = operation[1] if operation else ""
        if name == "IssuewaveIssues":
            return self._gql_list(variables)
        if name == "IssuewaveIssuesByNumber":
            return self._gql_numbers(query, variables)
        if name == "IssuewaveIssueStates":
            return self._gql_states(query, variables)
        if name == "IssuewaveMilestones":
            return self._gql_milestones(variables)
        return {"errors": [{"message": f"the fake does not know the operation {name!r}"}]}

    def _gql_list(self, variables: Json) -> Json:
        repo = f"{variables['owner']}/{variables['name']}"
        if repo.lower() != self.full_name.lower():
            return _not_found(
                ["repository"], f"Could not resolve to a Repository with the name '{repo}'."
            )
        chosen = [i for i in self._home_issues() if self._matches(i, variables)]
        offset = _offset(variables.get("cursor"))
        page = chosen[offset : offset + 100]
        end = offset + len(page)
        info = {"hasNextPage": end < len(chosen), "endCursor": _cursor(end) if page else None}
        nodes = [self._node(issue) for issue in page]
        return {"data": {"repository": {"issues": {"pageInfo": info, "nodes": nodes}}}}

    def _gql_milestones(self, variables: Json) -> Json:
        """Repository.milestones(query:) matches titles by substring, ignoring case."""
        wanted = str(variables["title"]).casefold()
        nodes = [
            {"number": number, "title": title}
            for number, title in sorted(self.milestones.items())
            if wanted in title.casefold()
        ]
        return {"data": {"repository": {"milestones": {"nodes": nodes}}}}

    def _matches(self, issue: FakeIssue, variables: Json) -> bool:
        labels = variables.get("labels") or []
        filters = variables.get("filterBy") or {}
        milestone = filters.get("milestoneNumber")
        assignee = filters.get("assignee")
        return (
            issue.state == "open"
            and (not labels or any(label in issue.labels for label in labels))
            and (milestone is None or _milestone_matches(issue.milestone, milestone))
            and (assignee is None or _assignee_matches(issue.assignees, assignee))
        )

    def _gql_numbers(self, query: str, variables: Json) -> Json:
        repo = f"{variables['owner']}/{variables['name']}"
        found: Json = {}
        errors: list[Json] = []
        for alias, number in re.findall(r"(\w+)\s*:\s*issue\(number:\s*(\d+)\)", query):
            issue = self.issues.get((repo.lower(), int(number)))
            found[alias] = self._node(issue) if issue else None
            if issue is None:
                errors.append(_missing_issue(["repository", alias], int(number)))
        answer: Json = {"data": {"repository": found}}
        return answer | ({"errors": errors} if errors else {})

    def _gql_states(self, query: str, variables: Json) -> Json:
        data: Json = {}
        errors: list[Json] = []
        pattern = r"(\w+)\s*:\s*repository\(owner:\s*\$(\w+),\s*name:\s*\$(\w+)\)\s*\{"
        for block in re.finditer(pattern, query):
            repo = f"{variables[block[2]]}/{variables[block[3]]}"
            inner = _braced(query, block.end() - 1)
            data[block[1]], found_errors = self._states_of(block[1], repo, inner)
            errors += found_errors
        return {"data": data} | ({"errors": errors} if errors else {})

    def _states_of(self, alias: str, repo: str, inner: str) -> tuple[Json | None, list[Json]]:
        if not any(key[0] == repo.lower() for key in self.issues):
            message = f"Could not resolve to a Repository with the name '{repo}'."
            return None, [_not_found([alias], message)["errors"][0]]
        found: Json = {}
        errors: list[Json] = []
        for issue_alias, number in re.findall(r"(\w+)\s*:\s*issue\(number:\s*(\d+)\)", inner):
            issue = self.issues.get((repo.lower(), int(number)))
            found[issue_alias] = self._link_node(issue) if issue else None
            if issue is None:
                errors.append(_missing_issue([alias, issue_alias], int(number)))
        return found, errors

    def _home_issues(self) -> list[FakeIssue]:
        home = self.full_name.lower()
        return sorted(
            (i for key, i in self.issues.items() if key[0] == home), key=lambda i: i.number
        )

    def _node(self, issue: FakeIssue) -> Json:
        """An Issue as GitHub's GraphQL API shows the fields issuewave selects."""
        parent = self._parent(issue)
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state.upper(),
            "url": f"https://github.com/{issue.repo}/issues/{issue.number}",
            "author": {"login": issue.author} if issue.author else None,
            "authorAssociation": issue.association,
            "labels": {"nodes": [{"name": name} for name in issue.labels[:LINK_LIMIT]]},
            "blockedBy": self._connection(issue.blocked_by),
            "subIssues": self._connection(issue.sub_issues),
            "parent": {"number": parent.number, "repository": {"nameWithOwner": parent.repo}}
            if parent
            else None,
        }

    def _connection(self, links: list[tuple[str, int]]) -> Json:
        issues = [self.issues[(repo.lower(), number)] for repo, number in links]
        nodes = [self._link_node(issue) for issue in issues[:LINK_LIMIT]]
        return {"totalCount": len(issues), "nodes": nodes}

    @staticmethod
    def _link_node(issue: FakeIssue) -> Json:
        return {
            "number": issue.number,
            "title": issue.title,
            "state": issue.state.upper(),
            "url": f"https://github.com/{issue.repo}/issues/{issue.number}",
            "repository": {"nameWithOwner": issue.repo},
        }

    def _parent(self, child: FakeIssue) -> FakeIssue | None:
        for issue in self.issues.values():
            if (child.repo.lower(), child.number) in [(r.lower(), n) for r, n in issue.sub_issues]:
                return issue
        return None

    # --- REST: pull requests --------------------------------------------------------------------
    def _list_pulls(self, *, query: dict[str, list[str]], body: Json) -> tuple[int, list[Json]]:
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        pulls = [
            pr
            for pr in sorted(self.pulls.values(), key=lambda p: p["number"])
            if (state == "all" or pr["state"] == state)
            and (head is None or f"{pr['head_owner']}:{pr['head']}" == head)
            and (base is None or pr["base"] == base)
        ]
        return 200, [self._pull_simple(pr) for pr in pulls]

    def _create_pull(self, *, query: dict[str, list[str]], body: Json) -> tuple[int, Json]:
        missing = [name for name in ("head", "base", "title") if not body.get(name)]
        if missing:
            return 422, _invalid(f"{missing[0]} wasn't supplied.")
        head_owner, _, head = str(body["head"]).rpartition(":")
        head_owner = head_owner or self.owner
        for pr in self.open_pulls(head):
            if pr["head_owner"] == head_owner:
                return 422, _invalid(f"A pull request already exists for {head_owner}:{head}.")
        number = self._next_number()
        self.pulls[number] = {
            "number": number,
            "id": self._new_id(),
            "title": body["title"],
            "body": body.get("body"),
            "head": head,
            "head_owner": head_owner,
            "base": body["base"],
            "draft": bool(body.get("draft", False)),
            "state": "open",
            "labels": [],
        }
        return 201, self._pull(self.pulls[number])

    def _get_pull(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        pr = self.pulls.get(int(number))
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        return 200, self._pull(pr)

    def _update_pull(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        pr = self.pulls.get(int(number))
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        if pr["state"] == "open" and pr["base"] in self.deleted_branches:
            pr["state"] = "closed"  # as GitHub does to a PR whose base branch is gone
            return 200, self._pull(pr)
        for key in ("title", "body", "base", "state"):
            if key in body:
                pr[key] = body[key]
        return 200, self._pull(pr)

    # --- REST: merging and deleting branches ---------------------------------------------------
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
            issue = self._issue_record(int(number))
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

    def _tip(self, branch: str) -> str:
        if self.repository is None:
            return NO_SHA
        found = self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
        return found.stdout.strip() or NO_SHA

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """git in the bare repository, as GitHub's own committer on a pinned date."""
        env = {**os.environ, "GIT_AUTHOR_DATE": STAMP, "GIT_COMMITTER_DATE": STAMP}
        for role in ("AUTHOR", "COMMITTER"):
            env |= {f"GIT_{role}_NAME": "GitHub", f"GIT_{role}_EMAIL": "noreply@github.com"}
        return subprocess.run(
            ["git", *args],
            cwd=self.repository,
            env=env,
            capture_output=True,
            text=True,
            check=check,
        )

    def _add_labels(
        self, number: str, *, query: dict[str, list[str]], body: Json | list[str]
    ) -> tuple[int, Json | list[Json]]:
        names = body if isinstance(body, list) else body.get("labels", [])
        target = self.pulls.get(int(number)) or self._issue_record(int(number))
        if target is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        labels = target["labels"] if isinstance(target, dict) else target.labels
        labels += [name for name in names if name not in labels]
        return 200, [_label(name) for name in labels]

    def _issue_record(self, number: int) -> FakeIssue | None:
        return self.issues.get((self.full_name.lower(), number))

    def _next_number(self) -> int:
        used = [n for (repo, n) in self.issues if repo == self.full_name.lower()]
        return max([0, *used, *self.pulls]) + 1

    def _new_id(self) -> int:
        self._ids += 1
        return self._ids

    # --- REST: comments -------------------------------------------------------------------------
    def _list_comments(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, list[Json]]:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        mine = [c for c in self.comments.values() if c["issue"] == int(number)]
        chosen = mine[(page - 1) * per_page : page * per_page]
        return 200, [self._comment(c) for c in chosen]

    def _create_comment(
        self, number: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        if self._issue_record(int(number)) is None and int(number) not in self.pulls:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        comment = {"id": self._new_id(), "issue": int(number), "body": body["body"]}
        self.comments[comment["id"]] = comment
        return 201, self._comment(comment)

    def _update_comment(
        self, comment_id: str, *, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        comment = self.comments.get(int(comment_id))
        if comment is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        comment["body"] = body["body"]
        return 200, self._comment(comment)

    # --- REST shapes ----------------------------------------------------------------------------
    def _api(self, path: str) -> str:
        return f"https://api.github.com/repos/{self.full_name}{path}"

    def _comment(self, comment: Json) -> Json:
        number, cid = comment["issue"], comment["id"]
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": self._api(f"/issues/comments/{cid}"),
            "html_url": f"https://github.com/{self.full_name}/issues/{number}#issuecomment-{cid}",
            "body": comment["body"],
            "user": _user("issuewave-bot", 7),
            "created_at": STAMP,
            "updated_at": STAMP,
            "issue_url": self._api(f"/issues/{number}"),
            "author_association": "OWNER",
        }

    def _pull_simple(self, pr: Json) -> Json:
        """GET /pulls: the pull-request-simple schema."""
        n = pr["number"]
        return {
            "url": self._api(f"/pulls/{n}"),
            "id": pr["id"],
            "node_id": f"PR_{pr['id']}",
            "html_url": f"https://github.com/{self.full_name}/pull/{n}",
            "diff_url": f"https://github.com/{self.full_name}/pull/{n}.diff",
            "patch_url": f"https://github.com/{self.full_name}/pull/{n}.patch",
            "issue_url": self._api(f"/issues/{n}"),
            "commits_url": self._api(f"/pulls/{n}/commits"),
            "review_comments_url": self._api(f"/pulls/{n}/comments"),
            "review_comment_url": self._api("/pulls/comments{/number}"),
            "comments_url": self._api(f"/issues/{n}/comments"),
            "statuses_url": self._api("/statuses/0000000000000000000000000000000000000000"),
            "number": n,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": _user("issuewave-bot", 7),
            "body": pr["body"],
            "labels": [_label(name) for name in pr["labels"]],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": STAMP,
            "updated_at": STAMP,
            "closed_at": STAMP if pr["state"] == "closed" else None,
            "merged_at": STAMP if pr.get("merged") else None,
            "merge_commit_sha": pr.get("merge_commit_sha"),
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._ref(pr["head"], pr["head_owner"], pr.get("merged_head")),
            "base": self._ref(pr["base"], self.owner),
            "_links": self._links(n),
            "author_association": "OWNER",
            "auto_merge": None,
            "draft": pr["draft"],
        }

    def _pull(self, pr: Json) -> Json:
        """POST and PATCH: the full pull-request schema."""
        return self._pull_simple(pr) | {
            "merged": bool(pr.get("merged")),
            "mergeable": None,
            "rebaseable": None,
            "mergeable_state": "unknown",
            "merged_by": None,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }

    def _ref(self, branch: str, owner: str, sha: str | None = None) -> Json:
        """A PR's head or base; a merged PR's head shows the commit that was merged."""
        return {
            "label": f"{owner}:{branch}",
            "ref": branch,
            "sha": sha or self._tip(branch),
            "user": _user(owner, 1),
            "repo": _repository(owner, self.repo),
        }

    def _links(self, n: int) -> Json:
        hrefs = {
            "self": self._api(f"/pulls/{n}"),
            "html": f"https://github.com/{self.full_name}/pull/{n}",
            "issue": self._api(f"/issues/{n}"),
            "comments": self._api(f"/issues/{n}/comments"),
            "review_comments": self._api(f"/pulls/{n}/comments"),
            "review_comment": self._api("/pulls/comments{/number}"),
            "commits": self._api(f"/pulls/{n}/commits"),
            "statuses": self._api("/statuses/" + "0" * 40),
        }
        return {name: {"href": href} for name, href in hrefs.items()}


def _user(login: str, user_id: int) -> Json:
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
        "user_view_type": "public",
    }


# The repository schema's URL templates, relative to the repository's API URL.
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
    "hooks_url": "/hooks",
}


def _repository(owner: str, name: str) -> Json:
    api = f"https://api.github.com/repos/{owner}/{name}"
    html = f"https://github.com/{owner}/{name}"
    return {
        "id": 4242,
        "node_id": "R_4242",
        "name": name,
        "full_name": f"{owner}/{name}",
        "license": None,
        "forks": 0,
        "owner": _user(owner, 1),
        "private": False,
        "html_url": html,
        "description": None,
        "fork": False,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_URLS.items()},
        "git_url": f"git://github.com/{owner}/{name}.git",
        "ssh_url": f"git@github.com:{owner}/{name}.git",
        "clone_url": f"{html}.git",
        "mirror_url": None,
        "svn_url": html,
        "homepage": None,
        "language": "Python",
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 1,
        "default_branch": "main",
        "open_issues_count": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "pushed_at": STAMP,
        "created_at": STAMP,
        "updated_at": STAMP,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "open_issues": 0,
        "watchers": 0,
    }


def _label(name: str) -> Json:
    label_id = 5000 + sum(map(ord, name))
    return {
        "id": label_id,
        "node_id": f"LA_{label_id}",
        "url": f"https://api.github.com/labels/{label_id}",
        "name": name,
        "description": None,
        "color": "ededed",
        "default": False,
        "archived_at": None,
        "archived_by": None,
    }


def _invalid(message: str) -> Json:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
        "documentation_url": DOCS,
        "status": "422",
    }


def _not_found(path: list[str], message: str) -> Json:
    error = {"type": "NOT_FOUND", "path": path, "locations": [{"line": 2, "column": 3}]}
    return {"data": {path[0]: None}, "errors": [error | {"message": message}]}


def _missing_issue(path: list[str], number: int) -> Json:
    message = f"Could not resolve to an Issue with the number of {number}."
    return {
        "type": "NOT_FOUND",
        "path": path,
        "locations": [{"line": 3, "column": 5}],
        "message": message,
    }


def _not_mergeable() -> Json:
    return {"message": "Pull Request is not mergeable", "documentation_url": MERGE_DOCS}


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


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) if cursor else 0


def _milestone_matches(milestone: int | None, wanted: str) -> bool:
    return milestone is not None if wanted == "*" else str(milestone) == wanted


def _assignee_matches(assignees: list[str], wanted: str) -> bool:
    return bool(assignees) if wanted == "*" else wanted in assignees


def _braced(text: str, start: int) -> str:
    """The text between the brace at `start` and its partner."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index]
    raise ValueError("unbalanced braces in the query")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures
        pass

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization")
        status, headers, payload = self.server.fake.respond(method, self.path, auth, raw)
        data = json.dumps(payload).encode() if payload is not None else b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with fake.serving():
        yield fake
