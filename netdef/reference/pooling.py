"""IPoolingLayer semantics (max, average with or without padding in the count, blend)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netdef.errors import InterpreterError
from netdef.reference._registry import explicit_padding, register, torch_pad

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@register("POOLING", "IPoolingLayer")
def pooling(layer, inputs):
    x = inputs[0]
    k = tuple(layer.window_size_nd)
    s = tuple(layer.stride_nd)
    n = len(k)
    pre, post = explicit_padding(layer, tuple(x.shape[-n:]), k, s, (1,) * n)
    pad = torch_pad(pre, post)
    kind = layer.type.name
    if kind == "MAX":
        return [_max(x, pad, k, s, n)]
    if kind == "AVERAGE":
        return [_avg(x, pad, k, s, n, layer.average_count_excludes_padding)]
    if kind == "MAX_AVERAGE_BLEND":
        w = float(layer.blend_factor)
        return [w * _max(x, pad, k, s, n) + (1 - w) * _avg(x, pad, k, s, n, layer.average_count_excludes_padding)]
    raise InterpreterError(f"pooling type {kind} is not supported by the reference interpreter")


def _max(x, pad, k, s, n):
    if any(pad):
        x = F.pad(x, pad, value=float("-inf"))
    return _MAX[n](x, k, s)


def _avg(x, pad, k, s, n, exclude_padding: bool):
    if not any(pad):
        return _AVG[n](x, k, s)
    summed = _AVG[n](F.pad(x, pad), k, s)
    if not exclude_padding:
        return summed
    ones = torch.ones((1, 1, *x.shape[-n:]), dtype=x.dtype)
    frac = _AVG[n](F.pad(ones, pad), k, s)  # share of each window that lies inside the input
    return summed / frac
