"""The ``nlpseq`` command: train | compare | evaluate | translate | sentiment | parse | generate | serve | data,
and a verb for every task that declares one (``Task.verb``, such as ``forecast``)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import itertools
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from .bounds import MAX_BEAM, MAX_RESAMPLES
from .errors import InputError, NlpseqError


def _wrote(args: argparse.Namespace, path: str | os.PathLike) -> None:
    """Each file a verb writes is named once, on stderr (stdout keeps the answers), unless --quiet."""
    if not getattr(args, "quiet", False):
        print(f"nlpseq: wrote {path}", file=sys.stderr)


def _cmd_train(args: argparse.Namespace) -> int:
    from .api import train
    from .recipe import load_recipe
    from .train.distributed import shutdown

    recipe = load_recipe(args.recipe, args.set)
    out = args.out or str(Path("runs") / Path(args.recipe).stem)
    try:
        run = train(recipe, out, resume=args.resume)
    finally:
        shutdown()
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun, rank 0 reports for the job
    print(f"run directory: {run.path}")
    info = run.info()
    selection = info.get("selection", {})
    # The dev scores of the evaluation whose weights were kept (train.select), as the trainer recorded it.
    chosen = [r for r in run.read_metrics() if r.get("split") == "dev" and r.get("step") == selection.get("step")]
    if selection.get("select") == "average":
        print(f"saved weights: the mean of the last {recipe.train.average_last} checkpoints (not evaluated on dev)")
    elif chosen:
        beam = chosen[-1].get("beam")  # a translator's dev BLEU says how it decoded
        how = "" if beam is None else ", greedy" if beam == 1 else f", beam {beam}"
        print(f"dev at the saved weights (select: {selection['select']}, step {selection['step']}{how}): "
              + ", ".join(f"{k}={v:.2f}" for k, v in chosen[-1].items() if isinstance(v, float) and k != "elapsed_s"))
    if "throughput" in info:
        t, m = info["throughput"], info["machine"]
        print(f"throughput: {t['units_per_s']:.0f} units/s x {t['flop_per_unit'] / 1e6:.2f} MFLOP = "
              f"{t['achieved_gflops']:.1f} GFLOP/s, {100 * t['share_of_sgemm']:.1f}% of this machine's fp32 matmul "
              f"rate ({m['sgemm_gflops']:.1f} GFLOP/s on {m['threads']} threads)")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .data.halves import split_half_ref
    from .experiments import (load_configurations, parse_seeds, plan_configurations, run_experiment, selection_effect,
                              summarize, write_report)
    from .recipe import load_recipe

    seeds = parse_seeds(args.seeds)
    configs = plan_configurations(args.sweep, load_configurations(args.configs) if args.configs else ())
    # Every configuration is validated before anything trains: a bad value fails in a second, not an hour in.
    recipes = [load_recipe(args.recipe, [*args.set, *c.overrides]) for c in configs]
    dev = getattr(recipes[0].data, "dev", None)
    if args.split_half:
        if not dev:
            raise NlpseqError(f"--split-half: {args.recipe} names no dev file to halve (data.dev); "
                              "its dev set is a held-out share of the training corpus")
        if split_half_ref(dev)[1] is not None:
            raise NlpseqError(f"--split-half: the recipe's dev set '{dev}' is already a half")
        train_dev, report = f"{dev}@A", [f"{dev}@B", f"{dev}@A"]
    else:
        train_dev, report = None, [dev or ""]  # "": the task's own dev set
    report = args.data or report
    # Every data set is read once before anything trains: a bad reference fails in a second, not after the runs.
    from .registry import TASKS
    from .run import RunDir

    checker = TASKS.get(recipes[0].task)(recipes[0], RunDir(Path(args.out or ".") / ".unused"))
    for ref in dict.fromkeys([*report, *([train_dev] if train_dev else [])]):
        checker.check_eval_data(ref or None)
    for flag, value in (("--jobs", args.jobs), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise NlpseqError(f"{flag} {value}: at least 1")
    if args.jobs > 1 and any(r.train.max_minutes for r in recipes):
        print(f"nlpseq: warning: train.max_minutes with --jobs {args.jobs}: the runs share the machine, so each "
              "gets fewer steps in its minutes than it would alone (see each run's steps in the report)", file=sys.stderr)
    out = Path(args.out or Path("runs") / f"compare_{Path(args.recipe).stem}")
    done = 0

    def progress(config, seed: int, scored: dict) -> None:  # one line per run, every data set on it
        nonlocal done
        done += 1
        parts = [f"{ref or 'dev'}: " + ", ".join(f"{m}={it.value:.2f}" for m, it in r.items.items())
                 for ref, r in scored.items()]
        print(f"[{done}/{len(configs) * len(seeds)}] {config.name} seed {seed}: " + "; ".join(parts),
              file=sys.stderr, flush=True)

    results = run_experiment(args.recipe, configs, seeds, out, args.set, train_dev, report, args.jobs, args.threads,
                             on_done=progress)
    summaries = {ref: summarize(rs, args.resamples) for ref, rs in results.items()}
    if train_dev is not None and not args.data:  # report = [half B, half A]
        effect = selection_effect(results[report[0]], results[report[1]])
        if effect:
            summaries[report[0]].update(selection_effect=effect, selection_effect_halves=[report[1], report[0]])
    command = "nlpseq " + " ".join(sys.argv[1:]) if sys.argv[0].endswith(("nlpseq", "cli.py")) else "nlpseq compare"
    notes = _leak_notes(args, recipes[0], report, train_dev)
    for note in dict.fromkeys(n for ns in notes.values() for n in ns):
        print(f"nlpseq: warning: {note}", file=sys.stderr)
    paths = write_report(summaries, out, str(args.recipe), command, notes)
    print((out / "report.md").read_text(encoding="utf-8"))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def _leak_notes(args: argparse.Namespace, recipe, report: list[str], train_dev: str | None) -> dict[str, list[str]]:
    """Per scored data set, the ways its figures can be optimistic: data that chose the weights, or
    teachers that saw it. Printed once as warnings and marked in the report above each table."""
    notes: dict[str, list[str]] = {ref: [] for ref in report}
    dev = getattr(recipe.data, "dev", None) or ""
    teachers = getattr(recipe.data, "teachers", None)
    for ref in report:
        if train_dev is None and ref in ("", dev):
            notes[ref].append("scored on the dev set that chose the weights and the stopping point (no "
                              "--split-half): its figures are optimistic; --split-half chooses on half A and scores on B")
        if train_dev is not None and ref == train_dev:
            notes[ref].append("half A chose the weights: its figures and p-values are not held out; they are shown "
                              "to gauge selection, read half B's")
        if teachers and (train_dev is None or ref in (train_dev, dev) or ref.startswith(f"{dev}@")):
            notes[ref].append("the distillation teachers (data.teachers) were chosen on the whole dev set, halves "
                              "included: scores on it are not held out from them")
    if args.split_half and args.data:
        for ref in report:
            notes[ref].append("--data replaced the held-out half B: no table here is scored on data that "
                              "selection never saw unless --data names it")
    return notes


def _apply_decode_options(task, args: argparse.Namespace, shortlist: bool = True) -> None:
    """--alpha / --beta / --patience / --mbr (and evaluate's --shortlist) replace the run recipe's decode
    settings for this call."""
    names = {"alpha": "alpha", "beta": "beta", "patience": "patience", "mbr": "mbr_temperature"}
    if shortlist:
        names["shortlist"] = "shortlist_size"
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if not given:
        return
    if not hasattr(task, "decode_cfg"):
        raise NlpseqError(f"--{next(iter(given))}: {args.run} is a {task.name} run; only translators take it")
    if given.get("mbr") == 0:  # --mbr 0 turns off a recipe's MBR
        given["mbr"] = None
    for key, value in given.items():
        setattr(task.decode_cfg, names[key], value)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .api import load_run
    from .registry import TASKS

    task, model = load_run(args.run, precision=args.precision, weights=args.weights)
    _apply_decode_options(task, args)
    # What this task's evaluation takes is what it declares (Task.EvaluateOptions): an option it does
    # not declare is refused by name, a declared one is type-checked before any data is read.
    given = {k: getattr(args, k) for k in declared_index()["evaluate"] if getattr(args, k, None) is not None}
    if (args.src or args.ref) and "src" not in inspect.signature(task.read_eval).parameters:
        raise NlpseqError(f"--{'src' if args.src else 'ref'}: {args.run} is a {task.name} run; only translators "
                          "read a source and a reference file (give --data)")
    accepted = task.EvaluateOptions.model_fields
    for key in given.keys() - accepted.keys():
        takers = sorted(n for n, cls in TASKS.items() if key in cls.EvaluateOptions.model_fields)
        raise NlpseqError(f"--{key}: {args.run} is a {task.name} run; only {' and '.join(takers)} runs take it")
    try:
        options = task.EvaluateOptions(**given).model_dump(exclude_none=True)
    except ValueError as exc:
        raise NlpseqError(f"evaluate: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    if "parser" in options:
        options["parser"] = load_run(options["parser"], "parsing")
    data = task.read_eval(args.data, src=args.src, ref_file=args.ref)
    # A shipped model's folder is part of the installed package: its plots are not written there.
    stem = Path(str(args.data or "dev")).stem.replace(":", "_")
    plot = (str(Path(args.run) / f"{task.plot_name}_{stem}{'_last' if args.weights == 'last' else ''}.png")
            if os.path.isdir(args.run) else None)
    t0 = time.perf_counter()
    if args.bootstrap or args.save_items:
        from .metrics.resampling import bootstrap_interval

        metrics, items = task.evaluate_items(model, data, plot=plot, **options)
        if args.save_items:
            from .experiments.runner import save_items

            save_items(items, args.save_items)
            _wrote(args, args.save_items)
        for name, item in items.items() if args.bootstrap else ():
            metrics[f"{name}_ci95"] = list(bootstrap_interval(item, args.bootstrap))
    else:
        metrics = task.evaluate(model, data, plot=plot, **options)
    metrics.setdefault("items_per_s", metrics.get("count", 0) / max(time.perf_counter() - t0, 1e-9))
    if plot and os.path.isfile(plot):
        _wrote(args, plot)
    for name in args.baseline or []:
        if not hasattr(task, "evaluate_baseline"):
            raise NlpseqError(f"--baseline {name}: baselines are scored for sequence sentiment runs only")
        metrics[f"baseline_{name}"] = task.evaluate_baseline(name, data)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            if k.endswith("_ci95"):
                continue
            if f"{k}_ci95" in metrics:
                lo, hi = metrics[f"{k}_ci95"]
                print(f"{k:>14}: {v:.2f}  [{lo:.2f}, {hi:.2f}] 95% bootstrap interval ({args.bootstrap} resamples)")
            elif isinstance(v, dict):
                print(f"{k}: " + ", ".join(f"{a}={b:.2f}" for a, b in v.items()))
            else:
                print(f"{k:>14}: {v:.2f}" if isinstance(v, float) else f"{k:>14}: {v}")
        if Path(plot).exists():
            print(f"plot: {plot}")
    return 0


def _number_at_least(low: float):
    """An argparse type: a number no smaller than ``low`` (NaN refused), else a one-line error naming the bound."""
    def parse(value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if not x >= low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low:g}, got {value}")
        return x
    return parse


def _whole_number(low: int, high: int):
    """An argparse type: a whole number from ``low`` to ``high``, else a one-line error naming the bounds."""
    def parse(value: str) -> int:
        try:
            x = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
        if not low <= x <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {value}")
        return x
    return parse


def _precision_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--precision", choices=["fp32", "int8", "bf16"],
                        help="matrix products in fp32, int8 with per-channel weight scales (CPU), or bf16 "
                             "(CPUs with AVX512-BF16 or AMX, GPUs); "
                             "default: the recipe's decode.precision where it has one, else fp32")


def _decode_arguments(parser: argparse.ArgumentParser, prefix: str = "", shortlist: bool = True) -> None:
    """The recipe's decode settings a call may override (``translate`` takes its shortlist as an answer option)."""
    parser.add_argument("--alpha", type=_number_at_least(0),
                        help=f"{prefix}beam length penalty (default: the recipe's decode.alpha)")
    parser.add_argument("--beta", type=_number_at_least(0),
                        help=f"{prefix}beam coverage penalty (default: the recipe's decode.beta)")
    parser.add_argument("--patience", type=_number_at_least(1),
                        help=f"{prefix}beam patience factor: stop after patience x beam endings "
                             "(default: the recipe's decode.patience)")
    parser.add_argument("--mbr", type=_number_at_least(0), metavar="TEMPERATURE",
                        help=f"{prefix}output the beam ending with the highest expected chrF against the "
                             "others (minimum Bayes risk), weighting them by softmax(score / TEMPERATURE); "
                             "0: the best-scored ending (default: the recipe's decode.mbr_temperature)")
    if not shortlist:
        return
    parser.add_argument("--shortlist", type=_whole_number(0, 100), metavar="K",
                        help=f"{prefix}score only the K likeliest target pieces of each source piece and the "
                             "frequent ones (vocabulary shortlist, learnt from the training corpus on first use); "
                             "0: the whole vocabulary (default: the recipe's decode.shortlist_size)")


def _model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", dest="run", metavar="MODEL",
                        help="a run folder or a shipped model's name (`nlpseq models`); the first argument is "
                             "taken as the model when it names one (default: the task's shipped model)")


