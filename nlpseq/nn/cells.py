"""Recurrent cells stepped in Python, for what torch's fused kernels cannot do.

Each cell declares how wide its input projection is; :class:`~nlpseq.nn.layers.CellLayer`
computes that projection for every time step in one matrix product and then calls the cell
once per step with the projected input and the previous state. States are tuples of tensors
whose first element is the output ``h``.

A cell class describes itself: how many tensors its state holds, how many inputs its time
convolution reads, torch's fused kernels for it if any, and the recipe keys of its own options
(``Options``, merged into :class:`~nlpseq.nn.recurrent.RecurrentOptions`). Registered under a name
in :data:`~nlpseq.registry.CELLS`, it is usable from every recipe's ``model.cell``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from pydantic import Field

from ..config import Count, Section
from ..errors import RecipeError
from ..registry import CELLS


class Cell(nn.Module):
    """Base: ``proj_size`` input-projection features per step; ``forward(xw, state) -> state``."""

    hidden_size: int
    proj_size: int
    state_count: ClassVar[int] = 1  # how many tensors a state holds (2: h and a memory cell c)
    conv_width: int = 1  # inputs the projection reads: x_t alone, or [x_{t-1}; x_t] (QRNN's convolution)
    fused: ClassVar[type[nn.RNNBase] | None] = None  # torch's whole-sequence kernel of the same cell
    fused_step: ClassVar[type[nn.RNNCellBase] | None] = None  # torch's one-step kernel of the same cell

    class Options(Section):
        """The recipe keys of this cell's own settings (none by default)."""

    @classmethod
    def keyword_arguments(cls, options: Any) -> dict[str, Any]:
        """The constructor's keyword arguments from a model section holding this cell's ``Options``."""
        return {}

    def init_state(self, batch: int, ref: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(ref.new_zeros(batch, self.hidden_size) for _ in range(self.state_count))

    # Cells whose gates depend on the input only (SRU, QRNN) also define ``scan(xw, c0, live,
    # rec_mask) -> (h, c)`` over all steps at once, leaving only c_t = f_t c_{t-1} + u_t sequential.
    scan = None

    def project(self, x: torch.Tensor, proj: nn.Linear) -> torch.Tensor:
        """The per-step input features of every step; a cell may add columns that need no product."""
        return proj(x)

    def candidate_dropout(self, g: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        # Recurrent dropout without memory loss (Semeniuta et al. 2016): only the candidate is dropped.
        return g if mask is None else g * mask


@CELLS.register("elman")
class ElmanCell(Cell):
    """h_t = tanh(W x_t + U h_{t-1} + b)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, hidden_size
        self.U = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, xw, state, rec_mask=None):
        return (torch.tanh(xw + self.U(state[0])),)


@CELLS.register("jordan")
class JordanCell(Cell):
    """Jordan network: the previous output y_{t-1} is fed back; y_t = tanh(V h_t + c)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, hidden_size
        self.U = nn.Linear(hidden_size, hidden_size, bias=False)
        self.V = nn.Linear(hidden_size, hidden_size)

    def forward(self, xw, state, rec_mask=None):
        h = torch.tanh(xw + self.U(state[0]))
        return (torch.tanh(self.V(h)),)


@CELLS.register("lstm")
class LSTMCell(Cell):
    """The LSTM of torch.nn.LSTM (gate order i, f, g, o), so its weights can be copied across."""

    state_count = 2
    fused, fused_step = nn.LSTM, nn.LSTMCell

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, 4 * hidden_size
        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)

    def forward(self, xw, state, rec_mask=None):
        h, c = state
        i, f, g, o = (xw + self.W_hh(h)).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.candidate_dropout(torch.tanh(g), rec_mask)
        return torch.sigmoid(o) * torch.tanh(c), c


@CELLS.register("gru")
class GRUCell(Cell):
    """The GRU of torch.nn.GRU: r and z gates, reset applied to the recurrent part of the candidate."""

    fused, fused_step = nn.GRU, nn.GRUCell

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, 3 * hidden_size
        self.W_hh = nn.Linear(hidden_size, 3 * hidden_size)

    def forward(self, xw, state, rec_mask=None):
        h = state[0]
        xr, xz, xn = xw.chunk(3, -1)
        hr, hz, hn = self.W_hh(h).chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = self.candidate_dropout(torch.tanh(xn + r * hn), rec_mask)
        return ((1 - z) * n + z * h,)


@CELLS.register("residual_lstm")
class ResidualLSTMCell(Cell):
    """Residual LSTM (Prakash et al. 2016): h_t = o_t * (W_p tanh(c_t) + W_h x_t)."""

    state_count = 2

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, 5 * hidden_size  # i, f, g, o and W_h x
        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)
        self.W_p = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, xw, state, rec_mask=None):
        h, c = state
        gates, shortcut = xw[..., : 4 * self.hidden_size], xw[..., 4 * self.hidden_size :]
        i, f, g, o = (gates + self.W_hh(h)).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.candidate_dropout(torch.tanh(g), rec_mask)
        return torch.sigmoid(o) * (self.W_p(torch.tanh(c)) + shortcut), c


