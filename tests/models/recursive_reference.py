"""Naive per-node recursion over an nltk tree: the reference the level-batched models are tested
and benchmarked against. Never used for training or inference."""

from __future__ import annotations

import torch
from nltk import Tree

from nlpseq.models.recursive import RecursiveModel
from nlpseq.text.vocab import Vocab


def naive_node_logits(model: RecursiveModel, tree: Tree, vocab: Vocab, lowercase: bool = False) -> list[torch.Tensor]:
    """Logits of every node of ``tree``, in post-order, computed one node at a time."""
    out: list[torch.Tensor] = []

    def visit(node: Tree) -> torch.Tensor:
        kids = list(node)
        if all(isinstance(k, str) for k in kids):
            token = " ".join(kids)
            ids = torch.tensor([vocab.stoi.get(token.lower() if lowercase else token, vocab.unk_id)])
            state = model.leaf(model.embed(ids))
        else:
            state = model.compose(visit(kids[0]), visit(kids[1]))
        out.append(model.classify(model.dropout(state[:, : model.dim]))[0])
        return state

    visit(tree)
    return out
