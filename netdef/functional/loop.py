"""TensorRT loops (``INetworkDefinition.add_loop``): a trip limit, iterators, recurrences and loop outputs.

```python
loop = F.Loop(x.shape[0])                    # ITripLimitLayer COUNT: one iteration per step of x
x_t = loop.add_iterator(x)                   # IIteratorLayer: x[i] in iteration i
h = loop.add_recurrence(h0)                  # IRecurrenceLayer: h0, then the value set by set_next
h_next = F.tanh(x_t + h.value)
h.set_next(h_next)
ys = loop.add_loop_output(h_next, "concatenate")   # ILoopOutputLayer: every h_next, stacked on axis 0
h_n = loop.add_loop_output(h.value, "last_value")  # the recurrence after the last iteration
```

Layers that read an iterator's or a recurrence's output form the loop body (TensorRT runs them once per
iteration); everything else stays outside. Values leave the loop only through ``add_loop_output``.
"""

from __future__ import annotations

import numpy as np

from netdef._trt import trt
from netdef.functional._common import context_of, norm_dim, require_tensor, static_reshape, wrap
from netdef.symbolic import SymInt
from netdef.tensor import Tensor

_OUTPUTS = {
    "last_value": trt.LoopOutput.LAST_VALUE,
    "concatenate": trt.LoopOutput.CONCATENATE,
    "reverse": trt.LoopOutput.REVERSE,
}


def _count(ctx, value: int | SymInt | Tensor, what: str) -> Tensor:
    """``value`` as a 0-D int tensor (TensorRT's trip counts and concatenation lengths are 0-D)."""
    if isinstance(value, SymInt):  # a run-time size, e.g. x.shape[0] of a dynamic dim: an int64 (1,) tensor
        return static_reshape(ctx, wrap(value.itensor, ctx), (), "loop_count_scalar")
    if isinstance(value, Tensor):
        if value.dtype.name not in ("INT32", "INT64") or value.static_shape not in ((), (1,)):
            raise ctx.error("loop", f"the {what} must be a 0-D int tensor, got {value.dtype.name} {value.static_shape}")
        return value if value.ndim == 0 else static_reshape(ctx, value, (), "loop_count_scalar")
    if not isinstance(value, (int, np.integer)) or value < 0:
        raise ctx.error(
            "loop", f"the {what} must be an int >= 0, a size (x.shape[0]) or a 0-D int tensor, got {value!r}"
        )
    weights = ctx.weights(np.array(int(value), np.int64), trt.int64)
    layer = ctx.add_layer("loop_count", lambda net: net.add_constant((), weights))  # 0-D, not (1,)
    return wrap(layer.get_output(0), ctx)


class Recurrence:
    """A loop-carried value: ``value`` is its first input in iteration 0, then what ``set_next`` gave."""

    def __init__(self, layer: trt.IRecurrenceLayer, value: Tensor) -> None:
        self.layer = layer
        #: the value in the current iteration (IRecurrenceLayer's output)
        self.value = value
        self.next: Tensor | None = None

    def set_next(self, next: Tensor) -> None:
        """The value for the next iteration (IRecurrenceLayer's second input, the loop's back edge)."""
        ctx = self.value.ctx
        next = require_tensor("loop_recurrence", next, "next")
        a, b = next.static_shape, self.value.static_shape
        if next.dtype != self.value.dtype or (all(d >= 0 for d in a + b) and a != b):
            raise ctx.error(
                "loop_recurrence",
                f"the next value ({next.dtype.name} {a}) must match the recurrence's initial value "
                f"({self.value.dtype.name} {b})",
            )
        self.layer.set_input(1, next.itensor)
        self.next = next


