"""Unary math (functional and Tensor methods) against torch, fp32 and fp16."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn as _Fn


def _layernorm(x):
    centered = x - x.mean(-1, keepdim=True)
    return centered * ((centered**2).mean(-1, keepdim=True) + 1e-5).rsqrt()


# Each unary op against torch at fp32 and fp16, as function and method, static and dynamic: its samples in
# netdef/opsamples/unary.py, run by tests/functional/test_opinfo.py. Here: what those do not cover.
POSITIVE = lambda: torch.rand(3, 4, 5) * 4 + 0.05  # noqa: E731 - sqrt / log / rsqrt domain
ANY = lambda: torch.randn(3, 4, 5) * 2  # noqa: E731


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_layernorm_like_expression(parity, precision):
    parity.check(parity.Fn(_layernorm), _layernorm, ANY(), precision=precision)


@pytest.mark.parametrize(("name", "make"), [("rsqrt", POSITIVE), ("erf", ANY), ("round", ANY)])
def test_unary_builds(parity, name, make):
    parity.check(parity.Fn(getattr(F, name)), getattr(torch, name), make(), build=True)


def test_integer_abs_builds(parity):
    parity.check(parity.Fn(F.abs), torch.abs, torch.randint(-9, 10, (3, 4), dtype=torch.int32), build=True)


def test_integer_inputs_follow_torch():
    """Float math of integer tensors computes in float (torch's default dtype); rounding leaves integers alone."""
    i = torch.randint(1, 9, (3, 4), dtype=torch.int32)
    for expr in (
        lambda x: x.sqrt(),
        lambda x: x.exp() / 100,
        lambda x: x.sin(),
        lambda x: x.floor(),
        lambda x: x.round(),
        lambda x: x.trunc(),
        lambda x: x.square(),
        lambda x: x.isnan(),
        lambda x: x.isfinite(),
        lambda x: x.log1p(),
        lambda x: x.logical_not(),
    ):
        want = expr(i)
        got = netdef.testing.run(netdef.testing.define_like(_Fn(expr), i), i)
        assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
        netdef.testing.assert_close(got, want)


def test_bitwise_ops_of_integers_are_refused():
    with pytest.raises(netdef.EmitError, match=r"bitwise_not.*~x of the FLOAT tensor `x`: TensorRT has no bitwise"):
        netdef.define(_Fn(lambda x: ~x), {"x": netdef.Input((2, 3))})
    with pytest.raises(netdef.EmitError, match=r"bitwise_and.*expects bool tensors, got INT32 `x`"):
        netdef.define(_Fn(lambda x: x & 1), {"x": netdef.Input((2, 3), dtype="int32")})


def _on(x):
    return F if isinstance(x, netdef.Tensor) else torch


UNIT = lambda: torch.rand(3, 4, 5) * 1.8 - 0.9  # noqa: E731 - asin / acos / atanh domain
ABOVE_ONE = lambda: torch.rand(3, 4, 5) * 3 + 1.05  # noqa: E731 - acosh domain
SMALL = lambda: torch.cat([torch.randn(3, 4, 4) * 1e-6, torch.rand(3, 4, 1) * 3 - 0.5], -1)  # noqa: E731 - log1p / expm1 near 0
SPECIAL = lambda: torch.tensor([[0.5, float("nan"), float("inf"), -float("inf"), -2.0, 0.0, 1e-30, 3.0]])  # noqa: E731
# name -> (expression on either library's tensors, input maker, fp16 too)
MORE = {
    "tan": (lambda x: x.tan(), UNIT, True),
    "asin": (lambda x: _on(x).asin(x), UNIT, True),
    "acos": (lambda x: x.acos(), UNIT, True),
    "atan": (lambda x: x.atan(), ANY, True),
    "sinh": (lambda x: x.sinh(), UNIT, True),
    "cosh": (lambda x: _on(x).cosh(x), UNIT, True),
    "asinh": (lambda x: x.asinh(), ANY, True),
    "acosh": (lambda x: x.acosh(), ABOVE_ONE, True),
    "atanh": (lambda x: x.atanh(), UNIT, True),
    "square": (lambda x: x.square(), ANY, True),
    "log2": (lambda x: x.log2(), POSITIVE, True),
    "log10": (lambda x: _on(x).log10(x), POSITIVE, True),
    "log1p": (lambda x: x.log1p(), lambda: torch.rand(3, 4, 5) * 5 - 0.9, True),
    "log1p-small": (lambda x: x.log1p() / x.abs().amax(), SMALL, False),
    "expm1": (lambda x: x.expm1(), ANY, True),
    "expm1-small": (lambda x: x.expm1() / x.abs().amax(), SMALL, False),
    "trunc": (lambda x: x.trunc(), ANY, True),
    "round-decimals": (lambda x: x.round(decimals=2), ANY, False),
    "round-decimals-negative": (lambda x: _on(x).round(x * 100, decimals=-1), ANY, False),
    "fix": (lambda x: _on(x).fix(x), ANY, False),
    "frac": (lambda x: x.frac(), ANY, True),
    "isnan": (lambda x: x.isnan(), SPECIAL, True),
    "isinf": (lambda x: _on(x).isinf(x), SPECIAL, True),
    "isfinite": (lambda x: x.isfinite(), SPECIAL, True),
    "nan_to_num": (lambda x: x.nan_to_num(), SPECIAL, False),
    "nan_to_num-values": (lambda x: _on(x).nan_to_num(x, nan=1.5, posinf=100.0, neginf=-7.0), SPECIAL, True),
    "log1p-special": (lambda x: x.log1p().nan_to_num(nan=-9.0, posinf=99.0, neginf=-99.0), SPECIAL, False),
    "expm1-special": (lambda x: (x * 10).expm1().nan_to_num(nan=-9.0, posinf=99.0, neginf=-99.0), SPECIAL, False),
    "logical_not-float": (lambda x: x.logical_not(), lambda: torch.tensor([0.0, 1.5, -2.0, 0.0]), False),
    "logical_and-float": (lambda x: x.logical_and(x > 1), lambda: torch.tensor([0.0, 1.5, -2.0, 3.0]), False),
    "logical_xor": (lambda x: (x > 0).logical_xor(x < 1), ANY, False),
    "bitwise_not-bool": (lambda x: ~(x > 0), ANY, False),
    "bitwise_and-bool": (lambda x: (x > 0) & (x < 1), ANY, False),
}
# two operands: x and y (same shape)
BINARY = {
    "atan2": lambda x, y: _on(x).atan2(x, y),
    "atan2-zeros": lambda x, y: _on(x).atan2(x.round(), y.round() + 0.0),  # -0.0 of input (not of other) counts
    "arctan2-method": lambda x, y: x.arctan2(y),
    "hypot": lambda x, y: x.hypot(y),
    "hypot-large": lambda x, y: _on(x).hypot(x * 3e4, y * 3e4) / 3e4,
    "copysign": lambda x, y: x.copysign(y),
    "copysign-zero": lambda x, y: x.copysign(y * 0),
    "copysign-scalar": lambda x, y: _on(x).copysign(x, -1),
    "lerp-scalar": lambda x, y: x.lerp(y, 0.3),
    "lerp-scalar-far": lambda x, y: _on(x).lerp(x, y, 0.8),
    "lerp-tensor": lambda x, y: x.lerp(y, (y - x).sigmoid()),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(MORE))
def test_more_unary_ops_match_torch(name, precision):
    expr, make, fp16 = MORE[name]
    if precision == "fp16" and not fp16:
        pytest.skip("fp32 only: the case tests values fp16 cannot hold")
    x = make()
    want = expr(x)
    got = netdef.testing.run(netdef.testing.define_like(_Fn(expr), x, precision=precision), x)
    if want.dtype == torch.bool:
        assert got.dtype == bool
    netdef.testing.assert_close(got, want, precision)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(BINARY))
