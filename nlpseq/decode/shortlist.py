"""Vocabulary shortlists for fast CPU decoding, as Marian and the Bergamot project use them.

A lexical table from the training corpus lists, for every source piece, the target pieces it is
most likely translated into: IBM Model 1 (Brown et al. 1993) trained by EM over the sentence pairs,
each piece of a target sentence aligned to one of the source's pieces or to none, the table fast_align
starts from. Decoding a batch then scores only the union of its source pieces' entries, the most
frequent target pieces and the special symbols, instead of the whole vocabulary: the output layer,
the softmax and the beam's top-k shrink with it. The softmax is normalised over the shortlist, so
scores are those of a model restricted to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from ..errors import RunDirError
from ..fileio import atomic_path
from ..text.vocab import SPECIALS

log = logging.getLogger(__name__)

TABLE_DEPTH = 100  # target pieces kept per source piece; a decoding shortlist takes up to this many


@dataclass
class LexicalTable:
    """Per source piece, target pieces by falling p(target | source) (``-1`` pads rows with fewer),
    and every target piece by falling corpus frequency."""

    table: torch.Tensor  # (source vocabulary, TABLE_DEPTH) int64
    frequent: torch.Tensor  # (target vocabulary,) int64

    @classmethod
    def train(cls, pairs: Iterable[tuple[Sequence[int], Sequence[int]]], src_size: int, tgt_size: int,
              iterations: int = 5, depth: int = TABLE_DEPTH) -> "LexicalTable":
        """IBM Model 1 over id sequences (source, target), ``iterations`` rounds of EM."""
        src_rows, tgt_rows, groups = [], [], []
        tgt_counts = np.zeros(tgt_size, dtype=np.int64)
        null, g = src_size, 0  # source id ``src_size`` is the empty word: a target piece may align to nothing
        for s, t in pairs:
            if not t:
                continue
            s = np.asarray(list(s) + [null], dtype=np.int64)
            t = np.asarray(t, dtype=np.int64)
            src_rows.append(np.tile(s, len(t)))
            tgt_rows.append(np.repeat(t, len(s)))
            groups.append(np.repeat(np.arange(g, g + len(t)), len(s)))  # one group per target position
            g += len(t)
            np.add.at(tgt_counts, t, 1)
        if not src_rows:
            raise ValueError("no sentence pairs to learn a lexical table from")
        src_ids, tgt_ids, group = (np.concatenate(x) for x in (src_rows, tgt_rows, groups))
        links, link_of = np.unique(src_ids * tgt_size + tgt_ids, return_inverse=True)
        del src_ids, tgt_ids
        link_src = links // tgt_size
        prob = np.full(len(links), 1.0 / tgt_size)
        for _ in range(iterations):
            p = prob[link_of]
            posterior = p / np.bincount(group, weights=p)[group]  # over the source positions of each target piece
            counts = np.bincount(link_of, weights=posterior, minlength=len(links))
            prob = counts / np.bincount(link_src, weights=counts)[link_src]
        order = np.lexsort((-prob, link_src))  # by source, likeliest target first
        link_src, link_tgt = link_src[order], links[order] % tgt_size
        starts = np.searchsorted(link_src, link_src, side="left")
        rank = np.arange(len(link_src)) - starts
        keep = (rank < depth) & (link_src < src_size)
        table = np.full((src_size, depth), -1, dtype=np.int64)
        table[link_src[keep], rank[keep]] = link_tgt[keep]
        frequent = np.argsort(-tgt_counts, kind="stable")
        return cls(torch.from_numpy(table), torch.from_numpy(frequent))

    def save(self, path) -> None:
        from safetensors.torch import save_file

        with atomic_path(path) as tmp:
            save_file({"table": self.table.contiguous(), "frequent": self.frequent.contiguous()}, str(tmp))

    @classmethod
    def load(cls, path, src_size: int, tgt_size: int) -> "LexicalTable":
        """Read a table written by :meth:`save`, checked against the run's vocabulary sizes."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            t = load_file(str(path))
            table, frequent = t["table"], t["frequent"]
        except (SafetensorError, OSError, KeyError) as exc:
            raise RunDirError(f"{path}: unreadable lexical table ({exc}); delete it to rebuild it") from None
        if table.dim() != 2 or table.size(0) != src_size or frequent.shape != (tgt_size,):
            raise RunDirError(f"{path}: a lexical table for other vocabularies; delete it to rebuild it")
        if table.is_floating_point() or frequent.is_floating_point() or table.size(1) == 0 \
                or not (-1 <= int(table.min()) and int(table.max()) < tgt_size) \
                or not (0 <= int(frequent.min()) and int(frequent.max()) < tgt_size):
            raise RunDirError(f"{path}: a damaged lexical table (ids outside the target vocabulary); "
                              "delete it to rebuild it")
        return cls(table.long(), frequent.long())

    def shortlist(self, src: torch.Tensor, per_source: int, frequent: int) -> torch.Tensor:
        """Target ids a batch of sources (any shape of source ids) may produce, sorted: the special
        symbols (so at positions equal to their ids), the ``frequent`` commonest pieces and the
        ``per_source`` likeliest translations of each source piece."""
        if not 1 <= per_source <= self.table.size(1):
            raise ValueError(f"shortlist of {per_source} pieces per source piece: between 1 and {self.table.size(1)}")
        rows = self.table[src.reshape(-1).cpu(), :per_source].reshape(-1)
        ids = torch.cat([torch.arange(len(SPECIALS)), self.frequent[:frequent], rows[rows >= 0]])
        return torch.unique(ids, sorted=True).to(src.device)


def coverage(table: LexicalTable, pairs: Iterable[tuple[Sequence[int], Sequence[int]]], per_source: int,
             frequent: int) -> float:
    """Share of the target pieces of ``pairs`` that are in their own sentence's shortlist."""
    hit = total = 0
    for s, t in pairs:
        if not t:
            continue
        allowed = table.shortlist(torch.tensor(list(s) or [0]), per_source, frequent)
        hit += int(torch.isin(torch.tensor(t), allowed).sum())
        total += len(t)
    return hit / max(total, 1)
