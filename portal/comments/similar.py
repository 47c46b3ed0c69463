"""Near-duplicate detection for short Chinese comments (thirty people asking the same thing).

A comment becomes a set of character shingles (bigrams and trigrams of its letters and
digits); two comments are similar when those sets overlap enough (Jaccard similarity).
MinHash summarises each set in a fixed-size signature whose agreement estimates the
Jaccard similarity, and MinHash LSH finds candidates without comparing against every
stored comment. Characters rather than words: no segmentation (jieba) errors on short,
informal text, and shared character bigrams already carry most of the meaning in Chinese.

``signature`` / ``from_signature`` turn a MinHash into compact bytes for a table, so a
worker rebuilds its ``SimilarIndex`` at start-up without re-hashing every comment. Pure,
in memory, not thread-safe: one index per worker process, fed by one task at a time.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import LeanMinHash, MinHash

# datasketch (and the numpy and scipy it brings, over a second of start-up) is imported where a
# sketch is made: the web process only shingles texts (an inquiry's duplicates, a comment's
# group), the worker and the FAQ candidates hash them.

# Parameters. Changing NUM_PERM, SEED, SCHEME or the shingling invalidates every stored
# signature: bump SIGNATURE_VERSION so that stored signatures of an older version are
# recomputed from their text instead of being compared with new ones.
SIGNATURE_VERSION = 1

# 64 permutations: the Jaccard estimate has a standard error of about
# sqrt(J(1-J)/64) ≈ 0.06 near 0.5, plenty to tell "the same question" (J ≥ 0.6) from an
# unrelated one (J ≈ 0–0.2); a signature is 256 bytes, the hashing cost per comment small.
NUM_PERM = 64

# Fixed seed: the permutations must be the same in every process and after every restart,
# or stored signatures could not be compared with new ones.
SEED = 20240601

# datasketch 2's default permutation scheme, pinned so that a later default cannot change
# the meaning of stored signatures. Its hash values are uint32.
SCHEME = "affine32"
_DTYPE = "<u4"  # stored little-endian uint32 whatever the machine
SIGNATURE_BYTES = NUM_PERM * 4

# Reported similarity: half the shingles in common. Rephrasings of one short question
# ("医保异地备案怎么办理" / "请问异地就医备案在哪里办理") land around 0.5–0.8; comments
# that merely share a topic word stay well below.
THRESHOLD = 0.5

# LSH only proposes candidates; each is then scored with its full signature and kept if
# the estimate reaches the threshold. The LSH threshold is set this much lower so that
# pairs right at the reported threshold are still proposed (with 64 permutations datasketch
# picks 21 bands of 3 rows: a pair at J = 0.5 is proposed with probability 0.94, against
# 0.6 for bands tuned to 0.5 itself); the extra candidates cost one comparison each.
CANDIDATE_MARGIN = 0.2

# Texts with fewer letters/digits than this, fillers aside ("谢谢小编", "好的", "点赞",
# "？？？"), have too few shingles for a meaningful overlap: one shared bigram would make them 50% similar. They
# are hashed as one opaque token instead, so they match only an identical short text.
MIN_CHARS = 5

_EXACT_MARK = "\x00"  # prefix of the opaque token; never part of a shingle

# Courtesy phrases (客套话) removed before shingling. In a 15-character question,
# "小编你好，…谢谢" adds as many shingles as the question itself, and thirty people asking
# the same thing each wrap it differently; without these, rephrasings fall under the
# threshold. Only phrases that never carry the subject of a comment belong here.
FILLERS = ("想问一下", "问一下", "请问", "问下", "您好", "你好", "小编", "麻烦", "谢谢", "感谢", "急急急")
_FILLER_PATTERN = re.compile("|".join(re.escape(phrase) for phrase in sorted(FILLERS, key=len, reverse=True)))


def clean(text: str) -> str:
    """Letters and digits only, NFKC-folded and lower-cased: punctuation, spaces and emoji
    do not make two comments different (``医保，怎么报销？`` ≈ ``医保怎么报销``)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(char for char in folded if unicodedata.category(char)[0] in "LN")


