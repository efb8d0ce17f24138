"""Padding (torch.nn.functional.pad) as one ISliceLayer: constant (any value), reflect, replicate, circular."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.symbolic import SizeLike, assert_compare, check_size, decide, size_tensor
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
    start: Sequence[SizeLike],
    size: Sequence[SizeLike],
    mode: trt.SampleMode = trt.SampleMode.STRICT_BOUNDS,
    value: float | None = None,
    stride: Sequence[int] | None = None,
) -> Tensor:
    """An ISliceLayer over ``axes`` only (other dims are copied whole, so they may be dynamic).

    ``start``/``size`` hold ints or symbolic sizes. ``value`` (FILL mode only) is the fill value; None or 0
    leaves TensorRT's default of zero.
    """
    stride = tuple(stride) if stride is not None else (1,) * len(axes)
    fill = None
    if value is not None and value != 0:
        arr = np.asarray(value)
        weights = ctx.weights(arr, input.dtype, op=op + "_value")  # named as the constant layer, like every constant
        fill = ctx.add_layer(op + "_value", lambda net: net.add_constant((), weights)).get_output(0)
    start_t, size_t = size_tensor(ctx, start, op + "_start"), size_tensor(ctx, size, op + "_size")
    zeros = (0,) * len(axes)

    def make(net):
        static_start = zeros if start_t is not None else tuple(int(v) for v in start)
        static_size = zeros if size_t is not None else tuple(int(v) for v in size)
        layer = net.add_slice(input.itensor, static_start, static_size, stride)
        if start_t is not None:
            layer.set_input(1, start_t)
        if size_t is not None:
            layer.set_input(2, size_t)
        layer.axes = tuple(axes)
        layer.mode = mode
        if fill is not None:
            layer.set_input(4, fill)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


@register_op(
    "ISliceLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IUnaryLayer",
    torch="torch.nn.functional.pad",
)
def pad(input: Tensor, pad: Sequence[SizeLike], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad`` is (last_before, last_after, 2nd-last_before, ...) as in torch.

    Negative amounts crop ('constant' and 'circular', which wraps around what is left). 'reflect',
    'replicate' and 'circular' pad the last 1-3 dims of a 2-D to 5-D input, as in torch. Padded dims may be
    dynamic and amounts may be symbolic sizes; limits that depend on run-time sizes are checked by
    IAssertionLayers.
    """
    op = "pad"
    input = require_tensor(op, input)
    ctx = input.ctx
    pad = tuple(check_size(ctx, op, p, "a padding amount") for p in pad)
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
        if decide("==", before, 0) and decide("==", after, 0):
            continue
        amounts[axis] = (before, after)
    if not amounts:
        return input
    x = input
    if mode == "circular" and any(_negative(ctx, op, p) for a in amounts.values() for p in a):
        # torch crops first, then wraps around what is left
        crops = {
            a: (-b if _negative(ctx, op, b) else 0, -e if _negative(ctx, op, e) else 0)
            for a, (b, e) in amounts.items()
            if _negative(ctx, op, b) or _negative(ctx, op, e)
        }
        for axis, (b, e) in crops.items():
            _require(ctx, op, b + e, "<", x.shape[axis], f"padding {amounts[axis]} of dim {axis} leaves no elements")
        x = slice_axes(
            ctx,
            op + "_crop",
            x,
            list(crops),
            [b for b, _ in crops.values()],
            [x.shape[a] - b - e for a, (b, e) in crops.items()],
        )
        amounts = {
            a: (0 if _negative(ctx, op, b) else b, 0 if _negative(ctx, op, e) else e) for a, (b, e) in amounts.items()
        }
        amounts = {a: v for a, v in amounts.items() if not (decide("==", v[0], 0) and decide("==", v[1], 0))}
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


def _negative(ctx: EmitContext, op: str, amount: SizeLike) -> bool:
    below = decide("<", amount, 0)
    if below is None:
        raise ctx.error(op, f"whether the amount {amount} crops (< 0) or pads depends on the run-time size")
    return below


def _require(ctx: EmitContext, op: str, a: SizeLike, cmp: str, b: SizeLike, message: str) -> None:
    """``a <cmp> b``: an EmitError when false at every size, an IAssertionLayer when it depends on the size."""
    if decide(cmp, a, b) is False:
        raise ctx.error(op, message)
    assert_compare(ctx, a, cmp, b, op, message)


def _check_amounts(ctx: EmitContext, op: str, mode: str, axis: int, length, before, after) -> None:
    """torch's limits on the padding of one dim (checked early, with torch's reasons)."""
    total = length + before + after
    if mode == "constant":
        _require(
            ctx, op, total, ">=", 0, f"padding ({before}, {after}) of dim {axis} (size {length}) leaves no elements"
        )
        return
    _require(ctx, op, total, ">", 0, f"padding ({before}, {after}) of dim {axis} (size {length}) leaves no elements")
    if mode in ("reflect", "replicate") and (decide("<", before, 0) or decide("<", after, 0)):
        raise ctx.error(op, f"mode={mode!r} does not crop: padding ({before}, {after}) of dim {axis} is negative")
    for amount in (before, after):
        if mode in ("reflect", "replicate") and not decide(">=", amount, 0):
            raise ctx.error(op, f"mode={mode!r} needs padding known to be >= 0, got {amount} for dim {axis}")
        if mode == "reflect":
            _require(
                ctx,
                op,
                amount,
                "<",
                length,
                f"mode='reflect' needs padding smaller than the dim: ({before}, {after}) for dim {axis} of size {length}",
            )
        if mode == "circular":
            _require(
                ctx,
                op,
                amount,
                "<=",
                length,
                f"mode='circular' needs padding at most the dim: ({before}, {after}) for dim {axis} of size {length}",
            )
    if mode == "replicate":
        _require(ctx, op, length, ">", 0, f"mode='replicate' cannot pad the empty dim {axis}")
