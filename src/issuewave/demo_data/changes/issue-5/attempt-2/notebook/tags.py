"""Tags: short labels on notes, compared without case or a leading '#'."""

from __future__ import annotations

from collections import Counter

from notebook.book import Notebook
from notebook.note import Note


def normalize_tag(tag: str) -> str:
    """' #Python ' -> 'python'."""
    return tag.strip().lstrip("#").lower()


def tag_note(book: Notebook, note_id: int, *tags: str) -> Note:
    note = book.get(note_id)
    note.tags.update(normalize_tag(tag) for tag in tags)
    return note


def untag_note(book: Notebook, note_id: int, tag: str) -> Note:
    note = book.get(note_id)
    note.tags.discard(normalize_tag(tag))
    return note


def notes_tagged(book: Notebook, tag: str) -> list[Note]:
    wanted = normalize_tag(tag)
    return [note for note in book.all() if wanted in note.tags]


def tag_counts(book: Notebook) -> dict[str, int]:
    """How many notes carry each tag, most used first."""
    return dict(Counter(tag for note in book.all() for tag in note.tags).most_common())
