"""How often each of compare's tests calls two identical configurations different: simulated
experiments in which every seed's trained model has an ability of its own (seed sd) and is scored on
the same evaluation items, compared with the paired bootstrap over items (seeds fixed) and with
Welch's test over per-seed scores (compare's headline p).

Usage: python benchmarks/seed_tests.py [--experiments 400] [--seeds 5] [--items 550] [--seed-sd 0,1.2,2.1]
       [--accuracy 0.45] [--resamples 1000] [--json OUT.json]

Each experiment draws, for both configurations alike, ``--seeds`` abilities from N(accuracy, seed sd)
and, for each, which of ``--items`` items the model gets right; the share of experiments with
p < 0.05 is each test's false-positive rate (5% for a test that holds). The table prints it per seed
sd with a 95% interval over experiments (Wilson), beside the machine's matmul rate.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from nlpseq.machine import describe, machine_facts
from nlpseq.metrics.resampling import ItemStats, paired_bootstrap, resample_weights, welch_test

ROOT = Path(__file__).resolve().parent.parent


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a rate of ``hits`` in ``n``."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def experiment(rng: np.random.Generator, seeds: int, items: int, accuracy: float, seed_sd: float,
               weights: np.ndarray) -> tuple[float, float, float]:
    """(item bootstrap p, Welch p, the sd of one configuration's seed scores) for two configurations
    that do not differ."""
    # Items differ in difficulty; each seed's model shifts every item's chance by its own ability.
    difficulty = rng.normal(0, 1.5, items)

    def runs() -> list[ItemStats]:
        out = []
        for ability in rng.normal(0, seed_sd / 100 * 4, seeds):  # a logit shift: about seed_sd points of accuracy
            chance = 1 / (1 + np.exp(-(math.log(accuracy / (1 - accuracy)) + ability - difficulty)))
            out.append(ItemStats.ratio((rng.random(items) < chance).astype(float), np.ones(items)))
        return out

    base, other = runs(), runs()
    items_p = paired_bootstrap(base, other, weights)["p"]
    seeds_p = welch_test([r.value for r in base], [r.value for r in other])["p"]
    return items_p, 1.0 if seeds_p is None else seeds_p, float(np.std([r.value for r in base], ddof=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--items", type=int, default=550)
    ap.add_argument("--seed-sd", default="0,1.2,2.1", help="spread of the seeds' scores, in points (comma list)")
    ap.add_argument("--accuracy", type=float, default=0.45)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "seed_tests.json"))
    args = ap.parse_args()
    machine = machine_facts()
    weights = resample_weights(args.items, args.resamples)
    rows = []
    print(f"{'seed sd':>8} {'measured sd':>12} {'item bootstrap p<0.05':>24} {'Welch over seeds p<0.05':>26}")
    for sd in (float(x) for x in args.seed_sd.split(",")):
        rng = np.random.default_rng(1)
        t0 = time.perf_counter()
        ps = [experiment(rng, args.seeds, args.items, args.accuracy, sd, weights) for _ in range(args.experiments)]
        hits = [sum(p[k] < 0.05 for p in ps) for k in (0, 1)]
        # The spread the simulation really gave (seed abilities plus item sampling), in accuracy points.
        spread = float(np.sqrt(np.mean([p[2] ** 2 for p in ps])))
        row = {"seed_sd": sd, "measured_sd": spread, "experiments": args.experiments,
               "item_bootstrap_rate": hits[0] / args.experiments, "item_bootstrap_ci": wilson(hits[0], args.experiments),
               "welch_rate": hits[1] / args.experiments, "welch_ci": wilson(hits[1], args.experiments),
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        fmt = lambda r, ci: f"{100 * r:5.1f}% [{100 * ci[0]:4.1f}, {100 * ci[1]:4.1f}]"  # noqa: E731
        print(f"{sd:8.1f} {spread:12.2f} {fmt(row['item_bootstrap_rate'], row['item_bootstrap_ci']):>24} "
              f"{fmt(row['welch_rate'], row['welch_ci']):>26}", flush=True)
    print(describe(machine))
    out = {"seeds": args.seeds, "items": args.items, "resamples": args.resamples, "accuracy": args.accuracy,
           "rows": rows, "machine": machine}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
