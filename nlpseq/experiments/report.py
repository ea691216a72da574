"""Statistics over seeds and items for an experiment, written as ``report.md``, ``compare.json`` and a plot."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..fileio import atomic_path, atomic_write_json, atomic_write_text
from ..metrics.resampling import paired_bootstrap, resample_weights, seed_summary, spread
from .runner import RunResult


def summarize(results: Sequence[RunResult], resamples: int = 1000, seed: int = 12345) -> dict[str, Any]:
    """Per configuration and metric: the seeds' values, mean, sd and 95% t-interval over seeds; for each
    configuration after the first, a paired bootstrap test against the first over the evaluation items,
    with the same resamples for every configuration and metric."""
    configs: dict[str, list[RunResult]] = {}
    for r in results:
        configs.setdefault(r.configuration.name, []).append(r)
    names = list(configs)
    metrics = [m for m in results[0].items if all(m in r.items for r in results)] if results else []
    n_items = len(next(iter(results[0].items.values())).stats) if metrics else 0
    weights = resample_weights(n_items, resamples, seed) if metrics else None
    out: dict[str, Any] = {"metrics": metrics, "items": n_items, "resamples": resamples, "configurations": []}
    base = configs[names[0]] if names else []
    for name in names:
        runs = configs[name]
        entry: dict[str, Any] = {"name": name, "overrides": list(runs[0].configuration.overrides),
                                 "seeds": [r.seed for r in runs], "runs": [str(r.run_dir) for r in runs],
                                 "metrics": {}}
        for m in metrics:
            values = [r.items[m].value for r in runs]
            stats = {"values": values, **seed_summary(values)}
            if name != names[0]:
                stats["vs_first"] = paired_bootstrap([r.items[m] for r in base], [r.items[m] for r in runs], weights)
            entry["metrics"][m] = stats
        out["configurations"].append(entry)
    return out


def _markdown(summary: dict[str, Any], title: str, command: str) -> str:
    lines = [f"# {title}", "", f"Command: `{command}`", "",
             f"Mean ± sd over seeds, 95% t-interval of the mean; paired bootstrap against the first configuration "
             f"over {summary['items']} evaluation items ({summary['resamples']} resamples shared by every "
             f"configuration; p two-sided).", ""]
    for m in summary["metrics"]:
        lines += [f"## {m}", "", "| configuration | seeds | mean ± sd | 95% CI | min-max | Δ vs first [95% CI] | p |",
                  "|---|---|---|---|---|---|---|"]
        for c in summary["configurations"]:
            s = c["metrics"][m]
            vs = s.get("vs_first")
            delta = f"{vs['delta']:+.2f} [{vs['delta_low']:+.2f}, {vs['delta_high']:+.2f}]" if vs else "-"
            p = f"{vs['p']:.3f}" if vs else "-"
            sd, ci = spread(s)
            lines.append(f"| {c['name']} | {s['n']} | {s['mean']:.2f} {sd} | {ci} | {s['min']:.2f}-{s['max']:.2f} | "
                         f"{delta} | {p} |")
        lines.append("")
        lines.append("Per seed: " + "; ".join(
            f"{c['name']}: " + ", ".join(f"{v:.2f}" for v in c["metrics"][m]["values"]) for c in summary["configurations"]))
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
        ax.set_title(m)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def write_report(summaries: dict[str, dict[str, Any]], out: str | os.PathLike, recipe: str, command: str) -> list[Path]:
    """``report.md``, ``compare.json`` and one ``compare_<data>.png`` per scored data set; returns the paths."""
    out = Path(out)
    written = []
    parts = []
    for i, (ref, summary) in enumerate(summaries.items()):
        parts.append(_markdown(summary, f"{Path(recipe).name} on {ref or 'its dev set'}", command))
        png = out / ("compare.png" if i == 0 else f"compare_{i + 1}.png")
        plot_summary(summary, png)
        summary["plot"] = png.name
        written.append(png)
    atomic_write_text(out / "report.md", "\n".join(parts))
    atomic_write_json(out / "compare.json", {"recipe": recipe, "command": command, "data": summaries})
    return [out / "report.md", out / "compare.json", *written]
