"""Tokenized corpora held as Arrow tables by ``datasets`` and cached on disk by content."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from .corpora import cache_dir


def fingerprint(*parts: Any) -> str:
    """A stable hex digest of JSON-serialisable ``parts`` (file digests, tokenizer settings, vocab)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def file_digest(path) -> str:
    """SHA-256 of a file's bytes, so that a changed corpus never reuses a stale cache."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def encode_cached(columns: dict[str, list], encode: Callable[[dict[str, list]], dict[str, list]], key: str):
    """Build a ``datasets.Dataset`` from ``columns`` and ``map`` ``encode`` over it, cached under ``key``.

    ``key`` must change whenever the input or the encoding changes (use :func:`fingerprint`);
    a second call with the same key memory-maps the Arrow file instead of encoding again.

    Returns:
        A ``datasets.Dataset`` holding only the columns ``encode`` returns.
    """
    import datasets

    datasets.disable_progress_bars()
    folder = cache_dir() / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    raw = datasets.Dataset.from_dict(columns)
    return raw.map(
        encode,
        batched=True,
        batch_size=2000,
        remove_columns=raw.column_names,
        cache_file_name=str(folder / f"{key}.arrow"),
        load_from_cache_file=True,
        new_fingerprint=key,
    )
