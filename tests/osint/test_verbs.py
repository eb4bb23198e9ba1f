"""Event triggers by lemma (verbs.py) and the event rules that go with them."""

from __future__ import annotations

import re

import pytest

from diapason.osint.article import parse_bytes
from diapason.osint.gazetteer import Gazetteer
from diapason.osint.pipeline import Analysis, analyse
from diapason.osint.verbs import english_forms, french_forms, verb_pattern


def _analysed(text: str, gazetteer: Gazetteer, language: str) -> Analysis:
    """The analysis of an article given as text (title, date line, body)."""
    return analyse(parse_bytes(text.encode(), f"{language}.txt"), gazetteer, language=language)


def _typed_surfaces(analysis: Analysis) -> set[tuple[str, str]]:
    """(type, surface) of every entity mention the analysis found."""
    return {(e.type, surface) for e in analysis.entities for surface in e.surfaces}


def matches(language: str, lemmas: str, text: str) -> bool:
    return re.search(verb_pattern(language, lemmas), text, re.IGNORECASE) is not None


def test_french_regular_verbs_are_conjugated() -> None:
    finite, participle = french_forms("condamner")
    assert {"condamne", "condamnent", "condamna", "condamnèrent"} <= set(finite)
    assert participle == "condamné"
    # Spelling changes: -cer, -ger, -yer, lever/céder, second group.
    assert "menaça" in french_forms("menacer")[0]
    assert "exigea" in french_forms("exiger")[0]
    assert "déploie" in french_forms("déployer")[0]
    assert "enlève" in french_forms("enlever")[0]
    assert {"saisit", "saisissent"} <= set(french_forms("saisir")[0])
    assert french_forms("saisir")[1] == "saisi"
    with pytest.raises(ValueError):
        french_forms("prendre")


@pytest.mark.parametrize(
    ("lemmas", "text", "expected"),
    [
        ("condamner", "Le ministre a fermement condamné l'attaque", True),
        ("condamner", "Les syndicats condamnent la décision", True),
        ("dénoncer", "l'opposition avaient dénoncé le texte", True),
        ("manifester", "Des milliers de personnes ont manifesté samedi", True),
        ("demander", "en demandant la démission du préfet", True),
        ("se_réunir", "Les ministres se sont réunis à Rabat", True),
        ("se_réunir", "Le conseil s'est réuni mardi", True),
        ("appeler_à", "Il a appelé à la retenue", True),
        ("recevoir", "Le roi a reçu le ministre", True),
        # A participle without its auxiliary is an adjective as often as a verb.
        ("condamner", "un homme condamné", False),
        # After a determiner, the form is a noun.
        ("demander", "Il a rejeté la demande", False),
        ("menacer", "face à la menace terroriste", False),
        # What will or would happen has not happened.
        ("condamner", "Le parlement condamnera le texte", False),
        # Words required after the verb.
        ("appeler_à", "Il a appelé son homologue", False),
    ],
)
def test_french_patterns(lemmas: str, text: str, expected: bool) -> None:
    assert matches("fr", lemmas, text) is expected


def test_english_forms_are_the_past_only() -> None:
    assert english_forms("condemn") == ["condemned"]
    assert english_forms("seize") == ["seized"]
    assert english_forms("deny") == ["denied"]
    assert "banned" in english_forms("ban")
    assert english_forms("meet") == ["met"]
    assert matches("en", "arrest", "Police arrested two men")
    assert matches("en", "call_on", "The minister called on the rebels")
    # "attacks", "an arrest": plural nouns and nouns, not events.
    assert not matches("en", "attack", "training on terrorist attacks")
    assert not matches("en", "arrest", "after an arrest")


def test_a_lemma_trigger_codes_an_inflection_no_line_lists(gazetteer: Gazetteer) -> None:
    text = (
        "Protest in Rabat\n\n10.05.2024\n\nThe union denounced the reform on Tuesday. "
        "Teachers rallied in Rabat on Wednesday.\n"
    )
    analysis = _analysed(text, gazetteer, "en")
    kinds = {(event.plover, event.mode) for event in analysis.events}
    assert ("ACCUSE", "disapprove") in kinds
    assert ("PROTEST", "demo") in kinds


def test_a_quoted_act_is_not_an_event(gazetteer: Gazetteer) -> None:
    text = (
        "Campaign\n\n02.11.2012\n\nThe candidate spoke in Madison. "
        '"The president promised change and arrested nobody," he said.\n'
    )
    analysis = _analysed(text, gazetteer, "en")
    assert analysis.events == []


