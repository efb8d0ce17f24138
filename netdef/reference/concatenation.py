"""IConcatenationLayer semantics."""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("CONCATENATION")
def concatenation(layer, inputs):
    return [torch.cat(inputs, dim=layer.axis)]
