"""Building the shipped models (``make models``): train, score on held-out data, pack, card, manifest.

Each entry of ``recipes/shipped/models.yaml`` names a recipe. Its run is trained into
``runs/shipped/`` (a finished run is kept), its weights are packed (:mod:`nlpseq.compact`), and every
figure on its card comes from an ``nlpseq evaluate --bootstrap`` process run here on the packed
folder, whose command is printed on the card with the model's shipped name in place of the folder.
int8 storage is kept only where every figure stays within 0.1 of the fp32 run's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from .catalog import CARD, MANIFEST, SHIPPED, ShippedModel, file_digest, read_manifest
from .compact import pack
from .errors import NlpseqError
from .fileio import atomic_write_text
from .run import CHECKPOINTS, INFO, METRICS, RECIPE, TENSORBOARD, WEIGHTS, RunDir
from .version import RUN_FORMAT, __version__

SPEC = SHIPPED / "models.yaml"
RUNS = Path("runs/shipped")
RESAMPLES = 1000
TOLERANCE = 0.1  # points a figure may lose to int8 storage
# What a run keeps that answering does not need: training state, logs, plots, exports.
LEFT_OUT = (CHECKPOINTS, METRICS, TENSORBOARD, WEIGHTS, "onnx")


def nlpseq_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nlpseq.cli", *args]


def train(entry: dict, recipe: Path, runs: Path = RUNS) -> RunDir:
    """The entry's run, trained unless a finished run of the same recipe is there already."""
    run = RunDir(runs / recipe.stem)
    if (run / WEIGHTS).is_file() and (run / INFO).is_file() and run.info().get("finished_step") is not None:
        print(f"[{entry['name']}] {run.path}: trained already", file=sys.stderr)
        return run
    print(f"[{entry['name']}] training {recipe} into {run.path}", file=sys.stderr, flush=True)
    subprocess.run(nlpseq_command("train", str(recipe), "--out", str(run.path)), check=True)
    return run


def stage(run: RunDir, folder: Path, storage: str) -> None:
    """``folder``: the run's answering files, its weights packed as ``storage``."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for src in sorted(run.path.iterdir()):
        if src.name in LEFT_OUT or src.suffix == ".png" or src.name.startswith("."):
            continue
        if src.is_dir():
            shutil.copytree(src, folder / src.name)
        elif src.is_file():
            shutil.copy2(src, folder / src.name)
    info = {**run.info(), "run_format": RUN_FORMAT, "storage": storage}
    (folder / INFO).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    RunDir(folder).save_weights(pack(run.load_weights(), storage))  # type: ignore[arg-type]


def evaluate(model: str, report: dict, parser: str | None) -> tuple[list[str], dict[str, Any]]:
    """Run ``nlpseq evaluate --bootstrap`` on ``model``; the argument list and its JSON result."""
    args = ["evaluate", model, "--data", report["data"], "--bootstrap", str(RESAMPLES)]
    if report.get("parser"):
        args += ["--parser", str(parser)]
    args += [str(a) for a in report.get("args", [])]
    out = subprocess.run(nlpseq_command(*args, "--json"), capture_output=True, text=True)
    if out.returncode != 0:
        raise NlpseqError(f"`nlpseq {' '.join(args)}` failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return args, json.loads(out.stdout.strip().splitlines()[-1])


def probe(folder: Path, entry: dict, parser: Path | None) -> list[dict[str, Any]]:
    """The entry's probe sentences answered by the packed model."""
    from .api import pipeline
    from .registry import TASKS

    task = RunDir(folder).info()["task"]
    name = TASKS.get(task).pipelines[0]
    pipe = pipeline(name, model=folder, parser=parser)
    rows = []
    for p in entry.get("probes", []):
        answer = pipe([p["text"]])[0]
        if "translation" in answer:
            got = answer["translation"]
        elif "label" in answer:
            got = f"{answer['label']} ({answer['score']:.2f})"
        else:
            got = answer.get("tree", "")
        label = answer.get("label", "")
        expected = p.get("expect")
        ok = "" if expected is None else ("yes" if coarse(label) == expected else "**no**")
        rows.append({"text": p["text"], "expect": expected or "", "answer": got, "ok": ok})
    return rows


def coarse(label: str) -> str:
    """A five-class label as its polarity (``very negative`` -> ``negative``)."""
    return label.replace("very ", "")


