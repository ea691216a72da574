"""A served model in a process of its own.

The model's Python work (tokenizing, batching, building answers) then never competes with
the event loop for the service's GIL, and the two use both CPU cores. Requests and answers
cross a pipe between the service and the child it started; model files are still read only
from the run directory, by the child, through the safetensors loader.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Any

from ..errors import InputError, NlpseqError
from .loading import load_in_process


class ModelProcessError(NlpseqError):
    """The model process is gone or failed for a reason that is not the request's fault."""


def _serve(conn, name: str, run_dir: str, threads: int | None, parser: str | None, pipeline: str | None) -> None:
    try:
        served = load_in_process(name, run_dir, threads, parser, pipeline)
    except Exception as exc:  # reported to the parent as its start-up error
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", {"name": served.name, "task": served.task, "model": served.model,
                         "labels": served.labels, "info": served.info}))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        items, options = message
        try:
            conn.send(("ok", served.answer(items, **options)))
        except (NlpseqError, ValueError) as exc:
            conn.send(("input", str(exc)))
        except Exception as exc:
            conn.send(("internal", f"{type(exc).__name__}: {exc}"))


class ModelProcess:
    """Calls ``answer(items, **options)`` of a model loaded in a child process."""

    def __init__(self, name: str, run_dir: str | os.PathLike, threads: int | None = None,
                 start_timeout: float = 300.0, parser: str | os.PathLike | None = None,
                 pipeline: str | None = None) -> None:
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch or event-loop state
        self._conn, child = ctx.Pipe()
        parser_dir = None if parser is None else str(parser)
        self._proc = ctx.Process(target=_serve, args=(child, name, str(run_dir), threads, parser_dir, pipeline),
                                 daemon=True, name=f"nlpseq-{name}")
        self._proc.start()
        child.close()
        self._lock = threading.Lock()
        if not self._conn.poll(start_timeout):
            self.close()
            raise ModelProcessError(f"{run_dir}: the model process did not start within {start_timeout:g} s")
        try:
            status, payload = self._conn.recv()
        except EOFError:
            raise ModelProcessError(f"{run_dir}: the model process exited while loading") from None
        if status == "error":
            self.close()
            raise NlpseqError(payload)
        self.meta: dict[str, Any] = payload

    def __call__(self, items: list[Any], **options: Any) -> list[Any]:
        with self._lock:
            try:
                self._conn.send((items, options))
                status, payload = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                raise ModelProcessError("the model process has exited") from None
        if status == "ok":
            return payload
        if status == "input":
            raise InputError(payload)
        raise ModelProcessError(payload)

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