def _take_model(args: argparse.Namespace) -> None:
    """``nlpseq sentiment MODEL TEXT...``: the first argument is the model when it names a run folder or a
    shipped model, or looks like a path (a separator and no space: a run folder that is missing is an
    error, not a sentence); otherwise every argument is text, and the task's default model answers."""
    from .catalog import find

    first = args.texts[0] if args.run is None and args.texts else None
    if first is not None and (os.path.isdir(first) or find(first) is not None
                              or (os.sep in first or "/" in first) and not any(c.isspace() for c in first)):
        args.run = args.texts.pop(0)


def _default_model(run: str | None, pipeline: str) -> str:
    """``run``, or the folder of the pipeline's shipped default (named in one line on stderr)."""
    from .catalog import resolve

    return str(resolve(run, pipeline)[0])


def _cmd_translate(args: argparse.Namespace) -> int:
    from .api import Pipeline, load_run

    _take_model(args)
    task, model = load_run(_default_model(args.run, "translation"), "translation", precision=args.precision)
    _apply_decode_options(task, args, shortlist=False)
    # The answer options (beam, n_best, attention, shortlist) are what the task declares, as for the
    # pipeline and the service: one setting each, checked in one place.
    options = {k: getattr(args, k) for k in task.AnswerOptions.model_fields if getattr(args, k, None) is not None}
    try:
        pipe = Pipeline(task, model, **options)
    except InputError as exc:
        raise NlpseqError(f"translate: {exc}") from None
    n_best = options.get("n_best", 1)

    def answer(sentences: list[str]) -> list[str]:
        if n_best > 1 or options.get("attention"):
            return [json.dumps({"source": s, **a}, ensure_ascii=False) for s, a in zip(sentences, pipe(sentences))]
        return [a["translation"] for a in pipe(sentences)]

    if args.plot_attention:
        first = (args.texts or [None])[0]
        if first is None:
            raise NlpseqError("--plot-attention needs a sentence given as an argument")
        from .plots import plot_attention

        plot_attention(pipe([first], n_best=1, attention=True)[0]["attention"], args.plot_attention)
        _wrote(args, args.plot_attention)
    return _answer_lines(args, answer)


