"""IReduceLayer semantics."""

from __future__ import annotations

from netdef.errors import InterpreterError
from netdef.reference._registry import register


def axes_from_mask(mask: int, rank: int) -> list[int]:
    return [i for i in range(rank) if mask >> i & 1]


@register("REDUCE", "IReduceLayer")
def reduce(layer, inputs):
    x = inputs[0]
    axes = axes_from_mask(layer.axes, x.dim())
    keep = bool(layer.keep_dims)
    op = layer.op.name
    if not axes:
        return [x]
    if op == "SUM":
        return [x.sum(dim=axes, keepdim=keep)]
    if op == "AVG":
        return [x.mean(dim=axes, keepdim=keep)]
    if op == "MAX":
        return [x.amax(dim=axes, keepdim=keep)]
    if op == "MIN":
        return [x.amin(dim=axes, keepdim=keep)]
    if op == "PROD":
        out = x
        for a in sorted(axes, reverse=True):
            out = out.prod(dim=a, keepdim=keep)
        return [out]
    raise InterpreterError(f"reduce operation {op} is not supported by the reference interpreter")
