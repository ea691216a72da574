"""Run directories: everything needed to evaluate, serve or resume a trained model.

Layout (fixed names)::

    RUN/recipe.yaml          the resolved recipe (every key, defaults filled in)
    RUN/run.json             nlpseq version, task, model name, label names
    RUN/vocab.json           token vocabulary (or RUN/tokenizer/ for SentencePiece models)
    RUN/model.safetensors    the best weights
    RUN/metrics.jsonl        one JSON object per logged event
    RUN/checkpoints/step_N/  resumable state: weights + optimizer/scheduler/RNG in state.pt
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


from .errors import RunDirError
from .faults import kill_part_way
from .fileio import atomic_path, atomic_write_text
from .version import RUN_FORMAT, __version__

RECIPE, INFO, VOCAB, WEIGHTS, METRICS = "recipe.yaml", "run.json", "vocab.json", "model.safetensors", "metrics.jsonl"
TOKENIZER, CHECKPOINTS, TENSORBOARD = "tokenizer", "checkpoints", "tensorboard"
STATE = "state.pt"  # in each checkpoint, beside its WEIGHTS: optimizer, schedule, RNG and progress


def is_pickle(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like a pickle (protocol 2 or later) or a ``torch.save`` zip archive."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") or head == b"PK\x03\x04"


class RunDir:
    """A run directory on disk; create it with :meth:`create`, open an existing one with :meth:`open`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @classmethod
    def create(cls, path: str | os.PathLike, recipe_yaml: str, resume: bool = False) -> "RunDir":
        """Make a run directory holding ``recipe_yaml``.

        Raises:
            RunDirError: the folder already holds a run and ``resume`` is false (never overwrite saved work).
        """
        run = cls(path)
        if (run / RECIPE).exists() and not resume:
            raise RunDirError(f"{run.path}: already holds a run; pass --resume to continue it or choose another --out")
        if run.path.exists() and not run.path.is_dir():
            raise RunDirError(f"{run.path}: exists and is not a folder")
        run.path.mkdir(parents=True, exist_ok=True)
        if resume:
            run.check_contained()
        if not (run / RECIPE).exists():
            atomic_write_text(run / RECIPE, recipe_yaml)
        return run

    def discard_new_entries(self, found: set[str] | None) -> None:
        """Remove what was written here since ``found`` (the folder's entries then; None: it did not exist)."""
        if not self.path.is_dir():
            return
        for entry in self.path.iterdir():
            if found is None or entry.name not in found:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        if found is None and not any(self.path.iterdir()):
            self.path.rmdir()

    @classmethod
    def open(cls, path: str | os.PathLike, task: str | tuple[str, ...] | None = None) -> "RunDir":
        """Open an existing run directory, optionally checking that it belongs to ``task``.

        Raises:
            RunDirError: not a run directory, an unfinished one, or one of another task.
        """
        run = cls(path)
        if not run.path.is_dir():
            raise RunDirError(f"{run.path}: no such run directory")
        if not (run / RECIPE).is_file():
            raise RunDirError(f"{run.path}: not a run directory (no {RECIPE})")
        if not (run / INFO).is_file() or not (run / WEIGHTS).is_file():
            raise RunDirError(f"{run.path}: the run has no trained weights yet ({WEIGHTS} missing)")
        run.check_contained()
        run.info_field("task", str)
        made = run.info().get("run_format", 1)
        if not isinstance(made, int) or made > RUN_FORMAT:
            raise RunDirError(f"{run.path}: written in run format {made}, newer than this nlpseq ({__version__}) "
                              f"reads (up to {RUN_FORMAT}); upgrade nlpseq")
        wanted = (task,) if isinstance(task, str) else task
        if wanted is not None and run.info().get("task") not in wanted:
            raise RunDirError(f"{run.path}: is a '{run.info().get('task')}' run, not a '{' or '.join(wanted)}' run")
        return run

    def check_contained(self) -> None:
        """Refuse a run whose files lead outside it: a symbolic link planted in a run directory (or a
        checkpoint) must not make nlpseq read, or later overwrite, a file elsewhere.

        Raises:
            RunDirError: names the first link that points outside the run directory.
        """
        root = self.path.resolve()
        for folder, dirs, files in os.walk(self.path):
            for name in dirs + files:
                entry = Path(folder) / name
                if entry.is_symlink():
                    target = entry.resolve()
                    if target != root and root not in target.parents:
                        raise RunDirError(f"{entry}: a link to {target}, outside the run directory; "
                                          "nlpseq reads and writes a run's own files only")

    def recipe_tree(self) -> dict[str, Any]:
        """The run's recipe as nested dicts, read with the recipe loader's checks (one-line errors)."""
        from .errors import RecipeError
        from .recipe import parse_yaml

        try:
            text = (self / RECIPE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{self / RECIPE}: unreadable ({exc})") from None
        try:
            return parse_yaml(text, str(self / RECIPE))
        except RecipeError as exc:
            raise RunDirError(str(exc)) from None

    def info(self) -> dict[str, Any]:
        """The run's ``run.json``: a JSON object (a trained run's names at least its task).

        Raises:
            RunDirError: the file is unreadable, not JSON, or not such an object.
        """
        try:
            info = json.loads((self / INFO).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunDirError(f"{self / INFO}: unreadable ({exc})") from None
        if not isinstance(info, dict):
            raise RunDirError(f"{self / INFO}: not a run's information (a JSON object was expected, found "
                              f"{type(info).__name__})")
        return info

    def info_field(self, key: str, kind: type, check: Any = None) -> Any:
        """``run.json``'s ``key``, checked to be a ``kind`` (and to pass ``check``, when given).

        Raises:
            RunDirError: names the file and the key that is missing or of the wrong shape.
        """
        value = self.info().get(key)
        if not isinstance(value, kind) or (check is not None and not check(value)):
            raise RunDirError(f"{self / INFO}: '{key}' is missing or malformed (found {str(value)[:60]!r}); "
                              "the file does not belong to this run")
        return value

    def load_state_into(self, model: Any, state: dict | None = None) -> None:
        """Load this run's saved weights (or ``state``, weights read from it otherwise) into ``model``,
        refusing weights that do not fit it in one line.

        Raises:
            RunDirError: another model's weights (missing or unexpected tensors, other sizes).
        """
        try:
            model.load_state_dict(self.load_weights() if state is None else state)
        except RuntimeError as exc:
            detail = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
            source = self / WEIGHTS if state is None else self / "checkpoints"
            raise RunDirError(f"{source}: these weights do not fit the model that the run's recipe and "
                              f"vocabulary describe ({detail[:160]})") from None

    def write_info(self, info: dict[str, Any], step: int | None = None) -> None:
        """Write ``run.json`` atomically (``step``: the training step, for the fault tests' kill point)."""
        with atomic_path(self / INFO) as tmp:
            tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            if step is not None:
                kill_part_way("info.partial", step, tmp)

    def save_weights(self, state: dict, name: str = WEIGHTS, step: int | None = None) -> None:
        """Write a state dict as safetensors, atomically (``step``: as for :meth:`write_info`)."""
        from safetensors.torch import save_file

        with atomic_path(self / name) as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp))
            if step is not None:
                kill_part_way("selected.partial", step, tmp)

    def load_weights(self, name: str = WEIGHTS) -> dict:
        """Read safetensors weights; no pickled code is ever executed."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from .compact import unpack

        try:
            return unpack(load_file(str(self / name)))
        except (SafetensorError, OSError) as exc:
            if is_pickle(self / name):
                raise RunDirError(f"{self / name}: a pickle, not safetensors weights; nlpseq never unpickles "
                                  "weights (loading a pickle can run any code)") from None
            raise RunDirError(f"{self / name}: unreadable weights ({exc})") from None

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self / METRICS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self / METRICS
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by a crash: what follows it is not trustworthy
        return out

    def truncate_metrics(self, last_step: int) -> None:
        """Drop events logged after ``last_step``: on resume they are logged again."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
        atomic_write_text(self / METRICS, "".join(json.dumps(r) + "\n" for r in kept))
