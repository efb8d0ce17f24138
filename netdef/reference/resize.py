"""IResizeLayer semantics, from the layer's own attributes (so networks from the ONNX parser run too).

Each resized axis maps output coordinate ``x`` to an input coordinate with the layer's transformation
(``in``/``out`` are the axis lengths, ``r`` is ``1 / scale`` when scales are set, else ``in / out``):

- ALIGN_CORNERS: ``x * (in - 1) / (out - 1)``
- ASYMMETRIC: ``x * r``
- HALF_PIXEL: ``(x + 0.5) * r - 0.5``
- HALF_PIXEL_SYMMETRIC: HALF_PIXEL shifted so the sampled span stays centred when ``in / r`` is
  fractional (ONNX's ``half_pixel_symmetric``)

A single-pixel output axis reads input coordinate 0 when the selector is UPPER. NEAREST then rounds the
coordinate (FLOOR, CEIL, HALF_UP, HALF_DOWN) and clamps it into the input; LINEAR interpolates between
the two neighbouring elements, clamped at the edges; CUBIC is Keys' cubic convolution over four
neighbours with the layer's ``cubic_coeff`` (taps clamped at the edges, or dropped and the weights
renormalized when ``exclude_outside``). Axes are resized one after the other (every mode is separable).
"""

from __future__ import annotations

import math

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import register


def _out_shape(layer, x: torch.Tensor, inputs: list) -> tuple[list[int], list[float] | None]:
    """Output dims and, when the layer was given scales, the scales."""
    if len(inputs) > 1 and inputs[1] is not None:
        return [int(v) for v in inputs[1].reshape(-1).tolist()], None
    shape = layer.shape
    if shape is not None and len(shape):
        return [int(d) for d in shape], None
    scales = [float(s) for s in layer.scales]
    if len(scales) != x.dim():
        raise InterpreterError(f"resize `{layer.name}` has {len(scales)} scales for a rank-{x.dim()} input")
    return [math.floor(d * s) for d, s in zip(x.shape, scales)], scales


def source_coordinates(
    transform: str, selector: str, size: int, out: int, scale: float | None, where: str
) -> torch.Tensor:
    """float32 input coordinates of the ``out`` output positions along one axis."""
    x = torch.arange(out, dtype=torch.float32)
    if out == 1 and selector == "UPPER":
        return torch.zeros(1, dtype=torch.float32)
    ratio = torch.tensor(1.0 / scale if scale is not None else size / out, dtype=torch.float32)
    if transform == "ALIGN_CORNERS":
        if out == 1:
            raise InterpreterError(
                f"{where}: ALIGN_CORNERS with a single output pixel divides by zero; use the UPPER selector"
            )
        return x * torch.tensor((size - 1) / (out - 1), dtype=torch.float32)
    if transform == "ASYMMETRIC":
        return x * ratio
    if transform == "HALF_PIXEL":
        return (x + 0.5) * ratio - 0.5
    if transform == "HALF_PIXEL_SYMMETRIC":
        length = size / float(ratio)  # the real (maybe fractional) output length
        offset = size / 2 * (1 - out / length)
        return offset + (x + 0.5) * ratio - 0.5
    raise InterpreterError(f"{where}: coordinate transformation {transform} is not supported")


#: trt.ResizeRoundMode name -> the input index a NEAREST resize reads at a float source coordinate
_ROUNDING = {
    "FLOOR": torch.floor,
    "CEIL": torch.ceil,
    "HALF_UP": lambda c: torch.floor(c + 0.5),
    "HALF_DOWN": lambda c: torch.ceil(c - 0.5),
}


def _round(rounding: str, coords: torch.Tensor, where: str) -> torch.Tensor:
    if rounding not in _ROUNDING:
        raise InterpreterError(f"{where}: nearest rounding {rounding} is not supported")
    return _ROUNDING[rounding](coords)


def _cubic(x: torch.Tensor, axis: int, coords: torch.Tensor, size: int, a: float, exclude_outside: bool):
    """Keys' cubic convolution of ``x`` along ``axis`` at the float ``coords``."""
    low = torch.floor(coords)
    t = coords - low
    low = low.to(torch.int64)

    def weight(d: torch.Tensor) -> torch.Tensor:  # the kernel at distance 0 <= d <= 2
        near = ((a + 2) * d - (a + 3)) * d * d + 1
        far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        return torch.where(d <= 1, near, far)

    taps = [(low + k, weight((t - k).abs())) for k in (-1, 0, 1, 2)]
    if exclude_outside:
        taps = [(i, torch.where((i >= 0) & (i < size), w, 0.0)) for i, w in taps]
        total = sum(w for _, w in taps)
        taps = [(i, w / total) for i, w in taps]
    view = [1] * x.dim()
    view[axis] = coords.numel()
    out = torch.zeros(())
    for i, w in taps:
        out = out + x.index_select(axis, i.clamp(0, size - 1)) * w.reshape(view).to(x.dtype)
    return out


@register("RESIZE")
def resize(layer, inputs):
    x = inputs[0]
    where = f"resize `{layer.name}`"
    out_shape, scales = _out_shape(layer, x, inputs)
    if len(out_shape) != x.dim():
        raise InterpreterError(f"{where}: output dims {out_shape} for a rank-{x.dim()} input")
    mode = layer.resize_mode.name
    if mode not in ("NEAREST", "LINEAR", "CUBIC"):
        raise InterpreterError(f"{where}: resize mode {mode} is not supported by the reference interpreter")
    transform = layer.coordinate_transformation.name
    selector = layer.selector_for_single_pixel.name
    rounding = layer.nearest_rounding.name
    out = x
    for axis, (size, length) in enumerate(zip(x.shape, out_shape)):
        scale = scales[axis] if scales is not None else None
        if length == size and (scale is None or scale == 1.0):
            continue  # every transformation maps an unresized axis onto itself
        if size == 0:
            raise InterpreterError(f"{where}: cannot resize the empty dim {axis}")
        coords = source_coordinates(transform, selector, size, length, scale, where)
        if mode == "NEAREST":
            index = _round(rounding, coords, where).clamp(0, size - 1).to(torch.int64)
            out = out.index_select(axis, index)
            continue
        if mode == "CUBIC":
            out = _cubic(out, axis, coords, size, float(layer.cubic_coeff), bool(layer.exclude_outside))
            continue
        low = torch.floor(coords)
        frac = coords - low
        low = low.to(torch.int64)
        lo = out.index_select(axis, low.clamp(0, size - 1))
        hi = out.index_select(axis, (low + 1).clamp(0, size - 1))
        view = [1] * out.dim()
        view[axis] = length
        frac = frac.reshape(view).to(out.dtype)
        out = lo * (1 - frac) + hi * frac
    return [out]
