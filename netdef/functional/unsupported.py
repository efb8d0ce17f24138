"""Ops netdef does not have: errors that say so and name netdef's op, or where the supported ops are listed.

Installs ``Tensor.__torch_function__`` (a netdef Tensor passed to a torch function, e.g. ``torch.sigmoid(x)``)
and ``Tensor.__getattr__`` (a torch.Tensor method netdef lacks, e.g. ``x.cumsum(0)``); the packages
``netdef.functional`` and ``netdef.nn`` answer unknown names (``F.pixel_shuffle``) with
:func:`missing_name_message`.
"""

from __future__ import annotations

import difflib

from netdef.errors import UnsupportedOpError
from netdef.functional.registry import OPS, tensor_method
from netdef.tensor import Tensor

#: where the supported ops are listed, for error messages
SUPPORTED_OPS = "the supported ops are listed in docs/ops.md and netdef.functional.__all__"


def missing_name_message(package: str, name: str, available: list[str]) -> str:
    """Why ``<package>.<name>`` (netdef.functional, netdef.nn) does not exist, with the closest names ``available``."""
    close = difflib.get_close_matches(name, available, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    listed = SUPPORTED_OPS if package == "netdef.functional" else f"the supported ones are listed in {package}.__all__"
    return f"{package} has no `{name}`: it is not supported yet ({listed}){hint}"


def torch_function_message(func) -> str:
    """What to call instead of the torch function ``func`` that a netdef Tensor reached."""
    name = getattr(func, "__name__", str(func))
    module = (getattr(func, "__module__", None) or "torch").replace("torch._C._nn", "torch.nn.functional")
    qualified = f"{module}.{name}"
    ours = [info for info in OPS.values() if info.torch == qualified or info.torch.rsplit(".", 1)[-1] == name]
    if ours:
        info = ours[0]
        method = f" or x.{name}(...)" if name in info.methods else ""
        fix = f"use netdef's op instead: F.{info.name}(...) (from netdef import F){method}"
    elif hasattr(Tensor, name):
        fix = f"use the netdef.Tensor method instead: x.{name}(...)"
    else:
        fix = f"netdef has no `{name}` op yet; {SUPPORTED_OPS}"
    return f"{qualified} was called on a netdef.Tensor, which torch cannot compute with; {fix}"


def missing_method_message(name: str) -> str:
    """Why ``Tensor.<name>`` does not exist, and what to call instead."""
    if name in OPS:
        return f"netdef.Tensor has no method `{name}`; call it as a function: F.{name}(x, ...) (from netdef import F)"
    if name.endswith("_") and (hasattr(Tensor, name[:-1]) or name[:-1] in OPS):
        return f"netdef.Tensor has no in-place `{name}`: a network has no in-place ops; use y = x.{name[:-1]}(...)"
    close = difflib.get_close_matches(name, [n for n in dir(Tensor) if not n.startswith("_")], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"netdef.Tensor has no method `{name}`: the op is not supported yet ({SUPPORTED_OPS}){hint}"


def _first_tensor(values) -> Tensor | None:
    for v in values:
        if isinstance(v, Tensor):
            return v
        if isinstance(v, (list, tuple)):
            found = _first_tensor(v)
            if found is not None:
                return found
    return None


@tensor_method("__torch_function__")
@classmethod
def _torch_function(cls, func, types, args=(), kwargs=None):
    """A netdef Tensor reached a torch function (``torch.sigmoid(x)``): say which netdef op to call."""
    found = _first_tensor([*args, *(kwargs or {}).values()])
    where = f"{found.ctx.where()}: " if found is not None else ""
    raise UnsupportedOpError(where + torch_function_message(func))


@tensor_method("__getattr__")
def _getattr(self, name: str):
    """Only reached when normal lookup fails: a torch.Tensor method netdef does not have."""
    if name.startswith("_") or name in Tensor.__slots__:
        raise AttributeError(f"'netdef.Tensor' object has no attribute {name!r}")
    if hasattr(type(self), name):  # a property that raised AttributeError itself: let its own error surface
        return object.__getattribute__(self, name)
    raise UnsupportedOpError(missing_method_message(name))


#: augmented assignments torch computes in place, and the operator netdef computes instead
_IN_PLACE_OPERATORS = {
    "__iadd__": "+", "__isub__": "-", "__imul__": "*", "__itruediv__": "/", "__ipow__": "**", "__imatmul__": "@",
    "__iand__": "&", "__ior__": "|", "__ixor__": "^", "__ifloordiv__": "//", "__imod__": "%",
}  # fmt: skip


def _in_place_operator(name: str, symbol: str):
    def refuse(self, other):
        raise UnsupportedOpError(
            f"{self.ctx.where()}: `x {symbol}= ...` on the tensor `{self.name}` writes in place in torch, so every "
            f"alias and view of it sees the new values; a network has no in-place writes and netdef cannot tell "
            f"whether one is read later: write `x = x {symbol} ...` (and recompute any alias or view read after it)"
        )

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"Refused: ``x {symbol}= y`` is an in-place write in torch (write ``x = x {symbol} y``)."
    return refuse


for _name, _symbol in _IN_PLACE_OPERATORS.items():
    tensor_method(_name)(_in_place_operator(_name, _symbol))


@tensor_method("__setitem__")
def _setitem(self, index, value) -> None:
    """Refused: ``x[i] = v`` is an in-place write in torch."""
    raise UnsupportedOpError(
        f"{self.ctx.where()}: `x[...] = value` on the tensor `{self.name}` writes in place in torch; a network has "
        "no in-place writes: build the new tensor instead, e.g. `x = x.masked_fill(mask, value)`, "
        "`x = F.where(mask, value, x)` or `F.cat` of the slices"
    )
