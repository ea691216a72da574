"""``nlpseq serve`` under SIGTERM: it stops accepting, finishes the requests in flight and exits 0."""

import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from ..conftest import ROOT  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_drains_in_flight_requests_and_exits_0(tiny_run):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nlpseq.cli", "serve", "--model", f"films={tiny_run}",
                             "--port", str(port), "--threads", "1", "--shutdown-grace", "20"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = {"texts": ["a remarkably long and thoughtful film about very little " * 30] * 64}
        results: list = []

        def client() -> None:
            try:
                results.append(httpx.post(f"{url}/v1/films", json=body, timeout=30).status_code)
            except httpx.HTTPError as exc:  # connecting after the shutdown began is refused, not answered 5xx
                results.append(type(exc).__name__)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.3)  # the first requests are being computed
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(60)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read()[-800:]
    assert 200 in results, results  # requests in flight at the signal were answered
    assert not [r for r in results if isinstance(r, int) and r >= 500], results
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)
