"""Names built from untrusted issue text: branches, worktree folders, commit messages.

Issue titles can hold anything (quotes, `$(...)`, newlines, emoji, 500 characters). Nothing from a
title reaches a ref name unsanitised, and a commit message only ever travels as one argv element.
"""

from __future__ import annotations

import re
import unicodedata

from issuewave.issues import Issue
from issuewave.types import BranchName

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
SLUG_MAX = 40


def slug(text: str) -> str:
    """ASCII letters, digits and single hyphens; at most SLUG_MAX characters; never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    return words[:SLUG_MAX].rstrip("-") or "issue"


def branch_name(pattern: str, issue: Issue) -> BranchName:
    name = pattern.format(number=issue.number, slug=slug(issue.title))
    if not is_safe_ref_name(name):
        raise ValueError(f"branch pattern {pattern!r} gives an invalid branch name {name!r}")
    return BranchName(name)


def is_safe_ref_name(name: str) -> bool:
    """git's check-ref-format rules, checked without a subprocess so the plan can use it."""
    parts = name.split("/")
    return (
        bool(name)
        and name != "@"
        and not _REF_FORBIDDEN.search(name)
        and not name.startswith(("-", "/"))
        and not name.endswith((".", "/", ".lock"))
        and all(p and not p.startswith(".") and not p.endswith(".lock") for p in parts)
    )


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace (newlines included) so a title is one line; cut long ones."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def commit_message(pattern: str, issue: Issue) -> str:
    subject = one_line(pattern.format(number=issue.number, title=one_line(issue.title, 120)))
    return f"{subject}\n\nCloses #{issue.number}\n"


def worktree_folder(issue: Issue) -> str:
    return f"issue-{issue.number}"
