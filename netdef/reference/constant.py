"""IConstantLayer semantics."""

from __future__ import annotations

import numpy as np
import torch

from netdef.reference._registry import register
from netdef.reference._weights import read_weights


@register("CONSTANT")
def constant(layer, inputs):
    arr = read_weights(layer.weights, layer)
    if not arr.flags.writeable or not arr.flags.c_contiguous:  # torch views only writable C-ordered arrays
        arr = np.array(arr, copy=True)
    # a view of the array TensorRT holds: handlers never write to their inputs
    return [torch.from_numpy(arr).reshape(tuple(layer.shape))]
