"""aider's quirk beyond the shared tables: it prints token counts the way people read them."""

from __future__ import annotations

import pytest

from issuewave.agents.aider import count


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("150", 150), ("2.3k", 2300), ("12k", 12000), ("1.5M", 1_500_000), ("3x", 0), ("", 0)],
)
def test_counts_read_aiders_suffixes(text: str, tokens: int) -> None:
    assert count(text) == tokens
