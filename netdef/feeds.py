"""What a network input accepts: one set of rules for the reference interpreter and the engine runtime.

A feed is a numpy array or a torch tensor. A float feed converts to a float input of another precision and
an integer feed to an integer input of another width, as long as every value fits (a float64 1e300 into a
float32 input, or an int64 2**32 + 1 into an int32 input, is refused rather than made inf or wrapped); a
float never converts to an integer input or back, and bool only feeds bool.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from netdef.errors import ArgumentError, NetdefError
from netdef.numeric import convert, dtype_kind


def check_mapping(feeds, caller: str) -> Mapping:
    """``feeds`` itself when it maps input names to values; ArgumentError naming ``caller`` otherwise."""
    if not isinstance(feeds, Mapping):
        raise ArgumentError(
            f"{caller}: feeds must map input names to arrays, e.g. {{'x': array}}, got {type(feeds).__name__}"
        )
    return feeds


def dtype_name(value) -> str:
    """A feed's dtype as numpy names it ('float32', 'bfloat16', 'int64' ...)."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return str(np.asarray(value).dtype)
    text = str(dtype)
    return text.removeprefix("torch.") if text.startswith("torch.") else str(np.dtype(dtype))


def needs_conversion(name: str, got: str, want: str, error: type[NetdefError], target: str) -> bool:
    """Whether a feed of dtype ``got`` must convert to the input's ``want``; ``error`` when it may not."""
    if got == want:
        return False
    kind = dtype_kind(got)
    if kind and kind in "fi" and kind == dtype_kind(want):
        return True
    hint = "" if dtype_kind(got) == "" else f" (convert it first, e.g. array.astype('{want}'))"
    if kind == "f" and dtype_kind(want) in "ib":
        hint = (
            f" (ids and indices are whole numbers: feed them as ints; astype('{want}') would truncate 2.7 to 2, so "
            "check np.all(array == np.round(array)) first)"
        )
    raise error(f"input {name!r} is {got}; the {target} expects {want}{hint}")


def convert_array(name: str, array: np.ndarray, want, error: type[NetdefError], target: str) -> np.ndarray:
    """A numpy feed in the input's dtype ``want``, refusing values it cannot hold."""
    want = np.dtype(want)
    if not needs_conversion(name, dtype_name(array), str(want), error, target):
        return array
    converted, problem = convert(array, want)
    if problem:
        raise error(f"input {name!r} ({array.dtype}): {problem}; the {target} expects {want}")
    return converted


def check_torch_values(name: str, tensor, converted, error: type[NetdefError], target: str) -> None:
    """Refuse a torch feed whose values did not survive its conversion to ``converted``'s dtype."""
    import torch

    if not tensor.numel():
        return
    want = str(converted.dtype).removeprefix("torch.")
    if converted.is_floating_point():
        bad = torch.isfinite(tensor) & ~torch.isfinite(converted)
        if bool(bad.any()):
            worst = float(tensor[bad].abs().max())
            top = float(torch.finfo(converted.dtype).max)
            problem = f"a value of {worst:.4g} is beyond {want}'s range (±{top:.6g}) and would become inf"
            raise error(f"input {name!r} ({str(tensor.dtype).removeprefix('torch.')}): {problem}")
        nonzero = tensor != 0
        if tensor.is_floating_point() and bool(nonzero.any()) and not bool(converted[nonzero].any()):
            worst = float(tensor[nonzero].abs().max())
            tiny = float(torch.finfo(converted.dtype).smallest_normal) * float(torch.finfo(converted.dtype).eps)
            problem = (
                f"every nonzero value would become 0 (the largest, {worst:.4g}, is below {want}'s smallest, {tiny:.3g})"
            )
            raise error(f"input {name!r} ({str(tensor.dtype).removeprefix('torch.')}): {problem}")
    else:
        info = torch.iinfo(converted.dtype)
        lo, hi = int(tensor.min()), int(tensor.max())
        if lo < info.min or hi > info.max:
            worst = hi if hi > info.max else lo
            problem = f"a value of {worst} is outside {want}'s range [{info.min}, {info.max}] and would wrap"
            raise error(f"input {name!r} ({str(tensor.dtype).removeprefix('torch.')}): {problem}")
