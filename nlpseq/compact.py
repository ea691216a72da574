"""Compact storage of weights: fp16, or int8 with one scale per row.

Shipped models are stored this way to fit in the package; a run folder reads either kind back as
fp32, so nothing downstream knows. An int8 tensor ``W`` is stored as ``W`` (int8) beside
``W.__row_scale__`` (fp32, one per row): ``W_fp32 = W_int8 * scale[:, None]``, the scale of a row
being its largest magnitude / 127. Rows keep their own range, which matters for embeddings, whose
rare words have small vectors and frequent ones large.
"""

from __future__ import annotations

from typing import Literal

import torch

SCALE = ".__row_scale__"
Storage = Literal["fp32", "fp16", "int8"]
MIN_INT8_SIZE = 4096  # smaller tensors (biases, norms, small matrices) stay fp16: int8 saves nothing there


def pack(state: dict[str, torch.Tensor], storage: Storage) -> dict[str, torch.Tensor]:
    """``state`` as it is stored: floating tensors in fp16, or the large matrices in int8 with row scales."""
    if storage == "fp32":
        return dict(state)
    out: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        if not t.is_floating_point():
            out[name] = t
        elif storage == "int8" and t.dim() == 2 and t.numel() >= MIN_INT8_SIZE:
            scale = t.abs().amax(dim=1).clamp_min(1e-12) / 127.0
            out[name] = torch.round(t / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name + SCALE] = scale.float()
        else:
            out[name] = t.half()
    return out


def unpack(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The fp32 state dict that :func:`pack` stored (an fp32 one is returned as it is)."""
    out: dict[str, torch.Tensor] = {}
    for name, t in stored.items():
        if name.endswith(SCALE):
            continue
        scale = stored.get(name + SCALE)
        if scale is not None:
            out[name] = t.float() * scale[:, None]
        elif t.dtype in (torch.float16, torch.bfloat16):
            out[name] = t.float()
        else:
            out[name] = t
    return out
