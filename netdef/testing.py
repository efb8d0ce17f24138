"""netdef.testing: holding netdef to torch in tests and examples (as ``torch.testing`` does for torch).

One tolerance model, ``Tolerance`` (netdef/parity.py): an element passes when
``|got - want| <= atol + rtol * |want| + scaled * max|want|``. Its defaults per use:

- ``TOLERANCES`` here: one op or layer through the reference interpreter, as a fraction of the output's
  largest magnitude (``scaled``);
- a zoo entry's ``fp32_tol``/``fp16_tol`` (netdef/zoo/zoo.py): a whole model, also ``scaled``;
- ``netdef.parity.TOLERANCES``: module-by-module parity reports, per element (``atol``, ``rtol``).

The rest: ``Fn`` (a module around a lambda), ``check`` (torch is the oracle), ``random_feeds``,
``randomize_batchnorm``/``randomize_norm`` and ``twin_pair`` (a zoo entry's torch twin and netdef model,
bound to the same random weights).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import numpy as np
import torch

import netdef
from netdef import nn
from netdef.build import BuiltEngine, build
from netdef.define import Input, Network, define
from netdef.errors import ArgumentError
from netdef.parity import Tolerance

__all__ = [
    "FP16_TOL",
    "FP32_TOL",
    "PRECISIONS",
    "TOLERANCES",
    "Fn",
    "Tolerance",
    "assert_close",
    "build_engine",
    "check",
    "define_like",
    "example_names",
    "input_names",
    "random_feeds",
    "randomize_batchnorm",
    "randomize_norm",
    "run",
    "torch_weights",
    "twin_pair",
]

#: fp32: the interpreter evaluates every layer in float32 with torch, so only the order of sums and
#: folded constants (batch norm) can differ.
FP32_TOL = 1e-5
#: fp16: the input, every weight and every layer's output are rounded to half precision (unit roundoff
#: 2**-11 ~ 4.9e-4). A few roundings per element, plus sums of ~100 rounded products, reach ~1e-3 of the
#: output's largest magnitude in the test suite (fp32 cases: ~1e-7); 5e-3 leaves a 5x margin, while a
#: wrong attribute (padding, slope, axis, divisor) misses by far more.
FP16_TOL = 5e-3
#: one op or layer, as a fraction of the output's largest magnitude
TOLERANCES: dict[str, Tolerance] = {"fp32": Tolerance(scaled=FP32_TOL), "fp16": Tolerance(scaled=FP16_TOL)}
PRECISIONS = tuple(TOLERANCES)


class Fn(nn.Module):
    """A netdef module whose forward is ``fn``: Tensor operators and functional ops made definable. Its
    forward takes ``*xs``, so ``define`` passes it the inputs by position, in the order given."""

    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def torch_weights(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state_dict as numpy arrays (what ``load_weights`` takes)."""
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def input_names(n: int) -> list[str]:
    """The input names ``define_like`` gives ``n`` example tensors: x, or x0, x1, ..."""
    return ["x"] if n == 1 else [f"x{i}" for i in range(n)]


def assert_close(
    got: np.ndarray, want: torch.Tensor | np.ndarray, tolerance: str | Tolerance = "fp32", what: str = ""
) -> float:
    """``got`` has ``want``'s shape and is within ``tolerance`` of it (exactly equal for non-float
    outputs); returns the largest absolute error. ``tolerance`` is a precision of ``TOLERANCES`` or a Tolerance."""
    tol = TOLERANCES[tolerance] if isinstance(tolerance, str) else tolerance
    want = want.detach().cpu().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = np.asarray(got)
    prefix = f"{what}: " if what else ""
    assert got.shape == want.shape, f"{prefix}shape {got.shape} != torch's {want.shape}"
    if want.size == 0:
        return 0.0
    if not np.issubdtype(want.dtype, np.floating):
        np.testing.assert_array_equal(got, want)
        return 0.0
    err = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
    bad = tol.mismatches(got, want)
    label = tolerance if isinstance(tolerance, str) else ""
    assert not bad, f"{prefix}{label}: {bad} of {want.size} elements off by more than {tol} (max |diff| {err:.3g})"
    return err


def example_names(model: nn.Module, n: int) -> list[str]:
    """The input names ``define_like`` gives ``n`` example tensors: ``model.forward``'s parameters in order
    (x<i> for those past them, which go to its ``*args``), or ``input_names`` when it names none."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return input_names(n)
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not names:
        return input_names(n)
    return names[:n] + [f"x{i}" for i in range(len(names), n)]


def define_like(model: nn.Module, *xs, precision: str = "fp32", dtypes: Mapping[str, str] | None = None) -> Network:
    """``netdef.define`` with one Input per example tensor in ``xs``, in forward's order (``example_names``);
    ``dtypes`` maps some of those names to an Input dtype other than the tensor's."""
    dtypes = dtypes or {}
    specs = {}
    for name, x in zip(example_names(model, len(xs)), xs):
        specs[name] = Input(tuple(x.shape), dtype=dtypes.get(name, str(x.dtype).removeprefix("torch.")))
    return define(model, specs, precision=precision)


