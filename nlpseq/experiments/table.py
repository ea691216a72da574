"""README rows from ``nlpseq compare`` results: ``python -m nlpseq.experiments.table runs/compare_*/compare.json``.

Each row gives, per configuration, every metric's mean ± sd over seeds on the first data set the
comparison scored (dev half B under ``--split-half``: data no choice saw), with the half-A mean
beside it, so the gap a selection on the scored data would have opened is visible.
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


def main(argv: list[str] | None = None) -> int:
    for path in argv if argv is not None else sys.argv[1:]:
        print("\n".join(rows(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
