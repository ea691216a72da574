"""One training loop for every model family.

A model is an ``nn.Module`` that meets :class:`~nlpseq.contracts.TrainableModel`: ``forward(batch)``
returns a dict with ``loss`` (a scalar)
and ``units`` (how many tokens/nodes the loss averages over). The trainer knows nothing else
about it: the task supplies the examples, the collate function and the evaluation.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from ..contracts import CarriesState
from ..data.batching import EpochBatches, LengthSource, Share, to_device
from ..errors import RecipeError
from ..faults import kill_point
from ..run import INFO, TENSORBOARD, WEIGHTS, RunDir
from .checkpoint import load_latest_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import TrainConfig
from .distributed import SINGLE, Distributed
from .memory import keep_freed_memory
from .optim import Schedule, build_optimizer, clip_gradients, ema_update, l2_penalty, reset_adagrad

log = logging.getLogger(__name__)
progress_log = logging.getLogger("nlpseq.progress")  # what a person follows; the CLI shows it at INFO
REPORT_EVERY_S = 30.0


def _duration(seconds: float) -> str:
    """``95`` -> ``1 min 35 s``; ``4000`` -> ``1 h 07 min``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainData:
    """What the trainer needs of a training set: its size, per-example lengths and a batch builder.

    ``lengths`` may be read a window at a time (:class:`~nlpseq.data.batching.LengthSource`), so a
    corpus larger than memory need not hold them; a length of 0 leaves an example out of training.
    """

    lengths: Sequence[int] | LengthSource
    make_batch: Callable[[list[int]], dict[str, Any]]  # example indices -> batch of tensors


