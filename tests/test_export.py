import subprocess
import sys

import pytest

import nlpseq
from nlpseq.export.onnx_runner import OnnxTranslator

from .conftest import run_cli

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(mt_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "translator"
    res = run_cli("export", str(mt_run), "--format", "onnx", "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out


def test_onnx_translations_equal_the_pytorch_ones_greedy_and_beam(mt_run, exported):
    task, model = nlpseq.load_run(mt_run)
    sources = task.read_eval(None).sources + ["", "Ein Hund rennt."]
    runner = OnnxTranslator(exported)
    for beam in (1, 5):
        torch_out = [r[0]["translation"] for r in task.translate(model, sources, beam=beam)]
        assert runner.translate(sources, beam=beam) == torch_out, f"beam {beam}"


def test_onnx_beam_follows_coverage_penalty_and_patience(mt_run, tmp_path):
    from nlpseq.export.onnx_graphs import export_translator

    task, model = nlpseq.load_run(mt_run)
    task.decode_cfg.beta, task.decode_cfg.patience = 2.0, 2.0
    runner = OnnxTranslator(export_translator(task, model, tmp_path / "penalised"))
    sources = task.read_eval(None).sources
    assert runner.translate(sources, beam=4) == [r[0]["translation"] for r in task.translate(model, sources, beam=4)]


def test_the_exported_folder_translates_without_pytorch(exported):
    # torch made unimportable: the runner copied into the folder needs numpy, onnxruntime and sentencepiece only
    code = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = ['run_onnx.py', sys.argv[1], '--beam', '3']; "
            "runpy.run_path(sys.argv[1] + '/run_onnx.py', run_name='__main__')")
    res = subprocess.run([sys.executable, "-c", code, str(exported)], input="Ein Hund rennt.\n\nEine Katze schläft.\n",
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:3] == ["A dog runs.", "", "A cat sleeps."]


def test_export_refuses_other_tasks_in_one_line(tiny_run):
    res = run_cli("export", str(tiny_run), "--format", "onnx")
    assert res.returncode != 0 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["folder_with_files", "the_run", "runs_parent", "a_file"])
def test_export_never_replaces_a_folder_that_is_not_an_earlier_export(mt_run, tmp_path, capsys, target):
    from nlpseq.cli import main

    keep = tmp_path / "folder_with_files"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    (tmp_path / "a_file").write_text("mine")
    out = {"folder_with_files": keep, "the_run": mt_run, "runs_parent": mt_run.parent,
           "a_file": tmp_path / "a_file"}[target]
    before = sorted(p.relative_to(out) for p in out.rglob("*")) if out.is_dir() else out.read_text()
    assert main(["export", str(mt_run), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "Traceback" not in err
    assert (sorted(p.relative_to(out) for p in out.rglob("*")) if out.is_dir() else out.read_text()) == before


def test_export_replaces_an_earlier_export(exported, mt_run):
    res = run_cli("export", str(mt_run), "--out", str(exported))
    assert res.returncode == 0, res.stderr
    assert (exported / "translator.json").is_file()
