"""Pooling: max/avg pooling in 1-D and 2-D (torch's ceil_mode and count_include_pad), adaptive max/avg
pooling to any output size.

1-D pooling runs as 2-D pooling over an (N, C, L, 1) view. Adaptive pooling whose windows are not all
alike gathers every window's rows (or columns) into a new dim and reduces it: exact for any sizes.
"""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.functional._common import constant, is_float, ntuple, placeholder_reshape, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


def _pool_output(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling output size (a ceil-mode window must start inside the input or left padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool2d(op, input, kind, kernel_size, stride, padding, ceil_mode, count_include_pad=True) -> Tensor:
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim != 4 or not is_float(input):
        raise ctx.error(op, f"expected a float (N, C, H, W) input, got {input.dtype.name} {input.static_shape}")
    k = ntuple(kernel_size, 2, "kernel_size", ctx, op)
    s = k if stride is None or stride == () else ntuple(stride, 2, "stride", ctx, op)
    p = ntuple(padding, 2, "padding", ctx, op)
    if any(2 * pi > ki for pi, ki in zip(p, k)):
        raise ctx.error(op, f"padding {p} must be at most half of kernel_size {k} (as in torch)")
    pre, post = p, p
    exclude = not count_include_pad
    x = input
    if ceil_mode:
        hw = input.static_shape[2:]
        if any(d < 0 for d in hw):
            raise ctx.error(op, "ceil_mode=True needs static spatial dims")
        outs = [_pool_output(d, ki, si, pi, 1, True) for d, ki, si, pi in zip(hw, k, s, p)]
        # below zero when the last window ends before the input does (stride > kernel): no post padding
        post = tuple(max((o - 1) * si + ki - d - pi, 0) for o, si, ki, d, pi in zip(outs, s, k, hw, p))
        if kind == trt.PoolingType.AVERAGE and count_include_pad and any(q > pi for q, pi in zip(post, p)):
            # torch divides a window that passes the padding by its part inside input + padding; TensorRT
            # counts either all padding or none. Make the padding real zeros and exclude only the overhang.
            if any(p):
                from netdef.functional.padding import slice_axes

                sizes = [d + 2 * pi for d, pi in zip(hw, p)]
                x = slice_axes(ctx, op + "_pad", input, (2, 3), (-p[0], -p[1]), sizes, trt.SampleMode.FILL)
                post = tuple(max(q - pi, 0) for q, pi in zip(post, p))  # a dim may end inside its padding
                pre = (0, 0)
            exclude = True

    def make(net):
        layer = net.add_pooling_nd(x.itensor, kind, k)
        layer.stride_nd = s
        layer.pre_padding = pre
        layer.post_padding = post
        if kind == trt.PoolingType.AVERAGE:
            layer.average_count_excludes_padding = exclude
        return layer

    out = ctx.add_layer(op, make).get_output(0)
    if any(d == 0 for d in out.shape):
        raise ctx.error(op, f"input {input.static_shape} is too small for kernel_size {k}: the output would be empty")
    return wrap(out, ctx)


def _pool1d(op, input, kind, kernel_size, stride, padding, ceil_mode, count_include_pad=True) -> Tensor:
    """A 1-D pooling of (N, C, L) as a 2-D pooling of (N, C, L, 1)."""
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim != 3 or not is_float(input):
        raise ctx.error(op, f"expected a float (N, C, L) input, got {input.dtype.name} {input.static_shape}")
    k = ntuple(kernel_size, 1, "kernel_size", ctx, op)
    s = k if stride is None or stride == () else ntuple(stride, 1, "stride", ctx, op)
    p = ntuple(padding, 1, "padding", ctx, op)
    x = placeholder_reshape(ctx, input, (0, 0, 0, 1), op + "_unsqueeze")
    out = _pool2d(op, x, kind, (*k, 1), (*s, 1), (*p, 0), ceil_mode, count_include_pad)
    return placeholder_reshape(ctx, out, (0, 0, 0), op + "_squeeze")


def _refuse_max_options(op: str, input, dilation, return_indices) -> None:
    if any(d != 1 for d in ((dilation,) if isinstance(dilation, int) else tuple(dilation))) or return_indices:
        raise require_tensor(op, input).ctx.error(
            op, "dilation != 1 and return_indices=True are not supported by TensorRT pooling"
        )


@register_op("IPoolingLayer", "IShuffleLayer", torch="torch.nn.functional.max_pool1d")
def max_pool1d(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> Tensor:
    """1-D max pooling over (N, C, L)."""
    _refuse_max_options("max_pool1d", input, dilation, return_indices)
    return _pool1d("max_pool1d", input, trt.PoolingType.MAX, kernel_size, stride, padding, ceil_mode)


@register_op("IPoolingLayer", torch="torch.nn.functional.max_pool2d")
def max_pool2d(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> Tensor:
    """2-D max pooling."""
    _refuse_max_options("max_pool2d", input, dilation, return_indices)
    return _pool2d("max_pool2d", input, trt.PoolingType.MAX, kernel_size, stride, padding, ceil_mode)


@register_op("IPoolingLayer", "IShuffleLayer", "ISliceLayer", torch="torch.nn.functional.avg_pool1d")
def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    """1-D average pooling over (N, C, L); ``count_include_pad`` as in torch."""
    return _pool1d(
        "avg_pool1d", input, trt.PoolingType.AVERAGE, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


@register_op("IPoolingLayer", "ISliceLayer", torch="torch.nn.functional.avg_pool2d")
def avg_pool2d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    """2-D average pooling; ``count_include_pad`` as in torch."""
    if divisor_override is not None:
        raise require_tensor("avg_pool2d", input).ctx.error("avg_pool2d", "divisor_override is not supported")
    return _pool2d(
        "avg_pool2d", input, trt.PoolingType.AVERAGE, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


def _adaptive_sizes(ctx: EmitContext, op: str, input: Tensor, output_size, n: int) -> tuple[int, ...]:
    if input.ndim != n + 2 or not is_float(input):
        layout = "(N, C, L)" if n == 1 else "(N, C, H, W)"
        raise ctx.error(op, f"expected a float {layout} input, got {input.dtype.name} {input.static_shape}")
    if output_size is None or isinstance(output_size, int):
        output_size = (output_size,) * n
    output_size = tuple(output_size)
    if len(output_size) != n:
        raise ctx.error(op, f"output_size must be an int or {n} ints (None keeps a dim), got {output_size}")
    out = tuple(input.static_shape[2 + i] if o is None else int(o) for i, o in enumerate(output_size))
    if any(o <= 0 for o in out if o is not None):
        raise ctx.error(op, f"output_size {out} must be positive")
    return out


def _windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive windows: (out, L) indices of each window (its last index repeated) and their counts."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-((-(i + 1) * size) // out) for i in range(out)]
    longest = max(e - b for b, e in zip(starts, ends))
    index = np.array([[min(b + j, e - 1) for j in range(longest)] for b, e in zip(starts, ends)], np.int32)
    counts = np.array([e - b for b, e in zip(starts, ends)])
    return index, counts


def _adaptive(op: str, input: Tensor, output_size, kind: trt.PoolingType) -> Tensor:
    input = require_tensor(op, input)
    ctx = input.ctx
    out = _adaptive_sizes(ctx, op, input, output_size, 2)
    hw = input.static_shape[2:]
    if out == (1, 1):
        reduce = trt.ReduceOperation.AVG if kind == trt.PoolingType.AVERAGE else trt.ReduceOperation.MAX
        layer = ctx.add_layer(op, lambda net: net.add_reduce(input.itensor, reduce, 0b1100, True))
        return wrap(layer.get_output(0), ctx)
    if any(d < 0 for d in hw):
        raise ctx.error(
            op,
            f"output_size {out} needs static spatial dims, got {input.static_shape} (only (1, 1) works for any size)",
        )
    if all(d % o == 0 for d, o in zip(hw, out)):  # every window alike: one pooling layer
        k = tuple(d // o for d, o in zip(hw, out))
        return _pool2d(op, input, kind, k, k, 0, False)
    x = input
    for axis, (size, o) in enumerate(zip(hw, out), start=2):
        if size != o:
            x = _adaptive_axis(ctx, op, x, axis, size, o, kind)
    return x


def _adaptive_axis(ctx: EmitContext, op: str, x: Tensor, axis: int, size: int, out: int, kind) -> Tensor:
    """Adaptive pooling along one axis: gather each window into a new dim after ``axis``, then reduce it."""
    index, counts = _windows(size, out)
    longest = index.shape[1]
    dim = "h" if axis == 2 else "w"
    indices = constant(ctx, index, trt.int32, f"{op}_{dim}_index")
    layer = ctx.add_layer(f"{op}_{dim}_gather", lambda net: net.add_gather(x.itensor, indices.itensor, axis))
    windows = wrap(layer.get_output(0), ctx)
    if kind == trt.PoolingType.AVERAGE:
        weight = (np.arange(longest)[None, :] < counts[:, None]) / counts[:, None]
        view = [1] * (x.ndim + 1)
        view[axis], view[axis + 1] = out, longest
        w = constant(ctx, weight.reshape(view), x.dtype, f"{op}_{dim}_weight")
        layer = ctx.add_layer(
            f"{op}_{dim}_weigh",
            lambda net: net.add_elementwise(windows.itensor, w.itensor, trt.ElementWiseOperation.PROD),
        )
        windows = wrap(layer.get_output(0), ctx)
        reduce = trt.ReduceOperation.SUM
    else:  # a repeated index does not change a maximum
        reduce = trt.ReduceOperation.MAX
    layer = ctx.add_layer(f"{op}_{dim}", lambda net: net.add_reduce(windows.itensor, reduce, 1 << (axis + 1), False))
    return wrap(layer.get_output(0), ctx)


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IGatherLayer",
    "IPoolingLayer",
    "IReduceLayer",
    torch="torch.nn.functional.adaptive_avg_pool2d",
)
def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, H, W) to ``output_size`` (any size, torch's windows; None keeps a dim)."""
    return _adaptive("adaptive_avg_pool2d", input, output_size, trt.PoolingType.AVERAGE)


@register_op(
    "IConstantLayer", "IGatherLayer", "IPoolingLayer", "IReduceLayer", torch="torch.nn.functional.adaptive_max_pool2d"
)
def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False) -> Tensor:
    """Max pooling of (N, C, H, W) to ``output_size`` (any size, torch's windows; None keeps a dim)."""
    if return_indices:
        raise require_tensor("adaptive_max_pool2d", input).ctx.error(
            "adaptive_max_pool2d", "return_indices=True is not supported by TensorRT pooling"
        )
    return _adaptive("adaptive_max_pool2d", input, output_size, trt.PoolingType.MAX)


def _adaptive1d(op: str, input: Tensor, output_size, kind) -> Tensor:
    input = require_tensor(op, input)
    ctx = input.ctx
    (out,) = _adaptive_sizes(ctx, op, input, output_size, 1)
    x = placeholder_reshape(ctx, input, (0, 0, 0, 1), op + "_unsqueeze")
    y = _adaptive(op, x, (out, 1), kind)
    return placeholder_reshape(ctx, y, (0, 0, 0), op + "_squeeze")


@register_op(
    "IConstantLayer",
    "IElementWiseLayer",
    "IGatherLayer",
    "IPoolingLayer",
    "IReduceLayer",
    "IShuffleLayer",
    torch="torch.nn.functional.adaptive_avg_pool1d",
)
def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) to ``output_size`` (torch's windows)."""
    return _adaptive1d("adaptive_avg_pool1d", input, output_size, trt.PoolingType.AVERAGE)


@register_op(
    "IConstantLayer",
    "IGatherLayer",
    "IPoolingLayer",
    "IReduceLayer",
    "IShuffleLayer",
    torch="torch.nn.functional.adaptive_max_pool1d",
)
def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False) -> Tensor:
    """Max pooling of (N, C, L) to ``output_size`` (torch's windows)."""
    if return_indices:
        raise require_tensor("adaptive_max_pool1d", input).ctx.error(
            "adaptive_max_pool1d", "return_indices=True is not supported by TensorRT pooling"
        )
    return _adaptive1d("adaptive_max_pool1d", input, output_size, trt.PoolingType.MAX)
