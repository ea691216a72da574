"""Per-step recurrent layers over padded batches: any cell of :mod:`nlpseq.nn.cells`, stacked,
bidirectional, with skip connections, variational/recurrent dropout and zoneout.

Padded steps never change a state: after a sequence ends its state is carried unchanged, so the
final state of every sequence is the one at its own last token.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch
from torch import nn

from ..registry import CELLS
from . import cells as _cells  # noqa: F401  (registers the built-in cells)
from .masks import padding_mask


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of (batch, time, ...) within its own length; padding stays in place."""
    t = torch.arange(x.size(1), device=x.device).unsqueeze(0)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < lens, lens - 1 - t, t)
    return x.gather(1, idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand_as(x))


def _sequence_mask(p: float, shape: tuple, ref: torch.Tensor) -> torch.Tensor:
    # One dropout mask per sequence, reused at every step (Gal & Ghahramani 2016).
    return torch.bernoulli(ref.new_full(shape, 1 - p)) / (1 - p)


class StepNoise(NamedTuple):
    """The per-sequence dropout masks of a layer stepped one token at a time (a decoder)."""

    inputs: torch.Tensor | None  # variational dropout on the input
    recurrent: torch.Tensor | None  # recurrent dropout on the candidate


class CellLayer(nn.Module):
    """One direction of one layer: the input projection of all steps in one matmul, then the steps.

    Args:
        cell: a name in :data:`~nlpseq.nn.cells.CELLS`.
        reverse: run right to left.
        variational_dropout: dropout on the inputs with one mask per sequence.
        recurrent_dropout: dropout on the candidate update, one mask per sequence (Semeniuta et al.).
        zoneout: probability of keeping each unit's previous state (Krueger et al. 2016); at
            evaluation the expectation is used, as in the paper.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, reverse: bool = False,
                 variational_dropout: float = 0.0, recurrent_dropout: float = 0.0, zoneout: float = 0.0,
                 **cell_options) -> None:
        super().__init__()
        self.cell = CELLS.get(cell)(input_size, hidden_size, **cell_options)
        self.width = self.cell.conv_width
        self.proj = nn.Linear(input_size * self.width, self.cell.proj_size)
        self.reverse = reverse
        self.variational_dropout, self.recurrent_dropout, self.zoneout = variational_dropout, recurrent_dropout, zoneout

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None,
                prev_input: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Outputs (batch, time, hidden), zero at padding, and the final state tuple.

        ``state`` continues from an earlier chunk (truncated BPTT); None starts from zeros. A
        width-2 time convolution (QRNN) also needs that chunk's last input, ``prev_input``
        (batch, input); :attr:`last_input` holds it after every call.
        """
        batch, steps, _ = x.shape
        mask = padding_mask(lengths.to(x.device), steps)
        if self.reverse:
            x = reverse_padded(x, lengths)
        if self.training and self.variational_dropout > 0:
            x = x * _sequence_mask(self.variational_dropout, (batch, 1, x.size(2)), x)
        if self.width == 2:  # width-2 convolution over time: [x_{t-1}; x_t]
            ends = (lengths.to(x.device) - 1).clamp(min=0)
            self.last_input = x[torch.arange(batch, device=x.device), ends]
            before = x.new_zeros(batch, 1, x.size(2)) if prev_input is None else prev_input.unsqueeze(1)
            x = torch.cat([torch.cat([before, x[:, :-1]], 1), x], -1)
        xw = self.cell.project(x, self.proj)
        hidden = self.cell.hidden_size
        rec_mask = (_sequence_mask(self.recurrent_dropout, (batch, hidden), x)
                    if self.training and self.recurrent_dropout > 0 else None)
        if state is None:
            state = self.cell.init_state(batch, x)
        if self.cell.scan is not None and not self.zoneout:
            return self._scan(xw, state, mask, lengths, rec_mask)
        outs = []
        # unbind, not xw[:, t]: the backward of 128 slices would build 128 full-size zero gradients.
        inputs, lives = xw.unbind(1), mask.unsqueeze(2).unbind(1)
        all_live = int(lengths.min()) if len(lengths) else 0  # steps before this need no padding mask
        for t in range(steps):
            new = self._zone(self.cell(inputs[t], state, rec_mask), state)
            if t < all_live:
                state = new
                outs.append(state[0])
            else:
                live = lives[t]
                state = tuple(torch.where(live, n, s) for n, s in zip(new, state))
                outs.append(state[0] * live)
        out = torch.stack(outs, 1) if outs else x.new_zeros(batch, 0, hidden)
        if self.reverse:
            out = reverse_padded(out, lengths)
        return out, state

    def _zone(self, new: tuple[torch.Tensor, ...], state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.zoneout <= 0:
            return new
        if self.training:
            keep = [torch.bernoulli(s.new_full(s.shape, self.zoneout)).bool() for s in new]
            return tuple(torch.where(k, s, n) for k, s, n in zip(keep, state, new))
        return tuple(self.zoneout * s + (1 - self.zoneout) * n for s, n in zip(state, new))

    def noise(self, batch: int, ref: torch.Tensor) -> StepNoise | None:
        """Masks for stepping ``batch`` sequences with :meth:`step`, drawn once per sequence; None at evaluation."""
        if not self.training or not (self.variational_dropout or self.recurrent_dropout):
            return None
        inputs = (_sequence_mask(self.variational_dropout, (batch, self.proj.in_features), ref)
                  if self.variational_dropout > 0 else None)
        recurrent = (_sequence_mask(self.recurrent_dropout, (batch, self.cell.hidden_size), ref)
                     if self.recurrent_dropout > 0 else None)
        return StepNoise(inputs, recurrent)

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...], noise: StepNoise | None = None
             ) -> tuple[torch.Tensor, ...]:
        """One step of input ``x`` (batch, input) from ``state``, with every regularizer of :meth:`forward`:
        the path of a decoder, whose next input depends on this output (width-1 cells only)."""
        if noise is not None and noise.inputs is not None:
            x = x * noise.inputs
        new = self.cell(self.cell.project(x, self.proj), state, None if noise is None else noise.recurrent)
        return self._zone(new, state)

    def _scan(self, xw, state, mask, lengths, rec_mask):
        live = mask.unsqueeze(2)
        h_all, c_all = self.cell.scan(xw, state[1], live, rec_mask)
        out = h_all * live
        # The final h is the output at each sequence's last real step; c ran through the padding unchanged.
        last = (lengths.to(xw.device) - 1).clamp(min=0)
        h = torch.where(lengths.to(xw.device).unsqueeze(1) > 0, h_all[torch.arange(xw.size(0)), last], state[0])
        if self.reverse:
            out = reverse_padded(out, lengths)
        return out, (h, c_all[:, -1] if c_all.size(1) else state[1])


