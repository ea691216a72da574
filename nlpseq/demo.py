"""`make demo`: train a small model of every family on the bundled samples and show what it does."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from . import pipeline
    from .api import load_run, train
    from .recipe import load_recipe

    out = ROOT / "runs" / "demo"
    shutil.rmtree(out, ignore_errors=True)  # the demo's own scratch folder, rebuilt every time

    print("== sentiment: BiLSTM on the bundled toy treebank (recipes/sentiment/tiny_lstm.yaml)")
    recipe = load_recipe(ROOT / "recipes" / "sentiment" / "tiny_lstm.yaml", ["train.progress=false"])
    run = train(recipe, out / "sentiment")
    task, model = load_run(run.path)
    metrics = task.evaluate(model, task.read_eval(None), plot=str(run / "confusion_dev.png"))
    print(f"run directory: {run.path}")
    print("dev: " + ", ".join(f"{k}={v:.1f}" for k, v in metrics.items() if isinstance(v, float)))
    classify = pipeline("sentiment", model=run.path)
    for text in ["The soundtrack is very brilliant.", "The plot is not good, but the cast is superb.",
                 "The ending is dull."]:
        ans = classify(text)[0]
        print(f"  {text!r:50} -> {ans['label']} ({ans['score']:.2f})")
    print(json.dumps(classify("The acting is awful.")[0], indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
