"""Padding (torch.nn.functional.pad) as one ISliceLayer: constant (any value), reflect, replicate, circular."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor

#: torch's pad mode -> the SampleMode that reads the same element for an out-of-bounds coordinate
MODES = {
    "constant": trt.SampleMode.FILL,
    "reflect": trt.SampleMode.REFLECT,
    "replicate": trt.SampleMode.CLAMP,
    "circular": trt.SampleMode.WRAP,
}


def slice_axes(
    ctx: EmitContext,
    op: str,
    input: Tensor,
    axes: Sequence[int],
    start: Sequence[int],
    size: Sequence[int],
    mode: trt.SampleMode = trt.SampleMode.STRICT_BOUNDS,
    value: float | None = None,
    stride: Sequence[int] | None = None,
) -> Tensor:
    """An ISliceLayer over ``axes`` only (other dims are copied whole, so they may be dynamic).

    ``value`` (FILL mode only) is the fill value; None or 0 leaves TensorRT's default of zero.
    """
    stride = tuple(stride) if stride is not None else (1,) * len(axes)
    fill = None
    if value is not None and value != 0:
        arr = np.asarray(value)
        weights = ctx.weights(arr, input.dtype, "value")
        fill = ctx.add_layer(op + "_value", lambda net: net.add_constant((), weights)).get_output(0)

    def make(net):
        layer = net.add_slice(input.itensor, tuple(start), tuple(size), stride)
        layer.axes = tuple(axes)
        layer.mode = mode
        if fill is not None:
            layer.set_input(4, fill)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


@register_op("IConstantLayer", "ISliceLayer", torch="torch.nn.functional.pad")
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad`` is (last_before, last_after, 2nd-last_before, ...) as in torch.

    Negative amounts crop ('constant' and 'circular', which wraps around what is left). 'reflect',
    'replicate' and 'circular' pad the last 1-3 dims of a 2-D to 5-D input, as in torch.
    """
    op = "pad"
    input = require_tensor(op, input)
    ctx = input.ctx
    pad = tuple(int(p) for p in pad)
    if mode not in MODES:
        raise ctx.error(op, f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ctx.error(
            op, f"pad {pad} must have an even length of at most 2 x the rank ({input.ndim}) of input {input.shape}"
        )
    if value is not None and mode != "constant":
        raise ctx.error(op, f"value={value!r} is only meaningful with mode='constant', got mode={mode!r}")
    if value is not None and not is_float(input) and not float(value).is_integer():
        raise ctx.error(op, f"cannot pad the {input.dtype.name} tensor `{input.name}` with the float {value!r}")
    n = len(pad) // 2
    if mode != "constant":
        if n > 3 or input.ndim not in (n + 1, n + 2):
            raise ctx.error(
                op,
                f"mode={mode!r} pads the last 1-3 dims of an input with 1 or 2 more dims; got pad {pad} "
                f"({n} dims) for input {input.shape}",
            )
    amounts = {}
    for i in range(n):
        axis = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        if before == 0 and after == 0:
            continue
        if input.shape[axis] < 0:
            raise ctx.error(op, f"dim {axis} of input {input.shape} is dynamic; padding needs its static size")
        amounts[axis] = (before, after)
    if not amounts:
        return input
    x = input
    if mode == "circular" and any(min(a) < 0 for a in amounts.values()):
        # torch crops first, then wraps around what is left
        crops = {a: (max(-b, 0), max(-e, 0)) for a, (b, e) in amounts.items() if min(b, e) < 0}
        for axis, (b, e) in crops.items():
            if b + e >= x.shape[axis]:
                raise ctx.error(op, f"padding {amounts[axis]} of dim {axis} (size {x.shape[axis]}) leaves no elements")
        x = slice_axes(
            ctx,
            op + "_crop",
            x,
            list(crops),
            [b for b, _ in crops.values()],
            [x.shape[a] - b - e for a, (b, e) in crops.items()],
        )
        amounts = {a: (max(b, 0), max(e, 0)) for a, (b, e) in amounts.items()}
        amounts = {a: v for a, v in amounts.items() if v != (0, 0)}
        if not amounts:
            return x
    axes, start, size = [], [], []
    for axis, (before, after) in amounts.items():
        length = x.shape[axis]
        _check_amounts(ctx, op, mode, axis, length, before, after)
        axes.append(axis)
        start.append(-before)
        size.append(length + before + after)
    return slice_axes(ctx, op, x, axes, start, size, MODES[mode], value if mode == "constant" else None)


def _check_amounts(ctx: EmitContext, op: str, mode: str, axis: int, length: int, before: int, after: int) -> None:
    """torch's limits on the padding of one dim (checked early, with torch's reasons)."""
    if length + before + after < 0 or (mode != "constant" and length + before + after == 0):
        raise ctx.error(op, f"padding ({before}, {after}) of dim {axis} (size {length}) leaves no elements")
    if mode in ("reflect", "replicate") and (before < 0 or after < 0):
        raise ctx.error(op, f"mode={mode!r} does not crop: padding ({before}, {after}) of dim {axis} is negative")
    if mode == "reflect" and max(before, after) >= length:
        raise ctx.error(
            op,
            f"mode='reflect' needs padding smaller than the dim: ({before}, {after}) for dim {axis} of size {length}",
        )
    if mode == "replicate" and length == 0:
        raise ctx.error(op, f"mode='replicate' cannot pad the empty dim {axis}")
    if mode == "circular" and max(before, after) > length:
        raise ctx.error(
            op, f"mode='circular' needs padding at most the dim: ({before}, {after}) for dim {axis} of size {length}"
        )
