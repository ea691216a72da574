"""Load test of ``nlpseq serve``: concurrent single-sentence requests, with and without micro-batching.

Usage: python benchmarks/serve_load.py RUN_DIR [--clients 32] [--seconds 15] [--rounds 2] [--threads N]
       [--max-batch K] [--json OUT.json]
       python benchmarks/serve_load.py RUN_DIR --overload [--factor 8] [--storm-seconds 30]

The service runs in its own process (``nlpseq serve``), this script is the second process: it keeps
``--clients`` connections busy, each sending one sentence per request and waiting for the answer,
for a bounded time. The two modes alternate ``--rounds`` times so that both see the same machine
load; the table gives each mode's requests/s and p50/p99 latency over all its rounds, and counts
5xx answers (the target is none).

``--overload`` measures the service's capacity at ``--clients`` for ``--seconds``, then drives
``--factor`` times that rate open-loop for ``--storm-seconds`` (see overload.py), then measures
how soon throughput returns: requests/s answered during the storm, the share refused (429/503) and
how fast, p99 of the answered, /healthz latency throughout, 5xx other than deliberate 503s, and
the seconds until a second of closed-loop load reaches 90% of the capacity again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment_pipeline import sentences  # noqa: E402

from nlpseq.machine import describe, machine_facts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(run: str, port: int, batching: bool, threads: int | None, max_batch: int | None,
                 precision: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "nlpseq.cli", "serve", "--sentiment", run, "--port", str(port)]
    cmd += [] if precision is None else ["--precision", precision]
    cmd += ([] if threads is None else ["--threads", str(threads)]) + ([] if batching else ["--no-batching"])
    cmd += [] if max_batch is None else ["--max-batch", str(max_batch)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not start within 120 s")


def _request(port: int, text: str) -> bytes:
    body = json.dumps({"text": text}).encode()
    head = (f"POST /v1/sentiment HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read its whole answer; returns the status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = next((int(v) for k, _, v in (ln.partition(b":") for ln in lines[1:])
                   if k.strip().lower() == b"content-length"), None)
    if length is None:
        raise SystemExit("the service answered without a Content-Length; this client reads only sized bodies")
    await reader.readexactly(length)
    return status


async def load(port: int, texts: list[str], clients: int, seconds: float) -> dict:
    """Keep ``clients`` connections busy for ``seconds``; each sends one sentence and awaits its answer.

    The requests are encoded before the clock starts and answers are read as bytes: the client
    shares the CPU with the service, and a full HTTP client library here spends more CPU per
    request than the service's own HTTP layer, which would measure the client, not the service.
    """
    requests = [_request(port, t) for t in texts]
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client(k: int, stop: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                status = await _exchange(reader, writer, requests[i % len(requests)])
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                i += clients
        finally:
            writer.close()

    # Warm-up at the measured concurrency: the first calls at each batch shape are slow (allocator,
    # kernel set-up), and a one-connection warm-up never forms the batches the run will see.
    await asyncio.gather(*(client(k, time.perf_counter() + 2.0) for k in range(clients)))
    latencies.clear()
    statuses.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(client(k, t0 + seconds) for k in range(clients)))
    elapsed = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": statuses, "elapsed": elapsed}


def _run_loop(coro):
    try:
        import uvloop  # installed with uvicorn[standard]; a cheaper event loop for the client too
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int,
                    help="torch threads in the service's model process (default: the service's)")
    ap.add_argument("--max-batch", type=int, help="texts per model call across requests (default: the service's)")
    ap.add_argument("--json", help="where to write the results (default: benchmarks/results/serve_load.json, "
                                   "or serve_overload.json)")
    ap.add_argument("--overload", action="store_true", help="the overload storm instead of the two modes")
    ap.add_argument("--precisions", help="compare these precisions (such as fp32,int8), micro-batching on, "
                                         "instead of batching against none")
    ap.add_argument("--factor", type=float, default=8.0, help="--overload: offered rate as a multiple of capacity")
    ap.add_argument("--storm-seconds", type=float, default=30.0)
    args = ap.parse_args()
    texts = sentences(2000)
    if args.overload:
        return overload(args, texts)
    if args.precisions:  # precision -> (batching, precision)
        modes = {f"micro-batching, {p}": (True, p) for p in args.precisions.split(",")}
    else:
        modes = {"micro-batching": (True, None), "one request, one forward": (False, None)}
    totals = {m: {"latencies": [], "statuses": {}, "elapsed": 0.0} for m in modes}
    for _ in range(args.rounds):
        for mode, (batching, precision) in modes.items():
            port = free_port()
            proc = start_server(args.run, port, batching, args.threads, args.max_batch, precision)
            try:
                res = _run_loop(load(port, texts, args.clients, args.seconds))
            finally:
                proc.terminate()
                proc.wait(30)
            t = totals[mode]
            t["latencies"] += res["latencies"]
            t["elapsed"] += res["elapsed"]
            for code, n in res["statuses"].items():
                t["statuses"][code] = t["statuses"].get(code, 0) + n
    rows = []
    for mode, t in totals.items():
        n = len(t["latencies"])
        rows.append({"mode": mode, "requests": n, "requests_per_s": n / t["elapsed"],
                     "p50_ms": percentile(t["latencies"], 50) * 1000, "p99_ms": percentile(t["latencies"], 99) * 1000,
                     "status_5xx": sum(v for k, v in t["statuses"].items() if k >= 500),
                     "status_other": sum(v for k, v in t["statuses"].items() if k != 200)})
    print(f"{args.clients} clients, {args.rounds} x {args.seconds:g} s per mode, "
          f"service threads={args.threads or 'default'}, max batch={args.max_batch or 'default'}, "
          f"cpus={os.cpu_count()}")
    print(f"{'mode':28} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'5xx':>5} {'non-200':>8}")
    for r in rows:
        print(f"{r['mode']:28} {r['requests']:9d} {r['requests_per_s']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['status_5xx']:5d} {r['status_other']:8d}")
    speedup = rows[0]["requests_per_s"] / max(rows[1]["requests_per_s"], 1e-9)
    print(f"throughput: {rows[0]['mode']} {speedup:.2f}x {rows[1]['mode']}")
    out = {"clients": args.clients, "seconds": args.seconds, "rounds": args.rounds, "threads": args.threads,
           "max_batch": args.max_batch,
           "run": str(args.run), "rows": rows, "speedup": speedup, "machine": machine_facts()}
    print(describe(out["machine"]))
    path = Path(args.json or ROOT / "benchmarks" / "results" / "serve_load.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")


def overload(args: argparse.Namespace, texts: list[str]) -> None:
    from overload import recovery, storm

    port = free_port()
    proc = start_server(args.run, port, True, args.threads, args.max_batch)
    try:
        base = _run_loop(load(port, texts, args.clients, args.seconds))
        capacity = len(base["latencies"]) / base["elapsed"]
        rate = args.factor * capacity
        hit = _run_loop(storm(port, texts, rate, args.storm_seconds))
        after = _run_loop(recovery(port, texts, args.clients, 8.0, capacity))
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"capacity at {args.clients} clients: {capacity:.0f} requests/s (p99 "
          f"{percentile(base['latencies'], 99) * 1000:.0f} ms); storm: {args.factor:g}x = {rate:.0f}/s offered for "
          f"{args.storm_seconds:g} s, open loop; cpus={os.cpu_count()} (client and service share them)")
    print(f"{'launched':>9} {'unsent':>7} {'sent/s':>7} {'answered/s':>10} {'refused':>8} {'fast(<100ms)':>12} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'healthz p99':>11} {'healthz max':>11} {'5xx other':>9} {'conn err':>8}")
    print(f"{hit['launched']:9d} {hit['unsent']:7d} {hit['offered_per_s']:7.0f} {hit['answered_per_s']:10.0f} "
          f"{100 * hit['refused_share']:7.1f}% {100 * hit['refused_fast_share']:11.1f}% {hit['p50_answered_ms']:7.0f} "
          f"{hit['p99_answered_ms']:7.0f} {hit['healthz_p99_ms']:9.0f}ms {hit['healthz_max_ms']:9.0f}ms "
          f"{hit['status_5xx_other']:9d} {hit['connection_errors']:8d}")
    print(f"after the storm, answered per second: {after['per_second']}; back to 90% of capacity after "
          f"{after['seconds_to_90pct']} s" if after["seconds_to_90pct"] else
          f"after the storm, answered per second: {after['per_second']}; not back to 90% within 8 s")
    out = {"capacity_per_s": capacity, "factor": args.factor, "storm": hit, "recovery": after,
           "clients": args.clients, "run": str(args.run), "machine": machine_facts()}
    print(describe(out["machine"]))
    path = Path(args.json or ROOT / "benchmarks" / "results" / "serve_overload.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
