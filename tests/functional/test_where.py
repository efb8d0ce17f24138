"""Comparisons, bool logic, where / masked_fill, clamp and pow against torch."""

from __future__ import annotations

import operator

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn as _Fn

NAN_X = torch.tensor([[1.0, float("nan"), -2.0, 3.0], [0.5, 0.5, float("-inf"), float("inf")]])
NAN_Y = torch.tensor([[1.0, 1.0, float("nan"), 2.0], [0.5, -0.5, float("-inf"), 1.0]])

COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


@pytest.mark.parametrize("name", list(COMPARE))
def test_comparison_operators_with_nan_and_ties(parity, name):
    op = COMPARE[name]
    parity.check(parity.Fn(op), op, NAN_X, NAN_Y, build=name == "ge")


@pytest.mark.parametrize("name", list(COMPARE))
def test_comparison_functions_and_methods_broadcast_with_scalars(parity, name):
    x = torch.randint(-2, 3, (2, 3, 4)).float()
    fn = getattr(F, name)
    parity.check(parity.Fn(lambda x: fn(x[0], x[:, :1])), lambda x: getattr(torch, name)(x[0], x[:, :1]), x)
    parity.check(parity.Fn(lambda x: getattr(x, name)(0.0)), lambda x: getattr(x, name)(0.0), x)
    op = COMPARE[name]
    parity.check(parity.Fn(lambda x: op(1.0, x)), lambda x: op(1.0, x), x)  # reflected


@pytest.mark.parametrize("name", ["lt", "ge", "le", "ne"])
def test_integer_comparisons(parity, name):
    op = COMPARE[name]
    x, y = torch.randint(-3, 4, (3, 5), dtype=torch.int32), torch.randint(-3, 4, (5,), dtype=torch.int32)
    parity.check(parity.Fn(op), op, x, y, build=name == "le")


LOGIC = {
    "and": (lambda a, b: (a > 0) & (b > 0), lambda a, b: (a > 0) & (b > 0)),
    "or": (lambda a, b: (a > 0) | (b < 0), lambda a, b: (a > 0) | (b < 0)),
    "xor": (lambda a, b: (a > 0) ^ (b > 0), lambda a, b: (a > 0) ^ (b > 0)),
    "not": (lambda a, b: ~(a > b), lambda a, b: ~(a > b)),
    "functional": (
        lambda a, b: F.logical_or(F.logical_not(a > 0), F.logical_and(b > 0, True)),
        lambda a, b: torch.logical_or(torch.logical_not(a > 0), torch.logical_and(b > 0, torch.tensor(True))),
    ),
}


@pytest.mark.parametrize("name", list(LOGIC))
def test_bool_logic(parity, name):
    fn, ref = LOGIC[name]
    parity.check(parity.Fn(fn), ref, torch.randn(3, 4), torch.randn(4), build=name == "xor")


WHERE = {
    "tensors": (lambda c, x, y: F.where(c > 0, x, y), lambda c, x, y: torch.where(c > 0, x, y)),
    "scalar-other": (lambda c, x, y: F.where(c > 0, x, 0.0), lambda c, x, y: torch.where(c > 0, x, 0.0)),
    "scalar-input": (lambda c, x, y: F.where(c > 0, -1.5, y), lambda c, x, y: torch.where(c > 0, -1.5, y)),
    "neg-inf-then-exp": (
        lambda c, x, y: F.where(c > 0, x, float("-inf")).exp(),
        lambda c, x, y: torch.where(c > 0, x, float("-inf")).exp(),
    ),
    "two-scalars": (
        lambda c, x, y: F.where(c > 0, 2.0, -3.0) + x,
        lambda c, x, y: torch.where(c > 0, 2.0, -3.0) + x,
    ),
    "masked_fill": (lambda c, x, y: x.masked_fill(c > 0, 7.0), lambda c, x, y: x.masked_fill(c > 0, 7.0)),
    "masked_fill-broadcast-mask": (
        lambda c, x, y: x.masked_fill(c[0] < 0, -1e4),
        lambda c, x, y: x.masked_fill(c[0] < 0, -1e4),
    ),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(WHERE))
