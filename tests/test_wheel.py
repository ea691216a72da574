"""A wheel built with `python -m build` and installed (not editable) answers the first calls: the
shipped models and the recipes travel with it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_an_installed_wheel_answers_with_its_shipped_models_and_finds_recipes_by_name(tmp_path):
    dist = tmp_path / "dist"
    res = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel = next(dist.glob("nlpseq-*.whl"))
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    # The dependencies (torch and the rest) are those of this environment, reached through a path file;
    # nlpseq itself only from the wheel: the editable install's finder is not loaded that way.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NLPSEQ_DATA")}
    code = ("import nlpseq; print(nlpseq.__file__); "
            "print([a['label'] for a in nlpseq.pipeline('sentiment-analysis')(['not good at all', 'a wonderful film'])]); "
            "from nlpseq.recipe import find_recipe; print(find_recipe('multi30k_de_en_lstm'))")
    res = subprocess.run([str(python), "-c", code], cwd=work, env=clean, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    where, labels, recipe = res.stdout.strip().splitlines()[-3:]
    assert where.startswith(str(env)) and "site-packages" in where  # the installed copy, not the clone
    assert labels == "['negative', 'positive']"
    assert recipe.startswith(str(env)) and recipe.endswith("share/nlpseq/recipes/translation/multi30k_de_en_lstm.yaml")
    res = subprocess.run([str(env / "bin" / "nlpseq"), "translate", "Ein Hund rennt durch den Park."], cwd=work,
                         env=clean, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "dog" in res.stdout.lower()
