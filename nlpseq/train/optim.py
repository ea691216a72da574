"""Optimizers, learning-rate schedules, gradient clipping and the L2 penalty."""

from __future__ import annotations

import math
from typing import Callable

import torch

from ..errors import RecipeError
from .config import TrainConfig


def _param_groups(params, multipliers: dict[str, float]) -> list[dict]:
    """Parameters grouped by learning-rate factor: ``multipliers`` maps a name prefix
    (``embed`` or ``embed.weight``) to a factor; the longest matching prefix wins."""
    named = list(params.named_parameters()) if isinstance(params, torch.nn.Module) else None
    if named is None:
        if multipliers:
            raise RecipeError("train.lr_multipliers needs the model's parameter names")
        return [{"params": [p for p in params if p.requires_grad], "lr_scale": 1.0}]
    groups: dict[float, list[torch.nn.Parameter]] = {}
    used: set[str] = set()
    for name, p in named:
        hits = [k for k in multipliers if name == k or name.startswith(k + ".")]
        used.update(hits)
        if p.requires_grad:
            groups.setdefault(multipliers[max(hits, key=len)] if hits else 1.0, []).append(p)
    for prefix in sorted(multipliers.keys() - used):
        roots = sorted({n.split(".")[0] for n, _ in named})
        raise RecipeError(f"train.lr_multipliers: no parameter is named '{prefix}' (the model has {', '.join(roots)})")
    return [{"params": ps, "lr_scale": scale} for scale, ps in groups.items()]


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``cfg.optimizer``, over ``params`` (a model, or an iterable of tensors).

    ``weight_decay`` is decoupled decay and only AdamW implements it; an L2 penalty in the
    loss (``l2``) is the other, distinct option, usable with any optimizer. Given a model,
    ``cfg.lr_multipliers`` scales the learning rate of the parameters they name.
    """
    if cfg.weight_decay and cfg.optimizer != "adamw":
        raise RecipeError(
            f"train.weight_decay is decoupled weight decay and needs optimizer 'adamw' "
            f"(got '{cfg.optimizer}'); use train.l2 for an L2 penalty in the loss"
        )
    if cfg.adagrad_reset is not None and cfg.optimizer != "adagrad":
        raise RecipeError(f"train.adagrad_reset needs optimizer 'adagrad' (got '{cfg.optimizer}')")
    if cfg.eps is not None and cfg.optimizer == "sgd":
        raise RecipeError("train.eps is the epsilon of adam, adamw or adagrad; sgd has none")
    params = _param_groups(params, cfg.lr_multipliers)
    eps = {"eps": cfg.eps} if cfg.eps is not None else {}
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, **eps)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **eps)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, **eps)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)


def reset_adagrad(optimizer: torch.optim.Optimizer) -> None:
    """Forget AdaGrad's sums of squared gradients, so every parameter's step size starts afresh.

    The Stanford RNTN code does this at every epoch: without it the step of a frequent parameter
    shrinks like 1/sqrt(visits) for the whole run, while rare words keep large steps.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "sum" in state:
                state["sum"].fill_(group.get("initial_accumulator_value", 0.0))


def budget_factor(kind: str, used: float, decay_share: float = 0.15) -> float:
    """The share of the way from ``min_lr`` to ``lr`` at which a budget schedule stands when ``used``
    (0..1) of the budget is spent: ``budget_linear`` falls linearly to 0 (Li, Yumer & Ramanan, ICLR
    2020), ``budget_cosine`` along half a cosine, ``budget_wsd`` stays at 1 and falls linearly over the
    last ``decay_share`` (Hägele et al. 2024: it matches cosine, and a run may be cooled down from any
    point of its stable part)."""
    used = min(max(used, 0.0), 1.0)
    if kind == "budget_linear":
        return 1.0 - used
    if kind == "budget_wsd":
        return min(1.0, (1.0 - used) / decay_share)
    return 0.5 * (1.0 + math.cos(math.pi * used))


