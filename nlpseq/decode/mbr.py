"""Minimum Bayes risk (MBR) choice among a sentence's candidate translations.

Beam search ranks its endings by model score alone. MBR (Kumar & Byrne 2004; for neural models
Eikema & Aziz 2020, Freitag et al. 2022) picks instead the candidate that agrees most, in chrF,
with the others, each weighted by the model's probability of it: the consensus translation, which
an evaluation by chrF rewards. The candidates are the beam's own endings, so it costs no search.

chrF is sacrebleu's (its default settings, those of ``nlpseq evaluate``). Its n-grams are taken
once per candidate instead of once per pair, through sacrebleu's own extraction and matching
routines, which ``tests/decode/test_mbr.py`` checks against ``CHRF.sentence_score``.
"""

from __future__ import annotations

import math
from typing import Sequence


def pairwise_chrf(candidates: Sequence[str]) -> list[list[float]]:
    """``u[i][j]`` = sentence chrF of candidate i scored against candidate j as the reference."""
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    grams = chrf._extract_reference_info(list(candidates))["ref_ngrams"]
    out = []
    for hyp in grams:
        row = []
        for ref in grams:
            stats: list[int] = []
            for h, r in zip(hyp, ref):
                stats.extend(chrf._get_match_statistics(h, r))
            row.append(chrf._compute_f_score(stats))
        out.append(row)
    return out


def mbr_rank(candidates: Sequence[str], scores: Sequence[float], temperature: float) -> list[tuple[int, float]]:
    """Candidates from the highest expected chrF to the lowest, as (index, expected chrF) pairs.

    The expectation weights candidate j by softmax(scores / temperature)_j: a small temperature
    trusts the model's ranking (towards plain beam search), a large one counts every candidate
    alike. Ties keep the model's order.

    Raises:
        ValueError: ``scores`` does not match ``candidates``, or ``temperature`` is not positive.
    """
    if len(scores) != len(candidates):
        raise ValueError(f"{len(candidates)} candidates but {len(scores)} scores")
    if not temperature > 0:
        raise ValueError(f"MBR temperature must be > 0, got {temperature}")
    if len(candidates) <= 1:
        return [(i, 100.0) for i in range(len(candidates))]
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    utility = pairwise_chrf(candidates)
    expected = [sum(w * u for w, u in zip(weights, row)) / total for row in utility]
    return sorted(enumerate(expected), key=lambda p: (-p[1], -scores[p[0]]))
