"""Module and Parameter: torch-like containers of named weights whose forward emits layers."""

from __future__ import annotations

import math
import os
import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from netdef import functional as F
from netdef._trt import trt
from netdef.context import current, library_code
from netdef.errors import ArgumentError, BindError, EmitError
from netdef.numeric import convert
from netdef.tensor import Tensor
from netdef.weights import load_weights_file, rename_weights
from netdef.weights.registry import caller_may_write, freeze_weights, is_float_dtype, stored_array

__all__ = ["BindReport", "Module", "Parameter"]


class Parameter:
    """A named weight slot of known shape; ``data`` is None until weights are bound.

    ``dtype`` is the dtype the slot holds; a float weight that it holds exactly (fp16/bf16/fp8 in a float32 slot)
    is bound in its stored dtype, often a read-only view of a memory-mapped file (``Module.load_weights``).
    """

    __slots__ = ("data", "dtype", "shape")

    def __init__(self, *shape: int, dtype: str = "float32") -> None:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        self.shape: tuple[int, ...] = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.data: np.ndarray | None = None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self.data is None:
            raise EmitError(f"parameter of shape {self.shape} has no data: bind weights with load_weights first")
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        state = "bound" if self.data is not None else "unbound"
        return f"Parameter(shape={self.shape}, dtype={self.dtype.name}, {state})"

    # -- inside forward, a Parameter (or buffer) is a tensor, as in torch ----------------------------
    def __netdef_tensor__(self) -> Tensor:
        """This weight as a constant layer of the network being defined (one per network and precision)."""
        ctx = current()
        key = (id(self), ctx.compute_dtype)
        hit = ctx.parameter_tensors.get(key)
        if hit is None or hit[0] is not self:
            hit = ctx.parameter_tensors[key] = (self, F.as_tensor(self))
        return hit[1]

    def __getattr__(self, name: str):
        # torch.Tensor methods (view, expand, transpose, t, ...) act on the constant; dunders are not forwarded
        if name.startswith("_") or not hasattr(Tensor, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        try:
            tensor = self.__netdef_tensor__()
        except EmitError as exc:  # outside define(): no network to put the constant in (hasattr() stays False)
            raise AttributeError(f"Parameter.{name} is a Tensor method, usable inside forward: {exc}") from None
        return getattr(tensor, name)

    def __getitem__(self, index):
        return self.__netdef_tensor__()[index]

    def _op(name: str):
        def method(self, other):
            return getattr(Tensor, name)(self.__netdef_tensor__(), other)

        method.__name__ = name
        method.__doc__ = f"torch.Tensor.{name} on this weight's constant (inside forward)"
        return method

    __add__, __radd__, __sub__, __rsub__ = _op("__add__"), _op("__radd__"), _op("__sub__"), _op("__rsub__")
    __mul__, __rmul__, __truediv__, __rtruediv__ = (
        _op("__mul__"),
        _op("__rmul__"),
        _op("__truediv__"),
        _op("__rtruediv__"),
    )
    __matmul__, __rmatmul__, __pow__ = _op("__matmul__"), _op("__rmatmul__"), _op("__pow__")
    del _op

    def __neg__(self):
        return -self.__netdef_tensor__()


@dataclass
class BindReport:
    """What ``load_weights`` bound and skipped."""

    bound: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"bound {len(self.bound)} tensors"]
        if self.missing:
            lines.append("missing (left unbound): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append("unexpected (ignored): " + ", ".join(self.unexpected))
        return "; ".join(lines)


def _construction_site(module: Module) -> str | None:
    """'file:line' of the first frame outside netdef and outside ``module``'s own ``__init__`` chain."""
    frame = sys._getframe(2)
    while frame is not None and (
        library_code(frame.f_code.co_filename)
        or (frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is module)
    ):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None


def _tied_conflicts(expected: Mapping[str, Parameter], arrays: Mapping[str, np.ndarray]) -> list[str]:
    """A report line for each parameter shared under several names (tied weights) that got different values."""
    names: dict[int, list[str]] = {}
    for name, p in expected.items():
        if name in arrays:
            names.setdefault(id(p), []).append(name)
    lines = []
    for tied in names.values():
        first = arrays[tied[0]]
        differ = [n for n in tied[1:] if not np.array_equal(arrays[n], first, equal_nan=is_float_dtype(first.dtype))]
        if differ:
            lines.append(
                f"  {tied[0]}: one parameter shared (tied) under the names {tied}, but the weights give "
                f"{', '.join(differ)} other values than {tied[0]}; give them equal values, or one of the names only"
            )
    return lines


class Module:
    """Base class of netdef modules: register Parameters and sub-Modules as attributes, write ``forward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", False)
        #: 'file:line' of the user's source that constructed this module (shown in errors and parity reports)
        object.__setattr__(self, "defined_at", _construction_site(self))

    # -- registration -----------------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if "_modules" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name}")
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self.__dict__.pop(name, None)  # a plain attribute set earlier (`self.downsample = None`) would hide it
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif value is None and name in ("weight", "bias"):
            self._parameters[name] = None  # torch keeps `bias=None` as an absent parameter
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, buffer: Parameter | None, persistent: bool = True) -> None:
        """A non-trainable state_dict entry (running_mean, num_batches_tracked...)."""
        if not persistent:
            raise ValueError("non-persistent buffers have no state_dict entry; keep them as plain attributes")
        self._buffers[name] = buffer

    def add_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module

    # -- traversal --------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module by path, depth first; a module registered twice is listed once unless ``remove_duplicate=False``."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = [(f"{path}.{n}" if path else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for path, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    yield (f"{path}.{name}" if path else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, Parameter]]:
        for path, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{path}.{name}" if path else name), b

    def state_dict(self) -> OrderedDict[str, Parameter]:
        """Every weight slot by its torch state_dict name (parameters then buffers, module by module).

        As in torch, a module registered under two names (shared weights) has entries under both.
        """
        out: OrderedDict[str, Parameter] = OrderedDict()
        for path, module in self.named_modules(remove_duplicate=False):
            for table in (module._parameters, module._buffers):
                for name, p in table.items():
                    if p is not None:
                        out[f"{path}.{name}" if path else name] = p
        return out

    # -- weights ----------------------------------------------------------------------------------
    def load_weights(
        self, weights: Mapping[str, np.ndarray] | str | os.PathLike, strict: bool = True, rename=None
    ) -> BindReport:
        """Bind weights by state_dict name, checking sizes; all-or-nothing.

        ``weights`` is a mapping of name -> array or a path to a weights file (.wts, .safetensors,
        .npz, torch .pt/.pth/.bin/.ckpt; see ``netdef.weights.load_weights_file``). ``rename`` (a
        ``netdef.weights.Rename`` or a function of the name) maps the source's names first. Missing,
        unexpected and wrongly sized entries are reported together. With ``strict=False`` missing and
        unexpected names are skipped and listed in the returned report; a wrong size is always an
        error. Shapes are compared exactly where the source stores them (every format but .wts).
        Nothing is copied where nothing needs to be: safetensors bind as read-only views of the mapped file, in
        their stored float dtype; a writable array given in a mapping is bound as a copy (the README lists what
        is copied and when).
        """
        if isinstance(weights, (str, os.PathLike)):
            weights = freeze_weights(load_weights_file(weights, rename=rename))  # read here: nobody else holds them
        elif not isinstance(weights, Mapping):
            raise ArgumentError(
                f"{type(self).__name__}.load_weights: weights must be a path to a weights file or a mapping of "
                f"state_dict name -> array, got {type(weights).__name__}"
            )
        elif rename is not None:
            weights = rename_weights(weights, rename)
        shaped = getattr(weights, "shaped", False)  # a file format that stores shapes
        expected = self.state_dict()
        defaults = {k: v for k, v in self._omissible_state().items() if k not in weights}
        given = {id(expected[k]) for k in expected if k in weights}  # a tied parameter given under any of its names
        missing = [k for k in expected if k not in weights and k not in defaults and id(expected[k]) not in given]
        unexpected = [k for k in weights if k not in expected]
        mismatched, unconvertible = [], []
        arrays: dict[str, np.ndarray] = {}  # converted before anything is bound: all-or-nothing
        for name, p in expected.items():
            if name not in weights:
                continue
            arr = np.asarray(stored_array(weights, name))
            module, _, leaf = name.rpartition(".")
            sub = self.get_submodule(module)
            where = f"module `{module or '<root>'}` ({type(sub).__name__})"
            if arr.size != p.numel or ((shaped or arr.ndim > 1) and arr.shape != p.shape):
                mismatched.append(
                    f"  {name}: {where} expects {leaf} of shape {p.shape} ({p.numel} values), found shape "
                    f"{arr.shape} ({arr.size} values); the module is created at {sub.defined_at}"
                )
                continue
            if arr.dtype.kind not in "biuf" and not is_float_dtype(arr.dtype):
                unconvertible.append(f"  {name}: {where} expects {p.dtype} {leaf}, found {arr.dtype}")
                continue
            if is_float_dtype(p.dtype) and is_float_dtype(arr.dtype) and np.can_cast(arr.dtype, p.dtype, "safe"):
                # a float p.dtype holds exactly (fp16/bf16/fp8 for an fp32 parameter) binds in its stored dtype, as
                # a view: emission casts it to the network's compute dtype once, and not at all when they agree
                converted = arr
            else:
                converted, problem = convert(arr, p.dtype)
                if problem:
                    unconvertible.append(f"  {name}: {where} expects {p.dtype} {leaf}, but {problem}")
                    continue
            if converted is arr and (caller_may_write(arr) or not arr.flags.c_contiguous):
                converted = np.array(arr, copy=True, order="C")  # the caller's writable array: bind a snapshot
            arrays[name] = converted.reshape(p.shape)
        unconvertible += _tied_conflicts(expected, arrays)
        modules = dict(self.named_modules(remove_duplicate=False))
        # a weight of a module this model has, which the module does not hold (a bias where it has none): the
        # checkpoint's module computes with it, so skipping it (strict=False) would compute something else
        owned = [
            k for k in unexpected if k.rpartition(".")[0] in modules and not k.endswith(".num_batches_tracked")
        ]  # (BatchNorm's step count is training state)
        if mismatched or unconvertible or owned or (strict and (missing or unexpected)):
            lines = [f"cannot bind weights to {type(self).__name__}:"]
            if mismatched:
                lines.append(f"wrong size ({len(mismatched)}):")
                lines.extend(mismatched)
            if unconvertible:
                lines.append(f"not convertible ({len(unconvertible)}):")
                lines.extend(unconvertible)
            if strict and missing:
                lines.append(f"missing ({len(missing)}):")
                lines.extend(f"  {k}: expected shape {expected[k].shape}" for k in missing)
            if owned:
                lines.append(
                    f"unexpected weights of modules this model has ({len(owned)}), refused even with strict=False:"
                )
                for k in owned:
                    module, _, leaf = k.rpartition(".")
                    lines.append(
                        f"  {k}: module `{module or '<root>'}` ({type(modules[module]).__name__}) has no {leaf}; the "
                        "checkpoint's module computes with it (a bias, a norm the model lacks?)"
                    )
            other = [k for k in unexpected if k not in owned]
            if strict and other:
                lines.append(f"unexpected ({len(other)}):")
                lines.extend(f"  {k}: {np.asarray(weights[k]).size} values" for k in other)
            fix = (
                "fix: export the weights from the torch twin of this model (netdef.export_wts) or check the "
                "layer sizes and options in __init__ (the checkpoint may be of another model)"
            )
            if strict and other and not owned:
                fix += (
                    "; only if the unexpected names are unused by the model that wrote the checkpoint (none of "
                    "them belongs to a module this model has), pass strict=False to skip them"
                )
            lines.append(fix)
            raise BindError("\n".join(lines))
        report = BindReport(missing=missing, unexpected=unexpected)
        for name, p in expected.items():
            if name not in arrays and id(p) in given:
                continue  # tied: bound under another of its names
            if name in arrays:
                p.data = arrays[name]
                report.bound.append(name)
            elif name in defaults:
                p.data = np.full(p.shape, defaults[name], dtype=p.dtype)
        return report

    def _omissible_state(self) -> dict[str, object]:
        """state_dict names a checkpoint may leave out, with the value they then get (as torch gives them):
        entries of a module's ``_omissible_buffers``, e.g. BatchNorm's ``num_batches_tracked``, which
        checkpoints saved before torch 0.4.1 (torchvision's first ImageNet weights) do not have."""
        out: dict[str, object] = {}
        for path, module in self.named_modules(remove_duplicate=False):
            for name, value in getattr(module, "_omissible_buffers", {}).items():
                if module._buffers.get(name) is not None:
                    out[f"{path}.{name}" if path else name] = value
        return out

    def get_submodule(self, target: str) -> Module:
        module = self
        for part in target.split(".") if target else ():
            module = module._modules[part]
        return module

    # -- emission ---------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        ctx = current()
        with ctx.scope(self):
            # the tensors the call takes, before forward runs: an in-place write (ReLU(inplace=True)) rebinds them
            inputs = ctx.call_inputs(args, kwargs)
            dtype = ctx.precision_overrides.get(id(self))
            if dtype is None or dtype == ctx.compute_dtype:
                return ctx.record_call(inputs, self.forward(*args, **kwargs))
            # a precision override: cast float inputs in, emit weights in `dtype`, cast float outputs back
            with ctx.compute(dtype) as outer:
                result = self.forward(*_cast_floats(args, dtype), **_cast_floats(kwargs, dtype))
            return ctx.record_call(inputs, _cast_floats(result, outer))

    def eval(self) -> Module:
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        children = list(self.named_children())
        if not children:
            return lines[0] + ")"
        for name, m in children:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


def _cast_floats(value, dtype: trt.DataType):
    """``value`` with every float Tensor in it (nested tuples, lists, dicts) cast to ``dtype``."""
    if isinstance(value, Tensor):
        if value.dtype.name not in ("FLOAT", "HALF", "BF16") or value.dtype == dtype:
            return value
        out = F.cast(value, dtype)
        out.uncast = value
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floats(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floats(v, dtype) for k, v in value.items()}
    return value
