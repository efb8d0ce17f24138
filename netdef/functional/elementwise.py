"""Elementwise ops with torch broadcasting: arithmetic, comparisons, logic, where, clamp."""

from __future__ import annotations

import numbers

import numpy as np

from netdef._trt import trt
from netdef.functional._common import (
    as_operand,
    binary_operands,
    broadcast_shape,
    constant,
    context_of,
    is_float,
    promote,
    require_tensor,
    result_type,
    unsqueeze_to,
    wrap,
)
from netdef.functional.dtype import cast
from netdef.functional.registry import register_op, tensor_method
from netdef.tensor import Tensor

_OPS = trt.ElementWiseOperation


#: arithmetic on two bool tensors, as torch computes it (``a + b`` is OR, ``a * b`` AND); other arithmetic refused
_BOOL_ARITHMETIC = {_OPS.SUM: _OPS.OR, _OPS.PROD: _OPS.AND, _OPS.MAX: _OPS.OR, _OPS.MIN: _OPS.AND}
_ARITHMETIC = {_OPS.SUB, _OPS.DIV, _OPS.POW, _OPS.FLOOR_DIV}


def _elementwise(op: str, operation: trt.ElementWiseOperation, a, b, dtype: trt.DataType | None = None) -> Tensor:
    """One IElementWiseLayer over ``a`` and ``b`` promoted to torch's result type (or ``dtype``)."""
    ctx, a, b = binary_operands(op, a, b, dtype)
    if a.dtype == trt.bool and operation in (_OPS.GREATER, _OPS.LESS):  # TensorRT orders numbers only
        a, b = cast(a, trt.int32), cast(b, trt.int32)
    elif a.dtype == trt.bool and operation in _BOOL_ARITHMETIC:
        operation = _BOOL_ARITHMETIC[operation]
    elif a.dtype == trt.bool and operation in _ARITHMETIC:
        raise ctx.error(
            op, f"{op} of two bool tensors is not defined (nor in torch); cast them with .int() or .float() first"
        )
    layer = ctx.add_layer(op, lambda net: net.add_elementwise(a.itensor, b.itensor, operation))
    return wrap(layer.get_output(0), ctx)


def _scaled(value, alpha):
    """``alpha * value`` for add's and sub's ``alpha`` (a number times a number stays a number)."""
    if alpha == 1:
        return value
    return value * alpha if isinstance(value, numbers.Number) else mul(value, alpha)


def _unary_layer(op: str, t: Tensor, operation: trt.UnaryOperation) -> Tensor:
    return wrap(t.ctx.add_layer(op, lambda net: net.add_unary(t.itensor, operation)).get_output(0), t.ctx)


def _true_division_dtype(ctx, op: str, input, other) -> trt.DataType:
    """torch's dtype of ``input / other``: the promoted dtype, or the float compute dtype for integers."""
    dtype = result_type(ctx, op, as_operand(input), as_operand(other))
    return dtype if dtype.name in ("FLOAT", "HALF", "BF16") else ctx.compute_dtype


