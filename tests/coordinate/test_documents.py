"""Minutes and draft joint communiqué, in French and English, as Markdown and PDF: the
markings of their sources at the top and bottom (every PDF page), the parties' official
names, a letterhead, page numbers, the delegations with their members' functions, French
typography; rendered from real meetings through the real service and store."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from diapason.coordinate.documents import (
    Document,
    combined,
    escape_markdown,
    marking_text,
    to_markdown,
    to_pdf,
)
from diapason.coordinate.texts import NBSP, Party, state_named, typography
from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.markings import HandlingCode, Markings, Pap, Tlp
from diapason.domain.stix import new_organisation
from tests.coordinate.conftest import Joint, assert_valid_stix
from tests.coordinate.test_opinions import partner_report
from tests.shared import REPOSITORY

pypdf = pytest.importorskip("pypdf")

MARKING = "TLP:AMBER — REL TO paris, rabat"


def prepared(joint: Joint, *, agenda_points: int = 2) -> str:
    """A held plenary of the GMMP in Rabat (TLP:AMBER, for paris and rabat), with its
    delegations, minutes, a decision and an action item."""
    group = joint.service.create_group(
        "Groupe Migratoire Mixte Permanent",
        "gmmp",
        ["paris", "rabat"],
        [
            {
                "partner": "rabat",
                "name": "نادية بنعلي",
                "function": "directrice de la migration",
                "chair": True,
            },
            {
                "partner": "paris",
                "name": "Hélène Lefèvre",
                "function": "directrice générale des étrangers en France",
                "chair": True,
            },
        ],
        tlp="green",
    )
    start = (joint.clock.now + timedelta(days=1)).date().isoformat()
    agenda = ["Routes migratoires dans la région sahélo-saharienne", "Retours volontaires"]
    agenda += [f"Point divers n° {n} : échanges d'information" for n in range(agenda_points - 2)]
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
                "members": ["نادية بنعلي", "Youssef El Idrissi (chef de division)"],
            },
            {"partner": "paris", "head": "Hélène Lefèvre", "members": ["Hélène Lefèvre"]},
        ],
        agenda=agenda,
    )
    joint.service.update(
        meeting.id,
        {
            "status": "held",
            "minutes": "Les deux délégations ont présenté leurs analyses : routes et "
            "retours ; « coopération » !\n\n# pas un titre <b>",
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


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def glyph_names(pdf: bytes) -> set[str]:
    """The glyphs of the fonts embedded in the PDF's first page."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    names: set[str] = set()
    fonts = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    for font in fonts.values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        data = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        names.update(TTFont(io.BytesIO(data)).getGlyphOrder())
    return names


def test_minutes_in_french_carry_markings_letterhead_and_delegations(joint: Joint) -> None:
    meeting = prepared(joint)
    french = to_markdown(joint.service.minutes(meeting, "fr"))
    lines = french.splitlines()
    # The markings of the sources, at the top and at the bottom.
    assert lines[0] == f"**{MARKING}**" and lines[-1] == f"**{MARKING}**"
    for text in (
        # Letterhead: this node's party first, official names, the group, type, reference.
        "ROYAUME DU MAROC — RÉPUBLIQUE FRANÇAISE  ",
        "Groupe Migratoire Mixte Permanent  ",
        f"Procès-verbal — Référence{NBSP}: PV/2026-06-16/",
        f"Date{NBSP}: 15 juin 2026",
        "# Procès-verbal — Plénière du GMMP",
        "## Délégations",
        "### Délégation du Royaume du Maroc",
        # Functions: from the group's record of its members, or given with the name.
        "- نادية بنعلي, directrice de la migration (chef de délégation)",
        "- Youssef El Idrissi, chef de division",
        "### Délégation de la République française",
        "- Hélène Lefèvre, directrice générale des étrangers en France (chef de délégation)",
        f"Lieu{NBSP}: Rabat",
        f"Date{NBSP}: 16 juin 2026",
        "## Ordre du jour",
        "1. Routes migratoires",
        "## Décisions",
        f"responsable{NBSP}: la République française",
        f"échéance{NBSP}: 15 juillet 2026, état{NBSP}: ouverte",
        # French typography in the user's text too.
        f"analyses{NBSP}: routes et retours{NBSP}; «{NBSP}coopération{NBSP}»{NBSP}!",
    ):
        assert text in lines or text in french, text
    # No ordinary space before a colon anywhere; month names in lower case.
    assert " :" not in french and " ;" not in french
    assert "Juin" not in french
    # User text cannot make headings or HTML.
    assert "\\# pas un titre \\<b\\>" in french


