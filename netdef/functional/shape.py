"""Shape ops: reshape/view, flatten, permute, transpose, cat, squeeze/unsqueeze, expand, repeat,
split/chunk/unbind, stack."""

from __future__ import annotations

import math
from collections.abc import Sequence

from netdef._trt import trt
from netdef.functional._common import (
    context_of,
    norm_dim,
    placeholder_reshape,
    require_tensor,
    static_reshape,
    unsqueeze_to,
    wrap,
)
from netdef.functional.registry import register_op, tensor_method
from netdef.symbolic import SizeLike, SymInt, assert_equal, check_size, decide, size_tensor, sym_max, sym_min
from netdef.tensor import Tensor


def _shape_args(ctx, op: str, shape, what: str = "size") -> tuple[SizeLike, ...]:
    """Sizes given as ``f(x, 2, 3)``, ``f(x, (2, 3))`` or ``f(x, y.shape)``: ints or symbolic sizes."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(check_size(ctx, op, s, what) for s in shape)


def _reshape_to(input: Tensor, shape: Sequence[SizeLike], op: str) -> Tensor:
    """One shuffle to ``shape`` (ints, SymInts, at most one -1), checked at definition or run time."""
    ctx = input.ctx
    if sum(1 for s in shape if decide("==", s, -1)) > 1 or any(decide("<", s, -1) for s in shape):
        raise ctx.error(op, f"invalid shape {tuple(shape)}: at most one -1 and no other negative sizes")
    infer = any(decide("==", s, -1) for s in shape)
    known = math.prod(1 if decide("==", s, -1) else s for s in shape) if shape else 1
    n = input.numel()
    # torch's check: the element count matches (or, with -1, is a multiple of the other sizes)
    mismatch = f"shape {tuple(shape)} is invalid for input of shape {input.shape}"
    if infer:
        if not isinstance(known, SymInt) and not isinstance(n, SymInt):
            if known == 0 or n % known:
                raise ctx.error(op, f"{mismatch} ({n} elements)")
        elif decide("==", known, 0) is not True:
            assert_equal(ctx, n % sym_max(known, 1), 0, op, mismatch)
    elif not isinstance(known, SymInt) and not isinstance(n, SymInt):
        if known != n:
            raise ctx.error(op, f"{mismatch} ({n} elements)")
    else:
        assert_equal(ctx, known, n, op, f"{mismatch}: the element counts differ")
    dynamic = size_tensor(ctx, shape, op)

    def make(net):
        layer = net.add_shuffle(input.itensor)
        layer.zero_is_placeholder = False
        if dynamic is None:
            layer.reshape_dims = tuple(int(s) for s in shape)
        else:
            layer.set_input(1, dynamic)
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


@register_op(
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.reshape",
    methods=("reshape", "view"),
    aliases=("view",),
)
def reshape(input: Tensor, *shape) -> Tensor:
    """``input.view(*shape)`` / ``input.reshape(*shape)``: sizes are ints or symbolic sizes; one may be -1."""
    input = require_tensor("reshape", input)
    return _reshape_to(input, _shape_args(input.ctx, "reshape", shape), "reshape")


@register_op(
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.flatten",
    methods="flatten",
)
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (torch.flatten); any of them may be dynamic."""
    input = require_tensor("flatten", input)
    ctx, shape = input.ctx, input.static_shape
    if input.ndim == 0:
        return reshape(input, 1)
    start = norm_dim(ctx, "flatten", start_dim, input.ndim)
    end = norm_dim(ctx, "flatten", end_dim, input.ndim)
    if start > end:
        raise ctx.error("flatten", f"start_dim {start_dim} comes after end_dim {end_dim}")
    tail = shape[end + 1 :]
    merged = shape[start : end + 1]
    merged_size = -1 if any(d < 0 for d in merged) else math.prod(merged)
    # leading dims are copied (0 = placeholder) so a dynamic batch dim stays dynamic
    dims = (0,) * start + (-1 if merged_size < 0 or any(d < 0 for d in shape[:start]) else merged_size,) + tail
    if dims.count(-1) <= 1 and all(d >= 0 for d in tail):
        return placeholder_reshape(ctx, input, dims, "flatten")  # 0 copies the input dim
    # several dynamic dims: the merged size as a symbolic product
    sizes = input.shape
    return _reshape_to(input, (*sizes[:start], sizes[start : end + 1].numel(), *sizes[end + 1 :]), "flatten")


