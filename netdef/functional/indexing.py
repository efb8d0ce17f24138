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
from netdef.symbolic import (
    SizeLike,
    SymInt,
    assert_compare,
    assert_equal,
    assert_in_range,
    check_size,
    decide,
    select_size,
    size_tensor,
    sym_max,
    sym_min,
)
from netdef.tensor import Tensor

_OPS = trt.ElementWiseOperation
IntVec = Sequence[SizeLike] | Tensor


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
    """One ISliceLayer; ``start``/``size``/``stride`` are sizes per dim (ints or SymInts) or int64 shape tensors."""
    ctx, rank = input.ctx, input.ndim
    given = []
    for s in (start, size, stride):
        if not isinstance(s, Tensor):
            dynamic = size_tensor(ctx, s, op)
            s = wrap(dynamic, ctx) if dynamic is not None else tuple(int(v) for v in s)
        given.append(s)
    static = [(0,) * rank if isinstance(s, Tensor) else s for s in given]

    def make(net):
        layer = net.add_slice(input.itensor, *static)
        for i, s in enumerate(given, 1):
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
    if all(d >= 0 for d in input.static_shape):
        shape = [d for i, d in enumerate(input.static_shape) if i not in drop]
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


def _check_slice(ctx: EmitContext, op: str, s: slice) -> tuple[SizeLike | None, SizeLike | None, int]:
    for part in (s.start, s.stop):
        if part is not None and not isinstance(part, SymInt) and not _is_int(part):
            raise ctx.error(
                op,
                f"slice bounds must be ints, sizes from x.shape, or None, got {type(part).__name__} in {s!r}; "
                "slicing by a tensor's values is not supported",
            )
    if s.step is not None and not _is_int(s.step):
        raise ctx.error(op, f"slice step must be a Python int, got {type(s.step).__name__} in {s!r}")
    step = 1 if s.step is None else int(s.step)
    if step <= 0:
        raise ctx.error(op, f"slice step must be greater than zero (torch has no negative steps), got {step}")
    return (
        s.start if s.start is None or isinstance(s.start, SymInt) else int(s.start),
        s.stop if s.stop is None or isinstance(s.stop, SymInt) else int(s.stop),
        step,
    )


def clamp_bound(v: SizeLike, n: SizeLike) -> SizeLike:
    """A torch slice bound: counted from the end when negative, then clamped to [0, n]."""
    if not isinstance(v, SymInt) and not isinstance(n, SymInt):
        return min(max(v + n if v < 0 else v, 0), n)
    if decide(">=", v, 0):
        return sym_min(v, n)
    if decide("<", v, 0):  # v + n < n already
        return sym_max(v + n, 0)
    return sym_min(sym_max(wrap_negative(v, n), 0), n)


def slice_dims(input: Tensor, slices: Sequence[slice], op: str, keep_one: Sequence[int] = ()) -> Tensor:
    """``input[slices[0], slices[1], ...]`` with torch's clamping of out-of-range bounds (rank kept).

    Bounds and dims may be symbolic sizes: their arithmetic becomes shape-tensor layers feeding the slice's
    start/size inputs. Dims listed in ``keep_one`` are int-indexed (size 1, start already in range).
    """
    parts = [_check_slice(input.ctx, op, s) for s in slices]
    if all(p == (None, None, 1) for p in parts):
        return input
    starts, sizes, steps = slice_params(input, slices, op, keep_one)
    unchanged = all(decide("==", a, 0) and decide("==", b, n) for a, b, n in zip(starts, sizes, input.shape))
    if unchanged and set(steps) == {1}:
        return input
    return emit_slice(input, starts, sizes, steps, op)


