"""Finding the best binary tree under a recursive merge scorer: CKY over all spans, or greedy merging.

The scorer composes two adjacent constituents into a parent p = tanh(W_l c_l + W_r c_r [+ V r_ij] + b)
and scores the merge u·p. Because W_l c_l and W_r c_r are computed once per chart cell, every
(span, split) pair costs one addition, a tanh and a dot product, and a whole span length is one
batched operation. A cell keeps its best derivation's vector (Socher et al. 2011 keep a beam of
trees; CKY's one-best per span is that search with a beam of one per cell, over all spans).

A tree is returned as internal nodes in post-order, ``(start, end, left, right)`` with children
as in :class:`~nlpseq.data.ptb.BinaryTree` (``-1 - w`` for word ``w``).
"""

from __future__ import annotations

from typing import Protocol

import torch

Nodes = list[tuple[int, int, int, int]]


class MergeScorer(Protocol):
    def project(self, reps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_l c, W_r c) for constituent vectors ``c`` (..., d)."""

    def parent(self, left_proj: torch.Tensor, right_proj: torch.Tensor, span: torch.Tensor | None) -> torch.Tensor:
        """Parent vectors from projected children and the span term (or None)."""

    def merge_score(self, parent: torch.Tensor) -> torch.Tensor:
        """u·p for parent vectors (..., d) -> (...)."""


def cky(scorer: MergeScorer, leaves: torch.Tensor, lengths: list[int], span_terms: torch.Tensor | None = None,
        margin: torch.Tensor | None = None) -> list[tuple[Nodes, torch.Tensor, float]]:
    """The highest-scoring binary tree of every sentence of a padded batch, all sentences at once.

    Args:
        leaves: (batch, n, d) word constituents; sentence ``b`` is its first ``lengths[b]`` rows.
            A span never reads past its own end, so padding changes no sentence's result.
        span_terms: optional (batch, n, n + 1, d) span term for each span ``[i, j)``.
        margin: optional (batch, n, n + 1) cost added to a span's score (loss-augmented decoding).

    Returns:
        per sentence: the tree's nodes, their parent vectors (nodes, d) in the same order, the tree's score.
    """
    bsz, n, d = leaves.shape
    reps = leaves.new_zeros(bsz, n, n + 1, d)
    score = leaves.new_zeros(bsz, n, n + 1)
    split = torch.zeros(bsz, n, n + 1, dtype=torch.long, device=leaves.device)
    ar = torch.arange(n, device=leaves.device)
    reps[:, ar, ar + 1] = leaves
    left_p, right_p = leaves.new_zeros(bsz, n, n + 1, d), leaves.new_zeros(bsz, n, n + 1, d)
    left_p[:, ar, ar + 1], right_p[:, ar, ar + 1] = scorer.project(leaves)
    for length in range(2, n + 1):
        m = n - length + 1
        starts = ar[:m]
        ends = starts + length
        term = None if span_terms is None else span_terms[:, starts, ends].unsqueeze(2)
        # Children of span [i, i + length) at split k are cells (i, k) and (k, i + length): strided views
        # of the chart (no copies), (batch, m, length - 1, ...).
        left, right = _children(left_p, length), _children(right_p, length, right=True)
        parents = scorer.parent(left, right, term)  # (batch, m, length - 1, d)
        total = _children(score, length) + _children(score, length, right=True) + scorer.merge_score(parents)
        best, k = total.max(-1)
        if margin is not None:
            best = best + margin[:, starts, ends]
        score[:, starts, ends] = best
        split[:, starts, ends] = k + 1 + starts
        chosen = parents.gather(2, k[..., None, None].expand(bsz, m, 1, d)).squeeze(2)
        reps[:, starts, ends] = chosen
        left_p[:, starts, ends], right_p[:, starts, ends] = scorer.project(chosen)
    split_list = split.tolist()
    out = []
    for b, length in enumerate(lengths):
        nodes: Nodes = []
        spans: list[tuple[int, int]] = []

        def backtrack(i: int, j: int) -> int:
            if j - i == 1:
                return -1 - i
            k = split_list[b][i][j]
            left, right = backtrack(i, k), backtrack(k, j)
            nodes.append((i, j, left, right))
            spans.append((i, j))
            return len(nodes) - 1

        backtrack(0, length)
        if nodes:
            idx = torch.tensor(spans, device=leaves.device)
            vectors = reps[b, idx[:, 0], idx[:, 1]]
        else:
            vectors = leaves.new_zeros(0, d)
        out.append((nodes, vectors, float(score[b, 0, length].detach()) if length > 1 else 0.0))
    return out


def _children(chart: torch.Tensor, length: int, right: bool = False) -> torch.Tensor:
    """View of the left (cells (i, k)) or right (cells (k, i + length)) children of every span of ``length``.

    ``chart`` is contiguous (batch, n, n + 1[, d]); the result is (batch, n - length + 1, length - 1[, d]),
    indexed by span start i and split k - i - 1.
    """
    bsz, n = chart.shape[:2]
    d = chart.size(3) if chart.dim() == 4 else 1
    row, cell = (n + 1) * d, d
    if right:  # (i + 1 + r, i + length)
        offset, stride_r = row + length * cell, row
    else:  # (i, i + 1 + r)
        offset, stride_r = cell, cell
    shape = (bsz, n - length + 1, length - 1) + ((d,) if chart.dim() == 4 else ())
    strides = (n * row, row + cell, stride_r) + ((1,) if chart.dim() == 4 else ())
    return chart.as_strided(shape, strides, chart.storage_offset() + offset)


def greedy(scorer: MergeScorer, leaves: torch.Tensor, span_terms: torch.Tensor | None = None
           ) -> tuple[Nodes, torch.Tensor, float]:
    """Socher et al.'s greedy parse: merge the best-scoring adjacent pair until one constituent is left.

    Returns the same as :func:`cky`.
    """
    n, d = leaves.shape
    if n == 1:
        return [], leaves.new_zeros(0, d), 0.0
    # Each current constituent: (start, end, reference).
    items = [(w, w + 1, -1 - w) for w in range(n)]
    proj_l, proj_r = scorer.project(leaves)
    proj = [(proj_l[w], proj_r[w]) for w in range(n)]
    nodes: Nodes = []
    vectors: list[torch.Tensor] = []
    total = 0.0
    while len(items) > 1:
        left = torch.stack([p[0] for p in proj[:-1]])
        right = torch.stack([p[1] for p in proj[1:]])
        term = None
        if span_terms is not None:
            term = span_terms[torch.tensor([it[0] for it in items[:-1]]), torch.tensor([it[1] for it in items[1:]])]
        parents = scorer.parent(left, right, term)
        scores = scorer.merge_score(parents)
        k = int(scores.argmax())
        total += float(scores[k])
        a, b = items[k], items[k + 1]
        nodes.append((a[0], b[1], a[2], b[2]))
        vectors.append(parents[k])
        pl, pr = scorer.project(parents[k])
        items[k : k + 2] = [(a[0], b[1], len(nodes) - 1)]
        proj[k : k + 2] = [(pl, pr)]
    # Merge order is not post-order (a right sibling can be built before its left one).
    ordered, vecs = _postorder(nodes, vectors)
    return ordered, vecs, total


def _postorder(nodes: Nodes, vectors: list[torch.Tensor]) -> tuple[Nodes, torch.Tensor]:
    out: Nodes = []
    vecs: list[torch.Tensor] = []

    def visit(ref: int) -> int:
        if ref < 0:
            return ref
        s, e, a, b = nodes[ref]
        a2, b2 = visit(a), visit(b)
        out.append((s, e, a2, b2))
        vecs.append(vectors[ref])
        return len(out) - 1

    visit(len(nodes) - 1)
    return out, torch.stack(vecs)
