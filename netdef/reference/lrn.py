"""ILRNLayer semantics: local response normalization across channels (dim 1), as ONNX LRN and torch.

``y = x / (k + alpha / window * sum of x**2 over the window of channels centred on c) ** beta``; TensorRT
takes odd windows only, so the window is symmetric.
"""

from __future__ import annotations

import torch.nn.functional as F

from netdef.reference._registry import register


@register("LRN")
def lrn(layer, inputs):
    x = inputs[0]
    return [F.local_response_norm(x, int(layer.window_size), float(layer.alpha), float(layer.beta), float(layer.k))]
