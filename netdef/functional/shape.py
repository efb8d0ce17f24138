"""Shape ops: reshape/view, flatten, permute, transpose, cat."""

from __future__ import annotations

import math
from collections.abc import Sequence

from netdef.functional._common import context_of, norm_dim, require_tensor, wrap
from netdef.tensor import Tensor


def _shape_args(shape) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


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


view = reshape


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

    def make(net):
        layer = net.add_shuffle(input.itensor)
        layer.reshape_dims = dims  # zero_is_placeholder stays True: 0 copies the input dim
        return layer

    return wrap(ctx.add_layer("flatten", make).get_output(0), ctx)


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


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (torch.transpose)."""
    input = require_tensor("transpose", input)
    order = list(range(input.ndim))
    a = norm_dim(input.ctx, "transpose", dim0, input.ndim)
    b = norm_dim(input.ctx, "transpose", dim1, input.ndim)
    order[a], order[b] = order[b], order[a]
    return permute(input, *order)


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
