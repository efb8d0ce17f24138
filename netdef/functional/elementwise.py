"""Elementwise arithmetic with torch broadcasting: add, sub, mul, div, maximum, minimum, pow."""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import binary_operands, wrap
from netdef.tensor import Tensor

_OPS = trt.ElementWiseOperation


def _elementwise(op: str, operation: trt.ElementWiseOperation, a, b) -> Tensor:
    ctx, a, b = binary_operands(op, a, b)
    layer = ctx.add_layer(op, lambda net: net.add_elementwise(a.itensor, b.itensor, operation))
    return wrap(layer.get_output(0), ctx)


def add(input, other) -> Tensor:
    """``input + other`` (tensors or Python scalars, broadcast as torch)."""
    return _elementwise("add", _OPS.SUM, input, other)


def sub(input, other) -> Tensor:
    """``input - other``."""
    return _elementwise("sub", _OPS.SUB, input, other)


def mul(input, other) -> Tensor:
    """``input * other``."""
    return _elementwise("mul", _OPS.PROD, input, other)


def div(input, other) -> Tensor:
    """``input / other`` (true division of float tensors)."""
    return _elementwise("div", _OPS.DIV, input, other)


def maximum(input, other) -> Tensor:
    """Elementwise maximum."""
    return _elementwise("maximum", _OPS.MAX, input, other)


def minimum(input, other) -> Tensor:
    """Elementwise minimum."""
    return _elementwise("minimum", _OPS.MIN, input, other)


def pow(input, exponent) -> Tensor:
    """``input ** exponent``."""
    return _elementwise("pow", _OPS.POW, input, exponent)