class Schedule:
    """Learning-rate schedule stepped once per optimizer step (``plateau``: once per evaluation).

    Its state is plain numbers, so it is saved and restored with the checkpoint. The budget
    schedules read how much of the training budget is spent from ``budget_used`` (a callable
    returning 0..1, set by the trainer), so the rate reaches ``min_lr`` when the budget runs out,
    on a fast machine or a slow one.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                 budget_used: Callable[[], float] | None = None) -> None:
        self.opt, self.cfg = optimizer, cfg
        self.base_lr = cfg.lr
        self.budget_used = budget_used or (lambda: 0.0)
        self.scale = 1.0  # plateau reductions so far
        self.best: float | None = None
        self.bad = 0
        self.step_num = 0
        self._apply()

    def _factor(self) -> float:
        s, w = self.step_num, self.cfg.warmup_steps
        kind = self.cfg.schedule
        warm = min(1.0, (s + 1) / w) if w > 0 else 1.0
        if kind == "warmup_linear":
            return warm
        if kind == "inverse_sqrt":
            return warm if s < w else (max(w, 1) / max(s, 1)) ** 0.5
        if kind == "plateau":
            return warm * self.scale
        return 1.0

    def refresh(self) -> None:
        """Set the rate again from the schedule's inputs (the budget spent may have been unknown before)."""
        self._apply()

    def _apply(self) -> None:
        if self.cfg.schedule.startswith("budget_"):
            w = self.cfg.warmup_steps
            warm = min(1.0, (self.step_num + 1) / w) if w > 0 else 1.0
            share = budget_factor(self.cfg.schedule, self.budget_used(), self.cfg.decay_share)
            lr = warm * (self.cfg.min_lr + (self.base_lr - self.cfg.min_lr) * share)
        else:
            lr = max(self.cfg.min_lr, self.base_lr * self._factor())
        for group in self.opt.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

    @property
    def lr(self) -> float:
        """The base rate (before ``lr_multipliers``)."""
        group = self.opt.param_groups[0]
        return group["lr"] / group.get("lr_scale", 1.0)

    def step(self) -> None:
        self.step_num += 1
        self._apply()

    def observe(self, value: float, higher_is_better: bool) -> None:
        """Report a dev metric; ``plateau`` lowers the rate after ``plateau_patience`` bad evaluations."""
        if self.cfg.schedule != "plateau":
            return
        better = self.best is None or (value > self.best if higher_is_better else value < self.best)
        if better:
            self.best, self.bad = value, 0
        else:
            self.bad += 1
            if self.bad > self.cfg.plateau_patience:
                self.scale *= self.cfg.plateau_factor
                self.bad = 0
        self._apply()

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best": self.best, "bad": self.bad, "step_num": self.step_num}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.best, self.bad, self.step_num = state["scale"], state["best"], state["bad"], state["step_num"]
        self._apply()


def l2_penalty(model: torch.nn.Module, coeff: float) -> torch.Tensor | float:
    """``0.5 * coeff * sum ||W||^2`` over weight matrices (biases and norms excluded).

    A model may weight some matrices more through a class attribute ``l2_multipliers``
    (parameter name -> factor), as the RNTN regularises its composition harder than its words.
    """
    if not coeff:
        return 0.0
    factors = getattr(model, "l2_multipliers", {})
    return 0.5 * coeff * sum(factors.get(name, 1.0) * (p * p).sum()
                             for name, p in model.named_parameters() if p.requires_grad and p.dim() > 1)


def clip_gradients(params, cfg: TrainConfig) -> float | None:
    """Clip by value, then by global norm, as configured; returns the norm before norm clipping."""
    params = [p for p in params if p.grad is not None]
    if cfg.clip_value is not None:
        torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
    if cfg.clip_norm is not None:
        return float(torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm))
    return None


def ema_update(decay: float, warmup: bool = False):
    """The in-place update of a weight average for ``torch.optim.swa_utils.AveragedModel``.

    ``avg <- avg + (1 - d) * (w - avg)`` with ``d = decay``, or, with ``warmup``, ``d = min(decay,
    (1 + n) / (10 + n))`` after ``n`` updates (TensorFlow's ``num_updates`` rule): a decay of 0.999
    otherwise keeps a trace of the random initial weights for thousands of steps.
    """
    if not warmup:
        from torch.optim.swa_utils import get_ema_multi_avg_fn

        return get_ema_multi_avg_fn(decay)  # kept as is: runs made before the warm-up existed reproduce

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        if not averaged:
            return
        n = float(num_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, weight)
        else:  # integer buffers (counts) follow the model
            for a, c in zip(averaged, current):
                a.copy_(c)

    return update
