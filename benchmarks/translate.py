"""Translator speed: decoding sentences/s (greedy vs beam 5, batch 1 vs batched) at each precision side by
side, with the BLEU/chrF of each; and training target tokens/s.

Usage: python benchmarks/translate.py RUN_DIR [--sentences 1014] [--precisions fp32,int8] [--train-steps 30]
       [--json OUT.json]
The run's own recipe names the data (Multi30k through NLPSEQ_DATA, or the bundled sample).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nlpseq.api import load_run
from nlpseq.data.batching import bucket_by_length
from nlpseq.train.memory import keep_freed_memory
from nlpseq.train.optim import build_optimizer, clip_gradients
from nlpseq.machine import describe, machine_facts
from nlpseq.metrics.bleu import bleu_chrf

ROOT = Path(__file__).resolve().parent.parent


def training_tokens_per_s(task, model, steps: int) -> float:
    data = task.read_pairs(task.recipe.data.train)
    src_v, tgt_v = task.src_sp.vocab(), task.tgt_sp.vocab()
    n = min(len(data.sources), 20_000)
    src = [src_v.encode(task.src_sp.tokenize(s)) for s in data.sources[:n]]
    tgt = [tgt_v.encode(task.tgt_sp.tokenize(s)) for s in data.references[:n]]
    cfg = task.recipe.train
    batches = bucket_by_length([max(len(a), len(b) + 1) for a, b in zip(src, tgt)], cfg.batch_tokens,
                               cfg.batch_size, seed=0)[: steps + 3]
    if cfg.keep_freed_memory:  # as the trainer does
        keep_freed_memory()
    model.train()
    opt = build_optimizer(model.parameters(), cfg)
    tokens, t0 = 0, 0.0
    for i, idx in enumerate(batches):
        if i == 3:  # the first steps warm up allocator and kernels
            tokens, t0 = 0, time.perf_counter()
        out = model(task.collate([src[j] for j in idx], [tgt[j] for j in idx]))
        out["loss"].backward()
        clip_gradients(model.parameters(), cfg)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += out["units"]
    return tokens / (time.perf_counter() - t0)


def decoding_rows(task, model, sents: list[str], refs: list[str], label: str) -> list[dict]:
    """sentences/s of greedy and beam 5, batched and one at a time; BLEU/chrF of the batched outputs."""
    rows = []
    for name, beam, batched in (("greedy, batched", 1, True), ("beam 5, batched", 5, True),
                                ("greedy, batch 1", 1, False), ("beam 5, batch 1", 5, False)):
        subset = sents if batched else sents[:100]  # one at a time is slow: time 100 and scale
        t0 = time.perf_counter()
        if batched:
            out = [r[0]["translation"] for r in task.translate(model, subset, beam=beam)]
        else:
            out = [task.translate(model, [s], beam=beam)[0][0]["translation"] for s in subset]
        sec = time.perf_counter() - t0
        row = {"precision": label, "mode": name, "sentences_per_s": len(subset) / sec,
               "seconds_for_all": sec * len(sents) / len(subset), "ms_per_sentence": 1000 * sec / len(subset)}
        if batched:
            scores = bleu_chrf(out, refs[: len(out)])
            row.update(bleu=scores["bleu"], chrf=scores["chrf"])
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run")
    ap.add_argument("--sentences", type=int, default=1014)
    ap.add_argument("--train-steps", type=int, default=30, help="0 skips the training measurement")
    ap.add_argument("--precisions", default="fp32,int8", help="decoding precisions to compare, side by side")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "translate.json"))
    args = ap.parse_args()
    rows = []
    for precision in args.precisions.split(","):
        task, model = load_run(args.run, "translation", precision=precision)
        dev = task.read_pairs(task.recipe.data.dev)
        sents, refs = dev.sources[: args.sentences], dev.references[: args.sentences]
        rows += decoding_rows(task, model, sents, refs, precision)
    print(f"{len(sents)} sentences, threads={torch.get_num_threads()}")
    print(f"{'precision':9} {'decoding':18} {'sentences/s':>12} {'ms/sentence':>12} {'s for all':>10} {'BLEU':>6} {'chrF':>6}")
    for r in rows:
        scores = f"{r['bleu']:6.2f} {r['chrf']:6.2f}" if "bleu" in r else f"{'':6} {'':6}"
        print(f"{r['precision']:9} {r['mode']:18} {r['sentences_per_s']:12.1f} {r['ms_per_sentence']:12.1f} "
              f"{r['seconds_for_all']:10.2f} {scores}")
    base = {r["mode"]: r for r in rows if r["precision"] == rows[0]["precision"]}
    for r in rows[len(base):]:
        print(f"{r['precision']} {r['mode']}: {r['sentences_per_s'] / base[r['mode']]['sentences_per_s']:.2f}x "
              f"{rows[0]['precision']}" + (f", BLEU {r['bleu'] - base[r['mode']]['bleu']:+.2f}, chrF "
                                            f"{r['chrf'] - base[r['mode']]['chrf']:+.2f}" if "bleu" in r else ""))
    train_tps = None
    if args.train_steps:
        task, model = load_run(args.run, "translation")
        train_tps = training_tokens_per_s(task, model, args.train_steps)
        print(f"training: {train_tps:.0f} target tokens/s")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    print(describe(machine))
    Path(args.json).write_text(json.dumps({"machine": machine, "sentences": len(sents), "decoding": rows,
                                           "train_target_tokens_per_s": train_tps}, indent=2) + "\n")


if __name__ == "__main__":
    main()
