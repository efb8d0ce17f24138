"""INonZeroLayer semantics: the indices of the non-zero elements, one row per input dim (ONNX NonZero)."""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("NON_ZERO")
def non_zero(layer, inputs):
    x = inputs[0]
    return [torch.nonzero(x).T.reshape(x.dim(), -1)]
