"""Training memory against corpus size: synthetic parallel corpora of growing size, 200 steps each.

Usage: python benchmarks/corpus_memory.py [--sizes-gb 0.25,0.5,1] [--steps 200] [--keep] [--json OUT.json]

For each size the benchmark writes a German-English-shaped parallel corpus of that many bytes (both
sides together; pseudo-words, 4-18 per sentence, the target a fixed rewrite of the source), trains
the bundled translator recipe on it for ``--steps`` steps in a child process, and reads that child's
peak memory: the anonymous part, sampled from /proc, and the whole resident set, which also counts
pages of the memory-mapped Arrow cache that the kernel reclaims under pressure. Corpora and the encoded cache live in a temporary
folder that is deleted afterwards (``--keep`` leaves it). The text is streamed into SentencePiece
(a sample) and into a memory-mapped Arrow file, and the batches are built a pool of examples at a
time from lengths read out of that file (``train.bucket_pool``), so peak anonymous memory should
not grow with the corpus; the table shows its growth per million pairs beyond the smallest corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_corpus(prefix: Path, size_bytes: int, seed: int = 1) -> int:
    """``prefix.de`` and ``prefix.en`` together of about ``size_bytes``; returns the number of pairs."""
    rng = random.Random(seed)
    syllables = ["ka", "ro", "mi", "te", "lu", "ban", "sor", "ei", "ung", "ter", "ach", "ol", "in", "ge", "schen"]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(6000)})
    pool = []
    for _ in range(50_000):  # a pool of pairs, written over and over in shifting order
        src = [rng.choice(words) for _ in range(rng.randint(4, 18))]
        tgt = [w[::-1] for w in reversed(src)]
        pool.append((" ".join(src) + ".\n", " ".join(tgt) + ".\n"))
    written = pairs = 0
    with open(f"{prefix}.de", "w", encoding="utf-8") as de, open(f"{prefix}.en", "w", encoding="utf-8") as en:
        while written < size_bytes:
            offset = rng.randrange(len(pool))
            block_de = "".join(p[0] for p in pool[offset:] + pool[:offset])
            block_en = "".join(p[1] for p in pool[offset:] + pool[:offset])
            de.write(block_de)
            en.write(block_en)
            written += len(block_de) + len(block_en)
            pairs += len(pool)
    return pairs


def _rss_kib(pid: int) -> tuple[int, int]:
    """(anonymous, file-backed) resident KiB of ``pid`` now; (0, 0) once it is gone."""
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status", encoding="ascii"))
    except OSError:
        return 0, 0
    return int(fields.get("RssAnon", "0 kB").split()[0]), int(fields.get("RssFile", "0 kB").split()[0])


def train_peak_rss(prefix: Path, out: Path, steps: int, cache: Path) -> dict:
    """Peak memory of training ``steps`` steps on the corpus at ``prefix``: the peak resident set
    (``wait4``), and the peak of its anonymous part, sampled every 0.1 s. The difference is pages of
    memory-mapped files (the Arrow cache, read through), which the kernel reclaims under pressure."""
    cmd = [sys.executable, "-m", "nlpseq.cli", "train", "recipes/translation/tiny_de_en.yaml", "--out", str(out),
           "--set", f"data.train={prefix}", "--set", f"train.max_steps={steps}", "--set", "train.eval_every=null",
           "--set", "train.epochs=1", "--set", "train.threads=1", "--set", "train.tensorboard=false",
           "--set", "train.measure_machine=false", "--set", "text.input_sentence_size=200000",
           "--set", "train.progress=false"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "NLPSEQ_CACHE": str(cache)},
                            stdout=subprocess.DEVNULL, stderr=open(out.with_suffix(".log"), "wb"))
    anon = file_backed = 0
    while proc.poll() is None:
        a, f = _rss_kib(proc.pid)
        anon, file_backed = max(anon, a), max(file_backed, f)
        time.sleep(0.1)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # children so far: the largest is the newest run
    if proc.returncode != 0:
        raise SystemExit(f"training failed: {out.with_suffix('.log').read_text()[-1500:]}")
    return {"peak_rss_mib": usage.ru_maxrss / 1024, "peak_anon_mib": anon / 1024, "peak_file_mib": file_backed / 1024,
            "train_seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes-gb", default="0.25,0.5,1")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="leave the corpora and caches in place")
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "corpus_memory.json"))
    args = ap.parse_args()
    from nlpseq.machine import describe, machine_facts

    tmp = Path(tempfile.mkdtemp(prefix="nlpseq-corpus-"))
    rows = []
    try:
        for size in [float(s) for s in args.sizes_gb.split(",")]:
            folder = tmp / f"{size:g}gb"
            folder.mkdir()
            t0 = time.perf_counter()
            pairs = write_corpus(folder / "train", int(size * 2**30))
            written = time.perf_counter() - t0
            on_disk = sum(f.stat().st_size for f in folder.glob("train.*"))
            row = {"corpus_gb": on_disk / 2**30, "pairs": pairs, "write_seconds": written,
                   **train_peak_rss(folder / "train", folder / "run", args.steps, folder / "cache")}
            encoded = (folder / "cache" / "datasets").glob("*.arrow")
            row["encoded_cache_gb"] = sum(f.stat().st_size for f in encoded) / 2**30
            rows.append(row)
            print(f"{on_disk / 2**30:6.2f} GB  {pairs:>11,} pairs  peak anonymous {row['peak_anon_mib']:6.0f} MiB  "
                  f"peak file-backed {row['peak_file_mib']:6.0f} MiB  encoded cache {row['encoded_cache_gb']:5.1f} GB  "
                  f"(peak RSS, wait4: {row['peak_rss_mib']:.0f} MiB; "
                  f"{row['train_seconds']:.0f} s to prepare and train {args.steps} steps)", flush=True)
            if not args.keep:
                shutil.rmtree(folder)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    first, last = rows[0], rows[-1]
    per_million = (last["peak_anon_mib"] - first["peak_anon_mib"]) / max((last["pairs"] - first["pairs"]) / 1e6, 1e-9)
    growth = (last["peak_anon_mib"] - first["peak_anon_mib"]) / max(last["corpus_gb"] - first["corpus_gb"], 1e-9) / 1024
    print(f"peak anonymous memory grows {per_million:.1f} MiB per million pairs beyond the smallest corpus: "
          f"{100 * growth:.1f}% of the corpus's own growth in size")
    out = {"steps": args.steps, "rows": rows, "mib_per_million_pairs": per_million, "growth_share": growth,
           "machine": machine_facts()}
    print(describe(out["machine"]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
