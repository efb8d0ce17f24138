"""Indexing: ``x[...]`` (ints, slices with steps, negative indices, None, Ellipsis, one index tensor),
index_select, and the slice / shape-tensor helpers other shape ops build on."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.functional._common import constant, norm_dim, require_tensor, static_reshape, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor

_OPS = trt.ElementWiseOperation
IntVec = Sequence[int] | Tensor


# -- shape tensors (int64 1-D) --------------------------------------------------------------------------


def shape_of(input: Tensor, op: str = "shape") -> Tensor:
    """The run-time shape of ``input`` as an int64 1-D tensor (IShapeLayer)."""
    layer = input.ctx.add_layer(op, lambda net: net.add_shape(input.itensor))
    return wrap(layer.get_output(0), input.ctx)


def int_vector(ctx: EmitContext, values: Sequence[int], op: str) -> Tensor:
    """An int64 1-D constant."""
    return constant(ctx, np.asarray(values, dtype=np.int64).reshape(-1), trt.int64, op)


def _iop(ctx: EmitContext, op: str, operation: trt.ElementWiseOperation, a: Tensor, b: Tensor) -> Tensor:
    layer = ctx.add_layer(op, lambda net: net.add_elementwise(a.itensor, b.itensor, operation))
    return wrap(layer.get_output(0), ctx)


def emit_slice(
    input: Tensor, start: IntVec, size: IntVec, stride: IntVec, op: str, mode: trt.SampleMode | None = None
) -> Tensor:
    """One ISliceLayer; ``start``/``size``/``stride`` are ints per dim or int64 shape tensors."""
    ctx, rank = input.ctx, input.ndim
    static = [tuple(int(v) for v in s) if not isinstance(s, Tensor) else (0,) * rank for s in (start, size, stride)]

    def make(net):
        layer = net.add_slice(input.itensor, *static)
        for i, s in enumerate((start, size, stride), 1):
            if isinstance(s, Tensor):
                layer.set_input(i, s.itensor)
        if mode is not None:
            layer.mode = mode
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


def _squeeze_unsqueeze(input: Tensor, drop: list[int], insert: list[int], op: str) -> Tensor:
    """Remove the size-1 dims ``drop``, then insert size-1 dims at output positions ``insert``."""
    ctx = input.ctx
    if not drop and not insert:
        return input
    if all(d >= 0 for d in input.shape):
        shape = [d for i, d in enumerate(input.shape) if i not in drop]
        for pos in sorted(insert):
            shape.insert(pos, 1)
        return static_reshape(ctx, input, tuple(shape), op + "_reshape")
    out = input
    if drop:
        axes = int_vector(ctx, drop, op + "_squeeze_axes")
        out = wrap(
            ctx.add_layer(op + "_squeeze", lambda net: net.add_squeeze(out.itensor, axes.itensor)).get_output(0), ctx
        )
    if insert:
        axes = int_vector(ctx, sorted(insert), op + "_unsqueeze_axes")
        src = out
        out = wrap(
            ctx.add_layer(op + "_unsqueeze", lambda net: net.add_unsqueeze(src.itensor, axes.itensor)).get_output(0),
            ctx,
        )
    return out


# -- torch-style slicing ------------------------------------------------------------------------------


def _check_slice(ctx: EmitContext, op: str, s: slice) -> tuple[int | None, int | None, int]:
    for part in (s.start, s.stop, s.step):
        if part is not None and (not isinstance(part, numbers.Integral) or isinstance(part, bool)):
            raise ctx.error(
                op,
                f"slice bounds must be Python ints or None, got {type(part).__name__} in {s!r}; "
                "slicing by a run-time value is not supported",
            )
    step = 1 if s.step is None else int(s.step)
    if step <= 0:
        raise ctx.error(op, f"slice step must be greater than zero (torch has no negative steps), got {step}")
    return (None if s.start is None else int(s.start), None if s.stop is None else int(s.stop), step)


def slice_dims(input: Tensor, slices: Sequence[slice], op: str, keep_one: Sequence[int] = ()) -> Tensor:
    """``input[slices[0], slices[1], ...]`` with torch's clamping of out-of-range bounds (rank kept).

    Static dims are resolved at definition time; dynamic dims become IShapeLayer arithmetic feeding the
    slice's start/size inputs. Dims listed in ``keep_one`` are known to have size 1 (an int index).
    """
    ctx, shape = input.ctx, input.shape
    parts = [_check_slice(ctx, op, s) for s in slices]
    steps = [p[2] for p in parts]
    if all(n >= 0 for n in shape):
        starts, sizes = [], []
        for n, s, step in zip(shape, slices, steps):
            start, stop, _ = slice(s.start, s.stop, step).indices(n)
            starts.append(start)
            sizes.append(max(0, -(-(stop - start) // step)))
        if starts == [0] * len(shape) and sizes == list(shape) and steps == [1] * len(shape):
            return input
        return emit_slice(input, starts, sizes, steps, op)

    if all(p == (None, None, 1) for p in parts):
        return input
    rank = len(shape)
    n = shape_of(input, op + "_shape")
    static_parts = [slice(p[0], p[1], p[2]).indices(d) if d >= 0 else None for d, p in zip(shape, parts)]
    if all(d >= 0 or (p[0] in (None, 0) and p[1] is None and p[2] == 1) for d, p in zip(shape, parts)):
        # only static dims are sliced: size = n * dynamic + static sizes
        starts = [sp[0] if sp else 0 for sp in static_parts]
        sizes = [max(0, -(-(sp[1] - sp[0]) // sp[2])) if sp else 0 for sp in static_parts]
        dyn = int_vector(ctx, [0 if d >= 0 else 1 for d in shape], op + "_dynamic")
        size = _iop(ctx, op + "_size_dynamic", _OPS.PROD, n, dyn)
        size = _iop(ctx, op + "_size", _OPS.SUM, size, int_vector(ctx, sizes, op + "_sizes"))
        return emit_slice(input, starts, size, steps, op)

    # a bound of a dynamic dim is `raw + n * from_end`, clamped to [0, n]
    zeros = int_vector(ctx, [0] * rank, op + "_zeros")

    def bounds(which: int, default_from_end: int) -> tuple[list[int], list[int]]:
        raw, from_end = [], []
        for sp, p in zip(static_parts, parts):
            v = p[which]
            if sp is not None:  # static dim: the exact clamped value
                raw.append(sp[0] if which == 0 else max(sp[1], sp[0]))
                from_end.append(0)
            elif v is None:
                raw.append(0)
                from_end.append(default_from_end)
            else:
                raw.append(v)
                from_end.append(1 if v < 0 else 0)
        return raw, from_end

    def clamp_bound(raw: list[int], from_end: list[int], tag: str) -> Tensor:
        v = int_vector(ctx, raw, f"{op}_{tag}")
        if any(from_end):
            scaled = _iop(ctx, f"{op}_{tag}_from_end", _OPS.PROD, n, int_vector(ctx, from_end, f"{op}_{tag}_mask"))
            v = _iop(ctx, f"{op}_{tag}_add", _OPS.SUM, v, scaled)
        v = _iop(ctx, f"{op}_{tag}_clamp_lo", _OPS.MAX, v, zeros)
        return _iop(ctx, f"{op}_{tag}_clamp_hi", _OPS.MIN, v, n)

    start_raw, start_end = bounds(0, 0)
    stop_raw, stop_end = bounds(1, 1)
    start_static = all(sp is not None or (r == 0 and e == 0) for sp, r, e in zip(static_parts, start_raw, start_end))
    start: IntVec = start_raw if start_static else clamp_bound(start_raw, start_end, "start")
    stop = clamp_bound(stop_raw, stop_end, "stop")
    size = _iop(ctx, f"{op}_size", _OPS.SUB, stop, int_vector(ctx, start_raw, f"{op}_start") if start_static else start)
    if any(s != 1 for s in steps):  # ceil(size / step) = floor((size + step - 1) / step)
        size = _iop(ctx, f"{op}_size_round", _OPS.SUM, size, int_vector(ctx, [s - 1 for s in steps], f"{op}_step_m1"))
        size = _iop(ctx, f"{op}_size_steps", _OPS.FLOOR_DIV, size, int_vector(ctx, steps, f"{op}_steps"))
    size = _iop(ctx, f"{op}_size_clamp", _OPS.MAX, size, zeros)
    if keep_one:  # size * keep + one: lets TensorRT's shape inference see the 1s of int-indexed dims
        keep = [0 if i in keep_one else 1 for i in range(rank)]
        size = _iop(ctx, f"{op}_size_keep", _OPS.PROD, size, int_vector(ctx, keep, f"{op}_keep"))
        size = _iop(ctx, f"{op}_size_one", _OPS.SUM, size, int_vector(ctx, [1 - k for k in keep], f"{op}_one"))
    return emit_slice(input, start, size, steps, op)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _index_tensor(op: str, input: Tensor, axis: int, index) -> Tensor:
    """An index list / int tensor for dim ``axis`` of ``input`` as valid (non-negative) gather indices."""
    ctx, n = input.ctx, input.shape[axis]
    if isinstance(index, Tensor):
        if index.dtype not in (trt.int32, trt.int64):
            what = "bool mask indexing" if index.dtype == trt.bool else f"a {index.dtype.name} index"
            raise ctx.error(op, f"{what} is not supported; index with an int32/int64 tensor of positions")
        return _wrap_negative(op, index, n if n >= 0 else _dim_size(input, axis, op))
    arr = np.asarray(index)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ctx.error(op, f"an index list must hold ints, got {index!r}")
    if n >= 0:
        if arr.size and (arr.min() < -n or arr.max() >= n):
            raise ctx.error(op, f"index {index!r} is out of range for dim {axis} of size {n}")
        return constant(ctx, np.where(arr < 0, arr + n, arr), trt.int32, op + "_indices")
    t = constant(ctx, arr, trt.int64, op + "_indices")
    return _wrap_negative(op, t, _dim_size(input, axis, op)) if arr.size and arr.min() < 0 else t


def _wrap_negative(op: str, index: Tensor, n: int | Tensor) -> Tensor:
    """``index + n`` where ``index < 0`` (TensorRT's gather takes only 0 <= index < n)."""
    from netdef.functional.elementwise import where

    ctx, dt = index.ctx, index.dtype
    scalar = index.ndim == 0
    if scalar:
        index = static_reshape(ctx, index, (1,), op + "_index_reshape")
    ones = (1,) * index.ndim
    if isinstance(n, Tensor):  # int64 (1,) from the shape tensor
        if n.dtype != dt:
            src = n
            n = wrap(ctx.add_layer(op + "_size_cast", lambda net: net.add_cast(src.itensor, dt)).get_output(0), ctx)
        if index.ndim != 1:
            n = static_reshape(ctx, n, ones, op + "_size_reshape")
    else:
        n = constant(ctx, np.full(ones, n), dt, op + "_size")
    zero = constant(ctx, np.zeros(ones), dt, op + "_zero")
    negative = _iop(ctx, op + "_is_negative", _OPS.LESS, index, zero)
    out = where(negative, _iop(ctx, op + "_wrapped", _OPS.SUM, index, n), index)
    return static_reshape(ctx, out, (), op + "_index_reshape") if scalar else out


def _gather(input: Tensor, axis: int, index: Tensor, op: str) -> Tensor:
    ctx = input.ctx
    layer = ctx.add_layer(op, lambda net: net.add_gather(input.itensor, index.itensor, axis))
    return wrap(layer.get_output(0), ctx)


def _dim_size(input: Tensor, axis: int, op: str) -> Tensor:
    """The run-time size of dim ``axis`` as an int64 (1,) tensor."""
    return emit_slice(shape_of(input, op + "_shape"), [axis], [1], [1], op + "_dim")


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IGatherLayer",
    "ISelectLayer",
    torch="torch.index_select",
    methods="index_select",
)
def index_select(input: Tensor, dim: int, index) -> Tensor:
    """Entries of ``input`` at positions ``index`` (1-D int tensor or list; negatives count from the end)
    along ``dim``."""
    op = "index_select"
    input = require_tensor(op, input)
    ctx = input.ctx
    axis = norm_dim(ctx, op, dim, input.ndim)
    if np.ndim(index) > 1 if not isinstance(index, Tensor) else index.ndim > 1:
        raise ctx.error(op, "index must be 0-D or 1-D")
    idx = _index_tensor(op, input, axis, index)
    if idx.ndim == 0:  # torch keeps the dim for a 0-d index
        idx = static_reshape(ctx, idx, (1,), op + "_index_reshape")
    return _gather(input, axis, idx, op)