def slice_params(
    input: Tensor, slices: Sequence[slice], op: str, keep_one: Sequence[int] = ()
) -> tuple[list[SizeLike], list[SizeLike], list[int]]:
    """(starts, sizes, steps) per dim of ``input[slices[0], slices[1], ...]`` (see :func:`slice_dims`)."""
    ctx, shape = input.ctx, input.shape
    parts = [_check_slice(ctx, op, s) for s in slices]
    starts: list[SizeLike] = []
    sizes: list[SizeLike] = []
    steps = [p[2] for p in parts]
    for i, (n, (start, stop, step)) in enumerate(zip(shape, parts)):
        if i in keep_one:
            starts.append(start)
            sizes.append(1)
            continue
        if start is None and stop is None:
            starts.append(0)
            sizes.append(n if step == 1 else (n + step - 1) // step)
            continue
        if not isinstance(n, SymInt) and not isinstance(start, SymInt) and not isinstance(stop, SymInt):
            a, b, _ = slice(start, stop, step).indices(n)
            starts.append(a)
            sizes.append(max(0, -(-(b - a) // step)))
            continue
        a = 0 if start is None else clamp_bound(start, n)
        b = n if stop is None else clamp_bound(stop, n)
        size = sym_max(b - a, 0)
        starts.append(a)
        sizes.append(size if step == 1 else (size + step - 1) // step)
    return starts, sizes, steps


def wrap_negative(v: SizeLike, n: SizeLike) -> SizeLike:
    """``v + n`` where ``v < 0``, else ``v`` (a torch index), for a size whose sign is only known at run time."""
    return select_size(v, n)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_index(input: Tensor, dim: int, i: SizeLike, op: str) -> SizeLike:
    """The start of the int index ``i`` on ``dim`` (negatives count from the end), checked against the size:
    at definition time when decidable, else by an IAssertionLayer."""
    ctx, n = input.ctx, input.shape[dim]
    if not isinstance(i, SymInt) and not isinstance(n, SymInt):
        if not -n <= i < n:
            raise ctx.error(op, f"index {i} is out of range for dim {dim} of size {n}")
        return i % n if n else i
    above, below = decide(">=", i, -n), decide("<", i, n)
    if above is False or below is False:
        raise ctx.error(op, f"index {i} is out of range for dim {dim} of size {n} at every accepted size")
    if not (above and below):
        assert_in_range(ctx, i, -n, n, op, f"index {i} is out of range for dim {dim} (size {n})")
    if decide(">=", i, 0):
        return i
    if decide("<", i, 0):
        return i + n
    return wrap_negative(i, n)


def _index_tensor(op: str, input: Tensor, axis: int, index) -> Tensor:
    """An index list / int tensor for dim ``axis`` of ``input`` as valid (non-negative) gather indices."""
    ctx, n = input.ctx, input.static_shape[axis]
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


def expand_index(input: Tensor, index, op: str) -> list:
    """The items of ``input[index]``, checked, with the Ellipsis expanded and trailing ``:`` added (one
    item per input dim, plus the Nones; a bool mask tensor stands for as many dims as it has)."""
    ctx = input.ctx
    items = list(index) if isinstance(index, tuple) else [index]
    for it in items:
        if isinstance(it, (bool, np.bool_)):
            raise ctx.error(op, "a Python bool index (x[True]) is not supported; use None to add a dim")
        if not (
            _is_int(it) or it is None or it is Ellipsis or isinstance(it, (SymInt, slice, Tensor, list, np.ndarray))
        ):
            raise ctx.error(
                op, f"unsupported index {it!r} ({type(it).__name__}); use ints, slices, None, ... or an int tensor"
            )
    if sum(it is Ellipsis for it in items) > 1:
        raise ctx.error(op, "an index can only have a single ellipsis ('...')")
    consumed = sum(_dims_of(it) for it in items if it is not None and it is not Ellipsis)
    if consumed > input.ndim:
        raise ctx.error(op, f"too many indices for a tensor of rank {input.ndim}: {consumed} given")
    fill = [slice(None)] * (input.ndim - consumed)
    if any(it is Ellipsis for it in items):
        at = next(i for i, it in enumerate(items) if it is Ellipsis)
        return items[:at] + fill + items[at + 1 :]
    return items + fill


def _dims_of(item) -> int:
    """How many input dims an index item consumes (a bool mask: its rank)."""
    if isinstance(item, Tensor) and item.dtype == trt.bool:
        return max(item.ndim, 1)
    return 1


def _is_mask(item) -> bool:
    return isinstance(item, Tensor) and item.dtype == trt.bool


@register_op(
    "IGatherLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISelectLayer",
    "ISqueezeLayer",
    "INonZeroLayer",
    "ICastLayer",
    torch="torch.Tensor.__getitem__",
    methods="__getitem__",
)
def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with torch semantics.

    Supported: ints (drop the dim), slices with positive steps (out-of-range bounds clamp), negative
    indices, None (new dim), Ellipsis, int index tensors or lists of ints (one: a gather whose dims replace
    that dim; several: broadcast together, a GatherND, their dims in place when adjacent, else first), and
    one bool mask (``x[mask]``: the positions of its True entries through INonZeroLayer, so the result's
    size is known only at run time).
    """
    op = "getitem"
    input = require_tensor(op, input)
    items = expand_index(input, index, op)
    slices: list[slice] = []
    drop: list[int] = []  # input dims indexed by an int
    insert: list[int] = []  # output positions of None
    advanced: list[tuple[int, object]] = []  # (output position, index tensor / list / mask)
    out_pos = 0
    for it in items:
        if it is None:
            insert.append(out_pos)
            out_pos += 1
            continue
        dim = len(slices)
        if _is_int(it) or isinstance(it, SymInt):
            slices.append(slice(_check_index(input, dim, it if isinstance(it, SymInt) else int(it), op), None))
            drop.append(dim)
        elif isinstance(it, slice):
            slices.append(it)
            out_pos += 1
        else:
            advanced.append((out_pos, it))
            k = _dims_of(it)
            slices.extend([slice(None)] * k)
            out_pos += k
    out = slice_dims(input, slices, op, keep_one=drop)
    out = _squeeze_unsqueeze(out, drop, insert, op)
    if not advanced:  # a view, as torch's: a write into it is written into `input` (setitem)
        return out.as_view_of(input, index, lambda base: getitem(base, index))
    if len(advanced) == 1 and not _is_mask(advanced[0][1]):
        pos, it = advanced[0]
        return _gather(out, pos, _index_tensor(op, out, pos, it), op + "_gather")
    return _advanced(out, advanced, op)


def index_grid(op: str, input: Tensor, advanced: list[tuple[int, object]]) -> tuple[Tensor, list[SizeLike]]:
    """Int index tensors / lists at dims ``advanced[i][0]`` of ``input``, negatives wrapped, broadcast together
    (torch's rule) and stacked: (int64 indices of shape (*S, k) for a GatherND / ScatterND, S)."""
    from netdef.functional.shape import cat, expand, unsqueeze

    ctx = input.ctx
    tensors = []
    for pos, it in advanced:
        t = _index_tensor(op, input, pos, it)
        if t.dtype != trt.int64:
            src = t
            t = wrap(
                ctx.add_layer(op + "_index_cast", lambda net, src=src: net.add_cast(src.itensor, trt.int64)).get_output(
                    0
                ),
                ctx,
            )
        tensors.append(t)
    rank = max(t.ndim for t in tensors)
    shape: list[SizeLike] = [1] * rank
    for t in tensors:
        for i, n in enumerate((1,) * (rank - t.ndim) + tuple(t.shape)):
            if decide("==", n, 1):
                continue
            if decide("==", shape[i], 1) or decide("==", shape[i], n):
                shape[i] = n
            elif not isinstance(n, SymInt) and not isinstance(shape[i], SymInt):
                raise ctx.error(
                    op, f"index tensors of shapes {[tuple(t.static_shape) for t in tensors]} cannot be broadcast"
                )
            else:
                assert_equal(ctx, shape[i], n, op, "index tensors cannot be broadcast together")
    tensors = [unsqueeze(expand(t, *shape), -1) if rank else unsqueeze(t, 0) for t in tensors]
    return cat(tensors, -1), shape


def _advanced(input: Tensor, advanced: list[tuple[int, object]], op: str) -> Tensor:
    """``input[..., i, ..., j, ...]`` for several index tensors (or one bool mask) at the given dims: one GatherND.

    As torch: the index tensors broadcast together; their result dims take the place of the indexed dims when
    those are adjacent, else they come first.
    """
    from netdef.functional.shape import permute

    ctx = input.ctx
    if any(_is_mask(it) for _, it in advanced):
        if len(advanced) > 1:
            raise ctx.error(
                op,
                "a bool mask together with other index tensors is not supported; index in two steps, e.g. x[m][:, i]",
            )
        pos, mask = advanced[0]
        dims = list(range(pos, pos + max(mask.ndim, 1)))
        if mask.ndim == 0:
            raise ctx.error(op, "a 0-d bool mask index is not supported; use torch.where / F.where")
        for i, d in enumerate(dims):
            a, b = mask.shape[i], input.shape[d]
            if not isinstance(a, SymInt) and not isinstance(b, SymInt) and a != b:
                raise ctx.error(
                    op,
                    f"the bool mask of shape {tuple(mask.static_shape)} does not match the indexed dims "
                    f"{dims} of shape {input.static_shape} (size {a} against {b} at mask dim {i})",
                )
            assert_equal(ctx, a, b, op, f"bool mask dim {i} (size {a}) must match the indexed dim {d} ({b})")
        rows = wrap(ctx.add_layer(op + "_nonzero", lambda net: net.add_non_zero(mask.itensor)).get_output(0), ctx)
        indices = permute(rows, 1, 0)  # (N, k): one row of positions per True entry
        batch_rank = 1
    else:
        dims = [pos for pos, _ in advanced]
        indices, shape = index_grid(op, input, advanced)
        batch_rank = len(shape)
    rest = [d for d in range(input.ndim) if d not in dims]
    data = permute(input, *dims, *rest)
    layer = ctx.add_layer(
        op + "_gather_nd", lambda net: net.add_gather_v2(data.itensor, indices.itensor, trt.GatherMode.ND)
    )
    out = wrap(layer.get_output(0), ctx)  # (*index shape, *rest)
    if dims != list(range(dims[0], dims[0] + len(dims))) or dims[0] == 0:
        return out
    at = dims[0]  # adjacent: the index dims replace the indexed ones
    lead = list(range(batch_rank, batch_rank + at))
    order = lead + list(range(batch_rank)) + list(range(batch_rank + at, out.ndim))
    return permute(out, *order)


@register_op(
    "ISliceLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "ISelectLayer",
    "IShapeLayer",
    torch="torch.narrow",
    view=True,
    methods="narrow",
)
def narrow(input: Tensor, dim: int, start: SizeLike, length: SizeLike) -> Tensor:
    """``length`` entries of ``dim`` from ``start`` (torch.narrow); sizes may be symbolic, a negative start
    counts from the end, and a range past the end is an error (at run time when the sizes are symbolic)."""
    op = "narrow"
    input = require_tensor(op, input)
    ctx = input.ctx
    axis = norm_dim(ctx, op, dim, input.ndim)
    start = check_size(ctx, op, start, "start")
    length = check_size(ctx, op, length, "length")
    n = input.shape[axis]
    if decide("<", length, 0):
        raise ctx.error(op, f"length {length} must be non-negative")
    if decide("<", start, 0):
        start = start + n
    elif not decide(">=", start, 0):
        start = wrap_negative(start, n)
    fits = [decide(">=", start, 0), decide("<=", start + length, n)]
    if False in fits:
        raise ctx.error(op, f"start {start} + length {length} exceeds dim {axis} of size {n}")
    if None in fits:
        assert_in_range(
            ctx, start + length, start, n + 1, op, f"start {start} + length {length} exceeds dim {axis} (size {n})"
        )
    starts: list[SizeLike] = [0] * input.ndim
    sizes: list[SizeLike] = list(input.shape)
    starts[axis], sizes[axis] = start, length
    return emit_slice(input, starts, sizes, [1] * input.ndim, op)


@register_op(
    "ISliceLayer",
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISqueezeLayer",
    torch="torch.select",
    methods="select",
)
def select(input: Tensor, dim: int, index: SizeLike) -> Tensor:
    """``input`` at ``index`` along ``dim``, with that dim removed (torch.select); the index may be symbolic."""
    input = require_tensor("select", input)
    axis = norm_dim(input.ctx, "select", dim, input.ndim)
    return getitem(input, (slice(None),) * axis + (index,))


def _index_arg(op: str, input: Tensor, index, what: str = "index") -> Tensor:
    """An int32/int64 index tensor of ``input``'s rank (torch's gather/scatter rule)."""
    ctx = input.ctx
    index = require_tensor(op, index, what)
    if index.dtype not in (trt.int32, trt.int64):
        raise ctx.error(op, f"`{what}` must be an int64 (or int32) tensor, got {index.dtype.name}")
    if index.ndim != input.ndim:
        raise ctx.error(op, f"`{what}` must have the rank of `input` ({input.ndim}), got shape {index.static_shape}")
    return index


def _fit_to(op: str, t: Tensor, index: Tensor, axis: int | None, what: str) -> Tensor:
    """``t`` cut to ``index``'s size on every dim (but ``axis``): torch reads only that corner of it."""
    ctx = t.ctx
    slices = []
    for d, (n, m) in enumerate(zip(t.shape, index.shape)):
        if d == axis or decide("==", n, m):
            slices.append(slice(None))
            continue
        if decide("<", n, m):
            raise ctx.error(
                op,
                f"`index` of shape {index.static_shape} is larger than `{what}` of shape {t.static_shape} at dim {d}",
            )
        if decide(">=", n, m) is None:
            assert_compare(ctx, m, "<=", n, op, f"`index` (size {m}) is larger than `{what}` (size {n}) at dim {d}")
        slices.append(slice(0, m))
    return slice_dims(t, slices, op + "_" + what)


@register_op(
    "IGatherLayer",
    "ISliceLayer",
    "IAssertionLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IUnaryLayer",
    torch="torch.gather",
    methods="gather",
    limits="indices must be in [0, size): others read 0 in an engine where torch raises",
)
def gather(input: Tensor, dim: int, index: Tensor, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim`` 0 (and so on): IGatherLayer in ELEMENT mode.
    ``out`` has ``index``'s shape; ``index`` may be smaller than ``input`` in the other dims."""
    op = "gather"
    input = require_tensor(op, input)
    ctx = input.ctx
    axis = norm_dim(ctx, op, dim, max(input.ndim, 1))
    index = _index_arg(op, input, index)
    data = _fit_to(op, input, index, axis, "input")

    def make(net):
        layer = net.add_gather_v2(data.itensor, index.itensor, trt.GatherMode.ELEMENT)
        layer.axis = axis
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


@register_op(
    "IScatterLayer",
    "ISliceLayer",
    "IAssertionLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "ICastLayer",
    "IUnaryLayer",
    torch="torch.scatter",
    methods="scatter",
    limits="no `reduce`; repeated indices: which write wins is unspecified, as in torch",
)
def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, reduce: str | None = None) -> Tensor:
    """``input`` with ``out[index[i][j][k]][j][k] = src[i][j][k]`` for ``dim`` 0 (and so on): IScatterLayer in
    ELEMENT mode. ``src`` is a tensor (only its corner of ``index``'s shape is read) or a number (``value``)."""
    from netdef.functional.creation import full_like
    from netdef.functional.dtype import cast

    op = "scatter"
    input = require_tensor(op, input)
    ctx = input.ctx
    if reduce is not None:
        raise ctx.error(
            op,
            f"reduce={reduce!r} is not supported: TensorRT's scatter writes, it does not accumulate; for a sum of "
            "rows per index use one_hot(index, n).to(x.dtype).transpose(-1, -2) @ src",
        )
    if src is None:
        src = value
    if src is None:
        raise ctx.error(op, "give `src` (a tensor or a number) or `value`")
    axis = norm_dim(ctx, op, dim, max(input.ndim, 1))
    index = _index_arg(op, input, index)
    for d, (n, m) in enumerate(zip(input.shape, index.shape)):
        if d != axis and decide("<", n, m):
            raise ctx.error(
                op,
                f"`index` of shape {index.static_shape} is larger than `input` of shape {input.static_shape} at dim {d}",
            )
    if isinstance(src, Tensor) or hasattr(type(src), "__netdef_tensor__"):
        src = require_tensor(op, src, "src")
        if src.ndim != input.ndim:
            raise ctx.error(op, f"`src` must have the rank of `input` ({input.ndim}), got shape {src.static_shape}")
        updates = cast(_fit_to(op, src, index, None, "src"), input.dtype)
    else:
        updates = full_like(index, src, dtype=input.dtype)

    def make(net):
        layer = net.add_scatter(input.itensor, index.itensor, updates.itensor, trt.ScatterMode.ELEMENT)
        layer.axis = axis
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)
