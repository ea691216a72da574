"""Split-half evaluation sets: fixed, disjoint, covering, and named in data references."""

import pytest

from nlpseq.data.halves import split_half_ref, take_half
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
