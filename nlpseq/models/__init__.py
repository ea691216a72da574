"""Model families; importing this package registers every model."""

from . import classifier  # noqa: F401
