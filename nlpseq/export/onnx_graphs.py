"""A translator as two ONNX graphs, for deployment without PyTorch: the encoder (sources to memory and
the decoder's first state) and one decoder step (previous tokens and state to log-probabilities and
the next state). :mod:`nlpseq.export.onnx_runner` searches over them with onnxruntime.

The decoder state crosses the graph boundary as one tensor per kind of state (``h``, then ``c`` for an
LSTM), each (decoder layers, rows, hidden), beside the attentional ``feed``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from ..errors import NlpseqError
from ..fileio import atomic_write_json
from ..run import INFO, RECIPE

log = logging.getLogger(__name__)

ENCODER, STEP, CONFIG, RUNNER = "encoder.onnx", "decoder_step.onnx", "translator.json", "run_onnx.py"
OPSET = 17


class _EncoderGraph(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: torch.Tensor, src_len: torch.Tensor):
        memory, (layers, feed) = self.model.encode(src, src_len)
        return (memory.states, memory.keys, memory.mask, feed, *(torch.stack(t) for t in zip(*layers)))


class _StepGraph(nn.Module):
    def __init__(self, model: nn.Module, memory_type: type) -> None:
        super().__init__()
        self.model, self.memory_type = model, memory_type

    def forward(self, tokens: torch.Tensor, states: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
                feed: torch.Tensor, *state: torch.Tensor):
        layers = tuple(zip(*(s.unbind(0) for s in state)))
        logp, weights, (layers, feed) = self.model.step(tokens, self.memory_type(states, keys, mask), (layers, feed))
        return (logp, weights, feed, *(torch.stack(t) for t in zip(*layers)))


def export_translator(task: Any, model: nn.Module, out: str | Path) -> Path:
    """Write ``model`` (a trained translator, fp32) and its tokenizers to the folder ``out``: the two
    graphs, both SentencePiece models, the decoding settings (``translator.json``) and the runner
    (``run_onnx.py``, a copy of :mod:`nlpseq.export.onnx_runner`).

    Raises:
        NlpseqError: onnx is not installed, or the model does not export.
    """
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise NlpseqError("export --format onnx needs the onnx packages: pip install 'nlpseq[onnx]'") from None
    from ..models.seq2seq import Memory

    final = Path(out)
    check_export_target(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed onto it when complete: a failed export leaves no half folder.
    out = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        _write_folder(task, model.eval(), out, Memory)
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(out, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(out, final)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return final


EXPORT_FILES = frozenset({ENCODER, STEP, CONFIG, RUNNER, "source.model", "target.model"})


def check_export_target(out: Path) -> None:
    """Refuse a target whose replacement would lose work: an existing file, a run directory, or a
    non-empty folder that is not an earlier export (which holds only the files an export writes).

    Raises:
        NlpseqError: names the target and what it holds.
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise NlpseqError(f"export --out {out}: exists and is not a folder; give a new folder or an earlier export")
    if not out.is_dir():
        return
    names = {p.name for p in out.iterdir()}
    if names and not (CONFIG in names and names <= EXPORT_FILES):
        kind = "a run directory" if names & {INFO, RECIPE} else "a folder with other files"
        raise NlpseqError(f"export --out {out}: is {kind} ({len(names)} entries, such as "
                          f"'{sorted(names - EXPORT_FILES or names)[0]}'); an export replaces only an earlier export "
                          "or an empty folder")


def _write_folder(task: Any, model: nn.Module, out: Path, memory_type: type) -> None:
    try:
        _write_graphs(model, out, memory_type)
    except NlpseqError:
        raise
    except Exception as exc:  # torch's exporter fails in many ways; the first line names the operator
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NlpseqError(f"export --format onnx: this model does not export ({first})") from None
    src_model, tgt_model = task.tokenizer_paths()
    shutil.copyfile(src_model, out / "source.model")
    shutil.copyfile(tgt_model, out / "target.model")
    shutil.copyfile(Path(__file__).with_name("onnx_runner.py"), out / RUNNER)
    cfg = task.decode_cfg
    if cfg.mbr_temperature:
        log.warning("decode.mbr_temperature: the ONNX runner does not rerank by minimum Bayes risk")
    if cfg.shortlist_size:
        log.warning("decode.shortlist_size: the ONNX runner scores the whole vocabulary")
    atomic_write_json(out / CONFIG, {
        "states": [f"state{i}" for i in range(model.state_count)], "max_src_len": task.recipe.data.max_src_len,
        "decode": {k: getattr(cfg, k) for k in ("beam", "alpha", "beta", "patience", "max_len_a", "max_len_b")}})


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """The exporter's C++ side prints shape-inference notes about packed sequences straight to file
    descriptor 2; they say nothing a user can act on (the graphs are checked by the runner's tests)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _write_graphs(model: nn.Module, out: Path, memory_type: type) -> None:
    """Trace the encoder and the decoder step on a small batch; batch, source and row counts stay free."""
    state_names = [f"state{i}" for i in range(model.state_count)]
    src = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 0]])
    src_len = torch.tensor([4, 3])
    rows = {0: "rows"}
    with torch.no_grad(), warnings.catch_warnings(), _native_stderr_silenced():
        warnings.simplefilter("ignore")
        memory, (layers, feed) = model.encode(src, src_len)
        torch.onnx.export(
            _EncoderGraph(model), (src, src_len), str(out / ENCODER), dynamo=False, opset_version=OPSET,
            input_names=["src", "src_len"], output_names=["states", "keys", "mask", "feed", *state_names],
            dynamic_axes={"src": {0: "batch", 1: "src"}, "src_len": {0: "batch"},
                          "states": {0: "batch", 1: "src"}, "keys": {0: "batch", 1: "src"},
                          "mask": {0: "batch", 1: "src"}, "feed": {0: "batch"},
                          **{n: {1: "batch"} for n in state_names}})
        state = [torch.stack(t) for t in zip(*layers)]
        tokens = torch.full((2,), 2, dtype=torch.long)
        torch.onnx.export(
            _StepGraph(model, memory_type), (tokens, memory.states, memory.keys, memory.mask, feed, *state),
            str(out / STEP), dynamo=False, opset_version=OPSET,
            input_names=["tokens", "states", "keys", "mask", "feed", *state_names],
            output_names=["logp", "attention", "feed_out", *(f"{n}_out" for n in state_names)],
            dynamic_axes={"tokens": rows, "states": {0: "rows", 1: "src"}, "keys": {0: "rows", 1: "src"},
                          "mask": {0: "rows", 1: "src"}, "feed": rows, "logp": rows,
                          "attention": {0: "rows", 1: "src"}, "feed_out": rows,
                          **{n: {1: "rows"} for n in state_names}, **{f"{n}_out": {1: "rows"} for n in state_names}})
