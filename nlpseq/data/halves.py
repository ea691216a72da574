"""Fixed, seeded halves of an evaluation set (``sst:dev@A``, ``sst:dev@B``).

Choosing anything (a checkpoint, a setting, a seed) on a noisy dev metric and reporting that same
metric inflates it. The split-half protocol chooses on half A and reports on half B, which played
no part in the choice. The halves are a fixed function of the set's size, so every task, model and
run that reads ``REF@A`` sees the same items.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

from ..errors import DataError

T = TypeVar("T")

HALF_SEED = 20_130_101  # fixed for good: changing it changes which items every reported figure used
HALVES = ("A", "B")


def split_half_ref(ref: str) -> tuple[str, str | None]:
    """``'sst:dev@B'`` -> ``('sst:dev', 'B')``; a reference without a half -> ``(ref, None)``.

    Raises:
        DataError: an ``@`` suffix other than A or B.
    """
    base, sep, half = ref.rpartition("@")
    if not sep or not base or "/" in half:
        return ref, None
    if half.upper() not in HALVES:
        raise DataError(f"{ref}: '@{half}' is not a half of the set; use @A or @B")
    return base, half.upper()


def take_half(items: Sequence[T], half: str | None) -> list[T]:
    """The items of ``half`` (A: the first ceil(n/2) of a seeded permutation, B: the rest), in file order."""
    if half is None:
        return list(items)
    n = len(items)
    order = np.random.default_rng(HALF_SEED).permutation(n)
    cut = (n + 1) // 2
    chosen = np.sort(order[:cut] if half == "A" else order[cut:])
    return [items[i] for i in chosen]
