"""Batch normalization (eval semantics) folded into one IScaleLayer."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.tensor import Tensor


def batch_norm(
    input: Tensor,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` per channel (dim 1), with running statistics."""
    op = "batch_norm"
    input = require_tensor(op, input)
    ctx = input.ctx
    if training:
        raise ctx.error(op, "training=True is not supported: an engine uses the running statistics")
    if input.ndim < 2 or not is_float(input):
        raise ctx.error(op, f"expected a float input of shape (N, C, ...), got {input.dtype.name} {input.shape}")
    channels = np.asarray(running_mean).shape[0]
    if input.shape[1] >= 0 and input.shape[1] != channels:
        raise ctx.error(op, f"input has {input.shape[1]} channels (shape {input.shape}) but num_features={channels}")
    # fold in float64 so the fp32/fp16 weights are rounded once
    mean = np.asarray(running_mean, np.float64)
    var = np.asarray(running_var, np.float64)
    gamma = np.ones(channels) if weight is None else np.asarray(weight, np.float64)
    beta = np.zeros(channels) if bias is None else np.asarray(bias, np.float64)
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    scale_w = ctx.weights(scale, input.dtype, "scale")
    shift_w = ctx.weights(shift, input.dtype, "shift")
    empty = trt.Weights(input.dtype)
    layer = ctx.add_layer(
        op, lambda net: net.add_scale_nd(input.itensor, trt.ScaleMode.CHANNEL, shift_w, scale_w, empty, 1)
    )
    return wrap(layer.get_output(0), ctx)
