"""Ops netdef does not have: errors that say so and name netdef's op, or where the supported ops are listed.

Installs ``Tensor.__torch_function__`` (a netdef Tensor passed to a torch function, e.g. ``torch.sigmoid(x)``)
and ``Tensor.__getattr__`` (a torch.Tensor method netdef lacks, e.g. ``x.cumsum(0)``); the packages
``netdef.functional`` and ``netdef.nn`` answer unknown names (``F.fractional_max_pool2d``) with
:func:`missing_name_message`.
"""

from __future__ import annotations

import difflib

from netdef.errors import UnsupportedOpError
from netdef.functional.inplace import in_place_method
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
    if name.endswith("_") and name[:-1] in OPS:
        return f"netdef.Tensor has no in-place `{name}`; write x = F.{name[:-1]}(x, ...) (from netdef import F)"
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
    if name.endswith("_") and not name.endswith("__") and callable(getattr(type(self), name[:-1], None)):
        # torch's `op_` is `op` written into the tensor: the out-of-place method, then a rebind (inplace.py)
        return in_place_method(name, getattr(type(self), name[:-1])).__get__(self, type(self))
    raise UnsupportedOpError(missing_method_message(name))
