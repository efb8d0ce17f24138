"""Factory ops: arange, zeros, ones, full and their ``*_like`` forms; sizes may be symbolic (``F.arange(T)``).

dtypes follow torch's defaults: integer arguments make int64, a float anywhere makes a float tensor, a
bool fill value makes bool. Float tensors are made in the network's compute dtype (fp16 in an fp16
network), as module weights are, so they combine with activations under strong typing; pass ``dtype``
to choose another (a name, a torch or numpy dtype). ``device`` is accepted and ignored (``device=x.device``):
an engine's tensors live on its GPU.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from netdef._trt import dtype_from_name, trt
from netdef.context import EmitContext, current
from netdef.errors import NetdefError
from netdef.functional._common import constant, require_tensor, static_reshape, wrap
from netdef.functional.registry import register_op
from netdef.symbolic import SizeLike, SymInt, check_size, decide, size_tensor, sym_max
from netdef.tensor import Tensor

_FLOATS = ("FLOAT", "HALF", "BF16")


def _dtype(ctx: EmitContext, dtype, default: trt.DataType) -> trt.DataType:
    """``dtype`` ('float32', torch.int64, np.float16, a trt.DataType) as a trt.DataType; ``default`` when None."""
    if dtype is None:
        return default
    try:
        return dtype_from_name(dtype)
    except NetdefError as exc:
        raise ctx.error("dtype", str(exc)) from None


def _sizes(ctx: EmitContext, op: str, size) -> tuple[SizeLike, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    sizes = tuple(check_size(ctx, op, s, "size") for s in size)
    if any(decide("<", s, 0) for s in sizes):
        raise ctx.error(op, f"sizes must be >= 0, got {sizes}")
    return sizes


def _filled(ctx: EmitContext, op: str, sizes: Sequence[SizeLike], value, dtype: trt.DataType) -> Tensor:
    """A tensor of ``sizes`` holding ``value``: a constant when the sizes are ints, else a broadcast slice.

    ``value`` may be a symbolic size (its run-time value, cast to ``dtype``).
    """
    if isinstance(value, SymInt):
        one = wrap(value.itensor, ctx)  # int64, shape (1,)
        if dtype != trt.int64:
            one = wrap(ctx.add_layer(op + "_cast", lambda net: net.add_cast(value.itensor, dtype)).get_output(0), ctx)
        one = static_reshape(ctx, one, (1,) * len(sizes), op + "_value")
        if not sizes:
            return one
        from netdef.functional.indexing import emit_slice

        return emit_slice(one, [0] * len(sizes), list(sizes), [0] * len(sizes), op)  # stride 0 repeats the value
    if not any(isinstance(s, SymInt) for s in sizes):
        return constant(ctx, np.full(tuple(int(s) for s in sizes), value), dtype, op)
    from netdef.functional.indexing import emit_slice

    one = constant(ctx, np.full((1,) * len(sizes), value), dtype, op + "_value")
    return emit_slice(one, [0] * len(sizes), list(sizes), [0] * len(sizes), op)  # stride 0 repeats the value


@register_op(
    "ICastLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    torch="torch.full",
)
def full(size: Sequence[SizeLike], fill_value, dtype=None, *, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (torch.full); sizes and the value may be symbolic sizes."""
    ctx = current()
    sizes = _sizes(ctx, "full", (size,) if isinstance(size, (int, SymInt)) else (tuple(size),))
    if isinstance(fill_value, bool):
        default = trt.bool
    elif isinstance(fill_value, (numbers.Integral, SymInt)):  # a size from x.shape: its run-time value
        default = trt.int64
    elif isinstance(fill_value, numbers.Real):
        default = ctx.compute_dtype
    else:
        raise ctx.error(
            "full",
            f"fill_value must be a Python number, a bool or a size from x.shape, got {type(fill_value).__name__}",
        )
    return _filled(ctx, "full", sizes, fill_value, _dtype(ctx, dtype, default))


