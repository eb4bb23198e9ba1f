"""Near-duplicate stories: the same event told by two outlets is linked, not stored twice.

Each article's body becomes a MinHash signature (128 permutations) of its word 3-shingles,
lower-cased and without accents; an LSH index (datasketch) finds earlier articles whose
estimated Jaccard similarity reaches the threshold. The index is seeded once per ingestion
session from the OSINT reports the store holds (their ``description`` is the body) and
grows with the session's articles. Only originals are indexed (reports labelled
``duplicate`` are not): a third telling links to the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from datasketch import MinHash, MinHashLSH

from diapason.osint.gazetteer import normalise
from diapason.store.interface import ObjectStore, Query

THRESHOLD = 0.4
NUM_PERM = 128
_WORDS = re.compile(r"\w+")


def signature(text: str) -> MinHash:
    """The MinHash of ``text``'s word 3-shingles."""
    words = _WORDS.findall(normalise(text))
    shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
    minhash = MinHash(num_perm=NUM_PERM, seed=7)
    minhash.update_batch([shingle.encode("utf-8") for shingle in shingles])
    return minhash


@dataclass
class DuplicateIndex:
    """Earlier articles, by report id."""

    threshold: float = THRESHOLD
    _lsh: MinHashLSH = field(init=False)
    _signatures: dict[str, MinHash] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)

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
        self._lsh.insert(report_id, minhash)

    def original_of(self, report_id: str, minhash: MinHash) -> tuple[str, float] | None:
        """The most similar earlier article (report id, estimated Jaccard), if any."""
        best: tuple[str, float] | None = None
        for candidate in self._lsh.query(minhash):
            if candidate == report_id:
                continue
            similarity = float(self._signatures[candidate].jaccard(minhash))
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (str(candidate), similarity)
        return best