def _cmd_export(args: argparse.Namespace) -> int:
    from .api import load_run
    from .export.onnx_graphs import export_translator

    task, model = load_run(args.run, "translation", precision="fp32")  # the graphs hold fp32 weights
    out = export_translator(task, model, args.out or Path(args.run) / "onnx")
    print(f"wrote {out}: translate with  python {out / 'run_onnx.py'} {out} < input.txt")
    return 0


def _numbered_lines(args: argparse.Namespace) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, None) for each line of ``--input FILE`` or of standard input, read as bytes and
    decoded here, so that a line that is not UTF-8 is (line number, None, what is wrong) and not the end."""
    import gzip
    import zlib

    path = getattr(args, "input", None)
    try:  # a gzip file is read through, as every corpus reader does
        stream = ((gzip.open if str(path).endswith(".gz") else open)(path, "rb") if path
                  else contextlib.nullcontext(sys.stdin.buffer))
    except OSError as exc:
        raise NlpseqError(f"--input {path}: {(exc.strerror or str(exc)).lower()}") from None
    try:
        with stream as lines:
            for n, raw in enumerate(lines, 1):
                try:
                    yield n, raw.decode("utf-8").rstrip("\n").rstrip("\r"), None
                except UnicodeDecodeError as exc:
                    yield n, None, f"line {n}: not UTF-8 text (byte {exc.start + 1} is 0x{raw[exc.start]:02x})"
    except (EOFError, OSError, zlib.error) as exc:
        raise NlpseqError(f"--input {path}: unreadable, damaged or truncated file ({exc})") from None


def _at_line(exc: InputError, n: int) -> str:
    """A pipeline error about input 0 of a one-line call, told of the line it came from."""
    message = re.sub(r"^(input|text) 0\b:? ?", "", str(exc))
    return f"line {n}: {message}"


def _answer_lines(args: argparse.Namespace, answer: Callable[[list[str]], list[str]],
                  failed: Callable[[str], str] = lambda error: "", block: int = 256) -> int:
    """Print ``answer(texts)`` for the verb's inputs, one output line per input line.

    Arguments are answered together, and an error ends the command. Lines of ``--input FILE`` are
    answered in blocks of ``block`` (printed as each is done), those of standard input one by one as
    soon as each is read; a line that is refused (not UTF-8, empty, too long) gets its error on stderr,
    naming its line, and ``failed(error)`` as its output line, and the rest go on. Returns the exit
    status: 2 when a line was refused.
    """
    if args.texts:
        print("\n".join(answer(list(args.texts))), flush=True)
        return 0
    refused = 0

    def one(n: int, text: str | None, error: str | None) -> str:
        nonlocal refused
        if error is None:
            try:
                return answer([text])[0]
            except InputError as exc:
                error = _at_line(exc, n)
        refused += 1
        print(f"nlpseq: error: {error}", file=sys.stderr, flush=True)
        return failed(error)

    lines = _numbered_lines(args)
    size = block if getattr(args, "input", None) else 1
    while chunk := list(itertools.islice(lines, size)):
        if len(chunk) > 1 and all(error is None for _, _, error in chunk):
            try:
                print("\n".join(answer([text for _, text, _ in chunk])), flush=True)
                continue
            except InputError:  # answered line by line, to name the bad one and keep the others
                pass
        print("\n".join(one(*line) for line in chunk), flush=True)
    return 2 if refused else 0


def _cmd_sentiment(args: argparse.Namespace) -> int:
    from .api import pipeline

    _take_model(args)
    pipe = pipeline("sentiment", model=args.run, parser=args.parser, precision=args.precision)
    # An empty --tree is an input (and an error), not a request to read standard input.
    inputs = ([args.tree] if args.tree is not None else []) + args.texts
    if inputs:
        answers = pipe(inputs)
        for ans in answers:
            print(json.dumps(ans, ensure_ascii=False))
        if args.render:
            if "tree" not in answers[0]:
                raise NlpseqError("--render needs a tree model run (rntn, recnn, treelstm)")
            from .render import render_tree

            render_tree(answers[0]["tree"], args.render)
            _wrote(args, args.render)
        return 0
    return _answer_lines(args, lambda texts: [json.dumps(a, ensure_ascii=False) for a in pipe(texts)],
                         lambda error: json.dumps({"error": error}, ensure_ascii=False))


def _cmd_parse(args: argparse.Namespace) -> int:
    from .api import Pipeline, load_run

    _take_model(args)
    task, model = load_run(_default_model(args.run, "parsing"), "parsing")
    pipe = Pipeline(task, model, decode=args.decode)

    if args.texts and args.render:
        from .render import render_tree

        render_tree(pipe(args.texts[:1])[0]["tree"], args.render)
        _wrote(args, args.render)
    return _answer_lines(args, lambda texts: [json.dumps(a, ensure_ascii=False) if args.json else task.show(a)
                                              for a in pipe(texts)],
                         lambda error: json.dumps({"error": error}) if args.json else "")


def _cmd_answer(args: argparse.Namespace) -> int:
    """A verb a task declares (``Task.verb``): answers for arguments, ``--input FILE`` or stdin lines,
    one line each (``Task.show``); a bad input is reported on stderr and its output line is empty."""
    from .api import Pipeline, load_run
    from .registry import TASKS

    takers = tuple(n for n, c in TASKS.items() if c.verb == args.command)
    task, model = load_run(args.run, takers)
    fields = task.AnswerOptions.model_fields
    given = {k: getattr(args, k) for k in _answer_fields(takers) if getattr(args, k, None) is not None}
    refused = sorted(given.keys() - fields.keys())
    if refused:
        raise NlpseqError(f"--{refused[0].replace('_', '-')}: {args.run} is a {task.name} run, which does not take it")
    pipe = Pipeline(task, model, **given)
    return _answer_lines(args, lambda texts: [task.show(a) for a in pipe([_parse_input(task, x) for x in texts])])


def _parse_input(task, text: str):
    if task.Input is str:
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{text[:40]!r} is not JSON ({exc})") from None


def _answer_fields(tasks: tuple[str, ...]) -> dict:
    """The answer options of ``tasks`` (the tasks sharing one verb), by name."""
    from .registry import TASKS

    fields: dict = {}
    for name in tasks:
        fields.update(TASKS.get(name).AnswerOptions.model_fields)
    return fields


def option_spec(name: str, field) -> dict:
    """How a declared option (a field of a task's AnswerOptions or EvaluateOptions) is offered as a
    flag: its kind, choices and description, as plain data (the verbs index holds it)."""
    import types
    import typing

    kind = field.annotation
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(args) == 1:  # Optional[X]: X
        kind = args[0]
    spec: dict = {"help": field.description or ""}
    if kind is bool:
        spec["kind"] = "bool"
    elif typing.get_origin(kind) is typing.Literal:
        spec.update(kind="choice", choices=list(typing.get_args(kind)))
    else:
        spec["kind"] = kind.__name__ if kind in (int, float) else "str"
    if kind is int:  # the bounds are checked as the arguments are parsed, naming the flag
        for meta in field.metadata:
            if getattr(meta, "ge", None) is not None:
                spec["min"] = meta.ge
            if getattr(meta, "le", None) is not None:
                spec["max"] = meta.le
    return spec


def _add_option(parser: argparse.ArgumentParser, name: str, spec: dict) -> None:
    flag = "--" + name.replace("_", "-")
    if spec["kind"] == "bool":
        parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=spec["help"])
    elif spec["kind"] == "choice":
        parser.add_argument(flag, dest=name, choices=spec["choices"], help=spec["help"])
    elif spec["kind"] == "int" and "min" in spec and "max" in spec:
        parser.add_argument(flag, dest=name, type=_whole_number(spec["min"], spec["max"]), help=spec["help"])
    else:
        parser.add_argument(flag, dest=name, type={"int": int, "float": float}.get(spec["kind"], str),
                            help=spec["help"])


def _option_argument(parser: argparse.ArgumentParser, name: str, field) -> None:
    """``--name`` for a field of a task's AnswerOptions: its type, choices and description."""
    _add_option(parser, name, option_spec(name, field))


def _cmd_generate(args: argparse.Namespace) -> int:
    from .api import load_run

    task, model = load_run(args.run, "language_model")
    if args.next_words:
        for ans in task.answer(model, args.prompt or "", k=args.next_words):
            print(json.dumps(ans, ensure_ascii=False))
        return 0
    for i in range(args.samples):
        seed = None if args.seed is None else args.seed + i
        print(task.generate(model, args.prompt or "", args.length, args.temperature, seed))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .serve import Limits, create_app, load_served
    except ImportError as exc:
        raise NlpseqError(f"nlpseq serve needs the serve extra ({exc.name} is missing): "
                          "pip install 'nlpseq[serve]'") from None
    # --sentiment and --translate are the first names of --model, and keep their pipelines' checks.
    wanted = [("sentiment", args.sentiment, "sentiment"), ("translate", args.translate, "translation")]
    for spec in args.model:
        name, sep, path = spec.partition("=")
        wanted.append((name, path, None) if sep else ("", spec, None))
    wanted = [w for w in wanted if w[1]]
    if not wanted:  # the shipped models, each under the name its manifest entry gives
        from .catalog import read_manifest

        newest = {m.name: m for m in read_manifest()}  # the manifest lists versions oldest first
        wanted = [(m.serve_as, m.name, m.default_for[0] if m.default_for else None)
                  for m in newest.values() if m.serve_as]
        if not wanted:
            raise NlpseqError("nlpseq serve: no shipped models are installed; give --model [NAME=]RUN_DIR "
                              "(repeatable), --sentiment RUN_DIR or --translate RUN_DIR")
    if args.parser and not args.sentiment:
        raise NlpseqError("nlpseq serve: --parser parses text for the --sentiment tree model; give that too")
    limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits) if f.metadata},
                    batching=not args.no_batching)
    # The HTTP layer needs a core of its own: torch threads spinning on every core stall the event
    # loop, and under load the batches then wait for requests it has not yet read.
    threads = args.threads or max(1, (os.cpu_count() or 2) - 1)
    models = {}
    try:
        for name, path, pipeline in wanted:
            served = load_served(name or Path(path).name, path, threads, in_process=args.in_process, pipeline=pipeline,
                                 parser=args.parser if name == "sentiment" and pipeline else None,
                                 max_restarts=limits.max_restarts, precision=args.precision)
            name = name or _served_name(served.task)  # --model RUN: the task's own pipeline name
            if name in models:
                if served.close is not None:
                    served.close()
                raise NlpseqError(f"nlpseq serve: two models are served as '{name}'; name them: --model NAME=RUN_DIR")
            models[name] = served
    except BaseException:
        for m in models.values():
            if m.close is not None:
                m.close()
        raise
    try:
        # On SIGTERM uvicorn stops accepting, lets in-flight requests finish within the grace period and
        # runs the app's shutdown (the model threads stop); it then raises the signal again for the handler
        # it found, which is this one: a drained shutdown is a clean exit, status 0, not death by signal.
        import signal

        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        if not args.quiet:
            for name, served in models.items():
                print(f"nlpseq serve: POST /v1/{name}  {served.name} ({served.task})", file=sys.stderr)
            print(f"nlpseq serve: listening on http://{args.host}:{args.port}  (docs: /docs, page: /)",
                  file=sys.stderr, flush=True)
        uvicorn.run(create_app(models, limits), host=args.host, port=args.port, log_level=args.log_level,
                    access_log=args.log_level == "debug", timeout_graceful_shutdown=limits.shutdown_grace_s,
                    limit_concurrency=limits.max_connections)
    finally:
        for m in models.values():
            if m.close is not None:
                m.close()
    return 0