class FusedStep:
    """Gives torch's one-step cells (nn.LSTMCell, nn.GRUCell) the state-tuple interface of
    :meth:`CellLayer.step`, keeping their parameter names."""

    width = 1

    def noise(self, batch: int, ref: torch.Tensor) -> None:
        return None

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...], noise: None = None) -> tuple[torch.Tensor, ...]:
        out = self(x, state if len(state) > 1 else state[0])
        return tuple(out) if isinstance(out, tuple) else (out,)


@functools.cache
def fused_step_class(base: type[nn.Module]) -> type[nn.Module]:
    return type(base.__name__, (FusedStep, base), {"__module__": __name__})


def step_layer(cell: str, input_size: int, hidden_size: int, fused: bool = False, **layer_options) -> nn.Module:
    """One layer stepped one input at a time (``noise(batch, ref)``, ``step(x, state, noise) -> state``):
    torch's one-step kernel of the cell when ``fused`` (no per-step regularizers), else a :class:`CellLayer`."""
    if fused:
        return fused_step_class(CELLS.get(cell).fused_step)(input_size, hidden_size)
    return CellLayer(cell, input_size, hidden_size, **layer_options)


class CellRNN(nn.Module):
    """Stacked, optionally bidirectional :class:`CellLayer` s with the output API of torch's RNNs.

    Args:
        skip: add each layer's input to its output when the sizes match (residual connections).
        dropout: dropout between layers.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, skip: bool = False, **layer_options) -> None:
        super().__init__()
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            size = input_size if i == 0 else hidden_size * dirs
            self.layers.append(nn.ModuleList(CellLayer(cell, size, hidden_size, reverse=d == 1, **layer_options)
                                             for d in range(dirs)))
        self.dropout = nn.Dropout(dropout)
        self.skip = skip
        self.has_cell_state = CELLS.get(cell).state_count == 2

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, states: list[tuple[torch.Tensor, ...]] | None = None):
        """Returns outputs (batch, time, hidden*dirs), h_n and c_n (layers*dirs, batch, hidden; c_n may be None).

        ``states`` (one state tuple per layer and direction, as :attr:`last_states` holds them
        after a call) continues from an earlier chunk.
        """
        hs, cs, finals = [], [], []
        for i, directions in enumerate(self.layers):
            if i > 0:
                x = self.dropout(x)
            start = i * len(directions)
            carried = [states[start + d] if states is not None else (None, None) for d in range(len(directions))]
            results = [layer(x, lengths, *carried[d]) for d, layer in enumerate(directions)]
            finals += [(state, getattr(layer, "last_input", None)) for (_, state), layer in zip(results, directions)]
            out = torch.cat([r[0] for r in results], -1)
            if self.skip and out.shape == x.shape:
                out = out + x
            x = out
            for _, state in results:
                hs.append(state[0])
                cs.append(state[1] if len(state) > 1 else None)
        h_n = torch.stack(hs)
        c_n = torch.stack(cs) if self.has_cell_state else None
        self.last_states = finals
        return x, h_n, c_n
