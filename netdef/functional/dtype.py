"""Casts between TensorRT data types, and the dtype methods of Tensor (``.float()``, ``.long()``, ``.type_as``)."""

from __future__ import annotations

from netdef._trt import dtype_from_name, trt
from netdef.errors import NetdefError
from netdef.functional._common import require_tensor, wrap
from netdef.functional.registry import register_op, tensor_method
from netdef.tensor import Device, Tensor

#: device names ``Tensor.to`` accepts and ignores (an engine's tensors live on its GPU)
_DEVICES = ("cpu", "cuda", "mps", "xpu", "meta")


def _is_device(value) -> bool:
    if isinstance(value, Device) or type(value).__name__ == "device":  # netdef's x.device or a torch.device
        return True
    return isinstance(value, str) and value.split(":", 1)[0] in _DEVICES


def as_dtype(input: Tensor, dtype, op: str = "cast") -> trt.DataType:
    """``dtype`` (a name such as 'float16', a torch or numpy dtype, a trt.DataType) as a trt.DataType, or an
    EmitError at ``input``'s module."""
    try:
        return dtype_from_name(dtype)
    except NetdefError as exc:
        raise input.ctx.error(op, str(exc)) from None


@register_op("ICastLayer", torch="torch.Tensor.to", methods="to", limits="device arguments are accepted and ignored")
def cast(
    input: Tensor, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False, memory_format=None
) -> Tensor:
    """``input`` converted to ``dtype`` ('float16', torch.float16, a trt.DataType...), as ``Tensor.to``:
    ``x.to(torch.float16)``, ``x.to(other)`` (other's dtype), ``x.to('cuda', torch.float16)``; devices are ignored."""
    input = require_tensor("cast", input)
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif not _is_device(arg):
            dtype = arg
    if dtype is None:
        return input
    target = as_dtype(input, dtype)
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


@tensor_method("bfloat16")
def _bfloat16(self: Tensor) -> Tensor:
    """``self`` cast to bfloat16 (torch.Tensor.bfloat16)."""
    return cast(self, trt.bfloat16)


@tensor_method("long")
def _long(self: Tensor) -> Tensor:
    """``self`` cast to int64 (torch.Tensor.long; floats are truncated toward zero)."""
    return cast(self, trt.int64)


@tensor_method("int")
def _int(self: Tensor) -> Tensor:
    """``self`` cast to int32 (torch.Tensor.int; floats are truncated toward zero)."""
    return cast(self, trt.int32)


@tensor_method("bool")
def _bool(self: Tensor) -> Tensor:
    """``self`` cast to bool: True where nonzero (torch.Tensor.bool)."""
    return cast(self, trt.bool)


@tensor_method("type_as")
def _type_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` cast to ``other``'s dtype (torch.Tensor.type_as)."""
    return cast(self, require_tensor("type_as", other, "other").dtype)


@tensor_method("type")
def _type(self: Tensor, dtype=None, non_blocking: bool = False) -> Tensor:
    """``self`` cast to ``dtype`` (torch.Tensor.type with a dtype; without one torch returns a type name, which a
    network has no use for)."""
    if dtype is None:
        raise self.ctx.error("type", "x.type() without a dtype returns a type name in torch; use x.dtype instead")
    return cast(self, dtype)


@tensor_method("is_floating_point")
def _is_floating_point(self: Tensor) -> bool:
    """Whether the dtype is a float dtype (torch.Tensor.is_floating_point)."""
    return self.dtype.name in ("FLOAT", "HALF", "BF16")
