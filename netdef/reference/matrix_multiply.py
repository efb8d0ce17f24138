"""IMatrixMultiplyLayer semantics (NONE / TRANSPOSE / VECTOR operands, broadcast batch dims)."""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("MATRIX_MULTIPLY", "IMatrixMultiplyLayer")
def matrix_multiply(layer, inputs):
    a, b = inputs
    op0, op1 = layer.op0.name, layer.op1.name
    if op0 == "TRANSPOSE":
        a = a.transpose(-1, -2)
    if op1 == "TRANSPOSE":
        b = b.transpose(-1, -2)
    if op0 == "VECTOR":
        a = a.unsqueeze(-2)
    if op1 == "VECTOR":
        b = b.unsqueeze(-1)
    out = torch.matmul(a, b)
    if op1 == "VECTOR":
        out = out.squeeze(-1)
    if op0 == "VECTOR":
        out = out.squeeze(-1 if op1 == "VECTOR" else -2)
    return [out]
