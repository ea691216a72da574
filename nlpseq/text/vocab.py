"""A token <-> id mapping with special symbols, frequency cut-off and JSON persistence."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Iterable, Sequence

from ..errors import DataError
from ..fileio import atomic_write_json

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """Maps tokens to contiguous ids; ids 0-3 are always ``<pad> <unk> <s> </s>``.

    Unknown tokens map to ``<unk>``, so lookups never fail at inference time.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise DataError(f"vocabulary must start with the special tokens {list(SPECIALS)}")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise DataError("vocabulary holds a token twice")

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> "Vocab":
        """Count tokens over ``sequences`` and keep those seen at least ``min_freq`` times.

        Ties in frequency are broken alphabetically, so the same corpus always gives the same ids.
        """
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        for s in SPECIALS:
            counts.pop(s, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(list(SPECIALS) + kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Token ids for ``tokens``, unknown ones as ``<unk>``, optionally framed by ``<s>``/``</s>``."""
        unk = self.unk_id
        ids = [self.stoi.get(t, unk) for t in tokens]
        if add_bos:
            ids.insert(0, self.bos_id)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], strip_specials: bool = True) -> list[str]:
        """Tokens for ``ids``; stops at ``</s>`` and drops pad/bos when ``strip_specials``."""
        out = []
        for i in ids:
            i = int(i)
            if strip_specials:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as a JSON list of tokens (atomic)."""
        atomic_write_json(path, {"tokens": self.itos})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a vocabulary written by :meth:`save`."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            return cls(data["tokens"])
        except FileNotFoundError:
            raise DataError(f"{path}: no such vocabulary file") from None
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a vocabulary file ({type(exc).__name__}: {str(exc)[:80]})") from None
