import json

from .conftest import ROOT, run_cli

RECIPE = ROOT / "recipes" / "sentiment" / "tiny_lstm.yaml"


def test_compare_trains_one_run_per_value_and_prints_one_table(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", str(RECIPE), "--sweep", "model.cell=gru,sru", "--out", str(out),
            "--set", "train.epochs=1", "--set", "train.threads=1", "--set", "train.tensorboard=false"]
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr
    header, *lines = res.stdout.splitlines()[:3]
    assert header.split() == ["model.cell", "accuracy", "seconds_per_epoch", "parameters"]
    assert [line.split()[0] for line in lines] == ["gru", "sru"]
    rows = json.loads((out / "compare.json").read_text())["rows"]
    assert rows[0]["parameters"] != rows[1]["parameters"]  # really two different cells
    assert (out / "gru" / "model.safetensors").exists() and (out / "sru" / "model.safetensors").exists()
    # A second call finds both runs finished and trains nothing again.
    again = run_cli(*args)
    assert again.returncode == 0 and again.stdout.splitlines()[1:3] == res.stdout.splitlines()[1:3]
    bad = run_cli("compare", str(RECIPE), "--sweep", "model.cell=warp", "--out", str(tmp_path / "bad"),
                  "--set", "train.threads=1")
    assert bad.returncode == 2 and "warp" in bad.stderr and "Traceback" not in bad.stderr
