"""Statistics over seeds and items for an experiment, written as ``report.md``, ``compare.json`` and a plot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..fileio import atomic_path, atomic_write_json, atomic_write_text
from ..metrics.resampling import SCORE_RANGE, holm, paired_bootstrap, resample_weights, seed_summary, spread, welch_test
from .runner import RunResult


def summarize(results: Sequence[RunResult], resamples: int = 1000, seed: int = 12345) -> dict[str, Any]:
    """Per configuration and metric: the seeds' values, mean, sd and 95% t-interval over seeds (clipped
    to the metric's range); for each configuration after the first, two tests against the first:
    Welch's test over per-seed scores (the headline ``p``, Holm-corrected across configurations x
    metrics) and a paired bootstrap over the evaluation items with the trained models held fixed
    (``p_items``; the same resamples for every configuration and metric)."""
    configs: dict[str, list[RunResult]] = {}
    for r in results:
        configs.setdefault(r.configuration.name, []).append(r)
    names = list(configs)
    metrics = [m for m in results[0].items if all(m in r.items for r in results)] if results else []
    n_items = len(next(iter(results[0].items.values())).stats) if metrics else 0
    weights = resample_weights(n_items, resamples, seed) if metrics else None
    out: dict[str, Any] = {"metrics": metrics, "items": n_items, "resamples": resamples, "configurations": [],
                           "warnings": []}
    base = configs[names[0]] if names else []
    tests = []
    for name in names:
        runs = configs[name]
        entry: dict[str, Any] = {"name": name, "overrides": list(runs[0].configuration.overrides),
                                 "seeds": [r.seed for r in runs], "runs": [str(r.run_dir) for r in runs],
                                 "training": [{"seed": r.seed, **r.facts} for r in runs], "metrics": {}}
        for m in metrics:
            values = [r.items[m].value for r in runs]
            stats = {"values": values, **seed_summary(values)}
            if name != names[0]:
                items = paired_bootstrap([r.items[m] for r in base], [r.items[m] for r in runs], weights)
                seeds = welch_test([r.items[m].value for r in base], values)
                stats["vs_first"] = {"delta": seeds["delta"], "delta_low": items["delta_low"],
                                     "delta_high": items["delta_high"], "p_items": items["p"], "t": seeds["t"],
                                     "df": seeds["df"], "p_uncorrected": seeds["p"]}
                tests.append(stats["vs_first"])
            entry["metrics"][m] = stats
        out["configurations"].append(entry)
    for test, p in zip(tests, holm([t["p_uncorrected"] for t in tests])):
        test["p"] = p
    fewest = min((len(c["seeds"]) for c in out["configurations"]), default=0)
    if 0 < fewest < 3:
        out["warnings"].append(f"{fewest} seed{'s' if fewest > 1 else ''} per configuration: intervals over seeds "
                               "are n/a or very wide, and the test over seeds has little power; use 3 or more")
    return out


def selection_effect(held_out: Sequence[RunResult], chosen_on: Sequence[RunResult]) -> dict[str, Any]:
    """What choosing weights on one half moved, free of how the halves differ: per run,
    ``(A_selected - A_last) - (B_selected - B_last)`` with A the half that chose and B the held-out
    one (``last``: the weights training ended with); per configuration and metric, its mean ± sd and
    t-interval over seeds. Empty when the runs have no scores for their last weights."""
    out: dict[str, Any] = {}
    for b, a in zip(held_out, chosen_on):
        if a.last_items is None or b.last_items is None:
            return {}
        entry = out.setdefault(a.configuration.name, {})
        for m in a.items:
            gain_a = a.items[m].value - a.last_items[m].value
            gain_b = b.items[m].value - b.last_items[m].value
            entry.setdefault(m, []).append(gain_a - gain_b)
    return {name: {m: {"values": v, **seed_summary(v, bounds=None)} for m, v in metrics.items()}
            for name, metrics in out.items()}


def _selection_markdown(effect: dict[str, Any], chosen_on: str, held_out: str) -> list[str]:
    lines = [f"## Selection effect: what choosing on {chosen_on} added there, beyond {held_out}", "",
             f"Per run, (score on {chosen_on} - the last weights' score on {chosen_on}) - (the same on "
             f"{held_out}): what the choice of weights gained on the data that made it, less what it gained on "
             "data it never saw, so the halves' own difficulty cancels. Mean ± sd and 95% CI over seeds.", "",
             "| configuration | metric | mean ± sd | 95% CI (seeds) |", "|---|---|---|---|"]
    for name, metrics in effect.items():
        for m, s in metrics.items():
            sd, ci = spread(s)
            lines.append(f"| {name} | {m} | {s['mean']:+.2f} {sd} | {ci} |")
    return [*lines, ""]


def _markdown(summary: dict[str, Any], title: str, command: str, notes: Sequence[str] = ()) -> str:
    lines = [f"# {title}", "", f"Command: `{command}`", "",
             "What each figure covers: **mean ± sd** and **95% CI** are over seeds (a t-interval of the mean, "
             "clipped to 0-100: where the mean of other seeds would fall). **Δ** is the difference of means from "
             "the first configuration; **p (seeds)** is Welch's test over per-seed scores, two-sided, "
             f"Holm-corrected across the {max(len(summary['configurations']) - 1, 0)} configurations x "
             f"{len(summary['metrics'])} metrics of this table: the headline. **Δ 95% CI (items)** and "
             "**p (items, seeds fixed)** are a paired bootstrap over the "
             f"{summary['items']} evaluation items ({summary['resamples']} resamples shared by every "
             "configuration) with these trained models held fixed: they ignore how much retraining with "
             "other seeds moves a score, and are not corrected.", ""]
    for note in [*notes, *summary.get("warnings", [])]:
        lines += [f"> **Note:** {note}", ""]
    for m in summary["metrics"]:
        lines += [f"## {m}", "", "| configuration | seeds | mean ± sd | 95% CI (seeds) | min-max | Δ vs first | "
                  "p (seeds) | Δ 95% CI (items) | p (items, seeds fixed) |", "|---|---|---|---|---|---|---|---|---|"]
        for c in summary["configurations"]:
            s = c["metrics"][m]
            vs = s.get("vs_first")
            sd, ci = spread(s)
            if vs:
                p_seeds = "n/a" if vs["p"] is None else f"{vs['p']:.3f}"
                tail = (f"{vs['delta']:+.2f} | {p_seeds} | [{vs['delta_low']:+.2f}, {vs['delta_high']:+.2f}] | "
                        f"{vs['p_items']:.3f}")
            else:
                tail = "- | - | - | -"
            lines.append(f"| {c['name']} | {s['n']} | {s['mean']:.2f} {sd} | {ci} | {s['min']:.2f}-{s['max']:.2f} | "
                         f"{tail} |")
        lines.append("")
        lines.append("Per seed: " + "; ".join(
            f"{c['name']}: " + ", ".join(f"{v:.2f}" for v in c["metrics"][m]["values"]) for c in summary["configurations"]))
        lines.append("")
    if summary.get("selection_effect"):
        chosen_on, held_out = summary["selection_effect_halves"]
        lines += _selection_markdown(summary["selection_effect"], chosen_on, held_out)
    lines += ["## Runs", "", "| configuration | seed | steps | epochs | seconds | stopped by | units/s | "
              "matmul GFLOP/s |", "|---|---|---|---|---|---|---|---|"]
    for c in summary["configurations"]:
        for t in c.get("training", []):
            def cell(key: str, fmt: str = "{}") -> str:
                return "n/a" if t.get(key) is None else fmt.format(t[key])

            lines.append(f"| {c['name']} | {t['seed']} | {cell('steps')} | {cell('epochs', '{:.2f}')} | "
                         f"{cell('seconds', '{:.0f}')} | {cell('stopped_by')} | {cell('units_per_s', '{:.0f}')} | "
                         f"{cell('sgemm_gflops', '{:.1f}')} |")
    lines.append("")
    return "\n".join(lines)


def plot_summary(summary: dict[str, Any], path: str | os.PathLike) -> None:
    """One panel per metric: each seed's score as a dot, each configuration's mean with its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics, configs = summary["metrics"], summary["configurations"]
    fig, axes = plt.subplots(1, max(len(metrics), 1), figsize=(3.2 * max(len(metrics), 1) + 1, 3.6), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for x, c in enumerate(configs):
            s = c["metrics"][m]
            ax.scatter([x + 0.12] * len(s["values"]), s["values"], s=14, color="0.55", zorder=2)
            yerr = None if s["sd"] is None else [[s["mean"] - s["ci_low"]], [s["ci_high"] - s["mean"]]]
            ax.errorbar([x - 0.12], [s["mean"]], yerr=yerr, fmt="o", color="C0", capsize=4, zorder=3)
        ax.set_xticks(range(len(configs)), [c["name"] for c in configs], rotation=20, ha="right", fontsize=8)
        ax.set_title(f"{m} on {summary.get('data') or 'dev'}", fontsize=9)
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, SCORE_RANGE[0]), min(high, SCORE_RANGE[1]))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def write_report(summaries: dict[str, dict[str, Any]], out: str | os.PathLike, recipe: str, command: str,
                 notes: dict[str, Sequence[str]] | None = None) -> list[Path]:
    """``report.md``, ``compare.json`` and one ``compare_<data>.png`` per scored data set; returns the paths.
    ``notes`` (per data reference) are printed under each table's heading, such as the leaks it has."""
    out = Path(out)
    written = []
    parts = []
    for i, (ref, summary) in enumerate(summaries.items()):
        summary["data"] = ref or "its dev set"
        summary["notes"] = list((notes or {}).get(ref, ()))
        parts.append(_markdown(summary, f"{Path(recipe).name} on {ref or 'its dev set'}", command, summary["notes"]))
        png = out / ("compare.png" if i == 0 else f"compare_{i + 1}.png")
        plot_summary(summary, png)
        summary["plot"] = png.name
        written.append(png)
    atomic_write_text(out / "report.md", "\n".join(parts))
    atomic_write_json(out / "compare.json", {"recipe": recipe, "command": command, "data": summaries})
    return [out / "report.md", out / "compare.json", *written]