@register_op("IShuffleLayer", torch="torch.permute", methods="permute")
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dims (torch.permute)."""
    input = require_tensor("permute", input)
    ctx = input.ctx
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    if not all(isinstance(d, int) for d in dims):
        raise ctx.error("permute", f"dims must be ints, got {tuple(dims)}")
    dims = tuple(dims)
    if len(dims) != input.ndim:
        raise ctx.error("permute", f"got {len(dims)} dims {dims} for a tensor of rank {input.ndim}")
    order = tuple(norm_dim(ctx, "permute", d, input.ndim) for d in dims)
    if sorted(order) != list(range(input.ndim)):
        raise ctx.error("permute", f"dims {dims} are not a permutation of 0..{input.ndim - 1}")

    def make(net):
        layer = net.add_shuffle(input.itensor)
        layer.first_transpose = order
        return layer

    return wrap(ctx.add_layer("permute", make).get_output(0), ctx)


@register_op("IShuffleLayer", torch="torch.transpose", methods="transpose")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (torch.transpose)."""
    input = require_tensor("transpose", input)
    order = list(range(input.ndim))
    a = norm_dim(input.ctx, "transpose", dim0, input.ndim)
    b = norm_dim(input.ctx, "transpose", dim1, input.ndim)
    order[a], order[b] = order[b], order[a]
    return permute(input, *order)


@register_op("IShuffleLayer", torch="torch.t", methods="t")
def t(input: Tensor) -> Tensor:
    """Transpose a 2-D tensor; 0-D and 1-D tensors are returned as they are (torch.t)."""
    input = require_tensor("t", input)
    if input.ndim > 2:
        raise input.ctx.error("t", f"expects a tensor of at most 2 dims, got {input.ndim}; use transpose(dim0, dim1)")
    return input if input.ndim < 2 else transpose(input, 0, 1)


@register_op("IConcatenationLayer", torch="torch.cat")
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along ``dim`` (torch.cat)."""
    ctx = context_of(*tensors)
    if not tensors:
        raise ctx.error("cat", "expected a non-empty sequence of tensors")
    tensors = [require_tensor("cat", t, f"tensors[{i}]") for i, t in enumerate(tensors)]
    first = tensors[0]
    axis = norm_dim(ctx, "cat", dim, first.ndim)
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != first.ndim or t.dtype != first.dtype:
            raise ctx.error(
                "cat",
                f"tensors[{i}] has rank {t.ndim} and dtype {t.dtype.name}, tensors[0] has rank "
                f"{first.ndim} and dtype {first.dtype.name}",
            )
        for d, (x, y) in enumerate(zip(first.static_shape, t.static_shape)):
            if d != axis and x != y and x >= 0 and y >= 0:
                raise ctx.error(
                    "cat",
                    f"tensors[{i}] has shape {t.static_shape}, tensors[0] has {first.static_shape}: "
                    f"sizes must match except in dim {axis}",
                )

    def make(net):
        layer = net.add_concatenation([t.itensor for t in tensors])
        layer.axis = axis
        return layer

    return wrap(ctx.add_layer("cat", make).get_output(0), ctx)


# -- squeeze / unsqueeze / expand / repeat / split / chunk / stack ------------------------------------


def _dims_arg(ctx, op: str, dim, ndim: int) -> list[int]:
    dims = [dim] if isinstance(dim, int) else list(dim)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise ctx.error(op, f"dim must be an int or a tuple of ints, got {dim!r}")
    axes = [norm_dim(ctx, op, d, ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise ctx.error(op, f"dim {dim!r} names a dim more than once")
    return axes


@register_op("IConstantLayer", "IShuffleLayer", "IUnsqueezeLayer", torch="torch.unsqueeze", methods="unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (in [-rank-1, rank], as torch)."""
    from netdef.functional.indexing import int_vector

    input = require_tensor("unsqueeze", input)
    ctx = input.ctx
    axis = norm_dim(ctx, "unsqueeze", dim, input.ndim + 1)
    if all(d >= 0 for d in input.static_shape):
        shape = list(input.static_shape)
        shape.insert(axis, 1)
        return static_reshape(ctx, input, tuple(shape), "unsqueeze")
    axes = int_vector(ctx, [axis], "unsqueeze_axes")
    return wrap(
        ctx.add_layer("unsqueeze", lambda net: net.add_unsqueeze(input.itensor, axes.itensor)).get_output(0), ctx
    )


