"""Service limits, and the middleware that refuses request bodies over the size limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class Limits:
    """What one request may ask, and how requests are batched; every field is a ``serve`` option."""

    max_texts: int = 64  # texts per request
    max_chars: int = 2000  # characters per text
    max_body_bytes: int = 1 << 20  # request body
    max_beam: int = 10  # translation beam size
    timeout_s: float = 10.0  # a request waiting longer for the model gets 503
    # Texts per model call, across requests. On the BiLSTM a text costs 12% more at 16 than at 32, but
    # with 32 clients two half-size batches alternate: one computes while the HTTP layer answers the
    # other and reads its next requests, where one full batch leaves the model idle meanwhile.
    max_batch: int = 16
    max_wait_ms: float = 2.0  # how long a request waits for others to join its batch
    # Requests waiting for or in a model call, per model; one more gets 429 at once. Beyond what the
    # model answers within a client's patience, waiting only adds latency: 64 requests are about four
    # full batches, tens of milliseconds on the sample models.
    max_queue: int = 64
    shutdown_grace_s: float = 10.0  # on SIGTERM: stop accepting, finish in-flight requests for this long
    max_restarts: int = 3  # a model process that dies is restarted this many times, then answers 503
    batching: bool = True  # False: one model call per request (the benchmark's baseline)


class BodySizeLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, by its Content-Length or as it streams in."""

    def __init__(self, app: Callable, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        if declared is None:
            # A streamed (chunked) body: read it here, within the limit, and hand the app a replay.
            messages, seen = [], 0
            while True:
                message = await receive()
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
            return
        await self.app(scope, receive, send)

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
