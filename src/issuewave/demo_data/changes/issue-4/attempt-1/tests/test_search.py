from notebook import Notebook


def test_search_ignores_case():
    book = Notebook()
    groceries = book.add("Groceries", "Milk, eggs")
    trip = book.add("TRIP", "buy milk on the way")
    assert book.search("milk") == [groceries, trip]
    assert book.search("MILK") == [groceries, trip]
    assert book.search("trip") == [trip]


def test_search_casefolds():
    book = Notebook()
    street = book.add("Straße", "an address")
    assert book.search("STRASSE") == [street]
