"""Readers for the corpus formats: plain/gzip text, parallel text, labelled sentences, nltk corpus packages."""

from __future__ import annotations

import itertools
import os
import zipfile
from pathlib import Path
from typing import Iterator

from ..errors import DataError
from ..fileio import iter_lines, read_lines


def read_parallel(src: str | os.PathLike, tgt: str | os.PathLike) -> list[tuple[str, str]]:
    """Aligned (source, target) lines of two plain or gzip files.

    Raises:
        DataError: a file is missing or truncated, or the files differ in line count.
    """
    s, t = read_lines(src), read_lines(tgt)
    if len(s) != len(t):
        raise DataError(f"{src} has {len(s)} lines but {tgt} has {len(t)}: the files are not aligned")
    return list(zip(s, t))


def iter_parallel(src: str | os.PathLike, tgt: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """Stream aligned (source, target) lines of two plain or gzip files, never holding them in memory.

    Raises:
        DataError: a file is missing or truncated, or the files differ in line count.
    """
    n = 0
    for n, (s, t) in enumerate(itertools.zip_longest(iter_lines(src), iter_lines(tgt)), 1):
        if s is None or t is None:
            raise DataError(f"{src} and {tgt} differ in line count (they agree on the first {n - 1}): not aligned")
        yield s, t


def iter_package_files(root: str | os.PathLike, package: str, encoding: str = "utf-8") -> Iterator[tuple[str, str]]:
    """(name, text) of every file of an nltk data package, from ``<package>.zip`` or an extracted folder.

    Reading the files directly avoids nltk's corpus readers, which refuse roots outside ``nltk.data.path``.
    Names are relative to the package (``neg/cv000_29416.txt``), in sorted order.
    """
    root = Path(root)
    folder, archive = root / package, root / f"{package}.zip"
    if folder.is_dir():
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                yield p.relative_to(folder).as_posix(), p.read_text(encoding=encoding)
    elif archive.is_file():
        try:
            with zipfile.ZipFile(archive) as zf:
                for name in sorted(zf.namelist()):
                    if name.endswith("/"):
                        continue
                    rel = name.split("/", 1)[1] if "/" in name else name
                    yield rel, zf.read(name).decode(encoding)
        except zipfile.BadZipFile:
            raise DataError(f"{archive}: not a zip archive or truncated") from None
    else:
        raise DataError(f"{root}: holds neither {package}/ nor {package}.zip")


def read_labelled_lines(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(label, text) pairs from a ``label<TAB>text`` file, for users' own classification data.

    Raises:
        DataError: a line has no tab or an empty text; the message gives the line number.
    """
    out = []
    for i, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t")
        if not sep or not text.strip() or not label.strip():
            raise DataError(f"{path}:{i}: expected 'label<TAB>text'")
        out.append((label.strip(), text.strip()))
    return out
