"""Length-bucketed, token-budget batching and padding."""

from __future__ import annotations

import random
from typing import Any, Sequence

import torch


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
