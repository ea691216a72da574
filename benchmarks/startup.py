"""How long a user waits: whole `nlpseq` processes timed from start to exit (median of --repeat).

Usage: python benchmarks/startup.py [--before REV] [--repeat 5] [--json OUT.json]

Rows: `import nlpseq`, `nlpseq --help`, `nlpseq sentiment "A wonderful film."` on the default shipped
model (its first answer, loading included), and the first answer of `pipeline("sentiment-analysis")`
timed inside one process. With --before REV the same commands run on that commit too (a temporary
git worktree, its package first on the path), in the same run and alternating with the current
code, so both columns see the same machine; a command the old code cannot run (no shipped models)
shows "-". The machine's fp32 matmul rate, measured beside, is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = "A wonderful film."
FIRST_ANSWER = (
    "import time; t = time.perf_counter(); import nlpseq; "
    "p = nlpseq.pipeline('sentiment-analysis'); p(['A wonderful film.']); "
    "print('first-answer', time.perf_counter() - t)"
)
ROWS = {
    "import nlpseq": [sys.executable, "-c", "import nlpseq"],
    "nlpseq --help": [sys.executable, "-m", "nlpseq.cli", "--help"],
    f'nlpseq sentiment "{TEXT}"': [sys.executable, "-m", "nlpseq.cli", "sentiment", TEXT],
    "pipeline(...) to first answer (in-process)": [sys.executable, "-c", FIRST_ANSWER],
}


def timed(cmd: list[str], path: Path) -> float | None:
    """Wall seconds of one process run with ``path`` first on PYTHONPATH; None when it fails. The
    in-process row reports its own clock (the time from the call, not the interpreter's start)."""
    env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        return None
    for line in res.stdout.splitlines():
        if line.startswith("first-answer "):
            return float(line.split()[1])
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="a commit to time beside the current code (e.g. HEAD~5)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "startup.json"))
    args = ap.parse_args()

    from nlpseq.machine import describe, machine_facts

    facts = machine_facts(threads=None, seconds=1.0)
    trees = {"now": ROOT}
    scratch = None
    if args.before:
        scratch = tempfile.mkdtemp(prefix="nlpseq_before_")
        subprocess.run(["git", "worktree", "add", "--detach", scratch, args.before], cwd=ROOT, check=True,
                       capture_output=True)
        trees = {"before": Path(scratch), "now": ROOT}
    try:
        times: dict[str, dict[str, list[float]]] = {row: {k: [] for k in trees} for row in ROWS}
        failed: dict[str, set[str]] = {row: set() for row in ROWS}
        for _ in range(args.repeat):
            for row, cmd in ROWS.items():
                for key, path in trees.items():  # alternating: both columns share the machine's moods
                    if key in failed[row]:
                        continue
                    t = timed(cmd, path)
                    if t is None:
                        failed[row].add(key)
                    else:
                        times[row][key].append(t)
    finally:
        if scratch:
            subprocess.run(["git", "worktree", "remove", "--force", scratch], cwd=ROOT, capture_output=True)
    result = {"machine": facts, "repeat": args.repeat, "before": args.before, "rows": {}}
    print(f"machine: {describe(facts)}")
    head = f"{'command':48} " + " ".join(f"{k + ' (s)':>12}" for k in trees)
    print(head)
    print("-" * len(head))
    for row in ROWS:
        cells, entry = [], {}
        for key in trees:
            got = times[row][key] if key not in failed[row] else []
            median = statistics.median(got) if got else None
            entry[key] = {"median_s": median, "runs_s": got}
            cells.append(f"{median:12.3f}" if median is not None else f"{'-':>12}")
        result["rows"][row] = entry
        print(f"{row:48} " + " ".join(cells))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    sys.exit(main())
