"""Planted pickles and links leading out of a run: every load path refuses in one line, and the payload
never runs. A regression to ``torch.load(weights_only=False)`` or to following links would fail here."""

import os
import shutil
import sys

import pytest
import torch

import nlpseq
from nlpseq.errors import RunDirError

from .conftest import ROOT, TINY_FAST, TINY_RECIPE, run_cli


class Payload:
    """Unpickling this runs code: it writes the marker file named in it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('the payload ran')",))


def _copy(run, tmp_path, name="run"):
    dest = tmp_path / name
    shutil.copytree(run, dest, symlinks=True)
    return dest


def _last_checkpoint(run):
    return sorted((run / "checkpoints").glob("step_*"))[-1]


def _refused(res, marker, *words):
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert not marker.exists(), "the payload ran"


def test_a_pickle_planted_as_state_pt_is_refused_on_resume(tiny_run, tmp_path):
    run, marker = _copy(tiny_run, tmp_path), tmp_path / "ran"
    state = _last_checkpoint(run) / "state.pt"
    torch.save({"optimizer": Payload(marker)}, state)
    res = run_cli("train", str(TINY_RECIPE), "--out", str(run), "--resume", *TINY_FAST)
    _refused(res, marker, "state.pt", "refusing to resume")
    assert state.exists()  # refused, not renamed aside as damage: the user decides


@pytest.mark.parametrize("where", ["checkpoint", "run"])
def test_a_pickle_planted_as_model_safetensors_is_refused(tiny_run, tmp_path, where):
    run, marker = _copy(tiny_run, tmp_path), tmp_path / "ran"
    target = (_last_checkpoint(run) if where == "checkpoint" else run) / "model.safetensors"
    torch.save({"embed.weight": Payload(marker)}, target)
    if where == "checkpoint":
        res = run_cli("train", str(TINY_RECIPE), "--out", str(run), "--resume", *TINY_FAST)
        _refused(res, marker, "model.safetensors", "a pickle")
        return
    for args in (("evaluate", str(run)), ("sentiment", str(run), "fine")):
        _refused(run_cli(*args), marker, "model.safetensors", "a pickle")
    with pytest.raises(RunDirError, match="a pickle, not safetensors"):
        nlpseq.pipeline("sentiment", model=run)
    pytest.importorskip("fastapi")
    from nlpseq.serve import load_served

    for in_process in (True, False):
        with pytest.raises(nlpseq.errors.NlpseqError, match="a pickle, not safetensors"):
            load_served("sentiment", run, in_process=in_process)
    assert not marker.exists()


def test_a_pickled_teacher_is_refused_before_training(rntn_run, tmp_path):
    teacher, marker = _copy(rntn_run, tmp_path, "teacher"), tmp_path / "ran"
    torch.save({"x": Payload(marker)}, teacher / "model.safetensors")
    res = run_cli("train", str(ROOT / "recipes" / "trees" / "tiny_rntn.yaml"), "--out", str(tmp_path / "student"),
                  "--set", f"data.teachers=[{teacher}]", "--set", "model.distill_weight=0.5",
                  "--set", "train.tensorboard=false")
    _refused(res, marker, "model.safetensors", "a pickle")
    assert not (tmp_path / "student" / "recipe.yaml").exists()  # a refused start leaves no run behind


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
# The same check guards every entry; the other two run with the slow tests.
@pytest.mark.parametrize("entry", [pytest.param("vocab.json", marks=pytest.mark.slow), "model.safetensors",
                                   pytest.param("checkpoints", marks=pytest.mark.slow)])
def test_a_link_out_of_the_run_directory_is_refused(tiny_run, tmp_path, entry):
    run = _copy(tiny_run, tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    moved = outside / entry
    shutil.move(str(run / entry), moved)
    os.symlink(moved, run / entry)
    marker = tmp_path / "ran"
    _refused(run_cli("evaluate", str(run)), marker, entry, "outside the run directory")
    res = run_cli("train", str(TINY_RECIPE), "--out", str(run), "--resume", *TINY_FAST)
    _refused(res, marker, entry, "outside the run directory")
    assert (moved.is_dir() or moved.stat().st_size > 0)  # the file outside is untouched


def test_a_link_inside_the_run_directory_is_fine(tiny_run, tmp_path):
    run = _copy(tiny_run, tmp_path)
    (run / "weights-copy.safetensors").write_bytes((run / "model.safetensors").read_bytes())
    (run / "model.safetensors").unlink()
    os.symlink(run / "weights-copy.safetensors", run / "model.safetensors")
    assert run_cli("evaluate", str(run), "--json").returncode == 0