def test_where(parity, name, precision):
    fn, ref = WHERE[name]
    c, x, y = torch.randn(4, 1, 5), torch.randn(3, 5), torch.randn(4, 3, 1)
    parity.check(parity.Fn(fn), ref, c, x, y, precision=precision, build=precision == "fp32" and name == "tensors")


def test_where_on_ints(parity):
    c, x = torch.randn(3, 4), torch.randint(-9, 9, (3, 4), dtype=torch.int32)
    parity.check(parity.Fn(lambda c, x: F.where(c > 0, x, 0)), lambda c, x: torch.where(c > 0, x, 0), c, x, build=True)


def test_where_of_two_python_ints_is_int64_like_torch(parity):
    net = parity.check(
        parity.Fn(lambda c: F.where(c > 0, 1, -2)), lambda c: torch.where(c > 0, 1, -2), torch.randn(3, 4)
    )
    assert net.network.get_output(0).dtype.name == "INT64"


CLAMP = {
    "both": (lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7)),
    "min-only": (lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1)),
    "max-only": (lambda x: F.clamp(x, max=-0.2), lambda x: torch.clamp(x, max=-0.2)),
    "min-above-max": (lambda x: x.clamp(1.0, -1.0), lambda x: x.clamp(1.0, -1.0)),
    "clip": (lambda x: F.clip(x, -1, 1), lambda x: torch.clip(x, -1, 1)),
    "tensor-bounds": (lambda x: x.clamp(x[0], x[1].abs()), lambda x: x.clamp(x[0], x[1].abs())),
    "pow-int": (lambda x: x**2, lambda x: x**2),
    "pow-3": (lambda x: x**3, lambda x: x**3),
    "pow-half": (lambda x: x.abs() ** 0.5, lambda x: x.abs() ** 0.5),
    "pow-negative": (lambda x: (x.abs() + 0.5).pow(-1.5), lambda x: (x.abs() + 0.5).pow(-1.5)),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x),
    "pow-tensor": (lambda x: x.abs() ** x[0], lambda x: x.abs() ** x[0]),
    "pow-functional": (lambda x: F.pow(x.abs() + 0.1, 1.7), lambda x: torch.pow(x.abs() + 0.1, 1.7)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(CLAMP))
def test_clamp_and_pow(parity, name, precision):
    fn, ref = CLAMP[name]
    parity.check(
        parity.Fn(fn),
        ref,
        torch.randn(3, 4, 5),
        precision=precision,
        build=precision == "fp32" and name in ("both", "pow-3"),
    )


def test_integer_clamp_and_square(parity):
    x = torch.randint(-20, 20, (4, 5), dtype=torch.int32)
    parity.check(parity.Fn(lambda x: x.clamp(-3, 5) ** 2), lambda x: x.clamp(-3, 5) ** 2, x, build=True)


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        (lambda x: F.where(x, x, x), r"`condition` must be a bool tensor \(e.g. x > 0\), got FLOAT"),
        (lambda x: F.where(x > 0, x, "a"), r"expected a netdef.Tensor or a Python number, got str"),
        (lambda x: (x > 0) & x, r"bitwise_and.*expects bool tensors, got FLOAT"),
        (lambda x: F.clamp(x), r"give at least one of `min` and `max`"),
        (lambda x: F.where(x[:, :2] > 0, x, 0.0), r"cannot be broadcast together"),
    ],
)
def test_errors(expr, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Fn(expr), {"x": netdef.Input((3, 4))})


def test_tensors_stay_hashable():
    seen = {}

    def fn(x):
        seen[x] = 1
        return x + 0

    netdef.define(_Fn(fn), {"x": netdef.Input((2,))})
    assert len(seen) == 1
