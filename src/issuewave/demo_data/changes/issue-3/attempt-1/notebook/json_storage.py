"""JsonFileStorage: notes in one JSON file (see docs/research/storage-formats.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from notebook.note import Note

FORMAT_VERSION = 1


class JsonFileStorage:
    """Implements notebook.storage.Storage with one UTF-8 JSON file, written atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> list[Note]:
        if not self.path.exists():
            return []
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{self.path}: unsupported notebook format {data.get('version')!r}")
        return [_from_dict(item) for item in data["notes"]]

    def save(self, notes: Iterable[Note]) -> None:
        data = {"version": FORMAT_VERSION, "notes": [_to_dict(note) for note in notes]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write a sibling file and rename it over the old one: a crash never leaves half a file.
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(partial, self.path)


def _to_dict(note: Note) -> dict[str, Any]:
    return {"id": note.id, "title": note.title, "body": note.body, "tags": sorted(note.tags)}


def _from_dict(item: dict[str, Any]) -> Note:
    return Note(id=item["id"], title=item["title"], body=item["body"], tags=set(item["tags"]))
