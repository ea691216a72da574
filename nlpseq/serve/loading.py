"""Loading a run as the model behind an endpoint, in this process (the model process runs this too)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import NlpseqError


@dataclass
class ServedModel:
    """One loaded run behind an endpoint: ``answer(items, **options)`` is what the batcher calls."""

    name: str
    task: str
    model: str
    labels: list[str]
    answer: Callable[..., list[dict[str, Any]]]
    info: dict[str, Any] = field(default_factory=dict)
    close: Callable[[], None] | None = None  # stops a model process; whoever loaded the model calls it


def load_in_process(name: str, run_dir: str | os.PathLike, threads: int | None = None,
                    parser: str | os.PathLike | None = None, pipeline: str | None = None,
                    precision: str | None = None) -> ServedModel:
    """Open ``run_dir`` here as the model behind ``/v1/<name>``; weights from safetensors, nothing unpickled.

    ``pipeline`` refuses a run whose task does not answer it; by default the run's own task's first one.
    """
    from ..api import pipeline as open_pipeline
    from ..catalog import locate
    from ..registry import TASKS
    from ..run import RunDir

    run_dir = locate(run_dir)  # a shipped model's name: its folder

    if threads:
        import torch

        torch.set_num_threads(threads)
    if pipeline is None:
        task = RunDir.open(run_dir).info().get("task", "")
        pipeline = next(iter(TASKS.get(task).pipelines), None)
        if pipeline is None:
            raise NlpseqError(f"{run_dir}: a {task} run answers no pipeline (its task declares none), "
                              f"so it cannot be served as '{name}'")
    pipe = open_pipeline(pipeline, model=run_dir, parser=parser, precision=precision)
    info = pipe.task.run.info()
    if getattr(pipe, "parser_name", None):  # given, or the one a shipped tree model brings
        info = {**info, "parser": pipe.parser_name}
    if precision is not None:
        info = {**info, "precision": precision}
    return ServedModel(name=Path(run_dir).resolve().name, task=pipe.task.name, model=info.get("model", ""),
                       labels=pipe.labels, answer=pipe, info=info)
