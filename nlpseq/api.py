"""The public Python API: train a recipe, open a run, build a pipeline."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch

from .errors import NlpseqError, check_unicode
from .recipe import Recipe
from .registry import MODELS, TASKS
from .run import RECIPE, RunDir
from .tasks.base import Task, load_run
from .train.trainer import TrainData, Trainer, seed_everything
from .version import RUN_FORMAT, __version__

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .train.distributed import Distributed


def train(recipe: Recipe, out: str | os.PathLike, resume: bool = False) -> RunDir:
    """Train ``recipe`` into the run directory ``out`` (continuing it when ``resume``).

    Under ``torchrun`` every process calls this: rank 0 creates the run directory and fits the
    text layer, the others then read the same data, and all of them train one model with
    ``DistributedDataParallel``; only rank 0 writes.

    Raises:
        RunDirError: ``out`` holds another run and ``resume`` is false.
    """
    from .train.distributed import from_environment, is_collective_timeout

    dist = from_environment(recipe.train.device, recipe.train.dist_timeout_s)
    if not resume and same_run_with_checkpoint(out, recipe):
        # The same recipe with a checkpoint in its folder: a restarted job (torchrun --max-restarts, a
        # scheduler's retry, the same command typed again) continues it rather than being refused.
        log.warning("%s holds a checkpoint of this recipe: resuming it", out)
        resume = True
    if resume and (Path(out) / RECIPE).is_file():
        check_resumed_recipe(recipe, RunDir(out))
    run = RunDir(out)
    found = set(os.listdir(out)) if os.path.isdir(out) else None
    if dist.is_main:  # refusing another run's folder happens here, outside the clean-up below
        run = RunDir.create(out, recipe.dump(), resume=resume)
    try:
        trainer, train_data = _start(recipe, run, resume, dist)
    except BaseException:
        # A run that fails before training (a bad data file, a missing teacher) must not leave a
        # recipe behind: the corrected command would then be refused as "already holds a run".
        if dist.is_main:
            run.discard_new_entries(found)
        raise
    try:
        trainer.fit(train_data)
        dist.barrier()
    except RuntimeError as exc:
        if dist.enabled and is_collective_timeout(exc):
            lost = "timed out" not in str(exc).lower() and "timeout" not in str(exc).lower()
            why = ("another process went away (connection lost)" if lost else
                   f"a collective waited for the other processes past train.dist_timeout_s="
                   f"{recipe.train.dist_timeout_s:g} s (one stopped or hung)")
            raise NlpseqError(f"rank {dist.rank}: {why}: {str(exc).splitlines()[0][:160]}") from None
        raise
    return run


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested recipe as {dotted key: value}."""
    if not isinstance(tree, dict) or not tree:
        return {prefix[:-1]: tree}
    out: dict[str, Any] = {}
    for key, sub in tree.items():
        out.update(_flat(sub, f"{prefix}{key}."))
    return out


def check_resumed_recipe(recipe: Recipe, run: RunDir) -> None:
    """A resumed run continues with its own recipe; refuse settings that differ from it (a ``--set``, or
    another recipe file), which would otherwise be dropped without a word.

    Raises:
        RecipeError: names the first setting that differs, with both values.
    """
    from .errors import RecipeError
    from .recipe import build_recipe

    saved = _flat(build_recipe(run.recipe_tree(), str(run / RECIPE)).to_dict())
    given = _flat(recipe.to_dict())
    differ = [k for k in {**saved, **given} if saved.get(k) != given.get(k)]
    if differ:
        key = differ[0]
        raise RecipeError(f"--resume continues {run.path} with the recipe it was started with; {key} differs "
                          f"(given {given.get(key)!r}, the run's {saved.get(key)!r}"
                          f"{f', and {len(differ) - 1} more' if len(differ) > 1 else ''}): drop the --set, or "
                          "train into a new --out")


def same_run_with_checkpoint(out: str | os.PathLike, recipe: Recipe) -> bool:
    """Whether ``out`` holds a run of exactly ``recipe`` with at least one complete checkpoint."""
    from .train.checkpoint import list_checkpoints

    path = Path(out) / RECIPE
    try:
        return path.read_text(encoding="utf-8") == recipe.dump() and bool(list_checkpoints(RunDir(out)))
    except OSError:
        return False


