"""IElementWiseLayer semantics (TensorRT broadcasting = torch broadcasting over equal ranks)."""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register

_OPS = {
    "SUM": torch.add,
    "PROD": torch.mul,
    "MAX": torch.maximum,
    "MIN": torch.minimum,
    "SUB": torch.sub,
    "POW": torch.pow,
    "AND": torch.logical_and,
    "OR": torch.logical_or,
    "XOR": torch.logical_xor,
    "EQUAL": torch.eq,
    "GREATER": torch.gt,
    "LESS": torch.lt,
}


@register("ELEMENTWISE", "IElementWiseLayer")
def elementwise(layer, inputs):
    a, b = inputs
    op = layer.op.name
    if op == "DIV":
        if a.is_floating_point():
            return [a / b]
        return [torch.div(a, b, rounding_mode="trunc")]
    if op == "FLOOR_DIV":
        return [torch.div(a, b, rounding_mode="floor")]
    if op not in _OPS:
        raise InterpreterError(f"elementwise operation {op} is not supported by the reference interpreter")
    return [_OPS[op](a, b)]
