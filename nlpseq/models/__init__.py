"""Model families; importing this package registers every model."""

from . import classifier, recursive  # noqa: F401
