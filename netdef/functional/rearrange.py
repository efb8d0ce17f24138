"""Ops that move entries around: flip, roll, movedim, broadcast_to, tile, repeat_interleave, pixel_shuffle,
pixel_unshuffle, channel_shuffle, unfold, fold. Sizes may be dynamic unless an op says otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netdef._trt import trt
from netdef.functional._common import norm_dim, require_tensor
from netdef.functional.indexing import _gather, emit_slice
from netdef.functional.registry import register_op
from netdef.functional.shape import _dims_arg, expand, flatten, permute, repeat, reshape, unsqueeze
from netdef.symbolic import SizeLike, SymInt, assert_equal, decide
from netdef.tensor import Tensor


def _copy(out: Tensor, input: Tensor) -> Tensor:
    """``out`` as a tensor of its own: torch's op returns a copy, not a view of ``input``."""
    if out is input:
        return Tensor(input.itensor, input.ctx)
    out.view_of = None
    return out


@register_op(
    "ISliceLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    torch="torch.flip",
    methods="flip",
)
def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """``input`` with the order of entries reversed along ``dims`` (one slice with stride -1)."""
    op = "flip"
    input = require_tensor(op, input)
    axes = _dims_arg(input.ctx, op, dims, input.ndim)
    shape = input.shape
    starts = [n - 1 if d in axes else 0 for d, n in enumerate(shape)]
    strides = [-1 if d in axes else 1 for d in range(input.ndim)]
    if not axes:
        return _copy(input, input)
    return emit_slice(input, starts, list(shape), strides, op)


@register_op(
    "ISliceLayer",
    "IShuffleLayer",
    "IConcatenationLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IConstantLayer",
    torch="torch.roll",
    methods="roll",
)
def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """``input`` shifted by ``shifts`` along ``dims``, entries pushed off one end coming back at the other
    (torch.roll); without ``dims`` the flattened tensor is rolled. One slice in WRAP mode."""
    op = "roll"
    input = require_tensor(op, input)
    ctx = input.ctx
    shift_list = [shifts] if isinstance(shifts, int) else list(shifts)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in shift_list):
        raise ctx.error(op, f"shifts must be Python ints, got {shifts!r}")
    if dims is None:
        if len(shift_list) != 1:
            raise ctx.error(op, f"without dims, shifts must be one int, got {shifts!r}")
        return reshape(roll(flatten(input), shift_list[0], 0), *input.shape)
    axes = [dims] if isinstance(dims, int) else list(dims)
    if len(axes) != len(shift_list):
        raise ctx.error(op, f"shifts {shifts!r} and dims {dims!r} must have the same length")
    axes = [norm_dim(ctx, op, d, input.ndim) for d in axes]
    shape = input.shape
    starts: list[SizeLike] = [0] * input.ndim
    for d, s in zip(axes, shift_list):
        starts[d] = starts[d] - s  # summed per dim, as torch applies repeated dims one after another
    for d in range(input.ndim):
        n, s = shape[d], starts[d]
        if isinstance(s, int) and s < 0:
            # a start in [0, n): WRAP reads input[(start + i) % n]
            if isinstance(n, SymInt):
                starts[d] = -s * (n - 1)  # = s (mod n), and >= 0
            else:
                starts[d] = s % n if n else 0
    if all(decide("==", s, 0) for s in starts):
        return _copy(input, input)
    return emit_slice(input, starts, list(shape), [1] * input.ndim, op, mode=trt.SampleMode.WRAP)


