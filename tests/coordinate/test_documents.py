"""Minutes and draft joint communiqué, in French and English, as Markdown and PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest

from diapason.coordinate.documents import Document, escape_markdown, to_markdown, to_pdf
from tests.coordinate.conftest import Joint, assert_valid_stix


def prepared(joint: Joint) -> str:
    group = joint.service.create_group(
        "Groupe Migratoire Mixte Permanent",
        "gmmp",
        ["rabat", "paris"],
        [
            {"partner": "rabat", "name": "نادية بنعلي", "chair": True},
            {"partner": "paris", "name": "Hélène Lefèvre", "chair": True},
        ],
    )
    start = (joint.clock.now + timedelta(days=1)).date().isoformat()
    meeting = joint.service.create_meeting(
        group.id,
        "Plénière du GMMP",
        "plenary",
        start,
        "Rabat",
        delegations=[
            {
                "partner": "rabat",
                "head": "نادية بنعلي",
                "members": ["نادية بنعلي", "Youssef El Idrissi"],
            },
            {"partner": "paris", "head": "Hélène Lefèvre", "members": ["Hélène Lefèvre"]},
        ],
        agenda=["Routes migratoires dans la région sahélo-saharienne", "Retours volontaires"],
    )
    joint.service.update(
        meeting.id,
        {
            "status": "held",
            "minutes": "Les deux délégations ont présenté leurs analyses.\n\n# pas un titre <b>",
            "decisions": ["Créer un groupe d'experts sur la fraude documentaire"],
        },
    )
    joint.service.create_action(
        "Partager les tendances trimestrielles",
        "paris",
        (joint.clock.now + timedelta(days=30)).date().isoformat(),
        meeting_ref=meeting.id,
        assignee="Hélène Lefèvre",
    )
    return meeting.id


def test_minutes_in_french_and_english_as_markdown(joint: Joint) -> None:
    meeting = prepared(joint)
    french = to_markdown(joint.service.minutes(meeting, "fr"))
    assert french.startswith("# Procès-verbal — Plénière du GMMP\n")
    for text in (
        "## Délégations",
        "## Ordre du jour",
        "1. Routes migratoires",
        "## Décisions",
        "Créer un groupe d'experts",
        "## Actions à mener",
        "responsable: paris",
        "Séance plénière",
        "نادية بنعلي",
    ):
        assert text in french, text
    # User text cannot make headings or HTML.
    assert "\\# pas un titre \\<b\\>" in french
    english = to_markdown(joint.service.minutes(meeting, "en"))
    assert english.startswith("# Minutes — Plénière du GMMP\n")
    assert "## Action items" in english and "owner: paris" in english


def test_the_draft_communique_names_both_sides_and_the_decisions(joint: Joint) -> None:
    meeting = prepared(joint)
    french = to_markdown(joint.service.communique(meeting, "fr"))
    assert "Projet de communiqué conjoint" in french
    assert "Les délégations de rabat et paris se sont réunies à Rabat" in french
    assert "Créer un groupe d'experts" in french
    english = to_markdown(joint.service.communique(meeting, "en"))
    assert "The delegations of rabat and paris met in Rabat" in english


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_pdf_documents_carry_accents_and_arabic_names(joint: Joint, lang: str) -> None:
    meeting = prepared(joint)
    for document in (joint.service.minutes(meeting, lang), joint.service.communique(meeting, lang)):
        pdf = to_pdf(document)
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert len(pdf) > 2000
        # The fonts embedded are the DejaVu ones shipped with the package.
        assert b"DejaVu" in pdf


def test_escape_markdown_neutralises_markup() -> None:
    assert (
        escape_markdown("[lien](http://x) *gras* <i>") == "\\[lien\\](http://x) \\*gras\\* \\<i\\>"
    )
    assert escape_markdown("1. pas une liste") == "1\\. pas une liste"
    document = Document("T", "fr")
    document.add("p", "")  # empty blocks are left out
    assert to_markdown(document) == "# T\n"


def test_the_draft_communique_is_shared_as_a_stix_report(joint: Joint) -> None:
    meeting = prepared(joint)
    report = joint.service.share_communique(meeting, "fr")
    assert report["report_types"] == ["joint-communique-draft"]
    assert report["object_refs"][0] == meeting
    assert report["description"].startswith("# Projet de communiqué conjoint")
    assert_valid_stix(report)
    stored = joint.node.store.get(report["id"])
    assert stored is not None and stored.source == "local"
    joint.node.ledger.run("tests")
    assert [(d.partner, d.released) for d in joint.node.ledger.decisions(report["id"])] == [
        ("paris", True)
    ]
