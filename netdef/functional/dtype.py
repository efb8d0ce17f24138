"""Casts between TensorRT data types."""

from __future__ import annotations

from netdef._trt import dtype_from_name, trt
from netdef.functional._common import require_tensor, wrap
from netdef.functional.registry import register_op, tensor_method
from netdef.tensor import Tensor


@register_op("ICastLayer", torch="torch.Tensor.to", methods="to")
def cast(input: Tensor, dtype: str | trt.DataType) -> Tensor:
    """``input`` converted to ``dtype`` ('float32', 'float16', 'bfloat16', 'int32', ... or a trt.DataType)."""
    input = require_tensor("cast", input)
    target = dtype if isinstance(dtype, trt.DataType) else dtype_from_name(dtype)
    if input.dtype == target:
        return input
    layer = input.ctx.add_layer("cast", lambda net: net.add_cast(input.itensor, target))
    return wrap(layer.get_output(0), input.ctx)


@tensor_method("float")
def _float(self: Tensor) -> Tensor:
    """``self`` cast to float32 (torch.Tensor.float)."""
    return cast(self, trt.float32)


@tensor_method("half")
def _half(self: Tensor) -> Tensor:
    """``self`` cast to float16 (torch.Tensor.half)."""
    return cast(self, trt.float16)
