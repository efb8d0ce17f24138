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


def test_float_only_ops_refuse_integers():
    with pytest.raises(netdef.EmitError, match=r"sqrt.*expects a float tensor, got INT32 `x`; cast it first"):
        netdef.define(_Fn(F.sqrt), {"x": netdef.Input((2, 3), dtype="int32")})
    with pytest.raises(netdef.EmitError, match=r"logical_not.*expects a bool tensor, got FLOAT"):
        netdef.define(_Fn(lambda x: ~x), {"x": netdef.Input((2, 3))})
