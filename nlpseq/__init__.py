"""nlpseq: recurrent and recursive networks for translation, sentiment and parse trees."""

from .version import __version__


def pipeline(task, model=None, **kwargs):
    """Build an inference pipeline from a run folder or a shipped model; see :func:`nlpseq.api.pipeline`."""
    from .api import pipeline as _pipeline

    return _pipeline(task, model, **kwargs)


def load_run(path, task=None, device="cpu", precision=None):
    """Open a run directory; see :func:`nlpseq.api.load_run`."""
    from .api import load_run as _load_run

    return _load_run(path, task, device, precision)


__all__ = ["__version__", "pipeline", "load_run"]
