"""Embedding lookup (torch.nn.functional.embedding) as an IGatherLayer on a constant table."""

from __future__ import annotations

import numpy as np

from netdef._trt import EMBEDDING_METADATA
from netdef.functional._common import constant, require_tensor, wrap
from netdef.functional.elementwise import where
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op(
    "IConstantLayer", "IGatherLayer", "IElementWiseLayer", "ISelectLayer", torch="torch.nn.functional.embedding"
)
def embedding(
    input: Tensor,
    weight: np.ndarray,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
    *,
    check_ids: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the int32/int64 indices in ``input``.

    The output has shape ``input.static_shape + (embedding_dim,)``. ``padding_idx`` only matters for training.
    ``max_norm`` rescales rows whose ``norm_type``-norm exceeds it, as torch does to the rows it reads (torch also
    writes them back into its weight; netdef's table is a constant, rescaled once).
    An index outside ``[0, num_embeddings)`` is an error in torch and in netdef's reference interpreter (naming
    the network input and the first bad position). An engine does not check them: TensorRT's gather reads
    ``-1`` as the last row, and an index past the end as zeros or whatever the kernel reads (not promised).
    ``check_ids=True`` makes a bad id visible in the engine too: its row becomes NaN (so do the logits computed
    from it), at the cost of one compare-and-select over the output.
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
    if max_norm is not None:  # torch rescales each row it reads to norm <= max_norm: all rows here, once
        norms = np.linalg.norm(weight.astype(np.float64), ord=float(norm_type), axis=1, keepdims=True)
        weight = np.where(norms > max_norm, weight * (float(max_norm) / (norms + 1e-7)), weight)
    table = constant(ctx, weight, ctx.compute_dtype, op + "_weight")
    layer = ctx.add_layer(op, lambda net: net.add_gather(table.itensor, input.itensor, 0))
    if hasattr(layer, "metadata"):
        layer.metadata = EMBEDDING_METADATA
    rows = wrap(layer.get_output(0), ctx)
    return _poison_bad_ids(input, rows, weight.shape[0]) if check_ids else rows


def _poison_bad_ids(ids: Tensor, rows: Tensor, n: int) -> Tensor:
    """``rows`` with NaN where ``ids`` is outside ``[0, n)``. TensorRT's IAssertionLayer takes shape tensors
    only (an input it depends on becomes a host shape input) and TensorRT-RTX's builder has no runner for the
    INonZeroLayer that would turn a count of bad ids into a size: a NaN row is the check an engine can carry."""
    valid = ((ids >= 0) & (ids < n)).unsqueeze(-1)
    return where(valid, rows, float("nan"))
