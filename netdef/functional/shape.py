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
from netdef.tensor import Tensor


def _shape_args(shape) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


@register_op("IShuffleLayer", torch="torch.reshape", methods=("reshape", "view"), aliases=("view",))
def reshape(input: Tensor, *shape) -> Tensor:
    """``input.view(*shape)`` / ``input.reshape(*shape)``; one dim may be -1."""
    input = require_tensor("reshape", input)
    ctx = input.ctx
    shape = _shape_args(shape)
    if sum(1 for s in shape if s == -1) > 1 or any(s < -1 for s in shape):
        raise ctx.error("reshape", f"invalid shape {shape}: at most one -1 and no other negative sizes")
    n = input.numel()
    if n >= 0:
        known = math.prod(s for s in shape if s != -1)
        if (-1 in shape and (known == 0 or n % known)) or (-1 not in shape and known != n):
            raise ctx.error("reshape", f"shape {shape} is invalid for input of shape {input.shape} ({n} elements)")

    def make(net):
        layer = net.add_shuffle(input.itensor)
        layer.zero_is_placeholder = False
        layer.reshape_dims = shape
        return layer

    return wrap(ctx.add_layer("reshape", make).get_output(0), ctx)


@register_op("IShuffleLayer", torch="torch.flatten", methods="flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (torch.flatten)."""
    input = require_tensor("flatten", input)
    ctx, shape = input.ctx, input.shape
    if input.ndim == 0:
        return reshape(input, 1)
    start = norm_dim(ctx, "flatten", start_dim, input.ndim)
    end = norm_dim(ctx, "flatten", end_dim, input.ndim)
    if start > end:
        raise ctx.error("flatten", f"start_dim {start_dim} comes after end_dim {end_dim}")
    tail = shape[end + 1 :]
    if any(d < 0 for d in tail):
        raise ctx.error("flatten", f"dims after end_dim must be static, got shape {shape}")
    merged = shape[start : end + 1]
    merged_size = -1 if any(d < 0 for d in merged) else math.prod(merged)
    # leading dims are copied (0 = placeholder) so a dynamic batch dim stays dynamic
    dims = (0,) * start + (-1 if merged_size < 0 or any(d < 0 for d in shape[:start]) else merged_size,) + tail
    if dims.count(-1) > 1:
        raise ctx.error("flatten", f"cannot flatten shape {shape}: more than one dynamic dim would merge")

    return placeholder_reshape(ctx, input, dims, "flatten")  # 0 copies the input dim


@register_op("IShuffleLayer", torch="torch.permute", methods="permute")
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dims (torch.permute)."""
    input = require_tensor("permute", input)
    ctx = input.ctx
    dims = _shape_args(dims)
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
        for d, (x, y) in enumerate(zip(first.shape, t.shape)):
            if d != axis and x != y and x >= 0 and y >= 0:
                raise ctx.error(
                    "cat",
                    f"tensors[{i}] has shape {t.shape}, tensors[0] has {first.shape}: "
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
    if all(d >= 0 for d in input.shape):
        shape = list(input.shape)
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
    ctx, shape = input.ctx, input.shape
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

    New leading dims may be added. A dynamic dim must be kept with -1.
    """
    from netdef.functional.indexing import emit_slice, int_vector, shape_of

    op = "expand"
    input = require_tensor(op, input)
    ctx = input.ctx
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise ctx.error(
            op, f"got {len(sizes)} sizes {sizes} for a tensor of rank {input.ndim}: give at least {input.ndim}"
        )
    lead = len(sizes) - input.ndim
    target, stride = [], []
    for i, s in enumerate(sizes):
        n = input.shape[i - lead] if i >= lead else 1
        if i < lead and s < 0:
            raise ctx.error(op, f"size {s} is not allowed for the new leading dim {i}: give its size")
        if s == -1 or s == n:
            target.append(n)
            stride.append(1)
        elif s < -1:
            raise ctx.error(op, f"invalid size {s} in {sizes}")
        elif n == 1:
            target.append(s)
            stride.append(0)
        elif n < 0:
            raise ctx.error(
                op, f"dim {i - lead} of shape {input.shape} is dynamic: keep it with -1 (it cannot be expanded)"
            )
        else:
            raise ctx.error(
                op,
                f"the expanded size {s} must match the existing size {n} at non-singleton dim {i} "
                f"(target sizes {sizes}, tensor shape {input.shape})",
            )
    x = unsqueeze_to(ctx, input, len(sizes), op)
    if all(s == 1 for s in stride):
        return x
    zeros = [0] * len(sizes)
    if all(t >= 0 for t in target):
        return emit_slice(x, zeros, target, stride, op)
    # dynamic kept dims: size = shape(x) * keep + fixed sizes
    shape = shape_of(x, op + "_shape")
    keep = int_vector(ctx, [1 if t < 0 else 0 for t in target], op + "_keep")
    fixed = int_vector(ctx, [0 if t < 0 else t for t in target], op + "_sizes")
    kept = ctx.add_layer(
        op + "_size_keep", lambda net: net.add_elementwise(shape.itensor, keep.itensor, trt.ElementWiseOperation.PROD)
    ).get_output(0)
    size = ctx.add_layer(
        op + "_size", lambda net: net.add_elementwise(kept, fixed.itensor, trt.ElementWiseOperation.SUM)
    ).get_output(0)
    return emit_slice(x, zeros, wrap(size, ctx), stride, op)


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
    if all(d >= 0 for d in other.shape):
        return expand(input, *other.shape)
    if input.ndim > other.ndim or any(
        a >= 0 and b >= 0 and a not in (1, b) for a, b in zip(input.shape[::-1], other.shape[::-1])
    ):
        raise ctx.error(op, f"cannot expand shape {input.shape} to {other.shape}")
    x = unsqueeze_to(ctx, input, other.ndim, op)
    size = shape_of(other, op + "_shape")
    if all(d >= 0 for d in x.shape):
        stride = [0 if a == 1 and b != 1 else 1 for a, b in zip(x.shape, other.shape)]
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


@register_op("IShuffleLayer", "ISliceLayer", torch="torch.Tensor.repeat", methods="repeat")
def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (torch.Tensor.repeat); needs static dims."""
    from netdef.functional.indexing import emit_slice

    op = "repeat"
    input = require_tensor(op, input)
    ctx = input.ctx
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise ctx.error(
            op, f"got {len(sizes)} repeats {sizes} for a tensor of rank {input.ndim}: give at least {input.ndim}"
        )
    if any(r < 0 for r in sizes):
        raise ctx.error(op, f"repeats must be >= 0, got {sizes}")
    if any(d < 0 for d in input.shape):
        raise ctx.error(op, f"needs static dims, got shape {input.shape}; use expand for broadcasting instead")
    x = unsqueeze_to(ctx, input, len(sizes), op)
    if all(r == 1 for r in sizes):
        return x
    target = [d * r for d, r in zip(x.shape, sizes)]
    # WRAP sampling reads input[i % size]: tiling in one layer
    return emit_slice(x, [0] * len(sizes), target, [1] * len(sizes), op, mode=trt.SampleMode.WRAP)


@register_op("IConstantLayer", "IElementWiseLayer", "IShapeLayer", "ISliceLayer", torch="torch.split", methods="split")
def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size_or_sections`` each (the last may be smaller), or of the listed sizes, along ``dim``."""
    from netdef.functional.indexing import slice_dims

    op = "split"
    tensor = require_tensor(op, tensor)
    ctx = tensor.ctx
    axis = norm_dim(ctx, op, dim, tensor.ndim)
    n = tensor.shape[axis]
    if n < 0:
        raise ctx.error(op, f"dim {dim} of shape {tensor.shape} is dynamic; split needs its size while defining")
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and n == 0):
            raise ctx.error(op, f"split_size must be a positive int, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ctx.error(op, f"split sizes {sizes} must be >= 0 and sum to the size {n} of dim {dim}")
    pieces, start = [], 0
    for size in sizes:
        slices = [slice(None)] * tensor.ndim
        slices[axis] = slice(start, start + size)
        pieces.append(slice_dims(tensor, slices, op))
        start += size
    return tuple(pieces)


@register_op("ISliceLayer", torch="torch.chunk", methods="chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer when the size runs out, as torch)."""
    input = require_tensor("chunk", input)
    ctx = input.ctx
    if not isinstance(chunks, int) or chunks <= 0:
        raise ctx.error("chunk", f"chunks must be a positive int, got {chunks!r}")
    axis = norm_dim(ctx, "chunk", dim, input.ndim)
    n = input.shape[axis]
    if n < 0:
        raise ctx.error("chunk", f"dim {dim} of shape {input.shape} is dynamic; chunk needs its size while defining")
    return split(input, max(-(-n // chunks), 1) if n else 0, axis) if n else (input,)


@register_op("IShuffleLayer", "ISliceLayer", torch="torch.unbind", methods="unbind")
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """Every slice along ``dim``, with that dim removed (``q, k, v = qkv.unbind(0)``)."""
    input = require_tensor("unbind", input)
    ctx = input.ctx
    axis = norm_dim(ctx, "unbind", dim, input.ndim)
    n = input.shape[axis]
    if n < 0:
        raise ctx.error("unbind", f"dim {dim} of shape {input.shape} is dynamic; unbind needs its size while defining")
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
        if t.ndim != first.ndim or any(a != b and a >= 0 and b >= 0 for a, b in zip(t.shape, first.shape)):
            raise ctx.error(
                "stack",
                f"stack expects each tensor to be equal size, but tensors[0] has {first.shape} and tensors[{i}] has {t.shape}",
            )
    axis = norm_dim(ctx, "stack", dim, first.ndim + 1)
    return cat([unsqueeze(t, axis) for t in tensors], axis)


@tensor_method("__iter__")
def _iterate(self: Tensor):
    """Iterate over dim 0 (``unbind(self, 0)``)."""
    return iter(unbind(self, 0))