def run(net: Network, *xs) -> np.ndarray:
    """The reference interpreter's ``output`` for the example tensors ``xs``, in the order ``net`` declares
    its inputs (forward's order, as ``define_like`` gave them)."""
    if len(xs) != len(net.inputs):
        raise ArgumentError(f"testing.run: {len(xs)} tensors for the {len(net.inputs)} inputs {list(net.inputs)}")
    feeds = {name: x.detach().numpy() for name, x in zip(net.inputs, xs)}
    return netdef.reference.run(net, feeds)["output"]


def build_engine(net: Network) -> BuiltEngine:
    """Build ``net`` with the installed TensorRT (on CPU for TensorRT-RTX) and check the result."""
    engine = build(net)
    assert isinstance(engine.data, (bytes, memoryview)) and len(engine.data) > 0
    assert engine.metadata["precision"] == net.precision
    return engine


def check(
    model: nn.Module, reference: Callable, *xs: torch.Tensor, precision: str = "fp32", build: bool = False
) -> Network:
    """Assert ``model`` computes ``reference(*xs)`` (torch is the oracle) through the interpreter.

    A torch.nn.Module reference is put in eval mode and its state_dict is bound to ``model`` first.
    With ``build=True`` the network is also built into a serialized engine.
    """
    if isinstance(reference, torch.nn.Module):
        reference.eval()
        if model.state_dict():
            model.load_weights(torch_weights(reference))
    with torch.no_grad():
        want = reference(*xs)
    net = define_like(model, *xs, precision=precision)
    got = run(net, *xs)
    if want.is_floating_point():
        assert got.dtype == np.float32, f"outputs are float32 at every precision, got {got.dtype}"
    assert_close(got, want, precision)
    if build:
        build_engine(net)
    return net


def random_feeds(source, seed: int = 0, int_bound: Callable[[str], int] | None = None) -> dict[str, np.ndarray]:
    """Random inputs for ``source``: standard normal floats; integers in [0, ``int_bound(name)``), or 0
    where no bound is given (always a valid index).

    ``source`` is a ``netdef.Network`` (its static input shapes, or the opt shape of dynamic ones), a
    mapping of name -> ``Input`` or (shape, dtype), or a zoo entry (its ``test_inputs``; the bound
    defaults to ``entry.int_bound``).
    """
    bound: Callable[[str], int] = int_bound or getattr(source, "int_bound", lambda name: 0)
    specs = source.inputs if isinstance(source, Network) else getattr(source, "test_inputs", source)
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, spec in specs.items():
        if isinstance(spec, Input):
            shape, dtype = (spec.opt if spec.is_dynamic else spec.shape), spec.dtype
        else:
            shape, dtype = spec
        if np.dtype(dtype).kind in "iu":
            feeds[name] = rng.integers(0, max(bound(name), 1), shape).astype(dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def randomize_batchnorm(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Every BatchNorm's running statistics moved off (0, 1), so folding them is exercised; mild enough
    (mean in [-0.2, 0.2), var in [0.75, 1.25)) that a deep network's activations stay in range."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.75)
    return model


def randomize_norm(module: torch.nn.Module) -> torch.nn.Module:
    """One normalization layer's affine parameters and running statistics far from their defaults
    (weight 1, bias 0, mean 0, var 1), from torch's global generator; returns it in eval mode."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn_like(p) + (1.0 if name == "weight" else 0.0))
        if getattr(module, "running_mean", None) is not None:
            module.running_mean.copy_(torch.randn_like(module.running_mean) * 2)
            module.running_var.copy_(torch.rand_like(module.running_var) * 3 + 0.05)
        if getattr(module, "num_batches_tracked", None) is not None:
            module.num_batches_tracked.fill_(17)
    return module.eval()


def twin_pair(entry, seed: int = 0) -> tuple[torch.nn.Module, nn.Module]:
    """A zoo entry's torch twin (seeded random weights, BatchNorm statistics randomized, eval mode) and
    its netdef model bound strictly to the twin's weights."""
    torch.manual_seed(seed)
    twin = randomize_batchnorm(entry.torch_model().eval())
    model = entry.netdef_model()
    report = model.load_weights(torch_weights(twin), strict=True)
    assert not report.missing and not report.unexpected, str(report)
    return twin, model
