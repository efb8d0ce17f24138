"""Linear: matrix multiply by the transposed weight plus a broadcast bias (TensorRT 10 removed FC)."""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional import _fold
from netdef.functional._common import constant, is_float, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op("IConstantLayer", "IElementWiseLayer", "IMatrixMultiplyLayer", torch="torch.nn.functional.linear")
def linear(input: Tensor, weight: np.ndarray, bias: np.ndarray | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dim; ``weight`` is (out_features, in_features)."""
    op = "linear"
    input = require_tensor(op, input)
    ctx = input.ctx
    weight = np.asarray(weight)
    if weight.ndim != 2:
        raise ctx.error(op, f"weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if not is_float(input) or input.ndim < 1:
        raise ctx.error(op, f"expected a float input of rank >= 1, got {input.dtype.name} {input.static_shape}")
    out_features, in_features = weight.shape
    if input.static_shape[-1] >= 0 and input.static_shape[-1] != in_features:
        raise ctx.error(
            op,
            f"input has {input.static_shape[-1]} features in its last dim (shape {input.static_shape}) but the layer "
            f"expects in_features={in_features}; check the flatten/view before this layer",
        )
    lead = (1,) * max(input.ndim - 2, 0)
    w_full = weight.reshape(lead + weight.shape)
    # when quantizing: Q/DQ on the input and per-output-channel (the rows of the weight) on the weight
    x = ctx.quantize_activation(input, "matmul")
    w = ctx.quantize_weight(w_full, input.dtype, w_full.ndim - 2, "matmul")
    # a batch norm right after (over the features of a 2-D output) may fold into the weight and bias
    foldable = w is None and bias is not None and input.ndim == 2 and _fold.folding(ctx)
    if w is None:
        w = constant(ctx, _fold.unshared(w_full, input.dtype) if foldable else w_full, input.dtype, op + "_weight")
        w_buf = ctx.keepalive[-1]
    vec = trt.MatrixOperation.VECTOR if input.ndim == 1 else trt.MatrixOperation.NONE
    mm = ctx.add_layer(
        "matmul", lambda net: net.add_matrix_multiply(x.itensor, vec, w.itensor, trt.MatrixOperation.TRANSPOSE)
    )
    out = wrap(mm.get_output(0), ctx)
    if bias is None:
        return out
    bias = np.asarray(bias)
    if bias.shape != (out_features,):
        raise ctx.error(op, f"bias must have shape ({out_features},), got {bias.shape}")
    b_full = bias.reshape((1,) * (out.ndim - 1) + (out_features,))
    b = constant(ctx, _fold.unshared(b_full, input.dtype) if foldable else b_full, input.dtype, op + "_bias")
    b_buf = ctx.keepalive[-1]
    layer = ctx.add_layer("bias", lambda net: net.add_elementwise(out.itensor, b.itensor, trt.ElementWiseOperation.SUM))
    result = wrap(layer.get_output(0), ctx)
    if foldable:

        def emit(kernel, bias):
            return linear(input, kernel, bias)

        _fold.offer(
            ctx,
            _fold.FoldCandidate(
                result, ctx.network.num_layers, layer, weight, bias, 0, w_buf, b_buf, None, _fold.reemitter(ctx, emit)
            ),
        )
    return result
