"""IDeconvolutionLayer semantics (transposed convolution, 1-D to 3-D, groups, dilation, padding modes).

The full transposed convolution has ``(in - 1) * stride + dilation * (kernel - 1) + 1`` elements per
spatial dim; TensorRT then removes ``pre_padding`` elements at the start and ``post_padding`` at the end.
The kernel is laid out (in_channels, out_channels / groups, *kernel), as torch's ConvTranspose weight.
"""

from __future__ import annotations

import torch.nn.functional as F

from netdef.errors import InterpreterError
from netdef.reference._registry import register
from netdef.reference._weights import weights_tensor

_DECONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _padding(layer, spatial, kernel, stride, dilation) -> tuple[list[int], list[int]]:
    n = len(spatial)
    mode = layer.padding_mode.name
    if mode in ("EXPLICIT_ROUND_DOWN", "EXPLICIT_ROUND_UP"):
        pre, post = list(layer.pre_padding), list(layer.post_padding)
        return (pre + [0] * n)[:n], (post + [0] * n)[:n]
    if mode in ("SAME_UPPER", "SAME_LOWER"):  # the output is input * stride
        pre, post = [], []
        for size, k, s, d in zip(spatial, kernel, stride, dilation):
            total = max((size - 1) * s + d * (k - 1) + 1 - size * s, 0)
            small, big = total // 2, total - total // 2
            pre.append(small if mode == "SAME_UPPER" else big)
            post.append(big if mode == "SAME_UPPER" else small)
        return pre, post
    raise InterpreterError(f"deconvolution `{layer.name}`: padding mode {mode} is not supported")


@register("DECONVOLUTION")
def deconvolution(layer, inputs):
    x = inputs[0]
    groups = layer.num_groups
    kernel = tuple(layer.kernel_size_nd)
    n = len(kernel)
    if len(inputs) > 1 and inputs[1] is not None:
        weight = inputs[1]
    else:
        shape = (x.shape[1], layer.num_output_maps // groups, *kernel)
        weight = weights_tensor(layer.kernel, layer, "kernel", shape)
    bias = inputs[2] if len(inputs) > 2 and inputs[2] is not None else weights_tensor(layer.bias, layer, "bias")
    stride, dilation = tuple(layer.stride_nd), tuple(layer.dilation_nd)
    pre, post = _padding(layer, tuple(x.shape[-n:]), kernel, stride, dilation)
    out = _DECONV[n](x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype), stride, 0, 0, groups, dilation)
    crop = []
    for a, b in zip(reversed(pre), reversed(post)):
        crop += [-a, -b]  # F.pad with negative amounts removes elements
    if any(crop):
        out = F.pad(out, crop)
    return [out]