def test_the_first_trigger_of_a_sentence_reads_the_participants(gazetteer: Gazetteer) -> None:
    # Two triggers of the same type and mode: the event is read at the first one, so that
    # the visitor named after it is its target, not its actor.
    text = (
        "Rencontre\n\n29.10.2024\n\nLe ministre de l'Intérieur, Abdelouafi Laftit, s'est "
        "entretenu lundi à Rabat avec son homologue français, Bruno Retailleau, en visite "
        "de travail au Maroc.\n"
    )
    analysis = _analysed(text, gazetteer, "fr")
    visit = next(event for event in analysis.events if event.plover == "CONSULT")
    assert [actor.canonical for actor in visit.actors] == ["Abdelouafi Laftit"]
    assert "Bruno Retailleau" in [target.canonical for target in visit.targets]


def test_a_country_before_the_act_is_its_party_not_its_place(gazetteer: Gazetteer) -> None:
    text = (
        "Menaces\n\n16.08.2012\n\nLe Royaume-Uni a menacé d'entrer dans l'ambassade. "
        "Des manifestants ont été arrêtés samedi au Nigeria.\n"
    )
    analysis = _analysed(text, gazetteer, "fr")
    threat = next(event for event in analysis.events if event.plover == "THREATEN")
    assert threat.place is None
    assert [actor.canonical for actor in threat.actors] == ["United Kingdom"]
    # A country told with a locative word is where the act happened.
    arrest = next(event for event in analysis.events if event.plover == "COERCE")
    assert arrest.place is not None and arrest.place.canonical == "Nigeria"


def test_english_capitalised_sequences_are_cut_and_typed(gazetteer: Gazetteer) -> None:
    # Names no gazetteer line knows: the rules alone.
    text = (
        "Training\n\n16.05.2024\n\nZubrovia's Ministry of the Interior hosted the course. "
        "Captain Ilan Varga of the ZEKT tactical unit spoke. The Zubrovian National Guard "
        "sent officers, and the defence ministry paid for it.\n"
    )
    analysis = _analysed(text, gazetteer, "en")
    found = _typed_surfaces(analysis)
    assert ("ORG", "Ministry of the Interior") in found
    assert ("PER", "Ilan Varga") in found
    assert ("ORG", "ZEKT") in found
    assert ("ORG", "Zubrovian National Guard") in found
    assert ("ORG", "defence ministry") in found


def test_an_acronym_after_a_person_or_place_is_not_theirs(gazetteer: Gazetteer) -> None:
    text = (
        "Débat\n\n06.11.2012\n\nLe député Philippe Gosselin (UMP) a dénoncé le texte. "
        "La direction des étrangers en France (DGEF) a publié un rapport. L'UMP a voté contre.\n"
    )
    analysis = _analysed(text, gazetteer, "fr")
    person = next(e for e in analysis.entities if e.canonical == "Philippe Gosselin")
    assert person.surfaces == ["Philippe Gosselin"]
    france = next(e for e in analysis.entities if e.canonical == "France")
    assert "DGEF" not in france.surfaces
    assert any(e.type == "ORG" and "UMP" in e.surfaces for e in analysis.entities)


def test_a_ministry_named_by_its_portfolio_is_an_organisation(gazetteer: Gazetteer) -> None:
    text = (
        "Censure\n\n20.08.2012\n\nLe ministère de l'Information a levé les restrictions. "
        "Le secrétariat d'État aux Sports a publié un communiqué.\n"
    )
    analysis = _analysed(text, gazetteer, "fr")
    found = _typed_surfaces(analysis)
    assert ("ORG", "ministère de l'Information") in found
    assert ("ORG", "secrétariat d'État aux Sports") in found


def test_a_named_square_or_airport_is_a_place_with_its_noun(gazetteer: Gazetteer) -> None:
    text = (
        "Rassemblement\n\n22.06.2012\n\nDes milliers de personnes se sont rassemblées "
        "vendredi sur la place Tahrir. L'avion venait de l'aéroport international "
        "Murtala-Muhammed.\n"
    )
    analysis = _analysed(text, gazetteer, "fr")
    found = _typed_surfaces(analysis)
    assert ("LOC", "place Tahrir") in found
    assert ("LOC", "aéroport international Murtala-Muhammed") in found
