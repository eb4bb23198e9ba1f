"""Language identification and relative dates."""

from __future__ import annotations

from datetime import date

import pytest

from diapason.osint.dates import find_dates
from diapason.osint.language import identify


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
