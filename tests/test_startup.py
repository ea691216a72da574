"""Start-up stays light: `import nlpseq` and `nlpseq --help` load no heavy library, and the verbs
index the help reads is what the tasks declare."""

from __future__ import annotations

import json
import subprocess
import sys

from nlpseq.cli import VERBS_INDEX, declared_index

from .conftest import ROOT

HEAVY = ("torch", "datasets", "scipy", "fastapi", "nltk", "sentencepiece", "matplotlib")

PROBE = """
import sys, contextlib, io
{code}
print("loaded:" + ",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(code: str) -> list[str]:
    res = subprocess.run([sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [m for m in res.stdout.strip().splitlines()[-1].removeprefix("loaded:").split(",") if m]


def test_import_nlpseq_loads_no_heavy_library():
    assert _loaded("import nlpseq") == []


def test_help_loads_no_heavy_library_and_lists_every_verb():
    code = """
from nlpseq.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    main(["--help"])
assert "forecast" in out.getvalue() and "models" in out.getvalue(), out.getvalue()
"""
    assert _loaded(code) == []


def test_a_verbs_help_loads_no_heavy_library():
    code = """
from nlpseq.cli import main
for verb in ("train", "sentiment", "translate", "serve", "models"):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main([verb, "--help"])
"""
    assert _loaded(code) == []


def test_the_verbs_index_is_what_the_tasks_declare():
    # Regenerate with: python -c "import json; from nlpseq.cli import declared_index, VERBS_INDEX;
    #   VERBS_INDEX.write_text(json.dumps(declared_index(builtin_only=True), indent=1) + '\\n')"
    assert json.loads(VERBS_INDEX.read_text(encoding="utf-8")) == declared_index(builtin_only=True)
