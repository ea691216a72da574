"""The machine's own speed limit, so a figure measured on one machine can be read on another.

Every training run and benchmark records the fp32 matrix-multiply rate of the machine it ran on
(on the threads it used), and what the model achieved as FLOP per unit x units per second; the
ratio of the two is comparable across machines where raw tokens per second are not.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any, Callable

import torch

_RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def measure_sgemm(threads: int | None = None, seconds: float = 1.0, n: int = 1024,
                  device: str | torch.device = "cpu") -> float:
    """fp32 GFLOP/s of ``n x n`` matrix products on ``device``: on a CPU with ``threads`` torch threads
    (default: the current number), on a GPU its own rate."""
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    device = torch.device(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    try:
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(n, n, generator=g).to(device), torch.randn(n, n, generator=g).to(device)
        c = torch.empty(n, n, device=device)
        for _ in range(2):  # warm-up: thread pool and caches
            torch.mm(a, b, out=c)
        sync()
        reps, t0 = 0, time.perf_counter()
        while reps < 3 or time.perf_counter() - t0 < seconds:
            torch.mm(a, b, out=c)
            reps += 1
            sync()
        return 2.0 * n**3 * reps / (time.perf_counter() - t0) / 1e9
    finally:
        torch.set_num_threads(old)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(threads: int | None = None, seconds: float = 1.0,
                  device: str | torch.device = "cpu") -> dict[str, Any]:
    """CPU, cores, torch threads and the measured fp32 matmul rate (``sgemm_gflops``) on those threads,
    or on ``device`` when it is a GPU (``device`` names it then)."""
    threads = threads or torch.get_num_threads()
    facts = {"cpu": cpu_name(), "cores": os.cpu_count(), "threads": threads, "torch": torch.__version__,
             "sgemm_gflops": round(measure_sgemm(threads, seconds, device=device), 1)}
    if torch.device(device).type != "cpu":
        facts["device"] = str(device)
    return facts


def _rnn_flops(module: torch.nn.RNNBase, inputs: tuple) -> float:
    """Forward FLOP of a fused torch RNN, which torch's FLOP counter does not see: per position, layer
    and direction, ``2 * gates * hidden * (input + hidden)`` multiply-adds."""
    x = inputs[0]
    positions = x.data.size(0) if isinstance(x, torch.nn.utils.rnn.PackedSequence) else x.shape[:-1].numel()
    dirs = 2 if module.bidirectional else 1
    h, gates = module.hidden_size, _RNN_GATES.get(module.mode, 1)
    total = 0.0
    for layer in range(module.num_layers):
        width = module.input_size if layer == 0 else h * dirs
        total += 2.0 * gates * h * (width + h) * dirs * positions
    return total


def training_flops(step: Callable[[], None]) -> float:
    """FLOP of one forward and backward pass run by ``step``: matrix products as torch's FLOP counter
    counts them, plus fused RNN kernels (their backward taken as twice their forward)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    rnn, before = [0.0], {}

    def pre(module: torch.nn.Module, inputs: tuple) -> None:
        if isinstance(module, torch.nn.RNNBase):
            before[id(module)] = counter.get_total_flops()

    def post(module: torch.nn.Module, inputs: tuple, output: Any) -> None:
        # Only a kernel the counter did not see is added (LSTM runs fused; GRU on CPU as products it counts).
        if isinstance(module, torch.nn.RNNBase) and counter.get_total_flops() == before.pop(id(module), None):
            rnn[0] += 3.0 * _rnn_flops(module, inputs)

    hooks = [torch.nn.modules.module.register_module_forward_pre_hook(pre),
             torch.nn.modules.module.register_module_forward_hook(post)]
    try:
        with counter:
            step()
    finally:
        for h in hooks:
            h.remove()
    return float(counter.get_total_flops()) + rnn[0]


def share_of_machine(flop_per_unit: float, units_per_s: float, sgemm_gflops: float) -> dict[str, float]:
    """What a model achieved, as GFLOP/s and as a share of the machine's matmul rate."""
    achieved = flop_per_unit * units_per_s / 1e9
    return {"flop_per_unit": flop_per_unit, "units_per_s": units_per_s, "achieved_gflops": achieved,
            "share_of_sgemm": achieved / sgemm_gflops if sgemm_gflops else 0.0}


def describe(facts: dict[str, Any]) -> str:
    """One line for a benchmark's table: the machine and its measured matmul rate."""
    return (f"machine: {facts['cpu']}, {facts['cores']} cores; fp32 matmul {facts['sgemm_gflops']:.1f} GFLOP/s "
            f"on {facts['threads']} threads (figures above are read against this)")
