"""Constants: a bound Parameter or an array used as a tensor (torch code writes ``self.layer_scale * x``)."""

from __future__ import annotations

import numpy as np

from netdef._trt import dtype_from_name, trt
from netdef.context import current
from netdef.errors import EmitError
from netdef.functional._common import constant as _constant
from netdef.functional.registry import register_op
from netdef.tensor import Tensor


@register_op("IConstantLayer", torch="torch.as_tensor")
def as_tensor(data, dtype: str | trt.DataType | None = None) -> Tensor:
    """A constant layer holding ``data`` (a bound ``nn.Parameter``, a numpy array or a number).

    Floating data is emitted in the compute dtype (fp16 in an fp16 network), like module weights;
    integer and bool data keep their type. ``dtype`` overrides either.
    """
    op = "constant"
    ctx = current()
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    try:
        array = np.asarray(data)  # an nn.Parameter gives its bound array (and refuses when unbound)
    except EmitError as exc:
        raise ctx.error(op, str(exc)) from None
    if dtype is not None:
        target = dtype if isinstance(dtype, trt.DataType) else dtype_from_name(dtype)
    elif array.dtype.kind == "f":
        target = ctx.compute_dtype
    elif array.dtype.kind in "iu":
        target = trt.int64 if array.dtype.itemsize == 8 else trt.int32
    elif array.dtype.kind == "b":
        target = trt.bool
    else:
        raise ctx.error(op, f"cannot make a constant of numpy dtype {array.dtype}; give a float, int or bool array")
    return _constant(ctx, array, target, op)
