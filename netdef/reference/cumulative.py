"""ICumulativeLayer semantics: a running sum along the axis given by input 1 (exclusive and/or reversed)."""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register


@register("CUMULATIVE")
def cumulative(layer, inputs):
    x, axis = inputs
    if layer.op.name != "SUM":
        raise InterpreterError(f"cumulative `{layer.name}`: operation {layer.op.name} is not supported")
    rank = max(x.dim(), 1)
    axis = int(axis.reshape(-1)[0])
    if not -rank <= axis < rank:
        raise InterpreterError(f"cumulative `{layer.name}`: axis {axis} is out of range for rank {x.dim()}")
    axis %= rank
    y = x.flip(axis) if layer.reverse else x
    out = torch.cumsum(y, axis, dtype=y.dtype)
    if layer.exclusive:  # element i sums the elements before i: shift the inclusive sums by one
        n = out.shape[axis]
        out = torch.cat([torch.zeros_like(out.narrow(axis, 0, min(n, 1))), out.narrow(axis, 0, max(n - 1, 0))], axis)
    return [out.flip(axis) if layer.reverse else out]
