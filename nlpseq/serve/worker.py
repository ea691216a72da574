"""A served model in a process of its own.

The model's Python work (tokenizing, batching, building answers) then never competes with
the event loop for the service's GIL, and the two use both CPU cores. Requests and answers
cross a pipe between the service and the child it started; model files are still read only
from the run directory, by the child, through the safetensors loader.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from typing import Any

from ..errors import InputError, NlpseqError
from .loading import load_in_process

log = logging.getLogger(__name__)


class ModelProcessError(NlpseqError):
    """The model process is gone or failed for a reason that is not the request's fault."""


def _serve(conn, name: str, run_dir: str, threads: int | None, parser: str | None, pipeline: str | None,
           precision: str | None) -> None:
    # A service stopped by its process group's SIGTERM (systemd, container runtimes) or a terminal's
    # Ctrl-C drains its in-flight requests first; the model they wait for is stopped by the service
    # afterwards (close), not by the signal meant for the group.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        served = load_in_process(name, run_dir, threads, parser, pipeline, precision)
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
    """Calls ``answer(items, **options)`` of a model loaded in a child process.

    A child that dies (killed, out of memory) is started again when the next request comes, up to
    ``max_restarts`` times: the request it was computing gets 503, later ones are answered. Past the
    limit every request gets 503 naming it, since a model that keeps dying needs a person.
    """

    def __init__(self, name: str, run_dir: str | os.PathLike, threads: int | None = None,
                 start_timeout: float = 300.0, parser: str | os.PathLike | None = None,
                 pipeline: str | None = None, max_restarts: int = 3, precision: str | None = None) -> None:
        self._args = (name, str(run_dir), threads, None if parser is None else str(parser), pipeline, precision)
        self.start_timeout, self.max_restarts, self.restarts = start_timeout, max_restarts, 0
        self._lock = threading.Lock()
        self.meta: dict[str, Any] = self._start()

    def _start(self) -> dict[str, Any]:
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch or event-loop state
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, *self._args), daemon=True, name=f"nlpseq-{self._args[0]}")
        self._proc.start()
        child.close()
        run_dir = self._args[1]
        if not self._conn.poll(self.start_timeout):
            self.close()
            raise ModelProcessError(f"{run_dir}: the model process did not start within {self.start_timeout:g} s")
        try:
            status, payload = self._conn.recv()
        except EOFError:
            raise ModelProcessError(f"{run_dir}: the model process exited while loading") from None
        if status == "error":
            self.close()
            raise NlpseqError(payload)
        return payload

    def _revive(self) -> None:
        if self.restarts >= self.max_restarts:
            raise ModelProcessError(f"the model process has exited {self.restarts + 1} times; it is not started "
                                    f"again (max_restarts {self.max_restarts})")
        self.restarts += 1
        log.warning("model process %s exited; starting it again (restart %d of %d)", self._args[0], self.restarts,
                    self.max_restarts)
        self._start()

    def __call__(self, items: list[Any], **options: Any) -> list[Any]:
        with self._lock:
            if not self._proc.is_alive():
                self._revive()
            try:
                self._conn.send((items, options))
                status, payload = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                more = "it is started again for the next request" if self.restarts < self.max_restarts else \
                    f"it is not started again (max_restarts {self.max_restarts})"
                raise ModelProcessError(f"the model process has exited; {more}") from None
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
