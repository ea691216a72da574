"""``nlpseq serve``: the HTTP service over the pipelines (needs the ``serve`` extra)."""

from .app import ServedModel, create_app, load_served
from .limits import Limits

__all__ = ["create_app", "load_served", "Limits", "ServedModel"]
