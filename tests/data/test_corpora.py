import gzip
import os

import pytest

from nlpseq.data.corpora import corpus_file, locate, resolve_ref
from nlpseq.errors import DataError


def _fake_multi30k(root):
    d = root / "multi30k"
    d.mkdir(parents=True)
    for lang, line in (("de", "Ein Hund rennt."), ("en", "A dog runs.")):
        with gzip.open(d / f"val.{lang}.gz", "wt", encoding="utf-8") as fh:
            fh.write(line + "\n")
    return d


def test_nlpseq_data_comes_before_the_cache(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    _fake_multi30k(data)
    _fake_multi30k(cache)
    monkeypatch.setenv("NLPSEQ_DATA", str(data))
    monkeypatch.setenv("NLPSEQ_CACHE", str(cache))
    assert corpus_file("multi30k", "val", "de") == data / "multi30k" / "val.de.gz"
    monkeypatch.setenv("NLPSEQ_DATA", str(tmp_path / "empty"))
    assert corpus_file("multi30k", "val", "en") == cache / "multi30k" / "val.en.gz"


def test_explicit_path_wins(tmp_path):
    f = tmp_path / "mine.txt"
    f.write_text("(2 x)\n")
    assert resolve_ref(str(f)) == f


def test_missing_corpus_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPSEQ_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("NLPSEQ_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="corpus 'sst' not found in"):
        locate("sst", download=False)


def test_failed_download_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPSEQ_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("NLPSEQ_CACHE", str(tmp_path / "cache"))
    import nlpseq.data.corpora as corpora

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(corpora.urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as err:
        locate("sst")
    msg = str(err.value)
    assert "download failed" in msg and "network is unreachable" in msg and "\n" not in msg
    assert not any((tmp_path / "cache" / "sst").glob("*.zip")), "no partial download may remain"


def test_unknown_corpus_and_reference_suggest_names():
    with pytest.raises(DataError, match="did you mean 'multi30k'"):
        resolve_ref("multi31k:val")
    with pytest.raises(DataError, match="no such file"):
        resolve_ref("/definitely/not/here.txt")


@pytest.mark.skipif(not os.environ.get("NLPSEQ_DATA"), reason="needs the real corpora")
def test_real_corpora_resolve():
    assert resolve_ref("sst:dev").name == "dev.txt"
    assert resolve_ref("sst/train.txt").name == "train.txt"
    assert corpus_file("multi30k", "train", "de").name == "train.de.gz"
    assert resolve_ref("ptb-sample").name == "treebank"
