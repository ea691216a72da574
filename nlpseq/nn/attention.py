"""Attention over encoder states: additive (Bahdanau), general and dot (Luong).

Keys are projected once per batch (:meth:`Attention.keys`), not once per decoder step.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import RecipeError

KINDS = ("bahdanau", "general", "dot")


class Attention(nn.Module):
    """Scores encoder states against a decoder query and returns their weighted sum.

    Args:
        kind: ``bahdanau`` (v^T tanh(W_q q + W_k k)), ``general`` (q^T W k) or ``dot`` (q^T k).
        query_size: decoder state size.
        key_size: encoder state size.
    """

    def __init__(self, kind: str, query_size: int, key_size: int) -> None:
        super().__init__()
        if kind not in KINDS:
            raise RecipeError(f"model.attention: '{kind}' is not one of {', '.join(KINDS)}")
        if kind == "dot" and query_size != key_size:
            raise RecipeError(f"model.attention: 'dot' needs equal decoder ({query_size}) and encoder "
                              f"({key_size}) state sizes; use 'general'")
        self.kind = kind
        if kind == "bahdanau":
            self.key_proj = nn.Linear(key_size, query_size, bias=False)
            self.query_proj = nn.Linear(query_size, query_size)
            self.v = nn.Linear(query_size, 1, bias=False)
        elif kind == "general":
            self.key_proj = nn.Linear(key_size, query_size, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """Project encoder states (batch, src, key) once per batch."""
        return memory if self.kind == "dot" else self.key_proj(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend with ``query`` (batch, steps, q) over ``memory`` (batch, src, key).

        Returns:
            context (batch, steps, key) and weights (batch, steps, src); padded source positions get 0.
        """
        if self.kind == "bahdanau":
            scores = self.v(torch.tanh(self.query_proj(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)
        else:
            scores = torch.bmm(query, keys.transpose(1, 2))
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights, memory), weights
