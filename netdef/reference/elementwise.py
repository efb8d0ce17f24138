"""IElementWiseLayer semantics (TensorRT broadcasting = torch broadcasting over equal ranks)."""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import Handler, InPlace, register, register_in_place, register_specialized

_OPS = {
    "SUM": torch.add,
    "PROD": torch.mul,
    "MAX": torch.maximum,
    "MIN": torch.minimum,
    "SUB": torch.sub,
    "POW": torch.pow,
    "AND": torch.logical_and,
    "OR": torch.logical_or,
    "XOR": torch.logical_xor,
    "EQUAL": torch.eq,
    "GREATER": torch.gt,
    "LESS": torch.lt,
}


@register("ELEMENTWISE")
def elementwise(layer, inputs):
    a, b = inputs
    op = layer.op.name
    if op == "DIV":
        if a.is_floating_point():
            return [a / b]
        return [torch.div(a, b, rounding_mode="trunc")]
    if op == "FLOOR_DIV":
        return [torch.div(a, b, rounding_mode="floor")]
    if op not in _OPS:
        raise InterpreterError(f"elementwise operation {op} is not supported by the reference interpreter")
    return [_OPS[op](a, b)]


@register_specialized("ELEMENTWISE")
def elementwise_specialized(layer) -> Handler | None:
    """The operation's function looked up once (DIV and FLOOR_DIV, which depend on the dtype, stay general)."""
    fn = _OPS.get(layer.op.name)
    return None if fn is None else lambda layer, inputs: [fn(inputs[0], inputs[1])]


#: float operations whose ``out=`` form writes the same values as the plain call
_OUT = {**{op: _OPS[op] for op in ("SUM", "PROD", "SUB", "MAX", "MIN")}, "DIV": torch.div}


@register_in_place("ELEMENTWISE")
def elementwise_in_place(layer) -> InPlace | None:
    fn = _OUT.get(layer.op.name)
    if fn is None:
        return None

    def run(inputs, k):
        a, b = inputs
        out, other = inputs[k], inputs[1 - k]
        if a.dtype != torch.float32 or b.dtype != torch.float32 or not _holds(out.shape, other.shape):
            return None  # type promotion, or the donated input is smaller than the broadcast result
        return [fn(a, b, out=out)]

    return run


def _holds(shape: torch.Size, other: torch.Size) -> bool:
    """Whether broadcasting ``other`` against ``shape`` gives ``shape`` (torch.broadcast_shapes is slow)."""
    if shape == other:
        return True
    if len(other) > len(shape):
        return False
    return all(o == 1 or o == d for o, d in zip(reversed(other), reversed(shape)))