@register_op("IGatherLayer", "IShuffleLayer", "ISliceLayer", torch="torch.Tensor.__getitem__", methods="__getitem__")
def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with torch semantics.

    Supported: ints (drop the dim), slices with positive steps (out-of-range bounds clamp), negative
    indices, None (new dim), Ellipsis, and one int index tensor or list of ints on one dim (a gather;
    its dims replace that dim). Bool masks and several index tensors are refused.
    """
    op = "getitem"
    input = require_tensor(op, input)
    ctx = input.ctx
    items = list(index) if isinstance(index, tuple) else [index]
    for it in items:
        if isinstance(it, bool) or (isinstance(it, Tensor) and it.dtype == trt.bool):
            raise ctx.error(op, "bool indices and bool masks are not supported; use netdef.functional.where")
        if not (_is_int(it) or it is None or it is Ellipsis or isinstance(it, (slice, Tensor, list, np.ndarray))):
            raise ctx.error(
                op, f"unsupported index {it!r} ({type(it).__name__}); use ints, slices, None, ... or an int tensor"
            )
    if sum(it is Ellipsis for it in items) > 1:
        raise ctx.error(op, "an index can only have a single ellipsis ('...')")
    consumed = sum(1 for it in items if it is not None and it is not Ellipsis)
    if consumed > input.ndim:
        raise ctx.error(op, f"too many indices for a tensor of rank {input.ndim}: {consumed} given")
    fill = [slice(None)] * (input.ndim - consumed)
    if any(it is Ellipsis for it in items):
        at = next(i for i, it in enumerate(items) if it is Ellipsis)
        items = items[:at] + fill + items[at + 1 :]
    else:
        items = items + fill
    advanced = [it for it in items if isinstance(it, (Tensor, list, np.ndarray))]
    if len(advanced) > 1:
        raise ctx.error(
            op, "only one index tensor (advanced index) per indexing is supported; index in two steps, e.g. x[a][:, b]"
        )

    slices: list[slice] = []
    drop: list[int] = []  # input dims indexed by an int
    insert: list[int] = []  # output positions of None
    gather: tuple[int, int, object] | None = None  # (output position, input dim, index)
    out_pos = 0
    for it in items:
        if it is None:
            insert.append(out_pos)
            out_pos += 1
            continue
        dim = len(slices)
        n = input.shape[dim]
        if _is_int(it):
            i = int(it)
            if n >= 0 and not -n <= i < n:
                raise ctx.error(op, f"index {i} is out of range for dim {dim} of size {n}")
            slices.append(slice(i, i + 1 if i != -1 else None))
            drop.append(dim)
        elif isinstance(it, slice):
            slices.append(it)
            out_pos += 1
        else:
            slices.append(slice(None))
            gather = (out_pos, dim, it)
            out_pos += 1
    out = slice_dims(input, slices, op, keep_one=drop)
    out = _squeeze_unsqueeze(out, drop, insert, op)
    if gather is not None:
        pos, dim, it = gather
        out = _gather(out, pos, _index_tensor(op, input, dim, it), op + "_gather")
    return out
