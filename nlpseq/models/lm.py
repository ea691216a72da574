"""Recurrent language model (many-to-many): next-token prediction over characters or words."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from pydantic import Field

from ..config import Count, Probability
from ..nn import RecurrentEncoder, TokenEmbedding
from ..nn.recurrent import RecurrentOptions, detach_state
from ..registry import MODELS
from ..text.vocab import Vocab


@MODELS.register("rnn_lm")
class RNNLanguageModel(nn.Module):
    """Embeddings, a unidirectional recurrent encoder (any cell) and a softmax over the vocabulary.

    Under truncated BPTT the trainer feeds consecutive chunks of the same streams; batches
    marked ``carry`` start from the previous chunk's final state, detached from its graph.
    """

    class Config(RecurrentOptions):
        name: Literal["rnn_lm"] = Field("rnn_lm", description=(
            "the model (rnn_lm: a recurrent network predicting the next token)"))
        embedding_dim: Count = Field(128, description="size of each token vector")
        hidden_size: Count = Field(512, description="size of the recurrent state")
        dropout: Probability = Field(0.2, description="on the outputs, and between stacked layers")
        embedding_dropout: Probability = Field(0.1, description="dropout on token vectors in training")
        tie_weights: bool = Field(False, description="output layer = embeddings (needs embedding_dim == hidden_size)")

    def __init__(self, cfg: Config, vocab_size: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = TokenEmbedding(vocab_size, cfg.embedding_dim, cfg.embedding_dropout)
        self.encoder = RecurrentEncoder.from_options(cfg.embedding_dim, cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        if cfg.tie_weights and cfg.embedding_dim != cfg.hidden_size:
            from ..errors import RecipeError

            raise RecipeError("model.tie_weights needs model.embedding_dim equal to model.hidden_size")
        # Tied: the embedding matrix is used directly rather than shared as a second parameter,
        # which safetensors would refuse to save.
        self.out = None if cfg.tie_weights else nn.Linear(cfg.hidden_size, vocab_size)
        self.out_bias = nn.Parameter(torch.zeros(vocab_size)) if cfg.tie_weights else None
        self._carry: Any = None

    def carried_state(self) -> Any:
        """The state the next ``carry`` chunk starts from (None before the first chunk)."""
        return self._carry

    def restore_carried_state(self, state: Any) -> None:
        self._carry = state

    def run(self, ids: torch.Tensor, lengths: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Logits (batch, time, vocab) for every position and the final state."""
        out, state = self.encoder(self.embed(ids), lengths, state, return_state=True)
        out = self.dropout(out)
        logits = F.linear(out, self.embed.weight, self.out_bias) if self.out is None else self.out(out)
        return logits, state

    def forward(self, batch: dict) -> dict:
        ids, gold = batch["input"], batch["target"]
        lengths = batch.get("lengths")
        if lengths is None:
            lengths = torch.full((ids.size(0),), ids.size(1), dtype=torch.long)
        state = self._carry if batch.get("carry") else None
        logits, state = self.run(ids, lengths, state)
        # The truncation: the next chunk starts from these states but sends no gradient back here.
        self._carry = detach_state(state) if batch.get("carry") is not None else None
        units = int((gold != Vocab.pad_id).sum())
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), gold.reshape(-1), ignore_index=Vocab.pad_id,
                               reduction="sum") / max(units, 1)
        return {"loss": loss, "units": units}
