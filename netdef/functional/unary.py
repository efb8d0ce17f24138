"""Unary math: sqrt, rsqrt, exp, log, abs, neg, reciprocal, erf, sin, cos, floor, ceil, round, sign."""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor

_OPS = trt.UnaryOperation


def _unary(op: str, operation: trt.UnaryOperation, input: Tensor, float_only: bool = True) -> Tensor:
    input = require_tensor(op, input)
    if float_only and not is_float(input):
        raise input.ctx.error(
            op, f"expects a float tensor, got {input.dtype.name} `{input.name}`; cast it first with .float()"
        )
    layer = input.ctx.add_layer(op, lambda net: net.add_unary(input.itensor, operation))
    return wrap(layer.get_output(0), input.ctx)


@register_op("IUnaryLayer", torch="torch.sqrt", methods="sqrt")
def sqrt(input: Tensor) -> Tensor:
    """Square root (NaN for negative inputs, as torch)."""
    return _unary("sqrt", _OPS.SQRT, input)


@register_op("IUnaryLayer", torch="torch.rsqrt", methods="rsqrt")
def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(x)``."""
    return _unary("rsqrt", _OPS.RECIP, _unary("rsqrt_sqrt", _OPS.SQRT, input))


@register_op("IUnaryLayer", torch="torch.exp", methods="exp")
def exp(input: Tensor) -> Tensor:
    """``e ** x``."""
    return _unary("exp", _OPS.EXP, input)


@register_op("IUnaryLayer", torch="torch.log", methods="log")
def log(input: Tensor) -> Tensor:
    """Natural logarithm."""
    return _unary("log", _OPS.LOG, input)


@register_op("IUnaryLayer", torch="torch.reciprocal", methods="reciprocal")
def reciprocal(input: Tensor) -> Tensor:
    """``1 / x``."""
    return _unary("reciprocal", _OPS.RECIP, input)


@register_op("IUnaryLayer", torch="torch.erf", methods="erf")
def erf(input: Tensor) -> Tensor:
    """The error function."""
    return _unary("erf", _OPS.ERF, input)


@register_op("IUnaryLayer", torch="torch.sin", methods="sin")
def sin(input: Tensor) -> Tensor:
    """Sine."""
    return _unary("sin", _OPS.SIN, input)


@register_op("IUnaryLayer", torch="torch.cos", methods="cos")
def cos(input: Tensor) -> Tensor:
    """Cosine."""
    return _unary("cos", _OPS.COS, input)


@register_op("IUnaryLayer", torch="torch.floor", methods="floor")
def floor(input: Tensor) -> Tensor:
    """Round down to an integer value (float tensors)."""
    return _unary("floor", _OPS.FLOOR, input)


@register_op("IUnaryLayer", torch="torch.ceil", methods="ceil")
def ceil(input: Tensor) -> Tensor:
    """Round up to an integer value (float tensors)."""
    return _unary("ceil", _OPS.CEIL, input)


@register_op("IUnaryLayer", torch="torch.round", methods="round")
def round(input: Tensor) -> Tensor:
    """Round to the nearest integer value, halves to even (torch.round with decimals=0)."""
    return _unary("round", _OPS.ROUND, input)


@register_op("IUnaryLayer", torch="torch.abs", methods=("abs", "__abs__"))
def abs(input: Tensor) -> Tensor:
    """``|x|`` (float or integer tensors)."""
    return _unary("abs", _OPS.ABS, input, float_only=False)


@register_op("IUnaryLayer", torch="torch.neg", methods="neg")
def neg(input: Tensor) -> Tensor:
    """``-x`` (float or integer tensors)."""
    return _unary("neg", _OPS.NEG, input, float_only=False)


@register_op("IUnaryLayer", torch="torch.sign", methods="sign")
def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of ``x``."""
    return _unary("sign", _OPS.SIGN, input, float_only=False)


@register_op("IUnaryLayer", torch="torch.logical_not", methods=("logical_not", "__invert__"))
def logical_not(input: Tensor) -> Tensor:
    """Elementwise NOT of a bool tensor (``~mask``)."""
    input = require_tensor("logical_not", input)
    if input.dtype != trt.bool:
        raise input.ctx.error(
            "logical_not", f"expects a bool tensor, got {input.dtype.name} `{input.name}`; compare it first (x != 0)"
        )
    return _unary("logical_not", _OPS.NOT, input, float_only=False)
