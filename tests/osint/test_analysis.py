"""The analysis of the seed article and of English text: entities, events, topics."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from diapason.osint.article import parse_bytes, read_article
from diapason.osint.entities import Entity
from diapason.osint.gazetteer import Gazetteer, load_gazetteer, record_correction
from diapason.osint.pipeline import Analysis, analyse
from tests.shared import SEED


@pytest.fixture(scope="module")
def seed(gazetteer: Gazetteer) -> Analysis:
    return analyse(read_article(SEED), gazetteer)


def entity(analysis: Analysis, canonical: str) -> Entity:
    found = [e for e in analysis.entities if e.canonical == canonical]
    assert found, f"{canonical} not among {[e.canonical for e in analysis.entities]}"
    return found[0]


def test_seed_entities(seed: Analysis) -> None:
    assert seed.language == "fr"
    laftit = entity(seed, "Abdelouafi Laftit")
    assert laftit.type == "PER"
    # "Laftit" in the title is tagged a place by spaCy: its full name makes it the person.
    assert set(laftit.surfaces) == {"Laftit", "Abdelouafi Laftit", "M. Laftit"}
    darmanin = entity(seed, "Gérald Darmanin")
    # "le ministre français de l'Intérieur et des Outre-mer, Gérald Darmanin"
    assert (darmanin.type, darmanin.country) == ("PER", "FR")
    ministry = entity(seed, "Ministère de l'Intérieur (Maroc)")
    assert (ministry.type, ministry.country) == ("ORG", "MA")
    morocco = entity(seed, "Morocco")
    assert (morocco.type, morocco.country) == ("LOC", "MA")
    assert {"Maroc", "Royaume"} <= set(morocco.surfaces)
    assert entity(seed, "France").country == "FR"
    assert entity(seed, "Rabat").country == "MA"
    gmmp = entity(seed, "Groupe migratoire mixte permanent")
    assert gmmp.type == "ORG" and "GMMP" in gmmp.surfaces
    region = entity(seed, "Sahel-Saharan region")
    assert region.surfaces == ["région sahélo-saharienne"]


def test_seed_spans_point_into_the_text(seed: Analysis) -> None:
    text = seed.article.text
    for found in seed.entities:
        for mention in found.mentions:
            assert text[mention.start : mention.end] == mention.surface


def test_seed_events(seed: Analysis) -> None:
    consult = [e for e in seed.events if e.plover == "CONSULT"]
    assert len(consult) == 1
    meeting = consult[0]
    assert meeting.mode == "visit"
    assert meeting.day == date(2024, 4, 22)
    assert meeting.place is not None and meeting.place.canonical == "Rabat"
    # The host receives the visit: the visitor is the actor.
    assert [a.canonical for a in meeting.actors] == ["Gérald Darmanin"]
    assert [t.canonical for t in meeting.targets] == ["Abdelouafi Laftit"]
    # "convenir de renforcer les canaux d'échange": an agreement to cooperate (PLOVER AGREE).
    assert any(e.plover == "AGREE" and e.day == date(2024, 4, 22) for e in seed.events)


def test_seed_agreement_is_where_the_ministers_met_and_has_them_as_actors(
    seed: Analysis,
) -> None:
    """Issue 24: "les deux ministres ... convenir de renforcer ... dans la région
    sahélo-saharienne" was agreed in Rabat by the two ministers; the Sahel-Sahara is what
    they talked about."""
    agree = [e for e in seed.events if e.plover == "AGREE"]
    assert len(agree) == 1
    assert agree[0].place is not None and agree[0].place.canonical == "Rabat"
    assert {a.canonical for a in agree[0].actors} == {"Abdelouafi Laftit", "Gérald Darmanin"}
    assert agree[0].targets == []


def test_seed_persons_are_located_by_their_office(seed: Analysis) -> None:
    """Issue 24: the Moroccan minister and king are located in Morocco as the French
    minister and president are in France: by the country of their office."""
    countries = {
        name: entity(seed, name).country
        for name in ("Abdelouafi Laftit", "Mohammed VI", "Gérald Darmanin", "Emmanuel Macron")
    }
    assert countries == {
        "Abdelouafi Laftit": "MA",
        "Mohammed VI": "MA",
        "Gérald Darmanin": "FR",
        "Emmanuel Macron": "FR",
    }


def test_seed_topics(seed: Analysis) -> None:
    assert {"migration", "security_cooperation"} <= set(seed.topics)


def test_english_rules(gazetteer: Gazetteer) -> None:
    text = (
        "# **Police arrest smuggler in Tangier**\n\n**10.05.2024 Police arrest smuggler**\n\n"
        "Spain's National Police arrested Karim Haddou on Tuesday in Tangier, officials said. "
        "Officers seized 300 kilograms of cannabis and two boats. Haddou is suspected of "
        "running a drug trafficking network across the Strait of Gibraltar.\n"
    )
    analysis = analyse(parse_bytes(text.encode(), "en.md"), gazetteer)
    assert analysis.language == "en"
    person = entity(analysis, "Karim Haddou")
    assert person.type == "PER" and "Haddou" in person.surfaces
    assert entity(analysis, "Policía Nacional").country == "ES"
    assert entity(analysis, "Tangier").country == "MA"
    kinds = {(e.plover, e.mode) for e in analysis.events}
    assert {("COERCE", "arrest"), ("COERCE", "seize")} <= kinds
    arrest = next(e for e in analysis.events if e.mode == "arrest")
    assert arrest.day == date(2024, 5, 7)
    assert [a.canonical for a in arrest.actors] == ["Policía Nacional"]
    assert [t.canonical for t in arrest.targets] == ["Karim Haddou"]
    assert "drug_trafficking" in analysis.topics


def test_attack_is_assault_with_mode(gazetteer: Gazetteer) -> None:
    text = (
        "Attaque à Djibo\n\n08.09.2024\n\nDes hommes armés ont attaqué samedi un poste de "
        "l'armée à Djibo, au Burkina Faso. Le Groupe de soutien à l'islam et aux musulmans "
        "(JNIM) a été désigné par les autorités.\n"
    )
    analysis = analyse(parse_bytes(text.encode(), "fr.txt"), gazetteer)
    assault = [e for e in analysis.events if e.plover == "ASSAULT"]
    assert assault and assault[0].mode == "firearms"
    assert assault[0].day == date(2024, 9, 7)
    assert assault[0].place is not None and assault[0].place.canonical == "Djibo"
    jnim = entity(analysis, "Jama'at Nusrat al-Islam wal-Muslimin")
    assert jnim.type == "GROUP" and "JNIM" in jnim.surfaces
    assert "terrorism" in analysis.topics


def test_text_without_entities(gazetteer: Gazetteer) -> None:
    text = "Recette\n\nil faut mélanger la farine et le beurre, puis laisser reposer une heure.\n"
    analysis = analyse(parse_bytes(text.encode(), "r.txt"), gazetteer)
    assert analysis.entities == [] and analysis.events == []
    assert analysis.topics == ["none"]


def test_unknown_language_is_kept_unanalysed(gazetteer: Gazetteer) -> None:
    text = (
        "Treffen in Berlin\n\nDer Innenminister hat am Montag in Berlin seinen Amtskollegen "
        "empfangen.\n"
    )
    analysis = analyse(parse_bytes(text.encode(), "de.txt"), gazetteer)
    assert analysis.language == "de"
    assert not analysis.analysed and analysis.entities == [] and analysis.topics == ["none"]


def test_correction_layers_over_the_shipped_gazetteer(tmp_path: Path) -> None:
    text = "Réunion\n\n01.03.2024\n\nLe Comité Zerktouni a reçu lundi une délégation à Rabat.\n"
    before = analyse(parse_bytes(text.encode(), "c.txt"), load_gazetteer(tmp_path))
    assert not any(e.canonical == "Comité Zerktouni" and e.type == "GROUP" for e in before.entities)
    record_correction(tmp_path, "Comité Zerktouni", "GROUP", detail="criminal")
    record_correction(tmp_path, "Zerktouni", "GROUP", canonical="Comité Zerktouni")
    record_correction(tmp_path, "Rabat", "IGNORE")
    after = analyse(parse_bytes(text.encode(), "c.txt"), load_gazetteer(tmp_path))
    group = entity(after, "Comité Zerktouni")
    assert group.type == "GROUP" and group.group_kind == "criminal"
    assert not any(e.canonical == "Rabat" for e in after.entities)
    lines = (tmp_path / "osint" / "gazetteer.tsv").read_text().splitlines()
    assert sum(1 for line in lines if line.startswith("GROUP\tComité Zerktouni")) == 1
