"""The table from TensorRT layer type to the function that evaluates it on CPU."""

from __future__ import annotations

from collections.abc import Callable

from netdef._trt import trt

#: handler(layer, inputs) -> outputs; ``layer`` is already cast to its concrete I*Layer class and
#: float inputs arrive as float32 (the interpreter rounds outputs to each layer's declared dtype).
Handler = Callable[[object, list], list]
HANDLERS: dict[str, tuple[type, Handler]] = {}


def register(layer_type: str, layer_class: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the semantics of ``trt.LayerType.<layer_type>`` (read as ``trt.<layer_class>``)."""

    def wrap(fn: Handler) -> Handler:
        HANDLERS[layer_type] = (getattr(trt, layer_class), fn)
        return fn

    return wrap
