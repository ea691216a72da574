"""Running the one training loop under ``torchrun``: process group, batch sharding, reductions.

Nothing here is home-made distribution: the process group, gradient averaging and the
``no_sync`` accumulation are PyTorch's (``torch.distributed``, ``DistributedDataParallel``).
A single process gets :data:`SINGLE`, whose operations are no-ops, so the Trainer has one path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence

import torch
import torch.distributed as dist

from ..data.batching import EpochBatches, Share
from ..errors import RecipeError


def select_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RecipeError("train.device: 'cuda' asked for but torch sees no CUDA device")
    return torch.device(name)


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: ``rank`` of ``world`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run directory: logs, weights, checkpoints, the text layer."""
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """The device of this rank for the recipe's ``train.device``: one GPU per process under CUDA."""
        device = select_device(name)
        if device.type == "cuda" and self.enabled:
            return torch.device("cuda", self.local_rank)
        return device

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def shard(self, batches: "Sequence[list[int]] | EpochBatches", start: int = 0) -> Share:
        """This rank's share of the global batches from position ``start``: every ``world``-th one
        from ``start + rank``, built as the loop reaches them.

        The batches left are cut to a multiple of ``world`` so every rank takes the same number of
        steps (a collective with a missing rank would hang); the global batches themselves depend
        only on the seed and the epoch, so a run resumed with another number of processes continues them.
        """
        left = len(batches) - start
        return Share(batches, start + self.rank, left // self.world, self.world)

    def sum(self, *values: float) -> list[float]:
        """Each value summed over the ranks."""
        if not self.enabled:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()

    def broadcast(self, value: float | None) -> float | None:
        """Rank 0's ``value`` on every rank (None stays None)."""
        if not self.enabled:
            return value
        t = torch.tensor([float("nan") if value is None else value, 0.0 if value is None else 1.0],
                         dtype=torch.float64)
        dist.broadcast(t, 0)
        return t[0].item() if t[1].item() else None


SINGLE = Distributed()


def from_environment(device: str = "auto", timeout_s: float = 1800.0) -> Distributed:
    """Join the process group that ``torchrun`` describes in the environment; :data:`SINGLE` without one.

    The backend is NCCL when every rank has a GPU, else gloo. Raises:
        RecipeError: the environment names a world but not this process's rank.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    try:
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    except (KeyError, ValueError):
        raise RecipeError("WORLD_SIZE is set but RANK is not: launch distributed training with torchrun") from None
    ctx = Distributed(rank, world, local_rank)
    if not dist.is_initialized():
        use_cuda = device != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(local_rank)
        timeout = timedelta(seconds=timeout_s)
        store, _, _ = next(dist.rendezvous("env://", timeout=timeout))
        # torchrun keeps one agent store across elastic restarts and does not separate the rounds' keys
        # (it expects a fresh store per round): a restarted worker could read the address its killed peer
        # published and fail with "connection refused". One prefix per attempt keeps the rounds apart.
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        dist.init_process_group("nccl" if use_cuda else "gloo", store=dist.PrefixStore(f"nlpseq/attempt_{attempt}", store),
                                rank=rank, world_size=world, timeout=timeout)
    return ctx


def is_collective_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective giving up on its peers (gloo and NCCL word it differently)."""
    text = str(exc).lower()
    return dist.is_initialized() and any(w in text for w in ("timed out", "timeout", "connection closed by peer",
                                                               "connection reset by peer"))


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
