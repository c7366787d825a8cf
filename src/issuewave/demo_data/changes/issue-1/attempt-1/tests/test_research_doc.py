"""The research note is a deliverable: check it covers what its issue asked for."""

from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "research" / "storage-formats.md"


def test_research_doc_compares_the_three_formats():
    text = DOC.read_text(encoding="utf-8")
    assert "## Comparison" in text
    for fmt in ("JSON", "SQLite", "CSV"):
        assert f"| {fmt}" in text


def test_research_doc_makes_a_recommendation():
    text = DOC.read_text(encoding="utf-8")
    assert "## Recommendation" in text
    assert "## Risks" in text
