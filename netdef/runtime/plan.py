"""I/O tensor specs of an engine, and everything decided before the GPU is touched: the checks on feeds,
the optimization profile that holds the shapes, and the buffers a run needs (names, shapes, dtypes, bytes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from netdef.errors import EngineError
from netdef.runtime.metadata import check_io_metadata

#: device addresses handed to TensorRT are aligned to this many bytes
ALIGNMENT = 256

Shape = tuple[int, ...]


def numpy_dtype(name: str | np.dtype) -> np.dtype:
    """The numpy dtype of a name netdef writes into metadata ('float32', 'float16', 'bfloat16', 'int32', ...)."""
    if str(name) == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


@dataclass(frozen=True)
class TensorSpec:
    """One engine input or output: name, dtype, shape (-1 = dynamic); for dynamic inputs the optimization
    profiles as (min, opt, max) triples, ``min``/``max`` being profile 0's."""

    name: str
    is_input: bool
    dtype: np.dtype
    shape: Shape
    min: Shape | None = None
    max: Shape | None = None
    profiles: tuple[tuple[Shape, Shape, Shape], ...] = ()

    @property
    def is_dynamic(self) -> bool:
        return any(d < 0 for d in self.shape)

    @property
    def ranges(self) -> list[tuple[Shape, Shape]]:
        """(min, max) per optimization profile; empty for a static tensor."""
        if self.profiles:
            return [(lo, hi) for lo, _, hi in self.profiles]
        if self.min is not None and self.max is not None:
            return [(self.min, self.max)]
        return []

    def matches(self, shape: Shape) -> bool:
        """Same rank, and equal wherever the engine's shape is static."""
        return len(shape) == len(self.shape) and all(d < 0 or d == v for d, v in zip(self.shape, shape))


def _triple(info: dict, key: str) -> Shape | None:
    value = info.get(key)
    return tuple(value) if value else None


def specs_from_metadata(meta: dict, where: str = "the engine metadata") -> list[TensorSpec]:
    """Specs as recorded in the metadata sidecar at build time (every optimization profile included).

    EngineError naming ``where``, the key and the fix if the metadata lacks them or has them malformed.
    """
    check_io_metadata(meta, where)
    specs = []
    for name, info in meta["inputs"].items():
        lo, opt, hi = _triple(info, "min"), _triple(info, "opt"), _triple(info, "max")
        profiles = ()
        if lo is not None and hi is not None:
            first = (lo, opt or hi, hi)
            extra = tuple(tuple(tuple(s) for s in p) for p in info.get("profiles") or ())
            profiles = (first, *extra)
        specs.append(TensorSpec(name, True, numpy_dtype(info["dtype"]), tuple(info["shape"]), lo, hi, profiles))
    specs += [TensorSpec(o["name"], False, numpy_dtype(o["dtype"]), tuple(o["shape"])) for o in meta["outputs"]]
    return specs


def profile_count(specs: list[TensorSpec]) -> int:
    """How many optimization profiles the engine has (1 for a static engine)."""
    return max((len(s.ranges) for s in specs if s.is_input), default=0) or 1


def _inside(shape: Shape, lo: Shape, hi: Shape) -> bool:
    return all(a <= v <= b for a, v, b in zip(lo, shape, hi))


def select_profile(specs: list[TensorSpec], shapes: Mapping[str, Shape]) -> int:
    """The first optimization profile whose ranges hold every dynamic input's shape.

    Raise EngineError naming each profile's ranges when none does. Assumes ``check_feeds``' rank and static-dim
    checks passed.
    """
    dynamic = [s for s in specs if s.is_input and s.ranges]
    if not dynamic:
        return 0
    for k in range(profile_count(specs)):
        if all(k < len(s.ranges) and _inside(tuple(shapes[s.name]), *s.ranges[k]) for s in dynamic):
            return k
    got = ", ".join(f"{s.name} {tuple(shapes[s.name])}" for s in dynamic)
    if profile_count(specs) == 1:
        s = next(s for s in dynamic if not _inside(tuple(shapes[s.name]), *s.ranges[0]))
        lo, hi = s.ranges[0]
        raise EngineError(
            f"input {s.name!r} has shape {tuple(shapes[s.name])}, outside the engine's profile min={lo} max={hi}; "
            "rebuild with a wider Input(min=..., max=...)"
        )
    listed = "; ".join(
        f"profile {k}: " + ", ".join(f"{s.name} min={s.ranges[k][0]} max={s.ranges[k][1]}" for s in dynamic)
        for k in range(profile_count(specs))
    )
    raise EngineError(
        f"no optimization profile of the engine holds the shapes {got} ({listed}); "
        "rebuild with a profile that covers them (Input(profiles=...))"
    )


