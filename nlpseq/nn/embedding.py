"""Token embeddings, optionally initialised from word2vec/GloVe text files."""

from __future__ import annotations

import os

import torch
from pydantic import Field
from torch import nn

from ..config import Section
from ..errors import DataError
from ..fileio import iter_lines
from ..text.vocab import Vocab


def load_word_vectors(path: str | os.PathLike, vocab: Vocab, dim: int) -> tuple[torch.Tensor, int]:
    """Read vectors for the words of ``vocab`` from a word2vec or GloVe text file.

    The word2vec header line (``count dim``) is optional. Words missing from the file keep
    a small random initialisation; so do the special tokens.

    Returns:
        A ``(len(vocab), dim)`` matrix and the number of vocabulary words found.

    Raises:
        DataError: a line has the wrong number of values; the message gives the line number.
    """
    weights = torch.randn(len(vocab), dim) * 0.1
    weights[vocab.pad_id] = 0
    found = 0
    for i, line in enumerate(iter_lines(path), 1):
        parts = line.rstrip().split(" ")
        if i == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue  # word2vec header
        if len(parts) < 2:
            continue
        if len(parts) - 1 != dim:
            raise DataError(f"{path}:{i}: vector has {len(parts) - 1} values, the model expects {dim}")
        idx = vocab.stoi.get(parts[0])
        if idx is None or idx < 4:
            continue
        try:
            weights[idx] = torch.tensor([float(v) for v in parts[1:]])
        except ValueError:
            raise DataError(f"{path}:{i}: not a number in the vector of '{parts[0]}'") from None
        found += 1
    return weights, found


class SubwordOptions(Section):
    """The model key of character n-gram vectors, for every model whose embedding can add them."""

    subword_buckets: int = Field(0, ge=0, description=(
        "> 0: add hashed character 3-5-gram vectors to each word's (unseen words too)"))


class TokenEmbedding(nn.Module):
    """Embedding lookup with padding id 0 and dropout, shared by every model family.

    Args:
        num_embeddings: vocabulary size.
        dim: vector size.
        dropout: dropout on the looked-up vectors.
        word_dropout: probability of replacing a token by ``<unk>`` in training, so the
            model learns a useful unknown-word vector.
        subword_buckets: when above 0, each token's vector also gets the mean of the vectors of
            its hashed character n-grams (``nlpseq.text.char_ngrams``), passed to ``forward``.
            Word dropout drops only the word's own vector, so training teaches the model to
            read unseen words from their n-grams.
    """

    def __init__(self, num_embeddings: int, dim: int, dropout: float = 0.0, word_dropout: float = 0.0,
                 subword_buckets: int = 0) -> None:
        super().__init__()
        self.weight_layer = nn.Embedding(num_embeddings, dim, padding_idx=Vocab.pad_id)
        # EmbeddingBag averages without materialising one vector per n-gram; bucket 0 (padding) is left out of the mean.
        self.ngram_layer = nn.EmbeddingBag(subword_buckets + 1, dim, mode="mean", padding_idx=0) if subword_buckets else None
        self.dropout = nn.Dropout(dropout)
        self.word_dropout = word_dropout
        self.dim = dim

    @property
    def weight(self) -> nn.Parameter:
        return self.weight_layer.weight

    def load_pretrained(self, weights: torch.Tensor, freeze: bool = False) -> None:
        with torch.no_grad():
            self.weight_layer.weight.copy_(weights)
        self.weight_layer.weight.requires_grad_(not freeze)

    def forward(self, ids: torch.Tensor, ngrams: torch.Tensor | None = None) -> torch.Tensor:
        """Vectors of ``ids`` (any shape); ``ngrams`` holds ``ids.shape + (K,)`` bucket ids, 0 padding."""
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(ids.shape, device=ids.device) < self.word_dropout) & (ids > Vocab.eos_id)
            ids = ids.masked_fill(drop, Vocab.unk_id)
        vectors = self.weight_layer(ids)
        if self.ngram_layer is not None:
            if ngrams is None:
                raise ValueError("this embedding adds character n-gram vectors: pass the tokens' n-gram ids")
            if ngrams.shape[:-1] != ids.shape:
                raise ValueError(f"n-gram ids of shape {tuple(ngrams.shape)} do not fit token ids of shape {tuple(ids.shape)}")
            subword = self.ngram_layer(ngrams.reshape(-1, ngrams.size(-1)))
            vectors = vectors + subword.view(*ids.shape, -1).to(vectors.dtype)
        return self.dropout(vectors)
