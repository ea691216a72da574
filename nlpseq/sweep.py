"""Train one recipe once per value of a key and compare the runs in one table (``nlpseq compare``)."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any, Sequence

from .errors import RecipeError


def sweep(recipe_path: str | os.PathLike, key: str, values: Sequence[str], out: str | os.PathLike,
          overrides: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Train ``recipe_path`` with ``key`` set to each of ``values`` into ``out/<value>``.

    A finished run is not trained again (each one resumes from its last checkpoint), so an
    interrupted comparison continues where it stopped. Returns one row per value: the best dev
    value of the task's metric, mean seconds per epoch and the number of trainable weights.

    Raises:
        RecipeError: no values, or a value the key does not accept.
    """
    from .api import load_run, train
    from .fileio import atomic_write_json
    from .recipe import load_recipe
    from .registry import TASKS

    if not values:
        raise RecipeError(f"--sweep {key}=: give at least one value")
    rows = []
    for value in values:
        recipe = load_recipe(recipe_path, [*overrides, f"{key}={value}"])
        run_dir = Path(out) / str(value)
        run = train(recipe, run_dir, resume=(run_dir / "recipe.yaml").exists())
        task_cls = TASKS.get(recipe.task)
        metric = recipe.train.metric or task_cls.metric
        records = run.read_metrics()
        dev = [r[metric] for r in records if r.get("split") == "dev" and metric in r]
        epochs = [r["seconds"] for r in records if r.get("split") == "epoch"]
        _, model = load_run(run_dir)
        rows.append({key: value, metric: (max if task_cls.higher_is_better else min)(dev) if dev else None,
                     "seconds_per_epoch": statistics.mean(epochs) if epochs else None,
                     "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)})
    atomic_write_json(Path(out) / "compare.json", {"recipe": str(recipe_path), "key": key, "rows": rows})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    if not rows:
        return ""
    cols = list(rows[0])
    cells = [[f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