@register_op(
    "IConcatenationLayer", "IConstantLayer", "IElementWiseLayer", "IShapeLayer", "ISliceLayer", torch="torch.zeros"
)
def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (torch.zeros): ``F.zeros(B, T)`` or ``F.zeros((B, T))``; floats unless ``dtype``."""
    ctx = current()
    return _filled(ctx, "zeros", _sizes(ctx, "zeros", size), 0, _dtype(ctx, dtype, ctx.compute_dtype))


@register_op(
    "IConcatenationLayer", "IConstantLayer", "IElementWiseLayer", "IShapeLayer", "ISliceLayer", torch="torch.ones"
)
def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (torch.ones)."""
    ctx = current()
    return _filled(ctx, "ones", _sizes(ctx, "ones", size), 1, _dtype(ctx, dtype, ctx.compute_dtype))


@register_op(
    "ICastLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    torch="torch.full_like",
)
def full_like(input: Tensor, fill_value, dtype=None, *, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``input``'s shape filled with ``fill_value``, of ``input``'s dtype unless ``dtype``."""
    input = require_tensor("full_like", input)
    return _filled(input.ctx, "full_like", input.shape, fill_value, _dtype(input.ctx, dtype, input.dtype))


@register_op(
    "IConcatenationLayer", "IConstantLayer", "IElementWiseLayer", "IShapeLayer", "ISliceLayer", torch="torch.zeros_like"
)
def zeros_like(input: Tensor, dtype=None, *, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``input``'s shape and dtype (torch.zeros_like)."""
    return full_like(input, 0, dtype)


@register_op(
    "IConcatenationLayer", "IConstantLayer", "IElementWiseLayer", "IShapeLayer", "ISliceLayer", torch="torch.ones_like"
)
def ones_like(input: Tensor, dtype=None, *, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``input``'s shape and dtype (torch.ones_like)."""
    return full_like(input, 1, dtype)


@register_op(
    "IFillLayer",
    "ICastLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.arange",
)
def arange(start, end=None, step=1, dtype=None, *, device=None, requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (torch.arange): ``F.arange(T)`` for positions 0..T-1.

    Bounds may be symbolic sizes; int bounds make int64, a float bound makes a float tensor.
    """
    op = "arange"
    ctx = current()
    if end is None:
        start, end = 0, start
    values = (start, end, step)
    floats = any(isinstance(v, float) for v in values)
    for v in values:
        if not isinstance(v, (numbers.Real, SymInt)) or isinstance(v, bool):
            raise ctx.error(op, f"start, end and step must be numbers or sizes from x.shape, got {v!r}")
    if isinstance(step, SymInt) or step == 0:
        raise ctx.error(op, f"step must be a nonzero Python number, got {step!r}")
    out_dtype = _dtype(ctx, dtype, ctx.compute_dtype if floats else trt.int64)
    if floats:
        if any(isinstance(v, SymInt) for v in values):
            raise ctx.error(op, "a float arange needs Python number bounds; build it as F.arange(n).to(...) * step")
        n = max(int(np.ceil((end - start) / step)), 0)
        return constant(ctx, start + step * np.arange(n, dtype=np.float64), out_dtype, op)
    if not any(isinstance(v, SymInt) for v in values):
        return constant(ctx, np.arange(int(start), int(end), int(step)), out_dtype, op)
    # length = ceil((end - start) / step), clamped at 0: an IFillLayer (LINSPACE) over a run-time shape
    span = end - start
    length = sym_max((span + step - 1) // step if step > 0 else (span + step + 1) // step, 0)
    shape = size_tensor(ctx, [length], op)
    if isinstance(start, SymInt):  # a (1,) shape tensor: the fill's alpha is a 0-d tensor
        a0 = static_reshape(ctx, wrap(start.itensor, ctx), (), op + "_start")
    else:
        weights = ctx.weights(np.asarray(int(start)), trt.int64)
        a0 = wrap(ctx.add_layer(op + "_start", lambda net: net.add_constant((), weights)).get_output(0), ctx)
    beta = constant(ctx, np.asarray([step]), trt.int64, op + "_step")

    def make(net):
        layer = net.add_fill((1,), trt.FillOperation.LINSPACE, trt.int64)
        layer.set_input(0, shape)
        layer.set_input(1, a0.itensor)
        layer.set_input(2, beta.itensor)
        return layer

    out = wrap(ctx.add_layer(op, make).get_output(0), ctx)
    return out if out_dtype == trt.int64 else out.to(out_dtype)
