"""ITopKLayer semantics: the k largest / smallest values along one axis and their indices."""

from __future__ import annotations

import torch

from netdef.reference._registry import register
from netdef.reference.reduce import axes_from_mask


@register("TOPK")
def topk(layer, inputs):
    x = inputs[0]
    (axis,) = axes_from_mask(layer.axes, x.dim())
    k = int(inputs[1].reshape(-1)[0]) if len(inputs) > 1 and inputs[1] is not None else int(layer.k)
    # a stable sort: tied values keep their order, so the lowest index wins (torch.max / argmax's rule;
    # TensorRT does not specify one)
    values, indices = torch.sort(x, dim=axis, descending=layer.op.name == "MAX", stable=True)
    return [values.narrow(axis, 0, k), indices.narrow(axis, 0, k)]
