"""All levels of a RecNN/RNTN minibatch as one autograd node, with the gradients derived by hand.

Under plain autograd every level records its own gather, products and slice write, and its
backward adds a full-size gradient buffer per gather and a parameter-gradient product per level.
Here the forward keeps only what the backward needs, the backward walks the levels top-down
accumulating each child's gradient in one buffer, and the parameter gradients come at the end
as one product over all internal nodes (Socher et al. 2013, section 4, give the same derivatives).
The tests hold it to naive per-node autograd, to 1e-6 in float64.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch.autograd.function import once_differentiable


class _Levels(torch.autograd.Function):
    @staticmethod
    def forward(ctx, leaves: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, tensor: Optional[torch.Tensor],
                children: torch.Tensor, level_sizes: Sequence[int], keep: bool) -> torch.Tensor:
        n_leaves, d = leaves.shape
        n_internal = children.size(0)
        states = leaves.new_empty(n_leaves + n_internal, d)
        states[:n_leaves] = leaves
        inputs = leaves.new_empty(n_internal, 2 * d)  # x = [c1; c2] of every internal node
        flat_children = children.reshape(-1)
        # x^T V^[k] x = x^T S^[k] x / 2 with S^[k] = V^[k] + V^[k]^T, and d/dx of it is S^[k] x: keeping
        # x S for every node gives the forward term and, in the backward, x's gradient with no product by V.
        sym = None
        if tensor is not None:
            sym = (tensor + tensor.permute(2, 1, 0)).reshape(2 * d, d * 2 * d)
            # Kept for every node only when a backward will come: at inference one level's worth is enough.
            xs_all = leaves.new_empty(n_internal if keep else max(level_sizes, default=0), d, 2 * d)
        start, pos = n_leaves, 0
        for size in level_sizes:
            x = inputs[pos : pos + size]
            torch.index_select(states, 0, flat_children[2 * pos : 2 * (pos + size)], out=x.view(2 * size, d))
            z = torch.addmm(bias, x, weight.t())
            if sym is not None:
                xs = xs_all[pos : pos + size] if keep else xs_all[:size]
                torch.mm(x, sym, out=xs.view(size, -1))
                z.add_(torch.bmm(xs, x.unsqueeze(-1)).squeeze(-1), alpha=0.5)
            torch.tanh(z, out=states[start : start + size])
            start += size
            pos += size
        ctx.level_sizes = list(level_sizes)
        if keep:
            ctx.save_for_backward(states, inputs, weight, children, *((xs_all,) if sym is not None else ()))
        return states

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_states: torch.Tensor):
        saved = ctx.saved_tensors  # unpacked once: each access re-checks every tensor's version
        states, inputs, weight, children = saved[:4]
        xs_all = saved[4] if len(saved) > 4 else None
        n_internal, d2 = inputs.shape
        d = d2 // 2
        n_leaves = states.size(0) - n_internal
        grad = grad_states.clone()  # each node's gradient, completed before its level is reached
        deltas = grad.new_empty(n_internal, d)  # gradient at each node's pre-activation
        flat_children = children.reshape(-1)
        end, pos_end = states.size(0), n_internal
        for size in reversed(ctx.level_sizes):
            start, pos = end - size, pos_end - size
            p = states[start:end]
            delta = deltas[pos:pos_end]
            torch.mul(grad[start:end], 1 - p * p, out=delta)
            gx = delta @ weight
            if xs_all is not None:
                gx.add_(torch.bmm(delta.unsqueeze(1), xs_all[pos:pos_end]).squeeze(1))
            grad.index_add_(0, flat_children[2 * pos : 2 * pos_end], gx.view(2 * size, d))
            end, pos_end = start, pos
        grad_weight = deltas.t() @ inputs
        grad_bias = deltas.sum(0)
        grad_tensor = None
        if xs_all is not None:
            # dL/dV[i, k, j] = sum over nodes of x_i delta_k x_j: one product over every node at once.
            outer = (deltas.unsqueeze(-1) * inputs.unsqueeze(1)).reshape(n_internal, d * d2)
            grad_tensor = (inputs.t() @ outer).view(d2, d, d2)
        return grad[:n_leaves], grad_weight, grad_bias, grad_tensor, None, None, None


def compose_levels(leaves: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, tensor: Optional[torch.Tensor],
                   left: torch.Tensor, right: torch.Tensor, level_sizes: Sequence[int]) -> torch.Tensor:
    """States of every node for p = tanh(x^T V x + W x + b), x = [left child; right child], level by level.

    Args:
        leaves: ``(leaves, d)`` leaf states, the first rows of the result.
        weight, bias: ``W`` ``(d, 2d)`` and ``b`` ``(d,)``.
        tensor: ``V`` laid out ``(2d, d, 2d)`` (slice ``k`` is ``V[:, k, :]``), or None for a RecNN.
        left, right: child indices of the internal nodes, in height order.
        level_sizes: internal nodes per height, as :func:`nlpseq.data.treebatch.collate_trees` gives them.

    Returns:
        ``(nodes, d)``: leaves, then internal nodes in height order.
    """
    children = torch.stack([left, right], 1)
    params = (leaves, weight, bias) + ((tensor,) if tensor is not None else ())
    keep = torch.is_grad_enabled() and any(p.requires_grad for p in params)
    return _Levels.apply(leaves, weight, bias, tensor, children, level_sizes, keep)
