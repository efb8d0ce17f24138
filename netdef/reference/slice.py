"""ISliceLayer semantics: start/size/stride (attributes or tensors 1..3), axes, and every SampleMode.

For each sliced axis, output index ``i`` reads input coordinate ``start + i * stride``. Coordinates are
used as they are (a negative start is not counted from the end); one outside ``[0, n)`` is handled by
the layer's mode: STRICT_BOUNDS (an error), WRAP (modulo n), CLAMP (to the edge), FILL (the value of
input 4, zero without it) or REFLECT (mirrored about the edge elements, repeating: ... 2 1 | 0 1 2 | 1 0 ...).
Axes not named by ``axes`` are copied whole.
"""

from __future__ import annotations

import torch

from netdef.errors import InterpreterError
from netdef.reference._registry import Handler, register, register_specialized


def _param(layer, inputs: list, index: int, attr: str) -> list[int] | None:
    """A slice parameter from input ``index`` when present, else from the layer attribute ``attr``."""
    if len(inputs) > index and inputs[index] is not None:
        return [int(v) for v in inputs[index].reshape(-1).tolist()]
    value = getattr(layer, attr, None)
    return None if value is None else [int(v) for v in value]


def _axes(axes: list[int] | None, rank: int) -> list[int] | None:
    """The sliced axes, negative ones counted from the end (all of them when None); None if not distinct dims."""
    if axes is None:
        return list(range(rank))
    axes = [a % rank if -rank <= a < rank else a for a in axes]
    return axes if all(0 <= a < rank for a in axes) and len(set(axes)) == len(axes) else None


def source_coordinates(mode: str, coords: torch.Tensor, n: int, where: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(in-bounds coordinates, validity mask or None) for ``coords`` along an axis of length ``n``."""
    if coords.numel() == 0:
        return coords, None
    if mode == "FILL":
        valid = (coords >= 0) & (coords < n)
        return coords.clamp(0, max(n - 1, 0)), valid
    if n == 0:
        raise InterpreterError(f"{where}: {mode} slicing cannot read from an empty axis")
    if mode == "STRICT_BOUNDS":
        bad = (coords < 0) | (coords >= n)
        if bool(bad.any()):
            first = int(coords[bad][0])
            raise InterpreterError(f"{where}: coordinate {first} is outside [0, {n}) with SampleMode.STRICT_BOUNDS")
        return coords, None
    if mode == "WRAP":
        return torch.remainder(coords, n), None
    if mode == "CLAMP":
        return coords.clamp(0, n - 1), None
    if mode == "REFLECT":
        if n == 1:
            return torch.zeros_like(coords), None
        period = 2 * (n - 1)
        c = torch.remainder(coords, period)
        return torch.where(c >= n, period - c, c), None
    raise InterpreterError(f"{where}: slice mode {mode} is not supported by the reference interpreter")


@register("SLICE")
def slice_layer(layer, inputs):
    x = inputs[0]
    rank = x.dim()
    start = _param(layer, inputs, 1, "start")
    size = _param(layer, inputs, 2, "shape")
    stride = _param(layer, inputs, 3, "stride")
    axes = _param(layer, inputs, 5, "axes")
    where = f"slice `{layer.name}`"
    given, axes = axes, _axes(axes, rank)
    if axes is None:
        raise InterpreterError(f"{where}: axes {given} are not distinct dims of a rank-{rank} input")
    if size is None:  # only the declared output shape is known (e.g. a size that TensorRT folded)
        size = [int(d) for d in layer.get_output(0).shape]
        size = [size[a] for a in axes]
    if stride is None:
        stride = [1] * len(axes)
    if start is None:
        start = [0] * len(axes)
    if not len(start) == len(size) == len(stride) == len(axes):
        raise InterpreterError(
            f"{where}: start {start}, size {size}, stride {stride} and axes {axes} must have one entry per axis"
        )
    if any(s < 0 for s in size):
        raise InterpreterError(f"{where}: size {size} has a negative entry")
    mode = layer.mode.name
    fill = None
    if mode == "FILL":
        fill = inputs[4].reshape(-1)[0] if len(inputs) > 4 and inputs[4] is not None else 0
    mask = None
    out = x
    for axis, b, s, st in zip(axes, start, size, stride):
        n = x.shape[axis]
        coords = b + torch.arange(s, dtype=torch.int64) * st
        coords, valid = source_coordinates(mode, coords, n, where)
        if n == 0:  # FILL from an empty axis: every element is the fill value
            shape = list(out.shape)
            shape[axis] = s
            out = torch.zeros(shape, dtype=x.dtype)
        else:
            out = out.index_select(axis, coords)
        if valid is not None:
            view = [1] * rank
            view[axis] = s
            valid = valid.reshape(view)
            mask = valid if mask is None else mask & valid
    if mask is not None:
        out = torch.where(mask, out, torch.as_tensor(fill, dtype=out.dtype))
    return [out]


@register_specialized("SLICE")
def slice_specialized(layer) -> Handler | None:
    """A slice with static start, size, stride and axes, and positive strides: basic indexing whenever every
    coordinate is in bounds (then each mode reads the same elements), ``slice_layer`` otherwise."""
    if any(layer.get_input(i) is not None for i in range(1, layer.num_inputs)):
        return None
    rank = len(layer.get_input(0).shape)
    start, size, stride = (_param(layer, [], 0, attr) for attr in ("start", "shape", "stride"))
    axes = _axes(_param(layer, [], 0, "axes"), rank)
    if axes is None or start is None or size is None or stride is None:
        return None
    if not len(start) == len(size) == len(stride) == len(axes):
        return None
    if any(b < 0 for b in start) or any(s <= 0 for s in size) or any(st <= 0 for st in stride):
        return None
    index = [slice(None)] * rank
    ends = []
    for axis, b, s, st in zip(axes, start, size, stride):
        last = b + (s - 1) * st
        index[axis] = slice(b, last + 1, st)
        ends.append((axis, last))
    index = tuple(index)

    def run(layer, inputs):
        x = inputs[0]
        if all(last < x.shape[axis] for axis, last in ends):
            return [x[index]]
        return slice_layer(layer, inputs)

    return run
