"""Sentiment pipeline throughput: 1,000 short sentences, batched inside one call vs one call per text.

Usage: python benchmarks/sentiment_pipeline.py RUN_DIR [--n 1000] [--batches 16,32] [--threads N] [--json OUT.json]
Sentences are SST dev roots when NLPSEQ_DATA has them, else the bundled toy treebank. ``--batches``
adds a row per call size K (calls of K texts): the per-text cost a micro-batching service pays.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import nlpseq
from nlpseq.data.trees import read_sentiment_trees, tree_tokens
from nlpseq.machine import describe, machine_facts

ROOT = Path(__file__).resolve().parent.parent


def sentences(n: int) -> list[str]:
    from nltk.tokenize import TreebankWordDetokenizer

    src = Path(os.environ.get("NLPSEQ_DATA", "/nonexistent")) / "sst" / "dev.txt"
    if not src.exists():
        src = ROOT / "data" / "sentiment-sample" / "dev.txt"
    detok = TreebankWordDetokenizer()
    texts = [detok.detokenize(tree_tokens(t), convert_parentheses=True) for t in read_sentiment_trees(src)]
    short = [t for t in texts if len(t.split()) <= 25] or texts
    return (short * (n // len(short) + 1))[:n]


def timed(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batches", default="", help="comma-separated call sizes to time as well, e.g. 16,32")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "sentiment_pipeline.json"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = sentences(args.n)
    pipe = nlpseq.pipeline("sentiment", model=args.run)
    pipe(texts[:16])  # warm-up
    batched = timed(lambda: pipe(texts))
    one = timed(lambda: [pipe(t) for t in texts[:200]], repeats=1) * (len(texts) / 200)
    sizes = [int(k) for k in args.batches.split(",") if k.strip()]
    by_size = {k: timed(lambda k=k: [pipe(texts[i : i + k]) for i in range(0, len(texts), k)]) for k in sizes}
    rows = [("batched (one call)", batched), *((f"calls of {k} texts", sec) for k, sec in by_size.items()),
            ("one call per text", one)]
    print(f"{'mode':24} {'seconds/1000':>13} {'texts/s':>9}   threads={torch.get_num_threads()}")
    for name, sec in rows:
        print(f"{name:24} {sec * 1000 / len(texts):13.3f} {len(texts) / sec:9.0f}")
    print(f"speed-up of batching: {one / batched:.1f}x")
    result = {"n": len(texts), "threads": torch.get_num_threads(), "batched_s": batched, "one_by_one_s": one,
              "batched_texts_per_s": len(texts) / batched, "speedup": one / batched, "run": str(args.run),
              "calls_of_k_s": by_size, "machine": machine_facts()}
    print(describe(result["machine"]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
