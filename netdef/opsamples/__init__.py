"""Sample inputs for every op of the op registry, keyed by op name (joined with ``OPS`` by name).

```python
@samples("relu")
def _relu():
    yield S(randn(2, 3, 4))                   # static fp32 (+ fp16)
    yield S(randn(2, 3, 4)).dyn(0, 2)         # dims 0 and 2 of the first input are -1 (min..max), run at two sizes
    yield S(randn(3, 4), dim=1, keepdim=True)  # kwargs variants
```

A sample's ``args``/``kwargs`` are passed to the netdef op and to its ``torch=`` target alike: every
``torch.Tensor`` among them (also inside lists and tuples) becomes a network input, in order; every
``np.ndarray`` is a weight (a constant for netdef, ``torch.from_numpy`` for torch). ``expr`` calls the op
through an expression, ``expr(op, *inputs)``, with ``op`` the netdef op or the torch target (a symbolic size
``x.shape[0]``, a Tensor method); ``ref`` replaces the torch side where torch spells the call differently
(it gets the same args, tensors as torch tensors). ``tests/functional/test_opinfo.py`` runs every sample
through netdef (define + the reference interpreter) against torch, and checks the layers each emits against
the op's declared layer classes; an op with no samples fails there unless ``EXEMPT`` says why.
"""

from __future__ import annotations

import dataclasses
import importlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from netdef.errors import ArgumentError

#: the sample families, one module per family of netdef.functional
FAMILIES = (
    "activation",
    "attention",
    "creation",
    "conv",
    "elementwise",
    "indexing",
    "matrix",
    "misc",
    "modules",
    "normalization",
    "pooling",
    "rearrange",
    "reduction",
    "shape",
    "unary",
)

#: ops with no samples, and why (the generic test fails for any other op without samples)
EXEMPT: dict[str, str] = {
    "nms": "TensorRT's batched multi-class form (B, N, 4)/(B, N, C) with a fixed-size padded output, which "
    "torchvision.ops.batched_nms does not compute; tests/reference/test_nms.py holds it to torchvision",
}

#: sampled ops with no dynamic sample, and why (the generic test fails for any other)
STATIC_ONLY: dict[str, str] = {
    "as_tensor": "its data is a Python or numpy value: there is no input whose size could vary",
}


@dataclass(frozen=True)
class Sample:
    """One call of an op (see the module docstring)."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    #: input index -> dims declared -1 (min = the sample's size, max = the grown size; run at both)
    dynamic: dict[int, tuple[int, ...]] = field(default_factory=dict)
    #: how much the dynamic dims grow for the second run: 0 doubles them, n > 0 adds n (at most their size)
    grow: int = 0
    #: ``expr(op, *inputs)``: the op called through an expression (None: ``op(*args, **kwargs)``)
    expr: Callable | None = None
    #: torch's side when torch spells the call differently (None: the op's torch target, or ``expr``)
    ref: Callable | None = None
    #: ``prep(*args) -> args``: other ops applied to the arguments first, in netdef and torch alike, outside the
    #: layers checked against the op's (``lambda x: (x.sum(),)``: a 0-d tensor)
    prep: Callable | None = None
    #: also run at fp16 (float samples only)
    fp16: bool = True
    #: what the sample shows
    note: str = ""
    #: why netdef is known to disagree with torch here (the test expects the failure, strictly): '' when it agrees
    known_mismatch: str = ""

    def dyn(self, *dims: int, input: int = 0, grow: int = 0) -> Sample:
        """This sample with ``dims`` of input ``input`` dynamic (call again for more inputs); ``grow``: see the field."""
        return dataclasses.replace(self, dynamic={**self.dynamic, input: tuple(dims)}, grow=grow or self.grow)

    def also(self, **changes) -> Sample:
        """This sample with some fields changed (``expr=``, ``ref=``, ``prep=``, ``fp16=``, ``known_mismatch=``...)."""
        return dataclasses.replace(self, **changes)

    def inputs(self) -> list[torch.Tensor]:
        """The tensors that become network inputs, in order."""
        found: list[torch.Tensor] = []
        _walk((self.args, self.kwargs), found)
        return found

    @property
    def is_dynamic(self) -> bool:
        return bool(self.dynamic)


def S(*args, **kwargs) -> Sample:
    """A sample calling the op with ``args`` and ``kwargs``."""
    return Sample(args, kwargs)


def E(expr: Callable, *inputs, ref: Callable | None = None) -> Sample:
    """A sample calling the op through ``expr(op, *inputs)`` (see the module docstring)."""
    return Sample(tuple(inputs), expr=expr, ref=ref)


def _walk(value, found: list) -> None:
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _walk(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _walk(v, found)


def substitute(value, tensors: Iterator, weight: Callable[[np.ndarray], object]):
    """``value`` with each torch.Tensor replaced by the next of ``tensors`` and each ndarray by ``weight(it)``."""
    if isinstance(value, torch.Tensor):
        return next(tensors)
    if isinstance(value, np.ndarray):
        return weight(value)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(substitute(v, tensors, weight) for v in value)
    if isinstance(value, list):
        return [substitute(v, tensors, weight) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, tensors, weight) for k, v in value.items()}
    return value


#: op name -> the function yielding its samples
GENERATORS: dict[str, Callable[[], Iterable[Sample]]] = {}
_GEN = torch.Generator()


def samples(*names: str) -> Callable:
    """Register the decorated generator as the samples of the ops ``names`` (aliases share one)."""

    def register(fn: Callable[[], Iterable[Sample]]) -> Callable[[], Iterable[Sample]]:
        for name in names:
            if name in GENERATORS:
                raise ArgumentError(f"op {name!r} has samples registered twice")
            GENERATORS[name] = fn
        return fn

    return register


def load() -> dict[str, Callable[[], Iterable[Sample]]]:
    """Import every family module and return ``GENERATORS``."""
    for family in FAMILIES:
        importlib.import_module(f"netdef.opsamples.{family}")
    return GENERATORS


def samples_of(name: str) -> list[Sample]:
    """The samples of op ``name``, drawn from a generator seeded by the name (the same on every run)."""
    load()
    _GEN.manual_seed(zlib.crc32(name.encode()))
    return list(GENERATORS[name]())


def torch_target(path: str) -> Callable:
    """The callable named by an op's ``torch=`` path, e.g. 'torch.nn.functional.relu', 'torch.Tensor.to'."""
    module_name, *attrs = path.split(".")
    obj = importlib.import_module(module_name)
    for i, attr in enumerate(attrs):
        if not hasattr(obj, attr):
            obj = importlib.import_module(".".join([module_name, *attrs[: i + 1]]))
        else:
            obj = getattr(obj, attr)
    return obj


