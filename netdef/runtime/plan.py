"""I/O tensor specs of an engine and the checks on feeds that need no GPU."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from netdef.errors import EngineError


@dataclass(frozen=True)
class TensorSpec:
    """One engine input or output: name, dtype, shape (-1 = dynamic), and for inputs the profile's range."""

    name: str
    is_input: bool
    dtype: np.dtype
    shape: tuple[int, ...]
    min: tuple[int, ...] | None = None
    max: tuple[int, ...] | None = None


def specs_from_metadata(meta: dict) -> list[TensorSpec]:
    """Specs as recorded in the metadata sidecar at build time."""
    specs = [
        TensorSpec(
            name,
            True,
            np.dtype(info["dtype"]) if info["dtype"] != "bfloat16" else np.dtype("float32"),
            tuple(info["shape"]),
            tuple(info["min"]) if info.get("min") else None,
            tuple(info["max"]) if info.get("max") else None,
        )
        for name, info in meta["inputs"].items()
    ]
    specs += [TensorSpec(o["name"], False, np.dtype(o["dtype"]), tuple(o["shape"])) for o in meta["outputs"]]
    return specs


def check_feeds(specs: list[TensorSpec], shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Raise EngineError unless ``shapes`` gives every input a shape the engine accepts."""
    inputs = [s for s in specs if s.is_input]
    names = [s.name for s in inputs]
    missing = [n for n in names if n not in shapes]
    extra = [n for n in shapes if n not in names]
    if missing or extra:
        raise EngineError(f"the engine's inputs are {names}: missing {missing or 'none'}, unexpected {extra or 'none'}")
    for s in inputs:
        shape = tuple(shapes[s.name])
        if len(shape) != len(s.shape) or any(d >= 0 and d != v for d, v in zip(s.shape, shape)):
            raise EngineError(f"input {s.name!r} has shape {shape}; the engine was built for {s.shape}")
        if s.min is not None and s.max is not None and any(not lo <= v <= hi for lo, v, hi in zip(s.min, shape, s.max)):
            raise EngineError(
                f"input {s.name!r} has shape {shape}, outside the engine's profile min={s.min} max={s.max}; "
                "rebuild with a wider Input(min=..., max=...)"
            )


def nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
