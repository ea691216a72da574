"""Training under torchrun: two CPU processes (gloo) against one process with the same global batch."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from nlpseq.train.distributed import Distributed

from ..conftest import ROOT

RECIPE = ROOT / "recipes" / "translation" / "tiny_de_en.yaml"
# No dropout, so that both runs draw no random numbers while training and can match exactly.
COMMON = ["--set", "model.dropout=0", "--set", "train.threads=1", "--set", "train.tensorboard=false",
          "--set", "train.eval_every=100", "--set", "train.checkpoint_every=3", "--set", "train.keep_checkpoints=5", "--set", "train.log_every=3"]


def _train(out, procs: int, *extra: str) -> None:
    cli = [str(RECIPE), "--out", str(out), *COMMON, *extra]
    if procs == 1:
        cmd = [sys.executable, "-m", "nlpseq.cli", "train", *cli]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
               "-m", "nlpseq.cli", "train", *cli]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]


def _weights(run, step: int) -> dict[str, torch.Tensor]:
    return load_file(run / "checkpoints" / f"step_{step:09d}" / "model.safetensors")


def _max_diff(a, b) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    _train(root / "two", 2, "--set", "train.max_steps=6")
    _train(root / "one_acc2", 1, "--set", "train.max_steps=6", "--set", "train.accumulate=2")
    _train(root / "one_acc1", 1, "--set", "train.max_steps=6")
    return root


def test_two_processes_reach_the_weights_of_one_with_the_same_global_batch(runs):
    two, same = _weights(runs / "two", 6), _weights(runs / "one_acc2", 6)
    assert _max_diff(two, same) < 1e-5
    # ...and the comparison can fail: half the global batch per step gives other weights.
    assert _max_diff(two, _weights(runs / "one_acc1", 6)) > 1e-3


def test_only_rank_0_writes_and_metrics_are_reduced(runs):
    files = sorted(p.name for p in (runs / "two").iterdir())
    assert "model.safetensors" in files and "recipe.yaml" in files
    assert not [f for f in files if "rank" in f]
    assert sorted(p.name for p in (runs / "two" / "checkpoints").iterdir()) == ["step_000000003", "step_000000006"]
    def losses(run):
        records = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
        return [r["loss"] for r in records if r.get("split") == "train"]

    # Rank 0 logs the loss over both ranks' tokens: the single process's loss over the same batches.
    assert len(losses(runs / "two")) == 2
    assert losses(runs / "two") == pytest.approx(losses(runs / "one_acc2"), rel=1e-5)


def test_distributed_resume_matches_an_uninterrupted_run(runs, tmp_path):
    # A run killed after its step-3 checkpoint: later checkpoints and weights are gone.
    killed = tmp_path / "killed"
    shutil.copytree(runs / "two", killed)
    shutil.rmtree(killed / "checkpoints" / "step_000000006")
    _train(killed, 2, "--resume", "--set", "train.max_steps=6")
    assert _max_diff(_weights(killed, 6), _weights(runs / "two", 6)) < 1e-6

    # With another number of processes the run continues from the same global batch position.
    other = tmp_path / "other"
    shutil.copytree(runs / "two", other)
    shutil.rmtree(other / "checkpoints" / "step_000000006")
    _train(other, 1, "--resume", "--set", "train.max_steps=6")
    assert (other / "checkpoints" / "step_000000006").is_dir()
    state = torch.load(other / "checkpoints" / "step_000000006" / "state.pt", weights_only=True)
    # Three more steps of one micro-batch each, after three steps of two (one per process).
    assert (state["progress"]["epoch"], state["progress"]["batch_in_epoch"]) == (0, 9)
    assert state["progress"]["step"] == 6


def test_shards_are_disjoint_equal_and_cover_the_usable_batches():
    batches = [[i] for i in range(11)]
    shards = [list(Distributed(r, 3).shard(batches)) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    seen = sorted(i for s in shards for b in s for i in b)
    assert seen == list(range(9))
    assert list(Distributed(0, 1).shard(batches)) == batches
    assert list(Distributed(1, 2).shard(batches, start=4)) == [[5], [7], [9]]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_on_loopback_reach_the_weights_of_one_process(runs, tmp_path):
    # The README's multi-node lines, one process per "node", rendezvous over c10d on 127.0.0.1.
    port, out = _free_port(), tmp_path / "nodes"
    cli = ["-m", "nlpseq.cli", "train", str(RECIPE), "--out", str(out), *COMMON, "--set", "train.max_steps=6"]
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank", str(r),
                               "--nproc-per-node", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint",
                               f"127.0.0.1:{port}", "--rdzv-id", "nlpseq-test", *cli],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    for node in nodes:
        _, err = node.communicate(timeout=600)
        assert node.returncode == 0, err[-3000:]
    assert _max_diff(_weights(out, 6), _weights(runs / "one_acc2", 6)) < 1e-5


def test_a_killed_worker_is_restarted_and_resumes_by_itself(runs, tmp_path):
    # Rank 1 dies by SIGKILL at step 5, after the checkpoint of step 4; torchrun starts both workers
    # again, and they find the checkpoint of the same recipe and go on from it, with no --resume.
    # One restart allowed, so the restarted group must come up at its first try (before each attempt
    # had its own store prefix, it read its dead peer's address about half the time and failed or hung).
    out = tmp_path / "elastic"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "--max-restarts", "1", "-m", "nlpseq.cli", "train", str(RECIPE), "--out", str(out), *COMMON,
           "--set", "train.max_steps=6", "--set", "train.checkpoint_every=2"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NLPSEQ_KILL_AT": "step.backward:5:1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resuming it" in res.stderr and "exitcode: -9" in res.stderr  # rank 1 did die by SIGKILL
    assert _max_diff(_weights(out, 6), _weights(runs / "two", 6)) < 1e-6


def test_a_hung_peer_ends_the_run_with_an_error_after_dist_timeout_s(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "nlpseq.cli", "train", str(RECIPE), "--out", str(tmp_path / "hung"), *COMMON,
           "--set", "train.max_steps=6", "--set", "train.dist_timeout_s=5"]
    t0 = time.time()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NLPSEQ_HANG_AT": "step.backward:2:1"})
    assert res.returncode != 0
    assert "train.dist_timeout_s=5" in res.stderr, res.stderr[-3000:]
    assert time.time() - t0 < 120
