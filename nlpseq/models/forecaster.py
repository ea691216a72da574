"""Recurrent forecaster: the last N values of a series in, the next k values out (many-to-one regression)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import RecurrentEncoder
from ..recipe import Section
from ..registry import MODELS


@MODELS.register("rnn_forecaster")
class RNNForecaster(nn.Module):
    """Reads a window of (normalised) values with any cell and predicts ``horizon`` values from its final state."""

    class Config(Section):
        name: Literal["rnn_forecaster"] = "rnn_forecaster"
        cell: str = "lstm"  # lstm | gru | elman | jordan | residual_lstm | rhn | sru | qrnn
        hidden_size: int = 64
        num_layers: int = 1
        dropout: float = 0.0
        variational_dropout: float = 0.0
        recurrent_dropout: float = 0.0
        zoneout: float = 0.0

    def __init__(self, cfg: Config, horizon: int, features: int = 1) -> None:
        super().__init__()
        self.encoder = RecurrentEncoder(features, cfg.hidden_size, cfg.num_layers, False, cfg.cell, cfg.dropout,
                                        cfg.variational_dropout, cfg.recurrent_dropout, cfg.zoneout)
        self.out = nn.Linear(cfg.hidden_size, horizon)

    def predict(self, window: torch.Tensor) -> torch.Tensor:
        """(batch, N, features) -> (batch, horizon)."""
        lengths = torch.full((window.size(0),), window.size(1), dtype=torch.long)
        _, h, _ = self.encoder(window, lengths)
        return self.out(self.encoder.last_layer_final(h))

    def forward(self, batch: dict) -> dict:
        pred = self.predict(batch["window"])
        return {"loss": F.mse_loss(pred, batch["target"]), "units": batch["target"].numel()}
