"""BLEU and chrF through sacrebleu, on detokenized, cased text with its default 13a tokenization."""

from __future__ import annotations

from typing import Sequence


def bleu_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float | str]:
    """Corpus BLEU and chrF of ``hypotheses`` against one reference each, with sacrebleu's signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    bleu, chrf = BLEU(), CHRF()
    refs = [list(references)]
    b = bleu.corpus_score(list(hypotheses), refs)
    c = chrf.corpus_score(list(hypotheses), refs)
    return {"bleu": b.score, "chrf": c.score, "signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}
