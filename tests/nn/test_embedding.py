import pytest
import torch

from nlpseq.nn import TokenEmbedding


def _embedding(word_dropout: float = 0.0) -> TokenEmbedding:
    torch.manual_seed(0)
    return TokenEmbedding(8, 4, word_dropout=word_dropout, subword_buckets=10)


def test_subword_vectors_are_added_as_the_mean_of_the_word_ngrams():
    emb = _embedding().eval()
    ids = torch.tensor([[5, 0]])
    ngrams = torch.tensor([[[2, 7, 0], [0, 0, 0]]])
    out = emb(ids, ngrams)
    table = emb.ngram_layer.weight
    expected = emb.weight[5] + (table[2] + table[7]) / 2  # padding bucket 0 left out of the mean
    assert torch.allclose(out[0, 0], expected)
    assert out[0, 1].eq(0).all()  # a padding position stays zero


def test_word_dropout_keeps_the_ngrams_of_a_dropped_word():
    emb = _embedding(word_dropout=1.0).train()
    out = emb(torch.tensor([[5]]), torch.tensor([[[3, 0]]]))
    assert torch.allclose(out[0, 0], emb.weight[1] + emb.ngram_layer.weight[3])  # <unk> + the n-gram


def test_missing_or_misshapen_ngrams_are_refused():
    emb = _embedding()
    with pytest.raises(ValueError, match="n-gram ids"):
        emb(torch.tensor([[5]]))
    with pytest.raises(ValueError, match="do not fit"):
        emb(torch.tensor([[5, 6]]), torch.tensor([[[3]]]))
