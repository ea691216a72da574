"""Training throughput: 2 processes x 1 thread (torchrun, gloo) versus 1 process x 2 threads.

Usage: python benchmarks/distributed.py [--recipe RECIPE] [--steps 40] [--json OUT.json]

Both configurations train the same recipe on the same global batch (the single process
accumulates two micro-batches per step, as two ranks contribute one each) for ``--steps``
optimizer steps; the table gives target tokens per second over the logged windows after the
first (which pays for start-up and allocator warm-up). The default recipe is the main Multi30k
translator when NLPSEQ_DATA has Multi30k, else the bundled tiny one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from nlpseq.machine import describe, machine_facts

ROOT = Path(__file__).resolve().parent.parent


def default_recipe() -> Path:
    data = os.environ.get("NLPSEQ_DATA")
    if data and (Path(data) / "multi30k").is_dir():
        return ROOT / "recipes" / "translation" / "multi30k_de_en_lstm.yaml"
    return ROOT / "recipes" / "translation" / "tiny_de_en.yaml"


def train(recipe: Path, out: Path, procs: int, threads: int, steps: int, log_every: int) -> dict:
    sets = ["--set", f"train.max_steps={steps}", "--set", f"train.log_every={log_every}", "--set",
            f"train.threads={threads}", "--set", f"train.accumulate={2 // procs}", "--set", "train.tensorboard=false",
            "--set", f"train.eval_every={10 * steps}"]
    args = [str(recipe), "--out", str(out), *sets]
    if procs == 1:
        cmd = [sys.executable, "-m", "nlpseq.cli", "train", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
               "-m", "nlpseq.cli", "train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["units_per_s"] for r in records if r.get("split") == "train"][1:]
    return {"procs": procs, "threads": threads, "tokens_per_s": statistics.median(rates) if rates else float("nan"),
            "windows": len(rates), "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "distributed.json"))
    args = ap.parse_args()
    recipe = args.recipe or default_recipe()
    log_every = max(args.steps // 5, 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for procs, threads in ((1, 2), (2, 1)):
            rows.append(train(recipe, Path(tmp) / f"p{procs}", procs, threads, args.steps, log_every))
    print(f"recipe {recipe.relative_to(ROOT)}, {args.steps} steps, same global batch, cpus={os.cpu_count()}")
    print(f"{'configuration':28} {'target tokens/s':>16} {'wall s':>8}")
    for r in rows:
        print(f"{r['procs']} process(es) x {r['threads']} thread(s){'':5} {r['tokens_per_s']:16.0f} {r['wall_s']:8.1f}")
    ratio = rows[1]["tokens_per_s"] / rows[0]["tokens_per_s"]
    print(f"2 x 1 / 1 x 2: {ratio:.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    print(describe(machine))
    Path(args.json).write_text(json.dumps({"machine": machine, "recipe": str(recipe), "steps": args.steps, "rows": rows,
                                           "ratio_2x1_over_1x2": ratio}, indent=2) + "\n")


if __name__ == "__main__":
    main()
