"""The GraphQL documents issuewave sends, and the builders of those whose aliases vary.

Four operations, by name: IssuewaveIssues (a page of open issues), IssuewaveIssuesByNumber
(chosen issues, one alias each), IssuewaveIssueStates (the state of issues in any repositories)
and IssuewaveMilestones (a milestone's number from its title). Names of repositories travel as
variables; only integers are written into a document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from issuewave.forges.github.api import PAGE_SIZE, Json

LINKS_PER_ISSUE = 50  # blocked-by links, sub-issues and labels read per issue

LINK_FRAGMENT = """
fragment IssuewaveLink on Issue { number title state url repository { nameWithOwner } }
"""
ISSUE_FRAGMENT = f"""
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
    + ISSUE_FRAGMENT
    + LINK_FRAGMENT
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
        + ISSUE_FRAGMENT
        + LINK_FRAGMENT
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
    return head + "\n".join(parts) + "\n}\n" + LINK_FRAGMENT, variables
