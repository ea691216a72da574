"""``nlpseq serve``: the HTTP service over the pipelines (needs the ``serve`` extra).

Names load on first use, so ``nlpseq.serve.limits`` (which the CLI reads for its defaults)
imports without FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "load_served", "Limits", "ServedModel"]


def __getattr__(name: str) -> Any:
    if name == "Limits":
        from .limits import Limits

        return Limits
    if name in ("create_app", "load_served", "ServedModel"):  # ServedModel lives in .loading; app re-exports it
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'nlpseq.serve' has no attribute '{name}'")