def shingles(text: str) -> set[str]:
    """The shingles of ``text``: character bigrams and trigrams of ``clean(text)`` once the
    ``FILLERS`` are removed, or a single exact-match token when fewer than ``MIN_CHARS``
    characters remain. Bigrams match rephrasings that share words; trigrams reward a shared
    word order, so that a few common words (怎么, 在哪里, 办理) do not make everything alike."""
    cleaned = clean(text)
    content = _FILLER_PATTERN.sub("", cleaned)
    if len(content) < MIN_CHARS:
        # Equal when equal without punctuation ("好的" = "好的！"), the fillers kept ("谢谢" ≠
        # "小编你好"); a text without letters or digits ("？？", "👍👍") is kept as typed, minus spaces.
        exact = cleaned or "".join(unicodedata.normalize("NFKC", text).split())
        return {_EXACT_MARK + exact}
    return {content[i : i + 2] for i in range(len(content) - 1)} | {content[i : i + 3] for i in range(len(content) - 2)}


@functools.cache
def _permutations():
    """Generated once per process."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def minhash(text: str) -> LeanMinHash:
    """The MinHash of ``text``'s shingles."""
    from datasketch import LeanMinHash, MinHash

    sketch = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations())
    sketch.update_batch([shingle.encode("utf-8") for shingle in shingles(text)])
    return LeanMinHash(sketch)


def to_signature(sketch: MinHash) -> bytes:
    """A MinHash as ``NUM_PERM`` little-endian uint32 hash values (``SIGNATURE_BYTES`` bytes)."""
    if len(sketch.hashvalues) != NUM_PERM or sketch.seed != SEED or sketch.scheme != SCHEME:
        raise ValueError("this MinHash was not made with this module's parameters")
    import numpy as np

    return np.asarray(sketch.hashvalues, dtype=_DTYPE).tobytes()


def signature(text: str) -> bytes:
    """The stored form of ``text``'s MinHash, for a table column (see ``SIGNATURE_VERSION``)."""
    return to_signature(minhash(text))


def from_signature(data: bytes) -> LeanMinHash:
    """The MinHash a ``signature`` was made from."""
    if len(data) != SIGNATURE_BYTES:
        raise ValueError(f"a signature has {SIGNATURE_BYTES} bytes, got {len(data)}")
    import numpy as np
    from datasketch import LeanMinHash

    return LeanMinHash(seed=SEED, hashvalues=np.frombuffer(data, dtype=_DTYPE), scheme=SCHEME)


class SimilarIndex:
    """Comments by key (e.g. their id), searchable for near-duplicates.

    ``add`` the comments (or ``add_signature`` their stored signatures), then ask
    ``similar(text)`` for a new comment or ``similar_to(key)`` for a stored one. Results
    are (key, estimated Jaccard similarity) pairs, best first, at or above the threshold.
    """

    def __init__(self, threshold: float = THRESHOLD) -> None:
        if not 0 < threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        from datasketch import MinHashLSH

        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=max(0.05, threshold - CANDIDATE_MARGIN), num_perm=NUM_PERM)
        self._sketches: dict[int, LeanMinHash] = {}

    def __len__(self) -> int:
        return len(self._sketches)

    def __contains__(self, key: object) -> bool:
        return key in self._sketches

    def add(self, key: int, text: str) -> None:
        """Index ``text`` under ``key``, replacing what the key had."""
        self._insert(key, minhash(text))

    def add_signature(self, key: int, data: bytes) -> None:
        """Index a stored ``signature`` under ``key`` (no re-hashing), replacing what the key had."""
        self._insert(key, from_signature(data))

    def _insert(self, key: int, sketch: LeanMinHash) -> None:
        self.remove(key)
        self._lsh.insert(key, sketch)
        self._sketches[key] = sketch

    def remove(self, key: int) -> None:
        """Forget ``key``; nothing happens if it is not indexed."""
        if self._sketches.pop(key, None) is not None:
            self._lsh.remove(key)

    def similar(self, text: str, *, limit: int = 50, exclude: int | None = None) -> list[tuple[int, float]]:
        """Indexed comments similar to ``text``, best first (ties by key), at most ``limit``;
        ``exclude`` leaves out one key, typically the comment's own."""
        return self._similar(minhash(text), limit, exclude)

    def similar_to(self, key: int, *, limit: int = 50) -> list[tuple[int, float]]:
        """Indexed comments similar to the one stored under ``key`` (itself excluded)."""
        return self._similar(self._sketches[key], limit, key)

    def _similar(self, sketch: LeanMinHash, limit: int, exclude: int | None) -> list[tuple[int, float]]:
        if not self._sketches or limit <= 0:
            return []
        scored = []
        for key in self._lsh.query(sketch):
            if key == exclude:
                continue
            score = float(self._sketches[key].jaccard(sketch))
            if score >= self.threshold:
                scored.append((key, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:limit]
