"""Dependencies written in an issue's text: "Depends on #3", "Blocked by #4, #5", and the like.

Only an explicit dependency phrase counts. A bare mention ("see #7", "fixes #8") is not a
dependency, and neither is anything inside code, where issue text quotes logs and examples.
"""

from __future__ import annotations

import re

from issuewave.types import IssueNumber

# A fence opens with three or more backticks or tildes (indented at most three spaces) and closes
# with a line of the same character that is at least as long; an unclosed fence runs to the end.
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
# An inline code span closes with a backtick run of exactly the length that opened it, within
# one paragraph: a stray backtick must not hide the rest of the issue.
_CODE_SPAN = re.compile(
    r"(?<!`)(?P<ticks>`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)(?P=ticks)(?!`)", re.DOTALL
)

# The phrases that introduce dependencies; a bold wrapper and a colon may follow the phrase.
_KEYWORD = (
    r"\b(?:depends(?:[ \t]+|[ \t]*-[ \t]*)on|blocked[ \t]+by|requires|dependenc(?:y|ies))"
    r"[*_]*[ \t]*:?[*_]*[ \t]*"
)
# One reference: "#12", "issue #12", "issues #12", or the cross-repository "owner/repo#12".
_REFERENCE = r"(?:issues?[ \t]+)?(?:[\w.-]+/[\w.-]+)?\#\d+\b"
# References continue over ",", "and", "&", and ", and".
_SEPARATOR = r"\s*(?:,[ \t]*(?:and\b|&)?|&|\band\b)\s*"
_LIST = rf"{_REFERENCE}(?:{_SEPARATOR}{_REFERENCE})*"
# "Depends on #1, #2" on one line.
_INLINE_FORM = re.compile(rf"{_KEYWORD}(?P<refs>{_LIST})", re.IGNORECASE)
# "Dependencies:" (or a "## Dependencies" heading) ending its line, then a bullet list whose
# items each start with references: "- #1", "- #2 (the parser)".
_BULLET_FORM = re.compile(
    rf"{_KEYWORD}\n(?:[ \t]*\n)*(?P<items>(?:[ \t]*[-*+][ \t]+[^\n]*(?:\n|$))+)", re.IGNORECASE
)
_BULLET_ITEM = re.compile(rf"^[ \t]*[-*+][ \t]+(?P<refs>{_LIST})", re.IGNORECASE | re.MULTILINE)
_ONE_REFERENCE = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+)?#(?P<number>\d+)")


def extract_dependencies(body: str) -> tuple[IssueNumber, ...]:
    """Issue numbers of this repository that `body` declares as dependencies, sorted, unique."""
    numbers = {int(number) for repo, number in _references(body) if repo is None}
    return tuple(IssueNumber(n) for n in sorted(numbers) if n > 0)


def extract_external_references(body: str) -> tuple[str, ...]:
    """Dependencies on other repositories ("owner/repo#N"), in order of appearance, unique.

    They are returned apart because no local issue can satisfy them; the caller decides whether
    to warn about them.
    """
    found = [f"{repo}#{int(number)}" for repo, number in _references(body) if repo is not None]
    return tuple(dict.fromkeys(found))


def strip_code(text: str) -> str:
    """`text` with fenced code blocks and inline code spans blanked out, line endings as "\\n"."""
    # Bodies that come from a web form often end their lines with "\r\n".
    return _CODE_SPAN.sub(" ", drop_fenced_blocks(text.replace("\r\n", "\n")))


def drop_fenced_blocks(text: str) -> str:
    """`text` with every fenced code block (fence lines included) replaced by empty lines.

    Line numbers are kept, so a caller can still point at the right line.
    """
    kept: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None:
            opener = _FENCE.match(line)
            fence = opener.group("fence") if opener else None
            kept.append("" if opener else line)
        else:
            fence = None if _closes(line, fence) else fence
            kept.append("")
    return "\n".join(kept)


def _closes(line: str, fence: str) -> bool:
    closer = _FENCE.match(line)
    if closer is None or line[closer.end() :].strip():
        return False  # a fence line with text after it (an info string) never closes a block
    run = closer.group("fence")
    return run[0] == fence[0] and len(run) >= len(fence)


def _references(body: str) -> list[tuple[str | None, str]]:
    """(repo or None, number) for every reference inside a dependency phrase, in text order."""
    text = strip_code(body)
    lists = [(m.start("refs"), m.group("refs")) for m in _INLINE_FORM.finditer(text)]
    for block in _BULLET_FORM.finditer(text):
        items = _BULLET_ITEM.finditer(block.group("items"))
        lists += [(block.start("items") + m.start("refs"), m.group("refs")) for m in items]
    return [
        (ref.group("repo"), ref.group("number"))
        for _, refs in sorted(lists)
        for ref in _ONE_REFERENCE.finditer(refs)
    ]
