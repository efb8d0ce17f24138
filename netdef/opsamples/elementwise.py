"""Samples of the elementwise binary ops, comparisons, logic, clamp and where (netdef/functional/elementwise.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import E, S, bools, ints, positive, randn, samples

#: broadcasting pairs, different ranks on either side
SHAPES = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((4,), (2, 3, 4)), ((2, 1, 4), (3, 1)), ((1, 5), (6, 1))]


@samples("add", "sub", "mul", "subtract", "multiply")
def _arithmetic():
    yield from _tensors()
    yield S(randn(3, 4), 2.5)
    yield S(ints(3, 4), 3)
    yield E(lambda op, x: op(2.0, x), randn(3, 4))  # a Python number first
    yield E(lambda op, x: op(x, 2), randn(3, 4)).also(prep=lambda x: (x.sum(),))  # 0-d stays 0-d


@samples("maximum", "minimum")
def _tensors():
    for a, b in SHAPES:
        yield S(randn(*a), randn(*b))
    yield S(ints(3, 4), ints(4))
    yield S(randn(2, 3, 4), randn(4)).dyn(0, 1)
    yield S(randn(2, 3), randn(2, 3)).dyn(0).dyn(0, input=1)
    yield S(randn(3, 4), randn(4)).also(prep=lambda x, y: (x.sum(), y))  # a 0-d tensor


@samples("div", "divide")
def _div():
    for a, b in SHAPES:
        yield S(randn(*a), positive(*b))
    yield S(randn(3, 4), 2.5)
    yield S(ints(3, 4), ints(4, low=1, high=6))  # true division: float, as torch
    yield E(lambda op, x: op(2.0, x), positive(3, 4))
    yield S(randn(2, 3, 4), positive(4)).dyn(0, 1)


@samples("pow")
def _pow():
    yield S(positive(2, 3, 4), randn(4))
    yield S(positive(2, 1, 4), randn(3, 1))
    yield S(randn(3, 4), 2)
    yield S(randn(3, 4), 3.0)
    yield S(positive(3, 4), 0.5)
    yield E(lambda op, x: op(2.0, x), randn(3, 4))
    yield S(positive(2, 3), randn(2, 3)).dyn(0).dyn(0, input=1)


@samples("eq", "ne", "lt", "le", "gt", "ge")
def _compare():
    a = ints(3, 4, low=-2, high=2).float()
    yield S(a, ints(4, low=-2, high=2).float())
    yield S(randn(3, 4), 0.0)
    yield S(ints(3, 4, low=-2, high=2), ints(3, 1, low=-2, high=2))
    yield S(ints(2, 5, low=-2, high=2), 1).dyn(0, 1)


@samples("logical_and", "logical_or", "logical_xor")
def _logic():
    yield S(bools(3, 4), bools(3, 4))
    yield S(bools(3, 4), bools(4))
    yield S(bools(2, 5), bools(2, 5)).dyn(0).dyn(0, input=1)


@samples("clamp", "clip")
def _clamp():
    yield S(randn(3, 4, 5, scale=2), -1.0, 1.0)
    yield S(randn(3, 4), min=-0.5)
    yield S(randn(3, 4), max=0.5)
    yield S(ints(3, 4, low=-9, high=9), -3, 4)
    yield S(randn(3, 4), randn(4), randn(3, 1).abs())  # tensor bounds
    yield S(randn(2, 5, scale=2), -1.0, 1.0).dyn(0, 1)


@samples("where")
def _where():
    yield S(bools(3, 4), randn(3, 4), randn(3, 4))
    yield S(bools(3, 1), randn(4), randn(3, 4))
    yield S(bools(3, 4), randn(3, 4), 0.0)
    yield S(bools(3, 4), 1.0, randn(3, 4))
    yield S(bools(2, 4), ints(2, 4), ints(2, 4)).dyn(0).dyn(0, input=1).dyn(0, input=2)


@samples("masked_fill")
def _masked_fill():
    yield S(randn(3, 4), bools(3, 4), -1e4)
    yield S(randn(2, 3, 4), bools(1, 1, 4), 0.0)
    yield S(ints(3, 4), bools(3, 4), 7)
    yield S(randn(2, 4), bools(2, 4), 5.0).dyn(0).dyn(0, input=1)


@samples("floor_divide", "remainder")
def _floor_division():
    yield from _fmod()
    yield E(lambda op, x: op(7, x), torch.tensor([2, -3, 4, -5], dtype=torch.int32))  # a Python number first


@samples("fmod")
def _fmod():
    divisors = torch.tensor([2.0, -1.5, 0.75, -3.0])
    yield S(randn(3, 4, scale=5), divisors)
    yield S(randn(3, 4, scale=5), 2.5)
    yield S(ints(3, 4, low=-20, high=20), torch.tensor([2, -3, 4, -5], dtype=torch.int32))  # integers stay integers
    yield S(ints(3, 4, low=-20, high=20), -3)
    yield S(randn(2, 4, scale=5), divisors).dyn(0)


@samples("bitwise_and", "bitwise_or", "bitwise_xor")
def _bitwise():
    yield S(bools(3, 4), bools(3, 4))
    yield S(bools(2, 3, 4), bools(4))
    yield S(bools(2, 5), bools(2, 5)).dyn(0).dyn(0, input=1)
