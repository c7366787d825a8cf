"""Notebook: notes kept in memory, in the order they were added."""

from __future__ import annotations

from collections.abc import Iterable

from notebook.note import Note


class Notebook:
    def __init__(self, notes: Iterable[Note] = ()) -> None:
        self._notes: dict[int, Note] = {note.id: note for note in notes}

    def add(self, title: str, body: str = "", tags: Iterable[str] = ()) -> Note:
        """Create a note with the next free id and keep it."""
        note = Note(id=max(self._notes, default=0) + 1, title=title, body=body, tags=set(tags))
        self._notes[note.id] = note
        return note

    def get(self, note_id: int) -> Note:
        """The note with this id; KeyError when there is none."""
        return self._notes[note_id]

    def remove(self, note_id: int) -> None:
        del self._notes[note_id]

    def all(self) -> list[Note]:
        return list(self._notes.values())

    def search(self, text: str) -> list[Note]:
        """Notes whose title or body contains `text`, ignoring case."""
        # casefold, not lower: "Straße" must match "STRASSE".
        needle = text.casefold()
        return [
            note
            for note in self._notes.values()
            if needle in note.title.casefold() or needle in note.body.casefold()
        ]
