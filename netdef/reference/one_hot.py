"""IOneHotLayer semantics: inputs (indices, values=[off, on], depth); a new axis of ``depth`` classes.

As ONNX OneHot: an index in [-depth, -1] counts from the end; one outside [-depth, depth) is all ``off``.
"""

from __future__ import annotations

import torch

from netdef.reference._registry import register


@register("ONE_HOT")
def one_hot(layer, inputs):
    indices, values, depth = inputs
    d = int(depth.reshape(-1)[0])
    idx = indices.to(torch.int64)
    idx = torch.where(idx < 0, idx + d, idx)
    rank = idx.dim() + 1
    axis = layer.axis % rank
    classes = torch.arange(d, dtype=torch.int64).reshape([d] + [1] * (rank - 1 - axis))
    hit = idx.unsqueeze(axis) == classes
    off, on = values.reshape(-1)[0], values.reshape(-1)[1]
    return [torch.where(hit, on, off)]
