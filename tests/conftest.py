"""Shared fixtures: bundled samples always; the real corpora when NLPSEQ_DATA points at them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    # Tests never write into the user's cache; session-wide, so shared trained runs obey it too.
    old = os.environ.get("NLPSEQ_CACHE")
    os.environ["NLPSEQ_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    yield
    if old is None:
        os.environ.pop("NLPSEQ_CACHE", None)
    else:
        os.environ["NLPSEQ_CACHE"] = old


def real_data(*parts: str) -> Path | None:
    root = os.environ.get("NLPSEQ_DATA")
    if not root:
        return None
    p = Path(root).joinpath(*parts)
    return p if p.exists() else None


@pytest.fixture(scope="session")
def sst_dev() -> Path:
    """Real SST dev trees when available, else the bundled toy treebank."""
    return real_data("sst", "dev.txt") or SAMPLES / "sentiment-sample" / "dev.txt"


@pytest.fixture(scope="session")
def parallel_val() -> tuple[Path, Path]:
    """Real Multi30k val (de, en) when available, else the bundled sample."""
    d = real_data("multi30k") or SAMPLES / "parallel-sample"
    return d / "val.de.gz", d / "val.en.gz"


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None, timeout: int = 300):
    """Run the ``nlpseq`` command in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "nlpseq.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout)


TINY_RECIPE = ROOT / "recipes" / "sentiment" / "tiny_lstm.yaml"
TINY_FAST = ["--set", "train.epochs=3", "--set", "train.threads=1", "--set", "train.tensorboard=false"]


def train_once(tmp_path_factory, recipe: Path, name: str, *sets: str) -> Path:
    """Train ``recipe`` (single-threaded, no tensorboard) into a fresh temporary run directory.

    Under pytest-xdist the workers share it: the first to ask trains it while the others wait on a
    lock, so a session fixture costs one training, not one per worker (its users only read it).
    """
    args = ["train", str(recipe), "--set", "train.threads=1", "--set", "train.tensorboard=false", *sets]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp(name) / name
        res = run_cli(*args, "--out", str(out))
        assert res.returncode == 0, res.stderr
        return out
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "shared_runs"
    shared.mkdir(exist_ok=True)
    out, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)  # what a failed try left
            res = run_cli(*args, "--out", str(out))
            assert res.returncode == 0, res.stderr
            done.touch()
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A sentiment run trained once on the bundled toy treebank, shared by the tests that only read it."""
    return train_once(tmp_path_factory, TINY_RECIPE, "tiny", *TINY_FAST)


@pytest.fixture(scope="session")
def mt_run(tmp_path_factory) -> Path:
    """A German-English translator trained once on the bundled parallel sample."""
    return train_once(tmp_path_factory, ROOT / "recipes" / "translation" / "tiny_de_en.yaml", "de_en",
                      "--set", "train.epochs=6")


@pytest.fixture(scope="session")
def rntn_run(tmp_path_factory) -> Path:
    """An RNTN trained once on the bundled toy treebank."""
    return train_once(tmp_path_factory, ROOT / "recipes" / "trees" / "tiny_rntn.yaml", "rntn")


@pytest.fixture(scope="session")
def parser_run(tmp_path_factory) -> Path:
    """A constituency parser trained once on the bundled PTB-style sample."""
    return train_once(tmp_path_factory, ROOT / "recipes" / "parsing" / "tiny_parser.yaml", "parser")


@pytest.fixture(scope="session")
def shape_run(tmp_path_factory) -> Path:
    """A parser of SST tree shapes, trained once on the bundled SST-format sample."""
    sample = SAMPLES / "sentiment-sample"
    return train_once(tmp_path_factory, ROOT / "recipes" / "parsing" / "tiny_parser.yaml", "shapes",
                      "--set", "data.format=sst", "--set", f"data.train={sample / 'train.txt'}",
                      "--set", f"data.dev={sample / 'dev.txt'}", "--set", "train.metric=unlabeled_f1",
                      "--set", "train.epochs=4")
