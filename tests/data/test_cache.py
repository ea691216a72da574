import gzip

import pytest

from nlpseq.data.cache import encode_cached, fingerprint
from nlpseq.data.readers import iter_parallel
from nlpseq.errors import DataError


def _encode(batch):
    return {"n": [len(s.split()) for s in batch["src"]]}


def test_streamed_rows_encode_like_columns_and_hit_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPSEQ_CACHE", str(tmp_path / "cache"))
    texts = [f"w{i} " * (i % 7 + 1) for i in range(50)]
    calls = []

    def rows():
        calls.append(1)
        for t in texts:
            yield {"src": t}

    streamed = encode_cached(rows, _encode, fingerprint("stream", texts))
    in_memory = encode_cached({"src": texts}, _encode, fingerprint("columns", texts))
    assert streamed["n"] == in_memory["n"] == [i % 7 + 1 for i in range(50)]
    again = encode_cached(rows, _encode, fingerprint("stream", texts))
    assert again["n"] == streamed["n"]
    assert len(calls) == 1  # the second call memory-maps the cached Arrow file without reading the corpus
    # Only the encoded files stay: the streamed text's own Arrow copy is gone once they are whole.
    assert not list((tmp_path / "cache").rglob("raw/*"))
    assert len(list((tmp_path / "cache").rglob("*.arrow"))) == 2


def test_iter_parallel_streams_and_checks_alignment(tmp_path):
    src, tgt = tmp_path / "a.de.gz", tmp_path / "a.en"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        fh.write("eins\nzwei\ndrei\n")
    tgt.write_text("one\ntwo\nthree\n", encoding="utf-8")
    assert list(iter_parallel(src, tgt)) == [("eins", "one"), ("zwei", "two"), ("drei", "three")]
    tgt.write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(DataError, match="differ in line count"):
        list(iter_parallel(src, tgt))
