"""Recipes: YAML files validated into typed sections, with ``--set a.b=value`` overrides.

A recipe names a task and a model; each section is a pydantic model that forbids unknown
keys, so a typo is an error naming the key and the closest valid one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .config import Section
from .errors import RecipeError, did_you_mean, printable
from .registry import MODELS, TASKS
from .train.config import TrainConfig

__all__ = ["Recipe", "Section", "TrainConfig", "build_recipe", "load_recipe", "apply_overrides"]

_TOP_KEYS = {"task", "seed", "description", "data", "text", "model", "train", "decode"}


@dataclass
class Recipe:
    """A validated recipe: the task's ``data`` and ``text`` sections, the model's section and ``train``."""

    task: str
    seed: int
    description: str
    data: Section
    text: Section
    model: Section
    train: TrainConfig
    decode: Section | None = None  # for tasks that generate text (translation)
    source: str = "<recipe>"

    @property
    def model_name(self) -> str:
        return self.model.name  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        """Every key with its resolved value, as written into a run directory."""
        return {
            "task": self.task,
            "seed": self.seed,
            "description": self.description,
            "data": self.data.model_dump(mode="json"),
            "text": self.text.model_dump(mode="json"),
            "model": self.model.model_dump(mode="json"),
            "train": self.train.model_dump(mode="json"),
            **({"decode": self.decode.model_dump(mode="json")} if self.decode is not None else {}),
        }

    def dump(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


MAX_RECIPE_BYTES = 1 << 20  # a recipe is a page of settings; anything larger is not one
MAX_DEPTH = 20  # sections nest two or three levels; lists of teachers one more


class _RecipeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases: recipes never need them, and an alias bomb (a few lines
    expanding to billions of values) must be refused before anything walks it."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed in a recipe",
                                              event.start_mark)
        return super().compose_node(parent, index)


_FLOW = re.compile(r"[\[\]{}'\"#\n]")


def _flow_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside quotes and comments: a linear scan, where PyYAML
    takes seconds over a few thousand levels before it fails."""
    depth = deepest = 0
    quote = None
    comment = False
    for m in _FLOW.finditer(text):
        c = m.group()
        if comment:
            comment = c != "\n"
        elif quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#":
            comment = m.start() == 0 or text[m.start() - 1] in " \t\n"
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def parse_yaml(text: str, where: str) -> Any:
    """``text`` parsed as recipe YAML; any problem is a one-line :class:`RecipeError` starting with ``where``."""
    if _flow_depth(text) > MAX_DEPTH:
        raise RecipeError(f"{where}: nested more than {MAX_DEPTH} levels deep; a recipe is a few sections of keys")
    try:
        value = yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 (a SafeLoader, minus aliases)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]  # PyYAML's messages span lines
        raise RecipeError(f"{where}{line}: not valid YAML ({what})") from None
    except RecursionError:
        raise RecipeError(f"{where}: nested too deeply to be a recipe") from None
    except ValueError as exc:  # an integer of thousands of digits, past Python's conversion limit
        if "integer string conversion" in str(exc):
            raise RecipeError(f"{where}: an integer of more than 4,300 digits; no key takes one") from None
        raise RecipeError(f"{where}: {exc}") from None
    _check_depth(value, where)
    return value


