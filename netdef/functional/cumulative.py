"""Running sums along a dim (ICumulativeLayer)."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import is_float, norm_dim, require_tensor, wrap
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