@CELLS.register("rhn")
class RHNCell(Cell):
    """Recurrent highway network (Zilly et al. 2016) with recurrence depth ``depth`` and coupled carry gate."""

    class Options(Section):
        rhn_depth: Count = Field(3, description="recurrent highway network: micro-layers per time step")

    @classmethod
    def keyword_arguments(cls, options: Any) -> dict[str, Any]:
        return {"depth": options.rhn_depth}

    def __init__(self, input_size: int, hidden_size: int, depth: int = 3) -> None:
        super().__init__()
        self.hidden_size, self.proj_size = hidden_size, 2 * hidden_size  # the input enters the first micro-layer
        self.R = nn.ModuleList(nn.Linear(hidden_size, 2 * hidden_size) for _ in range(depth))
        with torch.no_grad():
            for r in self.R:
                r.bias[hidden_size:].fill_(-2.0)  # transform gates start mostly closed: carry the state

    def forward(self, xw, state, rec_mask=None):
        s = state[0]
        for layer, r in enumerate(self.R):
            pre = r(s) + (xw if layer == 0 else 0)
            hh, t = pre.chunk(2, -1)
            t = torch.sigmoid(t)
            s = self.candidate_dropout(torch.tanh(hh), rec_mask) * t + s * (1 - t)
        return (s,)


def linear_recurrence(f: torch.Tensor, u: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """c_t = f_t * c_{t-1} + u_t along dim 1: the only sequential part of SRU and QRNN."""
    cs, c = [], c0
    for f_t, u_t in zip(f.unbind(1), u.unbind(1)):
        c = torch.addcmul(u_t, f_t, c)
        cs.append(c)
    return torch.stack(cs, 1) if cs else f.new_zeros(f.size(0), 0, f.size(2))


@CELLS.register("sru")
class SRUCell(Cell):
    """Simple recurrent unit (Lei et al. 2017): every matrix product is in the input projection;
    the recurrence is element-wise. h_t = r ⊙ tanh(c_t) + (1 - r) ⊙ x_t, with x_t replaced by
    W_s x_t when the input and state sizes differ (as in the paper)."""

    state_count = 2

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.identity_highway = input_size == hidden_size
        # x~, f, r (and the highway W_s x when the sizes differ)
        self.hidden_size, self.proj_size = hidden_size, (3 if self.identity_highway else 4) * hidden_size

    def project(self, x: torch.Tensor, proj: nn.Linear) -> torch.Tensor:
        return torch.cat([proj(x), x], -1) if self.identity_highway else proj(x)

    def forward(self, xw, state, rec_mask=None):
        _, c = state
        xt, f, r, skip = xw.chunk(4, -1)
        f, r = torch.sigmoid(f), torch.sigmoid(r)
        c = f * c + (1 - f) * self.candidate_dropout(xt, rec_mask)
        return r * torch.tanh(c) + (1 - r) * skip, c

    def scan(self, xw, c0, live, rec_mask=None):
        xt, f, r, skip = xw.chunk(4, -1)
        f, r = torch.sigmoid(f), torch.sigmoid(r)
        u = (1 - f) * self.candidate_dropout(xt, None if rec_mask is None else rec_mask.unsqueeze(1))
        # At padded steps f = 1 and u = 0, so the state passes through unchanged.
        c = linear_recurrence(torch.where(live, f, 1.0), u * live, c0)
        return r * torch.tanh(c) + (1 - r) * skip, c


@CELLS.register("qrnn")
class QRNNCell(Cell):
    """QRNN with fo-pooling (Bradbury et al. 2016). The convolution over time is the input
    projection of [x_{t-1}; x_t] with ``window=2`` (the paper's width), of x_t alone with
    ``window=1`` (the upper layers of Merity et al.'s QRNN language models); see
    :class:`~nlpseq.nn.layers.CellLayer`."""

    state_count = 2
    conv_width = 2  # the default window; an instance holds its own

    class Options(Section):
        qrnn_window: Count = Field(2, description="QRNN convolution width over time: 2 (the paper's), or 1 (x_t only)")

    @classmethod
    def keyword_arguments(cls, options: Any) -> dict[str, Any]:
        return {"window": options.qrnn_window}

    def __init__(self, input_size: int, hidden_size: int, window: int = 2) -> None:
        super().__init__()
        if window not in (1, 2):
            raise RecipeError(f"model.qrnn_window: must be 1 or 2, got {window}")
        self.conv_width = window
        self.hidden_size, self.proj_size = hidden_size, 3 * hidden_size  # z, f, o

    def forward(self, xw, state, rec_mask=None):
        _, c = state
        z, f, o = xw.chunk(3, -1)
        f = torch.sigmoid(f)
        c = f * c + (1 - f) * self.candidate_dropout(torch.tanh(z), rec_mask)
        return torch.sigmoid(o) * c, c

    def scan(self, xw, c0, live, rec_mask=None):
        z, f, o = xw.chunk(3, -1)
        f = torch.sigmoid(f)
        u = (1 - f) * self.candidate_dropout(torch.tanh(z), None if rec_mask is None else rec_mask.unsqueeze(1))
        c = linear_recurrence(torch.where(live, f, 1.0), u * live, c0)
        return torch.sigmoid(o) * c, c


__all__ = ["CELLS", "Cell", "linear_recurrence"]
