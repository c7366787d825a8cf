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

One part a module: `common` (the records), `graphql`, `pulls`, `merges` (git-backed), `comments`,
`shapes` (REST answers as GitHub's schemas), `server` (HTTP), `fake` (FakeGitHub, faults, routes).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_github.common import Call, FakeIssue, Fault
from fake_github.fake import FakeGitHub

__all__ = ["Call", "FakeGitHub", "FakeIssue", "Fault", "fake_github"]


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with fake.serving():
        yield fake
