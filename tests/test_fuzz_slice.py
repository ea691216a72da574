"""A derandomized slice of benchmarks/fuzz.py: each target's generated cases end in an answer or a
one-line toolkit error, never another exception or a hang."""

import sys

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import fuzz  # noqa: E402  (plainly: a broken benchmark fails here instead of skipping)


@pytest.mark.parametrize("target", ["sst", "ptb", "recipe", "tokenizers"])
def test_generated_inputs_get_answers_or_one_line_errors(target, tmp_path):
    if target in ("sst", "ptb"):
        strategy, fn = fuzz.reader_target(target, tmp_path)
    elif target == "recipe":
        strategy, fn = fuzz.recipe_target(tmp_path)
    else:
        strategy, fn = fuzz.tokenizer_target(tmp_path)
    result = fuzz.fuzz(target, strategy, fn, cases=150, seed=0, derandomize=True)
    assert result["cases"] == 150
    assert result["other"] == 0 and result["hang"] == 0, result["examples"][:5]
    if target != "tokenizers":  # any string is a tokenizer's input; the others have error paths to reach
        assert result["toolkit_error"] > 0 and result["ok"] > 0


def test_damaged_gzip_corpora_get_one_line_errors(tmp_path):
    strategy, fn = fuzz.damaged_gzip_target(tmp_path)
    result = fuzz.fuzz("gzip", strategy, fn, cases=60, seed=0, derandomize=True)
    assert result["other"] == 0 and result["hang"] == 0, result["examples"][:5]
    assert result["toolkit_error"] > 0


def test_runs_with_a_damaged_file_load_or_get_one_line_errors(tmp_path, tiny_run, mt_run, rntn_run):
    strategy, fn = fuzz.run_files_target(tmp_path, tiny_run, mt_run, rntn_run)
    result = fuzz.fuzz("runs", strategy, fn, cases=80, seed=0, derandomize=True)
    assert result["other"] == 0 and result["hang"] == 0, result["examples"][:5]
    assert result["toolkit_error"] > 0


def test_generated_http_bodies_get_answers_or_json_refusals(tmp_path, tiny_run, mt_run, rntn_run):
    pytest.importorskip("fastapi")
    strategy, fn = fuzz.http_target(tmp_path, tiny_run, mt_run, rntn_run)
    # Deep trees answered within 2 s each: the work of a tree grows with its size, not faster.
    result = fuzz.fuzz("http", strategy, fn, cases=150, seed=0, derandomize=True, hang_s=2.0)
    assert result["other"] == 0 and result["hang"] == 0, result["examples"][:5]
    assert result["ok"] > 0 and result["toolkit_error"] > 0
