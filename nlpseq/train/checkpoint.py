"""Resumable checkpoints: written into a temporary folder and renamed, so a kill never leaves a half one."""

from __future__ import annotations

import logging
import os
import pickle
import random
import shutil
from pathlib import Path

import torch

from ..faults import kill_part_way, kill_point
from ..fileio import fsync_dir
from ..errors import RunDirError
from ..run import CHECKPOINTS, STATE, WEIGHTS, RunDir, is_pickle

log = logging.getLogger(__name__)


def rng_state() -> dict:
    """Every random state a training step consumes, as tensors and plain values (weights_only-safe)."""
    state = {"torch": torch.get_rng_state(), "python": _py_state_to_list(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_py_state_from_list(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _py_state_to_list(state: tuple) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _py_state_from_list(state: list) -> tuple:
    return (state[0], tuple(state[1]), state[2])


def save_checkpoint(run: RunDir, step: int, model: torch.nn.Module, state: dict, keep: int) -> Path:
    """Write ``checkpoints/step_<step>/`` (weights as safetensors, the rest as ``state.pt``).

    The folder appears under its final name only once both files are complete and fsynced.
    """
    root = run / CHECKPOINTS
    root.mkdir(exist_ok=True)
    final = root / f"step_{step:09d}"
    tmp = root / f".tmp-step_{step:09d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp / WEIGHTS))
    kill_part_way("checkpoint.weights.partial", step, tmp / WEIGHTS)
    kill_point("checkpoint.weights", step)
    torch.save(state, tmp / STATE)
    kill_part_way("checkpoint.state.partial", step, tmp / STATE)
    kill_point("checkpoint.state", step)
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    fsync_dir(root)
    kill_point("checkpoint.renamed", step)
    for old in list_checkpoints(run)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run: RunDir) -> list[Path]:
    """Complete checkpoints, oldest first (temporary folders of an interrupted write are ignored)."""
    root = run / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step_"))


_TAMPERED = "refusing to resume from it (unpickling can run any code); remove the checkpoint to resume from an older one"


def read_checkpoint(ckpt: Path) -> tuple[dict, dict]:
    """(weights, state) of one checkpoint.

    Raises:
        RunDirError: a file was replaced by a pickle that could run code: never loaded, never skipped.
        Exception: any other damage (a truncated or unreadable file).
    """
    from safetensors.torch import load_file

    try:
        weights = load_file(str(ckpt / WEIGHTS))
    except Exception:
        if is_pickle(ckpt / WEIGHTS):
            raise RunDirError(f"{ckpt / WEIGHTS}: a pickle, not safetensors weights; {_TAMPERED}") from None
        raise
    try:
        # weights_only: tensors and plain containers; an object whose unpickling would run code is refused.
        state = torch.load(ckpt / STATE, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise RunDirError(f"{ckpt / STATE}: holds pickled objects that are not training state; {_TAMPERED}") from None
        raise
    return weights, state


def load_latest_checkpoint(run: RunDir) -> tuple[dict, dict] | None:
    """(weights, state) of the newest checkpoint that loads; a damaged one is skipped with a warning.

    Raises:
        RunDirError: a link leads outside the run, or a checkpoint holds a planted pickle.
    """
    run.check_contained()
    for ckpt in reversed(list_checkpoints(run)):
        try:
            return read_checkpoint(ckpt)
        except RunDirError:
            raise
        except Exception as exc:  # any damage means: fall back to an older checkpoint
            log.warning("skipping damaged checkpoint %s (%s)", ckpt, str(exc).splitlines()[0] if str(exc) else exc)
            # Renamed aside, so that pruning never keeps it in place of a good one.
            os.replace(ckpt, ckpt.with_name(f".damaged-{ckpt.name}"))
    return None


def average_checkpoints(run: RunDir, last: int, moving_average: bool = False) -> dict[str, torch.Tensor]:
    """The element-wise mean of the weights of the newest ``last`` complete checkpoints (fewer when
    the run wrote fewer); integer tensors (counts) come from the newest one. ``moving_average``: the
    mean of the checkpoints' moving averages of the weights (``train.ema``), which are what a run with
    one evaluates and saves, instead of their raw weights.

    Averaging the end of a run's trajectory smooths out the noise of its last steps without
    picking one point by a noisy dev metric (as Vaswani et al. 2017 average their last checkpoints).
    """
    paths = list_checkpoints(run)[-last:]
    if not paths:
        raise FileNotFoundError(f"{run.path}: no checkpoint to average")
    states = []
    for path in paths:
        weights, state = read_checkpoint(path)
        if moving_average:
            weights = averaged_weights(state)
        states.append(weights)
    out = {}
    for name, newest in states[-1].items():
        if torch.is_floating_point(newest):
            out[name] = torch.stack([s[name].double() for s in states]).mean(0).to(newest.dtype)
        else:
            out[name] = newest
    return out


def averaged_weights(state: dict) -> dict[str, torch.Tensor]:
    """The moving average of the weights kept in a checkpoint's state (``AveragedModel`` keeps the
    module's tensors under ``module.`` beside its update count)."""
    return {k.removeprefix("module."): v for k, v in state["average"].items() if k.startswith("module.")}


def last_weights(run: RunDir) -> dict[str, torch.Tensor]:
    """The weights training ended with, as evaluated: the newest checkpoint's moving average of the
    weights where the run keeps one (``train.ema``), else its weights.

    Raises:
        RunDirError: the run has no checkpoint left.
    """
    found = list_checkpoints(run)
    if not found:
        raise RunDirError(f"{run.path}: no checkpoint holds the last weights (--weights last needs one)")
    weights, state = read_checkpoint(found[-1])
    return averaged_weights(state) if "average" in state else weights
