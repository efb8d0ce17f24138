"""Unary math: sqrt, rsqrt, exp, log (log2, log10, log1p, expm1), abs, neg, reciprocal, square, erf, trigonometric
and hyperbolic functions, floor, ceil, round, trunc, frac, sign; isnan / isinf / isfinite / nan_to_num; the two-operand
atan2, hypot, copysign and lerp."""

from __future__ import annotations

import math
import numbers

from netdef._trt import trt
from netdef.functional._common import binary_operands, cast_to, is_float, promote, require_tensor, wrap
from netdef.functional.elementwise import _trunc, add, div, eq, gt, logical_or, lt, mul, ne, sub, where
from netdef.functional.registry import register_op
from netdef.tensor import Tensor

_OPS = trt.UnaryOperation


def _unary(op: str, operation: trt.UnaryOperation, input: Tensor, float_only: bool = True) -> Tensor:
    """One IUnaryLayer; ``float_only`` ops compute integer and bool inputs in the float compute dtype (as torch
    computes them in its default float dtype)."""
    input = require_tensor(op, input)
    if float_only and not is_float(input):
        input = cast_to(input.ctx, input, input.ctx.compute_dtype, op)
    layer = input.ctx.add_layer(op, lambda net: net.add_unary(input.itensor, operation))
    return wrap(layer.get_output(0), input.ctx)


def _rounding(op: str, operation: trt.UnaryOperation, input: Tensor) -> Tensor:
    """Rounding ops leave integer tensors as they are (torch returns them unchanged)."""
    input = require_tensor(op, input)
    return input if not is_float(input) and input.dtype != trt.bool else _unary(op, operation, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.sqrt", methods="sqrt")
def sqrt(input: Tensor) -> Tensor:
    """Square root (NaN for negative inputs, as torch)."""
    return _unary("sqrt", _OPS.SQRT, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.rsqrt", methods="rsqrt")
def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(x)``."""
    return _unary("rsqrt", _OPS.RECIP, _unary("rsqrt_sqrt", _OPS.SQRT, input))


@register_op("ICastLayer", "IUnaryLayer", torch="torch.exp", methods="exp")
def exp(input: Tensor) -> Tensor:
    """``e ** x``."""
    return _unary("exp", _OPS.EXP, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.log", methods="log")
def log(input: Tensor) -> Tensor:
    """Natural logarithm."""
    return _unary("log", _OPS.LOG, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.reciprocal", methods="reciprocal")
def reciprocal(input: Tensor) -> Tensor:
    """``1 / x``."""
    return _unary("reciprocal", _OPS.RECIP, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.erf", methods="erf")
def erf(input: Tensor) -> Tensor:
    """The error function."""
    return _unary("erf", _OPS.ERF, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.sin", methods="sin")
def sin(input: Tensor) -> Tensor:
    """Sine."""
    return _unary("sin", _OPS.SIN, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.cos", methods="cos")
def cos(input: Tensor) -> Tensor:
    """Cosine."""
    return _unary("cos", _OPS.COS, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.floor", methods="floor")
def floor(input: Tensor) -> Tensor:
    """Round down to an integer value (integer tensors stay as they are)."""
    return _rounding("floor", _OPS.FLOOR, input)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.ceil", methods="ceil")
def ceil(input: Tensor) -> Tensor:
    """Round up to an integer value (integer tensors stay as they are)."""
    return _rounding("ceil", _OPS.CEIL, input)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.round",
    methods="round",
)
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round to the nearest integer value, halves to even; with ``decimals``, to that many decimal places (as torch:
    ``round(x * 10**decimals) / 10**decimals``)."""
    if decimals == 0:
        return _rounding("round", _OPS.ROUND, input)
    input = require_tensor("round", input)
    if not is_float(input):
        raise input.ctx.error(
            "round", f"decimals= needs a float tensor, got {input.dtype.name} `{input.name}` (as torch)"
        )
    scale = 10.0 ** int(decimals)
    return div(_unary("round", _OPS.ROUND, mul(input, scale)), scale)


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


def _trig(name: str, operation: trt.UnaryOperation, doc: str) -> None:
    def op(input: Tensor) -> Tensor:
        return _unary(name, operation, input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    register_op("ICastLayer", "IUnaryLayer", torch=f"torch.{name}", methods=name)(op)
    globals()[name] = op


for _name, _doc in (
    ("tan", "Tangent."),
    ("asin", "Arcsine (NaN outside [-1, 1])."),
    ("acos", "Arccosine (NaN outside [-1, 1])."),
    ("atan", "Arctangent."),
    ("sinh", "Hyperbolic sine."),
    ("cosh", "Hyperbolic cosine."),
    ("asinh", "Inverse hyperbolic sine."),
    ("acosh", "Inverse hyperbolic cosine (NaN below 1)."),
    ("atanh", "Inverse hyperbolic tangent (NaN outside [-1, 1])."),
):
    _trig(_name, getattr(_OPS, _name.upper()), _doc)


@register_op("ICastLayer", "IElementWiseLayer", torch="torch.square", methods="square")
def square(input: Tensor) -> Tensor:
    """``x * x`` (integers stay integers; bool becomes int64, as torch)."""
    input = require_tensor("square", input)
    if input.dtype == trt.bool:
        input = cast_to(input.ctx, input, trt.int64, "square")
    return mul(input, input)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.log2",
    methods="log2",
)
def log2(input: Tensor) -> Tensor:
    """Base-2 logarithm."""
    return div(log(input), math.log(2.0))


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.log10",
    methods="log10",
)
def log10(input: Tensor) -> Tensor:
    """Base-10 logarithm."""
    return div(log(input), math.log(10.0))


_SELECTS = ("ICastLayer", "IConstantLayer", "IElementWiseLayer", "ISelectLayer", "IShuffleLayer", "IUnaryLayer")


@register_op("ICastLayer", *_SELECTS, torch="torch.log1p", methods="log1p")
def log1p(input: Tensor) -> Tensor:
    """``log(1 + x)``, accurate for small ``x`` (Kahan's correction: ``log(u) * x / (u - 1)`` with ``u = 1 + x``)."""
    x = require_tensor("log1p", input)
    if not is_float(x):
        x = cast_to(x.ctx, x, x.ctx.compute_dtype, "log1p")
    u = add(x, 1.0)
    d = sub(u, 1.0)
    corrected = mul(_unary("log1p", _OPS.LOG, u), div(x, d))  # NaN where d is 0 or u is inf: chosen away below
    return where(eq(d, 0.0), x, where(eq(u, math.inf), u, corrected))


@register_op("ICastLayer", *_SELECTS, torch="torch.expm1", methods="expm1")
def expm1(input: Tensor) -> Tensor:
    """``exp(x) - 1``, accurate for small ``x`` (Kahan's correction: ``(u - 1) * x / log(u)`` with ``u = exp(x)``)."""
    u = _unary("expm1", _OPS.EXP, input)
    x = input if is_float(input) else cast_to(input.ctx, input, u.dtype, "expm1")
    d = sub(u, 1.0)
    corrected = mul(d, div(x, _unary("expm1_log", _OPS.LOG, u)))
    exact = where(eq(u, 0.0), -1.0, where(eq(u, math.inf), u, corrected))  # x far below 0; overflow
    return where(eq(u, 1.0), x, exact)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.isnan",
    methods="isnan",
)
def isnan(input: Tensor) -> Tensor:
    """True where ``x`` is NaN (never for integer tensors)."""
    input = require_tensor("isnan", input)
    return _unary("isnan", _OPS.ISNAN, input, float_only=False) if is_float(input) else ne(input, input)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.isinf",
    methods="isinf",
)
def isinf(input: Tensor) -> Tensor:
    """True where ``x`` is +inf or -inf (never for integer tensors)."""
    input = require_tensor("isinf", input)
    return _unary("isinf", _OPS.ISINF, input, float_only=False) if is_float(input) else ne(input, input)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShuffleLayer",
    "IUnaryLayer",
    torch="torch.isfinite",
    methods="isfinite",
)
def isfinite(input: Tensor) -> Tensor:
    """True where ``x`` is neither NaN nor infinite (always for integer tensors)."""
    input = require_tensor("isfinite", input)
    if not is_float(input):
        return eq(input, input)
    return logical_not(logical_or(isnan(input), isinf(input)))


