"""Samples of the unary math ops (netdef/functional/unary.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import S, bools, ints, positive, randn, samples


@samples("ceil", "cos", "erf", "exp", "floor", "sin")
def _any():
    yield S(randn(3, 4, 5, scale=2))
    yield S(randn(7)).dyn(0)
    yield S(randn(2, 3, 4, scale=2)).dyn(0, 2)


@samples("log", "reciprocal", "rsqrt", "sqrt")
def _positive():
    yield S(positive(3, 4, 5))
    yield S(positive(2, 3)).dyn(0)


@samples("abs", "neg", "sign")
def _signed():
    yield S(randn(3, 4, 5, scale=2))
    yield S(torch.tensor([-2.0, 0.0, 3.0, -0.0]))
    yield S(randn(7)).dyn(0)
    yield S(ints(3, 4))
    yield S(ints(2, 3, dtype=torch.int64)).dyn(1)


@samples("round")
def _round():
    yield S(torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 2.51, -3.7]))  # halves to even, as torch
    yield S(randn(3, 4, scale=30), decimals=-1).also(fp16=False)
    yield S(ints(3, 4))  # integers stay as they are
    yield S(randn(4, 5, scale=3)).dyn(0)


@samples("logical_not")
def _logical_not():
    yield S(bools(3, 4))
    yield S(bools(2, 5)).dyn(0, 1)


@samples("atan", "asinh", "sinh", "cosh", "expm1", "trunc", "fix", "frac", "square")
def _any_more():
    yield S(randn(3, 4, 5, scale=2))
    yield S(randn(7)).dyn(0)


@samples("tan", "asin", "acos", "atanh")
def _unit():
    yield S(positive(3, 4, low=-0.9, high=0.9))
    yield S(positive(7, low=-0.9, high=0.9)).dyn(0)


@samples("acosh")
def _above_one():
    yield S(positive(3, 4, low=1.1, high=5.0))
    yield S(positive(7, low=1.1, high=5.0)).dyn(0)


@samples("log2", "log10", "log1p")
def _positive_more():
    yield S(positive(3, 4, 5))
    yield S(positive(2, 3)).dyn(0)


_SPECIAL = [[0.5, float("nan"), float("inf"), -float("inf"), -2.0, 0.0]]


@samples("isnan", "isinf", "isfinite")
def _special():
    yield S(torch.tensor(_SPECIAL))
    yield S(ints(3, 4))  # integers are never NaN or infinite
    yield S(randn(7)).dyn(0)


@samples("nan_to_num")
def _nan_to_num():
    yield S(torch.tensor(_SPECIAL)).also(fp16=False)  # the default for inf is the dtype's largest value
    yield S(torch.tensor(_SPECIAL), nan=1.5, posinf=100.0, neginf=-7.0)
    yield S(randn(7)).dyn(0)


@samples("atan2", "arctan2", "hypot", "copysign")
def _two_operands():
    yield S(randn(3, 4, scale=2), randn(3, 4, scale=2))
    yield S(randn(2, 3, 4), randn(4))
    yield S(randn(2, 5), randn(2, 5)).dyn(0).dyn(0, input=1)


@samples("lerp")
def _lerp():
    yield S(randn(3, 4), randn(3, 4), 0.3)
    yield S(randn(3, 4), randn(3, 4), 0.8)
    yield S(randn(3, 4), randn(4), positive(3, 4, low=-0.5, high=1.5))
    yield S(randn(2, 5), randn(2, 5), 0.25).dyn(0).dyn(0, input=1)


@samples("bitwise_not")
def _bitwise_not():
    yield S(bools(3, 4))
    yield S(bools(2, 5)).dyn(0)