# ----------------------------------------------------------------------------- nn modules
@dataclass(frozen=True)
class ModuleSample:
    """``netdef.nn.<name>(*args, **kwargs)`` against ``torch.nn.<name>(*args, **kwargs)`` (same arguments; the
    torch module's weights, redrawn from the samples' generator, bound to netdef's) called on ``inputs``."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    inputs: tuple = ()
    #: keyword arguments of the forward call (both sides)
    call: dict = field(default_factory=dict)
    dynamic: dict[int, tuple[int, ...]] = field(default_factory=dict)
    fp16: bool = True

    def on(self, *inputs: torch.Tensor, **call) -> ModuleSample:
        """This module called on ``inputs`` (with forward keyword arguments ``call``)."""
        return dataclasses.replace(self, inputs=inputs, call=call)

    def dyn(self, *dims: int, input: int = 0) -> ModuleSample:
        """This sample with ``dims`` of input ``input`` dynamic (see ``Sample.dyn``)."""
        return dataclasses.replace(self, dynamic={**self.dynamic, input: tuple(dims)})

    @property
    def is_dynamic(self) -> bool:
        return bool(self.dynamic)

    def torch_module(self) -> torch.nn.Module:
        """The torch module in eval mode, every parameter and running statistic drawn from the samples' generator."""
        module = getattr(torch.nn, self.name)(*self.args, **self.kwargs).eval()
        with torch.no_grad():
            for key, p in module.named_parameters():
                p.copy_(randn(*p.shape, scale=0.5) + (1.0 if key.endswith("weight") and p.dim() == 1 else 0.0))
            for key, b in module.named_buffers():
                if key.endswith("running_mean"):
                    b.copy_(randn(*b.shape, scale=0.5))
                elif key.endswith("running_var"):
                    b.copy_(positive(*b.shape, low=0.5, high=2.0))
        return module


def M(name: str, *args, **kwargs) -> ModuleSample:
    """A sample of the nn module ``name`` built with ``args``/``kwargs``; give its inputs with ``.on(x, ...)``."""
    return ModuleSample(name, args, kwargs)


#: nn module name -> the function yielding its samples
MODULE_GENERATORS: dict[str, Callable[[], Iterable[ModuleSample]]] = {}

#: netdef.nn classes with no samples, and why
MODULE_EXEMPT: dict[str, str] = {
    "Module": "the base class: every sampled module is one",
    "Sequential": "a container: it calls its children in order (tests/nn/test_container.py)",
    "ModuleList": "a container of modules, not called itself (tests/nn/test_container.py)",
    "ModuleDict": "a container of modules, not called itself (tests/nn/test_container.py)",
}


def module_samples(*names: str) -> Callable:
    """Register the decorated generator as the samples of the nn modules ``names``."""

    def register(fn: Callable[[], Iterable[ModuleSample]]) -> Callable[[], Iterable[ModuleSample]]:
        for name in names:
            if name in MODULE_GENERATORS:
                raise ArgumentError(f"nn module {name!r} has samples registered twice")
            MODULE_GENERATORS[name] = fn
        return fn

    return register


def module_samples_of(name: str) -> list[ModuleSample]:
    """The samples of nn module ``name`` (the same on every run)."""
    load()
    _GEN.manual_seed(zlib.crc32(f"nn.{name}".encode()))
    return [dataclasses.replace(s, name=name) for s in MODULE_GENERATORS[name]()]


# ----------------------------------------------------------------------------- tensors for samples
def randn(*shape: int, scale: float = 1.0) -> torch.Tensor:
    """Standard normal float32 values (times ``scale``)."""
    return torch.randn(shape, generator=_GEN) * scale


def positive(*shape: int, low: float = 0.1, high: float = 4.0) -> torch.Tensor:
    """Uniform float32 values in [low, high): the domain of log, sqrt, reciprocal."""
    return torch.rand(shape, generator=_GEN) * (high - low) + low


def ints(*shape: int, low: int = -5, high: int = 5, dtype: torch.dtype = torch.int32) -> torch.Tensor:
    """Uniform integers in [low, high)."""
    return torch.randint(low, high, shape, generator=_GEN, dtype=dtype)


def bools(*shape: int) -> torch.Tensor:
    """Random booleans."""
    return torch.rand(shape, generator=_GEN) > 0.5


def weight(*shape: int, scale: float = 1.0) -> np.ndarray:
    """A constant (weight) argument: standard normal float32 values as a numpy array."""
    return (torch.randn(shape, generator=_GEN) * scale).numpy()