@register_op("IConstantLayer", "IShuffleLayer", "ISqueezeLayer", torch="torch.squeeze", methods="squeeze")
def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Remove size-1 dims: all of them, or those among ``dim`` (dims of another size are kept, as torch).

    A dynamic dim cannot be squeezed (its size is unknown while defining): index it with ``x[0]``.
    """
    from netdef.functional.indexing import int_vector

    input = require_tensor("squeeze", input)
    ctx, shape = input.ctx, input.static_shape
    if input.ndim == 0:
        return input
    axes = list(range(input.ndim)) if dim is None else _dims_arg(ctx, "squeeze", dim, input.ndim)
    dynamic = [a for a in axes if shape[a] < 0]
    if dynamic:
        raise ctx.error(
            "squeeze",
            f"dim {dynamic[0]} of shape {shape} is dynamic, so whether it is 1 is unknown while defining; "
            "drop it with an int index (x[0] / x[:, 0]) or reshape explicitly",
        )
    drop = sorted(a for a in axes if shape[a] == 1)
    if not drop:
        return input
    if all(d >= 0 for d in shape):
        return static_reshape(ctx, input, tuple(d for i, d in enumerate(shape) if i not in drop), "squeeze")
    ax = int_vector(ctx, drop, "squeeze_axes")
    return wrap(ctx.add_layer("squeeze", lambda net: net.add_squeeze(input.itensor, ax.itensor)).get_output(0), ctx)


@register_op(
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    torch="torch.Tensor.expand",
    methods="expand",
)
def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast size-1 dims to ``sizes`` without copying (torch.Tensor.expand); -1 keeps a dim.

    New leading dims may be added. Sizes may be symbolic (``x.expand(B, -1, -1)``); a dynamic dim of the
    input expanded to another size must be 1 at run time (checked by an IAssertionLayer).
    """
    op = "expand"
    input = require_tensor(op, input)
    ctx = input.ctx
    sizes = _shape_args(ctx, op, sizes)
    if len(sizes) < input.ndim:
        raise ctx.error(
            op, f"got {len(sizes)} sizes {sizes} for a tensor of rank {input.ndim}: give at least {input.ndim}"
        )
    lead = len(sizes) - input.ndim
    shape = input.shape
    target: list[SizeLike] = []
    stride: list[SizeLike] = []
    for i, s in enumerate(sizes):
        n = shape[i - lead] if i >= lead else 1
        if decide("<", s, 0):
            if i < lead or not decide("==", s, -1):
                what = f"the new leading dim {i}: give its size" if i < lead else f"dim {i}"
                raise ctx.error(op, f"size {s} is not allowed for {what} (sizes {sizes})")
            s = n
        if decide("==", s, n):
            target.append(n)
            stride.append(1)
        elif decide("==", n, 1):
            target.append(s)
            stride.append(0)
        elif not isinstance(n, SymInt) and not isinstance(s, SymInt):
            raise ctx.error(
                op,
                f"the expanded size {s} must match the existing size {n} at non-singleton dim {i} "
                f"(target sizes {sizes}, tensor shape {input.shape})",
            )
        else:  # decided at run time: n must be s, or 1 (then it broadcasts: stride 0)
            assert_equal(
                ctx,
                (n - s) * (n - 1),
                0,
                op,
                f"the expanded size {s} must match the existing size {n} at dim {i} unless that is 1",
            )
            target.append(s)
            stride.append(sym_min(n - 1, 1))
    from netdef.functional.indexing import emit_slice

    x = unsqueeze_to(ctx, input, len(sizes), op)
    if all(isinstance(v, int) and v == 1 for v in stride):
        return x
    return emit_slice(x, [0] * len(sizes), target, stride, op)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    torch="torch.Tensor.expand_as",
    methods="expand_as",
)
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.size())``; ``other`` may have dynamic dims."""
    from netdef.functional.indexing import emit_slice, int_vector, shape_of

    op = "expand_as"
    input, other = require_tensor(op, input), require_tensor(op, other, "other")
    ctx = input.ctx
    if all(d >= 0 for d in other.static_shape):
        return expand(input, *other.static_shape)
    if input.ndim > other.ndim or any(
        a >= 0 and b >= 0 and a not in (1, b) for a, b in zip(input.static_shape[::-1], other.static_shape[::-1])
    ):
        raise ctx.error(op, f"cannot expand shape {input.static_shape} to {other.static_shape}")
    x = unsqueeze_to(ctx, input, other.ndim, op)
    size = shape_of(other, op + "_shape")
    if all(d >= 0 for d in x.static_shape):
        stride = [0 if a == 1 and b != 1 else 1 for a, b in zip(x.static_shape, other.static_shape)]
        return emit_slice(x, [0] * other.ndim, size, stride, op)
    # a dynamic input dim broadcasts when it is 1 at run time: stride = clamp(n - 1, 0, 1)
    n = shape_of(x, op + "_input_shape")
    ops = trt.ElementWiseOperation
    stride = n
    for tag, operation, value in (
        ("minus_one", ops.SUB, 1),
        ("at_most_one", ops.MIN, 1),
        ("at_least_zero", ops.MAX, 0),
    ):
        c = int_vector(ctx, [value] * other.ndim, f"{op}_{tag}")
        src = stride
        stride = wrap(
            ctx.add_layer(
                f"{op}_stride_{tag}", lambda net, a=src, c=c, o=operation: net.add_elementwise(a.itensor, c.itensor, o)
            ).get_output(0),
            ctx,
        )
    return emit_slice(x, [0] * other.ndim, size, stride, op)


@register_op(
    "ISliceLayer",
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    torch="torch.Tensor.repeat",
    methods="repeat",
)
def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (torch.Tensor.repeat); dims and repeats may be symbolic."""
    from netdef.functional.indexing import emit_slice

    op = "repeat"
    input = require_tensor(op, input)
    ctx = input.ctx
    sizes = _shape_args(ctx, op, sizes, "repeats")
    if len(sizes) < input.ndim:
        raise ctx.error(
            op, f"got {len(sizes)} repeats {sizes} for a tensor of rank {input.ndim}: give at least {input.ndim}"
        )
    if any(decide("<", r, 0) for r in sizes):
        raise ctx.error(op, f"repeats must be >= 0, got {sizes}")
    x = unsqueeze_to(ctx, input, len(sizes), op)
    if all(decide("==", r, 1) for r in sizes):
        return x
    target = [d * r for d, r in zip(x.shape, sizes)]
    # WRAP sampling reads input[i % size]: tiling in one layer
    return emit_slice(x, [0] * len(sizes), target, [1] * len(sizes), op, mode=trt.SampleMode.WRAP)


