"""The evalb-style scorer against hand-computed cases (COLLINS.prm conventions)."""

from nltk import Tree

from nlpseq.metrics.parseval import BracketScore, brackets, score_trees

GOLD = Tree.fromstring("(S (NP (DT The) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat))) (. .))")


def test_brackets_skip_preterminals_root_and_punctuation():
    tree = Tree.fromstring("(TOP (S (NP (NNP John)) (VP (VBD ran)) (. .)))")
    keep = [True, True, False]
    # TOP is not counted, tags are not; S spans the two kept words only.
    assert brackets(tree, keep) == {("S", 0, 2): 1, ("NP", 0, 1): 1, ("VP", 1, 2): 1}


def test_perfect_parse():
    r = score_trees([GOLD], [GOLD.copy(deep=True)])
    assert r["labeled_f1"] == 100.0 and r["unlabeled_f1"] == 100.0 and r["exact_match"] == 100.0


def test_hand_computed_partial_match():
    # Gold: S(0,4) NP(0,2) VP(2,4) NP(3,4)... over The dog saw a cat: S(0,5) NP(0,2) VP(2,5) NP(3,5).
    test = Tree.fromstring("(S (NP (DT The) (NN dog) (VBD saw)) (NP (DT a) (NN cat)) (. .))")
    # Test brackets: S(0,5) NP(0,3) NP(3,5): 2 of 3 match; gold has 4.
    r = score_trees([GOLD], [test])
    assert abs(r["labeled_precision"] - 200 / 3) < 1e-9
    assert r["labeled_recall"] == 50.0
    assert abs(r["labeled_f1"] - 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5) * 100) < 1e-9
    assert r["exact_match"] == 0.0


def test_unlabelled_ignores_labels_and_prt_equals_advp():
    test = Tree.fromstring("(S (X (DT The) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat))) (. .))")
    r = score_trees([GOLD], [test])
    assert r["unlabeled_f1"] == 100.0 and r["labeled_f1"] == 75.0
    gold = Tree.fromstring("(S (NP (PRP He)) (VP (VBD gave) (PRT (RP up))))")
    test = Tree.fromstring("(S (NP (PRP He)) (VP (VBD gave) (ADVP (RP up))))")
    assert score_trees([gold], [test])["labeled_f1"] == 100.0


def test_punctuation_is_deleted_by_the_gold_tags():
    # Attaching the period differently changes nothing: the period is gone before spans are counted.
    test = Tree.fromstring("(S (NP (DT The) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat)) (. .)))")
    assert score_trees([GOLD], [test])["labeled_f1"] == 100.0


def test_brackets_are_a_multiset():
    gold = Tree.fromstring("(S (NP (NP (NNP John))) (VP (VBD ran)))")
    test = Tree.fromstring("(S (NP (NNP John)) (VP (VBD ran)))")
    s = BracketScore()
    s.add(gold, test)
    assert (s.gold, s.test, s.matched) == (4, 3, 3)


def test_tagging_accuracy_and_word_mismatch():
    test = Tree.fromstring("(S (NP (DT The) (VB dog)) (VP (VBD saw) (NP (DT a) (NN cat))) (. .))")
    assert score_trees([GOLD], [test])["tag_accuracy"] == 80.0
    other = Tree.fromstring("(S (NP (DT A) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat))) (. .))")
    try:
        score_trees([GOLD], [other])
    except ValueError as exc:
        assert "different words" in str(exc)
    else:
        raise AssertionError("mismatched words were scored")
