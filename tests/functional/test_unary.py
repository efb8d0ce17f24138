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


# name -> (netdef expression, torch expression, input maker)
POSITIVE = lambda: torch.rand(3, 4, 5) * 4 + 0.05  # noqa: E731 - sqrt / log / rsqrt domain
ANY = lambda: torch.randn(3, 4, 5) * 2  # noqa: E731
OPS = {
    "sqrt": (F.sqrt, torch.sqrt, POSITIVE),
    "rsqrt": (F.rsqrt, torch.rsqrt, POSITIVE),
    "exp": (F.exp, torch.exp, ANY),
    "log": (F.log, torch.log, POSITIVE),
    "abs": (F.abs, torch.abs, ANY),
    "neg": (F.neg, torch.neg, ANY),
    "reciprocal": (F.reciprocal, torch.reciprocal, POSITIVE),
    "erf": (F.erf, torch.erf, ANY),
    "sin": (F.sin, torch.sin, ANY),
    "cos": (F.cos, torch.cos, ANY),
    "floor": (F.floor, torch.floor, ANY),
    "ceil": (F.ceil, torch.ceil, ANY),
    "round": (F.round, torch.round, lambda: torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 2.51, -3.7])),
    "sign": (F.sign, torch.sign, lambda: torch.tensor([-2.0, 0.0, 3.0, -0.0])),
    "method-sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), POSITIVE),
    "method-rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt(), POSITIVE),
    "method-exp": (lambda x: x.exp(), lambda x: x.exp(), ANY),
    "method-log": (lambda x: x.log(), lambda x: x.log(), POSITIVE),
    "method-abs": (lambda x: x.abs(), lambda x: x.abs(), ANY),
    "builtin-abs": (abs, abs, ANY),
    "method-neg": (lambda x: x.neg(), lambda x: x.neg(), ANY),
    "method-reciprocal": (lambda x: x.reciprocal(), lambda x: x.reciprocal(), POSITIVE),
    "method-erf": (lambda x: x.erf(), lambda x: x.erf(), ANY),
    "layernorm-like": (_layernorm, _layernorm, ANY),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(OPS))
def test_unary_matches_torch(parity, name, precision):
    fn, ref, make = OPS[name]
    build = precision == "fp32" and name in ("rsqrt", "erf", "round")
    parity.check(parity.Fn(fn), ref, make(), precision=precision, build=build)


@pytest.mark.parametrize("name", ["abs", "neg", "sign"])
def test_integer_unary(parity, name):
    fn, ref, _ = OPS[name]
    parity.check(parity.Fn(fn), ref, torch.randint(-9, 10, (3, 4), dtype=torch.int32), build=name == "abs")


def test_float_only_ops_refuse_integers():
    with pytest.raises(netdef.EmitError, match=r"sqrt.*expects a float tensor, got INT32 `x`; cast it first"):
        netdef.define(_Fn(F.sqrt), {"x": netdef.Input((2, 3), dtype="int32")})
    with pytest.raises(netdef.EmitError, match=r"logical_not.*expects a bool tensor, got FLOAT"):
        netdef.define(_Fn(lambda x: ~x), {"x": netdef.Input((2, 3))})
