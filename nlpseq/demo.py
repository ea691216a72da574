"""`make demo`: train a small model of every family on the bundled samples and show what it does."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET = ["train.progress=false", "train.tensorboard=false"]


def _train(recipe_path: str, out: Path, *sets: str):
    from .api import load_run, train
    from .recipe import load_recipe

    run = train(load_recipe(ROOT / recipe_path, QUIET + list(sets)), out)
    task, model = load_run(run.path)
    metrics = task.evaluate(model, task.read_eval(None), plot=str(run / "confusion_dev.png"))
    print(f"run directory: {run.path}")
    print("dev: " + ", ".join(f"{k}={v:.1f}" for k, v in metrics.items() if isinstance(v, float)))
    return run


def main() -> int:
    from . import pipeline

    out = ROOT / "runs" / "demo"
    shutil.rmtree(out, ignore_errors=True)  # the demo's own scratch folder, rebuilt every time

    print("\n== sentiment: BiLSTM on the bundled toy treebank (recipes/sentiment/tiny_lstm.yaml)")
    run = _train("recipes/sentiment/tiny_lstm.yaml", out / "sentiment")
    classify = pipeline("sentiment", model=run.path)
    for text in ["The soundtrack is very brilliant.", "The plot is not good, but the cast is superb.",
                 "The ending is dull."]:
        ans = classify(text)[0]
        print(f"  {text!r:50} -> {ans['label']} ({ans['score']:.2f})")

    print("\n== trees: RNTN labelling every phrase (recipes/trees/tiny_rntn.yaml)")
    run = _train("recipes/trees/tiny_rntn.yaml", out / "rntn")
    tree = "(3 (2 (2 the) (2 film)) (3 (2 is) (3 (2 (2 very) (3 good)) (2 (2 but) (1 (2 the) (1 dull))))))"
    ans = pipeline("sentiment", model=run.path)(tree)[0]
    print(f"  {ans['tree']}")
    from .render import render_tree

    render_tree(ans["tree"], run / "example_tree.svg")
    print(f"  drawn in {run / 'example_tree.svg'}")

    print("\n== parsing: a recursive-network parser on the bundled PTB-style treebank (recipes/parsing/tiny_parser.yaml)")
    parser = _train("recipes/parsing/tiny_parser.yaml", out / "parser")
    for ans in pipeline("parsing", model=parser.path)(["the old dog chased a ball in the park .", "Maria slept ."]):
        print(f"  {ans['tree']}")

    print("\n== raw text -> parse -> a sentiment label on every phrase (the same parser recipe on SST tree shapes)")
    sample = ROOT / "data" / "sentiment-sample"
    shapes = _train("recipes/parsing/tiny_parser.yaml", out / "shape_parser", "data.format=sst",
                    f"data.train={sample / 'train.txt'}", f"data.dev={sample / 'dev.txt'}", "train.metric=unlabeled_f1")
    ans = pipeline("sentiment", model=run.path, parser=shapes.path)("the plot is not good .")[0]
    print(f"  {ans['tree']}")

    print("\n== translation: German -> English on the bundled sample (recipes/translation/tiny_de_en.yaml)")
    run = _train("recipes/translation/tiny_de_en.yaml", out / "translation")
    translate = pipeline("translation", model=run.path)
    for sentence in ["Ein kleiner Hund rennt im Park.", "Eine alte Frau lacht am Strand."]:
        print(f"  {sentence!r:40} -> {translate(sentence)[0]['translation']!r}")
    print("\nNext: `nlpseq --help`, and README.md for the full corpora.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