def _served_name(task: str) -> str:
    from .registry import TASKS

    return TASKS.get(task).pipelines[0]


def _cmd_models(args: argparse.Namespace) -> int:
    from .catalog import as_rows, card_text, find, read_manifest

    if args.action == "show":
        if not args.name:
            raise NlpseqError("nlpseq models show: name a model (`nlpseq models` lists them)")
        model = find(args.name)
        if model is None:
            from .errors import did_you_mean

            names = {m.name: m for m in read_manifest()}
            raise NlpseqError(f"{args.name}: no shipped model of that name{did_you_mean(args.name, names)}; "
                              f"shipped: {', '.join(names) or 'none'}")
        print(card_text(model))
        return 0
    rows = as_rows()
    if not rows:
        print("no shipped models are installed (`make models` trains them)")
        return 0
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys).rstrip())
    for r in rows:
        print("  ".join(str(r[k]).ljust(widths[k]) for k in keys).rstrip())
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


VERBS_INDEX = Path(__file__).with_name("verbs.json")  # the built-in tasks' declarations, for a CLI without torch


def declared_index(builtin_only: bool = False) -> dict[str, dict]:
    """What the registered tasks declare that the argument parser needs (this loads the tasks): every verb
    that is not a command of its own, with its help and the tasks answering it, and every option of their
    ``EvaluateOptions``, with the tasks that take it. ``nlpseq/verbs.json`` holds this table for the
    built-in tasks (``builtin_only``); a test keeps it equal to their declarations."""
    from .registry import TASKS

    verbs: dict[str, dict] = {}
    evaluate: dict[str, dict] = {}
    answers: dict[str, dict] = {"translate": {}}  # the built-in verbs whose flags are the answer options
    for name, cls in TASKS.items():
        if builtin_only and not cls.__module__.startswith("nlpseq."):
            continue
        if cls.verb and cls.verb not in BUILTIN_COMMANDS:
            verbs.setdefault(cls.verb, {"help": cls.verb_help or "", "tasks": []})["tasks"].append(name)
        for key, field in cls.EvaluateOptions.model_fields.items():
            evaluate.setdefault(key, {**option_spec(key, field), "tasks": []})["tasks"].append(name)
        if cls.verb in answers:
            for key, field in cls.AnswerOptions.model_fields.items():
                answers[cls.verb].setdefault(key, option_spec(key, field))
    return {"verbs": verbs, "evaluate": evaluate, "answers": answers}


