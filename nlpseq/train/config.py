"""The recipe's ``train`` section, beside the trainer that reads it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import Count, Natural, NonNegative, Positive, Probability, Section, Share


class TrainConfig(Section):
    """How to train: optimizer, schedule, batching, clipping, evaluation and checkpoints."""

    epochs: Count = 10
    max_steps: Count | None = None  # stop after this many optimizer steps, whatever the epoch
    max_minutes: Positive | None = None  # stop after this much training time (this process's), then evaluate
    batch_tokens: Count = 4000  # padded tokens (or tree nodes) per batch
    batch_size: Count = 64  # most examples per batch
    # A training set larger than this is bucketed a pool of this many examples at a time (memory
    # stays flat with corpus size); a smaller one is bucketed whole.
    bucket_pool: int = Field(262_144, ge=16)
    bptt: Count | None = None  # truncated BPTT: steps per chunk of batch_size parallel streams (language models)
    accumulate: Count = 1  # micro-batches per optimizer step
    optimizer: Literal["adam", "adamw", "adagrad", "sgd"] = "adam"
    lr: Positive = 1e-3
    lr_multipliers: dict[str, float] = {}  # parameter-name prefix -> factor on lr, e.g. {embed: 10}
    momentum: Probability = 0.0  # sgd only
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float | None = Field(None, gt=0)  # the optimizer's epsilon (adam, adamw, adagrad); null: torch's default
    adagrad_reset: int | None = Field(None, ge=1)  # epochs between resets of AdaGrad's squared-gradient sums (CoreNLP's RNTN: 1)
    weight_decay: NonNegative = 0.0  # decoupled decay (Loshchilov & Hutter); needs optimizer adamw
    l2: NonNegative = 0.0  # L2 penalty 0.5 * l2 * ||w||^2 added to the loss (weights, not biases)
    # budget_linear / budget_cosine: the rate falls from lr to min_lr as the budget is spent, the budget
    # being whichever of max_minutes, max_steps and epochs runs out first (so on a slow machine too)
    schedule: Literal["constant", "warmup_linear", "inverse_sqrt", "plateau", "budget_linear", "budget_cosine"] = "constant"
    warmup_steps: Natural = 0
    plateau_factor: Share = 0.5
    plateau_patience: Natural = 1
    min_lr: NonNegative = 0.0
    ema: float | None = Field(None, gt=0, lt=1)  # decay of a moving average of the weights; dev scores and the saved model use it
    ema_warmup: bool = False  # decay min(ema, (1+n)/(10+n)) after n steps: early scores skip the initial weights
    clip_norm: Positive | None = 5.0  # clip the global gradient norm; null turns it off
    clip_value: Positive | None = None  # clip each gradient element to [-v, v]
    log_every: Count = 50  # optimizer steps between training-loss records
    eval_every: Count | None = None  # optimizer steps between dev evaluations; null: once per epoch
    eval_every_minutes: float | None = Field(None, gt=0)  # also evaluate when this much training time passed since the last
    patience: Count | None = None  # stop after this many evaluations without a better dev metric
    metric: str | None = None  # dev metric that selects the best weights; null: the task's default
    # which weights are saved as model.safetensors: best (the best dev metric), loss (the lowest dev
    # loss), last (the final weights) or average (the mean of the last average_last checkpoints' weights)
    select: Literal["best", "loss", "last", "average"] = "best"
    average_last: int = Field(5, ge=1)
    checkpoint_every: Count | None = None  # steps between resumable checkpoints; null: at each evaluation
    keep_checkpoints: Count = 2
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Under torchrun: seconds a collective (a gradient all-reduce, a barrier) waits for the other
    # processes before the run ends with an error naming this key, instead of hanging on a lost peer.
    dist_timeout_s: float = Field(1800.0, gt=0)
    amp: bool = False  # float16 autocast with loss scaling, on CUDA only
    find_unused_parameters: bool = False  # distributed runs: a model with parameters some batches skip
    threads: Count | None = None  # torch intra-op threads; null: torch's default
    keep_freed_memory: bool = True  # glibc keeps freed blocks for reuse: no page faults on large batches
    tensorboard: bool = True
    progress: bool = True
    # run.json records the machine's fp32 matmul rate (1 s to measure) and the share of it training achieved
    measure_machine: bool = True

    @model_validator(mode="after")
    def _average_needs_checkpoints(self) -> "TrainConfig":
        if self.select == "average" and self.keep_checkpoints < self.average_last:
            raise ValueError(f"select: average over the last {self.average_last} checkpoints needs "
                             f"keep_checkpoints >= {self.average_last} (got {self.keep_checkpoints})")
        return self
