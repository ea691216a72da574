"""Tasks; importing this package registers every task and model."""

from .. import models  # noqa: F401
from . import forecast, language_model, parsing, sentiment, translation, tree_sentiment  # noqa: F401
