"""Collections without a TAXII client: naming, and added_after on a longer list."""

from __future__ import annotations

import pytest

from diapason.exchange.collections import CollectionError, EntryFilter
from tests.builders import sdo
from tests.taxii.conftest import Taxii


def test_several_collections_without_an_alias(taxii: Taxii) -> None:
    first = taxii.node.collections.add("main", "First")
    second = taxii.node.collections.add("main", "Second")
    assert first.id != second.id
    taxii.node.collections.add("main", "Aliased", alias="aliased")
    with pytest.raises(CollectionError, match="exists already"):
        taxii.node.collections.add("main", "Again", alias="aliased")


def test_added_after_starts_at_the_first_newer_entry(taxii: Taxii) -> None:
    objects = [sdo("indicator") for _ in range(30)]
    for start in range(0, 30, 10):
        taxii.add(objects[start : start + 10])
    collections = taxii.node.collections
    everything = collections.page(taxii.collection.id, EntryFilter(), limit=100).entries
    assert len(everything) == 30
    for cut in (0, 9, 10, 17, 28):
        after = everything[cut][3]
        page = collections.page(taxii.collection.id, EntryFilter(added_after=after), limit=100)
        assert page.entries == everything[cut + 1 :]
    last = everything[-1][3]
    assert collections.page(taxii.collection.id, EntryFilter(added_after=last)).entries == []
