"""Recurrent encoders over padded, variable-length batches.

The ``cell`` names a recurrent unit. ``lstm`` and ``gru`` run on torch's fused kernels over
packed sequences unless a per-step regularizer (variational or recurrent dropout, zoneout) or
skip connections need the Python loop of :class:`~nlpseq.nn.layers.CellRNN`; every other cell
always uses that loop. Either way padded steps never touch the states or the gradients.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from pydantic import Field, field_validator
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import Count, Probability, Section
from ..errors import RecipeError
from ..registry import CELLS
from . import cells as _cells  # registers the built-in cells
from .layers import CellRNN


def cell_class(name: str) -> type[_cells.Cell]:
    """The cell class registered as ``name``.

    Raises:
        RecipeError: no such cell; the message names the closest one and the choices.
    """
    try:
        return CELLS.get(name)
    except RecipeError as exc:
        raise RecipeError(f"model.cell: {exc}") from None


class _CellKeys(Section):
    cell: str = Field("lstm", description=(
        "any registered cell: see nlpseq.nn.cells (lstm and gru also have fused kernels)"))
    variational_dropout: Probability = Field(0.0, description="on recurrent-layer inputs, one mask per sequence")
    recurrent_dropout: Probability = Field(0.0, description="on the candidate update, without memory loss")
    zoneout: Annotated[float, Field(ge=0, le=1)] = Field(0.0, description=(
        "chance of a unit keeping its previous state (1: always)"))

    @field_validator("cell")
    @classmethod
    def _registered(cls, name: str) -> str:
        try:
            CELLS.get(name)
        except RecipeError as exc:  # as a ValueError, the recipe loader names the file and the key
            raise ValueError(str(exc)) from None
        return name

    def cell_options(self) -> dict[str, Any]:
        """The keyword arguments of this section's cell, from its own keys."""
        return cell_class(self.cell).keyword_arguments(self)

    @property
    def per_step(self) -> bool:
        """Whether a regularizer acts inside the time loop, which torch's fused kernels cannot do."""
        return bool(self.variational_dropout or self.recurrent_dropout or self.zoneout)


# The cell keys every model section shares, and each registered cell's own keys after them
# (pydantic takes fields from the last base first).
_CELL_OPTIONS = [c.Options for _, c in CELLS.items() if c.Options is not _cells.Cell.Options]
CellOptions = type("CellOptions", (*_CELL_OPTIONS, _CellKeys),
                   {"__module__": __name__, "__doc__": "The keys of a model section that choose its recurrent cell: "
                                                        "the cell, its per-step regularizers and the cells' own keys."})


class RecurrentOptions(CellOptions):
    """The recurrent-layer keys every model section shares: :class:`CellOptions` and the layer shape."""

    hidden_size: Count = Field(256, description="size of the recurrent state (per direction when bidirectional)")
    num_layers: Count = Field(1, description="stacked recurrent layers")
    dropout: Probability = Field(0.0, description="between stacked layers (and, by the model, on its outputs)")
    skip_connections: bool = Field(False, description="residual connections between stacked layers")


class RecurrentEncoder(nn.Module):
    """Stacked, optionally bidirectional recurrent layers.

    Args:
        input_size: size of each input vector.
        hidden_size: state size per direction.
        num_layers: stacked layers.
        bidirectional: run a backward layer too and concatenate.
        cell: a name in :data:`~nlpseq.nn.cells.CELLS` (lstm, gru, elman, jordan, residual_lstm, rhn, sru, qrnn).
        dropout: dropout between stacked layers.
        variational_dropout, recurrent_dropout, zoneout, skip: see :class:`~nlpseq.nn.layers.CellLayer`.
        cell_options: keyword arguments of the cell (``depth`` of rhn, ``window`` of qrnn).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 cell: str = "lstm", dropout: float = 0.0, variational_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, zoneout: float = 0.0, skip: bool = False,
                 cell_options: dict | None = None) -> None:
        super().__init__()
        kind = cell_class(cell)
        self.cell = cell
        self.hidden_size, self.num_layers, self.bidirectional = hidden_size, num_layers, bidirectional
        per_step = variational_dropout or recurrent_dropout or zoneout or skip
        self.fused = kind.fused is not None and not per_step
        between = dropout if num_layers > 1 else 0.0
        if self.fused:
            self.rnn = kind.fused(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                                  bidirectional=bidirectional, dropout=between)
        else:
            self.rnn = CellRNN(cell, input_size, hidden_size, num_layers, bidirectional, between, skip,
                               variational_dropout=variational_dropout, recurrent_dropout=recurrent_dropout,
                               zoneout=zoneout, **(cell_options or {}))

    @classmethod
    def from_options(cls, input_size: int, cfg: CellOptions, bidirectional: bool = False, *,
                     hidden_size: int | None = None, num_layers: int | None = None) -> "RecurrentEncoder":
        """The encoder a model section's :class:`RecurrentOptions` describe; ``hidden_size`` and
        ``num_layers`` replace the section's own (a translator's encoder has its own depth)."""
        return cls(input_size, hidden_size or cfg.hidden_size, num_layers or cfg.num_layers, bidirectional, cfg.cell,
                   cfg.dropout, cfg.variational_dropout, cfg.recurrent_dropout, cfg.zoneout, cfg.skip_connections,
                   cfg.cell_options())

    @property
    def output_size(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, state: Any = None,
                return_state: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | tuple[torch.Tensor, Any]:
        """Run over ``x`` (batch, time, input) with true ``lengths``.

        ``state`` is what an earlier call returned with ``return_state`` (truncated BPTT
        carries it from chunk to chunk); None starts from zeros.

        Returns:
            outputs (batch, time, output_size), zero at padded steps; the final hidden state
            (layers * directions, batch, hidden); the final cell state for LSTMs, else None.
            With ``return_state``: outputs and an opaque state to pass back as ``state``.
        """
        if not self.fused:
            out, h, c = self.rnn(x, lengths, state)
            return (out, self.rnn.last_states) if return_state else (out, h, c)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, final = self.rnn(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        if return_state:
            return out, final
        if isinstance(final, tuple):
            return out, final[0], final[1]
        return out, final, None

    def last_layer_final(self, h: torch.Tensor) -> torch.Tensor:
        """The top layer's final state, both directions concatenated: (batch, output_size)."""
        dirs = 2 if self.bidirectional else 1
        return h.view(self.num_layers, dirs, h.size(1), h.size(2))[-1].transpose(0, 1).reshape(h.size(1), -1)


def detach_state(state: Any) -> Any:
    """``state`` (a tensor, or tuples and lists of them) cut from the graph: the truncation of truncated BPTT."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)
