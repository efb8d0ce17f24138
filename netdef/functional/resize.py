"""Resizing (torch.nn.functional.interpolate) as one IResizeLayer.

torch's modes map onto TensorRT's coordinate transformations exactly:

- 'nearest': ASYMMETRIC coordinates rounded down (FLOOR): ``src = floor(dst * in / out)``;
- 'nearest-exact': HALF_PIXEL coordinates rounded half up: ``src = floor((dst + 0.5) * in / out)``;
- 'linear'/'bilinear'/'trilinear': HALF_PIXEL (align_corners=False) or ALIGN_CORNERS, whose single-pixel
  output reads the first pixel (UPPER selector), as torch does;
- 'bicubic': the same coordinates with CUBIC resizing, coefficient -0.75 and edge taps clamped (torch's);
- 'area': adaptive average pooling, which is what torch computes for it.

With ``scale_factor`` (and ``recompute_scale_factor`` not True) torch maps coordinates with
``1 / scale_factor``. Where that equals ``in / out`` netdef gives TensorRT the output shape; where it
does not (e.g. 1.5x of 5 pixels) it gives TensorRT the scales, as NVIDIA's ONNX parser does for torch's
exported Resize, and TensorRT samples with ``1 / scale`` (ONNX's rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from netdef._trt import trt
from netdef.functional._common import is_float, require_tensor, wrap
from netdef.functional.registry import register_op
from netdef.symbolic import SymInt, check_size, decide, size_tensor
from netdef.tensor import Tensor

_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area")


def _per_dim(ctx, op: str, value, n: int, what: str, kind) -> tuple:
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = tuple(value)
        if len(value) != n:
            raise ctx.error(op, f"{what} {value} must have {n} entries, one per spatial dim of the input")
        return tuple(kind(v) for v in value)
    return (kind(value),) * n


#: what interpolate may emit: the resize, and the output shape computed from a dynamic input's
_LAYERS = (
    "IConcatenationLayer",
    "IConstantLayer",
    "IElementWiseLayer",
    "IGatherLayer",
    "IReduceLayer",
    "IResizeLayer",
    "IShapeLayer",
    "ISliceLayer",
)


@register_op(*_LAYERS, torch="torch.nn.functional.interpolate")
def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims (all after N, C) to ``size`` or by ``scale_factor``, as torch."""
    op = "interpolate"
    input = require_tensor(op, input)
    ctx = input.ctx
    if mode not in MODES:
        raise ctx.error(op, f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not is_float(input) or not 3 <= input.ndim <= 5:
        raise ctx.error(
            op, f"expected a float 3-D to 5-D (N, C, ...) input, got {input.dtype.name} {input.static_shape}"
        )
    n = input.ndim - 2
    linear = mode in _RANK
    if align_corners is not None and not linear:
        raise ctx.error(op, f"align_corners can only be set with linear, bilinear, bicubic or trilinear, not {mode!r}")
    if linear and input.ndim != _RANK[mode]:
        raise ctx.error(op, f"mode={mode!r} needs a {_RANK[mode]}-D input, got shape {input.static_shape}")
    if antialias:
        raise ctx.error(op, "antialias=True is not supported: TensorRT's resize does not low-pass filter")
    if (size is None) == (scale_factor is None):
        raise ctx.error(op, "give exactly one of size and scale_factor")
    if size is not None and recompute_scale_factor:
        raise ctx.error(op, "recompute_scale_factor=True is only meaningful with scale_factor")
    spatial = input.static_shape[2:]
    if size is not None:
        out = _per_dim(ctx, op, size, n, "size", lambda v: check_size(ctx, op, v, "size"))
        scales = None
    else:
        scales = _per_dim(ctx, op, scale_factor, n, "scale_factor", float)
        if any(s <= 0 for s in scales):
            raise ctx.error(op, f"scale_factor {scales} must be positive")
        out = tuple(-1 if d < 0 else math.floor(d * s) for d, s in zip(spatial, scales))
    empty = any(decide("<=", o, 0) for o, d in zip(out, spatial) if size is not None or d >= 0)
    if empty:
        raise ctx.error(op, f"the output size {out} of input {input.static_shape} would be empty")
    symbolic = any(isinstance(o, SymInt) for o in out)
    if mode == "area":
        if any(d < 0 for d in spatial) or n == 3 or symbolic:
            raise ctx.error(op, "mode='area' needs a 3-D or 4-D input with static spatial dims and sizes")
        from netdef.functional import pooling

        pool = pooling.adaptive_avg_pool1d if n == 1 else pooling.adaptive_avg_pool2d
        return pool(input, out[0] if n == 1 else out)
    corners = bool(align_corners) and linear
    # does the torch coordinate ratio come from scale_factor (1 / s) rather than in / out?
    by_scale = scales is not None and not recompute_scale_factor and not corners
    static = all(d >= 0 for d in input.static_shape)
    fractional = by_scale and any(d >= 0 and Fraction(o, d) != Fraction(s) for d, o, s in zip(spatial, out, scales))
    layer_scales = out_shape = None
    if (symbolic or not static) and (size is not None or (all(d >= 0 for d in spatial) and not fractional)):
        # the output shape as a tensor: the input's run-time N, C and the sizes (torch maps in / out with size=)
        out_shape = size_tensor(ctx, [*input.shape[:2], *out], op)
    elif not static or fractional:
        layer_scales = _layer_scales(ctx, op, input, out, scales, by_scale)

    def make(net):
        layer = net.add_resize(input.itensor)
        if out_shape is not None:
            layer.set_input(1, out_shape)
        elif layer_scales is not None:
            layer.scales = layer_scales
        else:
            layer.shape = tuple(input.static_shape[:2]) + tuple(out)
        if mode in ("nearest", "nearest-exact"):
            layer.resize_mode = trt.InterpolationMode.NEAREST
            exact = mode == "nearest-exact"
            layer.coordinate_transformation = (
                trt.ResizeCoordinateTransformation.HALF_PIXEL
                if exact
                else trt.ResizeCoordinateTransformation.ASYMMETRIC
            )
            layer.nearest_rounding = trt.ResizeRoundMode.HALF_UP if exact else trt.ResizeRoundMode.FLOOR
            layer.selector_for_single_pixel = trt.ResizeSelector.FORMULA
        else:
            if mode == "bicubic":  # torch's Keys kernel (A = -0.75), edge taps clamped, not dropped
                layer.resize_mode = trt.InterpolationMode.CUBIC
                layer.cubic_coeff = -0.75
                layer.exclude_outside = False
            else:
                layer.resize_mode = trt.InterpolationMode.LINEAR
            if corners:
                layer.coordinate_transformation = trt.ResizeCoordinateTransformation.ALIGN_CORNERS
                layer.selector_for_single_pixel = trt.ResizeSelector.UPPER
            else:
                layer.coordinate_transformation = trt.ResizeCoordinateTransformation.HALF_PIXEL
                layer.selector_for_single_pixel = trt.ResizeSelector.FORMULA
        return layer

    return wrap(ctx.add_layer(op, make).get_output(0), ctx)


def _layer_scales(ctx, op: str, input: Tensor, out: tuple[int, ...], scales, by_scale: bool) -> list[float]:
    """TensorRT scales: scale_factor where torch samples with 1 / scale_factor (``by_scale``), else exact out / in.

    TensorRT sizes each dim as floor(in * float32 scale): checked against torch's size for static dims; a
    dynamic dim needs an integer scale_factor, the one scale that sizes every length as torch does.
    """
    spatial = input.static_shape[2:]
    result = [1.0, 1.0]
    for i, (d, o) in enumerate(zip(spatial, out)):
        dim = 2 + i
        if d < 0:
            s = scales[i] if scales is not None else None
            if s is None or not float(s).is_integer():
                raise ctx.error(
                    op,
                    f"dim {dim} of input {input.static_shape} is dynamic: resize it with an integer scale_factor "
                    "(a size, or a fractional scale, needs static spatial dims)",
                )
            result.append(float(s))
            continue
        s = np.float32(scales[i]) if by_scale else np.float32(o / d)
        if not by_scale and Fraction(float(s)) != Fraction(o, d):
            raise ctx.error(
                op,
                f"input {input.static_shape} has dynamic dims, so TensorRT gets float scales, and the ratio {o}/{d} of "
                f"dim {dim} has no exact float32 value; use static input dims or a size with an exact ratio",
            )
        if math.floor(d * float(s)) != o:  # TensorRT's own sizing (float32 scale, exact product)
            raise ctx.error(
                op,
                f"TensorRT would size dim {dim} as floor({d} x {float(s)!r}) = "
                f"{math.floor(d * float(s))}, torch as {o}; pass size=... instead",
            )
        result.append(float(s))
    return result


@register_op(*_LAYERS, torch="torch.nn.functional.upsample")
def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """torch.nn.functional.upsample (interpolate under its old name)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


@register_op(*_LAYERS, torch="torch.nn.functional.upsample_nearest")
def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Nearest-neighbour upsampling (interpolate with mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


@register_op(*_LAYERS, torch="torch.nn.functional.upsample_bilinear")
def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Bilinear upsampling with align_corners=True (torch.nn.functional.upsample_bilinear)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
