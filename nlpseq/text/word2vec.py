"""Word vectors trained here, with gensim's word2vec, on unlabelled text of the data layer.

A recipe names them as ``model.pretrained_vectors: word2vec:SOURCE``, where SOURCE is
``movie-reviews`` (the 2,000 reviews of nltk's movie_reviews, 1.5 M tokens, labels unused) or the
path of a text file with one tokenized sentence per line. The vectors are trained once per
source, size and seed, and kept in the cache (``$NLPSEQ_CACHE/vectors``) in word2vec's text
format, which :func:`nlpseq.nn.load_word_vectors` reads like any downloaded file.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from ..data.cache import file_digest, fingerprint
from ..data.corpora import cache_dir, resolve_ref
from ..data.readers import iter_package_files
from ..errors import DataError
from ..fileio import atomic_path, iter_lines

PREFIX = "word2vec:"
SOURCES = ("movie-reviews",)


def _stable_hash(word: str) -> int:
    # gensim seeds each word's start vector from hash(word); Python salts str hashes per process.
    return zlib.crc32(word.encode("utf-8"))


def source_sentences(source: str) -> list[list[str]]:
    """Tokenized sentences of ``source``: ``movie-reviews`` or a text file, one sentence per line.

    Raises:
        DataError: an unknown source, a missing file, or no text in it.
    """
    if source == "movie-reviews":
        root = resolve_ref("movie-reviews").parent
        sents = [line.split() for name, text in iter_package_files(root, "movie_reviews")
                 if name.startswith(("neg/", "pos/")) for line in text.splitlines() if line.strip()]
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"word2vec source '{source}' is neither {' nor '.join(SOURCES)} nor a text file")
        sents = [line.split() for line in iter_lines(path) if line.strip()]
    if not sents:
        raise DataError(f"word2vec source '{source}' holds no text")
    return sents


def train_word2vec(sentences: list[list[str]], dim: int, seed: int, epochs: int = 10, min_count: int = 2):
    """Skip-gram word2vec (negative sampling, window 5) over ``sentences``; gensim's ``KeyedVectors``.

    One worker thread and a salt-free word hash make the vectors the same on every run with
    this seed (gensim's own advice for reproducible runs).
    """
    from gensim.models import Word2Vec

    model = Word2Vec(sentences, vector_size=dim, window=5, min_count=min_count, sg=1, negative=10,
                     epochs=epochs, workers=1, seed=seed, hashfxn=_stable_hash)
    return model.wv


def resolve_vectors(spec: str, dim: int, seed: int) -> str:
    """The path of the vectors a recipe names: a file as given, or ``word2vec:SOURCE`` trained and cached."""
    if not spec.startswith(PREFIX):
        return spec
    source = spec[len(PREFIX):]
    key = fingerprint("word2vec", source, file_digest(source) if Path(source).is_file() else "", dim, seed)
    path = cache_dir() / "vectors" / f"{key}.txt"
    if not path.exists():
        vectors = train_word2vec(source_sentences(source), dim, seed)
        with atomic_path(path) as tmp:
            vectors.save_word2vec_format(str(tmp), binary=False)
    return str(path)
