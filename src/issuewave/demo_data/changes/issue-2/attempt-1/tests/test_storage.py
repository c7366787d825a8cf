from notebook import Notebook
from notebook.storage import MemoryStorage, Storage, load_notebook, save_notebook


def test_memory_storage_implements_the_protocol():
    assert isinstance(MemoryStorage(), Storage)


def test_nothing_saved_loads_empty():
    assert MemoryStorage().load() == []


def test_round_trip_through_a_notebook():
    book = Notebook()
    book.add("Groceries", "milk", tags={"home"})
    book.add("Ideas")
    storage = MemoryStorage()
    save_notebook(book, storage)
    loaded = load_notebook(storage)
    assert loaded.all() == book.all()
    assert loaded.add("Next").id == 3


def test_saved_notes_are_copies():
    book = Notebook()
    note = book.add("Groceries", tags={"home"})
    storage = MemoryStorage()
    save_notebook(book, storage)
    note.tags.add("changed")
    assert storage.load()[0].tags == {"home"}