#: the largest finite value of each float dtype (nan_to_num's defaults for +-inf)
_FINITE_MAX = {"FLOAT": 3.4028234663852886e38, "HALF": 65504.0, "BF16": 3.3895313892515355e38}


@register_op("ICastLayer", *_SELECTS, torch="torch.nan_to_num", methods="nan_to_num")
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the dtype's largest and
    smallest finite values: those of fp16 in an fp16 network)."""
    input = require_tensor("nan_to_num", input)
    if not is_float(input):
        return input
    big = _FINITE_MAX[input.dtype.name]
    out = where(isnan(input), float(nan), input)
    out = where(eq(input, math.inf), big if posinf is None else float(posinf), out)
    return where(eq(input, -math.inf), -big if neginf is None else float(neginf), out)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "ISelectLayer",
    "IUnaryLayer",
    torch="torch.trunc",
    methods=("trunc", "fix"),
    aliases=("fix",),
)
def trunc(input: Tensor) -> Tensor:
    """Round toward zero (integer tensors stay as they are)."""
    input = require_tensor("trunc", input)
    return input if not is_float(input) else _trunc("trunc", input)


@register_op(
    "ICastLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "ISelectLayer",
    "IUnaryLayer",
    torch="torch.frac",
    methods="frac",
)
def frac(input: Tensor) -> Tensor:
    """``x - trunc(x)``: the fractional part, with the sign of ``x``."""
    input = require_tensor("frac", input)
    if not is_float(input):
        raise input.ctx.error("frac", f"expects a float tensor, got {input.dtype.name} `{input.name}` (as torch)")
    return sub(input, _trunc("frac", input))


@register_op(
    "ICastLayer",
    *_SELECTS,
    torch="torch.atan2",
    methods=("atan2", "arctan2"),
    aliases=("arctan2",),
    limits="two infinities give NaN (torch: an odd multiple of pi/4); other = -0.0 counts as +0.0",
)
def atan2(input, other) -> Tensor:
    """The angle of the point (``other``, ``input``): ``atan(input / other)`` moved into the right quadrant."""
    ctx, y, x = binary_operands("atan2", input, other)
    if not is_float(y):
        y, x = (cast_to(ctx, t, ctx.compute_dtype, "atan2") for t in (y, x))
    base = _unary("atan2", _OPS.ATAN, div(y, x))
    below = logical_or(lt(y, 0.0), lt(div(1.0, y), 0.0))  # y < 0, or y is -0.0 (1 / -0.0 is -inf)
    left = where(below, sub(base, math.pi), add(base, math.pi))  # x < 0: half a turn, toward y's side
    axis = where(gt(y, 0.0), math.pi / 2, where(lt(y, 0.0), -math.pi / 2, y))  # x == 0 (y == 0 keeps its sign)
    return where(lt(x, 0.0), left, where(eq(x, 0.0), axis, base))


@register_op("ICastLayer", *_SELECTS, torch="torch.hypot", methods="hypot")
def hypot(input, other) -> Tensor:
    """``sqrt(a**2 + b**2)`` without overflow: ``m * sqrt(1 + (n / m)**2)`` with ``m, n`` the larger and smaller."""
    ctx, a, b = binary_operands("hypot", input, other)
    if not is_float(a):
        raise ctx.error("hypot", f"expects float tensors, got {a.dtype.name} (as torch)")
    a, b = _unary("hypot_abs", _OPS.ABS, a), _unary("hypot_abs", _OPS.ABS, b)
    big = wrap(
        ctx.add_layer(
            "hypot_max", lambda net: net.add_elementwise(a.itensor, b.itensor, trt.ElementWiseOperation.MAX)
        ).get_output(0),
        ctx,
    )
    small = wrap(
        ctx.add_layer(
            "hypot_min", lambda net: net.add_elementwise(a.itensor, b.itensor, trt.ElementWiseOperation.MIN)
        ).get_output(0),
        ctx,
    )
    r = div(small, big)
    scaled = mul(big, _unary("hypot_sqrt", _OPS.SQRT, add(mul(r, r), 1.0)))
    return where(eq(big, 0.0), big, where(eq(big, math.inf), big, scaled))


@register_op("ICastLayer", *_SELECTS, torch="torch.copysign", methods="copysign")
def copysign(input, other) -> Tensor:
    """``|input|`` with the sign of ``other`` (-0.0 counts as negative; integers compute as floats, as torch)."""
    ctx, a, b = binary_operands("copysign", input, other)
    if not is_float(a):
        a, b = (cast_to(ctx, t, ctx.compute_dtype, "copysign") for t in (a, b))
    magnitude = _unary("copysign_abs", _OPS.ABS, a)
    # -0.0 is negative: 1 / -0.0 is -inf
    negative = logical_or(lt(b, 0.0), lt(div(1.0, b), 0.0))
    return where(negative, _unary("copysign_neg", _OPS.NEG, magnitude), magnitude)


@register_op("ICastLayer", *_SELECTS, torch="torch.lerp", methods="lerp")
def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)``, as torch computes it (from ``end`` where ``|weight| >= 0.5``)."""
    input = require_tensor("lerp", input)
    ctx = input.ctx
    input, end = promote(ctx, "lerp", input, end)
    diff = sub(end, input)
    if isinstance(weight, numbers.Number):  # torch's two formulas, picked once
        return add(input, mul(diff, weight)) if -0.5 < weight < 0.5 else sub(end, mul(diff, 1 - weight))
    weight = require_tensor("lerp", weight, "weight")
    near = add(input, mul(diff, weight))
    far = sub(end, mul(diff, sub(1.0, weight)))
    return where(lt(_unary("lerp_abs", _OPS.ABS, weight), 0.5), near, far)


@register_op("ICastLayer", "IUnaryLayer", torch="torch.logical_not", methods="logical_not")
def logical_not(input: Tensor) -> Tensor:
    """Elementwise NOT: True where ``input`` is False or zero."""
    input = require_tensor("logical_not", input)
    if input.dtype != trt.bool:
        input = ne(input, 0)
    return _unary("logical_not", _OPS.NOT, input, float_only=False)


@register_op("IUnaryLayer", torch="torch.bitwise_not", methods=("bitwise_not", "__invert__"))
def bitwise_not(input: Tensor) -> Tensor:
    """``~x`` of a bool tensor (TensorRT has no bitwise operations on integers)."""
    input = require_tensor("bitwise_not", input)
    if input.dtype != trt.bool:
        raise input.ctx.error(
            "bitwise_not",
            f"~x of the {input.dtype.name} tensor `{input.name}`: TensorRT has no bitwise integer operations; "
            "use ~x on a bool tensor (a comparison such as x != 0)",
        )
    return _unary("bitwise_not", _OPS.NOT, input, float_only=False)
