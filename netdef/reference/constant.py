"""IConstantLayer semantics."""

from __future__ import annotations

from netdef.reference._registry import register
from netdef.reference._weights import read_weights, torch_view


@register("CONSTANT")
def constant(layer, inputs):
    arr = read_weights(layer.weights, layer)
    # a view of the array TensorRT holds (a memory-mapped weight's pages too): handlers never write to their inputs
    return [torch_view(arr).reshape(tuple(layer.shape))]
