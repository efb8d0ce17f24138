"""Convolution (torch.nn.functional.conv2d) as an IConvolutionLayer."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.tensor import Tensor


def _pair(value, n: int, what: str, ctx, op: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ctx.error(op, f"{what} must be an int or {n} ints, got {value}")
    return value


def conv2d(
    input: Tensor,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution over an (N, C, H, W) input; ``weight`` is (out, in/groups, kH, kW)."""
    op = "conv"
    input = require_tensor(op, input)
    ctx = input.ctx
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ctx.error(op, f"weight must be 4-D (out, in/groups, kH, kW), got shape {weight.shape}")
    if input.ndim != 4:
        raise ctx.error(op, f"expected a 4-D (N, C, H, W) input, got shape {input.shape}")
    if not is_float(input):
        raise ctx.error(op, f"expected a float input, got {input.dtype.name}")
    out_channels, in_per_group, kh, kw = weight.shape
    if groups < 1 or out_channels % groups:
        raise ctx.error(op, f"out_channels={out_channels} is not divisible by groups={groups}")
    channels = input.shape[1]
    if channels >= 0 and channels != in_per_group * groups:
        raise ctx.error(
            op,
            f"input has {channels} channels (shape {input.shape}) but the layer expects "
            f"in_channels={in_per_group * groups} (weight {weight.shape}, groups={groups})",
        )
    if bias is not None and np.asarray(bias).shape != (out_channels,):
        raise ctx.error(op, f"bias must have shape ({out_channels},), got {np.asarray(bias).shape}")
    stride = _pair(stride, 2, "stride", ctx, op)
    dilation = _pair(dilation, 2, "dilation", ctx, op)
    pre, post = _conv_padding(padding, (kh, kw), dilation, stride, ctx, op)
    kernel = ctx.weights(weight, input.dtype, "kernel")
    bias_w = ctx.weights(bias, input.dtype, "bias") if bias is not None else trt.Weights(input.dtype)

    def make(net):
        layer = net.add_convolution_nd(input.itensor, out_channels, (kh, kw), kernel, bias_w)
        layer.stride_nd = stride
        layer.dilation_nd = dilation
        layer.pre_padding = pre
        layer.post_padding = post
        layer.num_groups = groups
        return layer

    out = ctx.add_layer(op, make).get_output(0)
    if any(d == 0 for d in out.shape):
        raise ctx.error(op, f"the output of input {input.shape} would be empty ({tuple(out.shape)}): input too small")
    return wrap(out, ctx)


def _conv_padding(padding, kernel, dilation, stride, ctx, op) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(pre, post) padding for an int, a tuple, 'valid' or 'same' (torch puts the odd pixel after)."""
    n = len(kernel)
    if padding == "valid":
        return (0,) * n, (0,) * n
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ctx.error(op, "padding='same' is not supported for strided convolutions (as in torch)")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        pre = tuple(t // 2 for t in total)
        return pre, tuple(t - p for t, p in zip(total, pre))
    if isinstance(padding, str):
        raise ctx.error(op, f"padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    pad = _pair(padding, n, "padding", ctx, op)
    return pad, pad
