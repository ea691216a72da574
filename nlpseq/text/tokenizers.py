"""Word and character tokenizers. SentencePiece lives in :mod:`nlpseq.text.subword`."""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..errors import RecipeError, did_you_mean


class Tokenizer(Protocol):
    """Turns text into tokens and tokens back into text."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def detokenize(self, tokens: list[str]) -> str: ...


class PTBTokenizer:
    """Penn Treebank conventions through nltk's Treebank tokenizer and detokenizer.

    ``lowercase`` folds case, which the small sentiment corpora benefit from.
    SST and the PTB write brackets as ``-LRB-``/``-RRB-``; ``convert_parentheses`` matches them.
    """

    name = "ptb"

    def __init__(self, lowercase: bool = False, convert_parentheses: bool = True) -> None:
        from ..nltk_light import nltk  # noqa: F401  (nltk without scipy, before its tokenizers)
        from nltk.tokenize import TreebankWordDetokenizer, TreebankWordTokenizer

        self.lowercase = lowercase
        self.convert_parentheses = convert_parentheses
        self._tok = _with_stdlib_patterns(TreebankWordTokenizer())
        self._detok = TreebankWordDetokenizer()

    def tokenize(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return self._tok.tokenize(text, convert_parentheses=self.convert_parentheses)

    def detokenize(self, tokens: list[str]) -> str:
        return self._detok.detokenize(tokens, convert_parentheses=self.convert_parentheses)


_TREEBANK_PATTERNS = ("STARTING_QUOTES", "PUNCTUATION", "PARENS_BRACKETS", "CONVERT_PARENTHESES", "DOUBLE_DASHES",
                      "ENDING_QUOTES", "CONTRACTIONS2", "CONTRACTIONS3")


def _with_stdlib_patterns(tok: Any) -> Any:
    """``tok`` with its own fixed patterns compiled by ``re`` instead of nltk's ReDoS guard.

    nltk 3.10 runs every pattern through the ``regex`` engine under a timeout, a defence meant
    for caller-supplied patterns; for the Treebank tokenizer's linear built-in ones it only costs
    time (three quarters of a served sentiment request's tokenizing). The patterns and their order
    are nltk's; only the engine changes.
    """

    def plain(item: Any) -> Any:
        if isinstance(item, tuple):
            return tuple(plain(x) for x in item)
        if isinstance(item, list):
            return [plain(x) for x in item]
        if isinstance(item, str) or not hasattr(item, "pattern"):
            return item
        return re.compile(item.pattern, item.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE))

    for name in _TREEBANK_PATTERNS:
        if hasattr(tok, name):
            setattr(tok, name, plain(getattr(tok, name)))
    return tok


class WhitespaceTokenizer:
    """Splits on runs of whitespace: for text that is already tokenized."""

    name = "whitespace"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


class CharTokenizer:
    """One token per Unicode character, spaces included: for character-level language models."""

    name = "char"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)


_TOKENIZERS = {"ptb": PTBTokenizer, "whitespace": WhitespaceTokenizer, "char": CharTokenizer}


def get_tokenizer(name: str, lowercase: bool = False) -> Tokenizer:
    """Build a word/char tokenizer by name (``ptb``, ``whitespace``, ``char``).

    Raises:
        RecipeError: the name is unknown; the message suggests the closest one.
    """
    if name not in _TOKENIZERS:
        hint = did_you_mean(name, _TOKENIZERS)
        raise RecipeError(f"unknown tokenizer '{name}'{hint}; choose from {sorted(_TOKENIZERS)}")
    return _TOKENIZERS[name](lowercase=lowercase)
