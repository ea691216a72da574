import os

import pytest

from nlpseq.data.sentiment import read_package, read_sst, read_tsv

needs_data = pytest.mark.skipif(not os.environ.get("NLPSEQ_DATA"), reason="needs the real corpora")


def test_sst_binary_drops_neutral_and_phrases_multiply(sst_dev):
    roots = read_sst(sst_dev, "fine", phrases=False)
    binary = read_sst(sst_dev, "binary", phrases=False)
    phrases = read_sst(sst_dev, "fine", phrases=True)
    assert len(roots.labels) == len(roots.texts) > 0
    assert len(binary.labels) == sum(1 for g in roots.fine_gold if g != 2)
    assert set(binary.labels) == {0, 1}
    assert len(phrases.labels) > 3 * len(roots.labels)  # every tree adds its distinct phrases
    assert len(set(map(tuple, phrases.tokens))) <= len(phrases.tokens)


@needs_data
def test_polarity_split_is_fixed_and_disjoint():
    train = read_package("sentence-polarity", "train", 0.1, seed=1)
    dev = read_package("sentence-polarity", "dev", 0.1, seed=1)
    assert len(train.labels) + len(dev.labels) == 10662
    assert len(dev.labels) == 1066
    assert len(set(dev.texts) & set(train.texts)) < 10  # only the corpus's own duplicate sentences
    assert read_package("sentence-polarity", "dev", 0.1, seed=1).texts == dev.texts
    assert read_package("sentence-polarity", "dev", 0.1, seed=2).texts != dev.texts


@needs_data
def test_movie_reviews_are_documents():
    dev = read_package("movie-reviews", "dev", 0.1, seed=1)
    assert len(dev.labels) == 200 and set(dev.labels) == {0, 1}
    assert sum(len(t.split()) for t in dev.texts) / 200 > 300  # long sequences


def test_tsv_labels(tmp_path):
    f = tmp_path / "d.tsv"
    f.write_text("pos\tgreat fun\nneg\tawful\n\n")
    data, names = read_tsv(f, None)
    assert names == ["neg", "pos"] and data.labels == [1, 0]
    from nlpseq.errors import DataError

    f.write_text("pos great fun\n")
    with pytest.raises(DataError, match=r"d.tsv:1: expected 'label<TAB>text'"):
        read_tsv(f, None)
