from notebook import Notebook
from notebook.tags import normalize_tag, notes_tagged, tag_counts, tag_note, untag_note


def test_tags_are_stored_normalized():
    book = Notebook()
    note = book.add("Learn Python")
    tag_note(book, note.id, " #Python ", "Study")
    assert note.tags == {"python", "study"}


def test_normalize_plain_and_hash_tags():
    assert normalize_tag("Work") == "work"
    assert normalize_tag("#work") == "work"


def test_notes_tagged_ignores_case_and_hash():
    book = Notebook()
    report = book.add("Report")
    book.add("Holiday")
    tag_note(book, report.id, "work")
    assert notes_tagged(book, "WORK") == [report]
    assert notes_tagged(book, "#work") == [report]
    assert notes_tagged(book, "home") == []


def test_untag_and_counts():
    book = Notebook()
    first = book.add("First")
    second = book.add("Second")
    tag_note(book, first.id, "home", "urgent")
    tag_note(book, second.id, "home")
    assert tag_counts(book) == {"home": 2, "urgent": 1}
    untag_note(book, first.id, "#Urgent")
    assert tag_counts(book) == {"home": 2}
