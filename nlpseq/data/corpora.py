"""Named corpora and where to find them.

A corpus is resolved in this order: an explicit path; ``$NLPSEQ_DATA/<folder>``
(the layout of the project's shared data folder); the user cache
(``$NLPSEQ_CACHE`` or ``~/.cache/nlpseq``); a download from the original source,
checked against a pinned SHA-256, with a progress bar.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, did_you_mean
from ..fileio import atomic_path, sha256_file


@dataclass(frozen=True)
class Download:
    """One file of a corpus at its original source, with the digest it must have."""

    url: str
    sha256: str | None
    dest: str  # file name inside the corpus folder
    extract: dict[str, str] = field(default_factory=dict)  # zip member -> file name, when an archive


@dataclass(frozen=True)
class Corpus:
    """A named corpus: the folder it lives in and how each split is named inside it."""

    name: str
    folder: str  # relative to $NLPSEQ_DATA and to the cache
    description: str
    pattern: str  # file name of a split: ``{split}`` and, for parallel corpora, ``{lang}`` filled in
    splits: tuple[str, ...]  # the splits the original distribution has
    downloads: tuple[Download, ...] = ()
    nltk_package: str | None = None  # for corpora distributed as nltk data packages

    def split_file(self, split: str, lang: str | None = None) -> str:
        """File name of ``split``; any split name is accepted, so extra test sets work too."""
        if "{lang}" in self.pattern and not lang:
            raise DataError(f"corpus '{self.name}' is parallel: a language is needed for split '{split}'")
        return self.pattern.format(split=split, lang=lang)


_M30K = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/"
_M30K_SHA = {
    "train.cs.gz": "a65adb8b32e3bc664f21ecba7a6e7f6950fd1f405e135f7c312faabdb6255077",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.cs.gz": "b63226e05c4bd5dd6a42897d74b86a1b9d2c31498252c572b1ea7f7996927fcc",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
}

CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in [
        Corpus(
            "sst",
            "sst",
            "Stanford Sentiment Treebank: PTB-bracket trees, a 0-4 label on every node",
            "{split}.txt",
            ("train", "dev", "test"),
            (
                Download(
                    "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip",
                    "5c613a4f673fc74097d523a2c83f38e0cc462984d847b82c7aaf36b01cbbbfcc",
                    "trainDevTestTrees_PTB.zip",
                    {f"trees/{s}.txt": f"{s}.txt" for s in ("train", "dev", "test")},
                ),
            ),
        ),
        Corpus(
            "multi30k",
            "multi30k",
            "Multi30k task 1: 29,000 aligned image captions in en/de/fr/cs (raw text, gzip)",
            "{split}.{lang}.gz",
            ("train", "val", "test_2016_flickr"),
            tuple(Download(_M30K + f, sha, f) for f, sha in _M30K_SHA.items()),
        ),
        Corpus("ptb-sample", "nltk_data/corpora", "Penn Treebank WSJ sample shipped by nltk (wsj_0001-0199)",
               "treebank", ("all",), nltk_package="treebank"),
        Corpus("sentence-polarity", "nltk_data/corpora", "Pang & Lee sentence polarity v1.0 (5,331 pos + 5,331 neg)",
               "sentence_polarity", ("all",), nltk_package="sentence_polarity"),
        Corpus("movie-reviews", "nltk_data/corpora", "Pang & Lee polarity v2.0: 2,000 movie reviews",
               "movie_reviews", ("all",), nltk_package="movie_reviews"),
    ]
}


def get_corpus(name: str) -> Corpus:
    """The corpus registered as ``name``.

    Raises:
        DataError: no such corpus; the message names the closest one.
    """
    if name not in CORPORA:
        raise DataError(f"unknown corpus '{name}'{did_you_mean(name, CORPORA)}; known: {', '.join(CORPORA)}")
    return CORPORA[name]


def cache_dir() -> Path:
    """The user cache: ``$NLPSEQ_CACHE`` or ``~/.cache/nlpseq``."""
    return Path(os.environ.get("NLPSEQ_CACHE") or Path.home() / ".cache" / "nlpseq")


def candidate_roots(corpus: Corpus) -> list[Path]:
    """Folders searched for ``corpus``, in order: ``$NLPSEQ_DATA``, ``$NLTK_DATA`` (nltk packages), the cache."""
    roots = []
    if os.environ.get("NLPSEQ_DATA"):
        roots.append(Path(os.environ["NLPSEQ_DATA"]) / corpus.folder)
    if corpus.nltk_package and os.environ.get("NLTK_DATA"):
        roots += [Path(p) / "corpora" for p in os.environ["NLTK_DATA"].split(os.pathsep) if p]
    roots.append(cache_dir() / corpus.folder)
    return roots


def _present(root: Path, corpus: Corpus) -> bool:
    if corpus.nltk_package:
        return (root / f"{corpus.nltk_package}.zip").is_file() or (root / corpus.nltk_package).is_dir()
    return any((root / corpus.split_file(s, "en")).is_file() for s in corpus.splits)


def locate(name: str, download: bool = True) -> Path:
    """The folder holding corpus ``name``, downloading it into the cache when it is nowhere.

    Raises:
        DataError: the corpus is not found and cannot be downloaded; the message says where it looked.
    """
    corpus = get_corpus(name)
    roots = candidate_roots(corpus)
    for root in roots:
        if _present(root, corpus):
            return root
    if not download:
        raise DataError(f"corpus '{name}' not found in {', '.join(map(str, roots))}")
    try:
        return fetch(corpus)
    except (OSError, DataError) as exc:
        raise DataError(
            f"corpus '{name}' not found (looked in {', '.join(map(str, roots))}) and the download failed: {exc}; "
            "set NLPSEQ_DATA to a folder that holds it or pass a file path"
        ) from None




def _download(url: str, dest: Path, sha256: str | None) -> None:
    from tqdm import tqdm

    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=30) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False) as bar:
                for block in iter(lambda: resp.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
        if sha256 and sha256_file(tmp) != sha256:
            raise DataError(f"{url}: checksum mismatch (expected sha256 {sha256})")


def fetch(corpus: Corpus) -> Path:
    """Download ``corpus`` into the cache and return its folder."""
    root = cache_dir() / corpus.folder
    root.mkdir(parents=True, exist_ok=True)
    if corpus.nltk_package:
        import nltk

        ok = nltk.download(corpus.nltk_package, download_dir=str(root.parent), quiet=True, raise_on_error=True)
        if not ok or not _present(root, corpus):
            raise DataError(f"nltk could not download '{corpus.nltk_package}'")
        return root
    for d in corpus.downloads:
        target = root / d.dest
        if not target.exists():
            _download(d.url, target, d.sha256)
        if d.extract:
            with zipfile.ZipFile(target) as zf:
                for member, out in d.extract.items():
                    if member in zf.namelist():
                        with zf.open(member) as src, atomic_path(root / out) as tmp, open(tmp, "wb") as dst:
                            shutil.copyfileobj(src, dst)
    return root


def corpus_file(name: str, split: str, lang: str | None = None) -> Path:
    """The file of one split of a corpus (``sst``/``dev``, ``multi30k``/``val``/``de``).

    Raises:
        DataError: the corpus or that file of it is missing.
    """
    corpus = get_corpus(name)
    root = locate(name)
    path = root / corpus.split_file(split, lang)
    if not path.exists():
        raise DataError(f"{path}: no such file (corpus '{name}', split '{split}')")
    return path


def resolve_ref(ref: str, lang: str | None = None) -> Path:
    """Turn a data reference into a path.

    Accepted forms: an existing file or folder; ``NAME:SPLIT`` (``sst:dev``, ``multi30k:val``
    with ``lang``); ``NAME/FILE`` inside a corpus folder (``sst/dev.txt``); ``NAME`` alone for
    corpora that are one package (``sentence-polarity``).

    Raises:
        DataError: nothing matches; the message says what was tried.
    """
    p = Path(ref).expanduser()
    if p.exists():
        return p
    name, sep, split = ref.partition(":")
    if sep and name in CORPORA:
        return corpus_file(name, split, lang)
    head, slash, rest = ref.partition("/")
    if slash and head in CORPORA and get_corpus(head).nltk_package is None:
        path = locate(head) / rest
        if path.exists():
            return path
        raise DataError(f"{ref}: no such file in corpus '{head}' ({path})")
    if ref in CORPORA:
        corpus = get_corpus(ref)
        root = locate(ref)
        return root / corpus.pattern if corpus.nltk_package else root
    raise DataError(f"{ref}: no such file, and not a corpus reference like 'sst:dev' "
                    f"(corpora: {', '.join(CORPORA)}){did_you_mean(name, CORPORA)}")


def add_nltk_paths() -> None:
    """Let nltk find packages under ``$NLPSEQ_DATA/nltk_data`` and the cache, besides ``$NLTK_DATA``."""
    import nltk

    for p in (Path(os.environ["NLPSEQ_DATA"]) / "nltk_data" if os.environ.get("NLPSEQ_DATA") else None,
              cache_dir() / "nltk_data"):
        if p is not None and str(p) not in nltk.data.path:
            nltk.data.path.append(str(p))
