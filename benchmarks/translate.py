"""Translator speed: decoding sentences/s (greedy vs beam 5, batch 1 vs batched) for each way of running a
model side by side, with the BLEU/chrF of each; and training target tokens/s.

Setups: ``fp32`` (as trained), ``int8`` (dynamic int8 products), ``bf16`` (CPUs with bf16 arithmetic),
any of them ``+shortlist`` (a vocabulary shortlist of ``--shortlist`` pieces per source piece), and
``onnx`` (the exported graphs under onnxruntime, searched by the standalone runner).

Usage: python benchmarks/translate.py RUN_DIR [--sentences 1014] [--setups fp32,int8,int8+shortlist,bf16,onnx]
       [--shortlist 50] [--train-steps 30] [--json OUT.json]
The run's own recipe names the data (Multi30k through NLPSEQ_DATA, or the bundled sample).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from nlpseq.api import load_run
from nlpseq.errors import NlpseqError
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


def translator(run: str, setup: str, shortlist: int, scratch: Path) -> Callable[[list[str], int], list[str]]:
    """A function (sentences, beam) -> translations for one setup."""
    if setup == "onnx":
        from nlpseq.export.onnx_graphs import export_translator
        from nlpseq.export.onnx_runner import OnnxTranslator

        task, model = load_run(run, "translation", precision="fp32")
        runner = OnnxTranslator(export_translator(task, model, scratch / "onnx"), threads=torch.get_num_threads())
        return runner.translate
    precision, _, extra = setup.partition("+")
    if extra not in ("", "shortlist"):
        raise SystemExit(f"setup {setup}: expected fp32, int8 or bf16, each optionally +shortlist, or onnx")
    task, model = load_run(run, "translation", precision=precision)
    k = shortlist if extra else 0
    return lambda sentences, beam: [r[0]["translation"] for r in task.translate(model, sentences, beam=beam,
                                                                                shortlist=k)]


def decoding_rows(translate: Callable[[list[str], int], list[str]], sents: list[str], refs: list[str],
                  label: str) -> list[dict]:
    """sentences/s of greedy and beam 5, batched and one at a time; BLEU/chrF of the batched outputs."""
    rows = []
    translate(sents[:20], 5)  # warm-up: kernels, allocator, the lexical table
    for name, beam, batched in (("greedy, batched", 1, True), ("beam 5, batched", 5, True),
                                ("greedy, batch 1", 1, False), ("beam 5, batch 1", 5, False)):
        subset = sents if batched else sents[:100]  # one at a time is slow: time 100 and scale
        t0 = time.perf_counter()
        if batched:
            out = translate(subset, beam)
        else:
            out = [translate([s], beam)[0] for s in subset]
        sec = time.perf_counter() - t0
        row = {"setup": label, "mode": name, "sentences_per_s": len(subset) / sec,
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
    ap.add_argument("--setups", default="fp32,int8,int8+shortlist,bf16,onnx", help="ways of decoding, side by side")
    ap.add_argument("--shortlist", type=int, default=50, help="target pieces per source piece in +shortlist setups")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "translate.json"))
    args = ap.parse_args()
    rows = []
    task, _ = load_run(args.run, "translation")
    dev = task.read_pairs(task.recipe.data.dev)
    sents, refs = dev.sources[: args.sentences], dev.references[: args.sentences]
    with tempfile.TemporaryDirectory() as scratch:
        for setup in args.setups.split(","):
            try:
                translate = translator(args.run, setup, args.shortlist, Path(scratch))
            except NlpseqError as exc:  # bf16 on a CPU without it, onnx without its packages
                print(f"{setup}: skipped ({exc})")
                continue
            rows += decoding_rows(translate, sents, refs, setup)
    print(f"{len(sents)} sentences, threads={torch.get_num_threads()}, shortlist: {args.shortlist} per source piece "
          f"+ the recipe's decode.shortlist_frequent ({task.decode_cfg.shortlist_frequent})")
    print(f"{'setup':15} {'decoding':18} {'sentences/s':>12} {'ms/sentence':>12} {'s for all':>10} {'BLEU':>6} {'chrF':>6}")
    for r in rows:
        scores = f"{r['bleu']:6.2f} {r['chrf']:6.2f}" if "bleu" in r else f"{'':6} {'':6}"
        print(f"{r['setup']:15} {r['mode']:18} {r['sentences_per_s']:12.1f} {r['ms_per_sentence']:12.1f} "
              f"{r['seconds_for_all']:10.2f} {scores}")
    base = {r["mode"]: r for r in rows if r["setup"] == rows[0]["setup"]}
    for r in rows[len(base):]:
        print(f"{r['setup']} {r['mode']}: {r['sentences_per_s'] / base[r['mode']]['sentences_per_s']:.2f}x "
              f"{rows[0]['setup']}" + (f", BLEU {r['bleu'] - base[r['mode']]['bleu']:+.2f}, chrF "
                                            f"{r['chrf'] - base[r['mode']]['chrf']:+.2f}" if "bleu" in r else ""))
    train_tps = None
    if args.train_steps:
        task, model = load_run(args.run, "translation")
        train_tps = training_tokens_per_s(task, model, args.train_steps)
        print(f"training: {train_tps:.0f} target tokens/s")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    print(describe(machine))
    Path(args.json).write_text(json.dumps({"machine": machine, "sentences": len(sents), "shortlist": args.shortlist,
                                           "decoding": rows,
                                           "train_target_tokens_per_s": train_tps}, indent=2) + "\n")


if __name__ == "__main__":
    main()