def _trunc(op: str, x: Tensor) -> Tensor:
    """Float ``x`` rounded toward zero (TensorRT has no TRUNC): ceil below 0, floor elsewhere (NaN stays NaN)."""
    negative = _elementwise(op + "_negative", _OPS.LESS, x, 0.0)
    return where(
        negative,
        _unary_layer(op + "_ceil", x, trt.UnaryOperation.CEIL),
        _unary_layer(op + "_floor", x, trt.UnaryOperation.FLOOR),
    )


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.add",
    methods=("add", "__add__"),
    reflected=("__radd__",),
)
def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` (tensors or Python scalars, broadcast as torch)."""
    return _elementwise("add", _OPS.SUM, input, _scaled(other, alpha))


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.sub",
    methods=("sub", "__sub__"),
    reflected=("__rsub__",),
    aliases=("subtract",),
)
def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other``."""
    return _elementwise("sub", _OPS.SUB, input, _scaled(other, alpha))


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.mul",
    methods=("mul", "__mul__"),
    reflected=("__rmul__",),
    aliases=("multiply",),
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
    methods=("div", "__truediv__"),
    reflected=("__rtruediv__",),
    aliases=("divide",),
)
def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other``: true division (integers are divided as floats, as in torch); ``rounding_mode='trunc'``
    rounds the quotient toward zero, ``'floor'`` down (integer operands then give integers)."""
    ctx = context_of(input, other)
    if rounding_mode is None:
        return _elementwise("div", _OPS.DIV, input, other, _true_division_dtype(ctx, "div", input, other))
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode != "trunc":
        raise ctx.error("div", f"rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    quotient = _elementwise("div_trunc", _OPS.DIV, input, other)  # integers: TensorRT's DIV rounds toward zero
    return _trunc("div_trunc", quotient) if is_float(quotient) else quotient


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "ISelectLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.floor_divide",
    methods=("floor_divide", "__floordiv__"),
    reflected=("__rfloordiv__",),
    limits="floats: floor of the rounded quotient (1 // 0.1 is 10 here; torch corrects the rounding to 9)",
)
def floor_divide(input, other) -> Tensor:
    """``input // other``: the quotient rounded down, as torch (integers stay integers)."""
    ctx, a, b = binary_operands("floor_divide", input, other)
    if a.dtype == trt.bool:
        raise ctx.error("floor_divide", "floor division of bool tensors is not defined (nor in torch); cast them first")
    if not is_float(a):
        return _elementwise("floor_divide", _OPS.FLOOR_DIV, a, b)
    return _unary_layer("floor_divide_floor", _elementwise("floor_divide", _OPS.DIV, a, b), trt.UnaryOperation.FLOOR)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "ISelectLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.remainder",
    methods=("remainder", "__mod__"),
    reflected=("__rmod__",),
    limits="floats: input - floor(input / other) * other, which can differ from torch's fmod-based result by "
    "a rounding",
)
def remainder(input, other) -> Tensor:
    """``input % other`` with the sign of ``other`` (Python's modulo, torch.remainder)."""
    _, a, b = binary_operands("remainder", input, other)
    return sub(a, mul(floor_divide(a, b), b))


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "ISelectLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.fmod",
    methods="fmod",
    limits="floats: input - trunc(input / other) * other, which can differ from C's fmod by a rounding",
)
def fmod(input, other) -> Tensor:
    """The remainder of ``input / other`` with the sign of ``input`` (C's fmod, torch.fmod)."""
    ctx, a, b = binary_operands("fmod", input, other)
    if a.dtype == trt.bool:
        raise ctx.error("fmod", "fmod of bool tensors is not defined (nor in torch); cast them first")
    return sub(a, mul(div(a, b, rounding_mode="trunc"), b))


@register_op(
    "ICastLayer", "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.maximum", methods="maximum"
)
def maximum(input, other) -> Tensor:
    """Elementwise maximum."""
    return _elementwise("maximum", _OPS.MAX, input, other)


@register_op(
    "ICastLayer", "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.minimum", methods="minimum"
)
def minimum(input, other) -> Tensor:
    """Elementwise minimum."""
    return _elementwise("minimum", _OPS.MIN, input, other)


@register_op(
    "ICastLayer",
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


def _not(op: str, t: Tensor) -> Tensor:
    layer = t.ctx.add_layer(op + "_not", lambda net: net.add_unary(t.itensor, trt.UnaryOperation.NOT))
    return wrap(layer.get_output(0), t.ctx)


@register_op(
    "ICastLayer", "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.eq", methods=("eq", "__eq__")
)
def eq(input, other) -> Tensor:
    """``input == other`` as a bool tensor."""
    return _elementwise("eq", _OPS.EQUAL, input, other)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.ne",
    methods=("ne", "__ne__"),
)
def ne(input, other) -> Tensor:
    """``input != other`` as a bool tensor (True where either is NaN, as torch)."""
    return _not("ne", _elementwise("ne", _OPS.EQUAL, input, other))


@register_op(
    "ICastLayer", "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.gt", methods=("gt", "__gt__")
)
def gt(input, other) -> Tensor:
    """``input > other`` as a bool tensor."""
    return _elementwise("gt", _OPS.GREATER, input, other)


@register_op(
    "ICastLayer", "IConstantLayer", "IElementWiseLayer", "IShuffleLayer", torch="torch.lt", methods=("lt", "__lt__")
)
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
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.ge",
    methods=("ge", "__ge__"),
)
def ge(input, other) -> Tensor:
    """``input >= other`` as a bool tensor."""
    return _or_equal("ge", _OPS.GREATER, input, other)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.le",
    methods=("le", "__le__"),
)
def le(input, other) -> Tensor:
    """``input <= other`` as a bool tensor."""
    return _or_equal("le", _OPS.LESS, input, other)


def _truth(op: str, value):
    """``value`` as a bool tensor (nonzero is True), as torch's logical ops read any dtype."""
    value = as_operand(value)
    if isinstance(value, Tensor) and value.dtype != trt.bool:
        return ne(value, 0)
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return bool(value)
    return value


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.logical_and",
    methods="logical_and",
)
def logical_and(input, other) -> Tensor:
    """Elementwise AND of the truth values (nonzero is True) of ``input`` and ``other``, as a bool tensor."""
    return _elementwise("logical_and", _OPS.AND, _truth("logical_and", input), _truth("logical_and", other))


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.logical_or",
    methods="logical_or",
)
def logical_or(input, other) -> Tensor:
    """Elementwise OR of the truth values (nonzero is True) of ``input`` and ``other``, as a bool tensor."""
    return _elementwise("logical_or", _OPS.OR, _truth("logical_or", input), _truth("logical_or", other))


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.logical_xor",
    methods="logical_xor",
)
def logical_xor(input, other) -> Tensor:
    """Elementwise XOR of the truth values (nonzero is True) of ``input`` and ``other``, as a bool tensor."""
    return _elementwise("logical_xor", _OPS.XOR, _truth("logical_xor", input), _truth("logical_xor", other))


def _require_bool(op: str, *values) -> None:
    for v in values:
        v = as_operand(v)
        if isinstance(v, Tensor) and v.dtype != trt.bool:
            raise v.ctx.error(
                op,
                f"expects bool tensors, got {v.dtype.name} `{v.name}`: TensorRT has no bitwise integer operations; "
                "compare it first (x != 0) or use torch.logical_*",
            )


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.bitwise_and",
    methods=("bitwise_and", "__and__", "__rand__"),
)
def bitwise_and(input, other) -> Tensor:
    """``a & b`` of bool tensors (elementwise AND; integers are refused: TensorRT has no bitwise operations)."""
    _require_bool("bitwise_and", input, other)
    return _elementwise("bitwise_and", _OPS.AND, input, other)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.bitwise_or",
    methods=("bitwise_or", "__or__", "__ror__"),
)
def bitwise_or(input, other) -> Tensor:
    """``a | b`` of bool tensors (elementwise OR)."""
    _require_bool("bitwise_or", input, other)
    return _elementwise("bitwise_or", _OPS.OR, input, other)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    torch="torch.bitwise_xor",
    methods=("bitwise_xor", "__xor__", "__rxor__"),
)
def bitwise_xor(input, other) -> Tensor:
    """``a ^ b`` of bool tensors (elementwise XOR)."""
    _require_bool("bitwise_xor", input, other)
    return _elementwise("bitwise_xor", _OPS.XOR, input, other)


# -- selection ---------------------------------------------------------------------------------------


@register_op("ICastLayer", "IConstantLayer", "ISelectLayer", "IShuffleLayer", torch="torch.where")
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
    input, other = promote(ctx, op, input, other)  # torch.where promotes as arithmetic does
    shape = broadcast_shape(ctx, op, condition.static_shape, input.static_shape)
    broadcast_shape(ctx, op, shape, other.static_shape)
    n = max(condition.ndim, input.ndim, other.ndim)
    c, a, b = (unsqueeze_to(ctx, t, n, op) for t in (condition, input, other))
    layer = ctx.add_layer(op, lambda net: net.add_select(c.itensor, a.itensor, b.itensor))
    return wrap(layer.get_output(0), ctx)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "ISelectLayer",
    "IShuffleLayer",
    torch="torch.Tensor.masked_fill",
    methods="masked_fill",
)
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a Python number or a tensor) wherever the bool ``mask`` is True."""
    input = require_tensor("masked_fill", input)
    value = as_operand(value)
    if isinstance(value, Tensor):  # torch casts the value to input's dtype (masked_fill never promotes)
        value = cast(value, input.dtype)
    elif isinstance(value, numbers.Number) and not is_float(input):
        value = bool(value) if input.dtype == trt.bool else int(value)  # float -> int truncates, as torch
    return where(mask, value, input)


@register_op(
    "ICastLayer",
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


@tensor_method("where")
def _where(self: Tensor, condition: Tensor, other) -> Tensor:
    """``self`` where ``condition`` is True, else ``other`` (torch.Tensor.where: ``F.where(condition, self, other)``)."""
    return where(condition, self, other)


@tensor_method("__neg__")
def _negative(self: Tensor) -> Tensor:
    """``-self``, as ``self * -1`` (in ``self``'s dtype; refused for bool, as in torch)."""
    if self.dtype == trt.bool:
        raise self.ctx.error("neg", f"-x of the bool tensor `{self.name}` is not defined (nor in torch); use ~x")
    return mul(self, -1)
