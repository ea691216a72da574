"""A real ``nlpseq serve`` process on a free local port, for the tests that need sockets and signals."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from ..conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(run, *flags: str) -> tuple[subprocess.Popen, str]:
    """``nlpseq serve`` in a process group of its own, as systemd or a container runtime starts it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nlpseq.cli", "serve", "--model", f"films={run}",
                             "--port", str(port), "--threads", "1", "--max-chars", "10000", "--max-request-chars", "1000000",
                             *flags],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(proc.stderr.read()[-800:])


def right_branching(depth: int) -> str:
    """A valid SST tree ``depth`` levels deep with ``2 * depth - 1`` nodes: the most work a tree model's
    ``data.max_nodes`` lets one text cause."""
    tree = f"(2 w{depth})"
    for i in range(depth - 1, 0, -1):
        tree = f"(2 (2 w{i}) {tree})"
    return tree


