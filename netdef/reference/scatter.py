"""IScatterLayer semantics (inputs data, indices, updates): ONNX ScatterElements (ELEMENT) and ScatterND (ND).

Negative indices count from the end of their axis. Where indices repeat, the last update wins.
"""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register


def _wrap(where: str, idx: torch.Tensor, size) -> torch.Tensor:
    idx = idx.to(torch.int64)
    size = torch.as_tensor(size, dtype=torch.int64)
    bad = (idx < -size) | (idx >= size)
    if bool(bad.any()):
        raise InterpreterError(f"{where}: index {int(idx[bad][0])} is out of range")
    return torch.where(idx < 0, idx + size, idx)


@register("SCATTER")
def scatter(layer, inputs):
    data, indices, updates = inputs
    where = f"scatter `{layer.name}`"
    out = data.clone()
    mode = layer.mode.name
    if mode == "ELEMENT":
        axis = layer.axis % data.dim()
        return [out.scatter_(axis, _wrap(where, indices, data.shape[axis]), updates.to(data.dtype))]
    if mode == "ND":
        k = indices.shape[-1]
        idx = _wrap(where, indices.reshape(-1, k), list(data.shape[:k]))
        out[tuple(idx.T)] = updates.to(data.dtype).reshape(idx.shape[0], *data.shape[k:])
        return [out]
    raise InterpreterError(f"{where}: scatter mode {mode} is not supported by the reference interpreter")
