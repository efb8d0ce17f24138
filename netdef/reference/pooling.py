"""IPoolingLayer semantics (max, average with or without padding in the count, blend)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netdef.errors import InterpreterError
from netdef.reference._padding import explicit_padding, torch_pad
from netdef.reference._registry import register

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@register("POOLING")
def pooling(layer, inputs):
    x = inputs[0]
    k = tuple(layer.window_size_nd)
    s = tuple(layer.stride_nd)
    n = len(k)
    pre, post = explicit_padding(layer, tuple(x.shape[-n:]), k, s, (1,) * n)
    pad = torch_pad(pre, post)
    # the padding an average counts (unless it excludes padding): windows are clipped to the padded input, so
    # the extra rows EXPLICIT_ROUND_UP reads past it are never counted (torch's ceil_mode does the same)
    counted = pad
    if layer.padding_mode.name == "EXPLICIT_ROUND_UP":
        counted = torch_pad((list(layer.pre_padding) + [0] * n)[:n], (list(layer.post_padding) + [0] * n)[:n])
    kind = layer.type.name
    if kind == "MAX":
        return [_max(x, pad, k, s, n)]
    if kind == "AVERAGE":
        return [_avg(x, pad, k, s, n, layer.average_count_excludes_padding, counted)]
    if kind == "MAX_AVERAGE_BLEND":
        w = float(layer.blend_factor)
        avg = _avg(x, pad, k, s, n, layer.average_count_excludes_padding, counted)
        return [w * _max(x, pad, k, s, n) + (1 - w) * avg]
    raise InterpreterError(f"pooling type {kind} is not supported by the reference interpreter")


def _max(x, pad, k, s, n):
    if any(pad):
        x = F.pad(x, pad, value=float("-inf"))
    return _MAX[n](x, k, s)


def _avg(x, pad, k, s, n, exclude_padding: bool, counted: list[int]):
    if not any(pad):
        return _AVG[n](x, k, s)
    summed = _AVG[n](F.pad(x, pad), k, s)
    region = [0] * len(pad) if exclude_padding else counted
    if region == pad:
        return summed
    ones = F.pad(torch.ones((1, 1, *x.shape[-n:]), dtype=x.dtype), region, value=1.0)
    frac = _AVG[n](F.pad(ones, [p - r for p, r in zip(pad, region)]), k, s)  # share of each window counted
    return summed / frac
