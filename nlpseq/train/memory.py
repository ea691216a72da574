"""How the training process asks the C allocator for memory.

glibc hands out blocks over its mmap threshold (at most 32 MiB) as fresh mappings and returns them
to the kernel on free, so the large per-batch tensors of training (a translator's vocabulary
logits and their gradients, tens of MiB each) are faulted in page by page at every step. Serving
every block from the heap and keeping freed memory there lets the next batch reuse the same pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Make glibc reuse freed blocks instead of unmapping them; False where the C library is not glibc.

    The process then keeps its peak memory until it exits, which suits a training run.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