def figure(metrics: dict, key: str) -> str:
    lo, hi = metrics.get(f"{key}_ci95", (float("nan"), float("nan")))
    return f"{metrics[key]:.2f} [{lo:.2f}, {hi:.2f}]"


def write_card(folder: Path, entry: dict, model: ShippedModel, run: RunDir, scored: list[tuple[list[str], dict]],
               probes: list[dict], machine: dict, storage: str, fp32: list[dict]) -> None:
    """The model's card: a YAML header (what hubs read) and what a user should know before relying on it."""
    recipe = yaml.safe_load((run / RECIPE).read_text(encoding="utf-8"))
    info = run.info()
    labels = info.get("labels") or []
    selection = info.get("selection", {})
    commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"], capture_output=True,
                            text=True).stdout.strip()
    header = {
        "name": model.name, "version": model.version, "task": info["task"], "model": info.get("model"),
        "labels": labels, "training_data": recipe["data"].get("train"), "data_licence": entry.get("data_licence"),
        "recipe": entry["recipe"], "seed": recipe.get("seed"), "commit": commit,
        "nlpseq": __version__, "storage": storage, "size_bytes": model.size,
        "figures": {" ".join(args[3:4] + [a for a in args[4:] if a.startswith("--parser")]): {
            k: round(m[k], 2) for k in rep["figures"]} for (args, m), rep in zip(scored, entry["reports"])},
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).strip(), "---", "",
             f"# {model.name} {model.version}", "", recipe.get("description", ""), "",
             "## Intended use and limits", "", entry.get("limits", ""), "",
             "## How the weights were chosen", "",
             f"Trained by `nlpseq train {entry['recipe']}` (seed {recipe.get('seed')}). "
             f"The weights kept: `train.select: {selection.get('select', recipe['train'].get('select', 'best'))}` "
             f"with `{recipe['data'].get('dev')}` as dev data"
             + (" (no choice: the last weights)" if selection.get("select") == "last" else "")
             + ". The figures below are on data that chose nothing: no weights, stopping point or setting "
               "was picked on it." + (f" {entry['chosen']}" if entry.get("chosen") else ""), "",
             "## Figures (95% bootstrap intervals over items)", "",
             "| data | figure | shipped weights | fp32 run |", "| --- | --- | --- | --- |"]
    for (args, m), rep, full in zip(scored, entry["reports"], fp32):
        where = rep["data"] + (" (trees from the shipped parser)" if rep.get("parser") else "")
        for key in rep["figures"]:
            lines.append(f"| {where} | {key} | {figure(m, key)} | {full[key]:.2f} |")
    lines += ["", "Produced by (the intervals resample the items of the data set, "
              f"{RESAMPLES} resamples; one trained seed, so they do not cover retraining):", ""]
    for args, _ in scored:
        lines.append(f"    nlpseq {' '.join(args)}")
    speed = scored[0][1].get("items_per_s", 0.0)
    lines += ["", "## Speed and size", "",
              f"{speed:.0f} items/s in the first command above (batched, {machine['threads']} "
              f"thread{'s' if machine['threads'] != 1 else ''}) on {machine['cpu']}, "
              f"whose fp32 matmul rate measured {machine['sgemm_gflops']:.0f} GFLOP/s beside it. "
              f"Files: {model.size / 1e6:.1f} MB, weights stored as {storage}"
              + (" with one scale per row" if storage == "int8" else "") + ".", "",
              "## Probes", "", "A few sentences chosen to show where it fails, answered by the shipped weights:", "",
              "| input | expected | answer | right |", "| --- | --- | --- | --- |"]
    for p in probes:
        lines.append(f"| {p['text']} | {p['expect']} | {p['answer']} | {p['ok']} |")
    atomic_write_text(folder / CARD, "\n".join(lines) + "\n")


