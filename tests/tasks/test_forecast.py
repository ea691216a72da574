import json
import math

import pytest

from nlpseq.errors import DataError
from nlpseq.tasks.forecast import load_series

from ..conftest import ROOT, run_cli

RECIPE = ROOT / "recipes" / "forecast" / "co2_lstm.yaml"


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    # A trending seasonal series with a little deterministic wiggle, written by the test.
    path = tmp_path_factory.mktemp("series") / "series.csv"
    rows = ["t,value"] + [f"{t},{0.05 * t + math.sin(2 * math.pi * t / 12) + 0.1 * math.sin(t * 1.7):.5f}"
                          for t in range(240)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory, series_csv):
    out = tmp_path_factory.mktemp("fc") / "run"
    res = run_cli("train", str(RECIPE), "--out", str(out), "--set", f"data.series={series_csv}",
                  "--set", "data.resample=null", "--set", "data.window=24", "--set", "data.horizon=6",
                  "--set", "train.epochs=25", "--set", "train.threads=1", "--set", "train.tensorboard=false")
    assert res.returncode == 0, res.stderr
    return out


def test_forecaster_beats_the_naive_baselines_and_draws_the_plot(forecast_run):
    res = run_cli("evaluate", str(forecast_run), "--json")
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)
    assert {"naive", "seasonal_naive", "arima"} <= set(m)
    assert m["rmse"] < m["seasonal_naive"]["rmse"] and m["rmse"] < m["naive"]["rmse"]
    assert m["mae"] <= m["rmse"]
    assert (forecast_run / "forecast_dev.png").stat().st_size > 5000


def test_series_sources_and_errors(tmp_path, series_csv):
    assert len(load_series(str(series_csv))) == 240
    pytest.importorskip("statsmodels")
    co2 = load_series("co2", "MS")
    assert len(co2) > 500 and 300 < co2[0] < 330  # ppm, monthly from 1958
    bad = tmp_path / "bad.csv"
    bad.write_text("value\n1\n2\nthree\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv:4: 'three' is not a number"):
        load_series(str(bad))
    with pytest.raises(DataError, match="neither a file nor a statsmodels dataset"):
        load_series("no_such_series")


def test_the_forecast_verb_comes_from_the_task_declaration(forecast_run):
    # `nlpseq forecast` has no command of its own: the CLI builds it from ForecastTask.verb and .Input.
    history = [0.05 * t + math.sin(2 * math.pi * t / 12) for t in range(30)]
    res = run_cli("forecast", str(forecast_run), json.dumps(history))
    assert res.returncode == 0, res.stderr
    forecast = json.loads(res.stdout)["forecast"]
    assert len(forecast) == 6 and all(math.isfinite(v) for v in forecast)
    res = run_cli("forecast", str(forecast_run), "[1, 2, \"x\"]")
    assert res.returncode == 2 and "finite numbers" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("forecast", str(forecast_run), "[1, 2,")
    assert res.returncode == 2 and "is not JSON" in res.stderr
