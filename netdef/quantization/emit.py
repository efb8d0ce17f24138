"""Q/DQ emission: what conv, linear and matmul call while a quantized network is being defined."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.errors import EmitError
from netdef.quantization.calibration import Calibration
from netdef.tensor import Tensor

#: quantized type -> (TensorRT dtype name, largest representable magnitude)
QUANT_DTYPES = {"int8": ("int8", 127.0), "fp8": ("fp8", 448.0)}


@dataclass(frozen=True)
class QuantConfig:
    """Explicit quantization of a network's convs and matmuls.

    Weights get per-output-channel scales (from their own max magnitude); activations get per-tensor
    scales from ``calibration`` (not needed when ``weights_only``). ``skip`` holds fnmatch patterns of
    module paths or layer names left in float, e.g. ``("fc3",)`` to keep the classifier exact.
    """

    dtype: str = "int8"
    calibration: Calibration | None = None
    weights_only: bool = False
    skip: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.dtype not in QUANT_DTYPES:
            raise EmitError(f"quantization dtype must be one of {', '.join(QUANT_DTYPES)}, got {self.dtype!r}")
        if self.calibration is None and not self.weights_only:
            raise EmitError(
                "activation quantization needs a calibration (netdef.quantization.calibrate), or weights_only=True"
            )

    def to_json(self) -> dict:
        return {
            "dtype": self.dtype,
            "weights_only": self.weights_only,
            "skip": list(self.skip),
            "calibration": self.calibration.method if self.calibration else None,
        }


def _config(ctx: EmitContext, op: str) -> QuantConfig | None:
    config = getattr(ctx, "quantization", None)
    if config is None:
        return None
    name = ctx.peek_name(op)
    if any(fnmatch.fnmatchcase(ctx.path, p) or fnmatch.fnmatchcase(name, p) for p in config.skip):
        return None
    return config


def _qdq(ctx: EmitContext, t: Tensor, scale: np.ndarray, axis: int | None, what: str) -> Tensor:
    from netdef.functional._common import constant

    config = ctx.quantization
    qtype = getattr(trt, QUANT_DTYPES[config.dtype][0])
    s = constant(ctx, scale, t.dtype, f"{what}_scale")

    def q(net):
        layer = net.add_quantize(t.itensor, s.itensor, qtype)
        if axis is not None:
            layer.axis = axis
        return layer

    qt = ctx.add_layer(f"{what}_quantize", q).get_output(0)

    def dq(net):
        layer = net.add_dequantize(qt, s.itensor, t.dtype)
        if axis is not None:
            layer.axis = axis
        return layer

    return Tensor(ctx.add_layer(f"{what}_dequantize", dq).get_output(0), ctx)


def quantize_activation(ctx: EmitContext, x: Tensor, op: str, slot: int = 0) -> Tensor:
    """``x`` through a per-tensor Q/DQ pair if the layer ``op`` about to be added is quantized."""
    config = _config(ctx, op)
    if config is None or config.weights_only:
        return x
    key = f"{ctx.peek_name(op)}:{slot}"
    amax = config.calibration.amax.get(key)
    if amax is None:
        raise ctx.error(op, f"the calibration has no range for {key!r}: calibrate the fp32 network of this model")
    qmax = QUANT_DTYPES[config.dtype][1]
    return _qdq(ctx, x, np.array(amax / qmax if amax > 0 else 1.0, np.float32), None, f"{op}_input{slot}")


def quantize_weight(ctx: EmitContext, weight: np.ndarray, dtype: trt.DataType, axis: int, op: str) -> Tensor | None:
    """A constant ``weight`` through a per-channel (``axis``) Q/DQ pair, or None when ``op`` is not quantized."""
    from netdef.functional._common import constant

    if _config(ctx, op) is None:
        return None
    qmax = QUANT_DTYPES[ctx.quantization.dtype][1]
    w = np.asarray(weight, np.float32)
    amax = np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis))
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    return _qdq(ctx, constant(ctx, w, dtype, f"{op}_weight"), scale, axis, f"{op}_weight")
