"""Language identification and relative dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from diapason.osint.article import read_article
from diapason.osint.dates import find_dates
from diapason.osint.language import FUNCTION_WORDS, _identifier, by_function_words, identify
from tests.shared import DEV_CORPUS, SEED

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Le ministre de l'Intérieur a reçu lundi à Rabat son homologue français.", "fr"),
        ("Moroccan and French officials met in Paris on Wednesday for a new session.", "en"),
        ("استقبل وزير الداخلية عبد الوافي لفتيت يوم الاثنين بالرباط نظيره الفرنسي", "ar"),
        ("1234 5678 -- 99 ++", "und"),
        ("", "und"),
    ],
)
def test_identify(text: str, language: str) -> None:
    assert identify(text) == language


def test_function_words_tell_the_articles_as_py3langid_does() -> None:
    """Every article of the corpora is told by its function words, as py3langid tells it."""
    paths = [SEED, *sorted((DEV_CORPUS / "articles").glob("*.md"))]
    paths += sorted((REPOSITORY / "corpus" / "osint" / "articles").glob("*"))
    told = {}
    for path in paths:
        sample = read_article(path).text[:5000]
        told[str(path)] = (by_function_words(sample), _identifier().classify(sample)[0])
    assert all(fast == slow for fast, slow in told.values()), told
    assert {fast for fast, _ in told.values()} == {"fr", "en"}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "es",
            "El ministro del Interior se reunió el lunes en Rabat con su homólogo francés para "
            "hablar de la cooperación en materia de seguridad y de la lucha contra el terrorismo "
            "en la región del Sahel, según informó el ministerio en un comunicado publicado por "
            "la agencia oficial. Los dos países acordaron reforzar los canales de intercambio.",
        ),
        (
            "de",
            "Der Innenminister hat sich am Montag in Rabat mit seinem französischen Amtskollegen "
            "getroffen, um über die Zusammenarbeit im Bereich der Sicherheit und den Kampf gegen "
            "den Terrorismus in der Sahelzone zu sprechen, wie das Ministerium in einer "
            "Mitteilung erklärte. Die beiden Länder wollen den Austausch verstärken.",
        ),
    ],
)
def test_function_words_of_other_languages(language: str, text: str) -> None:
    assert by_function_words(text) == language == identify(text)


def test_each_function_word_belongs_to_one_language() -> None:
    for language, words in FUNCTION_WORDS.items():
        for other, theirs in FUNCTION_WORDS.items():
            assert other == language or not words & theirs, (language, other, words & theirs)


def test_short_or_mixed_text_goes_to_py3langid() -> None:
    assert by_function_words("Le ministre a reçu son homologue à Rabat.") is None
    mixed = " ".join(["the minister and the police of the city"] * 5 + ["le ministre et les"] * 8)
    assert by_function_words(mixed) is None


PUBLISHED = date(2024, 4, 22)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reçu, lundi à Rabat", date(2024, 4, 22)),  # the publication day itself
        ("a indiqué hier", date(2024, 4, 21)),
        ("avant-hier soir", date(2024, 4, 20)),
        ("mardi de la semaine dernière", date(2024, 4, 16)),
        ("la semaine dernière", date(2024, 4, 15)),
        ("on Tuesday", date(2024, 4, 16)),
        ("on Sunday evening", date(2024, 4, 21)),
        ("yesterday", date(2024, 4, 21)),
        ("le 12 avril", date(2024, 4, 12)),
        ("on April 3, 2023", date(2023, 4, 3)),
        ("le 28 décembre", date(2023, 12, 28)),
    ],
)
def test_relative_dates(text: str, expected: date) -> None:
    found = find_dates(text, PUBLISHED)
    assert [mention.day for mention in found] == [expected]


def test_next_day_follows_its_anchor() -> None:
    found = find_dates("interpellé lundi 3 février, puis le lendemain à Agadir", date(2025, 2, 5))
    assert [mention.day for mention in found] == [date(2025, 2, 3), date(2025, 2, 4)]


def test_day_before_precedes_its_anchor() -> None:
    text = (
        "Il a décidé hier, jeudi 16 août. Le Royaume-Uni avait menacé la veille d'envahir "
        "l'ambassade. The day before, talks failed. La veille de l'élection, rien."
    )
    found = find_dates(text, date(2012, 8, 17))
    assert [(m.surface, m.day) for m in found] == [
        ("hier", date(2012, 8, 16)),
        ("jeudi 16 août", date(2012, 8, 16)),
        ("la veille", date(2012, 8, 15)),
        ("The day before", date(2012, 8, 14)),
    ]
