"""Precision of inference: fp32 as trained, int8 matrix products with per-channel weight scales, or bf16.

``int8`` is torch's dynamic quantization: weights of linear and recurrent layers are stored as int8
with one scale per output row, activations are quantized on the fly per batch, and each product runs
in int8 with int32 accumulation (fbgemm on x86). Models whose output layer reuses an embedding
matrix (tied weights) turn it into a linear layer first (``untie_for_inference``), so the largest
product of a decoding step is quantized too.

``bf16`` stores weights and activations in bfloat16 (8 bits of mantissa), for CPUs whose oneDNN kernels
compute in it natively (AVX512-BF16 or AMX) and for GPUs; log-probabilities are still taken in fp32.
"""

from __future__ import annotations

import copy
import warnings
from typing import Literal

import torch
from torch import nn

from ..errors import RecipeError
from .layers import FusedStep, fused_step_class

Precision = Literal["fp32", "int8", "bf16"]
PRECISIONS = ("fp32", "int8", "bf16")


def with_precision(model: nn.Module, precision: str) -> nn.Module:
    """``model`` (in eval mode) for inference at ``precision``; fp32 returns it unchanged.

    Raises:
        RecipeError: an unknown precision, int8 on a machine without a quantized engine, or bf16 on a CPU
            without bf16 arithmetic.
    """
    if precision == "fp32":
        return model
    if precision not in PRECISIONS:
        raise RecipeError(f"precision '{precision}': choose from {', '.join(PRECISIONS)}")
    if precision == "bf16":
        device = next(model.parameters()).device
        if device.type == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            raise RecipeError("precision bf16: this CPU has no bf16 arithmetic (AVX512-BF16 or AMX); use int8")
        return copy.deepcopy(model).eval().to(torch.bfloat16)
    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in ("fbgemm", "x86", "qnnpack") if e in engines), None)
    if engine is None:
        raise RecipeError("precision int8: this build of torch has no quantized engine")
    torch.backends.quantized.engine = engine
    model = copy.deepcopy(model).eval()
    if hasattr(model, "untie_for_inference"):
        model.untie_for_inference()
    # A decoder's one-step torch cells carry a step() of their own (a subclass): quantization maps
    # exact classes, so they go in as torch's cells and come back as quantized cells with step().
    stepped = [name for name, m in model.named_modules() if isinstance(m, FusedStep)]
    for name in stepped:
        module = model.get_submodule(name)
        module.__class__ = next(c for c in type(module).__mro__ if c.__module__.startswith("torch."))
    with warnings.catch_warnings():  # torch marks the quantized tensor constructors deprecated; they still work
        warnings.simplefilter("ignore", UserWarning)
        # torch's default dynamic qconfig has one scale per weight tensor; per output row keeps the rows of
        # small norm (rare output pieces, quiet gates) from losing their precision to the largest row.
        per_row = torch.ao.quantization.per_channel_dynamic_qconfig
        quantized = torch.ao.quantization.quantize_dynamic(
            model, {kind: per_row for kind in (nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell)},
            dtype=torch.qint8)
    for name in stepped:
        module = quantized.get_submodule(name)
        module.__class__ = fused_step_class(type(module))
    return quantized
