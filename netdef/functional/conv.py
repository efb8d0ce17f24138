"""Convolutions (conv1d/2d/3d) as IConvolutionLayer, transposed convolutions as IDeconvolutionLayer.

TensorRT convolves 2 or 3 spatial dims: a 1-D convolution runs as a 2-D one over an (N, C, L, 1) view.
"""

from __future__ import annotations

import numpy as np

from netdef._trt import BACKEND, trt
from netdef.functional import _fold
from netdef.functional._common import is_float, ntuple, placeholder_reshape, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_KERNEL = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


def _check_common(op: str, input: Tensor, weight: np.ndarray, n: int, what: str):
    input = require_tensor(op, input)
    ctx = input.ctx
    if weight.ndim != n + 2:
        raise ctx.error(op, f"weight must be {n + 2}-D ({what}, {_KERNEL[n]}), got shape {weight.shape}")
    if input.ndim != n + 2:
        raise ctx.error(op, f"expected a {n + 2}-D {_LAYOUT[n]} input, got shape {input.static_shape}")
    if not is_float(input):
        raise ctx.error(op, f"expected a float input, got {input.dtype.name}")
    return input, ctx


def _conv(op: str, n: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    given = (weight, bias, stride, padding, dilation)
    weight = np.asarray(weight)
    input, ctx = _check_common(op, input, weight, n, "out, in/groups")
    out_channels, in_per_group = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if groups < 1 or out_channels % groups:
        raise ctx.error(op, f"out_channels={out_channels} is not divisible by groups={groups}")
    channels = input.static_shape[1]
    if channels >= 0 and channels != in_per_group * groups:
        raise ctx.error(
            op,
            f"input has {channels} channels (shape {input.static_shape}) but the layer expects "
            f"in_channels={in_per_group * groups} (weight {weight.shape}, groups={groups})",
        )
    if bias is not None and np.asarray(bias).shape != (out_channels,):
        raise ctx.error(op, f"bias must have shape ({out_channels},), got {np.asarray(bias).shape}")
    stride = ntuple(stride, n, "stride", ctx, op)
    dilation = ntuple(dilation, n, "dilation", ctx, op)
    pre, post = _conv_padding(padding, kernel, dilation, stride, ctx, op)
    x = input
    if n == 1:  # (N, C, L) -> (N, C, L, 1) and a (k, 1) kernel
        x = placeholder_reshape(ctx, input, (0, 0, 0, 1), op + "_unsqueeze")
        weight, kernel = weight[..., None], (*kernel, 1)
        stride, dilation, pre, post = (*stride, 1), (*dilation, 1), (*pre, 0), (*post, 0)
    x = ctx.quantize_activation(x, op)
    kernel_t = ctx.quantize_weight(weight, input.dtype, 0, op)  # a Q/DQ'd kernel tensor, when quantizing
    foldable = kernel_t is None and _fold.folding(ctx)  # a batch norm right after may fold into the kernel
    kernel_buf = bias_buf = None
    if foldable:
        kernel_w, kernel_buf = _fold.private_weights(ctx, weight, input.dtype, "kernel")
    else:
        kernel_w = ctx.weights(weight, input.dtype, "kernel") if kernel_t is None else trt.Weights(input.dtype)
    if bias is not None and foldable:
        bias_w, bias_buf = _fold.private_weights(ctx, bias, input.dtype, "bias")
    else:
        bias_w = ctx.weights(bias, input.dtype, "bias") if bias is not None else trt.Weights(input.dtype)

    def make(net):
        layer = net.add_convolution_nd(x.itensor, out_channels, kernel, kernel_w, bias_w)
        if kernel_t is not None:
            layer.set_input(1, kernel_t.itensor)
        layer.stride_nd = stride
        layer.dilation_nd = dilation
        layer.pre_padding = pre
        layer.post_padding = post
        layer.num_groups = groups
        return layer

    layer = ctx.add_layer(op, make)
    out = layer.get_output(0)
    if any(d == 0 for d in out.shape):
        raise ctx.error(
            op, f"the output of input {input.static_shape} would be empty ({tuple(out.shape)}): input too small"
        )
    out = wrap(out, ctx)
    if n == 1:
        out = placeholder_reshape(ctx, out, (0, 0, 0), op + "_squeeze")
    if foldable:
        w0, b0, stride0, padding0, dilation0 = given

        def emit(kernel, bias):
            return _conv(op, n, input, kernel, bias, stride0, padding0, dilation0, groups)

        def set_bias(w):
            layer.bias = w

        _fold.offer(
            ctx,
            _fold.FoldCandidate(
                out,
                ctx.network.num_layers,
                layer,
                w0,
                b0,
                0,
                kernel_buf,
                bias_buf,
                set_bias,
                _fold.reemitter(ctx, emit),
            ),
        )
    return out


@register_op(
    "IConvolutionLayer",
    "IShuffleLayer",
    torch="torch.nn.functional.conv1d",
    limits="padding='same' only with stride 1 (as torch)",
)
def conv1d(
    input: Tensor, weight: np.ndarray, bias: np.ndarray | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """1-D convolution over an (N, C, L) input; ``weight`` is (out, in/groups, kL)."""
    return _conv("conv", 1, input, weight, bias, stride, padding, dilation, groups)


@register_op(
    "IConvolutionLayer", torch="torch.nn.functional.conv2d", limits="padding='same' only with stride 1 (as torch)"
)
def conv2d(
    input: Tensor, weight: np.ndarray, bias: np.ndarray | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """2-D convolution over an (N, C, H, W) input; ``weight`` is (out, in/groups, kH, kW)."""
    return _conv("conv", 2, input, weight, bias, stride, padding, dilation, groups)


@register_op(
    "IConvolutionLayer", torch="torch.nn.functional.conv3d", limits="padding='same' only with stride 1 (as torch)"
)
def conv3d(
    input: Tensor, weight: np.ndarray, bias: np.ndarray | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """3-D convolution over an (N, C, D, H, W) input; ``weight`` is (out, in/groups, kD, kH, kW)."""
    return _conv("conv", 3, input, weight, bias, stride, padding, dilation, groups)


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
    pad = ntuple(padding, n, "padding", ctx, op)
    if any(p < 0 for p in pad):
        raise ctx.error(op, f"padding {pad} must not be negative")
    return pad, pad


def _conv_transpose(op: str, n: int, input, weight, bias, stride, padding, output_padding, groups, dilation) -> Tensor:
    weight = np.asarray(weight)
    input, ctx = _check_common(op, input, weight, n, "in, out/groups")
    in_channels, out_per_group = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if groups < 1 or in_channels % groups:
        raise ctx.error(op, f"in_channels={in_channels} (weight {weight.shape}) is not divisible by groups={groups}")
    out_channels = out_per_group * groups
    channels = input.static_shape[1]
    if channels >= 0 and channels != in_channels:
        raise ctx.error(
            op,
            f"input has {channels} channels (shape {input.static_shape}) but the layer expects in_channels={in_channels}",
        )
    if bias is not None and np.asarray(bias).shape != (out_channels,):
        raise ctx.error(op, f"bias must have shape ({out_channels},), got {np.asarray(bias).shape}")
    if isinstance(padding, str):
        raise ctx.error(op, f"padding must be an int or a tuple for a transposed convolution, got {padding!r}")
    stride = ntuple(stride, n, "stride", ctx, op)
    dilation = ntuple(dilation, n, "dilation", ctx, op)
    pad = ntuple(padding, n, "padding", ctx, op)
    extra = ntuple(output_padding, n, "output_padding", ctx, op)
    if any(p < 0 for p in pad) or any(e < 0 for e in extra):
        raise ctx.error(op, f"padding {pad} and output_padding {extra} must not be negative")
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ctx.error(
            op,
            f"output_padding {extra} must be smaller than either stride {stride} or dilation {dilation} (as in torch)",
        )
    if BACKEND == "tensorrt_rtx" and any(s > 1 for s in stride) and any(d > 1 for d in dilation):
        raise ctx.error(
            op,
            f"TensorRT-RTX cannot build a transposed convolution that is both strided {stride} and dilated "
            f"{dilation}; use stride 1 or dilation 1",
        )
    # torch crops `padding` before and `padding - output_padding` after the full output; TensorRT's
    # post padding cannot be negative, so output_padding beyond padding is appended as zeros (+ bias)
    pre = pad
    post = tuple(max(p - e, 0) for p, e in zip(pad, extra))
    grow = tuple(max(e - p, 0) for p, e in zip(pad, extra))
    x = input
    if n == 1:
        x = placeholder_reshape(ctx, input, (0, 0, 0, 1), op + "_unsqueeze")
        weight, kernel = weight[..., None], (*kernel, 1)
        stride, dilation, pre, post, grow = (*stride, 1), (*dilation, 1), (*pre, 0), (*post, 0), (*grow, 0)
    late_bias = bias is not None and any(grow)
    kernel_w = ctx.weights(weight, input.dtype, "kernel")
    if bias is not None and not late_bias:
        bias_w = ctx.weights(bias, input.dtype, "bias")
    else:
        bias_w = trt.Weights(input.dtype)

    def make(net):
        layer = net.add_deconvolution_nd(x.itensor, out_channels, kernel, kernel_w, bias_w)
        layer.stride_nd = stride
        layer.dilation_nd = dilation
        layer.pre_padding = pre
        layer.post_padding = post
        layer.num_groups = groups
        return layer

    out = ctx.add_layer(op, make).get_output(0)
    if any(d == 0 for d in out.shape):
        raise ctx.error(
            op, f"the output of input {input.static_shape} would be empty ({tuple(out.shape)}): padding too large"
        )
    out = wrap(out, ctx)
    if any(grow):
        from netdef.functional.padding import slice_axes

        axes = [2 + i for i, g in enumerate(grow) if g]
        sizes = [out.shape[a] + grow[a - 2] for a in axes]  # a SymInt where the dim is dynamic
        out = slice_axes(ctx, op + "_output_padding", out, axes, [0] * len(axes), sizes, trt.SampleMode.FILL)
        if late_bias:
            shift = ctx.weights(bias, input.dtype, "shift")  # the scale layer's shift role
            empty = trt.Weights(input.dtype)
            layer = ctx.add_layer(
                op + "_bias",
                lambda net: net.add_scale_nd(out.itensor, trt.ScaleMode.CHANNEL, shift, empty, empty, 1),
            )
            out = wrap(layer.get_output(0), ctx)
    if n == 1:
        out = placeholder_reshape(ctx, out, (0, 0, 0), op + "_squeeze")
    return out


@register_op(
    "IDeconvolutionLayer",
    "IShuffleLayer",
    torch="torch.nn.functional.conv_transpose1d",
    limits="padding is an int or tuple; on TensorRT-RTX not both strided and dilated",
)
def conv_transpose1d(
    input: Tensor,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-D transposed convolution over (N, C, L); ``weight`` is (in, out/groups, kL)."""
    return _conv_transpose("conv_transpose", 1, input, weight, bias, stride, padding, output_padding, groups, dilation)


@register_op(
    "IConcatenationLayer",
    "IConstantLayer",
    "IDeconvolutionLayer",
    "IElementWiseLayer",
    "IScaleLayer",
    "IShapeLayer",
    "ISliceLayer",
    torch="torch.nn.functional.conv_transpose2d",
    limits="padding is an int or tuple; on TensorRT-RTX not both strided and dilated",
)
def conv_transpose2d(
    input: Tensor,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution over (N, C, H, W); ``weight`` is (in, out/groups, kH, kW)."""
    return _conv_transpose("conv_transpose", 2, input, weight, bias, stride, padding, output_padding, groups, dilation)


@register_op(
    "IDeconvolutionLayer",
    torch="torch.nn.functional.conv_transpose3d",
    limits="padding is an int or tuple; on TensorRT-RTX not both strided and dilated",
)
def conv_transpose3d(
    input: Tensor,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """3-D transposed convolution over (N, C, D, H, W); ``weight`` is (in, out/groups, kD, kH, kW)."""
    return _conv_transpose("conv_transpose", 3, input, weight, bias, stride, padding, output_padding, groups, dilation)
