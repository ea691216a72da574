"""Hashed character n-grams of words (fastText-style subword features).

A word the training data never showed still shares n-grams with words it did show
("warmly" with "warm", "uncomplicated" with "complicated"), so a model that adds n-gram
vectors to its word vectors has something to say about it.
"""

from __future__ import annotations

import zlib
from typing import Sequence

import torch


class CharNgrams:
    """Maps a word to the hash buckets of its character n-grams, ``<`` and ``>`` marking its ends.

    Bucket ids run from 1 to ``buckets``; 0 is padding. CRC-32 is the hash, so ids are the
    same in every process and on every machine (Python's ``hash`` of a string is not).

    Args:
        buckets: number of hash buckets.
        min_n: shortest n-gram.
        max_n: longest n-gram.
    """

    def __init__(self, buckets: int, min_n: int = 3, max_n: int = 5) -> None:
        if buckets < 1 or not 1 <= min_n <= max_n:
            raise ValueError(f"char n-grams need buckets >= 1 and 1 <= min_n <= max_n, got {buckets}, {min_n}, {max_n}")
        self.buckets, self.min_n, self.max_n = buckets, min_n, max_n
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def for_model(cls, cfg: object) -> "CharNgrams | None":
        """The hasher a model config's ``subword_buckets`` asks for, or None when it has none."""
        buckets = getattr(cfg, "subword_buckets", 0)
        return cls(buckets) if buckets else None

    #: Most words kept hashed; past it the cache starts afresh, so a long-running service fed ever
    #: new strings does not grow without end.
    cache_size = 1 << 18

    def word(self, word: str) -> list[int]:
        """Bucket ids of the n-grams of ``word`` (at least one: a short word is its own n-gram)."""
        ids = self._cache.get(word)
        if ids is None:
            marked = f"<{word}>"
            grams = {marked[i:i + n] for n in range(self.min_n, self.max_n + 1) for i in range(len(marked) - n + 1)}
            grams = grams or {marked}
            ids = sorted({zlib.crc32(g.encode("utf-8")) % self.buckets + 1 for g in grams})
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[word] = ids
        return ids

    def batch(self, sequences: Sequence[Sequence[str]]) -> torch.Tensor:
        """A ``(batch, longest sequence, most n-grams)`` tensor of bucket ids, padded with 0."""
        rows = [[self.word(w) for w in seq] for seq in sequences]
        width = max((len(ids) for row in rows for ids in row), default=1)
        length = max((len(r) for r in rows), default=0)
        blank = [0] * width
        flat = [ids + blank[len(ids):] for row in rows for ids in row + [[]] * (length - len(row))]
        return torch.tensor(flat, dtype=torch.long).view(len(rows), length, width)
