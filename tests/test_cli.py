"""User errors give one line naming the file, line or key, and a non-zero exit; never a traceback."""

import json

import pytest

from .conftest import SAMPLES, TINY_RECIPE, run_cli


def one_line_error(res, *needles):
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_missing_recipe_file():
    one_line_error(run_cli("train", "nowhere.yaml"), "nowhere.yaml", "no such recipe file")


def test_unknown_recipe_key_via_set(tmp_path):
    one_line_error(run_cli("train", str(TINY_RECIPE), "--out", str(tmp_path / "r"), "--set", "model.hiden_size=4"),
                   "model.hiden_size", "hidden_size")


def test_mistyped_recipe_value(tmp_path):
    one_line_error(run_cli("train", str(TINY_RECIPE), "--out", str(tmp_path / "r"), "--set", "train.epochs=many"),
                   "train.epochs")


@pytest.mark.parametrize("setting", ["model.subword_buckets=-3", "model.word_dropout=-0.1"])
def test_out_of_range_recipe_value(tmp_path, setting):
    key = setting.split("=")[0]
    one_line_error(run_cli("train", str(TINY_RECIPE), "--out", str(tmp_path / "r"), "--set", setting),
                   key, "greater than or equal to 0")


def test_malformed_data_line_is_named(tmp_path):
    bad = tmp_path / "train.txt"
    good = (SAMPLES / "sentiment-sample" / "train.txt").read_text().splitlines()
    bad.write_text("\n".join(good[:5] + ["(3 (2 broken) (9 label))"] + good[5:10]) + "\n")
    res = run_cli("train", str(TINY_RECIPE), "--out", str(tmp_path / "r"), "--set", f"data.train={bad}")
    one_line_error(res, f"{bad}:6:", "label '9'")


def test_not_a_run_directory(tmp_path):
    one_line_error(run_cli("evaluate", str(tmp_path)), "not a run directory")
    one_line_error(run_cli("sentiment", str(tmp_path / "absent"), "text"), "no such run directory")


def test_evaluate_json_is_exactly_one_object(tiny_run, sst_dev):
    res = run_cli("evaluate", str(tiny_run), "--data", str(sst_dev), "--json")
    assert res.returncode == 0, res.stderr
    metrics = json.loads(res.stdout)  # the whole of stdout is one JSON object
    assert {"root_fine", "root_binary", "macro_f1", "accuracy"} <= metrics.keys()
    assert 0 <= metrics["root_fine"] <= 100


def test_evaluate_malformed_file_names_line(tiny_run, tmp_path):
    bad = tmp_path / "dev.txt"
    bad.write_text("(2 (2 a) (2 b))\n(2 (2 a) (2 b)\n")
    one_line_error(run_cli("evaluate", str(tiny_run), "--data", str(bad)), f"{bad}:2:", "unbalanced")


def test_data_commands():
    res = run_cli("data", "list")
    assert res.returncode == 0 and "multi30k" in res.stdout and "ptb-sample" in res.stdout
    one_line_error(run_cli("data", "path", "sts"), "unknown corpus 'sts'", "did you mean 'sst'")


@pytest.mark.parametrize("argv", [["--version"], ["train", "--help"]])
def test_help_and_version(argv):
    assert run_cli(*argv).returncode == 0
