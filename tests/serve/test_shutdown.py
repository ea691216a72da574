"""``nlpseq serve`` under SIGTERM: it stops accepting, finishes the requests in flight and exits 0."""

import os
import signal
import subprocess
import threading
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from .live import right_branching, serve  # noqa: E402


def _in_flight(url: str, count: int) -> list:
    """Start ``count`` slow requests and return once the service holds all of them; results fill the list."""
    body = {"texts": [right_branching(499)] * 64}  # a second or more of the tree model's time
    results: list = []

    def client() -> None:
        try:
            results.append(httpx.post(f"{url}/v1/films", json=body, timeout=60).status_code)
        except httpx.HTTPError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=client) for _ in range(count)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    # Held by the service: waiting for or in a model call, or already answered.
    while httpx.get(f"{url}/healthz", timeout=5).json()["models"]["films"]["waiting"] + len(results) < count:
        assert time.time() < deadline, "the requests never reached the service"
        time.sleep(0.05)
    results.append(threads)
    return results


def _finish(proc: subprocess.Popen, results: list) -> tuple[int, list]:
    for t in results.pop():
        t.join(90)
    try:
        return proc.wait(60), results
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_to_the_process_group_drains_every_request_in_flight_and_exits_0(rntn_run):
    # The model process gets the group's signal too: it must keep computing until the service has drained.
    proc, url = serve(rntn_run, "--shutdown-grace", "60")
    results = _in_flight(url, 4)
    os.killpg(proc.pid, signal.SIGTERM)
    code, results = _finish(proc, results)
    assert code == 0, proc.stderr.read()[-800:]
    assert results == [200] * 4, results  # every request connected before the signal is answered
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)


def test_shutdown_grace_cuts_off_requests_that_take_longer(rntn_run):
    proc, url = serve(rntn_run, "--shutdown-grace", "0.5")
    results = _in_flight(url, 4)  # a second or more each, one at a time: most cannot finish within the grace
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGTERM)
    code, results = _finish(proc, results)
    assert time.time() - t0 < 20
    assert code == 0, proc.stderr.read()[-800:]
    assert any(r != 200 for r in results), results  # cut off at the grace, not drained
