"""Bootstrap intervals, paired tests and seed summaries against values computed by hand."""

import numpy as np
import pytest

from nlpseq.metrics.resampling import (ItemStats, bootstrap_interval, paired_bootstrap, percentile_interval,
                                       holm, resample_weights, seed_summary, spread, welch_test)


def test_a_resample_scores_the_sum_of_its_items_statistics():
    item = ItemStats.ratio([1, 0, 3], [1, 1, 4])  # e.g. phrase accuracy over trees of 1, 1 and 4 nodes
    assert item.value == pytest.approx(100 * 4 / 6)
    weights = np.array([[2, 0, 1], [0, 3, 0], [1, 1, 1]], float)  # items drawn twice, three times, ...
    assert item.scores(weights).tolist() == pytest.approx([100 * 5 / 6, 0.0, 100 * 4 / 6])


def test_resamples_draw_each_item_set_size_times_and_repeat_with_the_seed():
    w = resample_weights(7, 50, seed=3)
    assert w.shape == (50, 7) and (w.sum(1) == 7).all()
    assert np.array_equal(w, resample_weights(7, 50, seed=3))
    assert not np.array_equal(w, resample_weights(7, 50, seed=4))


def test_percentile_interval_by_hand():
    assert percentile_interval(np.arange(101.0)) == pytest.approx((2.5, 97.5))


def test_bootstrap_interval_of_a_constant_and_of_a_coin():
    assert bootstrap_interval(ItemStats.ratio([1] * 40, [1] * 40), 200) == (100.0, 100.0)
    # 1,000 items half right: the normal approximation gives 50 +- 1.96 * sqrt(0.25 / 1000) * 100 = 50 +- 3.10.
    lo, hi = bootstrap_interval(ItemStats.ratio([1, 0] * 500, [1] * 1000), 2000)
    assert lo == pytest.approx(46.90, abs=0.5) and hi == pytest.approx(53.10, abs=0.5)


def test_paired_bootstrap_gives_p_1_for_identical_configurations():
    rng = np.random.default_rng(0)
    runs = [ItemStats.ratio(rng.integers(0, 2, 300), np.ones(300)) for _ in range(3)]
    result = paired_bootstrap(runs, [ItemStats(r.kind, r.stats.copy()) for r in runs], resample_weights(300, 500))
    assert result["p"] == 1.0 and result["delta"] == 0.0


def test_paired_bootstrap_finds_a_planted_difference():
    rng = np.random.default_rng(1)
    base = [ItemStats.ratio((rng.random(400) < 0.6).astype(float), np.ones(400)) for _ in range(3)]
    better = [ItemStats.ratio((rng.random(400) < 0.8).astype(float), np.ones(400)) for _ in range(3)]
    result = paired_bootstrap(base, better, resample_weights(400, 1000))
    assert result["p"] < 0.01 and 15 < result["delta"] < 25 and result["delta_low"] > 0


def test_paired_bootstrap_on_a_small_difference_is_not_significant():
    rng = np.random.default_rng(2)
    right = (rng.random(300) < 0.7).astype(float)
    flipped = right.copy()
    flipped[:2] = 1 - flipped[:2]  # two items of 300 differ
    result = paired_bootstrap([ItemStats.ratio(right, np.ones(300))], [ItemStats.ratio(flipped, np.ones(300))],
                              resample_weights(300, 1000))
    assert result["p"] > 0.05  # two items of 300 are no evidence (a sign test: p = 0.5)


def test_paired_bootstrap_refuses_runs_on_other_items():
    with pytest.raises(ValueError, match="same items"):
        paired_bootstrap([ItemStats.ratio([1, 0], [1, 1])], [ItemStats.ratio([1], [1])], resample_weights(2, 10))


