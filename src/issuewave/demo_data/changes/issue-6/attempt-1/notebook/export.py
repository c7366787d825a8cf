"""Export the notes that carry one tag to a JSON file another notebook can load."""

from __future__ import annotations

import os

from notebook.book import Notebook
from notebook.json_storage import JsonFileStorage
from notebook.tags import notes_tagged


def export_by_tag(book: Notebook, tag: str, path: str | os.PathLike[str]) -> int:
    """Write every note tagged `tag` to `path` in JsonFileStorage's format; return how many."""
    notes = notes_tagged(book, tag)
    JsonFileStorage(path).save(notes)
    return len(notes)
