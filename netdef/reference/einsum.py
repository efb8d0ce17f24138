"""IEinsumLayer semantics: torch.einsum with the layer's equation (TensorRT's subset: no ellipsis)."""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("EINSUM")
def einsum(layer, inputs):
    return [torch.einsum(layer.equation, *inputs)]
