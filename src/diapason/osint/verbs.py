"""Verb triggers by lemma: the inflected forms of a French or English verb, generated from
its infinitive, so that the event lexicon lists « condamner », not « a condamné »,
« condamnent », « condamna »... one by one.

No lemmatizer runs (spaCy's is left out of the pipeline for speed, see ``nlp.py``): the
forms are conjugated here, once, when the lexicon is read, and matched as one regular
expression per lexicon line. What is matched:

- French: the third persons of the present and simple past (not the imperfect, which
  tells background, nor the future or conditional: what will or would happen has not);
  the gerund (« en
  demandant »); the past participle only after a form of
  *avoir* (« a condamné », « avaient fermement dénoncé »), or of *être* for a pronominal
  verb (« se sont réunis »), since a participle alone is as often an adjective. A form
  right after a determiner is a noun (« la demande », « une attaque ») and is not matched.
- English: the past (« condemned », « has condemned »), not the bare, ``-s`` nor ``-ing``
  forms, which are as often nouns ("an arrest", "attacks", "the meeting").

A lemma written ``appeler_à`` requires the words after the underscore (« a appelé à »);
``se_réunir`` is pronominal (« s'est réuni », « se réunissent »). Regular verbs are
conjugated by their ending (French -er and -ir of the second group, with the spelling
changes of -cer, -ger, -yer and of « lever », « céder »); the irregular verbs the lexicon
uses are listed in ``_IRREGULAR``.
"""

from __future__ import annotations

import re

# French: (third-person finite forms and gerund, past participle stem) of irregular verbs.
_IRREGULAR: dict[str, tuple[tuple[str, ...], str]] = {
    "recevoir": (
        ("reçoit", "reçoivent", "reçut", "reçurent", "en recevant"),
        "reçu",
    ),
    "accueillir": (
        ("accueille", "accueillent", "accueillit", "accueillirent", "en accueillant"),
        "accueilli",
    ),
    "entretenir": (
        ("entretient", "entretiennent", "entretint", "entretinrent"),
        "entretenu",
    ),
    "abattre": (("abat", "abattent", "abattit", "abattirent"), "abattu"),
    "promettre": (
        ("promet", "promettent", "promit", "promirent"),
        "promis",
    ),
    "mettre_en_examen": (("met en examen", "mettent en examen"), "mis en examen"),
}
_AVOIR = r"(?:a|ont|avait|avaient|aura|auront|aurait|auraient|ayant|avoir|eut|eurent)"
_ETRE = r"(?:est|sont|était|étaient|sera|seront|serait|seraient|étant|être|fut|furent)"
# Adverbs between the auxiliary and the participle: « a fermement condamné ».
_ADVERBS = r"(?:(?:\w+ment|déjà|aussi|encore|ensuite|alors|enfin|aussitôt|vivement)\s+)*"
# A verb form right after a determiner is a noun: « la demande », « une attaque ».
_FR_DETERMINERS = (
    "la ", "le ", "les ", "une ", "un ", "des ", "cette ", "sa ", "son ", "ses ", "leur ",
    "l'", "l\u2019", "d'", "d\u2019", "du ", "de ", "au ", "aux ",
)  # fmt: skip
_EN_DETERMINERS = ("the ", "a ", "an ", "this ", "its ", "their ", "his ", "her ")


def _not_after(words: tuple[str, ...]) -> str:
    """Negative lookbehinds for ``words``, one per length (a lookbehind is fixed-width)."""
    lengths = sorted({len(word) for word in words})
    return "".join(
        "(?<!\\b(?:{}))".format("|".join(re.escape(w) for w in words if len(w) == n))
        for n in lengths
    )


_FR_NOUN = _not_after(_FR_DETERMINERS)
_EN_NOUN = _not_after(_EN_DETERMINERS)
_EN_IRREGULAR: dict[str, tuple[str, ...]] = {
    "meet": ("met",),
    "hold": ("held",),
    "shoot": ("shot",),
    "free": ("freed",),
    "take": ("took", "taken"),
}


def _french_er(stem: str) -> tuple[list[str], str]:
    """Finite forms and participle stem of a French -er verb, from the stem (« condamn »)."""
    soft = stem
    if stem.endswith("c"):
        soft = stem[:-1] + "ç"  # menaça
    elif stem.endswith("g"):
        soft = stem + "e"  # exigea
    mute = [stem]  # forms whose ending is a mute e: present singular and plural
    if stem.endswith("y"):
        mute.append(stem[:-1] + "i")  # déploie
    grave = re.match(r"^(.*)[eé]([^aeiouyéèê]+)$", stem)
    if grave:
        mute.append(f"{grave.group(1)}è{grave.group(2)}")  # enlève, cède
        mute.append(stem + stem[-1])  # appelle, jette
    forms = [f"{m}{ending}" for m in mute for ending in ("e", "ent")]
    forms += [f"{soft}a", f"{stem}èrent", f"en {soft}ant"]
    return forms, stem + "é"


def _french_ir(stem: str) -> tuple[list[str], str]:
    """Finite forms and participle stem of a second-group -ir verb (« sais »)."""
    endings = ("it", "issent", "irent")
    return [stem + ending for ending in endings] + [f"en {stem}issant"], stem + "i"


