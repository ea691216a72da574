"""Recursive networks over binary trees: RecNN, RNTN and the constituency Tree-LSTM.

Every node of one height across the whole minibatch is composed in one batched operation
(see :func:`nlpseq.data.treebatch.collate_trees`); a softmax layer labels every node.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..config import Count, Probability, Section
from ..nn import SubwordOptions, TokenEmbedding
from ..registry import MODELS
from .recursive_levels import compose_levels


class TreeModelOptions(SubwordOptions):
    """Model keys every recursive network takes."""

    # Replacing a training word by <unk> keeps rare words' vectors from memorising their few
    # phrases; the leaf keeps its gold label, so the unknown-word vector learns to be neutral.
    word_dropout: float = Field(0.0, ge=0, le=1, description="share of words replaced by the unknown word in training")
    # Share of each node's loss taken by the cross-entropy against the teachers' mean probabilities
    # (data.teachers; Hinton et al. 2015); the rest stays on the gold label.
    distill_weight: float = Field(0.0, ge=0, le=1, description=(
        "weight of the teachers' soft labels in the loss (data.teachers); 0: gold labels only"))


class RecursiveModel(nn.Module):
    """Bottom-up composition with a per-node classifier; subclasses define ``leaf`` and ``compose``.

    A node's state is one row of a ``(nodes, state_size)`` tensor; its first ``dim`` entries are
    the phrase vector the classifier reads (Tree-LSTM keeps its memory cell after them).
    """

    state_size: int
    dim: int

    def __init__(self, cfg: TreeModelOptions, vocab_size: int, num_labels: int, embedding_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = TokenEmbedding(vocab_size, embedding_dim, getattr(cfg, "embedding_dropout", 0.0),
                                    cfg.word_dropout, subword_buckets=cfg.subword_buckets)
        nn.init.uniform_(self.embed.weight_layer.weight, -0.1, 0.1)
        if self.embed.ngram_layer is not None:  # as small as the word vectors, so neither drowns the other
            with torch.no_grad():
                self.embed.ngram_layer.weight.uniform_(-0.1, 0.1)[0].zero_()
        self.dropout = nn.Dropout(getattr(cfg, "dropout", 0.0))
        self.classify = nn.Linear(cfg.dim, num_labels)

    def leaf(self, vectors: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compose(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def node_states(self, batch: dict) -> torch.Tensor:
        """States of every node, in the batch's height order, computed level by level."""
        return self.compose_all(self.leaf(self.embed(batch["words"], batch.get("ngrams"))), batch)

    def compose_all(self, leaves: torch.Tensor, batch: dict) -> torch.Tensor:
        """Leaf states followed by every internal node's, one ``compose`` call per height."""
        n_leaves = leaves.size(0)
        states = leaves.new_zeros(n_leaves + batch["left"].size(0), self.state_size)
        states[:n_leaves] = leaves
        start, pos = n_leaves, 0
        for size in batch["level_sizes"]:
            left = states[batch["left"][pos : pos + size]]
            right = states[batch["right"][pos : pos + size]]
            states[start : start + size] = self.compose(left, right)
            start += size
            pos += size
        return states

    def forward(self, batch: dict) -> dict:
        states = self.node_states(batch)
        logits = self.classify(self.dropout(states[:, : self.dim]))
        trees = int(batch["roots"].numel())
        out = {"logits": logits, "units": trees}
        if "labels" in batch:
            # Summed over every node of a tree, as in Socher et al. (2013); averaged over trees.
            loss = F.cross_entropy(logits, batch["labels"], reduction="sum")
            w = self.cfg.distill_weight
            if "soft_labels" in batch and w > 0:
                # A teacher's probabilities say how sure, and how near neutral, a phrase is: the
                # graded signal SST's five-point labels round away, at no cost at inference.
                soft = -(batch["soft_labels"] * F.log_softmax(logits, -1)).sum()
                loss = (1 - w) * loss + w * soft
            out["loss"] = loss / max(trees, 1)
        return out


class _SocherNetwork(RecursiveModel):
    """What RecNN and RNTN share, set up as in the Stanford code behind the RNTN paper's numbers.

    Initialisation follows CoreNLP's ``SentimentModel``: ``W = [I + U, I + U]`` with
    ``U ~ uniform(+-1/(2 sqrt d))`` (a new phrase starts near the sum of its children, so deep trees
    neither vanish nor saturate at the start), zero biases, a classifier ``uniform(+-1/sqrt d)``;
    word vectors enter the tree through ``tanh``. The word vectors start small, ``uniform(+-0.1)``
    (the paper: +-0.0001), not CoreNLP's ``N(0, 1)``: random unit-scale features take hundreds
    of epochs to unlearn, more than a 30-minute budget. The L2 weights are CoreNLP's: composition
    weights get ten times the recipe's ``train.l2`` (0.001 against 0.0001 there).
    """

    l2_multipliers = {"W.weight": 10.0}

    def __init__(self, cfg: Section, vocab_size: int, num_labels: int) -> None:
        super().__init__(cfg, vocab_size, num_labels, cfg.dim)
        d = self.dim = self.state_size = cfg.dim
        self.W = nn.Linear(2 * d, d)
        with torch.no_grad():
            eye = torch.eye(d)
            self.W.weight.uniform_(-1 / (2 * d**0.5), 1 / (2 * d**0.5)).add_(torch.cat([eye, eye], 1))
            self.W.bias.zero_()
            self.classify.weight.uniform_(-1 / d**0.5, 1 / d**0.5)
            self.classify.bias.zero_()

    def leaf(self, vectors: torch.Tensor) -> torch.Tensor:
        return torch.tanh(vectors)

    def compose_all(self, leaves: torch.Tensor, batch: dict) -> torch.Tensor:
        """All heights in one autograd node whose gradients are derived by hand (much faster on CPU)."""
        return compose_levels(leaves, self.W.weight, self.W.bias, getattr(self, "V", None),
                              batch["left"], batch["right"], batch["level_sizes"])


