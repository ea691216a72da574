"""What an experiment trains: configurations (named ones from ``--configs``, times the product of
``--sweep`` values) and seeds."""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import RecipeError


@dataclass(frozen=True)
class Configuration:
    """One point of the sweep: its ``KEY=VALUE`` overrides and the folder its runs go into."""

    overrides: tuple[str, ...]
    label: str | None = None  # a named configuration's name (``--configs``)
    own: int = 0  # how many leading overrides are the named configuration's: the rest are swept values

    @property
    def name(self) -> str:
        if self.label is not None:
            return ",".join([self.label, *self.overrides[self.own:]])
        return ",".join(self.overrides) or "recipe"

    @property
    def folder(self) -> str:
        # Keys and values may hold characters a folder name should not.
        return re.sub(r"[^A-Za-z0-9._=,+-]", "_", self.name)


def parse_seeds(text: str) -> list[int]:
    """``'1-5'`` -> [1, 2, 3, 4, 5]; ``'1,3,7'`` and mixtures (``'1-3,10'``) too.

    Raises:
        RecipeError: not a list of integers or ranges, or a range that runs backwards.
    """
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            a, b = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise RecipeError(f"--seeds {text}: expected integers and ranges such as 1-5 or 1,3,7") from None
        if b < a:
            raise RecipeError(f"--seeds {text}: the range {part} runs backwards")
        if b - a > 1000:
            raise RecipeError(f"--seeds {text}: more than 1,000 seeds in {part}")
        seeds += [s for s in range(a, b + 1) if s not in seeds]
    return seeds


def _as_override(key: str, value: object) -> str:
    # JSON is YAML's flow style, so a value survives the round trip through ``--set`` parsing.
    return f"{key}={value if isinstance(value, str) else json.dumps(value)}"


def load_configurations(path: str | os.PathLike) -> list[Configuration]:
    """Named configurations from a YAML file: ``configurations:`` mapping each name to the recipe keys
    it sets (``{train.lr: 0.003, train.schedule: budget_wsd}``; ``{}`` is the recipe as it stands).
    A study's stages are such files, so each configuration keeps one name, and one folder, throughout.

    Raises:
        RecipeError: an unreadable file, no ``configurations`` mapping, a name that is not a plain
            word, or a configuration that is not a mapping of keys.
    """
    from ..recipe import parse_yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"--configs {path}: cannot read it ({exc.__class__.__name__})") from None
    doc = parse_yaml(text, f"--configs {path}")
    named = doc.get("configurations") if isinstance(doc, dict) else None
    if not isinstance(named, dict) or not named:
        raise RecipeError(f"--configs {path}: expected a 'configurations:' mapping of names to recipe keys")
    out = []
    for name, keys in named.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._+-]+", name):
            raise RecipeError(f"--configs {path}: configuration name {name!r} is not a plain word "
                              "(letters, digits, . _ + -)")
        if not isinstance(keys or {}, dict):
            raise RecipeError(f"--configs {path}: configuration '{name}' must map recipe keys to values, "
                              f"not be a {type(keys).__name__}")
        own = tuple(_as_override(str(k), v) for k, v in (keys or {}).items())
        out.append(Configuration(own, name, len(own)))
    return out


def plan_configurations(sweeps: Sequence[str], named: Sequence[Configuration] = ()) -> list[Configuration]:
    """Each named configuration (or the recipe alone) times the product of ``KEY=V1,V2,...`` sweeps,
    first values first.

    Raises:
        RecipeError: a sweep without ``=``, without values, or a key swept twice.
    """
    axes: list[list[str]] = []
    keys: list[str] = []
    for sweep in sweeps:
        key, sep, values = sweep.partition("=")
        key = key.strip()
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not vals:
            raise RecipeError(f"--sweep {sweep}: expected KEY=V1,V2,... such as model.dropout=0,0.3")
        if key in keys:
            raise RecipeError(f"--sweep: key '{key}' is swept twice")
        keys.append(key)
        axes.append([f"{key}={v}" for v in vals])
    combos = list(itertools.product(*axes))
    if not named:
        return [Configuration(tuple(combo)) for combo in combos]
    return [Configuration((*base.overrides, *combo), base.label, len(base.overrides))
            for base in named for combo in combos]
