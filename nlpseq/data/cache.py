"""Tokenized corpora held as Arrow tables by ``datasets`` and cached on disk by content."""

from __future__ import annotations

import hashlib
import json
import shutil
from typing import Any, Callable, Iterator

from ..fileio import sha256_file as file_digest  # noqa: F401  (a changed corpus never reuses a stale cache)
from .corpora import cache_dir


def fingerprint(*parts: Any) -> str:
    """A stable hex digest of JSON-serialisable ``parts`` (file digests, tokenizer settings, vocab)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def encode_cached(columns: dict[str, list] | Callable[[], Iterator[dict[str, Any]]],
                  encode: Callable[[dict[str, list]], dict[str, list]], key: str, features: Any = None):
    """A ``datasets.Dataset`` of ``encode`` mapped over ``columns``, cached on disk under ``key``.

    ``columns`` is either in-memory columns or a function returning an iterator of rows: rows
    stream into an Arrow file on disk, so a corpus larger than memory never becomes Python
    lists. ``key`` must change whenever the input or the encoding changes (use
    :func:`fingerprint`); with the same key the cached Arrow file is memory-mapped and the
    corpus is not read at all. ``features`` (``datasets.Features``) fixes the stored column types,
    such as 32-bit ids where the inferred type would be 64-bit; it must be part of ``key``.

    Returns:
        A memory-mapped ``datasets.Dataset`` holding only the columns ``encode`` returns.
    """
    import datasets

    datasets.disable_progress_bars()
    folder = cache_dir() / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    cached = folder / f"{key}.arrow"
    if cached.is_file():
        try:
            return datasets.Dataset.from_file(str(cached))
        except Exception:  # a damaged cache file is rebuilt, never trusted
            cached.unlink()
    raw_dir = folder / "raw" / key
    if callable(columns):
        raw = datasets.Dataset.from_generator(columns, cache_dir=str(raw_dir), fingerprint=f"raw-{key}")
    else:
        raw = datasets.Dataset.from_dict(columns)
    encoded = raw.map(
        encode,
        batched=True,
        batch_size=2000,
        remove_columns=raw.column_names,
        cache_file_name=str(cached),
        load_from_cache_file=True,
        new_fingerprint=key,
        features=features,
    )
    # The streamed text's Arrow copy is as large as the corpus and is never read again once the
    # encoded file is whole; an interrupted encoding keeps it for the next try.
    del raw
    shutil.rmtree(raw_dir, ignore_errors=True)
    return encoded