@MODELS.register("recnn")
class RecNN(_SocherNetwork):
    """Recursive neural network (Goller & Kuechler 1996): p = f(W [c1; c2] + b)."""

    class Config(TreeModelOptions):
        name: Literal["recnn"] = Field("recnn", description=(
            "the model (recnn: a plain recursive network, one matrix for every composition)"))
        dim: Count = Field(30, description="word and phrase vector size")
        dropout: Probability = Field(0.0, description="dropout on phrase vectors before the classifier")

    def compose(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.W(torch.cat([left, right], -1)))


@MODELS.register("rntn")
class RNTN(_SocherNetwork):
    """Recursive neural tensor network (Socher et al. 2013): p = f(x^T V^[1:d] x + W x + b), x = [c1; c2]."""

    class Config(TreeModelOptions):
        name: Literal["rntn"] = Field("rntn", description=(
            "the model (rntn: the Recursive Neural Tensor Network, Socher et al. 2013)"))
        dim: Count = Field(30, description="word and phrase vector size (the paper uses 25-35)")
        dropout: Probability = Field(0.0, description="dropout on phrase vectors before the classifier")

    l2_multipliers = {"W.weight": 10.0, "V": 10.0}

    def __init__(self, cfg: Config, vocab_size: int, num_labels: int) -> None:
        super().__init__(cfg, vocab_size, num_labels)
        d = self.dim
        # V[i, k, j] is slice k of the paper's tensor V^[1:d] at (i, j); this layout makes the
        # bilinear term one matrix product (F.bilinear's backward runs a slow batched loop on CPU).
        # CoreNLP's range, uniform(+-1/(4d)): the model starts close to a plain RecNN.
        self.V = nn.Parameter(torch.empty(2 * d, d, 2 * d).uniform_(-1 / (4 * d), 1 / (4 * d)))

    def compose(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        x = torch.cat([left, right], -1)
        d2 = x.size(-1)
        xv = (x @ self.V.reshape(d2, -1)).view(x.size(0), -1, d2)  # (nodes, d, 2d): x^T V^[k] for every k
        return torch.tanh((xv * x.unsqueeze(1)).sum(-1) + self.W(x))


@MODELS.register("treelstm")
class BinaryTreeLSTM(RecursiveModel):
    """Binary constituency Tree-LSTM (Tai et al. 2015) with a forget gate per child."""

    class Config(TreeModelOptions):
        name: Literal["treelstm"] = Field("treelstm", description=(
            "the model (treelstm: a binary Tree-LSTM, Tai et al. 2015)"))
        embedding_dim: Count = Field(300, description="size of each word vector")
        dim: Count = Field(150, description="hidden (and memory cell) size")
        dropout: Probability = Field(0.5, description="on the hidden state before the classifier")
        embedding_dropout: Probability = Field(0.3, description="dropout on word vectors in training")

    def __init__(self, cfg: Config, vocab_size: int, num_labels: int) -> None:
        super().__init__(cfg, vocab_size, num_labels, cfg.embedding_dim)
        d = self.dim = cfg.dim
        self.state_size = 2 * d
        self.leaf_gates = nn.Linear(cfg.embedding_dim, 3 * d)  # i, o, u from the word
        self.node_gates = nn.Linear(2 * d, 5 * d)  # i, f_left, f_right, o, u from the children

    def leaf(self, vectors: torch.Tensor) -> torch.Tensor:
        i, o, u = self.leaf_gates(vectors).chunk(3, -1)
        c = torch.sigmoid(i) * torch.tanh(u)
        return torch.cat([torch.sigmoid(o) * torch.tanh(c), c], -1)

    def compose(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        d = self.dim
        (hl, cl), (hr, cr) = (left[:, :d], left[:, d:]), (right[:, :d], right[:, d:])
        i, fl, fr, o, u = self.node_gates(torch.cat([hl, hr], -1)).chunk(5, -1)
        c = torch.sigmoid(i) * torch.tanh(u) + torch.sigmoid(fl) * cl + torch.sigmoid(fr) * cr
        return torch.cat([torch.sigmoid(o) * torch.tanh(c), c], -1)
