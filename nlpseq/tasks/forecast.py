"""Time-series forecasting: the next k values from the last N, scored beside naive, seasonal-naive and ARIMA."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field

from ..config import Count, Section, Share
from ..errors import DataError, InputError, RecipeError
from ..fileio import atomic_path, atomic_write_json
from ..registry import TASKS
from ..train.trainer import TrainData
from .base import Task

SCALE = "scale.json"


def load_series(name: str, resample: str | None = None) -> list[float]:
    """A series by statsmodels dataset name (``co2``, ``sunspots``, ...) or from a CSV file's last column.

    Raises:
        DataError: unknown dataset, unreadable file, or fewer than 10 numeric values.
    """
    path = Path(name)
    if path.suffix == ".csv" or path.exists():
        try:
            rows = [line.rsplit(",", 1)[-1].strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise DataError(f"{path}: unreadable ({exc})") from None
        values = []
        for i, r in enumerate(rows, 1):
            try:
                values.append(float(r))
            except ValueError:
                if i > 1:  # a header line is allowed, nothing else
                    raise DataError(f"{path}:{i}: '{r}' is not a number") from None
    else:
        try:
            import statsmodels.api as sm
        except ImportError:
            raise DataError("statsmodels is needed for its bundled series: pip install 'nlpseq[timeseries]'") from None
        dataset = getattr(sm.datasets, name, None)
        if dataset is None or not hasattr(dataset, "load_pandas"):
            raise DataError(f"data.series: '{name}' is neither a file nor a statsmodels dataset (co2, sunspots, ...)")
        frame = dataset.load_pandas().data
        column = frame.select_dtypes("number").columns[-1]
        series = frame[column]
        if resample:
            series = series.resample(resample).mean()
        values = series.interpolate().dropna().astype(float).tolist()
    if len(values) < 10:
        raise DataError(f"data.series: '{name}' has {len(values)} values; a forecaster needs more")
    return values


@dataclass
class Heldout:
    series: list[float]
    start: int  # index of the first held-out value


class Forecast(BaseModel):
    forecast: list[float]  # the next values, one per step of the model's horizon


@TASKS.register("forecast")
class ForecastTask(Task):
    """Forecast ``horizon`` steps from the last ``window`` values; the series' tail is held out."""

    models = ("rnn_forecaster",)
    default_model = "rnn_forecaster"
    metric = "rmse"
    higher_is_better = False
    plot_name = "forecast"
    pipelines = ("forecast",)

    Input = list[float]  # a history of the series, oldest first
    Answer = Forecast
    verb, verb_help = "forecast", "forecast the next values after each history (JSON lists of numbers)"

    class EvaluateOptions(Section):
        baselines: bool = Field(True, description="naive, seasonal-naive and ARIMA scored beside the model, every time")

    class DataConfig(Section):
        series: str = Field("co2", description=(
            "a statsmodels dataset name, or a CSV file whose last column is the series"))
        resample: str | None = Field("MS", description=(
            "pandas frequency to average a dated series to (co2: weekly -> monthly)"))
        window: Count = Field(36, description="past values the network reads")
        horizon: Count = Field(12, description="future values it predicts")
        heldout: Share = Field(0.15, description="share of the series, at its end, kept for evaluation")
        season: Count = Field(12, description="period of the seasonal-naive baseline and of the ARIMA's seasonal part")

    class TextConfig(Section):
        pass

    def _split(self) -> tuple[list[float], int]:
        d = self.recipe.data
        values = load_series(d.series, d.resample)
        start = int(len(values) * (1 - d.heldout))
        if start < d.window + d.horizon + 1 or len(values) - start < d.horizon:
            raise RecipeError(f"data: {len(values)} values are too few for window {d.window}, horizon "
                              f"{d.horizon} and a held-out share of {d.heldout}")
        return values, start

    def _windows(self, values: torch.Tensor, origins: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets for forecasts made at each origin (the index of the first predicted value).

        Each window is expressed relative to its last value and divided by the training scale,
        so the network learns the shape of what comes next, not the series' level (which
        drifts out of the training range on a trending series).
        """
        d = self.recipe.data
        idx = torch.tensor(origins)
        past = values[idx.unsqueeze(1) + torch.arange(-d.window, 0)]
        last = past[:, -1:]
        win = ((past - last) / self.scale).unsqueeze(-1)
        fut = idx.unsqueeze(1) + torch.arange(d.horizon)
        target = (values[fut.clamp(max=len(values) - 1)] - last) / self.scale
        return win, target

    def prepare(self) -> tuple[TrainData, Heldout]:
        d = self.recipe.data
        values, start = self._split()
        train = torch.tensor(values[:start])
        steps = train[1:] - train[:-1]
        self.scale = float(steps.std()) * math.sqrt(d.horizon) or 1.0
        if self.writes_run:
            atomic_write_json(self.run / SCALE, {"scale": self.scale})
        series = torch.tensor(values)
        origins = list(range(d.window, start - d.horizon + 1))
        win, target = self._windows(series, origins)

        def make_batch(idx: list[int]) -> dict:
            return {"window": win[idx], "target": target[idx]}

        return TrainData([d.window] * len(origins), make_batch), Heldout(values, start)

    def model_args(self) -> dict[str, Any]:
        return {"horizon": self.recipe.data.horizon}

    def info(self) -> dict[str, Any]:
        return {"series": self.recipe.data.series, "horizon": self.recipe.data.horizon}

    def load_text(self) -> None:
        try:
            self.scale = float(json.loads((self.run / SCALE).read_text(encoding="utf-8"))["scale"])
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{self.run / SCALE}: unreadable ({exc})") from None

    # -- evaluation ------------------------------------------------------------------------------
    def read_eval(self, ref: str | None, **kwargs: Any) -> Heldout:
        values, start = self._split()
        return Heldout(values, start)

    def forecast(self, model: torch.nn.Module, history: list[float]) -> list[float]:
        """The next ``horizon`` values after ``history`` (at least ``window`` values)."""
        d = self.recipe.data
        if len(history) < d.window:
            raise InputError(f"a forecast needs the last {d.window} values, got {len(history)}")
        series = torch.tensor(history[-d.window:], dtype=torch.float32)
        win, _ = self._windows(torch.cat([series, series.new_zeros(d.horizon)]), [d.window])
        with torch.inference_mode():
            pred = model.eval().predict(win)[0]
        return (pred * self.scale + series[-1]).tolist()

    def evaluate(self, model: torch.nn.Module, data: Heldout, plot: str | None = None,
                 baselines: bool = False) -> dict[str, Any]:
        """MAE and RMSE over every forecast whose horizon lies in the held-out tail.

        With ``baselines`` (as ``nlpseq evaluate`` asks), the naive, seasonal-naive and ARIMA
        forecasts from the same origins are scored beside the network.
        """
        d = self.recipe.data
        values = torch.tensor(data.series)
        origins = list(range(data.start, len(data.series) - d.horizon + 1))
        win, _ = self._windows(values, origins)
        device = next(model.parameters()).device
        with torch.inference_mode():
            pred = model.eval().predict(win.to(device)).cpu()
        last = values[torch.tensor(origins) - 1].unsqueeze(1)
        forecasts = {"network": pred * self.scale + last}
        truth = values[torch.tensor(origins).unsqueeze(1) + torch.arange(d.horizon)]
        if baselines:
            forecasts.update(self.baselines(data.series, origins))
        scores = {name: _errors(f, truth) for name, f in forecasts.items()}
        out: dict[str, Any] = {**scores["network"], "count": len(origins)}
        for name, s in scores.items():
            if name != "network":
                out[name] = s
        if plot:
            self.plot(data, origins, forecasts, plot)
        return out

    def baselines(self, series: list[float], origins: list[int]) -> dict[str, torch.Tensor]:
        d = self.recipe.data
        values = torch.tensor(series)
        steps = torch.arange(d.horizon)
        naive = values[torch.tensor(origins) - 1].unsqueeze(1).expand(-1, d.horizon)
        # Seasonal naive: the value one season before each target (several seasons back past one season).
        back = torch.tensor(origins).unsqueeze(1) + steps - d.season * (1 + steps // d.season)
        out = {"naive": naive, "seasonal_naive": values[back]}
        try:
            out["arima"] = self._arima(series, origins)
        except ImportError:
            pass
        return out

    def _arima(self, series: list[float], origins: list[int]) -> torch.Tensor:
        import warnings

        from statsmodels.tsa.statespace.sarimax import SARIMAX

        d = self.recipe.data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; the scores tell how well it did
            fitted = SARIMAX(series[: origins[0]], order=(1, 1, 1),
                             seasonal_order=(0, 1, 1, d.season)).fit(disp=False)
            rows = []
            for o in origins:  # the fitted parameters, filtered on the history up to each origin
                rows.append(fitted.apply(series[:o]).forecast(d.horizon).tolist())
        return torch.tensor(rows)

    def plot(self, data: Heldout, origins: list[int], forecasts: dict[str, torch.Tensor], path: str) -> None:
        """Truth and each method's forecasts from non-overlapping origins across the held-out tail, as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        h = self.recipe.data.horizon
        first = max(0, data.start - 3 * h)
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(range(first, len(data.series)), data.series[first:], color="black", lw=1.5, label="truth")
        colours = {"network": "#d62728", "arima": "#1f77b4", "seasonal_naive": "#2ca02c", "naive": "#999999"}
        for name, f in forecasts.items():
            for k, o in enumerate(origins[::h]):
                ax.plot(range(o, o + h), f[k * h].tolist(), color=colours.get(name), lw=1,
                        label=name if k == 0 else None)
        ax.axvline(data.start, color="#888", ls=":")
        ax.set_xlabel("step")
        ax.legend(loc="upper left")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)

    def answer(self, model: torch.nn.Module, inputs: Any) -> list[dict[str, Any]]:
        """Forecasts for histories given as lists of numbers."""
        histories = inputs if inputs and isinstance(inputs[0], (list, tuple)) else [inputs]
        out = []
        for i, h in enumerate(histories):
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in h):
                raise InputError(f"history {i} must hold finite numbers only")
            out.append({"forecast": self.forecast(model, [float(v) for v in h])})
        return out


def _errors(forecast: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    err = forecast - truth
    return {"mae": float(err.abs().mean()), "rmse": float(err.pow(2).mean().sqrt())}