class _LossWindow:
    """Training loss summed over the units since the last log record, and when that window began."""

    def __init__(self) -> None:
        self.reset()

    def add(self, loss: float, units: int) -> None:
        self.loss_sum += loss * units
        self.units += units

    def reset(self) -> None:
        self.loss_sum, self.units, self.start = 0.0, 0, time.perf_counter()


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint."""

    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed, by all processes together
    step: int = 0  # optimizer steps
    best: float | None = None
    bad_evals: int = 0
    stopped: bool = False
    best_loss: float | None = None  # the lowest dev loss so far (train.select: loss)
    best_step: int | None = None  # the step of the best dev metric
    best_loss_step: int | None = None  # the step of the lowest dev loss
    train_seconds: float = 0.0  # training time spent before the last checkpoint, across resumes
    evaluated_step: int = -1  # the step of the last dev evaluation
    limit_hit: bool = False  # stopped by max_steps or max_minutes, maybe between evaluations

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Trainer:
    """Fits a model: batches, accumulation, clipping, schedules, evaluation, early stopping, checkpoints.

    Args:
        model: the model; ``forward(batch)`` returns ``{"loss", "units", ...}``.
        cfg: the recipe's ``train`` section.
        run: run directory that receives metrics, best weights and checkpoints.
        seed: seeds weights (before the trainer), dropout and the batch order of each epoch.
        evaluate: ``model -> metrics`` on the dev set, or None.
        metric: name of the dev metric that selects the best weights.
        higher_is_better: direction of that metric.
        dist: this process's rank under torchrun; the model is then wrapped in
            ``DistributedDataParallel`` and only rank 0 writes the run directory.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        cfg: TrainConfig,
        run: RunDir,
        seed: int,
        evaluate: Callable[[torch.nn.Module], dict[str, float]] | None,
        metric: str,
        higher_is_better: bool,
        dist: Distributed = SINGLE,
    ) -> None:
        self.cfg, self.run, self.seed, self.dist = cfg, run, seed, dist
        self.device = dist.device(cfg.device)
        self.model = model.to(self.device)
        self.progress = Progress()
        if cfg.bptt and dist.enabled:
            raise RecipeError("train.bptt (truncated BPTT over streams) runs in one process only")
        self.net: torch.nn.Module = self.model  # what the loop calls: the model, or its DDP wrapper
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            # DDP broadcasts rank 0's weights, so every rank starts from the same model.
            self.net = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda"
                                               else None, find_unused_parameters=cfg.find_unused_parameters)
            self._reseed_rank()
        self.evaluate_fn = evaluate
        self.metric, self.higher = metric, higher_is_better
        self.optimizer = build_optimizer(self.model, cfg)
        self._epoch_batches = 0  # global micro-batches in the current epoch, once fit has listed them
        self._started = time.perf_counter()  # minus the seconds spent before a resume (see resume)
        self._reported = time.perf_counter()  # when the last progress line was printed
        self.schedule = Schedule(self.optimizer, cfg, budget_used=self.budget_used)
        self.average = None  # the moving average of the weights (train.ema): what is evaluated and saved
        if cfg.ema is not None:
            from torch.optim.swa_utils import AveragedModel

            self.average = AveragedModel(self.model, multi_avg_fn=ema_update(cfg.ema, cfg.ema_warmup), use_buffers=True)
        elif cfg.ema_warmup:
            raise RecipeError("train.ema_warmup needs train.ema (the decay it warms up to)")
        self.amp = cfg.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self._tb = None
        self._evaluated_clock = 0.0  # training seconds at the last dev evaluation
        self._flop_per_unit: float | None = None

    # -- state -----------------------------------------------------------------------------------
    def _state(self) -> dict:
        self.progress.train_seconds = self.elapsed()
        return {
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            "progress": self.progress.as_dict(),
            **({"average": self.average.state_dict()} if self.average is not None else {}),
            # Truncated BPTT's state between chunks: without it a resumed run starts its next chunk from zeros.
            **({"carried": self.model.carried_state()} if isinstance(self.model, CarriesState) else {}),
        }

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are evaluated and saved: the moving average when there is one."""
        return self.average.module if self.average is not None else self.model

    def resume(self) -> bool:
        """Restore the newest complete checkpoint; returns False when there is none."""
        found = load_latest_checkpoint(self.run)
        if found is None:
            self.run.truncate_metrics(0)  # a run killed before its first checkpoint starts over cleanly
            return False
        weights, state = found
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(state["optimizer"])
        # Progress first: a budget schedule reads it when its state is restored.
        self.progress = Progress(**state["progress"])
        self._started = time.perf_counter() - self.progress.train_seconds
        self._evaluated_clock = self.progress.train_seconds
        self.schedule.load_state_dict(state["schedule"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        if isinstance(self.model, CarriesState):
            self.model.restore_carried_state(state.get("carried"))
        if self.average is not None:
            if "average" not in state:
                raise RecipeError("train.ema was turned on after this run's last checkpoint; resume without it")
            self.average.load_state_dict(state["average"])
        self._reseed_rank()
        if self.dist.is_main:
            self.run.truncate_metrics(self.progress.step)
        # Said on stderr: which checkpoint a resume took is what a person (or a fault test) checks first.
        log.warning("resumed from the checkpoint of step %d (epoch %d)", self.progress.step, self.progress.epoch + 1)
        return True

    def _reseed_rank(self) -> None:
        # Ranks other than 0 draw their own dropout masks, reseeded at every step so that a resumed
        # run draws the same ones (only rank 0's generator is in the checkpoint); rank 0 keeps the
        # single-process stream.
        if self.dist.rank:
            torch.manual_seed(self.seed * 1_000_003 + self.dist.rank * 7919 + self.progress.step)

    def _checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        save_checkpoint(self.run, self.progress.step, self.model, self._state(), self.cfg.keep_checkpoints)

    # -- logging ---------------------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        # Wall-clock seconds since this process began training: the curve against time, not only steps.
        record = {"step": self.progress.step, "epoch": self.progress.epoch,
                  "elapsed_s": round(time.perf_counter() - self._started, 1), **record}
        self.run.append_metrics(record)
        self._report(record)
        if self.cfg.tensorboard:
            if self._tb is None:
                from torch.utils.tensorboard import SummaryWriter

                # purge_step drops events a killed run logged after its last checkpoint.
                self._tb = SummaryWriter(str(self.run / TENSORBOARD), purge_step=self.progress.step)
            split = record.get("split", "train")
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("step", "epoch", "elapsed_s"):
                    self._tb.add_scalar(f"{split}/{k}", v, self.progress.step)

    def _report(self, record: dict[str, Any]) -> None:
        """What a person watching sees (logger ``nlpseq.progress``; the CLI shows it, --quiet hides it):
        every dev evaluation's scores, and, when no progress bar is drawn (not a terminal), a line
        about every 30 s with the step, epoch, loss, speed and the budget left."""
        split = record.get("split")
        if not self.cfg.progress or split not in ("dev", "train"):
            return
        if split == "dev":
            scores = ", ".join(f"{k}={v:.2f}" for k, v in record.items() if isinstance(v, float) and k != "elapsed_s")
            decoding = record.get("beam")
            how = "" if decoding is None else " (greedy)" if decoding == 1 else f" (beam {decoding})"
            p = self.progress
            done = p.epoch + (p.batch_in_epoch / self._epoch_batches if self._epoch_batches else 0.0)
            progress_log.info("dev at step %d (%.2f epochs)%s: %s", record["step"], done, how, scores)
            return
        now = time.perf_counter()
        if sys.stderr.isatty() or now - self._reported < REPORT_EVERY_S:
            return
        self._reported = now
        used, elapsed = self.budget_used(), self.elapsed()
        left = f", about {_duration(elapsed * (1 - used) / used)} left" if used > 0.005 else ""
        progress_log.info("step %d, epoch %d of %d, loss %.3f, %.0f units/s, %.0f%% of the budget spent%s",
                          record["step"], record["epoch"] + 1, self.cfg.epochs, record["loss"],
                          record.get("units_per_s", 0.0), 100 * used, left)

    # -- time ------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Training seconds so far, including those before a resume."""
        return time.perf_counter() - self._started

    def shared_elapsed(self) -> float:
        """Training seconds as the processes agree on them: the mean of their clocks (one all-reduce).
        Every process calls it at the same points, so the schedules and stops that read it stay equal
        where each process's own clock would let the copies of the model drift apart."""
        return self.dist.sum(self.elapsed())[0] / self.dist.world

    def budget_used(self) -> float:
        """The share (0..1) of the training budget spent: the furthest along of time (``max_minutes``),
        steps (``max_steps``) and epochs, so budget schedules end with whichever limit ends the run."""
        cfg, p = self.cfg, self.progress
        used = 0.0
        if self._epoch_batches:
            used = (p.epoch + p.batch_in_epoch / self._epoch_batches) / max(cfg.epochs, 1)
        if cfg.max_steps:
            used = max(used, p.step / cfg.max_steps)  # steps done: the next step's rate, however it is reached
        if cfg.max_minutes:
            used = max(used, self.shared_elapsed() / (cfg.max_minutes * 60))
        return min(used, 1.0)

    # -- evaluation ------------------------------------------------------------------------------
    def _evaluation_due(self) -> bool:
        cfg, step = self.cfg, self.progress.step
        if cfg.eval_every and step % cfg.eval_every == 0:
            return True
        # Spaced in time too, so a slower machine still evaluates (and selects) as often per budget.
        return bool(cfg.eval_every_minutes) and self.shared_elapsed() - self._evaluated_clock >= cfg.eval_every_minutes * 60

    def _evaluate(self) -> bool:
        """Evaluate on dev, keep the selected weights; returns True when training should stop."""
        p, main, select = self.progress, self.dist.is_main, self.cfg.select
        p.evaluated_step, self._evaluated_clock = p.step, self.shared_elapsed()
        if self.evaluate_fn is None:
            if main:
                self.run.save_weights(self.eval_model.state_dict(), step=self.progress.step)
            return False
        value, loss = None, None
        if main:  # rank 0 evaluates; every rank then takes the same schedule and stopping decisions
            net = self.eval_model
            # The evaluation runs the same module when no weight average is kept: a state carried
            # between training chunks (truncated BPTT) must survive it.
            carried = net.carried_state() if isinstance(net, CarriesState) else None
            net.eval()
            kill_point("evaluate", p.step)
            with torch.no_grad():
                metrics = self.evaluate_fn(net)
            net.train()
            if isinstance(net, CarriesState):
                net.restore_carried_state(carried)
            self._log({"split": "dev", **metrics})
            value, loss = metrics[self.metric], metrics.get("loss")
            if select == "loss" and loss is None:
                raise RecipeError("train.select: 'loss' needs a dev loss, and this task's evaluation reports none")
        value = self.dist.broadcast(value)
        self.schedule.observe(value, self.higher)
        better = p.best is None or (value > p.best if self.higher else value < p.best)
        if better:
            p.best, p.bad_evals, p.best_step = value, 0, p.step
        else:
            p.bad_evals += 1
        if main:
            lower_loss = loss is not None and (p.best_loss is None or loss < p.best_loss)
            if lower_loss:
                p.best_loss, p.best_loss_step = loss, p.step
            # last/average: the newest weights stand in until training ends and replaces them.
            if (select == "best" and better) or (select == "loss" and lower_loss) or select in ("last", "average"):
                self.run.save_weights(self.eval_model.state_dict(), step=self.progress.step)
        return self.cfg.patience is not None and p.bad_evals >= self.cfg.patience

    def _save_selected(self) -> None:
        """At the end of training: the final weights (``select: last``) or the mean of the last
        ``average_last`` checkpoints' weights (``select: average``); other choices were saved as they came."""
        if self.cfg.select == "last":
            self.run.save_weights(self.eval_model.state_dict(), step=self.progress.step)
        elif self.cfg.select == "average":
            from .checkpoint import average_checkpoints

            # The mean of what is evaluated: the moving averages where the run keeps one.
            self.run.save_weights(average_checkpoints(self.run, self.cfg.average_last, self.average is not None),
                                  step=self.progress.step)

    # -- the loop --------------------------------------------------------------------------------
    def fit(self, data: TrainData) -> dict[str, Any]:
        """Train until ``epochs``, ``max_steps`` or early stopping; returns the final progress."""
        p = self.progress
        if p.stopped or p.epoch >= self.cfg.epochs:
            # A finished run, resumed. If the kill came after its last checkpoint but before the end of
            # _finish (its last evaluation, the selected weights), that end is done now.
            info = self.run.info() if (self.run / INFO).exists() else {}
            if info.get("finished_step") != p.step:
                self._set_up_process()
                self._finish()
            return p.as_dict()
        self._set_up_process()
        while not p.stopped and p.epoch < self.cfg.epochs:
            todo = self._epoch_batches_left(data)
            epoch_start = time.perf_counter()
            self._train_epoch(data, todo)
            if p.stopped:
                break
            self._end_epoch(len(todo), time.perf_counter() - epoch_start)
        self._finish()
        return p.as_dict()

    def _set_up_process(self) -> None:
        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        if self.cfg.keep_freed_memory:
            keep_freed_memory()
        self.model.train()

    def _epoch_batches_left(self, data: TrainData) -> Share:
        """This rank's micro-batches of the current epoch not yet consumed (all of them at its start)."""
        cfg, p = self.cfg, self.progress
        # The global batch list depends on the seed and epoch only; each rank takes its share.
        if cfg.bptt:  # consecutive chunks of the same streams, in order: the state flows between them
            batches = [[i] for i in range(len(data.lengths))]
        else:
            batches = EpochBatches(data.lengths, cfg.batch_tokens, cfg.batch_size, self.seed * 100_003 + p.epoch,
                                   cfg.bucket_pool)
        if cfg.adagrad_reset and p.epoch and p.epoch % cfg.adagrad_reset == 0 and p.batch_in_epoch == 0:
            reset_adagrad(self.optimizer)  # at the epoch's start only: a resumed epoch was reset already
        todo = self.dist.shard(batches, p.batch_in_epoch)
        self._epoch_batches = p.batch_in_epoch + len(todo) * self.dist.world  # the global position the epoch ends at
        self.schedule.refresh()  # a resumed budget schedule learns only now how long its epoch is
        return todo

    def _train_epoch(self, data: TrainData, todo: Share) -> None:
        """The micro-batches of one epoch: forward, backward, a step every ``accumulate`` of them, and
        after each step the logging, limits, evaluations and checkpoints (:meth:`_after_step`)."""
        from tqdm import tqdm

        cfg, p, world, total = self.cfg, self.progress, self.dist.world, self._epoch_batches
        show = cfg.progress and sys.stderr.isatty() and self.dist.is_main
        bar = tqdm(total=total, initial=p.batch_in_epoch, desc=f"epoch {p.epoch + 1}", disable=not show, leave=False)
        window = _LossWindow()
        for micro, idx in enumerate(todo, 1):
            if self._flop_per_unit is None and cfg.measure_machine and self.dist.is_main:
                self._flop_per_unit = self._count_flops(data.make_batch(idx))
            last = micro % cfg.accumulate == 0 or p.batch_in_epoch + world >= total
            # Gradients are averaged across ranks once per optimizer step, not per micro-batch.
            sync = contextlib.nullcontext() if last or not self.dist.enabled else self.net.no_sync()
            with sync:
                out, objective = self._forward(data.make_batch(idx))
                self.scaler.scale(objective / cfg.accumulate).backward()
            kill_point("step.backward", p.step + 1)
            window.add(float(out["loss"].detach()), int(out["units"]))
            p.batch_in_epoch += world
            bar.update(world)
            if not last:
                continue
            self._optimizer_step()
            kill_point("step.optimizer", p.step)
            self._log_training(window, bar)
            if self._after_step():
                break
        bar.close()

    def _log_training(self, window: "_LossWindow", bar) -> None:
        p = self.progress
        if p.step % self.cfg.log_every == 0 or p.batch_in_epoch == self._epoch_batches:
            loss_sum, units_sum = self.dist.sum(window.loss_sum, window.units)
            loss = loss_sum / max(units_sum, 1)
            self._log({"split": "train", "loss": loss, "lr": self.schedule.lr,
                       "units_per_s": units_sum / max(time.perf_counter() - window.start, 1e-9)})
            bar.set_postfix(loss=f"{loss:.3f}")
            window.reset()

    def _after_step(self) -> bool:
        """Limits, a dev evaluation when due, a checkpoint when due; returns True when training stops."""
        cfg, p = self.cfg, self.progress
        stop = (cfg.max_steps is not None and p.step >= cfg.max_steps) or self._out_of_time()
        p.limit_hit = p.limit_hit or stop
        if self._evaluation_due():
            stop = self._evaluate() or stop
        if stop:
            p.stopped = True
        ckpt_every = cfg.checkpoint_every or cfg.eval_every
        if stop or (ckpt_every and p.step % ckpt_every == 0):
            self._checkpoint()
        return stop

    def _end_epoch(self, batches: int, seconds: float) -> None:
        p = self.progress
        self._log({"split": "epoch", "seconds": seconds, "batches": batches})
        p.epoch += 1
        p.batch_in_epoch = 0
        if not self.cfg.eval_every:
            p.stopped = self._evaluate()
        self._checkpoint()

    def _finish(self) -> None:
        """A last evaluation if steps went unevaluated, then the run's facts and the selected weights."""
        p = self.progress
        if p.evaluated_step != p.step and (p.limit_hit or not p.stopped):
            self._evaluate()  # the steps since the last evaluation may hold the best weights
        if self.dist.is_main:
            self._record_run_facts()
            self._save_selected()
            if self.evaluate_fn is None or not (self.run.path / WEIGHTS).exists():
                self.run.save_weights(self.eval_model.state_dict(), step=self.progress.step)
            # Written last: a run resumed after this point has nothing left to do.
            self.run.write_info({**self.run.info(), "finished_step": self.progress.step}, step=self.progress.step)
        if self._tb is not None:
            self._tb.close()

    def _count_flops(self, batch: dict) -> float:
        """FLOP per unit of one training pass over ``batch``, counted outside training: the gradients
        are dropped and every random state is put back, so the run is the same with or without it."""
        from ..machine import training_flops

        state = rng_state()
        # A model that carries its state across batches (truncated BPTT) would otherwise train its next
        # chunk from the state this extra pass left, not from the one training (or a resume) left.
        carried = self.model.carried_state() if isinstance(self.model, CarriesState) else None
        units = [0]

        def step() -> None:
            out = self.model(to_device(batch, self.device))
            units[0] = int(out["units"])
            out["loss"].backward()

        try:
            flops = training_flops(step)
        finally:
            self.optimizer.zero_grad(set_to_none=True)
            set_rng_state(state)
            if isinstance(self.model, CarriesState):
                self.model.restore_carried_state(carried)
        return flops / max(units[0], 1)

    def _record_run_facts(self) -> None:
        """run.json: which evaluation the saved weights come from, and (``measure_machine``) the machine's
        matmul rate on this run's threads with the share of it training reached."""
        p, select = self.progress, self.cfg.select
        step = {"best": p.best_step, "loss": p.best_loss_step}.get(select, p.step)
        facts: dict[str, Any] = {"selection": {"select": select, "metric": self.metric, "step": step}}
        rates = [r["units_per_s"] for r in self.run.read_metrics() if r.get("split") == "train" and "units_per_s" in r]
        median = sorted(rates)[len(rates) // 2] if rates else None
        facts["training"] = {"steps": p.step, "epochs": p.epoch + (p.batch_in_epoch / self._epoch_batches
                                                                   if self._epoch_batches else 0.0),
                             "seconds": round(self.elapsed(), 1), "stopped_by": self._stop_reason(),
                             "units_per_s": median, "processes": self.dist.world}
        if self.cfg.measure_machine and self._flop_per_unit and rates:
            from ..machine import machine_facts, share_of_machine

            # The rate is measured here, on the device this process trains on; the logged units/s are
            # every process's together, so one process's share of its own device is divided by their number.
            facts["machine"] = machine_facts(torch.get_num_threads(), device=self.device)
            facts["throughput"] = share_of_machine(self._flop_per_unit, median / self.dist.world,
                                                   facts["machine"]["sgemm_gflops"])
        info = self.run.info() if (self.run / INFO).exists() else {}
        self.run.write_info({**info, **facts, "finished_step": None}, step=self.progress.step)

    def _stop_reason(self) -> str:
        """What ended training: ``max_steps``, ``max_minutes``, ``patience`` (early stopping) or ``epochs``."""
        p, cfg = self.progress, self.cfg
        if p.limit_hit:
            return "max_steps" if cfg.max_steps is not None and p.step >= cfg.max_steps else "max_minutes"
        if cfg.patience is not None and p.bad_evals >= cfg.patience:
            return "patience"
        return "epochs"

    def _out_of_time(self) -> bool:
        if self.cfg.max_minutes is None:
            return False
        return self.shared_elapsed() >= self.cfg.max_minutes * 60  # every rank stops at the same step

    def _forward(self, batch: dict) -> tuple[dict, torch.Tensor]:
        """The model's output and the objective to minimise (its loss plus any L2 penalty)."""
        batch = to_device(batch, self.device)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            out = self.net(batch)
            objective = out["loss"] + l2_penalty(self.model, self.cfg.l2)
        if not math.isfinite(float(out["loss"].detach())):
            log.warning("non-finite loss at step %d", self.progress.step)
        return out, objective

    def _optimizer_step(self) -> None:
        self.scaler.unscale_(self.optimizer)
        clip_gradients(self.model.parameters(), self.cfg)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.average is not None:
            self.average.update_parameters(self.model)
        self.optimizer.zero_grad(set_to_none=True)
        # The step is counted before the schedule moves: the budget it reads is then the same whether
        # the next step follows this one, starts an epoch or starts a resumed run.
        self.progress.step += 1
        self.schedule.step()
        self._reseed_rank()
