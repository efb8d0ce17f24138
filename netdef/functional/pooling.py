"""Pooling: max_pool2d, avg_pool2d (torch's ceil_mode and count_include_pad), adaptive_avg_pool2d."""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.functional.conv import _pair
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
        raise ctx.error(op, f"expected a float (N, C, H, W) input, got {input.dtype.name} {input.shape}")
    k = _pair(kernel_size, 2, "kernel_size", ctx, op)
    s = k if stride is None or stride == () else _pair(stride, 2, "stride", ctx, op)
    p = _pair(padding, 2, "padding", ctx, op)
    if any(2 * pi > ki for pi, ki in zip(p, k)):
        raise ctx.error(op, f"padding {p} must be at most half of kernel_size {k} (as in torch)")
    post = p
    if ceil_mode:
        hw = input.shape[2:]
        if any(d < 0 for d in hw):
            raise ctx.error(op, "ceil_mode=True needs static spatial dims")
        outs = [_pool_output(d, ki, si, pi, 1, True) for d, ki, si, pi in zip(hw, k, s, p)]
        post = tuple((o - 1) * si + ki - d - pi for o, si, ki, d, pi in zip(outs, s, k, hw, p))
        if kind == trt.PoolingType.AVERAGE and count_include_pad and any(q > pi for q, pi in zip(post, p)):
            # torch divides by the window clipped to input+padding; TensorRT would count the overhang
            raise ctx.error(
                op,
                "ceil_mode=True with count_include_pad=True adds windows past the padding here, which "
                "TensorRT averages differently from torch; use count_include_pad=False or ceil_mode=False",
            )

    def make(net):
        layer = net.add_pooling_nd(input.itensor, kind, k)
        layer.stride_nd = s
        layer.pre_padding = p
        layer.post_padding = post
        if kind == trt.PoolingType.AVERAGE:
            layer.average_count_excludes_padding = not count_include_pad
        return layer

    out = ctx.add_layer(op, make).get_output(0)
    if any(d == 0 for d in out.shape):
        raise ctx.error(op, f"input {input.shape} is too small for kernel_size {k}: the output would be empty")
    return wrap(out, ctx)


def max_pool2d(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
) -> Tensor:
    """2-D max pooling."""
    if dilation not in (1, (1, 1)) or return_indices:
        raise require_tensor("max_pool2d", input).ctx.error(
            "max_pool2d", "dilation != 1 and return_indices=True are not supported by TensorRT pooling"
        )
    return _pool2d("max_pool2d", input, trt.PoolingType.MAX, kernel_size, stride, padding, ceil_mode)


def avg_pool2d(
    input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    """2-D average pooling; ``count_include_pad`` as in torch."""
    if divisor_override is not None:
        raise require_tensor("avg_pool2d", input).ctx.error("avg_pool2d", "divisor_override is not supported")
    return _pool2d(
        "avg_pool2d", input, trt.PoolingType.AVERAGE, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to ``output_size``; (1, 1) is a global mean, evenly divisible sizes a fixed pool."""
    op = "adaptive_avg_pool2d"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim != 4:
        raise ctx.error(op, f"expected an (N, C, H, W) input, got {input.shape}")
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    out = tuple(input.shape[2 + i] if o is None else int(o) for i, o in enumerate(output_size))
    if out == (1, 1):
        layer = ctx.add_layer(op, lambda net: net.add_reduce(input.itensor, trt.ReduceOperation.AVG, 0b1100, True))
        return wrap(layer.get_output(0), ctx)
    hw = input.shape[2:]
    if any(d < 0 for d in hw) or any(d % o for d, o in zip(hw, out)):
        raise ctx.error(
            op,
            f"output_size {out} needs static spatial dims divisible by it, got {input.shape} "
            "(only (1, 1) works for any size)",
        )
    k = tuple(d // o for d, o in zip(hw, out))
    return _pool2d(op, input, trt.PoolingType.AVERAGE, k, k, 0, False)
