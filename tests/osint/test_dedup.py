"""``osint/dedup.py`` is datasketch's MinHash and LSH, written out: the same signatures and
the same candidates, on the corpus articles."""

from __future__ import annotations

import re
from pathlib import Path

from datasketch import MinHash as DatasketchMinHash
from datasketch import MinHashLSH

from diapason.osint.article import read_article
from diapason.osint.dedup import NUM_PERM, SEED, THRESHOLD, DuplicateIndex, signature
from diapason.osint.gazetteer import normalise
from tests.shared import DEV_CORPUS
from tests.shared import SEED as SEED_ARTICLE

REPOSITORY = Path(__file__).resolve().parents[2]


def _bodies() -> dict[str, str]:
    paths = [SEED_ARTICLE, *sorted((DEV_CORPUS / "articles").glob("*.md"))]
    paths += sorted((REPOSITORY / "corpus" / "osint" / "articles").glob("*"))
    return {f"{p.parent.parent.name}/{p.name}": read_article(p).body for p in paths}


def _datasketch(text: str) -> DatasketchMinHash:
    words = re.findall(r"\w+", normalise(text))
    shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
    minhash = DatasketchMinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
    minhash.update_batch([shingle.encode("utf-8") for shingle in shingles])
    return minhash


def test_the_signatures_are_datasketchs() -> None:
    bodies = _bodies()
    assert len(bodies) >= 50
    for name, body in [*bodies.items(), ("empty", ""), ("two words", "deux mots")]:
        assert signature(body).values.tolist() == _datasketch(body).hashvalues.tolist(), name


def test_the_candidates_and_similarities_are_datasketchs() -> None:
    bodies = _bodies()
    # Each article with a near copy of itself and a rewrite of its first half, so that
    # some pairs fall around the threshold.
    texts = dict(bodies)
    for name, body in bodies.items():
        words = body.split()
        texts[f"{name} (copy)"] = " ".join(words[:-5])
        texts[f"{name} (half)"] = " ".join(words[: len(words) // 2] + ["autre"] * 40)
    ours = DuplicateIndex()
    theirs = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    found = 0
    for name, text in texts.items():
        minhash, reference = signature(text), _datasketch(text)
        similarities = {
            candidate: _datasketch(texts[candidate]).jaccard(reference)
            for candidate in theirs.query(reference)
        }
        best = max([s for s in similarities.values() if s >= THRESHOLD], default=None)
        original = ours.original_of(name, minhash)
        if best is None:
            assert original is None, name
        else:
            assert original is not None, name
            # Equally similar originals: the first by id (datasketch's order is a set's).
            assert original == (min(c for c, s in similarities.items() if s == best), best)
            found += 1
        ours.add(name, text, minhash)
        theirs.insert(name, reference)
    assert found >= len(bodies)  # every copy finds its original
