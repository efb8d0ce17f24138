"""ISoftMaxLayer semantics."""

from __future__ import annotations

import torch

from netdef.reference._registry import register
from netdef.reference.reduce import axes_from_mask


@register("SOFTMAX")
def softmax(layer, inputs):
    x = inputs[0]
    (axis,) = axes_from_mask(layer.axes, x.dim())
    return [torch.softmax(x, dim=axis)]
