"""The table from TensorRT layer type to the function that evaluates it on CPU."""

from __future__ import annotations

from collections.abc import Callable

from netdef._trt import layer_class

#: handler(layer, inputs) -> outputs; ``layer`` is already cast to its concrete I*Layer class and
#: float inputs arrive as float32 (the interpreter rounds outputs to each layer's declared dtype).
Handler = Callable[[object, list], list]
HANDLERS: dict[str, tuple[type, Handler]] = {}

#: layer type -> specialize(layer): a handler for that one layer with its attributes read once (the
#: interpreter calls it when it compiles a network's program), or None when the layer needs the general one.
#: It must return what the general handler returns, bit for bit.
SPECIALIZE: dict[str, Callable[[object], Handler | None]] = {}

#: runner(inputs, k) -> outputs computed into ``inputs[k]`` (the interpreter donates a float32 input that
#: nothing reads afterwards), or None when that input cannot hold the result (another shape) and the
#: handler must run instead. The results must equal the handler's bit for bit.
InPlace = Callable[[list, int], list | None]
#: layer type -> inplace(layer): the layer's in-place runner, or None when its operation has none
IN_PLACE: dict[str, Callable[[object], InPlace | None]] = {}


def register(layer_type: str, class_name: str | None = None) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the semantics of ``trt.LayerType.<layer_type>``; the layer arrives cast to its class
    from ``netdef._trt.layer_classes`` (``class_name``, if given, must name that class)."""
    cls = layer_class(layer_type)
    if class_name is not None and class_name != cls.__name__:
        raise ValueError(f"register({layer_type!r}, {class_name!r}): the class of {layer_type} is {cls.__name__}")

    def wrap(fn: Handler) -> Handler:
        HANDLERS[layer_type] = (cls, fn)
        return fn

    return wrap


def register_in_place(layer_type: str) -> Callable:
    """Register ``fn(layer) -> runner | None``: how a layer of ``layer_type`` computes into a donated input."""

    def wrap(fn: Callable[[object], InPlace | None]) -> Callable[[object], InPlace | None]:
        IN_PLACE[layer_type] = fn
        return fn

    return wrap


def register_specialized(layer_type: str) -> Callable:
    """Register ``fn(layer) -> handler | None``: a faster handler for one layer of ``layer_type``."""

    def wrap(fn: Callable[[object], Handler | None]) -> Callable[[object], Handler | None]:
        SPECIALIZE[layer_type] = fn
        return fn

    return wrap
