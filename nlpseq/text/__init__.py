"""The one text layer shared by every model family: word tokenizers, SentencePiece and Vocab."""

from .tokenizers import CharTokenizer, PTBTokenizer, Tokenizer, WhitespaceTokenizer, get_tokenizer
from .vocab import Vocab

__all__ = ["Tokenizer", "PTBTokenizer", "WhitespaceTokenizer", "CharTokenizer", "get_tokenizer", "Vocab"]
