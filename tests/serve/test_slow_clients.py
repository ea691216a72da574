"""Clients that hold connections without sending: a body that trickles in is cut off, and the
connections served at once are capped."""

import os
import signal
import socket
import time
from urllib.parse import urlparse

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from .live import serve  # noqa: E402


@pytest.fixture(scope="module")
def service(tiny_run):
    proc, url = serve(tiny_run, "--body-timeout", "1", "--max-connections", "4")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def _connect(url: str) -> socket.socket:
    where = urlparse(url)
    return socket.create_connection((where.hostname, where.port), timeout=10)


def test_a_body_trickling_in_is_cut_off_with_408(service):
    sock = _connect(service)
    sock.sendall(b"POST /v1/films HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 200\r\n\r\n{")
    t0, answer = time.time(), b""
    sock.settimeout(0.25)
    while time.time() - t0 < 8 and not answer:
        try:
            sock.sendall(b" ")  # one byte at a time, never the whole body
        except OSError:
            break
        try:
            answer = sock.recv(4096)
        except socket.timeout:
            continue
    waited = time.time() - t0
    # The head and the body of the answer may come in separate segments: read on until the
    # service closes the connection, as its "connection: close" says it will.
    sock.settimeout(2)
    while answer:
        try:
            more = sock.recv(4096)
        except socket.timeout:
            break
        if not more:
            break
        answer += more
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"body_timeout_s" in answer and waited < 5, (answer[:300], waited)
    assert httpx.post(f"{service}/v1/films", json={"text": "a fine film"}, timeout=10).status_code == 200


def test_connections_past_max_connections_get_503_and_service_recovers(service):
    idle = [_connect(service) for _ in range(4)]  # connected, sending nothing
    try:
        time.sleep(0.3)
        res = httpx.post(f"{service}/v1/films", json={"text": "a fine film"}, timeout=10)
        assert res.status_code == 503
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    assert httpx.post(f"{service}/v1/films", json={"text": "a fine film"}, timeout=10).status_code == 200
