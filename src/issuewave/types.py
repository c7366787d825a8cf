"""Identifiers get their own types so an issue number is never passed where a PR number belongs."""

from __future__ import annotations

from typing import NewType

IssueNumber = NewType("IssueNumber", int)
PullNumber = NewType("PullNumber", int)
BranchName = NewType("BranchName", str)
CommitSha = NewType("CommitSha", str)
RunId = NewType("RunId", str)
