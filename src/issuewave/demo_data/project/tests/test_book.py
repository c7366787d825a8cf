import pytest

from notebook import Note, Notebook


def test_add_assigns_increasing_ids():
    book = Notebook()
    first = book.add("Groceries", "milk, eggs")
    second = book.add("Ideas")
    assert (first.id, second.id) == (1, 2)
    assert book.get(2) is second


def test_ids_continue_after_existing_notes():
    book = Notebook([Note(id=7, title="Old")])
    assert book.add("New").id == 8


def test_all_keeps_insertion_order():
    book = Notebook()
    titles = ["a", "b", "c"]
    for title in titles:
        book.add(title)
    assert [note.title for note in book.all()] == titles


def test_remove_and_unknown_id():
    book = Notebook()
    note = book.add("Temporary")
    book.remove(note.id)
    with pytest.raises(KeyError):
        book.get(note.id)


def test_search_matches_title_and_body():
    book = Notebook()
    groceries = book.add("Groceries", "milk, eggs")
    trip = book.add("Trip", "buy milk on the way")
    book.add("Ideas", "a notebook app")
    assert book.search("milk") == [groceries, trip]
    assert book.search("Trip") == [trip]
    assert book.search("tea") == []
