"""Elementwise ops with torch broadcasting: arithmetic, comparisons, logic, where, clamp."""

from __future__ import annotations

import numbers

import numpy as np

from netdef._trt import trt
from netdef.functional._common import (
    binary_operands,
    broadcast_shape,
    constant,
    context_of,
    is_float,
    require_tensor,
    scalar_like,
    unsqueeze_to,
    wrap,
)
from netdef.functional.dtype import cast
from netdef.functional.registry import register_op, tensor_method
from netdef.tensor import Tensor

_OPS = trt.ElementWiseOperation


_ARITHMETIC = (_OPS.SUM, _OPS.SUB, _OPS.PROD, _OPS.DIV, _OPS.MAX, _OPS.MIN, _OPS.POW, _OPS.FLOOR_DIV)
#: torch's arithmetic on two bools stays bool: ``+`` and ``maximum`` are or, ``*`` and ``minimum`` are and
_ON_BOOLS = {_OPS.SUM: _OPS.OR, _OPS.MAX: _OPS.OR, _OPS.PROD: _OPS.AND, _OPS.MIN: _OPS.AND}


def _elementwise(op: str, operation: trt.ElementWiseOperation, a, b) -> Tensor:
    given = (a, b)
    ctx, a, b = binary_operands(op, a, b)
    if a.dtype == trt.bool and operation in _ARITHMETIC:  # TensorRT has no arithmetic on bool
        if operation not in _ON_BOOLS or not all(isinstance(v, (Tensor, bool)) for v in given):
            raise ctx.error(
                op,
                f"{op} of the bool tensor `{a.name if isinstance(given[0], Tensor) else b.name}` with "
                f"{'a number' if not all(isinstance(v, (Tensor, bool)) for v in given) else 'a bool'}: torch "
                "promotes bools to the other operand's type, TensorRT has no arithmetic on bool; cast first, "
                "e.g. `mask.to('int32')` or `mask.to('float32')`",
            )
        operation = _ON_BOOLS[operation]
    layer = ctx.add_layer(op, lambda net: net.add_elementwise(a.itensor, b.itensor, operation))
    return wrap(layer.get_output(0), ctx)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.add",
    methods="__add__",
    reflected=("__radd__",),
)
def add(input, other) -> Tensor:
    """``input + other`` (tensors or Python scalars, broadcast as torch)."""
    return _elementwise("add", _OPS.SUM, input, other)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.sub",
    methods="__sub__",
    reflected=("__rsub__",),
)
def sub(input, other) -> Tensor:
    """``input - other``."""
    return _elementwise("sub", _OPS.SUB, input, other)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.mul",
    methods="__mul__",
    reflected=("__rmul__",),
)
def mul(input, other) -> Tensor:
    """``input * other``."""
    return _elementwise("mul", _OPS.PROD, input, other)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.div",
    methods="__truediv__",
    reflected=("__rtruediv__",),
)
def div(input, other) -> Tensor:
    """``input / other``: true division; integer tensors are divided as floats, as in torch."""
    ctx = context_of(input, other)
    input, other = (
        cast(t, ctx.compute_dtype) if isinstance(t, Tensor) and not is_float(t) else t for t in (input, other)
    )
    return _elementwise("div", _OPS.DIV, input, other)


@register_op("IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.maximum")
def maximum(input, other) -> Tensor:
    """Elementwise maximum."""
    return _elementwise("maximum", _OPS.MAX, input, other)


@register_op("IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.minimum")
def minimum(input, other) -> Tensor:
    """Elementwise minimum."""
    return _elementwise("minimum", _OPS.MIN, input, other)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.pow",
    methods=("pow", "__pow__"),
    reflected=("__rpow__",),
)
def pow(input, exponent) -> Tensor:
    """``input ** exponent`` (either side may be a Python number); ``x ** 2`` is emitted as ``x * x``."""
    if isinstance(input, Tensor) and isinstance(exponent, (int, float)) and exponent == 2:
        return _elementwise("pow", _OPS.PROD, input, input)
    return _elementwise("pow", _OPS.POW, input, exponent)


# -- comparisons and logic (bool results, for where / masked_fill) ----------------------------------


def _require_bool(op: str, *values) -> None:
    for v in values:
        if isinstance(v, Tensor) and v.dtype != trt.bool:
            raise v.ctx.error(op, f"expects bool tensors, got {v.dtype.name} `{v.name}`; compare it first (x != 0)")


def _not(op: str, t: Tensor) -> Tensor:
    layer = t.ctx.add_layer(op + "_not", lambda net: net.add_unary(t.itensor, trt.UnaryOperation.NOT))
    return wrap(layer.get_output(0), t.ctx)


@register_op("IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.eq", methods=("eq", "__eq__"))
def eq(input, other) -> Tensor:
    """``input == other`` as a bool tensor."""
    return _elementwise("eq", _OPS.EQUAL, input, other)


@register_op(
    "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", "IUnaryLayer", torch="torch.ne", methods=("ne", "__ne__")
)
def ne(input, other) -> Tensor:
    """``input != other`` as a bool tensor (True where either is NaN, as torch)."""
    return _not("ne", _elementwise("ne", _OPS.EQUAL, input, other))


@register_op("IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.gt", methods=("gt", "__gt__"))
def gt(input, other) -> Tensor:
    """``input > other`` as a bool tensor."""
    return _elementwise("gt", _OPS.GREATER, input, other)


