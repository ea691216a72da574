"""The ``nlpseq`` command: train | evaluate | sentiment | data."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from .errors import NlpseqError


def _cmd_train(args: argparse.Namespace) -> int:
    from .api import train
    from .recipe import load_recipe

    recipe = load_recipe(args.recipe, args.set)
    out = args.out or str(Path("runs") / Path(args.recipe).stem)
    run = train(recipe, out, resume=args.resume)
    best = [r for r in run.read_metrics() if r.get("split") == "dev"]
    print(f"run directory: {run.path}")
    if best:
        from .registry import TASKS

        metric = recipe.train.metric or TASKS.get(recipe.task).metric
        top = max(best, key=lambda r: r.get(metric, float("-inf")))
        print("best dev: " + ", ".join(f"{k}={v:.2f}" for k, v in top.items() if isinstance(v, float)))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .api import load_run

    task, model = load_run(args.run)
    data = task.read_eval(args.data)
    plot = str(Path(args.run) / f"confusion_{Path(str(args.data or 'dev')).stem.replace(':', '_')}.png")
    t0 = time.perf_counter()
    metrics = task.evaluate(model, data, plot=plot)
    dt = time.perf_counter() - t0
    metrics["items_per_s"] = metrics.get("count", 0) / max(dt, 1e-9)
    for name in args.baseline or []:
        if not hasattr(task, "evaluate_baseline"):
            raise NlpseqError(f"--baseline {name}: baselines are scored for sequence sentiment runs only")
        metrics[f"baseline_{name}"] = task.evaluate_baseline(name, data)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            if isinstance(v, dict):
                print(f"{k}: " + ", ".join(f"{a}={b:.2f}" for a, b in v.items()))
            else:
                print(f"{k:>14}: {v:.2f}" if isinstance(v, float) else f"{k:>14}: {v}")
        print(f"confusion matrix: {plot}")
    return 0


def _cmd_sentiment(args: argparse.Namespace) -> int:
    from .api import pipeline

    pipe = pipeline("sentiment", model=args.run)
    inputs = ([args.tree] if args.tree else []) + args.texts
    if inputs:
        answers = pipe(inputs)
        for ans in answers:
            print(json.dumps(ans, ensure_ascii=False))
        if args.render:
            if "tree" not in answers[0]:
                raise NlpseqError("--render needs a tree model run (rntn, recnn, treelstm)")
            from .render import render_tree

            render_tree(answers[0]["tree"], args.render)
        return 0
    for line in sys.stdin:  # streamed: one answer per input line, as soon as it is read
        text = line.rstrip("\n")
        if not text.strip():
            print(json.dumps({"error": "empty line"}))
        else:
            print(json.dumps(pipe(text)[0], ensure_ascii=False))
        sys.stdout.flush()
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from .data.corpora import CORPORA, get_corpus, locate

    if args.action == "list":
        for c in CORPORA.values():
            try:
                where = str(locate(c.name, download=False))
            except NlpseqError:
                where = "(not found: `nlpseq data get " + c.name + "` downloads it)"
            print(f"{c.name:18} {c.description}\n{'':18} {where}")
        return 0
    if not args.name:
        raise NlpseqError(f"nlpseq data {args.action}: a corpus name is needed")
    get_corpus(args.name)
    print(locate(args.name, download=args.action == "get"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="nlpseq", description="Recurrent and recursive networks for NLP.")
    p.add_argument("--version", action="version", version=f"nlpseq {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a recipe into a run directory")
    t.add_argument("recipe")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    t.add_argument("--out", help="run directory (default: runs/<recipe name>)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="score a run on a data set")
    e.add_argument("run")
    e.add_argument("--data", help="path or corpus reference such as sst:dev (default: the recipe's dev set)")
    e.add_argument("--json", action="store_true", help="print exactly one JSON object")
    e.add_argument("--baseline", action="append", choices=["vader"], help="also score a baseline")
    e.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("sentiment", help="label texts (arguments, or one per line on stdin) as JSON lines")
    s.add_argument("run")
    s.add_argument("texts", nargs="*")
    s.add_argument("--tree", help="a PTB-bracket tree to label phrase by phrase (tree model runs)")
    s.add_argument("--render", metavar="OUT.svg|OUT.png", help="draw the first labelled tree")
    s.set_defaults(func=_cmd_sentiment)

    d = sub.add_parser("data", help="list, locate or download corpora")
    d.add_argument("action", choices=["list", "path", "get"])
    d.add_argument("name", nargs="?")
    d.set_defaults(func=_cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nlpseq`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.debug else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except NlpseqError as exc:
        if args.debug:
            raise
        print(f"nlpseq: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nlpseq: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
