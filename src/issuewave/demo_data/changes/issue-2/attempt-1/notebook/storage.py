"""The Storage protocol: how a notebook's notes are saved and loaded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from notebook.book import Notebook
from notebook.note import Note


@runtime_checkable
class Storage(Protocol):
    """Anything that can save a list of notes and give the same notes back later."""

    def load(self) -> list[Note]:
        """Every saved note, in the order saved; [] when nothing was saved yet."""
        ...

    def save(self, notes: Iterable[Note]) -> None:
        """Replace whatever was saved before with `notes`."""
        ...


class MemoryStorage:
    """The reference implementation, kept in memory; handy in tests."""

    def __init__(self) -> None:
        self._notes: list[Note] = []

    def load(self) -> list[Note]:
        return [_copy(note) for note in self._notes]

    def save(self, notes: Iterable[Note]) -> None:
        # Copies, so that editing a note after saving it does not change what was saved.
        self._notes = [_copy(note) for note in notes]


def load_notebook(storage: Storage) -> Notebook:
    return Notebook(storage.load())


def save_notebook(book: Notebook, storage: Storage) -> None:
    storage.save(book.all())


def _copy(note: Note) -> Note:
    return replace(note, tags=set(note.tags))