def _pieces(tensor: Tensor, axis: int, sizes: Sequence[SizeLike], op: str) -> tuple[Tensor, ...]:
    from netdef.functional.indexing import slice_dims

    pieces, start = [], 0
    for size in sizes:
        slices = [slice(None)] * tensor.ndim
        slices[axis] = slice(start, start + size)
        pieces.append(slice_dims(tensor, slices, op))
        start = start + size
    return tuple(pieces)


@register_op(
    "ISliceLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    torch="torch.split",
    methods="split",
)
def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size_or_sections`` each (the last may be smaller), or of the listed sizes, along ``dim``.

    A dynamic dim splits into listed sizes (ints or symbolic, summing to the dim, checked at run time), or
    into pieces of a size that divides it (asserted at run time, so the number of pieces is known).
    """
    op = "split"
    tensor = require_tensor(op, tensor)
    ctx = tensor.ctx
    axis = norm_dim(ctx, op, dim, tensor.ndim)
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, SymInt)) and not isinstance(split_size_or_sections, bool):
        step = split_size_or_sections
        if decide("<=", step, 0) and not (decide("==", step, 0) and decide("==", n, 0)):
            raise ctx.error(op, f"split_size must be a positive int, got {step}")
        if isinstance(n, SymInt) or isinstance(step, SymInt):
            count = n // step
            if isinstance(count, SymInt):
                raise ctx.error(
                    op,
                    f"splitting dim {axis} (size {n}) into pieces of {step} gives a number of pieces only known at "
                    "run time; give the piece sizes as a list, or use chunk(n) for a fixed number of pieces",
                )
            assert_equal(ctx, n % step, 0, op, f"split_size {step} must divide dim {axis} (size {n})")
            sizes: list[SizeLike] = [step] * count
        else:
            sizes = [min(step, n - s) for s in range(0, n, step)] if n else [0]
    else:
        sizes = [check_size(ctx, op, s, "split size") for s in split_size_or_sections]
        if any(decide("<", s, 0) for s in sizes):
            raise ctx.error(op, f"split sizes {sizes} must be >= 0")
        assert_equal(ctx, sum(sizes), n, op, f"split sizes {sizes} must sum to the size {n} of dim {dim}")
    return _pieces(tensor, axis, sizes, op)


@register_op(
    "ISliceLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    torch="torch.chunk",
    methods="chunk",
)
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer when the size runs out, as torch).

    A dynamic dim must be a multiple of ``chunks`` (asserted at run time), so that there are ``chunks`` pieces.
    """
    input = require_tensor("chunk", input)
    ctx = input.ctx
    if not isinstance(chunks, int) or chunks <= 0:
        raise ctx.error("chunk", f"chunks must be a positive int, got {chunks!r}")
    axis = norm_dim(ctx, "chunk", dim, input.ndim)
    n = input.shape[axis]
    if isinstance(n, SymInt):
        assert_equal(
            ctx,
            n % chunks,
            0,
            "chunk",
            f"chunk({chunks}) of dim {axis} needs its size ({n}) to be a multiple of {chunks}",
        )
        return _pieces(input, axis, [n // chunks] * chunks, "split")
    return split(input, max(-(-n // chunks), 1) if n else 0, axis) if n else (input,)


@register_op(
    "IConcatenationLayer",
    "IConstantLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "ISqueezeLayer",
    torch="torch.unbind",
    methods="unbind",
)
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """Every slice along ``dim``, with that dim removed (``q, k, v = qkv.unbind(0)``)."""
    input = require_tensor("unbind", input)
    ctx = input.ctx
    axis = norm_dim(ctx, "unbind", dim, input.ndim)
    n = input.shape[axis]
    if isinstance(n, SymInt):
        raise n._concrete("unbind", f"unbind(dim={dim}) makes one tensor per entry, so it needs the count")
    return tuple(input[(slice(None),) * axis + (i,)] for i in range(n))


@register_op("IConcatenationLayer", "IConstantLayer", "IShuffleLayer", "IUnsqueezeLayer", torch="torch.stack")
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim ``dim`` (torch.stack)."""
    ctx = context_of(*tensors)
    if not tensors:
        raise ctx.error("stack", "expected a non-empty sequence of tensors")
    tensors = [require_tensor("stack", t, f"tensors[{i}]") for i, t in enumerate(tensors)]
    first = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != first.ndim or any(
            a != b and a >= 0 and b >= 0 for a, b in zip(t.static_shape, first.static_shape)
        ):
            raise ctx.error(
                "stack",
                f"stack expects each tensor to be equal size, but tensors[0] has {first.static_shape} and tensors[{i}] has {t.static_shape}",
            )
    axis = norm_dim(ctx, "stack", dim, first.ndim + 1)
    return cat([unsqueeze(t, axis) for t in tensors], axis)


@tensor_method("__iter__")
def _iterate(self: Tensor):
    """Iterate over dim 0 (``unbind(self, 0)``)."""
    return iter(unbind(self, 0))


@register_op(
    "IShuffleLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.unflatten",
    methods="unflatten",
)
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (torch.unflatten; one size may be -1 when that dim is static).

    The other dims may be dynamic: they keep their run-time sizes.
    """
    op = "unflatten"
    input = require_tensor(op, input)
    ctx, static = input.ctx, input.static_shape
    axis = norm_dim(ctx, op, dim, input.ndim)
    sizes = [int(s) for s in sizes]
    if not sizes or sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ctx.error(op, f"sizes {sizes} must be non-empty, sizes >= 0 with at most one -1")
    n, known = static[axis], math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if n < 0:
            raise ctx.error(op, f"dim {dim} of shape {static} is dynamic: give every size (no -1)")
        if known == 0 or n % known:
            raise ctx.error(op, f"sizes {sizes} cannot split dim {dim} of size {n}")
        sizes[sizes.index(-1)] = n // known
    elif n >= 0 and known != n:
        raise ctx.error(op, f"sizes {sizes} multiply to {known}, not to the size {n} of dim {dim} of shape {static}")
    shape = input.shape
    return _reshape_to(input, (*shape[:axis], *sizes, *shape[axis + 1 :]), op)


@register_op(
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.Tensor.view_as",
    methods=("view_as", "reshape_as"),
    aliases=("reshape_as",),
)
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.size())`` (torch.Tensor.view_as); ``other`` may have dynamic dims."""
    op = "view_as"
    input, other = require_tensor(op, input), require_tensor(op, other, "other")
    n, m = (math.prod(t.static_shape) if -1 not in t.static_shape else -1 for t in (input, other))
    if n >= 0 and m >= 0 and n != m:
        raise input.ctx.error(
            op, f"shape {input.static_shape} ({n} elements) cannot be viewed as {other.static_shape} ({m} elements)"
        )
    return _reshape_to(input, tuple(other.shape), op)