def check_feeds(specs: list[TensorSpec], shapes: Mapping[str, Shape]) -> int:
    """Raise EngineError unless ``shapes`` gives every input a shape the engine accepts; returns the index of
    the optimization profile that holds them."""
    inputs = [s for s in specs if s.is_input]
    names = [s.name for s in inputs]
    missing = [n for n in names if n not in shapes]
    extra = [n for n in shapes if n not in names]
    if missing or extra:
        raise EngineError(
            f"the engine's inputs are {names}: missing {missing or 'none'}, unexpected {extra or 'none'}; "
            "feed one array per input, keyed by its name"
        )
    for s in inputs:
        shape = tuple(shapes[s.name])
        if not s.matches(shape):
            raise EngineError(f"input {s.name!r} has shape {shape}; the engine was built for {s.shape}")
    return select_profile(specs, shapes)


def nbytes(shape: Shape, dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def aligned(size: int, alignment: int = ALIGNMENT) -> int:
    """``size`` rounded up to a multiple of ``alignment`` (at least one multiple: TensorRT wants non-null addresses)."""
    return max(-(-int(size) // alignment), 1) * alignment


@dataclass(frozen=True)
class BufferSlot:
    """One tensor's buffer for a run: its shape, dtype and bytes (``shape`` None: known only after the run)."""

    name: str
    is_input: bool
    dtype: np.dtype
    shape: Shape | None

    @property
    def nbytes(self) -> int | None:
        return None if self.shape is None else nbytes(self.shape, self.dtype)

    @property
    def capacity(self) -> int | None:
        """Bytes to allocate: ``nbytes`` aligned (None for a data-dependent output)."""
        return None if self.shape is None else aligned(nbytes(self.shape, self.dtype))


@dataclass(frozen=True)
class BufferPlan:
    """What one run needs: the optimization profile, and a slot per input and output."""

    profile: int
    slots: dict[str, BufferSlot]

    @property
    def inputs(self) -> list[BufferSlot]:
        return [s for s in self.slots.values() if s.is_input]

    @property
    def outputs(self) -> list[BufferSlot]:
        return [s for s in self.slots.values() if not s.is_input]

    @property
    def deferred(self) -> list[str]:
        """Outputs whose shapes depend on the data: TensorRT sizes them during the run (an output allocator)."""
        return [s.name for s in self.outputs if s.shape is None]

    @property
    def device_bytes(self) -> int:
        """Device bytes of every buffer whose size is known before the run."""
        return sum(s.capacity for s in self.slots.values() if s.capacity is not None)


def plan_buffers(
    specs: list[TensorSpec], shapes: Mapping[str, Shape], output_shapes: Mapping[str, Shape] | None = None
) -> BufferPlan:
    """The buffers of a run with input ``shapes``: checked against the engine, profile chosen.

    ``output_shapes`` are the shapes TensorRT reports once the input shapes are set (``get_tensor_shape``);
    without them the specs' shapes are used. An output with a dynamic dim left is data-dependent: its slot has
    no shape, and it is allocated during the run.
    """
    profile = check_feeds(specs, shapes)
    output_shapes = output_shapes or {}
    slots = {}
    for s in specs:
        if s.is_input:
            shape = tuple(int(d) for d in shapes[s.name])
        else:
            shape = tuple(int(d) for d in output_shapes.get(s.name, s.shape))
            if len(shape) != len(s.shape) or not s.matches(shape):
                raise EngineError(f"output {s.name!r} was reported with shape {shape}; the engine says {s.shape}")
            if any(d < 0 for d in shape):
                shape = None
        slots[s.name] = BufferSlot(s.name, s.is_input, s.dtype, shape)
    return BufferPlan(profile, slots)


def is_static(specs: list[TensorSpec]) -> bool:
    """Every input and output shape is fixed: what replaying a captured CUDA graph needs."""
    return not any(s.is_dynamic for s in specs)
