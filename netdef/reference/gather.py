"""IGatherLayer semantics: DEFAULT (ONNX Gather), ELEMENT (GatherElements) and ND (GatherND) modes.

Negative indices count from the end of the gathered axis; an index still outside it reads zero (TensorRT
stores zero for out-of-bounds access). ``num_elementwise_dims`` leading dims of data and indices pair up
(DEFAULT: at most 1, broadcast; ND: any number below the data rank - 1). The gather of ``F.embedding``
(``ILayer.metadata`` is ``EMBEDDING_METADATA``) reads token ids: there an id outside ``[0, rows)`` is an
error, as in torch.
"""

from __future__ import annotations

import torch

from netdef._trt import EMBEDDING_METADATA
from netdef.errors import InterpreterError
from netdef.reference._registry import register


def _bounded(index: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(index wrapped once from the end and clamped into [0, n), mask of the indices that were valid)."""
    index = index.to(torch.int64)
    index = torch.where(index < 0, index + n, index)
    valid = (index >= 0) & (index < n)
    return index.clamp(0, max(n - 1, 0)), valid


def _gather_default(data: torch.Tensor, indices: torch.Tensor, axis: int) -> torch.Tensor:
    n = data.shape[axis]
    index, valid = _bounded(indices, n)
    flat = data.index_select(axis, index.reshape(-1)) if n else torch.zeros(0)
    shape = (*data.shape[:axis], *indices.shape, *data.shape[axis + 1 :])
    if n == 0:
        return torch.zeros(shape, dtype=data.dtype)
    out = flat.reshape(shape)
    mask = valid.reshape((1,) * axis + tuple(indices.shape) + (1,) * (data.dim() - axis - 1))
    return torch.where(mask, out, torch.zeros((), dtype=data.dtype))


def _gather_nd(data: torch.Tensor, indices: torch.Tensor, batch: int) -> torch.Tensor:
    depth = indices.shape[-1]
    lead = tuple(data.shape[:batch])
    if tuple(indices.shape[:batch]) != lead:
        raise InterpreterError(f"gather ND: batch dims of data {tuple(data.shape)} and indices differ")
    rows = int(torch.tensor(lead).prod()) if lead else 1
    d = data.reshape(rows, *data.shape[batch:])
    idx = indices.reshape(rows, -1, depth).to(torch.int64)
    keys, valid = [], torch.ones(idx.shape[:2], dtype=torch.bool)
    for j in range(depth):
        k, ok = _bounded(idx[..., j], d.shape[1 + j])
        keys.append(k)
        valid &= ok
    batch_index = torch.arange(rows).reshape(rows, 1).expand(idx.shape[:2])
    picked = d[(batch_index, *keys)]  # (rows, m, *rest)
    mask = valid.reshape(*valid.shape, *(1,) * (picked.dim() - 2))
    picked = torch.where(mask, picked, torch.zeros((), dtype=data.dtype))
    return picked.reshape(*indices.shape[:-1], *data.shape[batch + depth :])


@register("GATHER")
def gather(layer, inputs):
    data, indices = inputs[0], inputs[1]
    mode = layer.mode.name
    batch = int(layer.num_elementwise_dims)
    where = f"gather `{layer.name}`"
    if getattr(layer, "metadata", "") == EMBEDDING_METADATA:
        _check_ids(layer, indices, data.shape[int(layer.axis) % data.dim()])
    if mode == "DEFAULT":
        axis = int(layer.axis) % data.dim()
        if batch == 0:
            return [_gather_default(data, indices, axis)]
        if batch != 1 or axis == 0:
            raise InterpreterError(f"{where}: DEFAULT mode takes at most 1 elementwise dim, before the axis")
        size = max(data.shape[0], indices.shape[0])
        rows = [
            _gather_default(data[min(b, data.shape[0] - 1)], indices[min(b, indices.shape[0] - 1)], axis - 1)
            for b in range(size)
        ]
        return [torch.stack(rows)]
    if mode == "ELEMENT":
        axis = int(layer.axis) % data.dim()
        index, valid = _bounded(indices, data.shape[axis])
        out = torch.gather(data, axis, index)
        return [torch.where(valid, out, torch.zeros((), dtype=data.dtype))]
    if mode == "ND":
        return [_gather_nd(data, indices, batch)]
    raise InterpreterError(f"{where}: gather mode {mode} is not supported by the reference interpreter")


def _check_ids(layer, ids: torch.Tensor, rows: int) -> None:
    """Refuse token ids outside ``[0, rows)``, naming the network input (or the tensor) and the first bad one."""
    bad = (ids < 0) | (ids >= rows)
    if not bool(bad.any()):
        return
    first = tuple(int(i) for i in torch.nonzero(bad)[0])
    source = layer.get_input(1)
    what = f"input {source.name!r}" if source.is_network_input else f"tensor `{source.name}`"
    at = ", ".join(map(str, first))
    raise InterpreterError(
        f"embedding `{layer.name}`: {what} holds token id {int(ids[first])} at [{at}] "
        f"({int(bad.sum())} of {ids.numel()} ids are outside [0, {rows}), the table's rows); torch raises for "
        f"these and a TensorRT engine reads a wrong row or zeros without a word (unless built with "
        f"nn.Embedding(check_ids=True), which makes them NaN): feed ids below {rows} (the vocabulary size)"
    )
