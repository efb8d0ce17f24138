"""IQuantizeLayer and IDequantizeLayer semantics (INT8 and FP8 E4M3, per-tensor or per-channel scales)."""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register

#: the largest finite FP8 E4M3 value; TensorRT saturates to it
FP8_MAX = 448.0


def _scale(layer, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The scale broadcast against ``x``: a scalar, or one value per index of ``layer.axis``."""
    if scale.numel() == 1:
        return scale.reshape(())
    if scale.dim() != 1:
        raise InterpreterError(f"layer `{layer.name}`: block-quantization scales are not supported")
    view = [1] * x.dim()
    view[layer.axis % x.dim()] = scale.numel()
    return scale.reshape(view)


@register("QUANTIZE")
def quantize(layer, inputs):
    x, scale = inputs[0], inputs[1]
    if len(inputs) > 2 and inputs[2] is not None and bool(inputs[2].ne(0).any()):
        raise InterpreterError(f"layer `{layer.name}`: non-zero zero points are not supported")
    q = x / _scale(layer, x, scale)
    kind = layer.get_output(0).dtype.name
    if kind == "INT8":
        return [torch.round(q).clamp(-128, 127)]  # round half to even, as TensorRT
    if kind == "FP8":
        return [q.clamp(-FP8_MAX, FP8_MAX)]  # the interpreter rounds to float8_e4m3fn on storing
    raise InterpreterError(f"layer `{layer.name}`: quantization to {kind} is not supported by the interpreter")


@register("DEQUANTIZE")
def dequantize(layer, inputs):
    x, scale = inputs[0].float(), inputs[1]
    return [x * _scale(layer, x, scale)]
