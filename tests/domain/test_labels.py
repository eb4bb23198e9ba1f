"""Markings, grading and data protection in words, as `show` prints them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.grading import grade, mark_osint
from diapason.domain.labels import labels
from diapason.domain.markings import h3_marking, releasability_marking
from diapason.domain.protection import protect

TODAY = date(2026, 11, 29)


def person(**extra: Any) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--0d4f7a52-29c4-4b8f-8d57-0a39a6e7c5e1",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Personne A",
        "identity_class": "individual",
        **extra,
    }


def test_markings_grading_and_review_in_english_and_french() -> None:
    rel_to = releasability_marking(["paris"])
    h3 = h3_marking("Pas d'usage judiciaire.")
    obj = grade(
        protect(
            person(object_marking_refs=[TLP_2_0_IDS["amber"], rel_to["id"], h3["id"]]),
            "suspect",
            TODAY - timedelta(days=1),
        ),
        "admiralty",
        "B",
        "2",
    )
    definitions = {rel_to["id"]: rel_to, h3["id"]: h3}
    english = labels(obj, definitions, today=TODAY)
    assert english == {
        "tlp": "TLP:AMBER",
        "handling": "H3: Pas d'usage judiciaire.",
        "releasability": "REL TO paris",
        "grading": "B2 (Admiralty: usually reliable, probably true)",
        "data_protection": "suspect, review overdue since 2026-11-28",
    }
    french = labels(obj, definitions, today=TODAY, lang="fr")
    assert french["releasability"] == "DIFFUSABLE À paris"
    assert french["data_protection"] == "suspect, réexamen en retard depuis le 2026-11-28"
    assert french["grading"].startswith("B2 (Amirauté")


def test_unmarked_ungraded_and_open_source() -> None:
    bare = person()
    assert labels(bare, today=TODAY) == {
        "tlp": "no TLP (handled as TLP:AMBER)",
        "grading": "not graded",
    }
    assert labels(mark_osint(bare), today=TODAY)["grading"] == "open source"
    unknown = person(
        object_marking_refs=["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ee"]
    )
    assert "problems" in labels(unknown, today=TODAY)
