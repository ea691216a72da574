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


def load_in_process(kind: str, run_dir: str | os.PathLike, threads: int | None = None,
                    parser: str | os.PathLike | None = None) -> ServedModel:
    """Open ``run_dir`` here as the model behind ``/v1/<kind>``; weights from safetensors, nothing unpickled."""
    from ..api import pipeline

    if threads:
        import torch

        torch.set_num_threads(threads)
    pipe = pipeline("translation" if kind == "translate" else "sentiment", model=run_dir, parser=parser)
    info = pipe.task.run.info()
    if parser is not None:
        info = {**info, "parser": Path(parser).resolve().name}
    answer = _sentiment_answer(pipe) if kind == "sentiment" else pipe
    return ServedModel(name=Path(run_dir).resolve().name, task=info.get("task", kind), model=info.get("model", ""),
                       labels=pipe.labels, answer=answer, info=info)


def _sentiment_answer(pipe: Callable[..., list[dict]]) -> Callable[..., list[dict]]:
    def answer(texts: list[str], phrases: bool = False, render: bool = False) -> list[dict]:
        out = pipe(texts)
        if out and "tree" not in out[0]:
            if phrases or render:
                raise NlpseqError("'phrases' and 'render' need a tree model (rntn, recnn, treelstm)")
            return out
        if render:
            from nltk import Tree

            from ..render import to_svg

            for ans in out:
                ans["svg"] = to_svg(Tree.fromstring(ans["tree"]))
        if not phrases:
            for ans in out:
                ans.pop("phrases", None)
        return out

    return answer
