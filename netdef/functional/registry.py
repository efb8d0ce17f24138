"""The op registry: one decorator registers an op's function, its Tensor methods and its reference entry.

```python
@register_op("IActivationLayer", torch="torch.nn.functional.relu", methods="relu")
def relu(input: Tensor, inplace: bool = False) -> Tensor: ...
```

registers ``netdef.functional.relu`` (and its ``__all__`` entry), ``Tensor.relu`` and the entry
``OPS["relu"]`` from which the op reference (docs/ops.md) is written. ``functional/__init__.py``
exports whatever is registered, so adding an op to an existing family file touches no other file
(a new family file is added to the imports there). ``tests/test_architecture.py`` keeps tensor.py
free of functional imports; ``tests/functional/test_registry.py`` checks every entry.

Converting an op written the older way: put ``@register_op(...)`` above it, then delete its import and
``__all__`` entry in ``functional/__init__.py`` and its method (``name = _f(...)``) in ``tensor.py``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from netdef.tensor import MAYBE_COPY, Tensor

Fn = TypeVar("Fn", bound=Callable)


@dataclass(frozen=True)
class OpInfo:
    """The reference entry of one op of ``netdef.functional``."""

    #: name in netdef.functional
    name: str
    function: Callable
    #: the torch callable whose semantics the op follows, e.g. 'torch.nn.functional.relu'; None for ops
    #: torch has no counterpart of (a TensorRT feature such as a KV-cache update)
    torch: str | None
    #: TensorRT layer classes the op may emit (all variants together), e.g. ('IActivationLayer',)
    layers: tuple[str, ...]
    #: Tensor methods and operators that call the op with the tensor first
    methods: tuple[str, ...] = ()
    #: Tensor operators that call the op with the tensor second (``__radd__``: ``add(other, self)``)
    reflected: tuple[str, ...] = ()
    #: what torch accepts and netdef does not (one line), '' when nothing
    limits: str = ""

    @property
    def signature(self) -> str:
        """``name(arg, ...)`` as netdef spells it (the same arguments as torch's)."""
        return f"{self.name}{inspect.signature(self.function)}"

    @property
    def summary(self) -> str:
        """First line of the op's docstring."""
        return (inspect.getdoc(self.function) or "").split("\n", 1)[0]


#: name -> entry, for every op of netdef.functional (aliases such as ``clip`` have their own entry)
OPS: dict[str, OpInfo] = {}


def register_op(
    *layers: str,
    torch: str | None,
    methods: str | Sequence[str] = (),
    reflected: Sequence[str] = (),
    aliases: Sequence[str] = (),
    limits: str = "",
    view: bool | str = False,
) -> Callable[[Fn], Fn]:
    """Register the decorated function as an op of ``netdef.functional`` (see the module docstring).

    ``layers`` are the TensorRT layer classes it emits; ``torch`` the torch callable it follows (None: none);
    ``methods`` the Tensor methods/operators that call it with the tensor first, ``reflected`` those
    that call it with the tensor second; ``aliases`` further names in netdef.functional (``clip``);
    ``view`` marks the op's output as a view of its first argument, as torch's (``expand``): read after that
    argument was written in place, it is computed again; a write into it is refused; ``view="reshape"`` for
    views holding the argument's elements in their order, which a write goes through (``x.view(-1)[0] = 1``).
    """
    names = (methods,) if isinstance(methods, str) else tuple(methods)

    def register(fn: Fn) -> Fn:
        if view:
            fn = _viewing(fn, view if isinstance(view, str) else None)
        if "inplace" in inspect.signature(fn).parameters:
            fn = _writing(fn)
        _add(OpInfo(fn.__name__, fn, torch, tuple(layers), names, tuple(reflected), limits))
        for alias in aliases:
            _add(OpInfo(alias, fn, torch, tuple(layers), limits=limits))
        for method in names:
            tensor_method(method)(fn)
        for method in reflected:
            tensor_method(method)(_reflect(fn, method))
        return fn

    return register


def tensor_method(name: str) -> Callable[[Fn], Fn]:
    """Install the decorated function as ``Tensor.<name>`` (for methods that are not ops, like ``half``)."""

    def install(fn: Fn) -> Fn:
        if name in Tensor.__dict__:
            raise TypeError(f"Tensor.{name} is defined twice (in tensor.py or by another op's registration)")
        setattr(Tensor, name, fn)
        return fn

    return install


def _viewing(fn: Fn, how: str | None) -> Fn:
    """``fn`` with its output tensor(s) marked as views of its first argument (``Tensor.as_view_of``)."""

    @functools.wraps(fn)
    def op(input, *args, **kwargs):
        out = fn(input, *args, **kwargs)
        if not isinstance(input, Tensor):
            return out
        if isinstance(out, Tensor):
            kind = how
            if how == "reshape" and not input.is_contiguous():
                kind = MAYBE_COPY  # torch copies or views depending on strides: writes and stale reads refused
            return out.as_view_of(input, kind, lambda base: fn(base, *args, **kwargs))
        return out

    return op  # type: ignore[return-value]


def _writing(fn: Fn) -> Fn:
    """``fn`` that, called with ``inplace=True``, writes its result into its first argument, as torch does
    (``F.relu(x, inplace=True)`` changes ``x``): ``inplace.write``."""
    names = list(inspect.signature(fn).parameters)
    at = names.index("inplace")

    @functools.wraps(fn)
    def op(*args, **kwargs):
        out = fn(*args, **kwargs)
        inplace = kwargs.get("inplace", args[at] if len(args) > at else False)
        target = args[0] if args else kwargs.get(names[0])
        if inplace and isinstance(target, Tensor) and isinstance(out, Tensor):
            from netdef.functional.inplace import write

            return write(target, out, fn.__name__)
        return out

    return op  # type: ignore[return-value]


def _reflect(fn: Callable, name: str) -> Callable:
    def method(self, other):
        return fn(other, self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{fn.__name__}(other, self)``."
    return method


def _add(info: OpInfo) -> None:
    if info.name in OPS:
        where = inspect.getmodule(OPS[info.name].function)
        raise TypeError(f"op {info.name!r} is registered twice (first in {where.__name__ if where else '?'})")
    bad = [layer for layer in info.layers if not (layer.startswith("I") and layer.endswith("Layer"))]
    if bad:
        raise TypeError(f"op {info.name!r}: layers must be TensorRT layer classes like 'IActivationLayer', got {bad}")
    OPS[info.name] = info