def test_minutes_in_english(joint: Joint) -> None:
    meeting = prepared(joint)
    english = to_markdown(joint.service.minutes(meeting, "en"))
    lines = english.splitlines()
    assert lines[0] == f"**{MARKING}**" and lines[-1] == f"**{MARKING}**"
    for text in (
        "KINGDOM OF MOROCCO — FRENCH REPUBLIC  ",
        "Minutes — Reference: MIN/2026-06-16/",
        "# Minutes — Plénière du GMMP",
        "### Delegation of the Kingdom of Morocco",
        "- Youssef El Idrissi, chef de division",
        "(head of delegation)",
        "Place: Rabat",
        "## Action items",
        "owner: the French Republic",
        "16 June 2026",
    ):
        assert text in english, text
    assert NBSP not in english


def test_the_draft_communique_names_the_parties_officially(joint: Joint) -> None:
    meeting = prepared(joint)
    french = to_markdown(joint.service.communique(meeting, "fr"))
    assert french.splitlines()[0] == f"**{MARKING}**"
    assert french.splitlines()[-1] == f"**{MARKING}**"
    assert "# Projet de communiqué conjoint — Groupe Migratoire Mixte Permanent" in french
    assert (
        "Les délégations du Royaume du Maroc et de la République française se sont réunies "
        "à Rabat le 16 juin 2026 pour une séance plénière du Groupe" in french
    )
    assert "Créer un groupe d'experts" in french
    assert f"sur{NBSP}:" not in french or "convergence" in french
    assert "Fait à Rabat, le 16 juin 2026." in french
    assert "rabat et paris" not in french
    english = to_markdown(joint.service.communique(meeting, "en"))
    assert (
        "The delegations of the Kingdom of Morocco and the French Republic met in Rabat on "
        "16 June 2026" in english
    )
    assert "Done at Rabat on 16 June 2026." in english


def test_the_most_restrictive_marking_of_the_sources_wins(joint: Joint) -> None:
    meeting = prepared(joint)
    # The group is GREEN, the meeting AMBER: AMBER. An action item AMBER+STRICT makes the
    # minutes (which list it) AMBER+STRICT, not the communiqué (which does not).
    joint.service.create_action(
        "Échanger les listes de documents frauduleux",
        "rabat",
        (joint.clock.now + timedelta(days=10)).date().isoformat(),
        meeting_ref=meeting,
        tlp="amber+strict",
    )
    minutes = joint.service.minutes(meeting, "en")
    assert minutes.marking == "TLP:AMBER+STRICT — REL TO paris, rabat"
    assert joint.service.communique(meeting, "en").marking == MARKING


def test_a_communique_drawing_on_restricted_opinions_is_shared_as_restricted(
    joint: Joint,
) -> None:
    """The opinions of the meeting's quarter are sources of the communiqué: an AMBER+STRICT
    one makes the document, and the report that shares it, AMBER+STRICT."""
    meeting = prepared(joint)
    report = partner_report(joint, "Routes transsahariennes")
    joint.service.record_opinion([report], "agree", "sahel", tlp="amber+strict")
    document = joint.service.communique(meeting, "fr")
    assert document.marking == "TLP:AMBER+STRICT — REL TO paris, rabat"
    assert "- sahel" in to_markdown(document)
    shared = joint.service.share_communique(meeting, "fr")
    assert TLP_2_0_IDS["amber+strict"] in shared["object_marking_refs"]


