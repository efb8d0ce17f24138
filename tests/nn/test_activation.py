"""Activation modules, their functional forms and Tensor methods against torch."""

from __future__ import annotations

import numpy as np
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


# The functional activations and their Tensor methods: netdef/opsamples/activation.py, run by
# tests/functional/test_opinfo.py.

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
    with pytest.raises(netdef.ArgumentError, match="explicit dim"):
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


def test_softmax_float64_dtype_is_refused():
    with pytest.raises(netdef.EmitError, match=r"float64.*does not exist in TensorRT networks; use float32"):
        _emit(lambda x: F.softmax(x, 1, dtype="float64"))


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


# -- ReLU6, Hardtanh, PReLU, ELU, SELU, Hardsigmoid, Hardswish, Mish, Softplus, LogSoftmax ------------

MORE_MODULES = {
    "relu6": (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    "hardtanh": (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh()),
    "hardtanh-range": (lambda: nn.Hardtanh(-2.0, 0.5), lambda: torch.nn.Hardtanh(-2.0, 0.5)),
    "prelu-1": (lambda: nn.PReLU(), lambda: torch.nn.PReLU(init=-0.3)),
    "elu": (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    "elu-0.3": (lambda: nn.ELU(alpha=0.3), lambda: torch.nn.ELU(alpha=0.3)),
    "selu": (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    "hardsigmoid": (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
    "hardswish": (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    "mish": (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    "softplus": (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    "softplus-beta-threshold": (lambda: nn.Softplus(beta=2.0, threshold=3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    "softplus-small-beta": (lambda: nn.Softplus(beta=0.5, threshold=1.0), lambda: torch.nn.Softplus(0.5, 1.0)),
    "log-softmax-last": (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
    "log-softmax-0": (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", list(MORE_MODULES))
def test_more_activation_modules_match_torch(parity, name, shape, precision):
    make, make_ref = MORE_MODULES[name]
    x = torch.randn(shape) * 4  # past relu6's 6, hardswish's +-3 and softplus' thresholds
    x.view(-1)[0] = 0.0
    x.view(-1)[-1] = 7.5
    build = shape == SHAPES[0] and (precision == "fp32" or name in ("hardswish", "softplus", "log-softmax-last"))
    parity.check(make(), make_ref(), x, precision=precision, build=build)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 3), (2, 3, 7)])
def test_prelu_per_channel_matches_torch(parity, shape, precision):
    ref = torch.nn.PReLU(3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([0.25, -0.5, 2.0]))
    parity.check(nn.PReLU(3), ref, torch.randn(shape) * 2, precision=precision, build=len(shape) == 4)


def test_softplus_is_exactly_x_past_the_threshold(parity):
    """torch returns x itself where beta * x > threshold; so must the network (not log1p(exp(x)))."""
    x = torch.tensor([[-30.0, -1.0, 0.0, 2.9, 3.1, 10.0, 200.0, 1e6]])
    net = parity.check(nn.Softplus(beta=1.0, threshold=3.0), torch.nn.Softplus(1.0, 3.0), x)
    got = parity.run(net, x)
    assert (got[0, 4:] == x[0, 4:].numpy()).all()
    assert np.isfinite(got).all()


def test_log_softmax_does_not_underflow(parity):
    """log(softmax(x)) would be -inf where softmax underflows; log_softmax stays finite, as torch."""
    x = torch.tensor([[0.0, -200.0, 100.0, -1000.0]])
    net = parity.check(nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1), x)
    assert np.isfinite(parity.run(net, x)).all()


def test_prelu_state_dict_matches_torch():
    for n in (1, 5):
        assert {k: p.shape for k, p in nn.PReLU(n).state_dict().items()} == {"weight": (n,)}
        assert tuple(torch.nn.PReLU(n).state_dict()["weight"].shape) == (n,)


def test_prelu_channel_mismatch_is_refused(parity):
    model = nn.PReLU(4)
    model.load_weights({"weight": np.full(4, 0.1, np.float32)})
    with pytest.raises(netdef.EmitError, match=r"weight has 4 slopes but input \(2, 3, 5\) has 3 channels"):
        netdef.define(model, {"x": netdef.Input((2, 3, 5))})


def test_more_constructor_errors():
    with pytest.raises(netdef.ArgumentError, match="explicit dim"):
        nn.LogSoftmax()
    with pytest.raises(netdef.ArgumentError, match="min_val=1 must not be greater than max_val=0"):
        nn.Hardtanh(1, 0)


def test_more_extra_repr():
    assert "beta=2.0, threshold=3.0" in repr(nn.Softplus(2.0, 3.0))
    assert "num_parameters=3" in repr(nn.PReLU(3))
    assert "alpha=0.3" in repr(nn.ELU(0.3))


# the rarer activations: (netdef module, torch module), with torch's names and arguments
RARE_MODULES = {
    "CELU": ({}, {}),
    "CELU-alpha": ({"alpha": 0.5}, {}),
    "Softsign": ({}, {}),
    "Hardshrink": ({}, {}),
    "Hardshrink-lambd": ({"lambd": 1.2}, {}),
    "Softshrink": ({}, {}),
    "Softshrink-lambd": ({"lambd": 0.8}, {}),
    "Tanhshrink": ({}, {}),
    "Threshold": ({"threshold": 0.3, "value": -2.0}, {}),
    "LogSigmoid": ({}, {}),
    "RReLU": ({}, {}),
    "RReLU-bounds": ({"lower": 0.05, "upper": 0.5}, {}),
    "Softmin": ({"dim": 1}, {}),
    "Softmax2d": ({}, {}),
    "GLU": ({}, {}),
    "GLU-dim1": ({"dim": 1}, {}),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(RARE_MODULES))
def test_rare_activation_modules_match_torch(parity, name, precision):
    kwargs, _ = RARE_MODULES[name]
    cls = name.split("-")[0]
    x = torch.randn(2, 4, 3, 6) * 3
    x.view(-1)[:4] = torch.tensor([0.5, -0.5, 0.3, 0.0])  # the kinks of the shrinks and the threshold
    parity.check(getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs), x, precision=precision)


RARE_FUNCTIONAL = {
    "celu": lambda f, x: f.celu(x, 2.0),
    "softsign": lambda f, x: f.softsign(x),
    "hardshrink": lambda f, x: f.hardshrink(x, 0.7),
    "softshrink": lambda f, x: f.softshrink(x, lambd=0.2),
    "tanhshrink": lambda f, x: f.tanhshrink(x),
    "threshold": lambda f, x: f.threshold(x, -0.5, 4.0),
    "logsigmoid": lambda f, x: f.logsigmoid(x * 30),  # far tails: no overflow, no log(0)
    "rrelu": lambda f, x: f.rrelu(x, 0.1, 0.3),
    "softmin": lambda f, x: f.softmin(x, dim=-1),
    "softmin-dtype": lambda f, x: f.softmin(x, -1, dtype=torch.float32),
    "glu": lambda f, x: f.glu(x, 0),
    "hardshrink-method": lambda f, x: x.hardshrink(0.4),
}


@pytest.mark.parametrize("name", list(RARE_FUNCTIONAL))
def test_rare_functional_activations_match_torch(parity, name):
    expr = RARE_FUNCTIONAL[name]
    x = torch.randn(4, 3, 6) * 2
    x.view(-1)[:2] = torch.tensor([0.2, 0.7])
    parity.check(parity.Fn(lambda x: expr(F, x)), lambda x: expr(torch.nn.functional, x), x, build=name == "glu")
    x.view(-1)[0] = float("nan")  # NaN stays NaN where torch keeps it (the shrinks and threshold compare with it)
    got = parity.run(parity.define(parity.Fn(lambda x: expr(F, x)), x), x)
    want = expr(torch.nn.functional, x)
    np.testing.assert_array_equal(np.isnan(got), want.isnan().numpy())


def test_rare_activations_with_a_dynamic_shape():
    model = nn.Sequential(nn.CELU(0.7), nn.Softshrink(0.2), nn.GLU(1), nn.LogSigmoid(), nn.Softmin(1))
    ref = torch.nn.Sequential(
        torch.nn.CELU(0.7), torch.nn.Softshrink(0.2), torch.nn.GLU(1), torch.nn.LogSigmoid(), torch.nn.Softmin(1)
    )
    network = netdef.define(model, {"x": netdef.Input((-1, 6), min=(1, 6), opt=(2, 6), max=(8, 6))})
    for n in (2, 5):
        x = torch.randn(n, 6) * 2
        netdef.testing.assert_close(netdef.reference.run(network, {"x": x.numpy()})["output"], ref(x))
    netdef.testing.build_engine(network)


def test_rare_activation_argument_errors():
    with pytest.raises(netdef.ArgumentError, match="Softmin needs an explicit dim"):
        nn.Softmin()
    with pytest.raises(netdef.EmitError, match=r"Softmax2d expects a 3-D or 4-D input, got shape \(2, 3\)"):
        _emit(lambda x: nn.Softmax2d()(x))
    with pytest.raises(netdef.EmitError, match=r"glu.*dim 1 of input \(2, 3\) has odd size 3"):
        _emit(lambda x: F.glu(x, 1))
    with pytest.raises(netdef.EmitError, match=r"rrelu.*training=True draws random slopes"):
        _emit(lambda x: F.rrelu(x, training=True))
    with pytest.raises(netdef.EmitError, match=r"celu.*alpha must not be 0"):
        _emit(lambda x: F.celu(x, 0.0))