class Loop:
    """A TensorRT loop of ``trip_count`` iterations: an int, a size (``x.shape[0]``, symbolic when the dim is
    dynamic) or a 0-D int tensor; None: add a WHILE trip limit."""

    def __init__(self, trip_count: int | SymInt | Tensor | None, name: str = "loop") -> None:
        ctx = context_of(trip_count)
        self.ctx = ctx
        self.loop = ctx.network.add_loop()
        self.loop.name = ctx.unique_name(name)
        self._op = name
        self.trip_count: Tensor | None = None
        if trip_count is not None:
            self.trip_count = _count(ctx, trip_count, "trip count")
            self.add_trip_limit(self.trip_count, "count")

    def add_trip_limit(self, limit: Tensor, kind: str = "count") -> None:
        """ITripLimitLayer: ``"count"`` (a 0-D int tensor from outside the loop) or ``"while"`` (a 0-D bool
        tensor computed in the body; an iteration runs while it is true)."""
        kinds = {"count": trt.TripLimit.COUNT, "while": trt.TripLimit.WHILE}
        if kind not in kinds:
            raise self.ctx.error(self._op, f"trip limit kind must be one of {sorted(kinds)}, got {kind!r}")
        limit = require_tensor(self._op, limit, "limit")
        want = ("INT32", "INT64") if kind == "count" else ("BOOL",)
        if limit.dtype.name not in want or limit.static_shape not in ((), (1,)):
            raise self.ctx.error(
                self._op,
                f"a {kind} trip limit must be a 0-D {' or '.join(want)} tensor, got {limit.dtype.name} "
                f"{limit.static_shape}",
            )
        if limit.ndim:  # TensorRT wants 0-D
            limit = static_reshape(self.ctx, limit, (), self._op + "_trip_limit_scalar")
        self.ctx.add_layer(self._op + "_trip_limit", lambda net: self.loop.add_trip_limit(limit.itensor, kinds[kind]))

    def add_iterator(self, input: Tensor, axis: int = 0, reverse: bool = False) -> Tensor:
        """IIteratorLayer: slice ``i`` of ``input`` along ``axis`` in iteration ``i`` (the last first with
        ``reverse``); the slice has ``input``'s shape without ``axis``."""
        input = require_tensor(self._op, input)
        axis = norm_dim(self.ctx, self._op, axis, input.ndim)
        layer = self.ctx.add_layer(
            self._op + "_iterator", lambda net: self.loop.add_iterator(input.itensor, axis, bool(reverse))
        )
        return wrap(layer.get_output(0), self.ctx)

    def add_recurrence(self, initial: Tensor) -> Recurrence:
        """IRecurrenceLayer starting at ``initial`` (from outside the loop); call ``set_next`` in the body."""
        initial = require_tensor(self._op, initial, "initial")
        layer = self.ctx.add_layer(self._op + "_recurrence", lambda net: self.loop.add_recurrence(initial.itensor))
        return Recurrence(layer, wrap(layer.get_output(0), self.ctx))

    def add_loop_output(
        self, value: Tensor, kind: str = "concatenate", axis: int = 0, length: int | SymInt | Tensor | None = None
    ) -> Tensor:
        """ILoopOutputLayer: ``"last_value"`` of a recurrence's ``value`` after the last iteration, or every
        iteration's ``value`` stacked along a new ``axis`` (``"concatenate"``, or ``"reverse"`` for the last
        iteration first) of ``length`` entries (default: the trip count)."""
        if kind not in _OUTPUTS:
            raise self.ctx.error(self._op, f"loop output kind must be one of {sorted(_OUTPUTS)}, got {kind!r}")
        value = require_tensor(self._op, value, "value")
        if kind == "last_value":
            layer = self.ctx.add_layer(
                self._op + "_output", lambda net: self.loop.add_loop_output(value.itensor, _OUTPUTS[kind])
            )
            return wrap(layer.get_output(0), self.ctx)
        if length is None:
            if self.trip_count is None:
                raise self.ctx.error(self._op, "a WHILE loop's concatenated output needs an explicit length")
            length = self.trip_count
        count = _count(self.ctx, length, "concatenation length")

        def make(net):
            layer = self.loop.add_loop_output(value.itensor, _OUTPUTS[kind], axis)
            layer.set_input(1, count.itensor)
            return layer

        return wrap(self.ctx.add_layer(self._op + "_output", make).get_output(0), self.ctx)
