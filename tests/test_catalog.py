"""Shipped models found by name: packing, digests, defaults, versions and format refusals, on a
catalog built here from a tiny run (the real shipped models are tested in test_shipped_models.py)."""

from __future__ import annotations

import json
import logging

import pytest
import torch

import nlpseq
from nlpseq import catalog
from nlpseq.catalog import ShippedModel, file_digest
from nlpseq.compact import SCALE, pack, unpack
from nlpseq.errors import RunDirError
from nlpseq.run import RunDir
from nlpseq.shipping import stage, write_manifest

from .conftest import run_cli


def test_int8_rows_keep_each_rows_own_precision():
    torch.manual_seed(0)
    w = torch.randn(64, 128)
    w[0] *= 1e-3  # a rare word's small vector beside frequent words' large ones
    w[1] *= 50.0
    stored = pack({"w": w, "b": torch.randn(64)}, "int8")
    assert stored["w"].dtype == torch.int8 and stored["w" + SCALE].shape == (64,)
    assert stored["b"].dtype == torch.float16  # small tensors are not worth int8
    back = unpack(stored)["w"]
    # half a quantisation step of each row's own range: one scale for the whole matrix would wipe row 0 out
    step = w.abs().amax(dim=1) / 127
    assert torch.all((back - w).abs() <= step[:, None] / 2 + 1e-7)
    assert (back[0] - w[0]).abs().max() < 5e-5  # one scale for the matrix: errors near 0.5


def test_fp16_storage_round_trips_and_fp32_is_untouched():
    w = torch.randn(10, 10)
    assert unpack(pack({"w": w}, "fp16"))["w"].dtype == torch.float32
    assert torch.allclose(unpack(pack({"w": w}, "fp16"))["w"], w, atol=1e-2)
    assert torch.equal(unpack(pack({"w": w}, "fp32"))["w"], w)


@pytest.fixture()
def shipped(tiny_run, tmp_path, monkeypatch):
    """A catalog of one sentiment model (two versions) packed from the tiny run."""
    root = tmp_path / "shipped"
    models = []
    for version in ("2.0.0", "2.0.1"):
        folder = root / f"tiny-{version}"
        stage(RunDir(tiny_run), folder, "int8")
        files = {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()}
        models.append(ShippedModel(name="tiny", version=version, task="sentiment", folder=folder.name,
                                   default_for=("sentiment", "sentiment-analysis"), domain="toy trees",
                                   headline="dev root_binary 100.0", serve_as="sentiment", files=files))
    write_manifest(models, root)
    monkeypatch.setattr(catalog, "SHIPPED", root)
    catalog._verified.clear()
    return root


def test_a_pipeline_without_a_model_uses_the_default_and_names_it(shipped, tiny_run, caplog):
    with caplog.at_level(logging.WARNING, logger="nlpseq.catalog"):
        answers = nlpseq.pipeline("sentiment-analysis")(["a good film"])
    line = caplog.records[-1].getMessage()
    assert "tiny@2.0.1" in line and "toy trees" in line and "dev root_binary 100.0" in line
    assert "model='tiny@2.0.1'" in line  # how to pin it
    # the packed int8 weights answer as the fp32 run does
    again = nlpseq.pipeline("sentiment", model=tiny_run)(["a good film"])
    assert answers[0]["label"] == again[0]["label"]
    assert abs(answers[0]["score"] - again[0]["score"]) < 0.02


def test_a_model_is_found_by_name_and_pinned_by_version(shipped):
    assert catalog.find("tiny").version == "2.0.1"
    assert catalog.find("tiny@2.0.0").folder == "tiny-2.0.0"
    assert catalog.find("other") is None
    with pytest.raises(RunDirError, match=r"tiny@9: no such version of tiny; shipped: tiny@2.0.0, tiny@2.0.1"):
        catalog.find("tiny@9")
    with pytest.raises(RunDirError, match=r"^tinny: neither a run folder nor a shipped model \(did you mean 'tiny'\?\); "
                                          r"shipped: tiny$"):
        nlpseq.pipeline("sentiment", model="tinny")


def test_a_damaged_file_of_a_shipped_model_is_refused_naming_it(shipped):
    weights = shipped / "tiny-2.0.1" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a weight: the file still loads, and would answer garbage
    weights.write_bytes(bytes(data))
    with pytest.raises(RunDirError, match=r"tiny-2.0.1/model.safetensors: damaged or altered"):
        nlpseq.pipeline("sentiment", model="tiny")
    nlpseq.pipeline("sentiment", model="tiny@2.0.0")  # the other version is intact


def test_a_run_of_a_newer_format_is_refused_in_one_line(tiny_run, tmp_path):
    import shutil

    copy = tmp_path / "newer"
    shutil.copytree(tiny_run, copy)
    info = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**info, "run_format": 99}))
    res = run_cli("sentiment", str(copy), "a good film")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"nlpseq: error: {copy}: written in run format 99, newer than this nlpseq ({nlpseq.__version__}) "
        "reads (up to 2); upgrade nlpseq"]


def test_no_default_and_no_model_is_one_line_naming_the_way_out(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "SHIPPED", tmp_path)  # nothing shipped
    with pytest.raises(RunDirError, match=r"no model given and no shipped model answers 'parsing'; pass a run "
                                          r"folder or a shipped model's name \(none are installed\)"):
        nlpseq.pipeline("parsing")
