"""Atomic writes: all or nothing, with the permissions a plain write would give."""

import os
import stat

import pytest

from nlpseq.fileio import atomic_path, atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_file_mode_follows_umask_and_replacement_keeps_the_old_mode(tmp_path):
    new = tmp_path / "new.txt"
    atomic_write_text(new, "hello")
    assert new.read_text() == "hello"
    mask = os.umask(0)
    os.umask(mask)
    assert _mode(new) == 0o666 & ~mask  # mkstemp's 0600 would hide run files from other users

    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    os.chmod(kept, 0o640)
    atomic_write_text(kept, "new")
    assert kept.read_text() == "new" and _mode(kept) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.txt"
    target.write_text("saved work")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "saved work"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]