def _index() -> dict[str, dict]:
    return json.loads(VERBS_INDEX.read_text(encoding="utf-8"))


def _listed_verbs(sub, index: dict[str, dict]) -> None:
    """The task verbs named in the top-level help, from the index: importing every task (torch, nltk)
    to print two lines would make ``nlpseq --help`` take seconds."""
    for verb, entry in index["verbs"].items():
        sub.add_parser(verb, help=str(entry["help"]) or f"answer with a {' or '.join(entry['tasks'])} run")


def _add_task_verbs(sub) -> None:
    """A subcommand for every verb the registered tasks declare that has no command of its own above."""
    from .registry import TASKS

    verbs = {verb: list(entry["tasks"]) for verb, entry in declared_index()["verbs"].items()}
    for verb, tasks in verbs.items():
        v = sub.add_parser(verb, help=TASKS.get(tasks[0]).verb_help or f"answer with a {' or '.join(tasks)} run")
        v.add_argument("run")
        v.add_argument("texts", nargs="*", help="inputs (default: --input FILE, or one per line on stdin)")
        v.add_argument("--input", help="a file of inputs, one per line")
        for key, field in _answer_fields(tuple(tasks)).items():
            _option_argument(v, key, field)
        v.set_defaults(func=_cmd_answer)


BUILTIN_COMMANDS = ("train", "compare", "evaluate", "sentiment", "parse", "translate", "generate", "serve", "data",
                    "export", "models")