def build(entry: dict, built: dict[str, ShippedModel], root: Path = SHIPPED, runs: Path = RUNS) -> ShippedModel:
    """Train, pack, score and card one entry; returns its manifest entry (its folder in place)."""
    from .machine import measure_sgemm, cpu_name

    recipe = Path(entry["recipe"])
    run = train(entry, recipe, runs)
    name, version = entry["name"], entry["version"]
    final = root / f"{name}-{version}"
    staging = root / f".staging-{name}-{version}"
    parser = root / built[entry["parser"]].folder if entry.get("parser") else None
    fp32 = [evaluate(str(run.path), rep, str(parser) if parser else None)[1] for rep in entry["reports"]]
    storage = entry.get("storage", "fp16")
    while True:
        stage(run, staging, storage)
        scored = [evaluate(str(staging), rep, str(parser) if parser else None) for rep in entry["reports"]]
        for plot in staging.glob("*.png"):  # evaluate draws into a run folder; a shipped one holds no plots
            plot.unlink()
        lost = max(abs(m[k] - full[k]) for (_, m), full, rep in zip(scored, fp32, entry["reports"])
                   for k in rep["figures"])
        if storage != "int8" or lost <= TOLERANCE:
            break
        print(f"[{name}] int8 storage moved a figure by {lost:.2f}: storing fp16", file=sys.stderr)
        storage = "fp16"
    shown = f"{name}@{version}"
    scored = [([args[0], shown, *[shown_parser(a, parser, built, entry) for a in args[2:]]], m) for args, m in scored]
    sgemm = measure_sgemm()
    machine = {"cpu": cpu_name(), "threads": __import__("torch").get_num_threads(), "sgemm_gflops": sgemm}
    probes = probe(staging, entry, parser)
    headline_report = next(i for i, r in enumerate(entry["reports"]) if entry["headline"] in r["figures"])
    data = entry["reports"][headline_report]["data"]
    size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    model = ShippedModel(name=name, version=version, task=RunDir(staging).info()["task"], folder=final.name,
                         default_for=tuple(entry.get("default_for", ())), domain=entry["domain"],
                         headline=f"{data} {entry['headline']} {scored[headline_report][1][entry['headline']]:.1f}",
                         size=size, serve_as=entry.get("serve_as", ""), parser=entry.get("parser"))
    write_card(staging, entry, model, run, scored, probes, machine, storage, fp32)
    files = {str(p.relative_to(staging)): file_digest(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    size = sum((staging / f).stat().st_size for f in files)
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    return ShippedModel(**{**model.__dict__, "files": files, "size": size})


def shown_parser(arg: str, parser: Path | None, built: dict[str, ShippedModel], entry: dict) -> str:
    """A shipped parser's folder in a recorded command, as its shipped name."""
    if parser is not None and arg == str(parser):
        return built[entry["parser"]].ref
    return arg


def write_manifest(models: list[ShippedModel], root: Path) -> None:
    """The manifest: every version kept, the ones built now replacing their own entries only."""
    kept = [m for m in read_manifest(root) if all(m.ref != n.ref for n in models)]
    entries = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in m.__dict__.items()} for m in kept + models]
    body = {"format": RUN_FORMAT, "nlpseq": __version__, "models": entries}
    atomic_write_text(root / MANIFEST, json.dumps(body, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlpseq.shipping", description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(SPEC), help="the list of shipped models (default %(default)s)")
    ap.add_argument("--only", action="append", help="build only these names (repeatable)")
    ap.add_argument("--runs", default=str(RUNS), help="folder of the training runs (default %(default)s)")
    ap.add_argument("--into", default=str(SHIPPED), help="folder of the built models and manifest (default: the package's)")
    args = ap.parse_args(argv)
    spec_path = Path(args.spec)
    entries = yaml.safe_load(spec_path.read_text(encoding="utf-8"))["models"]
    root = Path(args.into)
    root.mkdir(parents=True, exist_ok=True)
    built: dict[str, ShippedModel] = {m.name: m for m in read_manifest(root)}
    done = []
    t0 = time.time()
    for entry in entries:
        if args.only and entry["name"] not in args.only:
            continue
        try:
            model = build(entry, built, root, Path(args.runs))
        except subprocess.CalledProcessError as exc:
            raise NlpseqError(f"{entry['name']}: `{' '.join(exc.cmd[2:])}` failed (exit {exc.returncode})") from None
        built[model.name] = model
        done.append(model)
        write_manifest(done, root)
        print(f"[{model.name}] {model.ref}: {model.headline}, {model.size / 1e6:.1f} MB "
              f"({time.time() - t0:.0f} s so far)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except NlpseqError as exc:
        print(f"nlpseq: error: {exc}", file=sys.stderr)
        sys.exit(2)
