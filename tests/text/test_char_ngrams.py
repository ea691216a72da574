import zlib

import pytest
import torch

from nlpseq.text.char_ngrams import CharNgrams


def _bucket(gram: str, buckets: int) -> int:
    return zlib.crc32(gram.encode("utf-8")) % buckets + 1


def test_word_ngrams_are_crc32_buckets_of_the_marked_word():
    grams = ["<wa", "war", "arm", "rm>", "<war", "warm", "arm>", "<warm", "warm>"]
    assert CharNgrams(1000).word("warm") == sorted({_bucket(g, 1000) for g in grams})


def test_related_words_share_ngrams_and_short_words_get_one():
    ng = CharNgrams(100_000)
    shared = set(ng.word("warm")) & set(ng.word("warmly"))
    assert {_bucket("<warm", 100_000), _bucket("warm", 100_000)} <= shared
    assert ng.word("a") == [_bucket("<a>", 100_000)]


def test_batch_pads_tokens_and_sequences_with_zero():
    ng = CharNgrams(50)
    out = ng.batch([["warm", "warmly"], ["a"]])
    width = len(ng.word("warmly"))
    assert out.shape == (2, 2, width) and out.dtype == torch.long
    assert out[0, 1].tolist() == ng.word("warmly")
    assert out[1, 0, 0].item() == ng.word("a")[0] and out[1, 0, 1:].eq(0).all() and out[1, 1].eq(0).all()
    assert out.max().item() <= 50


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="buckets"):
        CharNgrams(0)


def test_the_word_cache_is_bounded():
    ng = CharNgrams(100)
    ng.cache_size = 3
    first = ng.word("alpha")
    for w in ("beta", "gamma", "delta", "epsilon"):
        ng.word(w)
    assert len(ng._cache) <= 3 and ng.word("alpha") == first
