"""A small note-taking library: notes in memory, search and tags."""

from notebook.book import Notebook
from notebook.note import Note

__all__ = ["Note", "Notebook"]
