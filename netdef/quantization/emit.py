"""Q/DQ emission: the quantization hook (QuantConfig) that conv and linear ask while a network is defined."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import numpy as np

from netdef._trt import trt
from netdef.context import EmitContext
from netdef.errors import EmitError
from netdef.functional._common import constant
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

    # -- the emission hook (netdef.context.Quantizer), carried by the EmitContext define() makes ----------
    def applies(self, ctx: EmitContext, op: str) -> bool:
        """Whether the layer ``op`` about to be added in ``ctx`` is quantized (not matched by ``skip``)."""
        name = ctx.peek_name(op)
        return not any(fnmatch.fnmatchcase(ctx.path, p) or fnmatch.fnmatchcase(name, p) for p in self.skip)

    def activation(self, ctx: EmitContext, x: Tensor, op: str, slot: int = 0) -> Tensor:
        """``x`` through a per-tensor Q/DQ pair if the layer ``op`` about to be added is quantized."""
        if self.weights_only or not self.applies(ctx, op):
            return x
        key = f"{ctx.peek_name(op)}:{slot}"
        amax = self.calibration.amax.get(key)
        if amax is None:
            raise ctx.error(op, f"the calibration has no range for {key!r}: calibrate the fp32 network of this model")
        qmax = QUANT_DTYPES[self.dtype][1]
        return _qdq(ctx, self, x, np.array(amax / qmax if amax > 0 else 1.0, np.float32), None, f"{op}_input{slot}")

    def weight(self, ctx: EmitContext, weight: np.ndarray, dtype: trt.DataType, axis: int, op: str) -> Tensor | None:
        """A constant ``weight`` through a per-channel (``axis``) Q/DQ pair, or None when ``op`` is not quantized."""
        if not self.applies(ctx, op):
            return None
        qmax = QUANT_DTYPES[self.dtype][1]
        w = np.asarray(weight, np.float32)
        amax = np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis))
        scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
        return _qdq(ctx, self, constant(ctx, w, dtype, f"{op}_weight"), scale, axis, f"{op}_weight")


def _qdq(ctx: EmitContext, config: QuantConfig, t: Tensor, scale: np.ndarray, axis: int | None, what: str) -> Tensor:
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
