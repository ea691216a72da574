import gzip

import pytest

from nlpseq.data.readers import iter_package_files, read_parallel
from nlpseq.errors import DataError
from nlpseq.fileio import read_lines


def test_real_parallel_lines_are_aligned(parallel_val):
    pairs = read_parallel(*parallel_val)
    assert len(pairs) > 10
    de, en = pairs[0]
    assert de and en and de != en


def test_misaligned_files_are_an_error(tmp_path):
    (tmp_path / "a").write_text("x\ny\n")
    (tmp_path / "b").write_text("x\n")
    with pytest.raises(DataError, match="not aligned"):
        read_parallel(tmp_path / "a", tmp_path / "b")


def test_truncated_gzip_is_an_error_not_a_traceback(tmp_path, parallel_val):
    data = parallel_val[0].read_bytes()
    cut = tmp_path / "cut.de.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        read_lines(cut)


def test_plain_and_gzip_read_the_same(tmp_path):
    (tmp_path / "p.txt").write_text("één\ntwo\n", encoding="utf-8")
    with gzip.open(tmp_path / "p.txt.gz", "wt", encoding="utf-8") as fh:
        fh.write("één\ntwo\n")
    assert read_lines(tmp_path / "p.txt") == read_lines(tmp_path / "p.txt.gz") == ["één", "two"]


def test_package_files_from_zip_and_folder(tmp_path):
    import zipfile

    folder = tmp_path / "pkg"
    (folder / "neg").mkdir(parents=True)
    (folder / "neg" / "a.txt").write_text("bad film")
    with zipfile.ZipFile(tmp_path / "zipped.zip", "w") as zf:
        zf.writestr("zipped/neg/a.txt", "bad film")
    assert list(iter_package_files(tmp_path, "pkg")) == [("neg/a.txt", "bad film")]
    assert list(iter_package_files(tmp_path, "zipped")) == [("neg/a.txt", "bad film")]
    with pytest.raises(DataError, match="holds neither"):
        list(iter_package_files(tmp_path, "absent"))
