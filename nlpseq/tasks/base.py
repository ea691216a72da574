"""The task contract: how a task reads its data, builds its model, evaluates and answers.

The CLI, the Python pipeline and the HTTP service all go through a task; none of them
knows a model class.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Iterable

import torch
from pydantic import BaseModel, ValidationError

from ..config import Section
from ..data.batching import to_device
from ..errors import InputError, NlpseqError, RunDirError
from ..metrics.resampling import ItemStats
from ..nn.quantize import with_precision
from ..recipe import Recipe, build_recipe
from ..registry import MODELS, TASKS
from ..run import INFO, RECIPE, RunDir
from ..train.distributed import select_device
from ..train.trainer import TrainData


def mean_loss(model: torch.nn.Module, batches: Iterable[dict]) -> tuple[float, int]:
    """The model's training objective averaged over every unit (token) of ``batches``, and the unit count."""
    device = next(model.parameters()).device
    total, units = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for batch in batches:
            out = model(to_device(batch, device))
            total += float(out["loss"]) * int(out["units"])
            units += int(out["units"])
    return total / max(units, 1), units


class Task:
    """Base class; subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    models: ClassVar[tuple[str, ...]]
    default_model: ClassVar[str]
    DataConfig: ClassVar[type[Section]]
    TextConfig: ClassVar[type[Section]]
    metric: ClassVar[str]  # default dev metric that selects the best weights
    higher_is_better: ClassVar[bool] = True
    # Names of ``nlpseq.pipeline(NAME, ...)`` this task's runs answer, the first the task's own, then aliases.
    pipelines: ClassVar[tuple[str, ...]] = ()
    # The options :meth:`evaluate` takes beyond the data, typed; the CLI offers and checks them from here.
    EvaluateOptions: ClassVar[type[Section]] = Section
    plot_name: ClassVar[str] = "confusion"  # `nlpseq evaluate` writes RUN/<plot_name>_<data>.png

    # What the task answers. ``nlpseq.pipeline``, the CLI verb and the HTTP endpoint are all built
    # from these declarations, so a new task appears in each without an edit there.
    Input: ClassVar[Any] = str  # the type of one input (text; a forecaster's list of numbers)
    AnswerOptions: ClassVar[type[Section]] = Section  # the options :meth:`answer` takes per call, typed
    Answer: ClassVar[type[BaseModel] | None] = None  # the JSON shape of one answer (the service's schema)
    service_defaults: ClassVar[dict[str, Any]] = {}  # AnswerOptions defaults the HTTP service changes
    verb: ClassVar[str | None] = None  # ``nlpseq <verb> RUN INPUT...`` answers with runs of this task
    verb_help: ClassVar[str] = ""

    def __init__(self, recipe: Recipe, run: RunDir) -> None:
        self.recipe, self.run = recipe, run
        # False on distributed ranks other than 0: they fit the same text layer but never save it.
        self.writes_run = True

    @classmethod
    def check_recipe(cls, recipe: Recipe) -> None:
        """Checks that span sections (a data key that needs a model key); runs when a recipe is built,
        before any run directory exists.

        Raises:
            RecipeError: the sections disagree; the message names the keys.
        """

    # training side
    def prepare(self) -> tuple[TrainData, Any]:
        """Read train and dev data, fit and save the text layer; returns (train, dev or None)."""
        raise NotImplementedError

    def build_model(self) -> torch.nn.Module:
        """A freshly initialised model for this recipe (text layer already fitted or loaded)."""
        return MODELS.get(self.recipe.model_name)(self.recipe.model, **self.model_args())

    def model_args(self) -> dict[str, Any]:
        """Sizes the model needs from the text layer (vocabulary size, label count)."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """Facts written to ``run.json`` (labels, languages) beside the task and model names."""
        return {}

    # inference side
    def load_text(self) -> None:
        """Load the fitted text layer from the run directory."""
        raise NotImplementedError

    def read_eval(self, ref: str | None, **kwargs: Any) -> Any:
        """Read evaluation data named by ``ref`` (a path or ``corpus:split``); None: the recipe's dev set."""
        raise NotImplementedError

    def check_eval_data(self, ref: str | None) -> None:
        """Read the evaluation data ``ref`` names (None: the recipe's dev set), so that a bad reference
        is refused before anything trains (``nlpseq compare``); needs no trained text layer.

        Raises:
            DataError: the reference names no readable data set.
        """
        self.read_eval(ref)

    def evaluate(self, model: torch.nn.Module, data: Any) -> dict[str, float]:
        raise NotImplementedError

    def dev_evaluate(self, model: torch.nn.Module, data: Any) -> dict[str, float]:
        """The evaluation run during training (a task may make it cheaper than :meth:`evaluate`)."""
        return self.evaluate(model, data)

    def evaluate_items(self, model: torch.nn.Module, data: Any, plot: str | None = None, **options: Any
                       ) -> tuple[dict[str, float], dict[str, ItemStats]]:
        """:meth:`evaluate`'s metrics and, for those that resample, per-item sufficient statistics
        (:class:`~nlpseq.metrics.resampling.ItemStats`): what confidence intervals and paired tests need.

        Raises:
            NlpseqError: the task keeps no per-item statistics.
        """
        raise NlpseqError(f"task '{self.name}' keeps no per-item statistics (bootstrap intervals and "
                          "nlpseq compare's paired tests cover sentiment, tree_sentiment, translation and parsing)")

    def answer(self, model: torch.nn.Module, inputs: Any, **options: Any) -> list[dict[str, Any]]:
        """JSON-ready answers for raw inputs (one :attr:`Input` or a list of them), with the
        :attr:`AnswerOptions` given; invalid inputs raise :class:`~nlpseq.errors.InputError`."""
        raise NotImplementedError

    @classmethod
    def answer_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` checked against :attr:`AnswerOptions`, with every default filled in.

        Raises:
            InputError: an option the task does not take, or a bad value; one line naming it.
        """
        unknown = options.keys() - cls.AnswerOptions.model_fields.keys()
        if unknown:
            takes = ", ".join(cls.AnswerOptions.model_fields) or "none"
            raise InputError(f"option '{sorted(unknown)[0]}': a {cls.name} model does not take it (its options: {takes})")
        try:
            return cls.AnswerOptions(**options).model_dump()
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(f"option {where}: {err['msg']}" if where else err["msg"]) from None

    def show(self, answer: dict[str, Any]) -> str:
        """One answer as the one line ``nlpseq <verb>`` prints (JSON unless the task reads better as text)."""
        return json.dumps(answer, ensure_ascii=False)

    @classmethod
    def from_run(cls, run: RunDir) -> "Task":
        recipe = build_recipe(run.recipe_tree(), str(run / RECIPE))
        if recipe.task != cls.name:
            raise RunDirError(f"{run / INFO}: names the task '{cls.name}', but {run / RECIPE} is a "
                              f"'{recipe.task}' recipe; the files come from different runs")
        task = cls(recipe, run)
        task.load_text()
        return task


def load_run(path: str | os.PathLike, task: str | tuple[str, ...] | None = None,
             device: str = "cpu", precision: str | None = None, weights: str = "selected"
             ) -> tuple[Task, torch.nn.Module]:
    """Open a trained run directory (or a shipped model, by name): its task (text layer loaded) and its model in eval mode, at
    ``precision`` (``fp32``, ``int8`` or ``bf16``; None: the recipe's ``decode.precision`` where it has one, else fp32).
    ``weights``: ``selected`` (the run's saved weights, ``train.select``) or ``last`` (those training
    ended with, from its newest checkpoint).

    Raises:
        RunDirError: not a run directory, or one of another task than ``task``.
    """
    from ..catalog import locate

    run = RunDir.open(locate(path), task)
    info = run.info()
    task_obj = TASKS.get(info["task"]).from_run(run)
    model = task_obj.build_model()
    if weights == "last":
        from ..train.checkpoint import last_weights

        run.load_state_into(model, last_weights(run))
    else:
        run.load_state_into(model)
    model.to(select_device(device)).eval()
    chosen = precision or getattr(task_obj.recipe.decode, "precision", None) or "fp32"
    if chosen == "int8" and next(model.parameters()).device.type != "cpu":
        raise NlpseqError(f"precision {chosen}: quantized products run on the CPU; load the run with device='cpu'")
    return task_obj, with_precision(model, chosen)