def test_combining_markings_keeps_the_most_restrictive_of_each_kind() -> None:
    found = combined(
        [
            Markings(tlp=Tlp.GREEN, rel_to=frozenset({"paris", "rabat"}), pap=Pap.GREEN),
            Markings(
                tlp=Tlp.AMBER,
                handling=HandlingCode.H3,
                h3_text="pas devant un tribunal",
                rel_to=frozenset({"Rabat"}),
            ),
            Markings(handling=HandlingCode.H2, pap=Pap.AMBER),
        ]
    )
    assert marking_text(found, "fr") == (
        f"TLP:AMBER — H3{NBSP}: pas devant un tribunal — PAP:AMBER — REL TO rabat"
    )
    # A marking not understood: the document is RED, as the release policy reads it.
    assert combined([Markings(tlp=Tlp.CLEAR), Markings(problems=("x",))]).release_tlp is Tlp.RED
    assert marking_text(combined([]), "en") == "TLP:AMBER"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_pdf_page_carries_the_markings_and_its_number(
    joint: Joint, lang: str, tmp_path: Path
) -> None:
    meeting = prepared(joint, agenda_points=60)
    minutes = to_pdf(joint.service.minutes(meeting, lang))
    pages = pages_text(minutes)
    assert len(pages) >= 2
    assert pypdf.PdfReader(io.BytesIO(minutes)).metadata.subject == MARKING
    of = "sur" if lang == "fr" else "of"
    for number, text in enumerate(pages, 1):
        # Header and footer: the marking twice on every page.
        assert text.count(MARKING) == 2, (number, text[:200])
        assert f"Page {number} {of} {len(pages)}" in text
    first = pages[0]
    assert ("ROYAUME DU MAROC" if lang == "fr" else "KINGDOM OF MOROCCO") in first
    assert ("RÉPUBLIQUE FRANÇAISE" if lang == "fr" else "FRENCH REPUBLIC") in first
    if lang == "fr":
        # fpdf2 keeps "Lieu" and ":" on one line and then draws the non-breaking space
        # with the glyph of a space (PDF viewers ignore NBSP for word spacing).
        assert "Lieu : Rabat" in first
    communique = pages_text(to_pdf(joint.service.communique(meeting, lang)))
    assert all(page.count(MARKING) == 2 for page in communique)
    opening = (
        "du Royaume du Maroc et de la République française"
        if lang == "fr"
        else "of the Kingdom of Morocco and the French Republic"
    )
    assert opening in " ".join(" ".join(communique).split())
    # The fonts embedded are the DejaVu ones shipped with the package, and the Arabic name
    # is shaped: drawn with the joined forms of its letters (initial noon of نادية).
    assert b"DejaVu" in minutes
    assert {"uniFEE7", "uniFEF3"} <= glyph_names(minutes)
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is not None:  # a picture of the first page, to look at
        source = tmp_path / "minutes.pdf"
        source.write_bytes(minutes)
        target = REPOSITORY / "test-artifacts" / f"minutes-{lang}"
        target.parent.mkdir(exist_ok=True)
        subprocess.run(
            [pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", source, target],
            check=True,
            timeout=60,
        )
        assert target.with_suffix(".png").stat().st_size > 1000


def test_a_partner_is_named_from_its_identity(joint: Joint) -> None:
    """A partner whose node name says nothing (``mai``) is named from the STIX identity it
    was registered with, once that identity is held here."""
    identity = new_organisation("Ministério da Administração Interna (Portugal)", [])
    stored = joint.node.store.put_many([identity], source="partner:mai")
    assert not stored.refused, stored.refused
    joint.node.partners.add("mai", "http://127.0.0.1:9", "unused", identity_id=identity["id"])
    service = joint.node.coordination(actor="tests", editor="nadia", clock=joint.clock)
    group = service.create_group("Groupe de travail", "other", ["rabat", "mai"])
    start = (joint.clock.now + timedelta(days=2)).date().isoformat()
    meeting = service.create_meeting(group.id, "Réunion", "working", start, "Lisbonne")
    french = to_markdown(service.communique(meeting.id, "fr"))
    assert "Les délégations du Royaume du Maroc et de la République portugaise" in french
    assert "ROYAUME DU MAROC — RÉPUBLIQUE PORTUGAISE" in french
    assert "REL TO mai, rabat" in french


def test_names_and_typography() -> None:
    assert state_named(["Ministère de l'Intérieur (Maroc)"]).code == "MA"  # type: ignore[union-attr]
    assert state_named(["FR"]).code == "FR"  # type: ignore[union-attr]
    assert state_named(["atlantis"]) is None
    unknown = Party("atlantis")
    assert (unknown.name("fr"), unknown.of("fr"), unknown.heading("en")) == (
        "atlantis",
        "d'atlantis",
        "ATLANTIS",
    )
    spain = Party("madrid", state_named(["madrid"]))
    assert spain.name("fr") == "le Royaume d'Espagne" and spain.of("fr") == "du Royaume d'Espagne"
    # A space before the colon becomes a non-breaking one; none is added where none stood.
    assert (
        typography("Lieu : Rabat, 10:30, https://x", "fr") == f"Lieu{NBSP}: Rabat, 10:30, https://x"
    )
    assert typography("«mot»", "fr") == f"«{NBSP}mot{NBSP}»"
    assert typography("Place : x", "en") == "Place : x"


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
    assert report["description"].startswith(f"**{MARKING}**")
    assert "# Projet de communiqué conjoint" in report["description"]
    assert_valid_stix(report)
    stored = joint.node.store.get(report["id"])
    assert stored is not None and stored.source == "local"
    joint.node.ledger.run("tests")
    assert [(d.partner, d.released) for d in joint.node.ledger.decisions(report["id"])] == [
        ("paris", True)
    ]
