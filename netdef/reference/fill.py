"""IFillLayer semantics (LINSPACE: alpha + sum_i beta[i] * index_i; random fills cannot be reproduced)."""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._dtypes import torch_dtype
from netdef.reference._registry import register


@register("FILL")
def fill(layer, inputs):
    kind = layer.operation.name
    if kind != "LINSPACE":
        raise InterpreterError(
            f"fill operation {kind} draws random numbers; the reference interpreter cannot match them"
        )
    given = list(inputs) + [None] * (3 - len(inputs))
    shape = [int(v) for v in given[0].tolist()] if given[0] is not None else list(layer.shape)
    int64 = bool(layer.is_alpha_beta_int64)
    acc = torch.int64 if int64 else torch.float64
    alpha = given[1].reshape(()).to(acc) if given[1] is not None else torch.tensor(layer.alpha, dtype=acc)
    beta = given[2].reshape(-1).to(acc) if given[2] is not None else torch.tensor(list(layer.beta), dtype=acc)
    out = torch.zeros(shape, dtype=acc) + alpha
    for i, n in enumerate(shape):
        view = [1] * len(shape)
        view[i] = n
        out = out + beta[i] * torch.arange(n, dtype=acc).reshape(view)
    return [out.to(torch_dtype(layer.to_type)) if out.dtype.is_floating_point else out]
