"""The Note record."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Note:
    """One note: a numeric id, a title, a body and a set of tags."""

    id: int
    title: str
    body: str = ""
    tags: set[str] = field(default_factory=set)
