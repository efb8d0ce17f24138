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
    yield S(randn(4, 5, scale=3)).dyn(0)


@samples("logical_not")
def _logical_not():
    yield S(bools(3, 4))
    yield S(bools(2, 5)).dyn(0, 1)
