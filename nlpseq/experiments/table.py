"""Tables from ``nlpseq compare`` results.

``python -m nlpseq.experiments.table runs/compare_*/compare.json`` prints README rows: per
configuration, every metric's mean ± sd over seeds on the first data set the comparison scored (dev
half B under ``--split-half``: data no choice saw), with the half-A mean beside it, so the gap a
selection on the scored data would have opened is visible.

``--stage`` prints one table per comparison for a study's stage: each configuration's keys, its
figures on the data that ranks the configurations (half A) beside those reported (half B), and
what its training did (steps, epochs, units/s, the matmul rate measured with it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..metrics.resampling import spread


def rows(path: str | Path) -> list[str]:
    """Markdown table rows (recipe | configuration | command | figures) for one ``compare.json``."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    scored = list(doc["data"].items())
    (ref, summary), other = scored[0], scored[1:]
    out = []
    for i, c in enumerate(summary["configurations"]):
        seeds = c["seeds"]
        figures = []
        for m in summary["metrics"]:
            s = c["metrics"][m]
            text = f"{m} **{s['mean']:.2f} {spread(s)[0]}** ({s['min']:.2f}-{s['max']:.2f})"
            if other:
                a = other[0][1]["configurations"][i]["metrics"][m]
                text += f" [on {other[0][0].rsplit('@', 1)[-1]}: {a['mean']:.2f}]"
            if "vs_first" in s:
                text += f", Δ {s['vs_first']['delta']:+.2f} p={s['vs_first']['p']:.2f}"
            figures.append(text)
        span = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ",".join(map(str, seeds))
        out.append(f"| `{Path(doc['recipe']).name}` {c['name'] if c['name'] != 'recipe' else ''} | "
                   f"`{doc['command']}` | {ref}, seeds {span}: " + "; ".join(figures) + " |")
    return out


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def stage_rows(path: str | Path) -> list[str]:
    """A markdown table (header included) of one study stage's ``compare.json``; the configurations are
    in the order of their mean on the ranking data (the second data set scored, half A under
    ``--split-half``), best first, so the table reads as the choice it supports."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    scored = list(doc["data"].items())
    (report_ref, report), ranked_by = scored[0], (scored[1] if len(scored) > 1 else scored[0])
    metrics, first = report["metrics"], report["metrics"][0]
    rank = {c["name"]: c["metrics"][first]["mean"] for c in ranked_by[1]["configurations"]}
    head = ["configuration", "keys", f"{first} on {ranked_by[0]} (ranks)",
            *[f"{m} on {report_ref}" for m in metrics], "seeds", "steps", "epochs", "units/s", "matmul GFLOP/s"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in sorted(report["configurations"], key=lambda c: -rank[c["name"]]):
        runs = c.get("training", [])

        def fact(key: str, fmt: str) -> str:
            value = _mean([r.get(key) for r in runs])
            return "n/a" if value is None else fmt.format(value)

        figures = [f"{c['metrics'][m]['mean']:.2f} {spread(c['metrics'][m])[0]}".replace(" ± n/a", "") for m in metrics]
        keys = ", ".join(f"`{o}`" for o in c["overrides"]) or "(the recipe)"
        out.append(f"| {c['name']} | {keys} | {rank[c['name']]:.2f} | " + " | ".join(figures) +
                   f" | {len(c['seeds'])} | {fact('steps', '{:.0f}')} | {fact('epochs', '{:.2f}')} | "
                   f"{fact('units_per_s', '{:.0f}')} | {fact('sgemm_gflops', '{:.0f}')} |")
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    stage = "--stage" in args
    for path in [a for a in args if a != "--stage"]:
        print("\n".join(stage_rows(path) if stage else rows(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
