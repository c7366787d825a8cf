"""The fake's GraphQL: the four operations issuewave sends, recognised by operation name; the
aliases and variables are read from the document, the answers shaped as GitHub's."""

from __future__ import annotations

import base64
import re

from fake_github.common import LINK_LIMIT, FakeIssue, FakeState, Json


class GraphQL(FakeState):
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