def test_two_operand_math_matches_torch(name, precision):
    if precision == "fp16" and name == "hypot-large":
        pytest.skip("fp16 cannot hold the inputs")
    x, y = torch.randn(3, 8) * 2, torch.randn(3, 8) * 2
    x[0, :4], y[0, :4] = torch.tensor([0.0, 1.0, -1.0, 0.0]), torch.tensor([0.0, 0.0, 0.0, -1.0])  # the axes
    netdef.testing.check(_Fn(BINARY[name]), BINARY[name], x, y, precision=precision)


@pytest.mark.parametrize("name", ["log1p", "expm1", "atan2", "hypot", "copysign", "nan_to_num", "trunc", "asinh"])
def test_more_unary_ops_build(name):
    if name in BINARY:
        network = netdef.testing.define_like(_Fn(BINARY[name]), torch.randn(2, 3), torch.randn(2, 3))
    else:
        network = netdef.testing.define_like(_Fn(MORE[name][0]), torch.randn(2, 3))
    netdef.testing.build_engine(network)


def test_more_unary_ops_with_a_dynamic_shape():
    def expr(x):
        return x.log1p().expm1() + _on(x).atan2(x, x.sin()) + x.hypot(x.cos()) + x.trunc() + x.square().isfinite()

    spec = netdef.Input((-1, 3), min=(1, 3), opt=(2, 3), max=(8, 3))
    network = netdef.define(_Fn(expr), {"x": spec})
    for n in (2, 5):
        x = torch.rand(n, 3) + 0.1
        netdef.testing.assert_close(netdef.reference.run(network, {"x": x.numpy()})["output"], expr(x))
