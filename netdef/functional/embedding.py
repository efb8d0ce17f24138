"""Embedding lookup (torch.nn.functional.embedding) as an IGatherLayer on a constant table."""

from __future__ import annotations

import numpy as np

from netdef.functional._common import constant, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op("IConstantLayer", "IGatherLayer", torch="torch.nn.functional.embedding")
def embedding(
    input: Tensor,
    weight: np.ndarray,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the int32/int64 indices in ``input``.

    The output has shape ``input.static_shape + (embedding_dim,)``. ``padding_idx`` only matters for training.
    Indices outside ``[-num_embeddings, num_embeddings)`` read zeros in TensorRT (torch raises).
    """
    op = "embedding"
    input = require_tensor(op, input)
    ctx = input.ctx
    weight = np.asarray(weight)
    if weight.ndim != 2:
        raise ctx.error(op, f"weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if input.dtype.name not in ("INT32", "INT64"):
        raise ctx.error(
            op, f"indices must be int32 or int64, got {input.dtype.name} `{input.name}`; declare the input as int"
        )
    if max_norm is not None:
        raise ctx.error(
            op, "max_norm renormalizes the table rows it reads; renormalize the weights before export instead"
        )
    table = constant(ctx, weight, ctx.compute_dtype, op + "_weight")
    layer = ctx.add_layer(op, lambda net: net.add_gather(table.itensor, input.itensor, 0))
    return wrap(layer.get_output(0), ctx)
