"""IUnaryLayer semantics."""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register

_OPS = {
    "EXP": torch.exp,
    "LOG": torch.log,
    "SQRT": torch.sqrt,
    "RECIP": torch.reciprocal,
    "ABS": torch.abs,
    "NEG": torch.neg,
    "SIN": torch.sin,
    "COS": torch.cos,
    "TAN": torch.tan,
    "SINH": torch.sinh,
    "COSH": torch.cosh,
    "ASIN": torch.asin,
    "ACOS": torch.acos,
    "ATAN": torch.atan,
    "ASINH": torch.asinh,
    "ACOSH": torch.acosh,
    "ATANH": torch.atanh,
    "CEIL": torch.ceil,
    "FLOOR": torch.floor,
    "ERF": torch.erf,
    "NOT": torch.logical_not,
    "SIGN": torch.sign,
    "ROUND": torch.round,
    "ISINF": torch.isinf,
    "ISNAN": torch.isnan,
}


@register("UNARY")
def unary(layer, inputs):
    op = layer.op.name
    if op not in _OPS:
        raise InterpreterError(f"unary operation {op} is not supported by the reference interpreter")
    return [_OPS[op](inputs[0])]