@register_op("IShuffleLayer", torch="torch.movedim", methods=("movedim", "moveaxis"), aliases=("moveaxis",))
def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Move the dims ``source`` to the positions ``destination``, the others keeping their order (a view)."""
    op = "movedim"
    input = require_tensor(op, input)
    ctx, rank = input.ctx, input.ndim
    src = _dims_arg(ctx, op, source, rank)
    dst = _dims_arg(ctx, op, destination, rank)
    if len(src) != len(dst):
        raise ctx.error(op, f"source {source!r} and destination {destination!r} must name as many dims")
    order: list[int | None] = [None] * rank
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(rank) if d not in src)
    return permute(input, *[o if o is not None else next(rest) for o in order])


@register_op(
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    "ISliceLayer",
    torch="torch.broadcast_to",
    methods="broadcast_to",
)
def broadcast_to(input: Tensor, size: Sequence[SizeLike]) -> Tensor:
    """``input`` broadcast to ``size`` (torch.broadcast_to: ``input.expand(size)``, -1 keeps a dim)."""
    return expand(require_tensor("broadcast_to", input), *size)


@register_op(
    "ISliceLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IShuffleLayer",
    torch="torch.tile",
    methods="tile",
)
def tile(input: Tensor, dims: Sequence[SizeLike]) -> Tensor:
    """``input`` repeated ``dims`` times along each dim (torch.tile: ``repeat``, with 1s added in front when
    ``dims`` is shorter than the rank)."""
    input = require_tensor("tile", input)
    dims = [dims] if isinstance(dims, (int, SymInt)) else list(dims)
    dims = [1] * (input.ndim - len(dims)) + dims
    return repeat(input, *dims)


@register_op(
    "IConstantLayer",
    "IGatherLayer",
    "IShuffleLayer",
    "ISliceLayer",
    "IConcatenationLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IAssertionLayer",
    "IUnsqueezeLayer",
    torch="torch.repeat_interleave",
    methods="repeat_interleave",
)
def repeat_interleave(input: Tensor, repeats: int | Sequence[int], dim: int | None = None) -> Tensor:
    """Each entry repeated ``repeats`` times along ``dim`` (flattened when None), next to itself.

    ``repeats`` is an int (or a size from x.shape), or a list of Python ints, one per entry of a static dim;
    a tensor of repeats would make a size known only from values and is refused.
    """
    op = "repeat_interleave"
    input = require_tensor(op, input)
    ctx = input.ctx
    if isinstance(repeats, Tensor):
        raise ctx.error(
            op,
            "repeats given as a tensor make the output's size depend on its values, which a TensorRT network "
            "cannot know while defining; give an int or a list of Python ints",
        )
    if dim is None:
        input, dim = flatten(input), 0
    axis = norm_dim(ctx, op, dim, input.ndim)
    if isinstance(repeats, (int, SymInt)) and not isinstance(repeats, bool):
        if decide("<", repeats, 0):
            raise ctx.error(op, f"repeats must be >= 0, got {repeats}")
        shape = list(input.shape)
        x = unsqueeze(input, axis + 1)
        target = [-1] * x.ndim
        target[axis + 1] = repeats
        x = expand(x, *target)
        out = reshape(x, *shape[:axis], shape[axis] * repeats, *shape[axis + 1 :])
        return _copy(out, input)
    counts = np.asarray(list(repeats))
    n = input.static_shape[axis]
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ctx.error(op, f"repeats must be an int or a list of ints >= 0, got {repeats!r}")
    if n < 0 or len(counts) != n:
        raise ctx.error(op, f"a list of {len(counts)} repeats needs dim {axis} to have that (static) size, got {n}")
    from netdef.functional._common import constant

    index = constant(ctx, np.repeat(np.arange(n), counts).astype(np.int32), trt.int32, op + "_index")
    return _gather(input, axis, index, op)


def _check_factor(ctx, op: str, name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ctx.error(op, f"{name} must be a positive int, got {value!r}")
    return value


def _divisible(ctx, op: str, size: SizeLike, by: int, what: str) -> None:
    if not isinstance(size, SymInt):
        if size % by:
            raise ctx.error(op, f"{what} ({size}) must be divisible by {by}")
    else:
        assert_equal(ctx, size % by, 0, op, f"{what} ({size}) must be divisible by {by}")


@register_op(
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.nn.functional.pixel_shuffle",
)
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r), as torch's F.pixel_shuffle."""
    op = "pixel_shuffle"
    input = require_tensor(op, input)
    ctx = input.ctx
    r = _check_factor(ctx, op, "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise ctx.error(op, f"expects a tensor of rank >= 3 (*, C, H, W), got shape {input.static_shape}")
    *lead, c, h, w = input.shape
    _divisible(ctx, op, c, r * r, "the channel count")
    x = reshape(input, *lead, c // (r * r), r, r, h, w)
    k = len(lead)
    x = permute(x, *range(k), k, k + 3, k + 1, k + 4, k + 2)
    return _copy(reshape(x, *lead, c // (r * r), h * r, w * r), input)


@register_op(
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.nn.functional.pixel_unshuffle",
)
def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W), as torch's F.pixel_unshuffle."""
    op = "pixel_unshuffle"
    input = require_tensor(op, input)
    ctx = input.ctx
    r = _check_factor(ctx, op, "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise ctx.error(op, f"expects a tensor of rank >= 3 (*, C, H, W), got shape {input.static_shape}")
    *lead, c, h, w = input.shape
    _divisible(ctx, op, h, r, "the height")
    _divisible(ctx, op, w, r, "the width")
    x = reshape(input, *lead, c, h // r, r, w // r, r)
    k = len(lead)
    x = permute(x, *range(k), k, k + 2, k + 4, k + 1, k + 3)
    return _copy(reshape(x, *lead, c * r * r, h // r, w // r), input)


@register_op(
    "IShuffleLayer",
    "IAssertionLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.nn.functional.channel_shuffle",
    aliases=("native_channel_shuffle",),
)
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with the C channels in ``groups`` groups interleaved: channel g * (C / groups) + i moves to
    i * groups + g (torch's F.channel_shuffle)."""
    op = "channel_shuffle"
    input = require_tensor(op, input)
    ctx = input.ctx
    g = _check_factor(ctx, op, "groups", groups)
    if input.ndim < 3:
        raise ctx.error(op, f"expects a tensor of rank >= 3 (N, C, *), got shape {input.static_shape}")
    n, c, *rest = input.shape
    _divisible(ctx, op, c, g, "the channel count")
    x = reshape(input, n, g, c // g, *rest)
    x = permute(x, 0, 2, 1, *range(3, x.ndim))
    return _copy(reshape(x, n, c, *rest), input)


@register_op(
    "ISliceLayer",
    "IPaddingLayer",
    "IShuffleLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IUnsqueezeLayer",
    "IFillLayer",
    "IAssertionLayer",
    torch="torch.nn.functional.unfold",
)
def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of (N, C, H, W) as columns (N, C * kh * kw, L) (F.unfold, im2col): one strided slice
    per kernel offset, copied exactly. A (C, H, W) input gives (C * kh * kw, L)."""
    from netdef.functional._common import ntuple
    from netdef.functional.padding import pad
    from netdef.functional.shape import stack

    op = "unfold"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim not in (3, 4):
        raise ctx.error(op, f"expects a (N, C, H, W) or (C, H, W) tensor, got shape {input.static_shape}")
    if input.ndim == 3:
        return unfold(unsqueeze(input, 0), kernel_size, dilation, padding, stride)[0]
    kh, kw = ntuple(kernel_size, 2, "kernel_size", ctx, op)
    dh, dw = ntuple(dilation, 2, "dilation", ctx, op)
    ph, pw = ntuple(padding, 2, "padding", ctx, op)
    sh, sw = ntuple(stride, 2, "stride", ctx, op)
    if min(kh, kw, dh, dw, sh, sw) <= 0 or min(ph, pw) < 0:
        raise ctx.error(op, "kernel_size, dilation and stride must be > 0 and padding >= 0")
    x = pad(input, (pw, pw, ph, ph)) if ph or pw else input
    n, c, h, w = x.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    if decide("<=", oh, 0) or decide("<=", ow, 0):
        raise ctx.error(
            op, f"the {kh}x{kw} kernel (dilation {dh}, {dw}) does not fit the padded input {x.static_shape}"
        )
    slabs = [
        emit_slice(x, [0, 0, i * dh, j * dw], [n, c, oh, ow], [1, 1, sh, sw], f"{op}_offset{i}_{j}")
        for i in range(kh)
        for j in range(kw)
    ]
    return reshape(stack(slabs, 2), n, c * kh * kw, oh * ow)


@register_op(
    "ISliceLayer",
    "IShuffleLayer",
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IShapeLayer",
    "IUnsqueezeLayer",
    "IFillLayer",
    "IAssertionLayer",
    "ISqueezeLayer",
    torch="torch.nn.functional.fold",
)
def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns (N, C * kh * kw, L) summed back into (N, C, H, W) (F.fold, col2im; overlaps add up): per kernel
    offset, the block spread ``stride`` apart with zeros and shifted into place. A 2-D input gives (C, H, W)."""
    from netdef.functional._common import ntuple
    from netdef.functional.elementwise import add
    from netdef.functional.shape import stack

    op = "fold"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim not in (2, 3):
        raise ctx.error(op, f"expects a (N, C * kh * kw, L) or (C * kh * kw, L) tensor, got {input.static_shape}")
    if input.ndim == 2:
        return fold(unsqueeze(input, 0), output_size, kernel_size, dilation, padding, stride)[0]
    h, w = ntuple(output_size, 2, "output_size", ctx, op)
    kh, kw = ntuple(kernel_size, 2, "kernel_size", ctx, op)
    dh, dw = ntuple(dilation, 2, "dilation", ctx, op)
    ph, pw = ntuple(padding, 2, "padding", ctx, op)
    sh, sw = ntuple(stride, 2, "stride", ctx, op)
    if min(kh, kw, dh, dw, sh, sw) <= 0 or min(ph, pw) < 0:
        raise ctx.error(op, "kernel_size, dilation and stride must be > 0 and padding >= 0")
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    n, ckk, length = input.shape
    _divisible(ctx, op, ckk, kh * kw, "dim 1 (C * kh * kw)")
    if oh <= 0 or ow <= 0:
        raise ctx.error(op, f"the {kh}x{kw} kernel does not fit output_size {(h, w)} with padding {(ph, pw)}")
    assert_equal(ctx, length, oh * ow, op, f"dim 2 ({length}) must be the block count {oh} * {ow} of output_size")
    c = ckk // (kh * kw)
    blocks = reshape(input, n, c, kh * kw, oh, ow)
    total = None
    for i in range(kh):
        for j in range(kw):
            slab = blocks[:, :, i * kw + j]  # (N, C, oh, ow): block (a, b) lands at (a * sh, b * sw) + offset
            if sh > 1:
                slab = reshape(stack([slab] + [slab * 0] * (sh - 1), 3), n, c, oh * sh, ow)
            if sw > 1:
                slab = reshape(stack([slab] + [slab * 0] * (sw - 1), 4), n, c, slab.shape[2], ow * sw)
            top, left = i * dh - ph, j * dw - pw
            placed = emit_slice(
                slab, [0, 0, -top, -left], [n, c, h, w], [1, 1, 1, 1], f"{op}_place{i}_{j}", mode=trt.SampleMode.FILL
            )
            total = placed if total is None else add(total, placed)
    return total
