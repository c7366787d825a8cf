import json

import pytest

from notebook import Notebook
from notebook.json_storage import JsonFileStorage
from notebook.storage import Storage, load_notebook, save_notebook


def test_implements_the_storage_protocol(tmp_path):
    assert isinstance(JsonFileStorage(tmp_path / "notes.json"), Storage)


def test_missing_file_loads_empty(tmp_path):
    assert JsonFileStorage(tmp_path / "absent.json").load() == []


def test_round_trip_keeps_every_field(tmp_path):
    book = Notebook()
    book.add("Café", "crème brûlée\nsecond line", tags={"food", "paris"})
    book.add("Empty")
    storage = JsonFileStorage(tmp_path / "sub" / "notes.json")
    save_notebook(book, storage)
    assert load_notebook(storage).all() == book.all()


def test_save_replaces_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "notes.json"
    storage = JsonFileStorage(path)
    book = Notebook()
    book.add("First")
    save_notebook(book, storage)
    book.add("Second")
    save_notebook(book, storage)
    assert [note.title for note in storage.load()] == ["First", "Second"]
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]


def test_file_is_versioned_json_with_sorted_tags(tmp_path):
    path = tmp_path / "notes.json"
    book = Notebook()
    book.add("Tagged", tags={"b", "a"})
    save_notebook(book, JsonFileStorage(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert data["notes"][0]["tags"] == ["a", "b"]


def test_unknown_version_is_refused(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text('{"version": 99, "notes": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported notebook format 99"):
        JsonFileStorage(path).load()
