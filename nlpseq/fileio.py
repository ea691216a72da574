"""Atomic file writes and transparent reading of plain or gzip-compressed text."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import IO, Any, Iterator

from .errors import DataError


def fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry itself reaches the disk.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread writes files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    A crash at any moment leaves either the old file or the new one, never a half-written file.
    The file gets the mode ``open`` would give it (the replaced file's, or 0666 less the umask),
    not the owner-only mode of the temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
        fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a UTF-8 text file for reading, decompressing ``.gz`` files on the fly."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a file")
    if p.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8")
    return open(p, encoding="utf-8")


def iter_lines(path: str | os.PathLike) -> Iterator[str]:
    """Stream the lines of a plain or gzip text file, without trailing newlines (for corpora larger than memory).

    Raises:
        DataError: the file is missing, truncated (broken gzip stream) or not UTF-8.
    """
    n = 0
    try:
        with open_text(path) as fh:
            for n, line in enumerate(fh, 1):
                yield line.rstrip("\n").rstrip("\r")
    except (EOFError, OSError, zlib.error) as exc:  # a truncated or damaged gzip stream, or an unreadable file
        raise DataError(f"{path}: unreadable, damaged or truncated file ({exc})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (a binary file?) near line {n + 1}") from None


def read_text(path: str | os.PathLike) -> str:
    """The whole text of a plain or gzip file, its lines joined by ``\\n``.

    Raises:
        DataError: the file is missing, truncated or damaged, or not UTF-8.
    """
    return "\n".join(iter_lines(path))


def read_lines(path: str | os.PathLike) -> list[str]:
    """Read all lines of a plain or gzip text file, without trailing newlines.

    Raises:
        DataError: the file is missing, truncated (broken gzip stream) or not UTF-8.
    """
    return list(iter_lines(path))


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read a megabyte at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
