"""Model families; importing this package registers every model."""

from . import classifier, forecaster, lm, parser, recursive, seq2seq  # noqa: F401
