"""Recursive models: nodes per second, level-batched vs naive per-node recursion, forward + backward.

Usage: python benchmarks/trees.py [--model rntn] [--dim 30] [--trees 270] [--rounds 5] [--json OUT.json]
Trees are SST training trees when NLPSEQ_DATA has them, else the bundled toy treebank.
Each round warms up and times both implementations back to back, so a slow spell of a shared
machine hits both; the speed-up is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from nlpseq.data.treebatch import collate_trees, encode_tree
from nlpseq.data.trees import read_sentiment_trees, tree_tokens
from nlpseq.machine import describe, machine_facts
from nlpseq.registry import MODELS
from nlpseq.text import Vocab

# The per-node recursion is a test reference, kept with the tests; the benchmark times it too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.models.recursive_reference import naive_node_logits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="rntn", choices=["rntn", "recnn", "treelstm"])
    ap.add_argument("--dim", type=int, default=30)
    ap.add_argument("--trees", type=int, default=270)
    ap.add_argument("--batch", type=int, default=27)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "trees.json"))
    args = ap.parse_args()
    src = Path(os.environ.get("NLPSEQ_DATA", "/nonexistent")) / "sst" / "train.txt"
    if not src.exists():
        src = ROOT / "data" / "sentiment-sample" / "train.txt"
    trees = read_sentiment_trees(src)[: args.trees]
    vocab = Vocab.build([tree_tokens(t) for t in trees])
    cls = MODELS.get(args.model)
    extra = {"embedding_dim": args.dim} if args.model == "treelstm" else {}
    model = cls(cls.Config(name=args.model, dim=args.dim, **extra), len(vocab), 5)
    rows = [encode_tree(t, vocab) for t in trees]
    nodes = sum(len(r["words"]) for r in rows)

    def batched() -> None:
        for i in range(0, len(rows), args.batch):
            out = model(collate_trees(rows[i : i + args.batch]))
            out["loss"].backward()

    def naive() -> None:
        for i in range(0, len(trees), args.batch):
            loss = 0
            for t, r in zip(trees[i : i + args.batch], rows[i : i + args.batch]):
                logits = torch.stack(naive_node_logits(model, t, vocab))
                loss = loss + torch.nn.functional.cross_entropy(logits, torch.tensor(r["labels"]), reduction="sum")
            loss.backward()

    impls = (("level-batched", batched), ("naive per-node", naive))
    rounds: dict[str, list[float]] = {name: [] for name, _ in impls}
    for _ in range(args.rounds):
        for name, fn in impls:
            fn()  # warm-up: the other implementation's run has just filled the caches with its own data
            t0 = time.perf_counter()
            fn()
            rounds[name].append(nodes / (time.perf_counter() - t0))
    ratios = [b / n for b, n in zip(rounds["level-batched"], rounds["naive per-node"])]
    ratio = statistics.median(ratios)
    results = {name: statistics.median(v) for name, v in rounds.items()}
    print(f"{args.model}, d={args.dim}, {len(trees)} trees, {nodes} nodes, batch {args.batch} trees, "
          f"threads={torch.get_num_threads()}")
    print(f"{'implementation':18} {'nodes/s':>10}")
    for name, v in results.items():
        print(f"{name:18} {v:10.0f}")
    print(f"speed-up: {ratio:.1f}x (median of {args.rounds} rounds; range {min(ratios):.1f}-{max(ratios):.1f}x)")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    print(describe(machine))
    Path(args.json).write_text(json.dumps({"machine": machine, "model": args.model, "dim": args.dim, "nodes": nodes,
                                           "nodes_per_s": results, "speedup": ratio,
                                           "speedup_per_round": ratios}, indent=2) + "\n")


if __name__ == "__main__":
    main()
