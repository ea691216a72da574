"""The data layer: named corpora, readers, trees, tokenized caches and batching."""

from .batching import bucket_by_length, pad_sequences
from .corpora import CORPORA, corpus_file, get_corpus, locate
from .trees import read_sentiment_trees, read_trees

__all__ = [
    "CORPORA", "corpus_file", "get_corpus", "locate", "read_trees", "read_sentiment_trees",
    "bucket_by_length", "pad_sequences",
]