def _start(recipe: Recipe, run: RunDir, resume: bool, dist: Distributed) -> tuple[Trainer, TrainData]:
    """Everything between creating the run folder and the first training step: text layer, data, model."""
    dist.barrier()
    if resume and (run / RECIPE).exists():
        from .recipe import build_recipe

        # The run's own recipe wins: resuming with different settings would not be the same run.
        recipe = build_recipe(run.recipe_tree(), str(run / RECIPE))
    seed_everything(recipe.seed)
    task: Task = TASKS.get(recipe.task)(recipe, run)
    task.writes_run = dist.is_main
    if not dist.is_main:
        dist.barrier()  # rank 0 fits the text layer and fills the data cache first
    train_data, dev = task.prepare()
    if dist.is_main:
        dist.barrier()
    torch.manual_seed(recipe.seed)  # weights do not depend on how much randomness data preparation used
    model = task.build_model()
    if dist.is_main:
        run.write_info({"nlpseq": __version__, "run_format": RUN_FORMAT, "task": recipe.task, "model": recipe.model_name,
                        **task.info()})
    metric = recipe.train.metric or task.metric
    evaluate = (lambda m: task.dev_evaluate(m, dev)) if dev is not None else None
    trainer = Trainer(model, recipe.train, run, recipe.seed, evaluate, metric, task.higher_is_better, dist)
    if resume:
        trainer.resume()
    elif dist.is_main:
        run.truncate_metrics(0)  # a folder that held no recipe may hold an unrelated metrics file: start it afresh
    return trainer, train_data


class Pipeline:
    """A callable over raw inputs that batches internally and returns JSON-ready answers.

    ``options`` are the task's :attr:`~nlpseq.tasks.base.Task.AnswerOptions` (``beam=5`` for a
    translator), checked when given here and again per call; ``resources`` are loaded objects the
    task's answers use (a parser run for a tree model).
    """

    parser_name: str | None = None  # the parser a tree model reads raw text with, by name

    def __init__(self, task: Task, model: torch.nn.Module, resources: dict[str, Any] | None = None,
                 **options: Any) -> None:
        self.task, self.model, self.resources = task, model, resources or {}
        task.answer_options(options)  # a bad option fails here, not at the first call
        self.options = options

    def __call__(self, inputs: Any, **options: Any) -> list[dict[str, Any]]:
        checked = self.task.answer_options({**self.options, **options})
        for i, x in enumerate([inputs] if isinstance(inputs, str) else inputs if isinstance(inputs, list) else []):
            check_unicode(x, f"input {i}")
        return self.task.answer(self.model, inputs, **self.resources, **checked)

    @property
    def labels(self) -> list[str]:
        return list(getattr(self.task, "label_names", []))


def pipeline_tasks() -> dict[str, tuple[str, ...]]:
    """Pipeline name (or alias) -> the tasks whose runs answer it, from what each task declares
    (``Task.pipelines``): sequence and tree models both answer ``sentiment``."""
    table: dict[str, tuple[str, ...]] = {}
    for name, cls in TASKS.items():
        for alias in cls.pipelines:
            table[alias] = (*table.get(alias, ()), name)
    return table


def pipeline(task: str, model: str | os.PathLike | None = None, device: str = "cpu",
             parser: str | os.PathLike | None = None, precision: str | None = None,
             **options: Any) -> Callable[..., list[dict]]:
    """``pipeline("sentiment-analysis")`` returns a callable over a string or a list of strings.

    ``model`` is a run folder or a shipped model's name (``sentiment-en``, or pinned:
    ``sentiment-en@2.1.0``; ``nlpseq models`` lists them); without one, the task's shipped default
    answers, and a line naming it is logged. ``translation_de_to_en`` asks for a translator of that
    language pair. ``parser=PARSER`` lets a tree sentiment model take raw text: each sentence is
    parsed, and every phrase of the parse is labelled (a shipped tree model brings its own parser).
    ``precision="int8"`` runs the model's matrix products in int8 (default: the recipe's
    ``decode.precision`` where it has one, else fp32).

    Raises:
        RecipeError: unknown pipeline task, or a parser given to a model that reads no trees.
        RunDirError: ``model`` is not a run of that task, or ``parser`` not a parser run.
    """
    from .catalog import pipeline_of_pair, resolve
    from .errors import RecipeError, did_you_mean

    base, pair = pipeline_of_pair(task)
    table = pipeline_tasks()
    if base not in table:
        raise RecipeError(f"unknown pipeline task '{task}'{did_you_mean(task, table)}; choose from {', '.join(table)}")
    path, shipped = resolve(model, task)
    task_obj, net = load_run(path, table[base], device, precision)
    if pair is not None:
        data = task_obj.recipe.data
        if (data.src, data.tgt) != pair:
            raise RecipeError(f"{task}: {model} translates {data.src} to {data.tgt}")
    if parser is None and shipped is not None and shipped.parser:
        parser = shipped.parser
    resources = {}
    if parser is not None:
        if task_obj.name != "tree_sentiment":
            raise RecipeError(f"parser= needs a tree sentiment model; {model} is a {task_obj.name} run")
        resources["parser"] = load_run(parser, "parsing", device)
    pipe = Pipeline(task_obj, net, resources, **options)
    pipe.parser_name = None if parser is None else Path(os.fspath(parser)).name  # what the service reports
    return pipe


__all__ = ["train", "load_run", "pipeline", "Pipeline", "MODELS", "TASKS"]
