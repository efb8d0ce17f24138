"""Checked dtype conversion: values that a target dtype cannot hold are reported, never wrapped or made inf.

Shared by weight binding, weight emission and feeds (reference interpreter and engine runtime), so every
path refuses the same values.
"""

from __future__ import annotations

import numpy as np

FLOATS = ("float64", "float32", "float16", "bfloat16")


def dtype_kind(name: str) -> str:
    """'f' (float, bfloat16 included), 'i' (signed or unsigned integer), 'b' (bool), or '' for anything else."""
    if name in FLOATS:
        return "f"
    if name.startswith(("int", "uint")):
        return "i"
    return "b" if name == "bool" else ""


def convert(array: np.ndarray, dtype) -> tuple[np.ndarray, str | None]:
    """``array`` cast to ``dtype``, and None, or a clause on a value ``dtype`` cannot hold ('a value of ...').

    Integers outside an integer dtype's range would wrap; finite numbers beyond a float dtype's range
    would become inf; an array whose every nonzero value is too small for a float dtype would become all
    zeros (a scalar 1e-8 in float16 is 0: the op it feeds silently returns zeros). Rounding to a narrower
    float otherwise (precision loss, some values flushed to zero) is not reported: that is what a lower
    precision means. The caller decides whether a reported problem is an error.
    """
    array = np.asarray(array)
    target = np.dtype(dtype)
    if array.dtype == target:
        return array, None
    if target.kind in "iu" and array.dtype.kind in "iub" and array.size:
        info = np.iinfo(target)
        lo, hi = int(array.min()), int(array.max())
        if lo < info.min or hi > info.max:
            worst = hi if hi > info.max else lo
            return array, f"a value of {worst} is outside {target.name}'s range [{info.min}, {info.max}] and would wrap"
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(target)
    if converted.dtype.kind in "fV" and array.dtype.kind in "fiu" and array.size:  # ml_dtypes' bfloat16 is 'V'
        as_float = converted if converted.dtype.kind == "f" else converted.astype(np.float32)
        nonzero = array != 0
        if array.dtype.kind == "f" and nonzero.any() and not np.any(as_float[nonzero]):
            worst = float(np.abs(array[nonzero]).max())
            return (
                converted,
                f"every nonzero value would become 0 (the largest, {worst:.4g}, is below {target.name}'s "
                f"smallest, {_float_tiny(target):.3g})",
            )
        inf = np.isinf(as_float)
        overflow = inf & np.isfinite(array) if inf.any() else None
        if overflow is not None and overflow.any():
            worst = float(np.abs(array[overflow]).max())
            top = _float_max(target)
            return (
                converted,
                f"a value of {worst:.4g} is beyond {target.name}'s range (±{top:.6g}) and would become inf",
            )
    return converted, None


def _float_max(dtype: np.dtype) -> float:
    try:
        return float(np.finfo(dtype).max)
    except (TypeError, ValueError):  # ml_dtypes types have their own finfo
        import ml_dtypes

        return float(ml_dtypes.finfo(dtype).max)


def _float_tiny(dtype: np.dtype) -> float:
    """The smallest positive (subnormal) value of a float dtype."""
    try:
        return float(np.finfo(dtype).smallest_subnormal)
    except (TypeError, ValueError):
        import ml_dtypes

        return float(ml_dtypes.finfo(dtype).smallest_subnormal)