def build_parser(task_verbs: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``task_verbs`` adds the verbs tasks declare (which loads the tasks)."""
    from .serve.limits import Limits
    from .version import __version__

    # What the tasks declare: from the tasks themselves once they are loaded (plugins included), else
    # from the built-in tasks' index, so that building the parser imports no task.
    index = declared_index() if task_verbs else _index()
    p = argparse.ArgumentParser(prog="nlpseq", description="Recurrent and recursive networks for NLP.")
    p.add_argument("--version", action="version", version=f"nlpseq {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print answers, results and errors only: no progress, notices or file names")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a recipe into a run directory")
    t.add_argument("recipe")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    t.add_argument("--out", help="run directory (default: runs/<recipe name>)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.set_defaults(func=_cmd_train)

    c = sub.add_parser("compare", help="train every configuration x seed; report means, intervals and paired tests")
    c.add_argument("recipe")
    c.add_argument("--seeds", default="1-5", help="seeds to train each configuration with (default 1-5; or 1,3,7)")
    c.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="values of a key, one configuration each (repeat for a product), such as model.dropout=0,0.3")
    c.add_argument("--configs", metavar="FILE",
                   help="named configurations: a YAML file whose 'configurations:' maps each name to the recipe "
                        "keys it sets (swept values, if any, apply to each)")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    c.add_argument("--out", help="folder of the runs and the report (default: runs/compare_<recipe name>)")
    c.add_argument("--jobs", type=int, default=1, help="runs trained at once, the cores split between them")
    c.add_argument("--threads", type=int, help="torch threads per run (default: the cores divided by --jobs)")
    c.add_argument("--split-half", action="store_true",
                   help="select weights on half A of the recipe's dev set; report on half B (and A, to show the bias)")
    c.add_argument("--data", action="append", help="score on this data instead (repeatable)")
    c.add_argument("--resamples", type=_whole_number(1, MAX_RESAMPLES), default=1000,
                   help="bootstrap resamples for the paired tests")
    c.set_defaults(func=_cmd_compare)

    e = sub.add_parser("evaluate", help="score a run on a data set")
    e.add_argument("run")
    e.add_argument("--data", help="path or corpus reference such as sst:dev (default: the recipe's dev set)")
    e.add_argument("--json", action="store_true", help="print exactly one JSON object")
    e.add_argument("--baseline", action="append", choices=["vader"], help="also score a baseline")
    e.add_argument("--src", help="translation: source file (with --ref), instead of --data")
    e.add_argument("--ref", help="translation: reference file")
    _decode_arguments(e, "translation: ")
    e.add_argument("--bootstrap", type=_whole_number(1, MAX_RESAMPLES), metavar="N",
                   help="print a 95%% bootstrap confidence interval beside every metric, from N resamples of the items")
    e.add_argument("--save-items", metavar="FILE.npz",
                   help="write per-item metric statistics (nlpseq compare reads them)")
    e.add_argument("--weights", choices=["selected", "last"], default="selected",
                   help="the run's saved weights (train.select; the default) or those training ended with "
                        "(its newest checkpoint)")
    for key, spec in index["evaluate"].items():  # what each task's evaluation declares (EvaluateOptions)
        _add_option(e, key, {**spec, "help": f"{' and '.join(spec['tasks'])}: {spec['help']}"})
    _precision_argument(e)
    e.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("sentiment", help="label texts (arguments, or one per line on stdin) as JSON lines")
    _model_argument(s)
    s.add_argument("texts", nargs="*")
    s.add_argument("--tree", help="a PTB-bracket tree to label phrase by phrase (tree model runs)")
    s.add_argument("--render", metavar="OUT.svg|OUT.png", help="draw the first labelled tree")
    s.add_argument("--parser", metavar="PARSER_RUN", help="parse raw text into trees first (tree model runs)")
    _precision_argument(s)
    s.set_defaults(func=_cmd_sentiment)

    pa = sub.add_parser("parse", help="parse sentences (arguments, or one per line on stdin) into bracketed trees")
    _model_argument(pa)
    pa.add_argument("texts", nargs="*")
    pa.add_argument("--decode", choices=["cky", "greedy"], help="tree search (default: the recipe's)")
    pa.add_argument("--json", action="store_true", help="print {tokens, tree} JSON lines")
    pa.add_argument("--render", metavar="OUT.svg|OUT.png", help="draw the first tree")
    pa.set_defaults(func=_cmd_parse)

    tr = sub.add_parser("translate", help="translate sentences (arguments, --input FILE, or lines on stdin)")
    _model_argument(tr)
    tr.add_argument("texts", nargs="*", help="sentences to translate")
    tr.add_argument("--input", help="a file of sentences, one per line")
    for key, spec in index["answers"]["translate"].items():  # the translation task's AnswerOptions
        _add_option(tr, key, spec)
    _decode_arguments(tr, shortlist=False)
    tr.add_argument("--plot-attention", metavar="OUT.png", help="draw the attention of the first sentence")
    _precision_argument(tr)
    tr.set_defaults(func=_cmd_translate)

    ex = sub.add_parser("export", help="write a translator as ONNX graphs, with a runner that needs no PyTorch")
    ex.add_argument("run")
    ex.add_argument("--format", choices=["onnx"], default="onnx", help="what to write (default: onnx)")
    ex.add_argument("--out", help="folder to write (default: RUN/onnx)")
    ex.set_defaults(func=_cmd_export)

    g = sub.add_parser("generate", help="sample text from a language model, or list its likeliest next words")
    g.add_argument("run")
    g.add_argument("--prompt", default="", help="text to continue")
    g.add_argument("--temperature", type=float, default=1.0, help="below 1: safer text; above 1: more surprising")
    g.add_argument("--length", type=int, default=200, help="most tokens to sample (default 200)")
    g.add_argument("--samples", type=int, default=1, help="how many continuations to print")
    g.add_argument("--seed", type=int, help="seed the sampling, for a repeatable sample")
    g.add_argument("--next-words", type=int, metavar="K", help="print the K likeliest next tokens as JSON instead")
    g.set_defaults(func=_cmd_generate)

    sv = sub.add_parser("serve", help="serve trained runs over HTTP (FastAPI, uvicorn): one endpoint per run")
    sv.add_argument("--model", action="append", default=[], metavar="[NAME=]RUN_DIR",
                    help="a run behind POST /v1/NAME (default NAME: its task's pipeline, such as sentiment, "
                         "translation, parsing, next-word, forecast); repeatable")
    sv.add_argument("--sentiment", metavar="RUN_DIR", help="a sentiment run behind POST /v1/sentiment")
    sv.add_argument("--translate", metavar="RUN_DIR", help="a translation run behind POST /v1/translate")
    sv.add_argument("--parser", metavar="RUN_DIR", help="parser run: the tree sentiment model then takes raw text")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--threads", type=int,
                    help="torch threads for each model (default: one core fewer than the machine has, at least 1)")
    for f in dataclasses.fields(Limits):  # every limit the service declares, with its default
        if f.metadata:
            sv.add_argument(f.metadata["flag"], dest=f.name, type=type(f.default), default=f.default,
                            help=f"{f.metadata['help']} (default {f.default})")
    sv.add_argument("--no-batching", action="store_true", help="one model call per request")
    _precision_argument(sv)
    sv.add_argument("--in-process", action="store_true",
                    help="run the models in the service's process (default: one child process per model)")
    sv.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    sv.set_defaults(func=_cmd_serve)

    mo = sub.add_parser("models", help="list the shipped models, or print one's card (models show NAME)")
    mo.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    mo.add_argument("name", nargs="?", help="a shipped model's name, or NAME@VERSION")
    mo.set_defaults(func=_cmd_models)

    d = sub.add_parser("data", help="list, locate or download corpora")
    d.add_argument("action", choices=["list", "path", "get"])
    d.add_argument("name", nargs="?")
    d.set_defaults(func=_cmd_data)
    if task_verbs:
        _add_task_verbs(sub)
    else:
        _listed_verbs(sub, index)
    for verb in sub.choices.values():  # after the verb too: `nlpseq serve --quiet`
        verb.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                          help="print answers, results and errors only: no progress, notices or file names")
    return p


def _plugins() -> bool:
    from importlib.metadata import entry_points

    from .registry import PLUGIN_GROUP

    return bool(entry_points(group=PLUGIN_GROUP))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nlpseq`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    # Only a verb that is not built in needs the tasks loaded (a second or two): to parse its options.
    # The top-level help lists the built-in tasks' verbs from their index, and loads the tasks only when
    # a plugin may declare more.
    parser = build_parser(task_verbs=(command is not None and command not in BUILTIN_COMMANDS) or _plugins())
    # Sentences may follow options (`translate RUN --beam 5 "Ein Hund."`), which argparse leaves over.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if hasattr(args, "texts") and not any(e.startswith("-") for e in extra):
            args.texts += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    level = logging.INFO if args.debug else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="nlpseq: %(message)s")
    # Progress lines (training's steps and dev scores) are shown unless --quiet.
    logging.getLogger("nlpseq.progress").setLevel(logging.ERROR if args.quiet else logging.INFO)
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
