"""Length-bucketed, token-budget batching and padding."""

from __future__ import annotations

import itertools
import random
from typing import Any, Iterator, Protocol, Sequence

import numpy as np
import torch

# Examples bucketed together when a training set is too large to bucket whole (OpenNMT-py's
# bucket_size default): memory for batching stays at one pool however large the corpus is.
POOL = 262_144
CHUNK = 4_096  # contiguous examples that move together when the corpus order is shuffled into pools


def bucket_by_length(
    lengths: Sequence[int],
    max_tokens: int,
    max_sentences: int = 10_000,
    shuffle: bool = True,
    seed: int = 0,
) -> list[list[int]]:
    """Group example indices into batches of similar length under a padded-token budget.

    Examples are sorted by length (ties broken at random when shuffling) so that padding
    is small; a batch closes when ``longest * count`` would pass ``max_tokens`` or it holds
    ``max_sentences``. The order of the batches is then shuffled. Given the same ``seed``
    the batches are always the same, which is what makes an interrupted run resumable.

    Args:
        lengths: length of each example, in the unit the budget counts (tokens, nodes).
        max_tokens: budget of padded tokens per batch; an example longer than it gets a batch alone.
        max_sentences: most examples in one batch.
        shuffle: randomise tie order and batch order; otherwise batches come shortest first.
        seed: seed of that randomness.

    Returns:
        Lists of indices into ``lengths``.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(order)
    order.sort(key=lambda i: lengths[i])  # stable: shuffled ties stay shuffled
    batches: list[list[int]] = []
    cur: list[int] = []
    longest = 0
    for i in order:
        n = max(1, int(lengths[i]))
        if cur and (max(longest, n) * (len(cur) + 1) > max_tokens or len(cur) >= max_sentences):
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    if shuffle:
        rng.shuffle(batches)
    return batches


class LengthSource(Protocol):
    """Per-example lengths read a window at a time (a list, an array, a memory-mapped column)."""

    def __len__(self) -> int: ...

    def __getitem__(self, window: slice) -> Any: ...


class LengthsInRange:
    """A length column seen through a filter: lengths outside ``[low, high]`` read as 0, which
    leaves those examples out of training, with no index of the kept ones held in memory.

    ``column`` is anything sliceable into an array, such as a memory-mapped Arrow column.
    """

    def __init__(self, column: Any, low: int, high: int) -> None:
        self.column, self.low, self.high = column, low, high

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, window: slice) -> np.ndarray:
        v = np.asarray(self.column[window], dtype=np.int64)
        return np.where((v >= self.low) & (v <= self.high), v, 0)

    def left_out(self, window: int = 1 << 20) -> int:
        """How many examples the filter leaves out, counted a window at a time."""
        return sum(int((self[i : i + window] == 0).sum()) for i in range(0, len(self), window))


class EpochBatches:
    """One training epoch's batches: lists of example indices, in the order they are trained on.

    A training set of at most ``pool`` examples is bucketed whole by :func:`bucket_by_length`.
    A larger one is cut into runs of :data:`CHUNK` consecutive examples (fewer when ``pool`` is
    smaller) whose order is shuffled, and those are grouped into pools of ``pool`` examples; each
    pool is bucketed and shuffled on its own, when the epoch reaches it. Only one pool's indices
    and lengths are ever held, so memory does not grow with the corpus (the lengths are read a
    window at a time from ``lengths``, which may be a memory-mapped column). The batches depend
    only on the lengths, the budgets and ``seed``: an interrupted epoch resumes at the same batch,
    and skipping to it skips whole pools without building them.

    Examples of length 0 are left out: that is how a task marks examples it does not train on
    without a second index over the corpus.
    """

    def __init__(self, lengths: Sequence[int] | LengthSource, max_tokens: int, max_sentences: int, seed: int,
                 pool: int = POOL) -> None:
        self.lengths, self.max_tokens, self.max_sentences, self.seed = lengths, max_tokens, max_sentences, seed
        n = len(lengths)
        if n <= pool:
            self._whole: list[list[int]] | None = self._bucket(np.arange(n), seed)
            self._pools: list[np.ndarray] = []
            self._counts = [len(self._whole)]
        else:
            self._whole = None
            self.chunk = min(CHUNK, pool)
            order = np.random.default_rng(seed).permutation(-(-n // self.chunk))
            per_pool = pool // self.chunk
            self._pools = [order[i : i + per_pool] for i in range(0, len(order), per_pool)]
            # Counted up front: every rank must know how many steps the epoch has before the first.
            self._counts = [len(self._pool(k)) for k in range(len(self._pools))]

    def __len__(self) -> int:
        return sum(self._counts)

    def _bucket(self, index: np.ndarray, seed: int) -> list[list[int]]:
        """``index``'s examples (ascending, so that reads are sequential) in batches."""
        lens = _window(self.lengths, index)
        kept = np.flatnonzero(lens > 0)
        batches = bucket_by_length(lens[kept].tolist(), self.max_tokens, self.max_sentences, True, seed)
        chosen = index[kept]
        return [chosen[b].tolist() for b in batches]

    def _pool(self, k: int) -> list[list[int]]:
        n = len(self.lengths)
        c = self.chunk
        index = np.concatenate([np.arange(i * c, min((i + 1) * c, n)) for i in np.sort(self._pools[k])])
        return self._bucket(index, self.seed * 1_000_003 + k)

    def iter_from(self, start: int) -> Iterator[list[int]]:
        """The batches from position ``start`` on."""
        if self._whole is not None:
            yield from self._whole[start:]
            return
        for k, count in enumerate(self._counts):
            if start >= count:
                start -= count
                continue
            yield from self._pool(k)[start:]
            start = 0


def _window(lengths: Sequence[int] | LengthSource, index: np.ndarray) -> np.ndarray:
    """The lengths at ``index`` (ascending), read a run of consecutive examples at a time."""
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64)
    # Runs of consecutive indices: one slice read each, not one read per example.
    cuts = np.flatnonzero(np.diff(index) != 1) + 1
    parts = []
    for run in np.split(index, cuts):
        parts.append(np.asarray(lengths[int(run[0]) : int(run[-1]) + 1], dtype=np.int64))
    return np.concatenate(parts)


class Share:
    """Every ``step``-th batch of ``batches`` from ``first``, ``count`` of them, built as they are reached."""

    def __init__(self, batches: Sequence[list[int]] | EpochBatches, first: int, count: int, step: int) -> None:
        self.batches, self.first, self.count, self.step = batches, first, count, step

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[list[int]]:
        source = self.batches.iter_from(self.first) if isinstance(self.batches, EpochBatches) \
            else iter(self.batches[self.first :])
        return itertools.islice(source, 0, self.count * self.step, self.step)


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad integer sequences into a ``(batch, max_len)`` tensor.

    Returns:
        The padded ids and a ``(batch,)`` tensor of lengths.
    """
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), int(lengths.max()) if len(seqs) else 0), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


def to_device(batch: dict[str, Any], device: torch.device | str) -> dict[str, Any]:
    """The batch with its tensors on ``device`` (other values as they are)."""
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
