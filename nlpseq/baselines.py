"""Non-neural baselines reported beside the models by the same evaluation."""

from __future__ import annotations

from typing import Sequence

import torch

from .errors import DataError


def vader_probabilities(texts: Sequence[str], num_labels: int) -> torch.Tensor:
    """One-hot 'probabilities' from nltk's VADER compound score, mapped onto 5 or 2 labels.

    Five labels split the compound score in [-1, 1] at -0.6, -0.2, 0.2 and 0.6; two labels at 0.
    Two-label output keeps negative mass first, like the models' label order.
    """
    from nltk.sentiment import SentimentIntensityAnalyzer

    from .data.corpora import add_nltk_paths

    add_nltk_paths()
    try:
        sia = SentimentIntensityAnalyzer()
    except LookupError:
        raise DataError("nltk's vader_lexicon is not installed: set NLTK_DATA or NLPSEQ_DATA, "
                        "or run: python -m nltk.downloader vader_lexicon") from None
    cuts = [-0.6, -0.2, 0.2, 0.6] if num_labels == 5 else [0.0]
    out = torch.zeros(len(texts), num_labels)
    for i, t in enumerate(texts):
        c = sia.polarity_scores(t)["compound"]
        out[i, sum(c >= x for x in cuts)] = 1.0
    return out


BASELINES = {"vader": vader_probabilities}
