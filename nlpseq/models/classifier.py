"""Many-to-one recurrent classifier: embeddings, a recurrent encoder, pooling, a softmax layer."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..config import Count, Probability
from ..nn.masks import padding_mask
from ..nn import RecurrentEncoder, SubwordOptions, TokenEmbedding
from ..nn.recurrent import RecurrentOptions
from ..registry import MODELS


@MODELS.register("rnn_classifier")
class RNNClassifier(nn.Module):
    """Classifies a token sequence from the pooled states of a (bi)directional recurrent encoder."""

    class Config(RecurrentOptions, SubwordOptions):
        name: Literal["rnn_classifier"] = Field("rnn_classifier", description=(
            "the model (rnn_classifier: a recurrent encoder, pooled, then a softmax layer)"))
        embedding_dim: Count = Field(300, description="size of each word vector")
        hidden_size: Count = Field(256, description="per direction")
        bidirectional: bool = Field(True, description="read the text in both directions (hidden_size per direction)")
        pooling: Literal["last", "mean", "max", "attention"] = Field("max", description=(
            "how the states become one vector: the last state, their mean or maximum, or attention"))
        dropout: Probability = Field(0.5, description="before the output layer and between stacked layers")
        embedding_dropout: Probability = Field(0.3, description="dropout on word vectors in training")
        word_dropout: float = Field(0.0, ge=0, le=1, description="chance of replacing a training token by <unk>")
        pretrained_vectors: str | None = Field(None, description=(
            "word2vec/GloVe text file, or word2vec:SOURCE trained here"))
        freeze_embeddings: bool = Field(False, description="keep pretrained word vectors fixed in training")

    def __init__(self, cfg: Config, vocab_size: int, num_labels: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = TokenEmbedding(vocab_size, cfg.embedding_dim, cfg.embedding_dropout, cfg.word_dropout,
                                    cfg.subword_buckets)
        self.encoder = RecurrentEncoder.from_options(cfg.embedding_dim, cfg, cfg.bidirectional)
        size = self.encoder.output_size
        self.attn = nn.Linear(size, 1) if cfg.pooling == "attention" else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(size, num_labels)

    def logits(self, ids: torch.Tensor, lengths: torch.Tensor, ngrams: torch.Tensor | None = None) -> torch.Tensor:
        """Class scores for padded ``ids``; ``ngrams`` are the tokens' n-gram ids when the model uses them."""
        states, h, _ = self.encoder(self.embed(ids, ngrams), lengths)
        mask = padding_mask(lengths, ids.size(1))
        pooling = self.cfg.pooling
        if pooling == "last":
            pooled = self.encoder.last_layer_final(h)
        elif pooling == "mean":
            pooled = (states * mask.unsqueeze(-1)).sum(1) / lengths.clamp(min=1).unsqueeze(-1).to(states.dtype)
        elif pooling == "max":
            pooled = states.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values
        else:
            scores = self.attn(states).squeeze(-1).masked_fill(~mask, float("-inf"))
            pooled = (torch.softmax(scores, dim=1).unsqueeze(-1) * states).sum(1)
        return self.out(self.dropout(pooled))

    def forward(self, batch: dict) -> dict:
        logits = self.logits(batch["ids"], batch["lengths"], batch.get("ngrams"))
        out = {"logits": logits, "units": logits.size(0)}
        if "labels" in batch:
            out["loss"] = F.cross_entropy(logits, batch["labels"])
        return out
