"""Matrix multiplication with torch broadcasting (torch.matmul)."""

from __future__ import annotations

from netdef._trt import trt
from netdef.functional._common import as_operand, broadcast_shape, context_of, unsqueeze_to, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op(
    "IMatrixMultiplyLayer",
    "IShuffleLayer",
    torch="torch.matmul",
    methods=("matmul", "__matmul__"),
    reflected=("__rmatmul__",),
)
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``input @ other``: 1-D operands are vectors, batch dims broadcast."""
    op = "matmul"
    input, other = as_operand(input), as_operand(other)
    ctx = context_of(input, other)
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise ctx.error(op, f"`{name}` must be a netdef.Tensor, got {type(t).__name__}")
        if t.ndim == 0:
            raise ctx.error(op, f"`{name}` is a scalar; matmul needs at least 1-D operands")
    k_in = input.static_shape[-1]
    k_other = other.static_shape[0] if other.ndim == 1 else other.static_shape[-2]
    if k_in >= 0 and k_other >= 0 and k_in != k_other:
        raise ctx.error(
            op, f"shapes {input.static_shape} and {other.static_shape} cannot be multiplied ({k_in} != {k_other})"
        )
    if input.dtype != other.dtype:  # torch.matmul does not promote either
        raise ctx.error(
            op,
            f"operands have different dtypes ({input.dtype.name} `{input.name}` and {other.dtype.name} "
            f"`{other.name}`); cast one with .to(...)",
        )
    broadcast_shape(ctx, op, input.static_shape[:-2], other.static_shape[:-2])
    op_a = trt.MatrixOperation.VECTOR if input.ndim == 1 else trt.MatrixOperation.NONE
    op_b = trt.MatrixOperation.VECTOR if other.ndim == 1 else trt.MatrixOperation.NONE
    # TensorRT needs equal batch ranks (a vector operand has one dim fewer than a matrix): prepend
    # size-1 dims, which broadcast as torch's missing batch dims do
    batch = max(input.ndim, other.ndim, 2) - 2
    input = unsqueeze_to(ctx, input, batch + (1 if input.ndim == 1 else 2), op)
    other = unsqueeze_to(ctx, other, batch + (1 if other.ndim == 1 else 2), op)
    layer = ctx.add_layer(op, lambda net: net.add_matrix_multiply(input.itensor, op_a, other.itensor, op_b))
    return wrap(layer.get_output(0), ctx)


@register_op("IMatrixMultiplyLayer", torch="torch.bmm", methods="bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched ``(b, n, m) @ (b, m, p)``; unlike matmul, no broadcasting (torch.bmm)."""
    ctx = context_of(input, mat2)
    for name, t in (("input", input), ("mat2", mat2)):
        if not isinstance(t, Tensor):
            raise ctx.error("bmm", f"`{name}` must be a netdef.Tensor, got {type(t).__name__}")
        if t.ndim != 3:
            raise ctx.error("bmm", f"`{name}` must be a 3-D tensor, got shape {t.static_shape}")
    b1, b2 = input.static_shape[0], mat2.static_shape[0]
    if b1 >= 0 and b2 >= 0 and b1 != b2:
        raise ctx.error(
            "bmm",
            f"batch sizes differ: {input.static_shape} and {mat2.static_shape} (bmm does not broadcast; use matmul)",
        )
    return matmul(input, mat2)
