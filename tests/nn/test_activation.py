"""Activation modules, their functional forms and Tensor methods against torch."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F, nn

# (netdef module, torch module)
MODULES = {
    "relu": (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    "relu-inplace": (lambda: nn.ReLU(inplace=True), lambda: torch.nn.ReLU(inplace=True)),
    "leaky-default": (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    "leaky-0.2": (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "leaky-1.5": (lambda: nn.LeakyReLU(negative_slope=1.5), lambda: torch.nn.LeakyReLU(negative_slope=1.5)),
    "leaky-negative": (lambda: nn.LeakyReLU(-0.3), lambda: torch.nn.LeakyReLU(-0.3)),
    "sigmoid": (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    "tanh": (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    "silu": (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    "gelu-erf": (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    "gelu-none": (lambda: nn.GELU("none"), lambda: torch.nn.GELU("none")),
    "gelu-tanh": (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
}

SHAPES = [(2, 3, 4, 5), (6, 7), (17,)]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", list(MODULES))
def test_activation_module_matches_torch(parity, name, shape, precision):
    make, make_ref = MODULES[name]
    x = torch.randn(shape) * 3  # reaches the saturated regions of sigmoid/tanh/gelu
    x.view(-1)[0] = 0.0  # the kink of relu / leaky_relu
    build = shape == SHAPES[0] and (precision == "fp32" or name in ("silu", "gelu-tanh"))
    parity.check(make(), make_ref(), x, precision=precision, build=build)


FUNCTIONAL = {
    "relu": (F.relu, torch.nn.functional.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "silu": (F.silu, torch.nn.functional.silu),
    "gelu": (F.gelu, torch.nn.functional.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "method-relu": (lambda x: x.relu(), lambda x: x.relu()),
    "method-sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "method-tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "method-softmax": (lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_and_methods_match_torch(parity, name):
    fn, ref = FUNCTIONAL[name]
    parity.check(parity.Fn(fn), ref, torch.randn(3, 4, 5) * 2)


SOFTMAX = [((4, 10), 1), ((4, 10), 0), ((4, 10), -1), ((2, 3, 5), 1), ((2, 3, 5), -3), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), -2), ((7,), 0)]  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("shape", "dim"), SOFTMAX)
def test_softmax_matches_torch(parity, shape, dim, precision):
    x = torch.randn(shape) * 4
    build = precision == "fp32" and shape == (2, 3, 4, 5)
    parity.check(nn.Softmax(dim=dim), torch.nn.Softmax(dim=dim), x, precision=precision, build=build)


def test_softmax_functional_matches_torch(parity):
    parity.check(parity.Fn(lambda x: F.softmax(x, dim=-2)), lambda x: torch.softmax(x, dim=-2), torch.randn(2, 6, 3))


def test_softmax_needs_a_dim():
    with pytest.raises(ValueError, match="explicit dim"):
        nn.Softmax()


def _emit(fn, shape=(2, 3), dtype="float32"):
    class Model(nn.Module):
        def forward(self, x):
            return fn(x)

    return netdef.define(Model(), {"x": netdef.Input(shape, dtype=dtype)})


@pytest.mark.parametrize("dim", [2, -3])
def test_softmax_dim_out_of_range_is_refused(dim):
    with pytest.raises(netdef.EmitError, match=f"dim {dim} is out of range for a tensor of rank 2"):
        _emit(lambda x: F.softmax(x, dim))


def test_softmax_dtype_argument_is_refused():
    with pytest.raises(netdef.EmitError, match="dtype argument is not supported"):
        _emit(lambda x: F.softmax(x, 1, dtype="float32"))


def test_unknown_gelu_approximation_is_refused():
    with pytest.raises(netdef.EmitError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        _emit(lambda x: F.gelu(x, approximate="erf"))


def test_integer_input_is_refused():
    with pytest.raises(netdef.EmitError, match=r"relu .*expects a float tensor, got INT32"):
        _emit(F.relu, dtype="int32")


def test_extra_repr():
    assert "negative_slope=0.2" in repr(nn.LeakyReLU(0.2))
    assert "approximate='tanh'" in repr(nn.GELU("tanh"))
    assert "dim=1" in repr(nn.Softmax(1))
