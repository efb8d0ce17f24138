"""Normalization: batch_norm (eval, folded into an IScaleLayer); layer_norm, group_norm and instance_norm
(one INormalizationLayer each)."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional import _fold
from netdef.functional._common import is_float, placeholder_reshape, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op("IConstantLayer", "INormalizationLayer", "IScaleLayer", torch="torch.nn.functional.batch_norm")
def batch_norm(
    input: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` per channel (dim 1), with the running statistics, or with
    the batch's own (over N and the dims after C) when ``training=True`` (running statistics are not updated).

    ``BatchNorm*d(track_running_stats=False)`` normalizes with batch statistics in eval mode too: the output then
    depends on the whole batch, as in torch.
    """
    op = "batch_norm"
    input = require_tensor(op, input)
    ctx = input.ctx
    if input.ndim < 2 or not is_float(input):
        raise ctx.error(op, f"expected a float input of shape (N, C, ...), got {input.dtype.name} {input.static_shape}")
    if training:
        return _batch_statistics_norm(ctx, op, input, weight, bias, eps)
    if running_mean is None or running_var is None:
        raise ctx.error(
            op, "running_mean and running_var are needed unless training=True (which normalizes with batch statistics)"
        )
    channels = np.asarray(running_mean).shape[0]
    if input.static_shape[1] >= 0 and input.static_shape[1] != channels:
        raise ctx.error(
            op, f"input has {input.static_shape[1]} channels (shape {input.static_shape}) but num_features={channels}"
        )
    # fold in float64 so the fp32/fp16 weights are rounded once
    mean = np.asarray(running_mean, np.float64)
    var = np.asarray(running_var, np.float64)
    gamma = np.ones(channels) if weight is None else np.asarray(weight, np.float64)
    beta = np.zeros(channels) if bias is None else np.asarray(bias, np.float64)
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    folded = _fold.try_fold(ctx, input, scale, shift)  # into the conv/linear/scale right before, when exact
    if folded is not None:
        return folded
    foldable = _fold.folding(ctx)
    if foldable:  # a further batch norm right after folds into this one's scale and shift
        scale_w, scale_buf = _fold.private_weights(ctx, scale, input.dtype, "scale")
        shift_w, shift_buf = _fold.private_weights(ctx, shift, input.dtype, "shift")
    else:
        scale_w = ctx.weights(scale, input.dtype, "scale")
        shift_w = ctx.weights(shift, input.dtype, "shift")
    empty = trt.Weights(input.dtype)
    layer = ctx.add_layer(
        op, lambda net: net.add_scale_nd(input.itensor, trt.ScaleMode.CHANNEL, shift_w, scale_w, empty, 1)
    )
    out = wrap(layer.get_output(0), ctx)
    if foldable:

        def emit(scale, shift):
            return batch_norm(input, np.zeros_like(scale), np.ones_like(scale), scale, shift, eps=0.0)

        _fold.offer(
            ctx,
            _fold.FoldCandidate(
                out,
                ctx.network.num_layers,
                layer,
                scale,
                shift,
                0,
                scale_buf,
                shift_buf,
                None,
                _fold.reemitter(ctx, emit),
            ),
        )
    return out


def _batch_statistics_norm(
    ctx, op: str, input: Tensor, weight: np.ndarray | None, bias: np.ndarray | None, eps: float
) -> Tensor:
    """Batch norm with the batch's statistics: one INormalizationLayer over N and the dims after C."""
    c = input.static_shape[1]
    if c < 0 and (weight is not None or bias is not None):
        raise ctx.error(op, f"the channel dim of input {input.static_shape} must be static for an affine batch norm")
    view = (1, c) + (1,) * (input.ndim - 2)
    w = _affine(op, ctx, weight, (c,), "weight", view)
    b = _affine(op, ctx, bias, (c,), "bias", view)
    if w is None and b is None:
        w = np.ones((1,) * input.ndim)
    return _normalize(ctx, op, input, 1 | sum(1 << a for a in range(2, input.ndim)), w, b, eps)


def _normalize(
    ctx, op: str, x: Tensor, axes: int, weight: np.ndarray | None, bias: np.ndarray | None, eps: float, groups: int = 1
) -> Tensor:
    """One INormalizationLayer over the ``axes`` bitmask; ``weight``/``bias`` already broadcast to x's rank."""
    from netdef.functional._common import constant

    shape = weight.shape if weight is not None else bias.shape
    per_channel = groups > 1 and not hasattr(ctx.network, "add_normalization_v2")
    if per_channel:  # TensorRT < 10.15 takes (1, G, 1...) group affines: normalize, then scale per channel
        group_shape = (1, groups) + (1,) * (x.ndim - 2)
        scale, shift = np.ones(group_shape), np.zeros(group_shape)
    else:
        scale = np.ones(shape) if weight is None else weight
        shift = np.zeros(shape) if bias is None else bias
    s = constant(ctx, scale, x.dtype, op + "_weight")
    b = constant(ctx, shift, x.dtype, op + "_bias")

    def make(net):
        add = getattr(net, "add_normalization_v2", None) or net.add_normalization
        layer = add(x.itensor, s.itensor, b.itensor, axes)
        layer.epsilon = float(eps)
        if groups != 1:
            layer.num_groups = groups
        return layer

    out = wrap(ctx.add_layer(op, make).get_output(0), ctx)
    if per_channel and (weight is not None or bias is not None):
        c = x.static_shape[1]
        scale_w = ctx.weights(np.ones(c) if weight is None else weight.reshape(-1), x.dtype, "scale")
        shift_w = ctx.weights(np.zeros(c) if bias is None else bias.reshape(-1), x.dtype, "shift")
        empty = trt.Weights(x.dtype)
        layer = ctx.add_layer(
            op + "_affine",
            lambda net: net.add_scale_nd(out.itensor, trt.ScaleMode.CHANNEL, shift_w, scale_w, empty, 1),
        )
        out = wrap(layer.get_output(0), ctx)
    return out


