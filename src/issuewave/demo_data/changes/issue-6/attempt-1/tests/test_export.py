from notebook import Notebook
from notebook.export import export_by_tag
from notebook.json_storage import JsonFileStorage
from notebook.tags import tag_note


def make_book():
    book = Notebook()
    for title, tag in [("Groceries", "home"), ("Report", "work"), ("Plumber", "home")]:
        tag_note(book, book.add(title).id, tag)
    return book


def test_exports_only_the_tagged_notes(tmp_path):
    path = tmp_path / "home.json"
    assert export_by_tag(make_book(), "home", path) == 2
    assert [note.title for note in JsonFileStorage(path).load()] == ["Groceries", "Plumber"]


def test_tag_is_normalized(tmp_path):
    path = tmp_path / "work.json"
    assert export_by_tag(make_book(), "#Work", path) == 1
    assert JsonFileStorage(path).load()[0].tags == {"work"}


def test_unknown_tag_writes_an_empty_export(tmp_path):
    path = tmp_path / "none.json"
    assert export_by_tag(make_book(), "garden", path) == 0
    assert path.exists()
    assert JsonFileStorage(path).load() == []
