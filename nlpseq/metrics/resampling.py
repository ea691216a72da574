"""Confidence intervals and paired significance tests by bootstrap resampling over evaluation items.

Every metric is carried as per-item sufficient statistics (one row per sentence or tree) plus the
rule that turns their sum into a score: accuracies are ``100 * correct / counted``, BLEU and chrF
come from sacrebleu's own sentence statistics and score function. A resample draws items with
replacement, sums their rows and scores the sum, so corpus-level metrics (BLEU) and ratios over
unequal items (phrase accuracy over trees of different sizes) are resampled correctly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Literal, Sequence

import numpy as np

Kind = Literal["ratio", "bleu", "chrf"]
KINDS: tuple[str, ...] = ("ratio", "bleu", "chrf")


@lru_cache(maxsize=None)
def _sacrebleu_metric(kind: str):
    from sacrebleu.metrics import BLEU, CHRF

    return BLEU() if kind == "bleu" else CHRF()


@dataclass
class ItemStats:
    """Per-item sufficient statistics of one metric: ``stats`` is (items, k)."""

    kind: Kind
    stats: np.ndarray

    def score(self, summed: np.ndarray) -> float:
        """The metric of summed statistics (one row)."""
        if self.kind == "ratio":
            return 100.0 * float(summed[0]) / float(summed[1]) if summed[1] else 0.0
        return float(_sacrebleu_metric(self.kind)._compute_score_from_stats(list(summed)).score)

    def scores(self, weights: np.ndarray) -> np.ndarray:
        """The metric under each row of ``weights`` (resamples x items: how often each item is drawn)."""
        summed = weights @ self.stats
        if self.kind == "ratio":
            return np.where(summed[:, 1] > 0, 100.0 * summed[:, 0] / np.maximum(summed[:, 1], 1e-300), 0.0)
        return np.array([self.score(row) for row in summed])

    @property
    def value(self) -> float:
        return self.score(self.stats.sum(0))

    @classmethod
    def ratio(cls, correct: Sequence[float], counted: Sequence[float]) -> "ItemStats":
        """An accuracy: per item, how many units were right and how many were counted."""
        return cls("ratio", np.stack([np.asarray(correct, float), np.asarray(counted, float)], 1))

    @classmethod
    def sacrebleu(cls, kind: Kind, hypotheses: Sequence[str], references: Sequence[str]) -> "ItemStats":
        """BLEU or chrF sentence statistics from sacrebleu, against one reference each."""
        metric = _sacrebleu_metric(kind)
        return cls(kind, np.asarray(metric._extract_corpus_statistics(list(hypotheses), [list(references)]), float))


def iter_resample_weights(items: int, resamples: int, seed: int = 12345, chunk: int = 1000) -> Iterator[np.ndarray]:
    """:func:`resample_weights` in blocks of at most ``chunk`` rows, so that memory stays bounded (the
    same draws: one generator produces them row after row)."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        yield rng.multinomial(items, np.full(items, 1.0 / items), size=size).astype(float)


def resample_weights(items: int, resamples: int, seed: int = 12345) -> np.ndarray:
    """(resamples, items) counts of how often each item is drawn; the same seed gives the same
    resamples, so every system scored with them is paired item by item."""
    return np.concatenate(list(iter_resample_weights(items, resamples, seed)))


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def bootstrap_interval(item: ItemStats, resamples: int = 1000, level: float = 0.95, seed: int = 12345
                       ) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of one system's metric over its items."""
    scores = [item.scores(w) for w in iter_resample_weights(len(item.stats), resamples, seed)]
    return percentile_interval(np.concatenate(scores), level)


def mean_scores(runs: Sequence[ItemStats], weights: np.ndarray) -> np.ndarray:
    """Per resample, the mean over ``runs`` (seeds of one configuration) of their metric."""
    return np.mean([r.scores(weights) for r in runs], axis=0)


def paired_bootstrap(base: Sequence[ItemStats], other: Sequence[ItemStats], weights: np.ndarray
                     ) -> dict[str, float]:
    """Paired bootstrap test (Koehn 2004; Berg-Kirkpatrick et al. 2012) of ``other`` against ``base``.

    Each side is one or more runs (seeds) scored on the same items; a configuration's score is the
    mean over its runs. The observed difference is compared with the resampled differences centred
    on their mean (the null distribution): ``p = (1 + #{|d_b - mean(d)| >= |d|}) / (1 + B)``,
    two-sided. Two identical systems give p = 1; the ``>=`` is what makes that so (sacrebleu counts
    ``>`` and gives a system against itself p = 1 / (B + 1)).

    Returns: ``delta`` (other - base), its percentile interval, and ``p``.
    """
    if {len(r.stats) for r in (*base, *other)} != {weights.shape[1]}:
        raise ValueError("paired bootstrap: every run must be scored on the same items")
    observed = float(np.mean([r.value for r in other]) - np.mean([r.value for r in base]))
    diffs = mean_scores(other, weights) - mean_scores(base, weights)
    centred = np.abs(diffs - diffs.mean())
    p = (1 + int(np.sum(centred >= abs(observed) - 1e-9))) / (1 + len(diffs))
    lo, hi = percentile_interval(diffs)
    return {"delta": observed, "delta_low": lo, "delta_high": hi, "p": p}


def seed_summary(values: Sequence[float], level: float = 0.95) -> dict[str, float | None]:
    """Mean, sample standard deviation and the t-interval of the mean over seeds.

    One seed says nothing about the spread between seeds: its ``sd`` and interval are None (printed
    as n/a), not a zero-width interval that would read as certainty.
    """
    from scipy import stats

    x = np.asarray(values, float)
    n = len(x)
    mean = float(x.mean())
    if n < 2:
        return {"mean": mean, "sd": None, "ci_low": None, "ci_high": None, "n": n,
                "min": float(x.min()), "max": float(x.max())}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n))
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n,
            "min": float(x.min()), "max": float(x.max())}


def spread(summary: dict[str, float | None]) -> tuple[str, str]:
    """(``± sd``, ``[low, high]``) of a :func:`seed_summary` as printed, ``n/a`` where one seed gives none."""
    if summary["sd"] is None:
        return "± n/a", "n/a (one seed)"
    return f"± {summary['sd']:.2f}", f"[{summary['ci_low']:.2f}, {summary['ci_high']:.2f}]"
