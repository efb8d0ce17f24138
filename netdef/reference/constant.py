"""IConstantLayer semantics."""

from __future__ import annotations

import numpy as np
import torch

from netdef.reference._registry import register
from netdef.reference._weights import read_weights


@register("CONSTANT", "IConstantLayer")
def constant(layer, inputs):
    arr = np.array(read_weights(layer.weights, layer), copy=True).reshape(tuple(layer.shape))
    return [torch.from_numpy(arr)]
