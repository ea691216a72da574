import pytest
from sacrebleu.metrics import CHRF

from nlpseq.decode import mbr_rank
from nlpseq.decode.mbr import pairwise_chrf

CANDIDATES = [
    "A dog runs through the snow.",
    "A dog is running in the snow.",
    "A dog running through snow.",
    "The cat sleeps on a red sofa.",
    "",
]


def test_pairwise_chrf_is_sacrebleus_sentence_chrf():
    chrf = CHRF()
    u = pairwise_chrf(CANDIDATES)
    for i, hyp in enumerate(CANDIDATES):
        for j, ref in enumerate(CANDIDATES):
            assert u[i][j] == pytest.approx(chrf.sentence_score(hyp, [ref]).score, abs=1e-9)
    assert u[0][0] == pytest.approx(100.0)
    u = pairwise_chrf(["A dog runs.", "A dog runs through the snow today."])
    assert u[1][0] > 2 * u[0][1]  # recall weighs more than precision: the short hypothesis loses more


def test_mbr_picks_the_consensus_over_the_best_scored_outlier():
    # The outlier scores highest, but the three dog sentences agree with each other.
    scores = [-1.2, -1.1, -1.3, -1.0, -5.0]
    ranked = mbr_rank(CANDIDATES, scores, temperature=10.0)
    assert ranked[0][0] in (0, 1, 2) and ranked[-1][0] == 4
    assert [e for _, e in ranked] == sorted((e for _, e in ranked), reverse=True)
    # A temperature near 0 puts all weight on the best-scored candidate: the model's choice comes back.
    assert mbr_rank(CANDIDATES, scores, temperature=1e-3)[0][0] == 3


def test_mbr_edge_cases_and_bad_values():
    assert mbr_rank(["only one"], [-2.0], 0.5) == [(0, 100.0)]
    assert mbr_rank([], [], 0.5) == []
    # Identical candidates tie: the model's order decides.
    assert [i for i, _ in mbr_rank(["same", "same"], [-2.0, -1.0], 1.0)] == [1, 0]
    with pytest.raises(ValueError, match="temperature"):
        mbr_rank(CANDIDATES, [0.0] * 5, 0.0)
    with pytest.raises(ValueError, match="scores"):
        mbr_rank(CANDIDATES, [0.0], 1.0)
