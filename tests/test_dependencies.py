from __future__ import annotations

import pytest

from issuewave.dependencies import extract_dependencies, extract_external_references


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Depends on #3", (3,)),
        ("depends ON #3.", (3,)),
        ("Depends on #4, #2 and #9", (2, 4, 9)),
        ("depends on: #4, #5", (4, 5)),
        ("This is blocked by #12 for now.", (12,)),
        ("Requires #8", (8,)),
        ("Dependencies: Issues #152 and #154", (152, 154)),
        ("Dependencies: #1, #2", (1, 2)),
        ("Depends-on: #3", (3,)),
        ("Depends on #1, #2, and #3 & #4", (1, 2, 3, 4)),
        ("Depends on issue #6 and issue #7", (6, 7)),
        ("**Depends on:** #13", (13,)),
        ("Depends on #5\r\nBlocked by #6\r\n", (5, 6)),
        ("Depends on #3\n\nRequires #3", (3,)),
    ],
)
def test_text_forms(body: str, expected: tuple[int, ...]) -> None:
    assert extract_dependencies(body) == expected


def test_bullet_list_under_a_dependencies_line() -> None:
    body = "Dependencies:\n- #1\n- #2 (the parser)\n- see #9\n\n## Dependencies\n\n* #11\n"
    assert extract_dependencies(body) == (1, 2, 11)


@pytest.mark.parametrize(
    "body",
    [
        "See #7 for background.",
        "Fixes #8",
        "Related to #9, mentioned in #10",
        "Depends on the parser (#3)",
        "Requires Python 3.11",
        "Depends on #0",
        "Depends on #12abc",
    ],
)
def test_mentions_are_not_dependencies(body: str) -> None:
    assert extract_dependencies(body) == ()


def test_a_list_stops_at_words_that_are_not_separators() -> None:
    assert extract_dependencies("Depends on #3 and fixes #8, or #9") == (3,)


@pytest.mark.parametrize(
    "body",
    [
        "```\nDepends on #9\n```\n",
        "~~~text\nBlocked by #9\n~~~\n",
        "````\n```\nDepends on #9\n```\n````\n",
        "Run `Depends on #9` to see.",
        "Use ``Depends on #9 ` here``.",
        "```\nDepends on #9\n",  # an unclosed fence runs to the end
    ],
)
def test_code_is_ignored(body: str) -> None:
    assert extract_dependencies(body) == ()


def test_text_after_a_code_block_still_counts() -> None:
    body = "```python\nx = '#1'\n```\nDepends on #2\n"
    assert extract_dependencies(body) == (2,)


def test_a_stray_backtick_does_not_hide_the_next_paragraph() -> None:
    assert extract_dependencies("Don't type ` here.\n\nDepends on #4") == (4,)


def test_cross_repository_references_are_kept_apart() -> None:
    body = "Depends on acme/lib#4 and #5\nBlocked by other.org/tool-x#2, acme/lib#4"
    assert extract_dependencies(body) == (5,)
    assert extract_external_references(body) == ("acme/lib#4", "other.org/tool-x#2")


def test_cross_repository_mentions_are_not_references() -> None:
    assert extract_external_references("See acme/lib#4\n`Depends on acme/lib#5`") == ()
