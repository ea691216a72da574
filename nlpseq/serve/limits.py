"""Service limits, and the middleware that refuses request bodies over the size limit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, fields
from typing import Any, Awaitable, Callable

from ..errors import NlpseqError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _limit(default: Any, flag: str, help: str) -> Any:
    """A field of :class:`Limits` with the ``serve`` flag that sets it and that flag's help."""
    return field(default=default, metadata={"flag": flag, "help": help})


@dataclass
class Limits:
    """What one request may ask, and how requests are batched; every field is a ``serve`` option."""

    max_texts: int = _limit(64, "--max-texts", "texts per request")
    max_chars: int = _limit(2000, "--max-chars", "characters per text")
    # A model's work grows with the characters it reads (a tree's nodes, a sentence's pieces): this
    # bounds one request's work, so it cannot hold the model past other clients' timeouts.
    max_request_chars: int = _limit(32_000, "--max-request-chars", "characters across the texts of one request")
    max_body_bytes: int = _limit(1 << 20, "--max-body-bytes", "request body size in bytes")
    # A client that trickles its body holds a connection for nothing: it gets 408 after this long.
    body_timeout_s: float = _limit(5.0, "--body-timeout", "seconds a request body may take to arrive")
    max_connections: int = _limit(512, "--max-connections",
                                  "connections served at once; a request on one more gets 503")
    max_beam: int = _limit(10, "--max-beam", "largest beam a request may ask")
    timeout_s: float = _limit(10.0, "--timeout", "seconds before a request gets 503")
    # Texts per model call, across requests. On the BiLSTM a text costs 12% more at 16 than at 32, but
    # with 32 clients two half-size batches alternate: one computes while the HTTP layer answers the
    # other and reads its next requests, where one full batch leaves the model idle meanwhile.
    max_batch: int = _limit(16, "--max-batch", "texts per model call across requests")
    max_wait_ms: float = _limit(2.0, "--max-wait-ms", "wait for a batch to fill, in ms")
    # Requests waiting for or in a model call, per model; one more gets 429 at once. Beyond what the
    # model answers within a client's patience, waiting only adds latency: 64 requests are about four
    # full batches, tens of milliseconds on the sample models.
    max_queue: int = _limit(64, "--max-queue", "requests waiting per model; one more gets 429 with Retry-After at once")
    shutdown_grace_s: float = _limit(10.0, "--shutdown-grace", "seconds SIGTERM leaves in-flight requests to finish")
    max_restarts: int = _limit(3, "--max-restarts", "restarts of a model process that dies")
    batching: bool = True  # False: one model call per request (the benchmark's baseline; serve --no-batching)

    def __post_init__(self) -> None:
        for f in fields(self):
            if not f.metadata:
                continue
            value, may_be_zero = getattr(self, f.name), f.name in ("max_restarts", "max_wait_ms")
            if not (value >= 0 if may_be_zero else value > 0):
                raise NlpseqError(f"{f.metadata['flag']} {value}: must be {'0 or more' if may_be_zero else 'above 0'}")


class BodySizeLimit:
    """ASGI middleware: the body of a request is read here whole, then handed on. 413 for a body over
    ``max_bytes`` (by its Content-Length or as it streams in); 408 for one that has not arrived
    ``timeout_s`` after the request began, so a client trickling bytes cannot hold a connection."""

    def __init__(self, app: Callable, max_bytes: int, timeout_s: float = 5.0) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        messages, seen = [], 0
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.0))
            except asyncio.TimeoutError:
                await send_error(send, 408, f"the request body did not arrive within {self.timeout_s:g} s "
                                 "(body_timeout_s)", "body_timeout_s", [(b"connection", b"close")])
                return
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replay_receive() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replay_receive, send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, f"request body over the limit of {self.max_bytes} bytes (max_body_bytes)",
                         "max_body_bytes")


async def send_error(send: Send, status: int, message: str, limit: str, headers: list | None = None) -> None:
    """Answer ``{"error": message, "limit": limit}`` with ``status`` straight from ASGI, before any routing."""
    body = json.dumps({"error": message, "limit": limit}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class QueueGate:
    """ASGI middleware: 429 for ``POST /v1/<name>`` while that model's queue is full, before the body is
    read, routed or validated. Under overload refusals must cost next to nothing, or answering them
    takes the CPU the model needs and goodput collapses."""

    def __init__(self, app: Callable, queues: dict[str, Any]) -> None:
        self.app, self.queues = app, queues

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith("/v1/"):
            queue = self.queues.get(scope["path"][4:])
            if queue is not None and queue.max_queue is not None and queue.pending >= queue.max_queue:
                queue.refused += 1
                await send_error(send, 429, f"the {scope['path'][4:]} model is busy: {queue.pending} requests are "
                                 "waiting for it (max_queue); retry after a second", "max_queue",
                                 [(b"retry-after", b"1")])
                return
        await self.app(scope, receive, send)
