"""Word vectors trained here: reproducible from the seed, cached, read back by the embedding layer."""

import random

import pytest

from nlpseq.errors import DataError
from nlpseq.nn import load_word_vectors
from nlpseq.text import Vocab
from nlpseq.text.word2vec import resolve_vectors


@pytest.fixture()
def corpus(tmp_path):
    # Two kinds of words that never share a sentence: word2vec must pull each kind together.
    rng = random.Random(0)
    good, bad = ["great", "superb", "moving", "charming"], ["dull", "tedious", "flat", "lifeless"]
    lines = []
    for _ in range(600):
        kind = good if rng.random() < 0.5 else bad
        lines.append(" ".join(rng.choice(kind) for _ in range(6)))
    path = tmp_path / "text.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_vectors_are_reproducible_cached_and_loadable(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("NLPSEQ_CACHE", str(tmp_path / "cache"))
    first = resolve_vectors(f"word2vec:{corpus}", 16, seed=3)
    text = open(first, encoding="utf-8").read()
    assert text.splitlines()[0] == "8 16"
    assert resolve_vectors(f"word2vec:{corpus}", 16, seed=3) == first  # cached
    monkeypatch.setenv("NLPSEQ_CACHE", str(tmp_path / "other"))
    again = resolve_vectors(f"word2vec:{corpus}", 16, seed=3)
    assert again != first and open(again, encoding="utf-8").read() == text  # trained anew, same vectors

    vocab = Vocab.build([["great", "dull", "superb", "unseen"]])
    weights, found = load_word_vectors(first, vocab, 16)
    assert found == 3
    cos = lambda a, b: float(a @ b / (a.norm() * b.norm()))  # noqa: E731
    great, superb, dull = (weights[vocab.stoi[w]] for w in ("great", "superb", "dull"))
    assert cos(great, superb) > cos(great, dull)


def test_a_plain_path_passes_through_and_bad_sources_are_named(tmp_path):
    assert resolve_vectors("glove.txt", 50, seed=1) == "glove.txt"
    with pytest.raises(DataError, match="word2vec source 'nowhere.txt' is neither movie-reviews nor a text file"):
        resolve_vectors("word2vec:nowhere.txt", 50, seed=1)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no text"):
        resolve_vectors(f"word2vec:{empty}", 50, seed=1)
