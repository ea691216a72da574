"""Forward+backward time of every recurrent cell beside torch's fused nn.LSTM, in one run.

Usage: python benchmarks/cells.py [--batch 32] [--steps 128] [--hidden 512] [--repeats 3] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from nlpseq.machine import describe, machine_facts
from nlpseq.nn.cells import CELLS
from nlpseq.nn.layers import CellRNN

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment_pipeline import timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def fwd_bwd_time(module, x, lengths, repeats: int, fused: bool) -> float:
    """Best forward+backward seconds of ``module`` over ``repeats`` runs, after a warm-up."""

    def run():
        out = module(x)[0] if fused else module(x, lengths)[0]
        out.sum().backward()

    run()
    return timed(run, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "cells.json"))
    args = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, args.hidden, requires_grad=True)
    lengths = torch.full((args.batch,), args.steps)
    base = fwd_bwd_time(torch.nn.LSTM(args.hidden, args.hidden, batch_first=True), x, lengths, args.repeats, fused=True)
    rows = [("fused nn.LSTM", base)]
    # QRNN twice: the paper's width-2 time convolution, and window 1 (a projection of x_t alone).
    variants = [(name, name, {}) for name in CELLS] + [("qrnn (window 1)", "qrnn", {"window": 1})]
    for label, name, options in variants:
        layer = CellRNN(name, args.hidden, args.hidden, **options)
        rows.append((label, fwd_bwd_time(layer, x, lengths, args.repeats, fused=False)))
    print(f"batch {args.batch}, {args.steps} steps, hidden {args.hidden}, threads={torch.get_num_threads()}")
    print(f"{'cell':16} {'ms fwd+bwd':>11} {'x fused LSTM':>13}")
    for name, sec in rows:
        print(f"{name:16} {sec * 1000:11.1f} {sec / base:13.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    print(describe(machine))
    Path(args.json).write_text(json.dumps({"machine": machine, "config": vars(args), "seconds": dict(rows),
                                           "ratio_to_fused_lstm": {n: s / base for n, s in rows}}, indent=2) + "\n")


if __name__ == "__main__":
    main()
