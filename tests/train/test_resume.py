"""Kill a training run with SIGKILL, resume it, and get exactly the uninterrupted result."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from nlpseq.run import RunDir
from nlpseq.train.checkpoint import list_checkpoints

from ..conftest import ROOT, TINY_FAST, TINY_RECIPE, run_cli

ARGS = [*TINY_FAST, "--set", "train.checkpoint_every=4", "--set", "train.eval_every=8", "--set", "train.epochs=2"]


def _dev_records(run):
    # Wall-clock time is the one field two runs never share.
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in RunDir(run).read_metrics() if r["split"] == "dev"]


@pytest.mark.slow  # test_faults.py kills each family at seeded points and resumes it in the fast suite
def test_sigkill_then_resume_reaches_the_same_weights_and_metrics(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    res = run_cli("train", str(TINY_RECIPE), "--out", str(straight), *ARGS)
    assert res.returncode == 0, res.stderr

    proc = subprocess.Popen([sys.executable, "-m", "nlpseq.cli", "train", str(TINY_RECIPE), "--out", str(killed), *ARGS],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list_checkpoints(RunDir(killed))) < 2:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list_checkpoints(RunDir(killed))
    assert done, "the run was killed before its first checkpoint"
    assert int(done[-1].name.split("_")[1]) < 50, "the kill must land mid-run"

    # A checkpoint being written at the moment of a kill, and a damaged newest one, are never loaded.
    half = killed / "checkpoints" / ".tmp-step_999999999"
    half.mkdir(exist_ok=True)
    (half / "state.pt").write_bytes(b"\x00garbage")
    damaged = killed / "checkpoints" / "step_999999998"
    damaged.mkdir()
    (damaged / "model.safetensors").write_bytes(b"truncated")

    res = run_cli("train", str(TINY_RECIPE), "--out", str(killed), "--resume", *ARGS)
    assert res.returncode == 0, res.stderr
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    strip = lambda recs: [{k: v for k, v in r.items()} for r in recs]  # noqa: E731
    assert strip(_dev_records(straight)) == strip(_dev_records(killed))
    assert not damaged.exists()


def test_existing_run_is_never_overwritten(tiny_run):
    before = (tiny_run / "model.safetensors").read_bytes()
    res = run_cli("train", str(TINY_RECIPE), "--out", str(tiny_run))
    assert res.returncode == 2
    assert "already holds a run" in res.stderr and "Traceback" not in res.stderr
    assert (tiny_run / "model.safetensors").read_bytes() == before


def test_a_fresh_run_does_not_append_to_a_stale_metrics_file(tmp_path):
    """A folder without a recipe is not a run: metrics left in it do not mix into the new run's."""
    out = tmp_path / "reused"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"step": 999, "split": "dev", "stale": true}\n')
    res = run_cli("train", str(TINY_RECIPE), "--out", str(out), *TINY_FAST, "--set", "train.epochs=1")
    assert res.returncode == 0, res.stderr
    records = RunDir(out).read_metrics()
    assert records and not any(r.get("stale") for r in records)


def test_a_run_that_fails_before_training_leaves_the_folder_as_it_was(tmp_path):
    """A bad data file stops the run before training; the corrected command then trains into the same folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    bad = tmp_path / "bad.txt"
    bad.write_text("(3 (2 a) (3 good))\n(2 (2 a) (2 b)\n")
    res = run_cli("train", str(TINY_RECIPE), "--out", str(out), *TINY_FAST, "--set", f"data.train={bad}")
    assert res.returncode == 2 and "bad.txt:2" in res.stderr, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    res = run_cli("train", str(TINY_RECIPE), "--out", str(out), *TINY_FAST, "--set", "train.epochs=1")
    assert res.returncode == 0, res.stderr
    assert (out / "model.safetensors").exists() and (out / "notes.txt").read_text() == "mine"
    fresh = tmp_path / "fresh"
    res = run_cli("train", str(TINY_RECIPE), "--out", str(fresh), *TINY_FAST, "--set", f"data.train={bad}")
    assert res.returncode == 2 and not fresh.exists()


def test_a_half_written_or_damaged_newest_checkpoint_is_never_loaded(tiny_run, tmp_path):
    # The fast counterpart of the SIGKILL test's last part: the newest complete checkpoint loads.
    import shutil

    from nlpseq.train.checkpoint import load_latest_checkpoint

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    good = list_checkpoints(RunDir(run))[-1]
    half = run / "checkpoints" / ".tmp-step_999999999"
    half.mkdir()
    (half / "state.pt").write_bytes(b"\x00garbage")
    damaged = run / "checkpoints" / "step_999999998"
    damaged.mkdir()
    (damaged / "model.safetensors").write_bytes(b"truncated")
    weights, _ = load_latest_checkpoint(RunDir(run))
    expected = load_file(str(good / "model.safetensors"))
    assert all(torch.equal(weights[k], expected[k]) for k in expected)
    assert not damaged.exists() and (run / "checkpoints" / ".damaged-step_999999998").exists()
