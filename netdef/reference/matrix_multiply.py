"""IMatrixMultiplyLayer semantics (NONE / TRANSPOSE / VECTOR operands, broadcast batch dims)."""

from __future__ import annotations

import torch

from netdef.reference._registry import Handler, register, register_specialized


@register("MATRIX_MULTIPLY")
def matrix_multiply(layer, inputs):
    return [_matmul(inputs[0], inputs[1], layer.op0.name, layer.op1.name)]


@register_specialized("MATRIX_MULTIPLY")
def matrix_multiply_specialized(layer) -> Handler:
    op0, op1 = layer.op0.name, layer.op1.name
    return lambda layer, inputs: [_matmul(inputs[0], inputs[1], op0, op1)]


def _matmul(a: torch.Tensor, b: torch.Tensor, op0: str, op1: str) -> torch.Tensor:
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
    return out
