"""Gathers concurrent requests into micro-batches, computed on one model thread beside the event loop."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


@dataclass
class _Job:
    items: list[Any]
    options: dict[str, Any]
    future: asyncio.Future = field(repr=False)
    loop: asyncio.AbstractEventLoop = field(repr=False)

    @property
    def key(self) -> Hashable:
        return tuple(sorted(self.options.items()))


class QueueFull(Exception):
    """More requests are waiting than the queue holds: the caller should answer 429 at once."""


def _resolve(future: asyncio.Future, ok: bool, value: Any) -> None:
    if not future.done():  # the caller may have timed out meanwhile
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class MicroBatcher:
    """Runs ``fn(items, **options)`` over the items of many requests at once.

    The model runs on a thread of its own that takes requests straight from a queue, so it
    never waits for the event loop to hand it work, and the event loop keeps parsing and
    answering requests while the model computes. The requests that arrive during one model
    call form the next batch, so batches grow with the load; a request waits at most
    ``max_wait_ms`` more for others to join it. A batch holds at most ``max_batch`` items (a
    single larger request still runs whole); requests with different options (a beam size,
    say) never share a batch.

    With ``batching=False`` every request is one model call: the baseline of the load benchmark.
    """

    def __init__(self, fn: Callable[..., list[Any]], max_batch: int = 16, max_wait_ms: float = 2.0,
                 batching: bool = True, max_queue: int | None = None) -> None:
        self.fn, self.max_batch, self.max_wait, self.batching = fn, max_batch, max_wait_ms / 1000, batching
        self.max_queue = max_queue
        self.pending = 0  # requests submitted and not yet answered (or given up by their caller)
        self.refused = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._held: deque[_Job] = deque()  # taken from the queue, but with other options than that batch
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.items = 0

    async def submit(self, items: list[Any], **options: Any) -> list[Any]:
        """The answers for ``items``, computed in some batch; raises what ``fn`` raised for them.

        Raises:
            QueueFull: ``max_queue`` requests are already waiting; nothing was queued.
        """
        loop = asyncio.get_running_loop()
        if self.max_queue is not None and self.pending >= self.max_queue:
            self.refused += 1
            raise QueueFull(f"{self.pending} requests are waiting for this model (max_queue)")
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="nlpseq-model", daemon=True)
                self._thread.start()
        job = _Job(list(items), options, loop.create_future(), loop)
        self.pending += 1  # only the event loop's thread counts, so no lock is needed
        job.future.add_done_callback(self._done)
        self._queue.put(job)
        return await job.future

    def _done(self, future: asyncio.Future) -> None:
        self.pending -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Stop the model thread once the batch it is computing is done."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _serve(self) -> None:
        while True:
            batch = self._gather()
            if batch is None:
                return
            batch = [j for j in batch if not j.future.done()]  # callers that timed out are gone
            if batch:
                for job, (ok, value) in zip(batch, self._run(batch)):
                    job.loop.call_soon_threadsafe(_resolve, job.future, ok, value)

    def _gather(self) -> list[_Job] | None:
        first = self._held.popleft() if self._held else self._queue.get()
        if first is None:
            return None
        batch, size = [first], len(first.items)
        if not self.batching:
            return batch
        kept: deque[_Job] = deque()

        def take(job: _Job) -> bool:
            nonlocal size
            if job.key == first.key and size + len(job.items) <= self.max_batch:
                batch.append(job)
                size += len(job.items)
                return True
            kept.append(job)
            return False

        while self._held and size < self.max_batch:  # jobs already waiting go first
            take(self._held.popleft())
        deadline = time.monotonic() + self.max_wait
        while size < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this batch
                break
            if not take(job) and job.key == first.key:
                break
        kept.extend(self._held)
        self._held = kept
        return batch

    def _run(self, batch: list[_Job]) -> list[tuple[bool, Any]]:
        self.batches += 1
        self.items += sum(len(j.items) for j in batch)
        try:
            flat = self.fn([x for j in batch for x in j.items], **batch[0].options)
        except Exception as exc:
            if len(batch) == 1:
                return [(False, exc)]
            # One bad request must not fail its neighbours: answer each alone to find it.
            return [self._run([job])[0] for job in batch]
        out, i = [], 0
        for job in batch:
            out.append((True, flat[i : i + len(job.items)]))
            i += len(job.items)
        return out
