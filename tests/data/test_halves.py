"""Split-half evaluation sets: fixed, disjoint, covering, and named in data references."""

import pytest

from nlpseq.data.halves import half_indices, split_half_ref, take_half
from nlpseq.errors import DataError


def test_halves_are_disjoint_cover_the_set_and_keep_file_order():
    items = list(range(1101))
    a, b = take_half(items, "A"), take_half(items, "B")
    assert len(a) == 551 and len(b) == 550
    assert sorted(a + b) == items and not set(a) & set(b)
    assert a == sorted(a) and b == sorted(b)
    assert a != items[:551]  # a seeded permutation, not the first half of the file
    assert take_half(items, "A") == a and take_half(items, None) == items


def test_half_references():
    assert split_half_ref("sst:dev@B") == ("sst:dev", "B")
    assert split_half_ref("sst:dev@a") == ("sst:dev", "A")
    assert split_half_ref("data/x.txt") == ("data/x.txt", None)
    assert split_half_ref("/home/me@host/dev.txt") == ("/home/me@host/dev.txt", None)
    with pytest.raises(DataError, match="@A or @B"):
        split_half_ref("sst:dev@C")


def test_labelled_halves_share_the_label_mix():
    labels = ["a"] * 101 + ["b"] * 40 + ["c"] * 9
    items = list(range(len(labels)))
    a, b = take_half(items, "A", labels), take_half(items, "B", labels)
    assert sorted(a + b) == items and not set(a) & set(b) and abs(len(a) - len(b)) <= 1
    for label, n in (("a", 101), ("b", 40), ("c", 9)):
        in_a = sum(labels[i] == label for i in a)
        assert in_a in (n // 2, (n + 1) // 2)  # each label split as evenly as it can be


def test_sst_halves_are_stratified_by_root_label(sst_dev):
    from collections import Counter

    from nlpseq.data.trees import read_sentiment_trees

    trees = read_sentiment_trees(sst_dev)
    labels = [t.label() for t in trees]
    a = Counter(t.label() for t in take_half(trees, "A", labels))
    b = Counter(t.label() for t in take_half(trees, "B", labels))
    assert all(abs(a[k] - b[k]) <= 1 for k in set(labels))


def test_the_halves_are_pinned():
    # Every figure reported on a half depends on which items it holds: these indices must never move
    # (with a numpy release, say). If this fails, the halves changed, and every half-B figure with them.
    assert half_indices(20, "A") == [0, 1, 4, 6, 7, 9, 10, 11, 15, 18]
    assert half_indices(12, "B", [i % 3 for i in range(12)]) == [0, 1, 2, 5, 6, 7]
    a = half_indices(1101, "A")  # SST dev's size
    assert len(a) == 551 and a[:15] == [1, 3, 4, 5, 6, 7, 10, 14, 16, 17, 20, 23, 24, 25, 27]
