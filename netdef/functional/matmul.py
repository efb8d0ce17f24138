"""Matrix multiplication with torch broadcasting (torch.matmul)."""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import binary_operands, context_of, wrap
from netdef.tensor import Tensor


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``input @ other``: 1-D operands are vectors, batch dims broadcast."""
    ctx = context_of(input, other)
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise ctx.error("matmul", f"`{name}` must be a netdef.Tensor, got {type(t).__name__}")
        if t.ndim == 0:
            raise ctx.error("matmul", f"`{name}` is a scalar; matmul needs at least 1-D operands")
    k_in = input.shape[-1]
    k_other = other.shape[0] if other.ndim == 1 else other.shape[-2]
    if k_in >= 0 and k_other >= 0 and k_in != k_other:
        raise ctx.error("matmul", f"shapes {input.shape} and {other.shape} cannot be multiplied ({k_in} != {k_other})")
    op_a = trt.MatrixOperation.VECTOR if input.ndim == 1 else trt.MatrixOperation.NONE
    op_b = trt.MatrixOperation.VECTOR if other.ndim == 1 else trt.MatrixOperation.NONE
    if input.ndim > 1 and other.ndim > 1 and input.ndim != other.ndim:
        # equalize ranks (batch dims broadcast as in torch); only the leading dims are compared
        ctx, input, other = _equal_rank(input, other)
    elif input.dtype != other.dtype:
        ctx, input, other = binary_operands("matmul", input, other)  # raises the dtype error
    layer = ctx.add_layer("matmul", lambda net: net.add_matrix_multiply(input.itensor, op_a, other.itensor, op_b))
    return wrap(layer.get_output(0), ctx)


def _equal_rank(a: Tensor, b: Tensor):
    from netdef.functional._common import unsqueeze_to

    ctx = a.ctx
    if a.dtype != b.dtype:
        binary_operands("matmul", a, b)
    n = max(a.ndim, b.ndim)
    return ctx, unsqueeze_to(ctx, a, n, "matmul"), unsqueeze_to(ctx, b, n, "matmul")
