"""Running sums and products along a dim (ICumulativeLayer)."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import constant, is_float, norm_dim, require_tensor, wrap
from netdef.functional.dtype import cast
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op("ICastLayer", "IConstantLayer", "ICumulativeLayer", torch="torch.cumsum", methods="cumsum")
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """The running sum along ``dim`` (torch.cumsum); ``dim``'s size may be dynamic. Floats keep their dtype, bool
    and integer inputs sum as int64 (as torch), ``dtype`` casts the input first."""
    op = "cumsum"
    input = require_tensor(op, input)
    if dtype is not None:
        input = cast(input, dtype)
    elif not is_float(input):
        input = cast(input, trt.int64)
    ctx = input.ctx
    if input.ndim == 0:
        raise ctx.error(op, "expects a tensor of rank >= 1")
    if not is_float(input) and input.dtype not in (trt.int32, trt.int64):
        raise ctx.error(op, f"expects a float, int32 or int64 tensor, got {input.dtype.name} `{input.name}`")
    weights = ctx.weights(np.asarray(norm_dim(ctx, op, dim, input.ndim), dtype=np.int32), trt.int32)
    axis = wrap(ctx.add_layer(op + "_axis", lambda net: net.add_constant((), weights)).get_output(0), ctx)
    layer = ctx.add_layer(
        op, lambda net: net.add_cumulative(input.itensor, axis.itensor, trt.CumulativeOperation.SUM, False, False)
    )
    return wrap(layer.get_output(0), ctx)


@register_op(
    "IConstantLayer",
    "ICumulativeLayer",
    "IElementWiseLayer",
    "IUnaryLayer",
    "ICastLayer",
    "ISelectLayer",
    "IShuffleLayer",
    torch="torch.cumprod",
    methods="cumprod",
    limits="float tensors only; computed as exp(cumsum(log|x|)) with signs and zeros counted: fp32 rounding",
)
def cumprod(input: Tensor, dim: int, dtype=None) -> Tensor:
    """The running product along ``dim`` (torch.cumprod) for float tensors.

    TensorRT's cumulative layer only sums: the magnitude is ``exp(cumsum(log|x|))`` (within fp32 rounding of
    the product), the sign from a running count of negatives, and a zero zeroes everything after it.
    """
    from netdef.functional import elementwise, unary
    from netdef.functional.dtype import cast

    op = "cumprod"
    input = require_tensor(op, input)
    ctx = input.ctx
    if dtype is not None:
        input = cast(input, dtype if isinstance(dtype, trt.DataType) else str(dtype).removeprefix("torch."))
    if not is_float(input):
        raise ctx.error(
            op,
            f"expects a float tensor, got {input.dtype.name} `{input.name}`: TensorRT's cumulative layer only sums, "
            "so the product is taken through logarithms; cast to float32 first (exact up to 2**24)",
        )
    if input.ndim == 0:
        return input
    axis = norm_dim(ctx, op, dim, input.ndim)

    def count(mask: Tensor) -> Tensor:
        return cumsum(cast(mask, trt.int32), axis)

    zero = elementwise.eq(input, 0.0)
    magnitude = unary.exp(cumsum(unary.log(elementwise.where(zero, 1.0, unary.abs(input))), axis))
    negatives = count(elementwise.lt(input, 0.0))
    two = constant(ctx, np.full((1,) * input.ndim, 2), negatives.dtype, op + "_two")  # cumsum counts in int64
    halves = wrap(
        ctx.add_layer(
            op + "_halves",
            lambda net: net.add_elementwise(negatives.itensor, two.itensor, trt.ElementWiseOperation.FLOOR_DIV),
        ).get_output(0),
        ctx,
    )
    odd = elementwise.ne(negatives, elementwise.mul(halves, 2))
    signed = elementwise.where(odd, elementwise.mul(magnitude, -1.0), magnitude)
    return elementwise.where(elementwise.gt(count(zero), 0), 0.0, signed)
