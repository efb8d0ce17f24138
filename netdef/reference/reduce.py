"""IReduceLayer semantics."""

from __future__ import annotations

from collections.abc import Callable

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register


def axes_from_mask(mask: int, rank: int) -> list[int]:
    return [i for i in range(rank) if mask >> i & 1]


def _prod(x: torch.Tensor, axes: list[int], keep: bool) -> torch.Tensor:
    for a in sorted(axes, reverse=True):  # torch's prod reduces one dim at a time
        x = x.prod(dim=a, keepdim=keep)
    return x


#: trt.ReduceOperation name -> f(x, axes, keepdim)
REDUCTIONS: dict[str, Callable[[torch.Tensor, list[int], bool], torch.Tensor]] = {
    "SUM": lambda x, axes, keep: x.sum(dim=axes, keepdim=keep),
    "AVG": lambda x, axes, keep: x.mean(dim=axes, keepdim=keep),
    "MAX": lambda x, axes, keep: x.amax(dim=axes, keepdim=keep),
    "MIN": lambda x, axes, keep: x.amin(dim=axes, keepdim=keep),
    "PROD": _prod,
}


@register("REDUCE")
def reduce(layer, inputs):
    x = inputs[0]
    axes = axes_from_mask(layer.axes, x.dim())
    op = layer.op.name
    if op not in REDUCTIONS:
        raise InterpreterError(f"reduce operation {op} is not supported by the reference interpreter")
    return [REDUCTIONS[op](x, axes, bool(layer.keep_dims)) if axes else x]
