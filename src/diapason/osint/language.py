"""Which language an article is written in: French, English, Arabic, or another one.

Arabic is recognised by its script (reliable, and instant). A text of some length whose
common function words are clearly those of one language (« le », « des », « est »; "the",
"of", "was") is that language: news articles in French or English are told this way in
microseconds. Anything else goes to py3langid, restricted to the languages a
security-cooperation desk between Morocco and France meets, so that short texts are not
classified as some distant language; its model ships inside the package (nothing is
downloaded) and takes half a second to unpack, once per process, when first needed.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

# Languages the pipeline analyses fully; others are stored and searchable only.
ANALYSED = frozenset({"fr", "en"})
_CANDIDATES = ["fr", "en", "ar", "es", "de", "it", "pt", "nl"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The most frequent function words of each candidate written in Latin letters, each word
# under one language only (« de », « la », « que », "en" are shared, so left out).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "fr": _words(
        "le les des du au aux est et dans une pour qui sur pas avec ce cette il elle ils "
        "sont été ont mais par ses leur plus"
    ),
    "en": _words(
        "the and of to is was for that with on as by at from has have are were it this "
        "which their be"
    ),
    "es": _words("el los las y es por con del para su al como una lo fue pero sus"),
    "it": _words("di e che per sono non della gli nel alla dei delle anche è questo"),
    "pt": _words("o os da do dos em um não com uma foi pelo pela ao às"),
    "de": _words("der die das und ist nicht mit ein eine zu den von im auf für sich"),
    "nl": _words("het een van niet op met voor zijn dat te ook aan worden werd"),
}
_LANGUAGE_OF = {word: language for language, words in FUNCTION_WORDS.items() for word in words}
# A text is told by its function words when it has this many words, its first language's
# function words are this share of them, and this many times the runner-up's.
_FUNCTION_MIN_WORDS = 40
_FUNCTION_MIN_SHARE = 0.12
_FUNCTION_MIN_RATIO = 4.0
_LATIN_WORD = re.compile(r"[a-zà-ÿ]+")


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
    told = by_function_words(sample)
    if told is not None:
        return told
    language, probability = _identifier().classify(sample)
    if probability < 0.5:
        return "und"
    return str(language)


def by_function_words(text: str) -> str | None:
    """The language whose function words ``text`` clearly uses, or None when the text is
    short or the evidence is not clear (py3langid decides then)."""
    words = _LATIN_WORD.findall(text.casefold())
    if len(words) < _FUNCTION_MIN_WORDS:
        return None
    hits = Counter(_LANGUAGE_OF[word] for word in words if word in _LANGUAGE_OF)
    ranked = hits.most_common(2) + [("", 0)] * 2
    (first, count), (_, runner_up) = ranked[0], ranked[1]
    if count >= _FUNCTION_MIN_SHARE * len(words) and count >= _FUNCTION_MIN_RATIO * runner_up:
        return first
    return None
