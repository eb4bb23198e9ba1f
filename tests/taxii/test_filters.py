"""TAXII 2.1 filters on SQLite and PostgreSQL: added_after, limit, next, match[...].

The collection is filled in three posts; the expected answer of every filter is computed
here from what was posted (a small model of the specification) and compared, in order,
with what the server answers, unpaged and paged one object at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.builders import ipv4, key, normalised, sdo, stamp, version
from tests.taxii.conftest import Taxii, body

Query = list[tuple[str, str]]


@dataclass(frozen=True)
class Entry:
    obj: dict[str, Any]
    post: int  # which post added it (1, 2, 3): entries of a later post are added later

    @property
    def id(self) -> str:
        return str(self.obj["id"])

    @property
    def modified(self) -> str:
        return normalised(self.obj["modified"]) if "modified" in self.obj else "1970"


@dataclass
class Dataset:
    taxii: Taxii
    entries: list[Entry]  # in the order the server added them
    added: dict[int, str]  # post -> its date_added

    def ids(self, name: str) -> str:
        return next(e.id for e in self.entries if e.obj["type"] == name)

    def expect(
        self,
        *,
        keep: Callable[[Entry], bool] = lambda _entry: True,
        versions: Sequence[str] = ("last",),
        added_after: int | None = None,
    ) -> list[tuple[str, str]]:
        """What a listing must return, in order: the model of the server."""
        chosen = []
        for entry in self.entries:
            if not keep(entry) or (added_after is not None and entry.post <= added_after):
                continue
            same = sorted(e.modified for e in self.entries if e.id == entry.id)
            if (
                "all" in versions
                or ("first" in versions and entry.modified == same[0])
                or ("last" in versions and entry.modified == same[-1])
                or entry.modified in versions
            ):
                chosen.append(key(entry.obj))
        return chosen


@pytest.fixture
def dataset(taxii: Taxii) -> Iterator[Dataset]:
    indicator = sdo("indicator", created=stamp(1))
    malware = sdo("malware", created=stamp(1))
    actor = sdo("threat-actor", created=stamp(3), threat_actor_types=["crime-syndicate"])
    posts = [
        [indicator, malware, ipv4("198.51.100.1")],
        [version(indicator, stamp(2)), actor],
        [version(indicator, stamp(4)), version(actor, stamp(5)), sdo("identity")],
    ]
    entries: list[Entry] = []
    added: dict[int, str] = {}
    for number, objects in enumerate(posts, 1):
        taxii.add(objects)
        entries.extend(Entry(obj, number) for obj in objects)
        response = taxii.get(taxii.manifest_path(), {"match[version]": "all"})
        added[number] = response.headers["X-TAXII-Date-Added-Last"]
    yield Dataset(taxii, entries, added)


def listing(taxii: Taxii, path: str, query: Query) -> list[tuple[str, str]]:
    """(id, modified) of the objects of a listing, unpaged; checked equal to paging by 1."""
    whole = body(taxii.get(path, query))
    assert not whole.get("more")
    found = [key(o) for o in whole.get("objects", [])]
    paged = taxii.all_pages(path, [*query, ("limit", "1")])
    assert [key(o) for o in paged] == found
    return found


def manifest(taxii: Taxii, query: Query) -> list[tuple[str, str]]:
    records = taxii.all_pages(taxii.manifest_path(), [*query, ("limit", "2")])
    added = [r["date_added"] for r in records]
    assert added == sorted(added)
    return [(r["id"], r["version"]) for r in records]


def same_as_manifest(data: Dataset, query: Query, expected: list[tuple[str, str]]) -> None:
    """The manifest with the same filters lists the same versions (normalised)."""
    epoch = "1970-01-01T00:00:00.000000Z"
    normal = [(i, normalised(modified) if modified else epoch) for i, modified in expected]
    assert manifest(data.taxii, query) == normal


Expected = Callable[[Dataset], list[tuple[str, str]]]
# name -> (the query, what it must return)
CASES: dict[str, tuple[Callable[[Dataset], Query], Expected]] = {}


def case(name: str, query: Callable[[Dataset], Query]) -> Callable[[Expected], Expected]:
    def register(expect: Expected) -> Expected:
        CASES[name] = (query, expect)
        return expect

    return register


@case("no filter: latest version of each", lambda d: [])
def _default(d: Dataset) -> list[tuple[str, str]]:
    return d.expect()


@case("version=last", lambda d: [("match[version]", "last")])
def _last(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(versions=["last"])


@case("version=first", lambda d: [("match[version]", "first")])
def _first(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(versions=["first"])


@case("version=all", lambda d: [("match[version]", "all")])
def _all(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(versions=["all"])


@case("version=a timestamp", lambda d: [("match[version]", stamp(2))])
def _timestamp(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(versions=[normalised(stamp(2))])


@case(
    "version=a timestamp at another precision",
    lambda d: [("match[version]", "2024-01-02T00:00:00Z")],
)
def _timestamp_precision(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(versions=[normalised(stamp(2))])


@case("version=first,timestamp,last", lambda d: [("match[version]", f"first,{stamp(2)},last")])
def _several_versions(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(versions=["first", normalised(stamp(2)), "last"])


@case("type=one", lambda d: [("match[type]", "indicator")])
def _type(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(keep=lambda e: e.obj["type"] == "indicator")


@case("type=several", lambda d: [("match[type]", "malware,ipv4-addr,threat-actor")])
def _types(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(keep=lambda e: e.obj["type"] in ("malware", "ipv4-addr", "threat-actor"))


@case("type=an unused STIX type", lambda d: [("match[type]", "campaign")])
def _unused_type(d: Dataset) -> list[tuple[str, str]]:
    return []


@case("id=several", lambda d: [("match[id]", f"{d.ids('indicator')},{d.ids('threat-actor')}")])
def _ids(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(keep=lambda e: e.obj["type"] in ("indicator", "threat-actor"))


@case("spec_version=2.1", lambda d: [("match[spec_version]", "2.1")])
def _spec_21(d: Dataset) -> list[tuple[str, str]]:
    return d.expect()


@case("spec_version=2.0,2.1", lambda d: [("match[spec_version]", "2.0,2.1")])
def _spec_both(d: Dataset) -> list[tuple[str, str]]:
    return d.expect()


@case("spec_version=2.0", lambda d: [("match[spec_version]", "2.0")])
def _spec_20(d: Dataset) -> list[tuple[str, str]]:
    return []


@case("added_after the first post", lambda d: [("added_after", d.added[1])])
def _added_after(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(added_after=1)


@case("added_after the last post", lambda d: [("added_after", d.added[3])])
def _added_after_last(d: Dataset) -> list[tuple[str, str]]:
    return []


@case("added_after long ago", lambda d: [("added_after", "2000-01-01T00:00:00Z")])
def _added_after_early(d: Dataset) -> list[tuple[str, str]]:
    return d.expect()


@case(
    "added_after + version=all",
    lambda d: [("added_after", d.added[1]), ("match[version]", "all")],
)
def _added_after_all(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(added_after=1, versions=["all"])


@case(
    "type + id + version + spec_version + added_after",
    lambda d: [
        ("match[type]", "indicator,threat-actor"),
        ("match[id]", f"{d.ids('indicator')},{d.ids('malware')}"),
        ("match[version]", "all"),
        ("match[spec_version]", "2.1"),
        ("added_after", d.added[1]),
    ],
)
def _combined(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(keep=lambda e: e.obj["type"] == "indicator", versions=["all"], added_after=1)


@case(
    "type + version=first",
    lambda d: [("match[type]", "indicator,threat-actor"), ("match[version]", "first")],
)
def _type_first(d: Dataset) -> list[tuple[str, str]]:
    return d.expect(
        keep=lambda e: e.obj["type"] in ("indicator", "threat-actor"), versions=["first"]
    )


@case("an unknown match field is ignored", lambda d: [("match[colour]", "blue")])
def _unknown_field(d: Dataset) -> list[tuple[str, str]]:
    return d.expect()


@pytest.mark.parametrize("name", list(CASES))
def test_objects_and_manifest_filters(dataset: Dataset, name: str) -> None:
    query, expect = CASES[name]
    found = listing(dataset.taxii, dataset.taxii.objects_path(), query(dataset))
    assert found == expect(dataset)
    same_as_manifest(dataset, query(dataset), found)


def test_entries_are_ordered_by_date_added(dataset: Dataset) -> None:
    records = body(dataset.taxii.get(dataset.taxii.manifest_path(), {"match[version]": "all"}))
    added = [r["date_added"] for r in records["objects"]]
    # Every entry has its own date added, later than every one before it.
    assert added == sorted(set(added))
    # Each post's entries lie after the previous post's last one, up to its own last one.
    for stamp_added, entry in zip(added, dataset.entries, strict=True):
        assert stamp_added <= dataset.added[entry.post]
        assert entry.post == 1 or stamp_added > dataset.added[entry.post - 1]
    # Newest last: the later version of the indicator comes after the malware posted before.
    assert [r["id"] for r in records["objects"]] == [e.id for e in dataset.entries]


def test_limit_returns_at_most_that_many(dataset: Dataset) -> None:
    taxii = dataset.taxii
    everything = dataset.expect(versions=["all"])
    for limit in (1, 3, 7, 8, 50):
        page = body(taxii.get(taxii.objects_path(), {"limit": str(limit), "match[version]": "all"}))
        assert [key(o) for o in page["objects"]] == everything[:limit]
        assert bool(page.get("more")) is (limit < len(everything))
        assert ("next" in page) is (limit < len(everything))


def test_paging_with_added_after_and_the_last_date_header(dataset: Dataset) -> None:
    """The other way of paging (TAXII 2.1, 3.5): added_after = X-TAXII-Date-Added-Last."""
    taxii = dataset.taxii
    seen: list[tuple[str, str]] = []
    query: Query = [("match[version]", "all"), ("limit", "3")]
    while True:
        response = taxii.get(taxii.objects_path(), query)
        page = body(response)
        seen.extend(key(o) for o in page.get("objects", []))
        if not page.get("more"):
            break
        query = [
            ("match[version]", "all"),
            ("limit", "3"),
            ("added_after", response.headers["X-TAXII-Date-Added-Last"]),
        ]
    # Every entry has its own date added, so this way of paging loses nothing either.
    assert seen == dataset.expect(versions=["all"])
    assert taxii.all_pages(taxii.objects_path(), [("match[version]", "all"), ("limit", "3")]) == [
        e.obj for e in dataset.entries
    ]


def test_filters_of_one_object(dataset: Dataset) -> None:
    taxii = dataset.taxii
    indicator = dataset.ids("indicator")
    path = taxii.object_path(indicator)
    mine = [e for e in dataset.entries if e.id == indicator]
    assert listing(taxii, path, []) == [key(mine[-1].obj)]
    assert listing(taxii, path, [("match[version]", "first")]) == [key(mine[0].obj)]
    assert listing(taxii, path, [("match[version]", "all")]) == [key(e.obj) for e in mine]
    assert listing(taxii, path, [("match[version]", stamp(2))]) == [key(mine[1].obj)]
    assert listing(taxii, path, [("match[version]", "all"), ("added_after", dataset.added[1])]) == [
        key(e.obj) for e in mine[1:]
    ]
    assert listing(taxii, path, [("match[spec_version]", "2.0")]) == []
    assert listing(taxii, path, [("match[version]", stamp(9))]) == []


def test_filters_of_versions(dataset: Dataset) -> None:
    taxii = dataset.taxii
    path = taxii.object_path(dataset.ids("indicator")) + "versions/"
    everything = [normalised(stamp(day)) for day in (1, 2, 4)]
    assert body(taxii.get(path))["versions"] == everything
    assert taxii.all_pages(path, [("limit", "1")], key="versions") == everything
    assert body(taxii.get(path, {"added_after": dataset.added[1]}))["versions"] == everything[1:]
    assert body(taxii.get(path, {"added_after": dataset.added[3]})) == {}
    assert body(taxii.get(path, {"match[spec_version]": "2.0"})) == {}
    first = body(taxii.get(path, {"limit": "2"}))
    assert first["versions"] == everything[:2] and first["more"] is True and first["next"]


def test_objects_of_one_post_page_without_loss_or_repeat(taxii: Taxii) -> None:
    objects = [sdo("indicator") for _ in range(11)]
    taxii.add(objects)
    added = [r["date_added"] for r in body(taxii.get(taxii.manifest_path()))["objects"]]
    assert added == sorted(set(added)) and len(added) == 11
    for limit in ("1", "2", "3", "10"):
        assert taxii.all_pages(taxii.objects_path(), [("limit", limit)]) == objects
        # added_after alone resumes exactly too: date added never ties.
        seen: list[dict[str, object]] = []
        query: list[tuple[str, str]] = [("limit", limit)]
        while True:
            response = taxii.get(taxii.objects_path(), query)
            seen.extend(body(response).get("objects", []))
            if not body(response).get("more"):
                break
            query = [("limit", limit), ("added_after", response.headers["X-TAXII-Date-Added-Last"])]
        assert seen == objects


def test_a_collection_lists_what_it_holds_only(taxii: Taxii) -> None:
    other = taxii.node.collections.add("main", "Other")
    mine, theirs = sdo("indicator"), sdo("indicator")
    taxii.add([mine])
    taxii.add([theirs, mine], other)
    assert body(taxii.get(taxii.objects_path()))["objects"] == [mine]
    listed = body(taxii.get(taxii.objects_path(other)))["objects"]
    # One post: both share a date_added, so either order is in date-added order.
    assert sorted(listed, key=key) == sorted([theirs, mine], key=key)
    assert body(taxii.get(taxii.objects_path(), {"match[id]": theirs["id"]})) == {}