def french_forms(lemma: str) -> tuple[list[str], str]:
    """The finite forms (third persons, gerund) and the masculine singular past
    participle of the French verb ``lemma``."""
    if lemma in _IRREGULAR:
        finite, participle = _IRREGULAR[lemma]
        return list(finite), participle
    if lemma.endswith("er"):
        return _french_er(lemma[:-2])
    if lemma.endswith("ir"):
        return _french_ir(lemma[:-2])
    raise ValueError(f"no conjugation for the French verb {lemma!r}")


def _participle(stem: str) -> str:
    """The participle with its agreements: condamné(e)(s), promis(e)(s)."""
    if stem.endswith("s"):
        return f"{re.escape(stem)}(?:es?)?"
    return f"{re.escape(stem)}(?:e|es|s)?"


def french_pattern(lemma: str) -> str:
    """A regular expression matching the inflected forms of ``lemma`` (see module doc)."""
    words = lemma.split("_")
    pronominal = words[0] == "se" and len(words) > 1
    if pronominal:
        words = words[1:]
    if "_".join(words) in _IRREGULAR:  # a fixed phrase: « mettre en examen »
        words = ["_".join(words)]
    verb, complement = words[0], words[1:]
    finite, participle_stem = french_forms(verb)
    finite_alt = "|".join(re.escape(form).replace(r"\ ", r"\s+") for form in finite)
    participle = _participle(participle_stem).replace(r"\ ", r"\s+")
    if pronominal:
        simple = rf"\b(?:se\s+|s['\u2019]){_ADVERBS}(?:{finite_alt})"
        compound = rf"\b(?:se\s+|s['\u2019]){_ETRE}\s+{_ADVERBS}{participle}"
    else:
        simple = rf"\b{_FR_NOUN}(?:{finite_alt})"
        compound = rf"\b{_AVOIR}\s+{_ADVERBS}{participle}"
    return rf"(?:{simple}|{compound}){_tail(complement)}\b"


def english_forms(lemma: str) -> list[str]:
    """The past forms of the English verb ``lemma`` (news tell events in the past; the
    bare and ``-s`` forms are as often nouns: "an arrest", "attacks")."""
    if lemma in _EN_IRREGULAR:
        return list(_EN_IRREGULAR[lemma])
    if lemma.endswith("e"):
        return [lemma + "d"]
    if re.search(r"[^aeiou]y$", lemma):
        return [lemma[:-1] + "ied"]
    forms = [lemma + "ed"]
    if re.search(r"(?:^|[^aeiou])[aeiou][bdgklmnprt]$", lemma):
        forms.append(lemma + lemma[-1] + "ed")  # banned, stabbed
    return forms


def english_pattern(lemma: str) -> str:
    """A regular expression matching the finite forms of the English ``lemma``."""
    verb, *complement = lemma.split("_")
    alt = "|".join(re.escape(form) for form in english_forms(verb))
    return rf"\b{_EN_NOUN}(?:{alt}){_tail(complement)}\b"


def _tail(words: list[str]) -> str:
    """The words required after the verb (« appeler à »), or nothing."""
    return "".join(rf"\s+{re.escape(word)}" for word in words)


def verb_cues(language: str, lemmas: str) -> frozenset[str]:
    """Lower-case beginnings (four letters) of every form of the ``|``-separated
    ``lemmas``: a sentence holding none of them cannot match, and is not searched with
    the (slower) pattern."""
    cues: set[str] = set()
    for lemma in (item.strip() for item in lemmas.split("|") if item.strip()):
        words = [word for word in lemma.split("_") if word != "se"]
        if language == "fr":
            verb = "_".join(words) if "_".join(words) in _IRREGULAR else words[0]
            finite, participle = french_forms(verb)
            forms = [*finite, participle]
        else:
            forms = english_forms(words[0])
        cues.update(form.split()[-1 if form.startswith("en ") else 0][:4].lower() for form in forms)
    return frozenset(cues)


def verb_pattern(language: str, lemmas: str) -> str:
    """One regular expression for the ``|``-separated ``lemmas`` of ``language``."""
    items = [lemma.strip() for lemma in lemmas.split("|") if lemma.strip()]
    if language != "fr":
        return "|".join(f"(?:{english_pattern(lemma)})" for lemma in items)
    # Plain verbs share one pattern (one pass over the sentence, not one per verb).
    plain = [lemma for lemma in items if "_" not in lemma]
    parts = [f"(?:{french_pattern(lemma)})" for lemma in items if "_" in lemma]
    if plain:
        conjugated = [french_forms(lemma) for lemma in plain]
        finite = "|".join(
            re.escape(form).replace(r"\ ", r"\s+") for forms, _ in conjugated for form in forms
        )
        participles = "|".join(_participle(stem) for _, stem in conjugated)
        parts.insert(
            0,
            rf"(?:\b{_FR_NOUN}(?:{finite})|\b{_AVOIR}\s+{_ADVERBS}(?:{participles}))\b",
        )
    return "|".join(parts)
