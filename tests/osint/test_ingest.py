"""Ingesting into a real node (SQLite and PostgreSQL): objects, validation, idempotence,
knowledge-base resolution, near-duplicates, Arabic text, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from diapason.domain.extensions import EVENT_EXTENSION_ID, TLP_2_0_IDS
from diapason.domain.grading import is_osint
from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.store.interface import Query
from tests.shared import SEED

# {103}: deterministic ids are UUIDv5 (the point: re-ingesting changes nothing);
# {202}: Diapason's own relationship types between events and participants.
VALIDATION = ValidationOptions(version="2.1", strict=True, disabled=["103", "202"])


def by_type(objects: list[dict[str, Any]], stix_type: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["type"] == stix_type]


def named(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [obj for obj in objects if obj.get("name") == name]
    assert found, f"no object named {name!r}"
    return found[0]


def test_seed_ingested_as_valid_linked_stix(node: Node, seed_bytes: bytes) -> None:
    result = node.ingestor("tests").ingest_bytes(seed_bytes, str(SEED))
    assert result.status == "written", result.error
    objects = result.objects
    for obj in objects:
        results = validate_instance(obj, VALIDATION)
        assert results.is_valid, (obj["type"], [str(e) for e in results.errors])
        assert is_osint(obj) and obj["object_marking_refs"] == [TLP_2_0_IDS["clear"]]
        assert obj["created_by_ref"] == node.identity_id
    report = by_type(objects, "report")[0]
    assert report["published"] == "2024-04-22T00:00:00.000Z"
    assert report["lang"] == "fr"
    assert report["external_references"][0]["url"].startswith("https://www.leconomiste.com/")
    assert report["external_references"][0]["source_name"] == "leconomiste.com"
    assert set(report["object_refs"]) == {obj["id"] for obj in objects[1:]}
    assert "afin de mieux prévoir" in report["description"]
    assert {"osint", "topic:migration", "topic:security_cooperation"} <= set(report["labels"])
    laftit = named(objects, "Abdelouafi Laftit")
    assert laftit["identity_class"] == "individual"
    # All three forms of his name are the one identity.
    assert {s.object_id for s in result.spans if "Laftit" in s.surface} == {laftit["id"]}
    ministry = named(objects, "Ministère de l'Intérieur (Maroc)")
    assert ministry["identity_class"] == "organization"
    assert named(objects, "Morocco")["country"] == "MA"
    assert named(objects, "France")["country"] == "FR"
    rabat = named(objects, "Rabat")
    assert rabat["country"] == "MA" and 33.9 < rabat["latitude"] < 34.1
    events = by_type(objects, "x-diapason-event")
    consult = next(e for e in events if e["plover_type"] == "CONSULT")
    assert consult["extensions"][EVENT_EXTENSION_ID] == {"extension_type": "new-sdo"}
    assert consult["plover_mode"] == "visit" and consult["event_date"] == "2024-04-22"
    assert consult["location_ref"] == rabat["id"]
    assert consult["actor_refs"] == [named(objects, "Gérald Darmanin")["id"]]
    assert consult["target_refs"] == [laftit["id"]]
    kinds = {
        (r["source_ref"], r["relationship_type"], r["target_ref"])
        for r in by_type(objects, "relationship")
    }
    assert (consult["id"], "located-at", rabat["id"]) in kinds
    # Issue 24: the host of a visit is its counterpart, not its target.
    assert (laftit["id"], "x-diapason-hosts", consult["id"]) in kinds
    assert not any(kind == "x-diapason-targeted-by" for _, kind, _ in kinds)
    agree = next(e for e in events if e["plover_type"] == "AGREE")
    assert agree["location_ref"] == rabat["id"]
    assert set(agree["actor_refs"]) == {laftit["id"], named(objects, "Gérald Darmanin")["id"]}
    # Persons are located by the country of their office, Moroccan and French alike.
    france, morocco = named(objects, "France"), named(objects, "Morocco")
    for person, country in (
        ("Gérald Darmanin", france),
        ("Emmanuel Macron", france),
        ("Abdelouafi Laftit", morocco),
        ("Mohammed VI", morocco),
    ):
        assert (named(objects, person)["id"], "located-at", country["id"]) in kinds, person
    # A ministers' meeting is not a threat report: report-type-ov has no news value, the
    # article is about the identities it names.
    assert report["report_types"] == ["identity"]
    # Every stored, and every span points at a stored object.
    assert node.store.known_ids([obj["id"] for obj in objects]) == {obj["id"] for obj in objects}
    assert any(s.surface == "M. Laftit" and s.object_id == laftit["id"] for s in result.spans)
    for span in result.spans:
        assert result.text[span.start : span.end] == span.surface
        assert span.object_id is None or node.store.get(span.object_id) is not None
    ingested = node.audit.entries(action="ingest")
    assert ingested and ingested[-1].actor == "tests" and report["id"] in ingested[-1].object_ids


def test_reingesting_changes_nothing(node: Node, seed_bytes: bytes) -> None:
    ingestor = node.ingestor("tests")
    first = ingestor.ingest_bytes(seed_bytes, "seed")
    count = node.store.count()
    again = node.ingestor("tests").ingest_bytes(seed_bytes, "seed again")
    assert (first.status, again.status) == ("written", "unchanged")
    assert again.written == [] and again.report_id == first.report_id
    assert node.store.count() == count


def test_entities_resolve_against_the_knowledge_base(node: Node) -> None:
    existing = {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--4c6a4f1e-7d21-4c59-9a8e-0f6f4d2b1a10",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "Direction Generale de la Surete Nationale",
        "identity_class": "organization",
    }
    assert not node.store.put_many([existing]).refused
    text = (
        "Saisie à Tanger\n\n02.03.2024\n\nLa Direction générale de la sûreté nationale (DGSN) "
        "a annoncé lundi la saisie de deux tonnes de chira à Tanger.\n"
    )
    result = node.ingestor("osint").ingest_text(text, origin="tanger.txt")
    assert result.status == "written"
    spans = [
        s
        for s in result.spans
        if s.surface in ("DGSN", "Direction générale de la sûreté nationale")
    ]
    assert spans and {s.object_id for s in spans} == {existing["id"]}
    # The stored identity is referenced, not rewritten.
    assert existing["id"] not in result.written
    report = by_type(result.objects, "report")[0]
    assert existing["id"] in report["object_refs"] or any(
        existing["id"] in e.get("actor_refs", [])
        for e in by_type(result.objects, "x-diapason-event")
    )


def test_near_duplicate_is_linked_not_stored_twice(node: Node) -> None:
    body = (
        "Les services de la préfecture de police de Nador ont démantelé vendredi un réseau "
        "criminel spécialisé dans l'organisation de l'immigration clandestine. Neuf personnes "
        "ont été interpellées lors d'une série d'opérations menées à Nador et à Selouane. Les "
        "enquêteurs ont saisi deux embarcations pneumatiques et trois moteurs hors-bord."
    )
    first = (
        f"# **Nador : un réseau démantelé**\n\n**27.08.2023 Nador**\n\n{body}\n\n"
        "### **Source**\n\n: <https://a.example/nador>\n"
    )
    second = (
        f"# **Démantèlement d'un réseau à Nador**\n\n**27.08.2023 Nador**\n\n{body} Selon la "
        "DGSN, l'enquête se poursuit.\n\n### **Source**\n\n: <https://b.example/nador>\n"
    )
    ingestor = node.ingestor("tests")
    original = ingestor.ingest_bytes(first.encode(), "a.md")
    duplicate = ingestor.ingest_bytes(second.encode(), "b.md")
    assert original.status == "written" and original.events > 0
    assert duplicate.status == "duplicate" and duplicate.duplicate_of == original.report_id
    assert by_type(duplicate.objects, "x-diapason-event") == []
    link = by_type(duplicate.objects, "relationship")
    assert any(
        (r["source_ref"], r["relationship_type"], r["target_ref"])
        == (duplicate.report_id, "x-diapason-duplicate-of", original.report_id)
        for r in link
    )
    # A new session finds the original through the store.
    third = node.ingestor("tests").ingest_bytes(
        second.replace("b.example", "c.example").encode(), "c.md"
    )
    assert third.status == "duplicate" and third.duplicate_of == original.report_id


def test_arabic_is_stored_and_searchable(node: Node) -> None:
    text = (
        "# **لقاء في الرباط**\n\n**22.04.2024 لقاء في الرباط**\n\n"
        "استقبل وزير الداخلية يوم الاثنين بالرباط نظيره الفرنسي لبحث التعاون الأمني والهجرة.\n"
    )
    result = node.ingestor("osint").ingest_text(text, origin="ar.md")
    assert result.status == "written" and result.language == "ar"
    report = by_type(result.objects, "report")[0]
    assert report["lang"] == "ar"
    assert validate_instance(report, VALIDATION).is_valid
    found = node.store.query(Query(text="الرباط", types=("report",)))
    assert [stored.id for stored in found.objects] == [result.report_id]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02\x03binary\x00", "binary data"),
        (
            b"<html><head><script>alert(1)</script></head><body></body></html>",
            "without an article body",
        ),
    ],
)
def test_bad_input_writes_nothing(node: Node, data: bytes, message: str) -> None:
    count = node.store.count()
    result = node.ingestor("tests").ingest_bytes(data, "bad")
    assert result.status == "refused" and result.error is not None and message in result.error
    assert node.store.count() == count


def test_untrusted_text_stays_text(node: Node) -> None:
    text = (
        "<script>alert('x')</script> [red]Rabat[/red] ${jndi:ldap://x}\n\n01.02.2024\n\n"
        "Le ministre a reçu lundi à Rabat une délégation. '); DROP TABLE objects; --\n"
    )
    result = node.ingestor("osint").ingest_text(text, origin="evil.txt")
    assert result.status == "written"
    report = by_type(result.objects, "report")[0]
    assert "DROP TABLE objects" in report["description"]
    assert node.store.get(result.report_id or "") is not None


def test_an_article_is_written_whole_or_not_at_all(tmp_path: Path, sqlite_url: str) -> None:
    # The report holds the body: with objects limited to 2,000 bytes the seed's report is
    # refused, and none of the article's other (small) objects may be written either.
    settings = load_settings(
        tmp_path / "small", environ={}, database_url=sqlite_url, max_object_bytes=2000
    )
    small, _ = init_node(settings, "tests")
    try:
        count = small.store.count()
        result = small.ingestor("tests").ingest_bytes(SEED.read_bytes(), "seed")
        assert result.status == "refused"
        assert result.error is not None and result.error.startswith("seed: object #0 (report--")
        assert small.store.count() == count
        assert small.audit.entries(action="ingest") == []
    finally:
        small.close()


def test_article_without_a_date(node: Node) -> None:
    text = (
        "Arrestation à Tanger\n\nLa police a arrêté trois passeurs à Tanger, a annoncé la DGSN.\n"
    )
    result = node.ingestor("osint").ingest_text(text, origin="undated.txt")
    assert result.status == "written" and result.published is None
    events = by_type(result.objects, "x-diapason-event")
    assert events and all("event_date" not in event for event in events)
    for obj in result.objects:
        assert validate_instance(obj, VALIDATION).is_valid