def test_bleu_and_chrf_items_reproduce_sacrebleus_corpus_scores():
    from sacrebleu.metrics import BLEU, CHRF

    hyps = ["a dog runs in the park .", "two men are talking", "a cat sleeps"]
    refs = ["a dog is running in the park .", "two men are talking .", "the cat is sleeping"]
    for kind, metric in (("bleu", BLEU()), ("chrf", CHRF())):
        item = ItemStats.sacrebleu(kind, hyps, refs)
        assert item.stats.shape[0] == 3
        assert item.value == pytest.approx(metric.corpus_score(hyps, [refs]).score)
        # a resample that draws the first sentence three times is the corpus of those three copies
        assert item.scores(np.array([[3.0, 0.0, 0.0]]))[0] == pytest.approx(metric.corpus_score(hyps[:1] * 3, [refs[:1] * 3]).score)


def test_seed_summary_by_hand():
    s = seed_summary([1.0, 2.0, 3.0], bounds=None)
    # mean 2, sd 1, t(0.975, 2 df) = 4.3027: half width 4.3027 / sqrt(3) = 2.4841
    assert (s["mean"], s["sd"], s["n"]) == (2.0, 1.0, 3)
    assert s["ci_low"] == pytest.approx(2 - 2.4841, abs=1e-4) and s["ci_high"] == pytest.approx(2 + 2.4841, abs=1e-4)
    one = seed_summary([5.0])  # one seed: no spread to report, not a zero-width interval
    assert one["sd"] is None and one["ci_low"] is None and spread(one) == ("± n/a", "n/a (one seed)")


def test_welch_test_by_hand_and_against_scipy():
    from scipy import stats

    # base 1,2,3 and other 4,5,6: delta 3, each mean's variance 1/3, t = 3 / sqrt(2/3) = 3.6742, df = 4.
    result = welch_test([1, 2, 3], [4, 5, 6])
    assert result["delta"] == 3.0 and result["t"] == pytest.approx(3.674235, abs=1e-6)
    assert result["df"] == pytest.approx(4.0) and result["p"] == pytest.approx(0.021311641, abs=1e-6)
    rng = np.random.default_rng(5)
    for _ in range(20):
        a, b = rng.normal(70, 2, rng.integers(2, 8)), rng.normal(71, 4, rng.integers(2, 8))
        assert welch_test(a, b)["p"] == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue, rel=1e-9)
    assert welch_test([70.0], [71.0, 72.0])["p"] is None  # one seed: no spread to test against
    assert welch_test([70.0, 70.0], [71.0, 71.0])["p"] is None


def test_the_headline_test_counts_seed_variance_where_the_item_bootstrap_does_not():
    from nlpseq.experiments.plan import Configuration
    from nlpseq.experiments.report import summarize
    from nlpseq.experiments.runner import RunResult

    rng = np.random.default_rng(7)

    def run(name: str, seed: int, accuracy: float) -> RunResult:
        right = (rng.random(1000) < accuracy).astype(float)  # one trained model: its own ability
        return RunResult(Configuration((name,)), seed, None, {}, {"accuracy": ItemStats.ratio(right, np.ones(1000))})

    # Seeds spread the configurations' scores by 10 points; their means differ by 5: no evidence.
    runs = [run("a", s, acc) for s, acc in enumerate((0.60, 0.70, 0.80))]
    runs += [run("b", s, acc) for s, acc in enumerate((0.65, 0.75, 0.85))]
    vs = summarize(runs, resamples=500)["configurations"][1]["metrics"]["accuracy"]["vs_first"]
    assert vs["p"] > 0.3  # the headline: over seeds
    assert vs["p_items"] < 0.01  # seeds fixed: the item bootstrap alone would call it significant


def test_holm_by_hand_and_against_statsmodels():
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = list(np.random.default_rng(3).random(12) ** 3)
    assert holm(p) == pytest.approx(list(multitest.multipletests(p, method="holm")[1]))


def test_two_seed_intervals_stay_within_the_metrics_range():
    s = seed_summary([99.0, 100.0])  # t quantile 12.7: the raw interval runs to 106
    assert s["ci_high"] == 100.0 and s["ci_low"] >= 0 and s["clipped"]
    assert spread(s)[1].endswith("(clipped)")
