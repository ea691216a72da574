# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup browser demo test test-slow test-all docs models gpu-check clean

$(BIN)/nlpseq: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU wheel of torch 2.13.0; a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,serve,timeseries,onnx,docs]"
	touch $@

setup: $(BIN)/nlpseq

# Debian's Chromium for the page test (Playwright drives it); that test is skipped without it.
browser:
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: chromium could not be installed; the browser page test will be skipped" >&2

demo: setup
	$(BIN)/python -m nlpseq.demo

# Two workers, each test file on one of them (the files share their trained runs within a worker).
test: setup
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile

# The slow end-to-end set alone (real corpora through NLPSEQ_DATA, 20 kill points per family); CI runs it after `make test`.
test-slow: setup
	$(BIN)/python -m pytest -q -m slow -n 2 --dist loadfile

test-all: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The documentation site (MkDocs, Material, mkdocstrings) into build/site; --strict fails on a broken
# link or reference. The reference pages are generated from the code as it builds (docs/gen_pages.py).
docs: setup
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet

# Retrain every shipped model from its recipe (corpora through NLPSEQ_DATA), score it on data that
# chose nothing, and rewrite its card, the manifest and the digests (nlpseq/shipped/models.yaml).
models: setup
	$(BIN)/python -m nlpseq.shipping

# On a machine with a CUDA GPU and the Multi30k corpus (NLPSEQ_DATA): fp32 against AMP on the main recipe.
gpu-check: setup
	$(BIN)/python benchmarks/gpu_check.py

clean:
	rm -rf runs/demo