@register_op("IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.lt", methods=("lt", "__lt__"))
def lt(input, other) -> Tensor:
    """``input < other`` as a bool tensor."""
    return _elementwise("lt", _OPS.LESS, input, other)


def _or_equal(op: str, strict: trt.ElementWiseOperation, input, other) -> Tensor:
    _, a, b = binary_operands(op, input, other)
    if not is_float(a):  # no NaN: one comparison and a NOT
        inverse = _OPS.LESS if strict == _OPS.GREATER else _OPS.GREATER
        return _not(op, _elementwise(op, inverse, a, b))
    # (a > b) or (a == b): False where either is NaN, as torch (not (a < b) would be True)
    return logical_or(_elementwise(op, strict, a, b), _elementwise(op + "_eq", _OPS.EQUAL, a, b))


@register_op(
    "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", "IUnaryLayer", torch="torch.ge", methods=("ge", "__ge__")
)
def ge(input, other) -> Tensor:
    """``input >= other`` as a bool tensor."""
    return _or_equal("ge", _OPS.GREATER, input, other)


@register_op(
    "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", "IUnaryLayer", torch="torch.le", methods=("le", "__le__")
)
def le(input, other) -> Tensor:
    """``input <= other`` as a bool tensor."""
    return _or_equal("le", _OPS.LESS, input, other)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.logical_and",
    methods=("logical_and", "__and__", "__rand__"),
)
def logical_and(input, other) -> Tensor:
    """Elementwise AND of bool tensors (``a & b``)."""
    _require_bool("logical_and", input, other)
    return _elementwise("logical_and", _OPS.AND, input, other)


@register_op(
    "IElementWiseLayer", "IShuffleLayer", torch="torch.logical_or", methods=("logical_or", "__or__", "__ror__")
)
def logical_or(input, other) -> Tensor:
    """Elementwise OR of bool tensors (``a | b``)."""
    _require_bool("logical_or", input, other)
    return _elementwise("logical_or", _OPS.OR, input, other)


@register_op(
    "IElementWiseLayer", "IShuffleLayer", torch="torch.logical_xor", methods=("logical_xor", "__xor__", "__rxor__")
)
def logical_xor(input, other) -> Tensor:
    """Elementwise XOR of bool tensors (``a ^ b``)."""
    _require_bool("logical_xor", input, other)
    return _elementwise("logical_xor", _OPS.XOR, input, other)


# -- selection ---------------------------------------------------------------------------------------


@register_op("IConstantLayer", "ISelectLayer", "IShuffleLayer", torch="torch.where")
def where(condition: Tensor, input, other) -> Tensor:
    """``input`` where ``condition`` is True, else ``other``; all three broadcast as torch.

    ``input`` and ``other`` may be Python numbers (at least one should be a tensor: two numbers give
    a tensor of the network's float compute dtype, or int64 / bool for ints / bools, as torch).
    """
    op = "where"
    ctx = context_of(condition, input, other)
    if not isinstance(condition, Tensor) or condition.dtype != trt.bool:
        got = condition.dtype.name if isinstance(condition, Tensor) else type(condition).__name__
        raise ctx.error(op, f"`condition` must be a bool tensor (e.g. x > 0), got {got}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        if not all(isinstance(v, numbers.Number) for v in (input, other)):
            raise ctx.error(op, "`input` and `other` must be netdef Tensors or Python numbers")
        if all(isinstance(v, bool) for v in (input, other)):
            dtype = trt.bool
        elif all(isinstance(v, int) for v in (input, other)):
            dtype = trt.int64
        else:
            dtype = ctx.compute_dtype
        input = constant(ctx, np.full((1,) * condition.ndim, input), dtype, op + "_scalar")
    if not isinstance(input, Tensor):
        input = scalar_like(ctx, input, other, op)
    if not isinstance(other, Tensor):
        other = scalar_like(ctx, other, input, op)
    if input.dtype != other.dtype:
        raise ctx.error(
            op,
            f"`input` and `other` have different dtypes ({input.dtype.name} `{input.name}` and "
            f"{other.dtype.name} `{other.name}`); cast one with .to(...)",
        )
    shape = broadcast_shape(ctx, op, condition.static_shape, input.static_shape)
    broadcast_shape(ctx, op, shape, other.static_shape)
    n = max(condition.ndim, input.ndim, other.ndim)
    c, a, b = (unsqueeze_to(ctx, t, n, op) for t in (condition, input, other))
    layer = ctx.add_layer(op, lambda net: net.add_select(c.itensor, a.itensor, b.itensor))
    return wrap(layer.get_output(0), ctx)


@register_op("IConstantLayer", "ISelectLayer", "IShuffleLayer", torch="torch.Tensor.masked_fill", methods="masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a Python number or a tensor) wherever the bool ``mask`` is True."""
    input = require_tensor("masked_fill", input)
    return where(mask, value, input)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.clamp",
    methods=("clamp", "clip"),
    aliases=("clip",),
)
def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """``input`` limited to [min, max] (numbers or tensors; either bound may be None; min > max gives max)."""
    input = require_tensor("clamp", input)
    if min is None and max is None:
        raise input.ctx.error("clamp", "give at least one of `min` and `max`")
    out = input
    if min is not None:
        out = _elementwise("clamp_min", _OPS.MAX, out, min)
    if max is not None:
        out = _elementwise("clamp_max", _OPS.MIN, out, max)
    return out


@tensor_method("__neg__")
def _negative(self: Tensor) -> Tensor:
    """``-self``, as ``self * -1``."""
    return mul(self, -1.0)
