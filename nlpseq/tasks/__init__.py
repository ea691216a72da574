"""Tasks; importing this package registers every task and model."""

from .. import models  # noqa: F401
from . import sentiment, tree_sentiment  # noqa: F401
