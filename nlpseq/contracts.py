"""What the trainer and the searches ask of a model, as protocols: any module that has these methods
works with them, registered or not.

A leaf module (typing and torch only), so layers, models, the trainer and the searches can all name
the contracts without importing one another.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class TrainableModel(Protocol):
    """What :class:`~nlpseq.train.trainer.Trainer` trains: ``forward(batch)`` returns at least ``loss``
    (a scalar averaged over the batch's units) and ``units`` (how many tokens, nodes or texts it
    averages over), so losses of batches of different sizes combine correctly."""

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]: ...


@runtime_checkable
class CarriesState(Protocol):
    """A model that carries a state from one training batch to the next (truncated BPTT). The trainer
    keeps it across dev evaluations and in checkpoints; it is tensors, tuples and lists of them, or None."""

    def carried_state(self) -> Any: ...

    def restore_carried_state(self, state: Any) -> None: ...


@runtime_checkable
class TextClassifier(Protocol):
    """What the sentiment task asks of its models beyond training: ``logits(ids, lengths, ngrams)``,
    class scores (batch, labels) for padded token ids, ``ngrams`` being None unless the model's
    section sets ``subword_buckets``."""

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]: ...

    def logits(self, ids: torch.Tensor, lengths: torch.Tensor, ngrams: torch.Tensor | None = None
               ) -> torch.Tensor: ...


class DecoderMemory(Protocol):
    """What the encoder leaves for the decoder; the searches repeat it per beam (``k`` consecutive rows
    per sentence) and drop finished rows (beam search drops a sentence's rows together)."""

    def repeat(self, k: int) -> "DecoderMemory": ...

    def select(self, rows: torch.Tensor) -> "DecoderMemory": ...


@runtime_checkable
class StepDecoder(Protocol):
    """What greedy and beam search decode with, one token per step for a batch of rows:

    - ``encode(src, src_len, vocab=None) -> (memory, state)``; ``vocab``: sorted target ids (a
      shortlist, holding the special symbols) that the steps then score, in that order;
    - ``step(tokens, memory, state) -> (log-probabilities (rows, vocab), attention (rows, src), state)``;
    - ``reorder(state, rows) -> state``: the state of the given rows, in that order (beams that
      survive, sentences still open).
    """

    def encode(self, src: torch.Tensor, src_len: torch.Tensor, vocab: torch.Tensor | None = None
               ) -> tuple[DecoderMemory, Any]: ...

    def step(self, tokens: torch.Tensor, memory: DecoderMemory, state: Any
             ) -> tuple[torch.Tensor, torch.Tensor, Any]: ...

    def reorder(self, state: Any, rows: torch.Tensor) -> Any: ...
