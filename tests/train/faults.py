"""The kill-anywhere harness: train a recipe straight through, then again with a SIGKILL at a seeded
random point (between a backward pass and its optimizer step, after a step, or inside a checkpoint
write: after the weights, after the state, after the rename), resume it, and compare the final
checkpoints: weights, optimizer, schedule, RNG, progress (but its clock) and any carried state.

Runs are forked from one process that has imported torch and nlpseq once (a "zygote"), so a kill
and a resume cost a training run's time, not an interpreter start each.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import torch

from nlpseq.faults import ENV, POINTS

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--set", "train.tensorboard=false", "--set", "train.progress=false", "--set", "train.threads=1",
        "--set", "train.measure_machine=false"]

_ZYGOTE = r"""
import json, os, sys
import torch
import nlpseq.cli, nlpseq.tasks  # imported once; every run is a fork of this process
torch.set_num_threads(1)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.environ.update(job["env"])
        fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            code = nlpseq.cli.main(job["argv"])
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 99
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
                      "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}), flush=True)
"""


class Zygote:
    """A process that forks a fresh ``nlpseq`` command line per :meth:`run`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def run(self, argv: list[str], log: Path, kill_at: str | None = None) -> dict:
        env = {ENV: kill_at} if kill_at else {}
        self.proc.stdin.write(json.dumps({"argv": argv, "env": env, "log": str(log)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the zygote process died")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def kill_points(seed: int, count: int, steps: int, checkpoint_every: int, eval_every: int) -> list[str]:
    """``count`` distinct seeded kill points ``NAME:STEP`` among those a run reaches: step points
    anywhere before the last step, checkpoint points at the steps that write a checkpoint, ``evaluate``
    at the steps that evaluate, the selected weights at the first evaluation (the first always keeps
    its weights) and ``run.json`` at the last step (where it is written)."""
    rng = random.Random(seed)
    ckpt_steps = [s for s in range(1, steps + 1) if s % checkpoint_every == 0 or s == steps]
    eval_steps = [s for s in range(1, steps + 1) if s % eval_every == 0 or s == steps]
    at = {"evaluate": eval_steps, "selected.partial": eval_steps[:1], "info.partial": [steps]}
    every = [f"{p}:{s}" for p in POINTS
             for s in at.get(p, ckpt_steps if p.startswith("checkpoint") else range(1, steps))]
    return rng.sample(every, min(count, len(every)))


def each_kind(steps: int, checkpoint_every: int, eval_every: int) -> list[str]:
    """One kill point of every kind, each at a step after the first checkpoint, so that an older
    checkpoint is there to fall back on where the newest is damaged."""
    first_ckpt = checkpoint_every
    ckpt = next(s for s in range(first_ckpt + 1, steps + 1) if s % checkpoint_every == 0)
    evaluation = next(s for s in range(first_ckpt + 1, steps + 1) if s % eval_every == 0)
    step = first_ckpt + 1
    at = {"evaluate": evaluation, "selected.partial": eval_every, "info.partial": steps}
    # The whole-file points between the checkpoint's two files are left to the seeded (slow) kills: a
    # kill part-way through each file leaves the same folder state and a half file besides.
    kinds = [p for p in POINTS if p not in ("checkpoint.weights", "checkpoint.state")]
    return [f"{p}:{at.get(p, ckpt if p.startswith('checkpoint') else step)}" for p in kinds]


def newest_checkpoint_step(run: Path) -> int:
    """The step of the newest complete checkpoint in ``run`` (0: none), as a resume should find it."""
    steps = [int(p.name.split("_")[1]) for p in (run / "checkpoints").glob("step_*") if p.is_dir()]
    return max(steps, default=0)


def final_checkpoint(run: Path) -> tuple[dict, dict]:
    from safetensors.torch import load_file

    last = sorted((run / "checkpoints").glob("step_*"))[-1]
    return load_file(str(last / "model.safetensors")), torch.load(last / "state.pt", weights_only=True)


def differences(a, b, path: str = "") -> list[str]:
    """Where two checkpoint states differ (tensors bit for bit); the progress clock is left out."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
        return [] if same else [path]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path} keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a if not (path == ".progress" and k == "train_seconds")
                for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path} length"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def kill_and_resume(zygote: Zygote, recipe: str, out: Path, args: list[str], kill_at: str) -> None:
    """Train with a kill at ``kill_at``, then resume until done; raises when either goes wrong."""
    argv = ["train", recipe, "--out", str(out), *args]
    first = zygote.run(argv, out.with_suffix(".kill.log"), kill_at)
    if first["signal"] != 9:
        raise AssertionError(f"{kill_at}: the run was not killed ({first}): "
                             + out.with_suffix(".kill.log").read_text()[-500:])
    expected = newest_checkpoint_step(out)
    second = zygote.run([*argv, "--resume"], out.with_suffix(".resume.log"))
    log = out.with_suffix(".resume.log").read_text()
    if second["code"] != 0:
        raise AssertionError(f"{kill_at}: resuming failed: " + log[-800:])
    # A resume that ignored its checkpoints and trained from step 0 would reach the same weights (training
    # is deterministic): the step it loaded is what shows it resumed.
    loaded = [int(m) for m in re.findall(r"resumed from the checkpoint of step (\d+)", log)]
    if expected == 0 and loaded or expected and loaded != [expected]:
        raise AssertionError(f"{kill_at}: the resume loaded step {loaded or 'none'}, the newest complete "
                             f"checkpoint was step {expected or 'none'}")
