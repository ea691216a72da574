"""Kill and hang points for fault tests.

``NLPSEQ_KILL_AT=NAME:STEP[:RANK]`` makes the process SIGKILL itself the first time it reaches point
NAME at optimizer step STEP (on distributed rank RANK only, when given); ``NLPSEQ_HANG_AT`` in the
same form makes it sleep there instead, as a stuck process would. Both act on a job's first attempt
only: workers that ``torchrun --max-restarts`` starts again (``TORCHELASTIC_RESTART_COUNT`` > 0) run
through, as a real fault does not repeat on cue.

The points sit where a real kill does the most harm: between a forward and its optimizer step, at
each stage of a checkpoint write, part-way through each file a run writes (``*.partial``: the file is
cut to half its bytes first, as a kill in the middle of writing leaves it), and during a dev
evaluation. Without the variables a point costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time

ENV, HANG_ENV = "NLPSEQ_KILL_AT", "NLPSEQ_HANG_AT"
POINTS = ("step.backward", "step.optimizer", "checkpoint.weights.partial", "checkpoint.weights",
          "checkpoint.state.partial", "checkpoint.state", "checkpoint.renamed", "evaluate", "selected.partial",
          "info.partial")
# The points a run passes at dev evaluations (every one: evaluate; when it keeps new weights or writes
# run.json: the others), not at every step or checkpoint.
EVALUATION_POINTS = ("evaluate", "selected.partial", "info.partial")


def _matches(target: str | None, name: str, step: int) -> bool:
    if target is None or os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") != "0":
        return False
    parts = target.split(":")
    return (len(parts) in (2, 3) and parts[0] == name and parts[1] == str(step)
            and (len(parts) == 2 or parts[2] == os.environ.get("RANK", "0")))


def kill_point(name: str, step: int) -> None:
    """SIGKILL (or hang) this process if ``NLPSEQ_KILL_AT`` (``NLPSEQ_HANG_AT``) names this point and
    step; read at every call, so a forked process can set it after import."""
    if _matches(os.environ.get(ENV), name, step):
        os.kill(os.getpid(), signal.SIGKILL)
    if _matches(os.environ.get(HANG_ENV), name, step):
        while True:
            time.sleep(60)


def kill_part_way(name: str, step: int, path: str | os.PathLike) -> None:
    """At point ``name`` and ``step`` (as :func:`kill_point`): cut the file being written at ``path`` to
    half its bytes, make that reach the disk, and SIGKILL this process, as a kill in the middle of
    writing it would leave things."""
    if _matches(os.environ.get(ENV), name, step):
        size = os.path.getsize(path)
        with open(path, "r+b") as fh:
            fh.truncate(size // 2)
            fh.flush()
            os.fsync(fh.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
