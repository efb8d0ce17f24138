"""INormalizationLayer semantics: ``(x - mean) / sqrt(var + eps) * scale + bias`` over the axes bitmask.

The variance is the biased (population) one. With ``num_groups`` G > 1 the channels (dim 1) split into
G groups, each normalized over its channels and the masked dims after them. The scale and bias broadcast
over the input; for G > 1 they hold one value per group ((1, G, 1...)) in layers made by
``add_normalization`` and one per channel in layers made by ``add_normalization_v2``.
"""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register
from netdef.reference.reduce import axes_from_mask


def _normalize(x: torch.Tensor, dims: list[int], eps: float) -> torch.Tensor:
    mean = x.mean(dim=dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    return centered / torch.sqrt(var + eps)


@register("NORMALIZATION")
def normalization(layer, inputs):
    x, scale, bias = inputs
    eps = float(layer.epsilon)
    groups = int(layer.num_groups)
    dims = axes_from_mask(layer.axes, x.dim())
    where = f"normalization `{layer.name}`"
    if not dims:
        raise InterpreterError(f"{where}: the axes mask {layer.axes} names no dim of a rank-{x.dim()} input")
    if groups == 1:
        k = len(dims)
        if dims == list(range(x.dim() - k, x.dim())) and x.dtype == torch.float32:  # trailing dims: one kernel
            return [torch.nn.functional.layer_norm(x, x.shape[-k:], None, None, eps) * scale + bias]
        return [_normalize(x, dims, eps) * scale + bias]
    n, c = x.shape[0], x.shape[1]
    if x.dim() < 3 or c % groups:
        raise InterpreterError(f"{where}: {groups} groups do not divide the channels of input {tuple(x.shape)}")
    grouped = x.reshape(n, groups, c // groups, *x.shape[2:])
    y = _normalize(grouped, list(range(2, grouped.dim())), eps)
    if getattr(layer, "is_v2", False) or scale.shape[1] == c:
        return [y.reshape(x.shape) * scale + bias]
    # per-group scale and bias: (1, G, 1...) broadcasts over the grouped view with one more dim
    view = (scale.shape[0], groups, 1, *scale.shape[2:])
    return [(y * scale.reshape(view) + bias.reshape(view)).reshape(x.shape)]
