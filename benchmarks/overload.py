"""The overload storm of ``serve_load.py --overload``: open-loop arrivals at a multiple of the measured
capacity, a /healthz probe throughout, and the recovery afterwards.

Open loop: requests are launched on a fixed schedule whether or not earlier ones were answered (as
independent users arrive), each on an idle kept-alive connection or a new one, so the service, not
the client, decides what waits and what is refused. An arrival that finds every connection waiting is
counted as unsent. The client runs at the lowest CPU priority (``os.nice``), standing in for clients
on other machines: on one small machine it would otherwise take the cores the service is measured on.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque

from serve_load import _exchange, _request, percentile


async def _probe(port: int, stop: float, every: float = 0.1) -> list[float]:
    """/healthz latencies, one probe every ``every`` seconds on a connection of its own."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    out = []
    try:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            await _exchange(reader, writer, request)
            out.append(time.perf_counter() - t0)
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - t0)))
    finally:
        writer.close()
    return out


async def storm(port: int, texts: list[str], rate: float, seconds: float, max_connections: int = 512) -> dict:
    """Launch ``rate`` requests/s for ``seconds``; returns statuses, latencies and the /healthz probe."""
    requests = [_request(port, t) for t in texts]
    idle: deque = deque()
    opened = 0
    answered: list[float] = []  # latency of each 200
    refused: list[float] = []  # latency of each 429/503
    statuses: dict[int, int] = {}
    unsent = 0  # launches the client could not make (every connection busy)
    tasks = set()

    async def one(i: int, conn=None) -> None:
        nonlocal opened
        if conn is None:
            conn = await asyncio.open_connection("127.0.0.1", port)
        t0 = time.perf_counter()
        try:
            status = await _exchange(*conn, requests[i % len(requests)])
        except (ConnectionError, asyncio.IncompleteReadError):
            statuses[-1] = statuses.get(-1, 0) + 1
            opened -= 1
            return
        latency = time.perf_counter() - t0
        statuses[status] = statuses.get(status, 0) + 1
        (answered if status == 200 else refused if status in (429, 503) else []).append(latency)
        idle.append(conn)

    os.nice(19 - os.nice(0))
    start = time.perf_counter()
    stop = start + seconds
    probe = asyncio.create_task(_probe(port, stop))
    i = 0
    while (now := time.perf_counter()) < stop:
        due = int((now - start) * rate)
        while i < due:
            if idle or opened < max_connections:
                conn = idle.popleft() if idle else None
                opened += conn is None
                task = asyncio.create_task(one(i, conn))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:  # every connection is waiting for an answer: this arrival is lost on the client's side
                unsent += 1
            i += 1
        await asyncio.sleep(0.002)
    healthz = await probe
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for reader_writer in idle:
        reader_writer[1].close()
    return {"launched": i, "unsent": unsent, "statuses": statuses, "elapsed": elapsed,
            "answered_per_s": len(answered) / elapsed, "offered_per_s": (i - unsent) / elapsed,
            "refused_share": len(refused) / max(i - unsent, 1),
            "refused_fast_share": sum(1 for x in refused if x < 0.1) / max(len(refused), 1),
            "p99_answered_ms": percentile(answered, 99) * 1000, "p50_answered_ms": percentile(answered, 50) * 1000,
            "healthz_p99_ms": percentile(healthz, 99) * 1000, "healthz_max_ms": max(healthz) * 1000 if healthz else None,
            "status_5xx_other": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
            "connection_errors": statuses.get(-1, 0)}


async def recovery(port: int, texts: list[str], clients: int, seconds: float, capacity: float) -> dict:
    """Closed-loop load right after the storm, per second: how soon throughput is back to 90% of capacity."""
    requests = [_request(port, t) for t in texts]
    done: list[float] = []
    start = time.perf_counter()

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        try:
            while time.perf_counter() < start + seconds:
                if await _exchange(reader, writer, requests[i % len(requests)]) == 200:
                    done.append(time.perf_counter() - start)
                i += clients
        finally:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    per_second = [sum(1 for t in done if s <= t < s + 1) for s in range(int(seconds))]
    back = next((s + 1 for s, n in enumerate(per_second) if n >= 0.9 * capacity), None)
    return {"per_second": per_second, "seconds_to_90pct": back}
