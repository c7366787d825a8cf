"""What a GraphQL answer says about an issue: its labels, its native links with their states,
and references to issues anywhere (`Ref`, compared in lower case as GitHub's names are)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from issuewave.forges.github.api import Json
from issuewave.issues import Issue
from issuewave.types import IssueNumber


@dataclass(frozen=True, order=True)
class Ref:
    """An issue anywhere: `repo` is "owner/name" in lower case (GitHub's names ignore case)."""

    repo: str
    number: int
    shown_repo: str = field(compare=False, default="")

    def label(self, home: str) -> str:
        return f"#{self.number}" if self.repo == home else f"{self.shown_repo}#{self.number}"


def ref(full_name: str, number: int) -> Ref:
    return Ref(full_name.lower(), int(number), full_name)


@dataclass(frozen=True)
class Seen:
    state: str  # "open" or "closed"
    title: str
    url: str = ""


def seen_link(link: Json) -> Seen:
    return Seen(
        str(link["state"]).lower(), str(link.get("title") or ""), str(link.get("url") or "")
    )


def linked(link: Json) -> tuple[Ref, Seen]:
    """A linked issue (a node of the IssuewaveLink fragment) and its state."""
    return ref(link["repository"]["nameWithOwner"], link["number"]), seen_link(link)


def linked_label(link: Json, home: str) -> str:
    """ "#N" for an issue of the `home` repository, "owner/repo#N" for another's."""
    return ref(link["repository"]["nameWithOwner"], link["number"]).label(home.lower())


def is_open(node: Json) -> bool:
    return str(node["state"]).upper() == "OPEN"


def link_refs(node: Json) -> Iterator[tuple[Ref, Seen]]:
    """The issue's native links (blocked by, sub-issues) with the state GitHub showed."""
    for connection in ("blockedBy", "subIssues"):
        for link in (node.get(connection) or {}).get("nodes") or []:
            if link:
                yield linked(link)


def truncated(node: Json) -> bool:
    return any(
        (node.get(c) or {}).get("totalCount", 0) > len((node.get(c) or {}).get("nodes") or [])
        for c in ("blockedBy", "subIssues")
    )


def labels_of(node: Json) -> tuple[str, ...]:
    return tuple(str(n["name"]) for n in (node.get("labels") or {}).get("nodes") or [] if n)


def answered_states(data: Json) -> Iterator[tuple[Ref, Seen]]:
    """The states an IssuewaveIssueStates answer shows: repositories of aliased issues."""
    for repository in data.values():
        for link in (repository or {}).values():
            if link:
                yield linked(link)


def closed_issue(found: Ref, seen: Seen) -> Issue:
    """A closed dependency, listed so the plan shows it satisfied."""
    title = seen.title or f"#{found.number}"
    return Issue(IssueNumber(found.number), title, state="closed", source=seen.url)
