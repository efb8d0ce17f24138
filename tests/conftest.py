"""Shared helpers of the test suite: torch-vs-netdef parity through the reference interpreter.

pytest runs with ``--import-mode=importlib``, so test files cannot import this module; they get the
helpers through the ``parity`` fixture (``parity.check``, ``parity.Fn``, ``parity.FP16_TOL`` ...).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping

import numpy as np
import pytest
import torch

import netdef
from netdef import nn
from netdef.build import BuiltEngine
from netdef.build import build as build_network

#: fp32: the interpreter evaluates every layer in float32 with torch, so only the order of sums and
#: folded constants (batch norm) can differ. Tolerance as a fraction of the output's largest magnitude.
FP32_TOL = 1e-5
#: fp16: the input, every weight and every layer's output are rounded to half precision (unit roundoff
#: 2**-11 ~ 4.9e-4). A few roundings per element, plus sums of ~100 rounded products, reach ~1e-3 of the
#: output's largest magnitude in this suite (fp32 cases: ~1e-7); 5e-3 leaves a 5x margin, while a wrong
#: attribute (padding, slope, axis, divisor) misses by far more.
FP16_TOL = 5e-3
TOLERANCE = {"fp32": FP32_TOL, "fp16": FP16_TOL}
PRECISIONS = tuple(TOLERANCE)


class Fn(nn.Module):
    """A netdef module whose forward is ``fn``: wraps Tensor operators and functional ops for define()."""

    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def torch_weights(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state_dict as numpy arrays (what ``load_weights`` takes)."""
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def input_names(n: int) -> list[str]:
    return ["x"] if n == 1 else [f"x{i}" for i in range(n)]


def assert_close(got: np.ndarray, want: torch.Tensor | np.ndarray, precision: str = "fp32") -> float:
    """``got`` matches ``want`` in shape and within TOLERANCE[precision] x max|want|; returns the error."""
    want = want.detach().cpu().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != torch's {want.shape}"
    if want.size == 0:
        return 0.0
    if not np.issubdtype(want.dtype, np.floating):
        np.testing.assert_array_equal(got, want)
        return 0.0
    scale = max(float(np.abs(want).max()), 1e-6)
    err = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
    assert err <= TOLERANCE[precision] * scale, (
        f"{precision}: max abs error {err:.3g} > {TOLERANCE[precision]} x output scale {scale:.3g}"
    )
    return err


def build_engine(net: netdef.Network) -> BuiltEngine:
    """Build ``net`` with the installed TensorRT (on CPU for TensorRT-RTX) and check the result."""
    engine = build_network(net)
    assert isinstance(engine.data, (bytes, memoryview)) and len(engine.data) > 0
    assert engine.metadata["precision"] == net.precision
    return engine


class Parity:
    """Helpers handed to tests by the ``parity`` fixture."""

    FP32_TOL = FP32_TOL
    FP16_TOL = FP16_TOL
    TOLERANCE = TOLERANCE
    PRECISIONS = PRECISIONS
    Fn = Fn
    torch_weights = staticmethod(torch_weights)
    assert_close = staticmethod(assert_close)
    build = staticmethod(build_engine)

    @staticmethod
    def define(model: nn.Module, *xs, precision: str = "fp32", dtypes: Mapping[str, str] | None = None):
        """``netdef.define`` with one Input per example tensor in ``xs`` (named x, or x0, x1, ...)."""
        names = input_names(len(xs))
        dtypes = dtypes or {}
        specs = {}
        for name, x in zip(names, xs):
            dtype = dtypes.get(name, str(x.dtype).removeprefix("torch."))
            specs[name] = netdef.Input(tuple(x.shape), dtype=dtype)
        return netdef.define(model, specs, precision=precision)

    @staticmethod
    def run(net: netdef.Network, *xs) -> np.ndarray:
        """The reference interpreter's ``output`` for the example tensors ``xs``."""
        feeds = {name: x.detach().numpy() for name, x in zip(input_names(len(xs)), xs)}
        return netdef.reference.run(net, feeds)["output"]

    def check(
        self,
        model: nn.Module,
        reference: Callable,
        *xs: torch.Tensor,
        precision: str = "fp32",
        build: bool = False,
    ) -> netdef.Network:
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
        net = self.define(model, *xs, precision=precision)
        got = self.run(net, *xs)
        if want.is_floating_point():
            assert got.dtype == np.float32, f"outputs are float32 at every precision, got {got.dtype}"
        assert_close(got, want, precision)
        if build:
            build_engine(net)
        return net


@pytest.fixture(autouse=True)
def _seed(request):
    """Random but reproducible weights and inputs per test (seeded by the test's id)."""
    torch.manual_seed(zlib.crc32(request.node.nodeid.encode()))
    yield


@pytest.fixture(scope="session")
def parity() -> Parity:
    return Parity()