def _affine(op: str, ctx, value, shape: tuple[int, ...], what: str, view: tuple[int, ...]) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, np.float64)
    if arr.shape != shape:
        raise ctx.error(op, f"{what} must have shape {shape}, got {arr.shape}")
    return arr.reshape(view)


@register_op("IConstantLayer", "INormalizationLayer", torch="torch.nn.functional.layer_norm")
def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims, then ``* weight + bias`` (elementwise)."""
    op = "layer_norm"
    input = require_tensor(op, input)
    ctx = input.ctx
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if not is_float(input):
        raise ctx.error(op, f"expected a float input, got {input.dtype.name}")
    if k == 0 or input.ndim < k or input.static_shape[input.ndim - k :] != shape:
        raise ctx.error(
            op,
            f"normalized_shape {shape} must equal the last {k} dims of the input, got input shape {input.static_shape}",
        )
    view = (1,) * (input.ndim - k) + shape
    w = _affine(op, ctx, weight, shape, "weight", view)
    b = _affine(op, ctx, bias, shape, "bias", view)
    axes = sum(1 << a for a in range(input.ndim - k, input.ndim))
    if w is None and b is None:
        w = np.ones(view)
    return _normalize(ctx, op, input, axes, w, b, eps)


@register_op("IConstantLayer", "INormalizationLayer", "IShuffleLayer", torch="torch.nn.functional.group_norm")
def group_norm(
    input: Tensor, num_groups: int, weight: np.ndarray | None = None, bias: np.ndarray | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalize each group of ``C / num_groups`` channels (with all dims after C) of (N, C, *), then per channel."""
    op = "group_norm"
    input = require_tensor(op, input)
    ctx = input.ctx
    if not is_float(input) or input.ndim < 2:
        raise ctx.error(op, f"expected a float (N, C, *) input, got {input.dtype.name} {input.static_shape}")
    c = input.static_shape[1]
    if c < 0:
        raise ctx.error(op, f"the channel dim of input {input.static_shape} must be static")
    if num_groups < 1 or c % num_groups:
        raise ctx.error(op, f"num_groups={num_groups} must divide the {c} channels of input {input.static_shape}")
    x = input
    if input.ndim == 2:  # TensorRT needs a dim after C to reduce over: (N, C) -> (N, C, 1)
        x = placeholder_reshape(ctx, input, (0, 0, 1), op + "_unsqueeze")
    view = (1, c) + (1,) * (x.ndim - 2)
    w = _affine(op, ctx, weight, (c,), "weight", view)
    b = _affine(op, ctx, bias, (c,), "bias", view)
    if w is None and b is None:
        w = np.ones(view)
    # one group normalizes over C as well; G > 1 groups take TensorRT's group split over the dims after C
    first = 1 if num_groups == 1 else 2
    out = _normalize(ctx, op, x, sum(1 << a for a in range(first, x.ndim)), w, b, eps, groups=num_groups)
    if input.ndim == 2:
        out = placeholder_reshape(ctx, out, (0, 0), op + "_squeeze")
    return out


@register_op("IConstantLayer", "INormalizationLayer", "IScaleLayer", torch="torch.nn.functional.instance_norm")
def instance_norm(
    input: Tensor,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each (sample, channel) over its spatial dims (or with running statistics), then per channel."""
    op = "instance_norm"
    input = require_tensor(op, input)
    ctx = input.ctx
    if not is_float(input) or input.ndim < 3:
        raise ctx.error(op, f"expected a float (N, C, *spatial) input, got {input.dtype.name} {input.static_shape}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ctx.error(op, "use_input_stats=False needs running_mean and running_var")
        return batch_norm(input, running_mean, running_var, weight, bias, eps=eps)
    c = input.static_shape[1]
    if c < 0 and (weight is not None or bias is not None):
        raise ctx.error(op, f"the channel dim of input {input.static_shape} must be static for an affine instance norm")
    view = (1, c) + (1,) * (input.ndim - 2)
    w = _affine(op, ctx, weight, (c,), "weight", view)
    b = _affine(op, ctx, bias, (c,), "bias", view)
    if w is None and b is None:
        # scale and bias broadcast over the channels: (1, 1, ...) works for any (even dynamic) C
        w = np.ones((1,) * input.ndim)
    return _normalize(ctx, op, input, sum(1 << a for a in range(2, input.ndim)), w, b, eps)
