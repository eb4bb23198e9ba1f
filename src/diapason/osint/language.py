"""Which language an article is written in: French, English, Arabic, or another one.

Arabic is recognised by its script (reliable, and instant); other languages by py3langid,
restricted to the languages a security-cooperation desk between Morocco and France meets,
so that short texts are not classified as some distant language. The model ships inside
the package: nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Languages the pipeline analyses fully; others are stored and searchable only.
ANALYSED = frozenset({"fr", "en"})
_CANDIDATES = ["fr", "en", "ar", "es", "de", "it", "pt", "nl"]


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_CANDIDATES)
    return identifier


def _arabic_share(text: str) -> float:
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    arabic = sum(
        1 for char in letters if "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f"
    )
    return arabic / len(letters)


def identify(text: str) -> str:
    """ISO 639-1 code of ``text``'s language, or ``"und"`` when it cannot be told (no
    letters, or too little text to be confident)."""
    sample = text[:5000]
    if sum(1 for char in sample if char.isalpha()) < 20:
        return "und"
    if _arabic_share(sample) > 0.5:
        return "ar"
    language, probability = _identifier().classify(sample)
    if probability < 0.5:
        return "und"
    return str(language)
