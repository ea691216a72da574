"""Training and scoring every configuration x seed, each in its own process, resumably."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import NlpseqError
from ..fileio import atomic_path
from ..metrics.resampling import ItemStats
from ..run import INFO, RECIPE
from .plan import Configuration


@dataclass
class RunResult:
    """One trained and scored run: its metrics on the report data and their per-item statistics."""

    configuration: Configuration
    seed: int
    run_dir: Path
    metrics: dict
    items: dict[str, ItemStats]
    facts: dict = field(default_factory=dict)  # from run.json: steps, seconds, what stopped it, units/s, machine
    last_items: dict[str, ItemStats] | None = None  # the same metrics for the weights training ended with


def run_facts(run_dir: Path) -> dict:
    """What a trained run recorded about its training (``run.json``): steps, epochs, seconds, what
    stopped it, units/s, and the machine's matmul rate where it was measured."""
    try:
        info = json.loads((run_dir / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    training = dict(info.get("training") or {})
    if "machine" in info:
        training["sgemm_gflops"] = info["machine"].get("sgemm_gflops")
    return training


def save_items(items: dict[str, ItemStats], path: str | os.PathLike) -> None:
    """Per-item statistics as a ``.npz`` of plain arrays (loaded without pickle), kinds in its names."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{f"{kind}:{name}": item.stats for name, item in items.items() for kind in [item.kind]})


def load_items(path: str | os.PathLike) -> dict[str, ItemStats]:
    with np.load(path, allow_pickle=False) as npz:
        return {key.split(":", 1)[1]: ItemStats(key.split(":", 1)[0], npz[key]) for key in npz.files}


def _data_tag(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]", "_", ref) or "dev"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "nlpseq.cli", *args]


def _run_logged(cmd: list[str], log: Path, env: dict, what: str) -> str:
    """Run ``cmd``; its stderr goes to ``log``; returns its stdout. A failure names the log's last line."""
    with open(log, "a", encoding="utf-8") as err:
        err.write("$ " + " ".join(cmd) + "\n")
        err.flush()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    if proc.returncode != 0:
        lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        raise NlpseqError(f"{what} failed (exit {proc.returncode}): {lines[-1] if lines else ''} (log: {log})")
    return proc.stdout


def run_experiment(recipe: str | os.PathLike, configurations: Sequence[Configuration], seeds: Sequence[int],
                   out: str | os.PathLike, overrides: Sequence[str] = (), train_dev: str | None = None,
                   report_data: Sequence[str] = (), jobs: int = 1, threads: int | None = None,
                   on_done: Callable[[Configuration, int, dict[str, RunResult]], None] | None = None
                   ) -> dict[str, list[RunResult]]:
    """Train ``recipe`` for every configuration and seed into ``out/<configuration>/seed_<s>`` and score
    each run on every reference in ``report_data``; returns, per data reference, the results.

    Each run is a ``nlpseq train`` process (resumed when its folder holds a run) followed by a
    ``nlpseq evaluate`` that saves per-item statistics beside the run; a run already scored is
    not touched again, so an interrupted experiment continues where it stopped. ``jobs`` runs go at
    once, each with ``threads`` torch threads (default: the cores divided among the jobs).
    ``train_dev`` replaces the recipe's dev set during training (selection on half A of dev); a
    ``report_data`` entry "" scores on the run's own dev set.
    """
    out = Path(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if jobs > 1 or threads:
        threads = threads or max(1, (os.cpu_count() or 1) // jobs)
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))

    def one(config: Configuration, seed: int) -> list[RunResult]:
        run_dir = out / config.folder / f"seed_{seed}"
        log = out / "logs" / f"{config.folder}_seed_{seed}.log"
        results = []
        for ref in report_data:
            scored = run_dir / f"items_{_data_tag(ref)}.json"
            if not scored.exists():
                if not (run_dir / "items.trained").exists():
                    sets = [f"seed={seed}", *overrides, *config.overrides]
                    if train_dev is not None:
                        sets.append(f"data.dev={train_dev}")
                    if threads:
                        sets.append(f"train.threads={threads}")
                    cmd = _cli("train", str(recipe), "--out", str(run_dir), *[a for s in sets for a in ("--set", s)])
                    if (run_dir / RECIPE).exists():
                        cmd.append("--resume")
                    _run_logged(cmd, log, env, f"training {config.name} seed {seed}")
                    (run_dir / "items.trained").touch()
                data = ["--data", ref] if ref else []  # "": the run's own dev set
                # With selection on half A, the weights training ended with are scored too: what
                # selection moved on each half is then measured against them (the selection effect).
                stdout = {}
                for weights in ("selected", "last") if train_dev is not None else ("selected",):
                    suffix = "_last" if weights == "last" else ""
                    npz = run_dir / f"items_{_data_tag(ref)}{suffix}.npz"
                    stdout[weights] = _run_logged(
                        _cli("evaluate", str(run_dir), *data, "--json", "--weights", weights, "--save-items", str(npz)),
                        log, env, f"scoring {config.name} seed {seed} ({weights} weights) on {ref or 'dev'}")
                with atomic_path(scored) as tmp:  # written last: the run is then scored whole
                    tmp.write_text(stdout["selected"].strip().splitlines()[-1], encoding="utf-8")
            metrics = json.loads(scored.read_text(encoding="utf-8"))
            last = run_dir / f"items_{_data_tag(ref)}_last.npz"
            results.append(RunResult(config, seed, run_dir, metrics, load_items(run_dir / f"items_{_data_tag(ref)}.npz"),
                                     run_facts(run_dir), load_items(last) if last.exists() else None))
        if on_done is not None:
            on_done(config, seed, dict(zip(report_data, results)))
        return results

    # Seed first: stopped part-way, an experiment has every configuration on its first seeds, which
    # can be compared, rather than every seed of the first configurations.
    todo = [(c, s) for s in seeds for c in configurations]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(lambda cs: one(*cs), todo))
    order = sorted(range(len(todo)), key=lambda i: (configurations.index(todo[i][0]), seeds.index(todo[i][1])))
    return {ref: [done[i][k] for i in order] for k, ref in enumerate(report_data)}
