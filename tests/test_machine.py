"""The machine's measured matmul rate and the FLOP a training pass takes, recorded with every run."""

import json

import pytest
import torch

from nlpseq.machine import measure_sgemm, share_of_machine, training_flops


def test_sgemm_rate_is_measured_and_threads_are_restored():
    before = torch.get_num_threads()
    rate = measure_sgemm(threads=1, seconds=0.1, n=256)
    assert rate > 0.1 and torch.get_num_threads() == before


@pytest.mark.parametrize("cell,gates", [(torch.nn.LSTM, 4), (torch.nn.GRU, 3)])
def test_training_flops_count_fused_rnns_and_matrix_products(cell, gates):
    rnn, out = cell(16, 32, batch_first=True, bidirectional=True), torch.nn.Linear(64, 5)
    x = torch.randn(3, 7, 16)

    def step():
        h, _ = rnn(x)
        out(h).sum().backward()

    positions = 3 * 7
    rnn_fwd = 2 * gates * 32 * (16 + 32) * 2 * positions  # two directions
    linear_fwd = 2 * positions * 64 * 5
    # Backward is about twice the forward: exactly so for the fused LSTM (added by rule) and the linear
    # layer's products; GRU on CPU runs as products torch counts itself, whose backward skips the
    # input gradient of the first layer's input projection.
    assert training_flops(step) == pytest.approx(3 * rnn_fwd + 3 * linear_fwd, rel=0.25)


def test_share_of_machine():
    s = share_of_machine(2e6, 5000, 40.0)
    assert s["achieved_gflops"] == pytest.approx(10.0) and s["share_of_sgemm"] == pytest.approx(0.25)


def test_every_run_records_the_machine_and_its_throughput(tiny_run):
    info = json.loads((tiny_run / "run.json").read_text())
    assert info["machine"]["sgemm_gflops"] > 0 and info["machine"]["threads"] >= 1
    t = info["throughput"]
    assert t["flop_per_unit"] > 0 and t["units_per_s"] > 0
    assert t["share_of_sgemm"] == pytest.approx(t["achieved_gflops"] / info["machine"]["sgemm_gflops"])
