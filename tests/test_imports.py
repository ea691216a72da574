"""Imports point one way: no circle in the package, no low layer importing recipe, tasks or api, and
every module imports on its own in a fresh interpreter."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ROOT
from .import_graph import circles, graph, modules, upward


def test_the_package_has_no_import_circle():
    assert circles(graph()) == []


def test_low_layers_do_not_import_recipe_tasks_or_api():
    assert upward(graph()) == []


def test_the_graph_walker_finds_a_planted_circle(tmp_path):
    pkg = tmp_path / "nlpseq"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n")  # a function-level import counts
    (pkg / "nn.py").write_text("from . import api\n")
    (pkg / "api.py").write_text("")
    g = graph(pkg)
    assert circles(g) == [["nlpseq.a", "nlpseq.sub.b"]]
    assert upward(g) == [("nlpseq.nn", "nlpseq.api")]


@pytest.mark.slow  # one interpreter per module: about a minute; the graph tests above run in the fast suite
def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(m for m in modules() if not m.startswith("nlpseq.serve") or m == "nlpseq.serve.limits")
    names += ["nlpseq.serve", "nlpseq.serve.app", "nlpseq.serve.worker", "nlpseq.serve.loading"]

    def load(name: str) -> tuple[str, str]:
        res = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True)
        return name, (res.stderr.strip().splitlines() or [""])[-1] if res.returncode else ""

    with ThreadPoolExecutor(4) as pool:
        failed = [(n, e) for n, e in pool.map(load, sorted(set(names))) if e]
    assert failed == []


def test_models_meet_the_contracts_the_trainer_and_searches_name():
    from nlpseq.contracts import StepDecoder, TrainableModel
    from nlpseq.registry import MODELS

    for name, cls in MODELS.items():
        assert callable(getattr(cls, "forward", None)), name
    seq2seq = MODELS.get("lstm_seq2seq")
    assert all(callable(getattr(seq2seq, m, None)) for m in ("encode", "step", "reorder"))
    assert issubclass(seq2seq, StepDecoder) and issubclass(MODELS.get("rntn"), TrainableModel)
