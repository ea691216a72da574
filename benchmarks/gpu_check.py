"""The GPU check: the main de-en recipe on one CUDA GPU, with and without mixed precision (train.amp).

Usage: python benchmarks/gpu_check.py [--steps 300] [--recipe recipes/translation/multi30k_de_en_lstm.yaml]
       [--out runs/gpu_check] [--json OUT.json]         (or: make gpu-check)

For fp32 and then AMP it trains the recipe for ``--steps`` steps from the same seed and reports
tokens/s, the training loss at the end (and how far AMP's is from fp32's), the peak GPU memory, and
then decodes the validation set with beam 5 (sentences/s, BLEU, chrF). It needs CUDA and the
Multi30k corpus (``NLPSEQ_DATA``); without a GPU it says so in one line and exits 2, doing nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cuda_or_exit() -> str:
    """The GPU's name; without CUDA, a one-line message and exit status 2."""
    import torch

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); nothing was run", file=sys.stderr)
        raise SystemExit(2)
    return torch.cuda.get_device_name(0)


def _train(recipe: str, out: Path, steps: int, amp: bool) -> dict:
    sets = ["train.device=cuda", f"train.amp={str(amp).lower()}", f"train.max_steps={steps}", "train.max_minutes=null",
            f"train.eval_every={steps}", "train.eval_every_minutes=null", "train.tensorboard=false",
            "train.epochs=1000", "train.progress=false"]
    probe = ("import json, sys, torch\n"
             "from nlpseq.cli import main\n"
             "torch.cuda.reset_peak_memory_stats()\n"
             "code = main(sys.argv[1:])\n"
             "print('PEAK', torch.cuda.max_memory_allocated())\n"
             "sys.exit(code)\n")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", probe, "train", recipe, "--out", str(out),
                          *[a for s in sets for a in ("--set", s)]], cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"gpu_check: training failed: {res.stderr.strip().splitlines()[-1] if res.stderr else ''}")
    seconds = time.perf_counter() - t0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r.get("split") == "train"]
    peak = int(next(line.split()[1] for line in res.stdout.splitlines() if line.startswith("PEAK")))
    rates = sorted(r["units_per_s"] for r in train if "units_per_s" in r)
    return {"amp": amp, "steps": steps, "seconds": seconds, "tokens_per_s": rates[len(rates) // 2] if rates else None,
            "final_loss": train[-1]["loss"] if train else None, "peak_gpu_mib": peak / 2**20}


def _decode(out: Path) -> dict:
    res = subprocess.run([sys.executable, "-m", "nlpseq.cli", "evaluate", str(out), "--beam", "5", "--json"],
                         cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"gpu_check: decoding failed: {res.stderr.strip()[-300:]}")
    m = json.loads(res.stdout)
    return {"bleu": m["bleu"], "chrf": m["chrf"], "sentences_per_s": m.get("sentences_per_s")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--recipe", default="recipes/translation/multi30k_de_en_lstm.yaml")
    ap.add_argument("--out", default="runs/gpu_check")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "gpu_check.json"))
    args = ap.parse_args()
    gpu = cuda_or_exit()
    rows = []
    for amp in (False, True):
        out = Path(args.out) / ("amp" if amp else "fp32")
        if out.exists():
            raise SystemExit(f"gpu_check: {out} exists; remove it or give another --out")
        row = _train(args.recipe, out, args.steps, amp)
        row.update(_decode(out))
        rows.append(row)
    fp32, amp = rows
    print(f"GPU: {gpu}; {args.steps} steps of {args.recipe}, same seed")
    print(f"{'precision':10} {'tokens/s':>9} {'final loss':>10} {'peak MiB':>9} {'beam-5 sent/s':>13} {'BLEU':>6} {'chrF':>6}")
    for r in rows:
        print(f"{'amp' if r['amp'] else 'fp32':10} {r['tokens_per_s'] or 0:9.0f} {r['final_loss']:10.4f} "
              f"{r['peak_gpu_mib']:9.0f} {r['sentences_per_s'] or 0:13.1f} {r['bleu']:6.2f} {r['chrf']:6.2f}")
    gap = abs(amp["final_loss"] - fp32["final_loss"])
    print(f"loss after {args.steps} steps: AMP {amp['final_loss']:.4f} vs fp32 {fp32['final_loss']:.4f} "
          f"(|difference| {gap:.4f}); AMP tokens/s {amp['tokens_per_s'] / fp32['tokens_per_s']:.2f}x fp32")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"gpu": gpu, "recipe": args.recipe, "rows": rows, "loss_gap": gap},
                                          indent=2) + "\n")


if __name__ == "__main__":
    main()
