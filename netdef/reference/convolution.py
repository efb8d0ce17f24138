"""IConvolutionLayer semantics (1-D to 3-D, groups, dilation, asymmetric and SAME padding)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netdef.reference._padding import explicit_padding, torch_pad
from netdef.reference._registry import register
from netdef.reference._weights import weights_tensor

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@register("CONVOLUTION")
def convolution(layer, inputs):
    x = inputs[0]
    groups = layer.num_groups
    kernel_size = tuple(layer.kernel_size_nd)
    n = len(kernel_size)
    if len(inputs) > 1 and inputs[1] is not None:
        weight = inputs[1]
    else:
        shape = (layer.num_output_maps, x.shape[1] // groups, *kernel_size)
        weight = weights_tensor(layer.kernel, layer, "kernel", shape)
    bias = inputs[2] if len(inputs) > 2 and inputs[2] is not None else weights_tensor(layer.bias, layer, "bias")
    stride, dilation = tuple(layer.stride_nd), tuple(layer.dilation_nd)
    pre, post = explicit_padding(layer, tuple(x.shape[-n:]), kernel_size, stride, dilation)
    padding = pre  # symmetric padding goes to the convolution itself, which is faster than padding first
    if pre != post:
        x, padding = F.pad(x, torch_pad(pre, post)), 0
    weight = weight.to(x.dtype)
    if bias is None or x.dtype != torch.float32:
        return [_CONV[n](x, weight, None if bias is None else bias.to(x.dtype), stride, padding, dilation, groups)]
    # float32: the bias is added once, to the finished sums (as a GPU convolution's epilogue adds it). torch's
    # CPU convolution starts its sums at the bias, so every step rounds at the bias's magnitude: with a bias
    # larger than the sums (a folded batch norm's shift often is) that is several times torch's own error for
    # the conv then the batch norm, and it grows through a network.
    out = _CONV[n](x, weight, None, stride, padding, dilation, groups)
    return [out.add_(bias.to(x.dtype).reshape(-1, *[1] * n))]
