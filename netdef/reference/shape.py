"""IShapeLayer semantics: the input's shape as an int64 1-D tensor."""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("SHAPE")
def shape(layer, inputs):
    return [torch.tensor(tuple(inputs[0].shape), dtype=torch.int64)]
