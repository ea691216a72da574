"""The recipe's ``train`` section, beside the trainer that reads it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import Count, Natural, NonNegative, Positive, Probability, Section, Share


class TrainConfig(Section):
    """How to train: optimizer, schedule, batching, clipping, evaluation and checkpoints."""

    epochs: Count = Field(10, description="passes over the training data (or fewer: max_steps, max_minutes, patience)")
    max_steps: Count | None = Field(None, description="stop after this many optimizer steps, whatever the epoch")
    max_minutes: Positive | None = Field(None, description=(
        "stop after this much training time (this process's), then evaluate"))
    batch_tokens: Count = Field(4000, description="padded tokens (or tree nodes) per batch")
    batch_size: Count = Field(64, description="most examples per batch")
    # A training set larger than this is bucketed a pool of this many examples at a time (memory
    # stays flat with corpus size); a smaller one is bucketed whole.
    bucket_pool: int = Field(262_144, ge=16, description=(
        "a training set larger than this is bucketed by length this many examples at a time (memory stays flat)"))
    bptt: Count | None = Field(None, description=(
        "truncated BPTT: steps per chunk of batch_size parallel streams (language models)"))
    accumulate: Count = Field(1, description="micro-batches per optimizer step")
    optimizer: Literal["adam", "adamw", "adagrad", "sgd"] = Field("adam", description=(
        "adam, adamw (decoupled weight decay), adagrad or sgd"))
    lr: Positive = Field(1e-3, description="learning rate (the peak rate under a schedule)")
    lr_multipliers: dict[str, float] = Field({}, description="parameter-name prefix -> factor on lr, e.g. {embed: 10}")
    momentum: Probability = Field(0.0, description="sgd only")
    betas: tuple[float, float] = Field((0.9, 0.999), description="adam's and adamw's moment decays")
    eps: float | None = Field(None, gt=0, description=(
        "the optimizer's epsilon (adam, adamw, adagrad); null: torch's default"))
    adagrad_reset: int | None = Field(None, ge=1, description=(
        "epochs between resets of AdaGrad's squared-gradient sums (CoreNLP's RNTN: 1)"))
    weight_decay: NonNegative = Field(0.0, description="decoupled decay (Loshchilov & Hutter); needs optimizer adamw")
    l2: NonNegative = Field(0.0, description="L2 penalty 0.5 * l2 * ||w||^2 added to the loss (weights, not biases)")
    # budget_linear / budget_cosine: the rate falls from lr to min_lr as the budget is spent, the budget
    # being whichever of max_minutes, max_steps and epochs runs out first (so on a slow machine too)
    schedule: Literal["constant", "warmup_linear", "inverse_sqrt", "plateau", "budget_linear", "budget_cosine",
                      "budget_wsd"] = Field("constant", description=(
        "how the rate moves: constant, warmup_linear, inverse_sqrt, plateau (cut on a dev plateau), budget_linear "
        "/ budget_cosine (down to min_lr as the budget is spent), or budget_wsd (warmup-stable-decay: lr until "
        "the last decay_share of the budget, then linearly down to min_lr)"))
    decay_share: Share = Field(0.15, description=(
        "budget_wsd: the share of the budget, at its end, over which the rate falls to min_lr"))
    warmup_steps: Natural = Field(0, description="steps over which the rate rises from 0 to lr")
    plateau_factor: Share = Field(0.5, description="plateau schedule: the factor on the rate at each cut")
    plateau_patience: Natural = Field(1, description=(
        "plateau schedule: evaluations without a better metric before a cut"))
    min_lr: NonNegative = Field(0.0, description="the lowest rate a schedule goes to")
    ema: float | None = Field(None, gt=0, lt=1, description=(
        "decay of a moving average of the weights; dev scores and the saved model use it"))
    ema_warmup: bool = Field(False, description=(
        "decay min(ema, (1+n)/(10+n)) after n steps: early scores skip the initial weights"))
    clip_norm: Positive | None = Field(5.0, description="clip the global gradient norm; null turns it off")
    clip_value: Positive | None = Field(None, description="clip each gradient element to [-v, v]")
    log_every: Count = Field(50, description="optimizer steps between training-loss records")
    eval_every: Count | None = Field(None, description="optimizer steps between dev evaluations; null: once per epoch")
    eval_every_minutes: float | None = Field(None, gt=0, description=(
        "also evaluate when this much training time passed since the last"))
    patience: Count | None = Field(None, description="stop after this many evaluations without a better dev metric")
    metric: str | None = Field(None, description="dev metric that selects the best weights; null: the task's default")
    # which weights are saved as model.safetensors: best (the best dev metric), loss (the lowest dev
    # loss), last (the final weights) or average (the mean of the last average_last checkpoints' weights)
    select: Literal["best", "loss", "last", "average"] = Field("best", description=(
        "which weights are saved: best (dev metric), loss (lowest dev loss), last, or average (of the last "
        "average_last checkpoints)"))
    average_last: int = Field(5, ge=1, description="select average: how many of the last checkpoints are averaged")
    checkpoint_every: Count | None = Field(None, description=(
        "steps between resumable checkpoints; null: at each evaluation"))
    keep_checkpoints: Count = Field(2, description="resumable checkpoints kept (the oldest are deleted)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description=(
        "where to train: auto (a GPU when there is one), cpu or cuda"))
    # Under torchrun: seconds a collective (a gradient all-reduce, a barrier) waits for the other
    # processes before the run ends with an error naming this key, instead of hanging on a lost peer.
    dist_timeout_s: float = Field(1800.0, gt=0, description=(
        "under torchrun: seconds a collective waits for the other processes before the run ends with an error"))
    amp: bool = Field(False, description="float16 autocast with loss scaling, on CUDA only")
    find_unused_parameters: bool = Field(False, description=(
        "distributed runs: a model with parameters some batches skip"))
    threads: Count | None = Field(None, description="torch intra-op threads; null: torch's default")
    keep_freed_memory: bool = Field(True, description=(
        "glibc keeps freed blocks for reuse: no page faults on large batches"))
    tensorboard: bool = Field(True, description="write TensorBoard event files into the run directory")
    progress: bool = Field(True, description=(
        "show progress (a bar on a terminal, a line every 30 s otherwise) and the dev scores"))
    # run.json records the machine's fp32 matmul rate (1 s to measure) and the share of it training achieved
    measure_machine: bool = Field(True, description=(
        "record the machine's fp32 matmul rate in run.json (1 s) and the share of it training achieved"))

    @model_validator(mode="after")
    def _average_needs_checkpoints(self) -> "TrainConfig":
        if self.select == "average" and self.keep_checkpoints < self.average_last:
            raise ValueError(f"select: average over the last {self.average_last} checkpoints needs "
                             f"keep_checkpoints >= {self.average_last} (got {self.keep_checkpoints})")
        return self
