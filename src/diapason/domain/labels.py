"""What an object's markings, grading and data-protection metadata say, in words.

Shown wherever an object is shown (the CLI's ``show``, the web interface): a reader must
see how far an object may travel and how much to trust it before reading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from diapason.domain.grading import Lang, format_grading, grading_of, is_osint
from diapason.domain.markings import effective_markings
from diapason.domain.protection import ProtectionError, protection_of, review_overdue

_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "none": "none",
        "no_tlp": "no TLP (handled as TLP:AMBER)",
        "ungraded": "not graded",
        "osint": "open source",
        "rel_to": "REL TO",
        "nobody": "no partner",
        "overdue": "review overdue since",
        "review": "review by",
        "unreadable": "unreadable markings",
    },
    "fr": {
        "none": "aucune",
        "no_tlp": "pas de TLP (traité comme TLP:AMBER)",
        "ungraded": "non évalué",
        "osint": "source ouverte",
        "rel_to": "DIFFUSABLE À",
        "nobody": "aucun partenaire",
        "overdue": "réexamen en retard depuis le",
        "review": "à réexaminer avant le",
        "unreadable": "marquages illisibles",
    },
}


def labels(
    obj: Mapping[str, Any],
    definitions: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    today: date,
    lang: Lang = "en",
) -> dict[str, str]:
    """Markings, grading and data protection of ``obj`` as short texts, by kind."""
    words = _WORDS[lang]
    markings = effective_markings(obj, definitions or {})
    shown: dict[str, str] = {"tlp": markings.tlp.label if markings.tlp else words["no_tlp"]}
    if markings.handling is not None:
        shown["handling"] = str(markings.handling.value)
    if markings.h3_text:
        shown["handling"] = f"H3: {markings.h3_text}"
    if markings.rel_to is not None:
        shown["releasability"] = (
            f"{words['rel_to']} {', '.join(sorted(markings.rel_to)) or words['nobody']}"
        )
    if markings.pap is not None:
        shown["pap"] = markings.pap.label
    if markings.problems:
        shown["problems"] = f"{words['unreadable']}: " + "; ".join(markings.problems)
    grading = grading_of(obj)
    if grading is not None:
        shown["grading"] = format_grading(grading, lang)
    else:
        shown["grading"] = words["osint"] if is_osint(obj) else words["ungraded"]
    try:
        protection = protection_of(obj)
    except ProtectionError as error:
        shown["data_protection"] = str(error)
        return shown
    if protection is not None:
        when = protection.review_by.isoformat()
        review = (
            f"{words['overdue']} {when}"
            if review_overdue(protection, today)
            else f"{words['review']} {when}"
        )
        shown["data_protection"] = f"{protection.category.value}, {review}"
    return shown
