import re

import pytest

from nlpseq.errors import RecipeError
from nlpseq.text import Vocab, get_tokenizer
from nlpseq.text.tokenizers import PTBTokenizer
from nlpseq.text.subword import SentencePieceTokenizer
from nlpseq.text.vocab import SPECIALS


def test_ptb_tokenizer_follows_treebank_conventions_and_round_trips():
    tok = get_tokenizer("ptb")
    tokens = tok.tokenize("The movie isn't (really) bad.")
    assert tokens == ["The", "movie", "is", "n't", "-LRB-", "really", "-RRB-", "bad", "."]
    assert tok.detokenize(tokens) == "The movie isn't (really) bad."


TRICKY = [
    'He said, "I can\'t." (Really?) -- yes [ok] {x} \'quoted\' don\'t, won\'t gonna cannot $3.88 3,36 euros...',
    "``x'' '' \"\" 'tis wanna gimme lemme d'ye more'n",
    "ÄÖü naïve café — “smart quotes” … 10:30, 1,000; a/b & c!? ¿qué?",
    "", "   ", "a", "((nested)) <tags> x--y -- z",
]


@pytest.mark.parametrize("text", TRICKY)
def test_ptb_tokenizer_equals_nltks_own(text):
    # The patterns run on the stdlib engine; the tokens must be exactly nltk's.
    from nltk.tokenize import TreebankWordTokenizer

    ours = PTBTokenizer()
    assert ours.tokenize(text) == TreebankWordTokenizer().tokenize(text, convert_parentheses=True)
    assert all(isinstance(rx, re.Pattern) for rx, _ in ours._tok.PUNCTUATION + ours._tok.ENDING_QUOTES)


def test_lowercase_and_whitespace_and_char():
    assert get_tokenizer("ptb", lowercase=True).tokenize("A Dog") == ["a", "dog"]
    assert get_tokenizer("whitespace").tokenize(" a  b\tc ") == ["a", "b", "c"]
    char = get_tokenizer("char")
    assert char.tokenize("ab c") == ["a", "b", " ", "c"]
    assert char.detokenize(char.tokenize("ab c")) == "ab c"


def test_unknown_tokenizer_suggests_closest():
    with pytest.raises(RecipeError, match="did you mean 'ptb'"):
        get_tokenizer("pbt")


def test_vocab_specials_frequency_cutoff_and_unknowns(tmp_path):
    v = Vocab.build([["a", "b", "a"], ["c", "a", "b"]], min_freq=2)
    assert v.itos[:4] == list(SPECIALS)
    assert v.itos[4:] == ["a", "b"]  # by frequency; c (once) is cut
    assert v.encode(["a", "c"], add_bos=True, add_eos=True) == [v.bos_id, 4, v.unk_id, v.eos_id]
    assert v.decode([v.bos_id, 4, 5, v.eos_id, 4]) == ["a", "b"]
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == v.itos


def test_vocab_is_deterministic_under_ties():
    a = Vocab.build([["z", "y", "x"]])
    b = Vocab.build([["x", "y", "z"]])
    assert a.itos == b.itos == list(SPECIALS) + ["x", "y", "z"]


def test_vocab_load_rejects_garbage(tmp_path):
    from nlpseq.errors import DataError

    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not a vocabulary file"):
        Vocab.load(tmp_path / "bad.json")


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_sentencepiece_train_save_load(tmp_path, parallel_val, model_type):
    from nlpseq.fileio import read_lines

    sentences = read_lines(parallel_val[1])
    sp = SentencePieceTokenizer.train(sentences, vocab_size=120, model_type=model_type)
    sp.save(tmp_path / "sp.model")
    again = SentencePieceTokenizer.load(tmp_path / "sp.model")
    text = sentences[0]
    pieces = again.tokenize(text)
    assert pieces == sp.tokenize(text) and len(pieces) > 1
    assert again.detokenize(pieces) == text
    vocab = again.vocab()
    assert vocab.itos[:4] == list(SPECIALS)
    assert vocab.unk_id not in vocab.encode(pieces)


def test_sentencepiece_rejects_unknown_model_type():
    with pytest.raises(RecipeError, match="model_type"):
        SentencePieceTokenizer.train(["a b c"], model_type="wordpiece")


def test_sentencepiece_sampling_draws_other_segmentations_reproducibly(parallel_val):
    import random

    from nlpseq.fileio import read_lines

    sentences = read_lines(parallel_val[1])
    sp = SentencePieceTokenizer.train(sentences, vocab_size=120)
    text = sentences[0]
    best = sp.vocab().encode(sp.tokenize(text))

    def draws(alpha: float, seed: int) -> list[list[int]]:
        rng = random.Random(seed)
        return [sp.sample_ids(text, alpha, rng) for _ in range(30)]

    flat = draws(0.1, 0)
    assert flat == draws(0.1, 0)  # the seed fixes the draws
    assert len({tuple(d) for d in flat}) > 3
    assert all(sp.detokenize(sp.vocab().decode(d)) == text for d in flat)  # every draw spells the text
    assert all(d == best for d in draws(1000.0, 1))  # a sharp distribution always takes the best
