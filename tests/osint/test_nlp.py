"""The French pipeline as ``nlp.french`` loads it is spaCy's own, only faster to load.

``nlp.load_french`` reads the model's files itself and rewrites the tokenizer's
``token_match`` (``nlp.factored``). These tests hold it to ``spacy.load``: the same
tokens, sentences and entities on real articles, and the same answer of the two
``token_match`` patterns on strings drawn from every alternative of spaCy's.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import srsly

from diapason.osint import nlp
from diapason.osint.article import read_article
from tests.shared import DEV_CORPUS, SEED

REPOSITORY = Path(__file__).resolve().parents[2]
# The regular expression parser and its opcodes (what hypothesis's from_regex reads too).
_parser: Any = importlib.import_module("re._parser")
_re: Any = importlib.import_module("re._constants")


@cache
def _spacy_token_match() -> str:
    root = Path(str(importlib.import_module(nlp.MODEL).__file__)).parent
    (data,) = root.glob(f"{nlp.MODEL}-*")
    pattern: str = srsly.msgpack_loads((data / "tokenizer").read_bytes())["token_match"]
    return pattern


@cache
def _spacys_own() -> Any:
    import spacy

    pipeline = spacy.load(
        nlp.MODEL, exclude=["parser", "morphologizer", "lemmatizer", "attribute_ruler"]
    )
    pipeline.add_pipe("sentencizer")
    return pipeline


def _alternatives(pattern: str) -> list[str]:
    return pattern[len("(?iu)(?:") : -1].split(")|(?:")


def test_the_factored_pattern_writes_each_large_class_a_few_times() -> None:
    original = _spacy_token_match()
    factored = nlp.factored(original)
    large = [c for c in re.findall(r"\[(?:\\.|[^\]\\])*\]", factored) if len(c) > 100]
    assert len(_alternatives(original)) == 266
    assert len(large) <= 10  # the 266 alternatives wrote them 482 times
    assert len(factored) < len(original) / 50


def test_a_pattern_of_another_shape_is_left_as_it_is() -> None:
    for pattern in ("(?u)^a-b$", "(?iu)(?:^a-[bc]+$)", "(?iu)(?:^(a[" + "x" * 200 + "]$)"):
        assert nlp.factored(pattern) == pattern


@pytest.mark.parametrize(
    ("expression", "whole"),
    [
        ("^a[-\u2013]b", True),
        ("(?:l['\u2019])?", True),
        ("[]a]x", True),
        ("[^]a]", True),
        (r"\(a", True),
        ("[(]", True),
        ("(a", False),
        ("a)", False),
        ("[ab", False),
        ("a\\", False),
    ],
)
def test_a_segment_is_cut_out_only_when_self_contained(expression: str, whole: bool) -> None:
    assert nlp._self_contained(expression) is whole


def test_alternatives_differing_in_one_segment_share_the_rest() -> None:
    letters = "[" + "a-z" * 40 + "]"
    pattern = (
        f"(?iu)(?:^burn-out{letters}*$)|(?:^black-out{letters}*$)|"
        f"(?:^{letters}+-la-{letters}+$)|(?:^{letters}+-en-{letters}+$)"
    )
    factored = nlp.factored(pattern)
    assert factored == (
        f"(?iu)(?:(?:^burn-out|^black-out){letters}*$)|(?:^{letters}+(?:-la-|-en-){letters}+$)"
    )
    original, rewritten = re.compile(pattern), re.compile(factored)
    for text in ("burn-outs", "Black-Out", "saut-en-ski", "pet-la-x", "burn-in", "a-la"):
        assert bool(original.match(text)) == bool(rewritten.match(text)), text


def _strings(items: Any) -> list[str]:
    """A few strings that ``items`` (a parsed regular expression) matches in full: each
    repeat taken its least and two more times, each class's first and last characters,
    every branch. Only what spaCy's token_match uses is known; anything else fails."""
    results = [""]
    for op, value in items:
        if op is _re.LITERAL:
            options = [chr(value)]
        elif op is _re.IN:
            members = [
                chr(v) if kind is _re.LITERAL else chr(v[0]) + chr(v[1])
                for kind, v in value
                if kind in (_re.LITERAL, _re.RANGE)
            ]
            options = sorted({members[0][0], members[-1][-1]})
        elif op in (_re.MAX_REPEAT, _re.MIN_REPEAT):
            least, most, sub = value
            counts = sorted({least, min(most, least + 2)})
            options = [s * n for s in _strings(sub)[:2] for n in counts]
        elif op is _re.SUBPATTERN:
            options = _strings(value[-1])
        elif op is _re.BRANCH:
            options = [s for branch in value[1] for s in _strings(branch)]
        elif op is _re.AT:
            options = [""]
        else:
            raise AssertionError(f"unexpected {op} in spaCy's token_match")
        results = [r + o for r in results for o in options][:32]
    return results


@pytest.mark.slow
def test_both_token_match_patterns_accept_the_same_strings() -> None:
    original_text = _spacy_token_match()
    original = re.compile(original_text)  # about six seconds
    factored = re.compile(nlp.factored(original_text))
    checked = 0
    for alternative in _alternatives(original_text):
        for text in _strings(_parser.parse(alternative, re.IGNORECASE)):
            for variant in (text, text.upper(), text.title()):
                assert original.match(variant) and factored.match(variant), variant
            # One character more or less, at the start, middle and end: the same answer.
            for position in (0, len(text) // 2, len(text)):
                for changed in (
                    text[:position] + "x" + text[position:],
                    text[:position] + "-" + text[position:],
                    text[:position] + text[position + 1 :],
                ):
                    assert bool(original.match(changed)) == bool(factored.match(changed))
            checked += 1
    assert checked > 1000


def _articles() -> list[str]:
    paths = [SEED, *sorted((DEV_CORPUS / "articles").glob("*.md"))]
    paths += sorted((REPOSITORY / "corpus" / "osint" / "articles").glob("*"))
    texts = []
    for path in paths:
        article = read_article(path)
        texts.append(f"{article.title}\n\n{article.body}")
    return texts


@pytest.mark.slow
def test_the_same_tokens_sentences_and_entities_as_spacy_load() -> None:
    ours, theirs = nlp.french(), _spacys_own()
    assert ours.pipe_names == theirs.pipe_names
    texts = _articles()
    assert len(texts) >= 50
    for text in texts:
        mine, spacys = ours(text), theirs(text)
        assert [t.text for t in mine] == [t.text for t in spacys]
        assert [(s.start, s.end) for s in mine.sents] == [(s.start, s.end) for s in spacys.sents]
        assert nlp.spacy_entities(mine) == nlp.spacy_entities(spacys)
