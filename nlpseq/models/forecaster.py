"""Recurrent forecaster: the last N values of a series in, the next k values out (many-to-one regression)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from pydantic import Field

from ..config import Count
from ..nn import RecurrentEncoder
from ..nn.recurrent import RecurrentOptions
from ..registry import MODELS


@MODELS.register("rnn_forecaster")
class RNNForecaster(nn.Module):
    """Reads a window of (normalised) values with any cell and predicts ``horizon`` values from its final state."""

    class Config(RecurrentOptions):
        name: Literal["rnn_forecaster"] = Field("rnn_forecaster", description=(
            "the model (rnn_forecaster: a recurrent network over past values)"))
        hidden_size: Count = Field(64, description="size of the recurrent state")

    def __init__(self, cfg: Config, horizon: int, features: int = 1) -> None:
        super().__init__()
        self.encoder = RecurrentEncoder.from_options(features, cfg)
        self.out = nn.Linear(cfg.hidden_size, horizon)

    def predict(self, window: torch.Tensor) -> torch.Tensor:
        """(batch, N, features) -> (batch, horizon)."""
        lengths = torch.full((window.size(0),), window.size(1), dtype=torch.long)
        _, h, _ = self.encoder(window, lengths)
        return self.out(self.encoder.last_layer_final(h))

    def forward(self, batch: dict) -> dict:
        pred = self.predict(batch["window"])
        return {"loss": F.mse_loss(pred, batch["target"]), "units": batch["target"].numel()}
