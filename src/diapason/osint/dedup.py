"""Near-duplicate stories: the same event told by two outlets is linked, not stored twice.

Each article's body becomes a MinHash signature (128 permutations) of its word 3-shingles,
lower-cased and without accents; an LSH index (32 bands of 4 rows) finds earlier articles
whose estimated Jaccard similarity may reach the threshold, and the signatures decide. The
index is seeded once per ingestion session from the OSINT reports the store holds (their
``description`` is the body) and grows with the session's articles. Only originals are
indexed (reports labelled ``duplicate`` are not): a third telling links to the first.

The MinHash is datasketch's default scheme (2.x, "affine32"): each shingle's SHA-1 (first
4 bytes, little-endian) mixed by MurmurHash3's 32-bit finalizer, then per permutation
``a·h + b`` modulo 2^32 with ``a`` odd (a bijection), ``a`` and ``b`` drawn from NumPy's
``RandomState(7)``; the bands are those datasketch's optimiser gives for a 0.4 threshold
over 128 permutations. Written here in a few lines, it gives datasketch's signatures
(``tests/osint/test_dedup.py``) without its import, which brings SciPy's integration
routines (for that optimiser) and cost 0.7 s of every ``diapason ingest``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from diapason.osint.gazetteer import normalise
from diapason.store.interface import ObjectStore, Query

THRESHOLD = 0.4
NUM_PERM = 128
BANDS, ROWS = 32, 4  # BANDS * ROWS == NUM_PERM
SEED = 7
_WORDS = re.compile(r"\w+")


def _permutations() -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    generator = np.random.RandomState(SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_A, _B = _permutations()


def _mixed(hashes: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """MurmurHash3's finalizer (a bijection of 32-bit values); products wrap modulo 2^32."""
    hashes = hashes ^ (hashes >> np.uint32(16))
    hashes = hashes * np.uint32(0x85EBCA6B)
    hashes = hashes ^ (hashes >> np.uint32(13))
    hashes = hashes * np.uint32(0xC2B2AE35)
    return hashes ^ (hashes >> np.uint32(16))


@dataclass(frozen=True, eq=False)
class MinHash:
    """The signature of a set of shingles: per permutation, the least permuted hash."""

    values: NDArray[np.uint32]

    def jaccard(self, other: MinHash) -> float:
        """The estimated Jaccard similarity of the two sets."""
        return float(np.count_nonzero(self.values == other.values)) / NUM_PERM

    def bands(self) -> list[bytes]:
        """The LSH keys: each band of ``ROWS`` values as bytes."""
        return [self.values[i * ROWS : (i + 1) * ROWS].tobytes() for i in range(BANDS)]


def signature(text: str) -> MinHash:
    """The MinHash of ``text``'s word 3-shingles."""
    words = _WORDS.findall(normalise(text))
    shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
    hashes = np.array(
        [
            int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little")  # noqa: S324 - not for security
            for s in shingles
        ],
        dtype=np.uint32,
    ).reshape(-1, 1)
    permuted = _mixed(hashes) * _A + _B
    return MinHash(permuted.min(axis=0))


@dataclass
class DuplicateIndex:
    """Earlier articles, by report id."""

    threshold: float = THRESHOLD
    _signatures: dict[str, MinHash] = field(default_factory=dict)
    _buckets: list[defaultdict[bytes, list[str]]] = field(
        default_factory=lambda: [defaultdict(list) for _ in range(BANDS)]
    )

    @classmethod
    def from_store(cls, store: ObjectStore, label: str = "osint") -> DuplicateIndex:
        """Seed the index with the OSINT reports the store holds."""
        index = cls()
        after: int | None = None
        while True:
            page = store.query(Query(types=("report",), limit=1000, after=after))
            for stored in page.objects:
                report = stored.object
                labels = report.get("labels", [])
                if (
                    label in labels
                    and "duplicate" not in labels
                    and isinstance(report.get("description"), str)
                ):
                    index.add(report["id"], report["description"])
            if page.next_after is None:
                return index
            after = page.next_after

    def add(self, report_id: str, text: str, minhash: MinHash | None = None) -> None:
        if report_id in self._signatures:
            return
        minhash = minhash or signature(text)
        self._signatures[report_id] = minhash
        for bucket, key in zip(self._buckets, minhash.bands(), strict=True):
            bucket[key].append(report_id)

    def original_of(self, report_id: str, minhash: MinHash) -> tuple[str, float] | None:
        """The most similar earlier article (report id, estimated Jaccard), if any."""
        best: tuple[str, float] | None = None
        candidates = {
            found
            for bucket, key in zip(self._buckets, minhash.bands(), strict=True)
            for found in bucket.get(key, ())
        }
        for candidate in sorted(candidates):
            if candidate == report_id:
                continue
            similarity = self._signatures[candidate].jaccard(minhash)
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (candidate, similarity)
        return best
