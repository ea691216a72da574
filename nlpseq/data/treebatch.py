"""Trees as flat node arrays, and minibatches of them ordered by height for level-batched execution.

A tree is encoded in post-order (children before parents): for each node its word id (leaves)
or -1, the local indices of its two children (or -1), its height (leaves 0) and its label.
:func:`collate_trees` merges a minibatch into one node array sorted by height, so every node
of one height across the whole minibatch is one contiguous slice: one tensor operation.
"""

from __future__ import annotations

from typing import Sequence

import torch
from ..nltk_light import Tree

from ..errors import DataError
from ..text.vocab import Vocab


def encode_tree(tree: Tree, vocab: Vocab, lowercase: bool = False, label_of=int) -> dict[str, list[int]]:
    """Flatten a binary tree whose preterminals hold one token each into post-order arrays.

    Raises:
        DataError: a node has other than one or two children.
    """
    words: list[int] = []
    left: list[int] = []
    right: list[int] = []
    height: list[int] = []
    labels: list[int] = []

    def visit(node: Tree) -> int:
        # An explicit stack would avoid recursion limits, but SST/PTB trees are at most ~60 deep.
        kids = list(node)
        if all(isinstance(k, str) for k in kids):
            token = " ".join(kids)
            words.append(vocab.stoi.get(token.lower() if lowercase else token, vocab.unk_id))
            left.append(-1)
            right.append(-1)
            height.append(0)
        elif len(kids) == 2:
            a, b = visit(kids[0]), visit(kids[1])
            words.append(-1)
            left.append(a)
            right.append(b)
            height.append(1 + max(height[a], height[b]))
        else:
            raise DataError(f"node '{node.label()}' has {len(kids)} children; binarize the tree first")
        labels.append(label_of(node.label()))
        return len(words) - 1

    visit(tree)
    return {"words": words, "left": left, "right": right, "height": height, "labels": labels}


def collate_trees(rows: Sequence[dict[str, Sequence[int]]]) -> dict[str, torch.Tensor]:
    """Merge encoded trees into one height-ordered node array.

    Returns:
        ``words`` (leaves,): word ids of the first ``leaves`` nodes;
        ``left``/``right`` (internal,): child indices of the remaining nodes;
        ``level_sizes`` (a list of ints): how many internal nodes each height 1, 2, ... has;
        ``labels`` (nodes,); ``roots`` (trees,): index of each tree's root;
        ``positions`` (nodes,): where each input node, in the trees' concatenated post-order, went.
    """
    sizes = [len(r["words"]) for r in rows]
    offsets = torch.tensor([0] + sizes[:-1]).cumsum(0)
    owner = torch.repeat_interleave(torch.arange(len(rows)), torch.tensor(sizes))
    cat = {k: torch.tensor([v for r in rows for v in r[k]], dtype=torch.long)
           for k in ("words", "left", "right", "height", "labels")}
    shift = offsets[owner]
    left = torch.where(cat["left"] >= 0, cat["left"] + shift, cat["left"])
    right = torch.where(cat["right"] >= 0, cat["right"] + shift, cat["right"])
    order = torch.argsort(cat["height"], stable=True)
    new_index = torch.empty_like(order)
    new_index[order] = torch.arange(len(order))
    height = cat["height"][order]
    n_leaves = int((height == 0).sum())
    internal = order[n_leaves:]
    roots = new_index[offsets + torch.tensor(sizes) - 1]  # post-order: the root is each tree's last node
    return {
        "words": cat["words"][order[:n_leaves]],
        "left": new_index[left[internal]],
        "right": new_index[right[internal]],
        "level_sizes": torch.bincount(height[n_leaves:])[1:].tolist() if len(internal) else [],
        "labels": cat["labels"][order],
        "roots": roots,
        "positions": new_index,
    }
