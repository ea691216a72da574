"""`make demo`: the three jobs on the shipped models, then a short training run as a pipeline check."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GERMAN = ["Ein Hund rennt durch den Park.", "Zwei Kinder spielen am Strand mit einem Ball.",
          "Eine Frau in einem roten Mantel wartet auf den Bus."]
ENGLISH = ["not good at all", "a wonderful film", "not bad at all", "The plot is dull, but the cast is superb."]


def main() -> int:
    from . import pipeline
    from .render import render_tree

    out = ROOT / "runs" / "demo"
    shutil.rmtree(out, ignore_errors=True)  # the demo's own scratch folder, rebuilt every time
    out.mkdir(parents=True)
    t0 = time.perf_counter()

    print("\n== translation, German -> English (the shipped translator-de-en)")
    translate = pipeline("translation_de_to_en")
    for sentence, answer in zip(GERMAN, translate(GERMAN)):
        print(f"  {sentence}\n    -> {answer['translation']}")

    print("\n== sentiment of sentences (the shipped sentiment-en)")
    classify = pipeline("sentiment-analysis")
    for text, answer in zip(ENGLISH, classify(ENGLISH, phrases=False)):
        print(f"  {text!r:48} -> {answer['label']} ({answer['score']:.2f})")

    print("\n== every phrase of a raw sentence labelled, five classes (the shipped phrase-sentiment-en)")
    answer = pipeline("sentiment", model="phrase-sentiment-en")("The movie was not good at all.")[0]
    print(f"  {answer['tree']}")
    svg = out / "phrase_tree.svg"
    render_tree(answer["tree"], svg)
    print(f"  drawn in {svg}")

    print("\n== a constituency parse (the shipped parser-en)")
    for answer in pipeline("parsing")(["The old dog chased a ball in the park.", "Maria slept."]):
        print(f"  {answer['tree']}")
    print(f"\n(the shipped models answered in {time.perf_counter() - t0:.1f} s, loading included)")

    print("\n== a pipeline check, not a model: training the tiny sentiment recipe on the bundled toy sample")
    from .api import train
    from .recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "sentiment" / "tiny_lstm.yaml",
                         ["train.progress=false", "train.tensorboard=false", "train.epochs=3"])
    run = train(recipe, out / "tiny_sentiment")
    print(f"  trained into {run.path}: train, evaluate, resume and serve work the same on the real corpora")

    print("\nNext (from this folder):\n"
          "  .venv/bin/nlpseq models                      # the shipped models and their figures\n"
          "  .venv/bin/nlpseq models show sentiment-en    # a model's card\n"
          '  .venv/bin/nlpseq translate "Ein Hund rennt durch den Park."\n'
          "  .venv/bin/nlpseq serve                       # every shipped model over HTTP\n"
          "  make docs                                    # the documentation site, in build/site/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
