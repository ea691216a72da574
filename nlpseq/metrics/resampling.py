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
from typing import Any, Iterator, Literal, Sequence

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


SCORE_RANGE = (0.0, 100.0)  # every resampled metric (accuracies, F1, BLEU, chrF) is a percentage


def seed_summary(values: Sequence[float], level: float = 0.95,
                 bounds: tuple[float, float] | None = SCORE_RANGE) -> dict[str, Any]:
    """Mean, sample standard deviation and the t-interval of the mean over seeds.

    One seed says nothing about the spread between seeds: its ``sd`` and interval are None (printed
    as n/a), not a zero-width interval that would read as certainty. The interval is clipped to the
    metric's ``bounds`` (``clipped`` says so): with two seeds the t quantile is 12.7, and an accuracy's
    interval would otherwise run past 100.
    """
    from scipy import stats

    x = np.asarray(values, float)
    n = len(x)
    mean = float(x.mean())
    out: dict[str, Any] = {"mean": mean, "sd": None, "ci_low": None, "ci_high": None, "n": n,
                           "min": float(x.min()), "max": float(x.max()), "clipped": False}
    if n < 2:
        return out
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n))
    low, high = mean - half, mean + half
    if bounds is not None:
        out["clipped"] = low < bounds[0] or high > bounds[1]
        low, high = max(low, bounds[0]), min(high, bounds[1])
    out.update(sd=sd, ci_low=low, ci_high=high)
    return out


def welch_test(base: Sequence[float], other: Sequence[float]) -> dict[str, float | None]:
    """Welch's t-test of ``other`` against ``base`` over their per-seed scores (two-sided).

    Each seed is one observation, so the spread between seeds counts: p says how often two
    configurations that do not differ would, retrained with other seeds, differ this much. (The
    paired bootstrap over items holds the trained models fixed and counts only the evaluation set's
    noise.) Returns ``delta`` (other - base), ``t``, the Welch-Satterthwaite ``df`` and ``p``; all but
    ``delta`` are None with fewer than two seeds on a side or no spread on either.
    """
    from scipy import stats

    a, b = np.asarray(base, float), np.asarray(other, float)
    delta = float(b.mean() - a.mean())
    out: dict[str, float | None] = {"delta": delta, "t": None, "df": None, "p": None}
    if len(a) < 2 or len(b) < 2:
        return out
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return out
    t = delta / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    out.update(t=float(t), df=float(df), p=float(2 * stats.t.sf(abs(t), df)))
    return out


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None entries are left out and stay None):
    the smallest is multiplied by m, the next by m - 1, ..., each kept at least as large as the one
    before and at most 1. It controls the chance of any false positive in the family."""
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[i] = running
    return adjusted


def spread(summary: dict[str, Any]) -> tuple[str, str]:
    """(``± sd``, ``[low, high]``) of a :func:`seed_summary` as printed, ``n/a`` where one seed gives
    none, and a mark where the interval was clipped to the metric's range."""
    if summary["sd"] is None:
        return "± n/a", "n/a (one seed)"
    mark = " (clipped)" if summary.get("clipped") else ""
    return f"± {summary['sd']:.2f}", f"[{summary['ci_low']:.2f}, {summary['ci_high']:.2f}]{mark}"
