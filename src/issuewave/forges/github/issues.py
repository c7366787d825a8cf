"""Reading a repository's issues into one `IssueSet`, with GraphQL.

Reading costs one query per 100 issues (or one for a list of numbers), plus at most one more
when issue text names dependencies whose state the first answer did not show. Dependencies are
the union of GitHub's native "blocked by" links, sub-issues (a parent waits for its sub-issues)
and the "Depends on #N" forms of the issue text. Only trusted issues are planned; the others are
named in `untrusted`, and an open dependency that is not planned here makes its issue wait.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from issuewave.dependencies import extract_dependencies, extract_external_references
from issuewave.errors import InputError
from issuewave.forges.base import IssueSet
from issuewave.forges.github import nodes, queries
from issuewave.forges.github.api import HINTS, PAGE_SIZE, GitHubApi, GitHubError, Json
from issuewave.forges.github.nodes import Ref, Seen
from issuewave.forges.github.settings import Repository, Selection, Trust
from issuewave.issues import Issue
from issuewave.types import IssueNumber

log = logging.getLogger("issuewave.github")

# Said by the issue author's relation to the repository: these may hand work to an agent.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class GitHubIssue:
    """What GitHub says of a planned issue beyond the shared model: for inspection and logs."""

    number: IssueNumber
    url: str
    author: str | None  # None for a deleted account
    author_association: str
    parent: str | None  # "#N" or "owner/repo#N"
    truncated: bool = False  # more than LINKS_PER_ISSUE links: some were not read


@dataclass(frozen=True)
class Reading:
    issue_set: IssueSet
    details: Mapping[IssueNumber, GitHubIssue]


def distrust(node: Json, trust: Trust) -> str | None:
    """Why the issue may not reach an agent, or None when it may."""
    login = (node.get("author") or {}).get("login")
    association = str(node.get("authorAssociation") or "NONE")
    trusted = {a.casefold() for a in trust.authors}
    label = trust.require_label
    if (login and login.casefold() in trusted) or association in TRUSTED_ASSOCIATIONS:
        return None
    if label and label.casefold() in {name.casefold() for name in nodes.labels_of(node)}:
        return None
    who = f"@{login}" if login else "a deleted account"
    lacking = f"and the issue lacks the label {label!r}" if label else "and no label admits it"
    return f"opened by {who} ({association.lower()}), not a trusted author, {lacking}"


class IssueReader:
    """The selected issues of one repository, as trusted issues and what was left out."""

    def __init__(
        self, api: GitHubApi, repository: Repository, selection: Selection, trust: Trust
    ) -> None:
        self.api, self.selection, self.trust = api, selection, trust
        self.full_name = repository.full_name
        self.variables: Json = {"owner": repository.owner, "name": repository.name}

    def read(self) -> Reading:
        fetched = self._fetch()
        untrusted = self._untrusted(fetched)
        chosen = {n: node for n, node in fetched.items() if IssueNumber(n) not in untrusted}
        seen = self._seen(fetched)
        refs = {n: self._dependency_refs(node) if nodes.is_open(node) else ()
                for n, node in chosen.items()}  # fmt: skip
        seen |= self._look_up(r for found in refs.values() for r in found if r not in seen)
        return self._build(chosen, refs, seen, untrusted)

    # --- fetching -------------------------------------------------------------------------------
    def _fetch(self) -> dict[int, Json]:
        if self.selection.numbers:
            return self._fetch_numbers(sorted(set(self.selection.numbers)))
        found: dict[int, Json] = {}
        cursor: str | None = None
        filter_by = self._filter_by()
        while True:
            page = self._page(cursor, filter_by)
            found |= {int(n["number"]): n for n in page["nodes"] if n and self._has_labels(n)}
            if not page["pageInfo"]["hasNextPage"]:
                return found
            cursor = page["pageInfo"]["endCursor"]

    def _page(self, cursor: str | None, filter_by: Json | None) -> Json:
        labels = list(self.selection.labels) or None
        variables = self.variables | {"cursor": cursor, "labels": labels, "filterBy": filter_by}
        data = self.api.graphql(f"issues of {self.full_name}", queries.LIST_QUERY, variables)
        return dict(self._repository(data)["issues"])

    def _has_labels(self, node: Json) -> bool:
        """All the selection's labels: GitHub's `labels` argument may match any one of them."""
        carried = {name.casefold() for name in nodes.labels_of(node)}
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
        variables = self.variables | {"title": text}
        data = self.api.graphql(f"milestone {text!r}", queries.MILESTONES_QUERY, variables)
        found = self._repository(data)["milestones"]["nodes"] or []
        numbers = [m["number"] for m in found if m and m["title"] == text]
        if not numbers:
            raise InputError(
                f"{self.full_name} has no milestone titled {text!r}",
                hint="give the milestone's exact title, or its number as in its URL",
            )
        return str(numbers[0])

    def _fetch_numbers(self, numbers: list[int]) -> dict[int, Json]:
        found: dict[int, Json] = {}
        for start in range(0, len(numbers), PAGE_SIZE):
            chunk = numbers[start : start + PAGE_SIZE]
            what = f"issues {', '.join(f'#{n}' for n in chunk)} of {self.full_name}"
            query = queries.numbers_query(chunk)
            data = self.api.graphql(what, query, self.variables, partial=True)
            answered = self._repository(data)
            found |= {n: answered[f"i{n}"] for n in chunk if answered.get(f"i{n}")}
        if missing := [n for n in numbers if n not in found]:
            raise InputError(
                f"{self.full_name} has no issue " + ", ".join(f"#{n}" for n in missing),
                hint="pull requests are not issues; `issuewave plan` lists the open issues",
            )
        return found

    def _repository(self, data: Json) -> Json:
        repository = data.get("repository")
        if not isinstance(repository, dict):
            raise GitHubError(f"GitHub shows no repository {self.full_name}", hint=HINTS[404])
        return repository

    # --- trust and references -------------------------------------------------------------------
    def _untrusted(self, fetched: Mapping[int, Json]) -> dict[IssueNumber, str]:
        """Open issues no trusted person vouches for; closed ones only satisfy dependencies."""
        left_out: dict[IssueNumber, str] = {}
        for number, node in fetched.items():
            reason = distrust(node, self.trust) if nodes.is_open(node) else None
            if reason is not None:
                left_out[IssueNumber(number)] = reason
                log.info("#%d is left out: %s", number, reason)
        return left_out

    def _seen(self, fetched: Mapping[int, Json]) -> dict[Ref, Seen]:
        """Every issue whose state an answer showed: the fetched ones and their links."""
        seen: dict[Ref, Seen] = {}
        for node in fetched.values():
            seen.update(nodes.link_refs(node))
        for number, node in fetched.items():
            seen[nodes.ref(self.full_name, number)] = nodes.seen_link(node)
        return seen

    def _dependency_refs(self, node: Json) -> tuple[Ref, ...]:
        """Native links and text forms together, each issue once, in a stable order."""
        refs = {found for found, _ in nodes.link_refs(node)}
        body = str(node.get("body") or "")
        refs |= {nodes.ref(self.full_name, n) for n in extract_dependencies(body)}
        for text in extract_external_references(body):
            full_name, number = text.rsplit("#", 1)
            refs.add(nodes.ref(full_name, int(number)))
        return tuple(sorted(refs))

    def _look_up(self, refs: Iterable[Ref]) -> dict[Ref, Seen]:
        """One query for the states no answer showed yet; what GitHub cannot find stays out."""
        wanted: dict[str, set[int]] = {}
        shown: dict[str, str] = {}
        for found in refs:
            wanted.setdefault(found.repo, set()).add(found.number)
            shown.setdefault(found.repo, found.shown_repo)
        if not wanted:
            return {}
        query, variables = queries.states_query({shown[r]: sorted(ns) for r, ns in wanted.items()})
        data = self.api.graphql("states of referenced issues", query, variables, partial=True)
        return dict(nodes.answered_states(data))

    # --- the answer -----------------------------------------------------------------------------
    def _build(
        self,
        chosen: Mapping[int, Json],
        refs: Mapping[int, tuple[Ref, ...]],
        seen: Mapping[Ref, Seen],
        untrusted: Mapping[IssueNumber, str],
    ) -> Reading:
        home = self.full_name.lower()
        issues: dict[int, Issue] = {}
        details: dict[IssueNumber, GitHubIssue] = {}
        waits: dict[IssueNumber, tuple[str, ...]] = {}
        cross: dict[IssueNumber, tuple[str, ...]] = {}
        for number, node in chosen.items():
            depends_on, closed, blockers = self._sort_dependencies(chosen, refs[number], seen)
            issues[number] = self._issue(node, depends_on)
            details[IssueNumber(number)] = self._detail(node)
            if blockers:
                waits[IssueNumber(number)] = tuple(blockers)
            if elsewhere := tuple(r.label(home) for r in refs[number] if r.repo != home):
                cross[IssueNumber(number)] = elsewhere
            for found in closed:  # a closed dependency is listed so the plan shows it satisfied
                issues.setdefault(found.number, nodes.closed_issue(found, seen[found]))
        issue_set = IssueSet(tuple(issues[n] for n in sorted(issues)), untrusted, waits, cross)
        return Reading(issue_set, details)

    def _sort_dependencies(
        self, chosen: Mapping[int, Json], refs: Sequence[Ref], seen: Mapping[Ref, Seen]
    ) -> tuple[list[IssueNumber], list[Ref], list[str]]:
        """(depends_on, closed ones of this repository, open ones outside the selection)."""
        home = self.full_name.lower()
        depends_on: list[IssueNumber] = []
        closed: list[Ref] = []
        blockers: list[str] = []
        for found in refs:
            state = seen[found].state if found in seen else None
            local = found.repo == home
            if local and (found.number in chosen or state != "open"):
                # chosen, closed (satisfied), or unknown (the plan reports it as missing)
                depends_on.append(IssueNumber(found.number))
                closed += [found] if state == "closed" and found.number not in chosen else []
            elif state != "closed":  # open elsewhere, or another repository's we cannot see
                blockers.append(found.label(home))
        return depends_on, closed, blockers

    def _issue(self, node: Json, depends_on: Sequence[IssueNumber]) -> Issue:
        return Issue(
            number=IssueNumber(int(node["number"])),
            title=str(node["title"]),
            body=str(node.get("body") or ""),
            labels=nodes.labels_of(node),
            depends_on=tuple(sorted(set(depends_on))),
            state="open" if nodes.is_open(node) else "closed",
            source=str(node.get("url") or f"{self.full_name}#{node['number']}"),
        )

    def _detail(self, node: Json) -> GitHubIssue:
        number = IssueNumber(int(node["number"]))
        if nodes.truncated(node):
            log.warning("#%d has more than %d links; only those were read", number,
                        queries.LINKS_PER_ISSUE)  # fmt: skip
        parent = node.get("parent")
        return GitHubIssue(
            number=number,
            url=str(node.get("url") or ""),
            author=(node.get("author") or {}).get("login"),
            author_association=str(node.get("authorAssociation") or "NONE"),
            parent=nodes.linked_label(parent, self.full_name) if parent else None,
            truncated=nodes.truncated(node),
        )
