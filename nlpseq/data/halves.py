"""Fixed, seeded halves of an evaluation set (``sst:dev@A``, ``sst:dev@B``).

Choosing anything (a checkpoint, a setting, a seed) on a noisy dev metric and reporting that same
metric inflates it. The split-half protocol chooses on half A and reports on half B, which played
no part in the choice. The halves are a fixed function of the set's size, so every task, model and
run that reads ``REF@A`` sees the same items. Labelled sets are split within each label (a
stratified split): an unstratified one can put, by chance, many more of a hard class in one half
(on SST dev, one seeded split gave the same model 51.5 root accuracy on A and 39.3 on B), and the
halves would then measure class composition instead of selection.
"""

from __future__ import annotations

from typing import Hashable, Sequence, TypeVar

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


def half_indices(n: int, half: str, strata: Sequence[Hashable] | None = None) -> list[int]:
    """Indices of ``half`` of ``n`` items, in order. Each stratum (items of one label; all items when
    ``strata`` is None) is shuffled by a seeded permutation and dealt alternately to A and B, A
    first, so the halves differ in size by at most one per stratum and share its label mix."""
    groups: dict[Hashable, list[int]] = {}
    for i in range(n):
        groups.setdefault(strata[i] if strata is not None else None, []).append(i)
    order = np.random.default_rng(HALF_SEED).permutation(n)  # one permutation: a stratum's order is its members'
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    chosen: list[int] = []
    dealt = 0  # strata alternate which half gets the odd item, so the total stays balanced
    for key in sorted(groups, key=repr):
        members = sorted(groups[key], key=lambda i: rank[i])
        first = 0 if (half == "A") == (dealt % 2 == 0) else 1
        chosen += members[first::2]
        dealt += len(members)
    return sorted(chosen)


def take_half(items: Sequence[T], half: str | None, strata: Sequence[Hashable] | None = None) -> list[T]:
    """The items of ``half`` (A or B; None: all of them), in file order, stratified by ``strata``."""
    if half is None:
        return list(items)
    return [items[i] for i in half_indices(len(items), half, strata)]
