"""Tasks; importing this package registers every task and model."""

from .. import models  # noqa: F401
from . import sentiment  # noqa: F401
