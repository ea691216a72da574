"""Kill points for fault tests: with ``NLPSEQ_KILL_AT=NAME:STEP`` in the environment, the process
SIGKILLs itself the first time it reaches point NAME at optimizer step STEP.

The points sit where a real kill does the most harm: between a forward and its optimizer step, and
at each stage of a checkpoint write. Without the variable a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "NLPSEQ_KILL_AT"
POINTS = ("step.backward", "step.optimizer", "checkpoint.weights", "checkpoint.state", "checkpoint.renamed")


def kill_point(name: str, step: int) -> None:
    """SIGKILL this process if ``NLPSEQ_KILL_AT`` names this point and step (read at every call, so a
    forked process can set it after import)."""
    target = os.environ.get(ENV)
    if target is not None and target == f"{name}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)