def _check_depth(value: Any, where: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise RecipeError(f"{where}: nested more than {MAX_DEPTH} levels deep; a recipe is a few sections of keys")
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _check_depth(child, where, depth + 1)


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for i, k in enumerate(keys[:-1]):
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise RecipeError(f"--set {dotted}: '{'.'.join(keys[: i + 1])}' is a value, not a section")
        node = nxt
    node[keys[-1]] = value


def apply_overrides(tree: dict, overrides: list[str]) -> dict:
    """Apply ``key.sub=value`` strings; values are parsed as YAML scalars (``3``, ``true``, ``null``)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"--set '{item}': expected KEY=VALUE, e.g. train.lr=0.001")
        if _flow_depth(raw) > MAX_DEPTH:
            raise RecipeError(f"--set {key.strip()}: nested more than {MAX_DEPTH} levels deep")
        try:
            value = yaml.load(raw, Loader=_RecipeLoader) if raw.strip() else ""  # noqa: S506
        except yaml.YAMLError:
            value = raw  # not YAML: the plain string, which the section's type check then judges
        except (RecursionError, ValueError):
            value = parse_yaml(raw, f"--set {key.strip()}")  # raises the one-line error
        _check_depth(value, f"--set {key.strip()}")
        _set_dotted(tree, key.strip(), value)
    return tree


def _validate(cls: type[Section], raw: Any, prefix: str, source: str) -> Section:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(f"{source}: '{prefix}' must be a mapping of keys, not {type(raw).__name__}")
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(printable(p) for p in err["loc"])
        key = f"{prefix}.{loc}" if loc else prefix
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(str(err["loc"][-1]), cls.model_fields, f"{prefix}.") if len(err["loc"]) == 1 else ""
            raise RecipeError(f"{source}: unknown key '{key}'{hint}") from None
        msg = str(err["ctx"]["error"]) if err["type"] == "value_error" and "error" in err.get("ctx", {}) else err["msg"]
        shown = repr(err.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."  # a line, whatever the value's size
        raise RecipeError(f"{source}: {key}: {msg} (got {shown})") from None


def _description(value: Any, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise RecipeError(f"{source}: description: must be text, not {type(value).__name__}")
    return str(value)


def build_recipe(tree: dict, source: str = "<recipe>") -> Recipe:
    """Validate a recipe given as nested dicts.

    Raises:
        RecipeError: a key is unknown, missing or mistyped; the message names it.
    """
    if not isinstance(tree, dict):
        raise RecipeError(f"{source}: a recipe is a mapping with keys {sorted(_TOP_KEYS)}")
    for k in tree:
        if k not in _TOP_KEYS:
            raise RecipeError(f"{source}: unknown key '{printable(k)[:80]}'{did_you_mean(k, _TOP_KEYS)}")
    if "task" not in tree:
        raise RecipeError(f"{source}: missing key 'task' (one of {', '.join(TASKS.names())})")
    task_cls = TASKS.get(str(tree["task"])[:100])
    model_raw = tree.get("model") or {}
    if not isinstance(model_raw, dict):
        raise RecipeError(f"{source}: 'model' must be a mapping of keys such as {{name: {task_cls.default_model}}}, "
                          f"not {type(model_raw).__name__}")
    model_raw = dict(model_raw)
    model_name = model_raw.get("name", task_cls.default_model)
    model_raw["name"] = model_name
    model_cls = MODELS.get(str(model_name))
    # A task lists its own models; a model added later names the tasks it serves (``tasks``), so
    # neither has to edit the other.
    serving = [*task_cls.models, *(n for n, m in MODELS.items() if task_cls.name in getattr(m, "tasks", ()))]
    if model_name not in serving:
        raise RecipeError(f"{source}: model '{model_name}' does not serve task '{task_cls.name}'; "
                          f"choose from {', '.join(dict.fromkeys(serving))}")
    decode_cls = getattr(task_cls, "DecodeConfig", None)
    if "decode" in tree and decode_cls is None:
        raise RecipeError(f"{source}: task '{task_cls.name}' has no 'decode' section")
    seed = tree.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        shown = f"{seed!r}"[:40] if not isinstance(seed, int) else f"an integer of {len(str(abs(seed)))} digits"
        raise RecipeError(f"{source}: seed: must be an integer from 0 to 2**63 - 1 (got {shown})")
    recipe = Recipe(
        task=task_cls.name,
        seed=seed,
        description=_description(tree.get("description", ""), source),
        data=_validate(task_cls.DataConfig, tree.get("data"), "data", source),
        text=_validate(task_cls.TextConfig, tree.get("text"), "text", source),
        model=_validate(model_cls.Config, model_raw, "model", source),
        train=_validate(TrainConfig, tree.get("train"), "train", source),
        decode=_validate(decode_cls, tree.get("decode"), "decode", source) if decode_cls else None,
        source=source,
    )
    try:
        task_cls.check_recipe(recipe)
    except RecipeError as exc:
        raise RecipeError(f"{source}: {exc}") from None
    return recipe


def recipe_folders() -> list[Path]:
    """Where recipes named without a path are looked for: ``./recipes``, the clone nlpseq runs from,
    and the copy an installed wheel puts under ``<prefix>/share/nlpseq/recipes``."""
    import sys

    here = Path(__file__).resolve().parent.parent / "recipes"
    return list(dict.fromkeys([Path("recipes").resolve(), here, Path(sys.prefix) / "share" / "nlpseq" / "recipes"]))


def find_recipe(path: str | os.PathLike) -> Path:
    """``path`` itself, or a recipe named without its path (``multi30k_de_en_lstm`` or
    ``translation/multi30k_de_en_lstm.yaml``) found in :func:`recipe_folders`.

    Raises:
        RecipeError: neither a file nor a known recipe name; the closest names are suggested.
    """
    p = Path(path)
    if p.is_file():
        return p
    name = p.name if p.suffix in (".yaml", ".yml") else p.name + ".yaml"
    known: dict[str, Path] = {}
    for folder in recipe_folders():
        if folder.is_dir():
            for found in sorted(folder.rglob("*.yaml")):
                known.setdefault(found.name, found)
                rel = found.relative_to(folder).as_posix()
                if rel == (p.as_posix() if p.suffix else p.as_posix() + ".yaml"):
                    return found
    if len(p.parts) <= 2 and name in known:
        return known[name]
    raise RecipeError(f"{p}: no such recipe file or recipe name{did_you_mean(p.stem, [k[:-5] for k in known])}")


def load_recipe(path: str | os.PathLike, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe file.

    Raises:
        RecipeError: the file is missing or not YAML, or a key is wrong; the message names file and key.
    """
    p = find_recipe(path)
    if p.stat().st_size > MAX_RECIPE_BYTES:
        raise RecipeError(f"{p}: {p.stat().st_size:,} bytes; a recipe is at most {MAX_RECIPE_BYTES:,}")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RecipeError(f"{p}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the recipe as UTF-8") from None
    tree = parse_yaml(text, str(p)) or {}
    if not isinstance(tree, dict):
        raise RecipeError(f"{p}: a recipe is a mapping with keys {sorted(_TOP_KEYS)}")
    return build_recipe(apply_overrides(tree, overrides or []), str(p))
