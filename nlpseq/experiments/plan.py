"""What an experiment trains: configurations (the product of ``--sweep`` values) and seeds."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Sequence

from ..errors import RecipeError


@dataclass(frozen=True)
class Configuration:
    """One point of the sweep: its ``KEY=VALUE`` overrides and the folder its runs go into."""

    overrides: tuple[str, ...]

    @property
    def name(self) -> str:
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


def plan_configurations(sweeps: Sequence[str]) -> list[Configuration]:
    """The product of ``KEY=V1,V2,...`` sweeps, first values first; no sweep: the recipe alone.

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
    return [Configuration(tuple(combo)) for combo in itertools.product(*axes)]
