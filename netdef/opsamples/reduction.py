"""Samples of the reductions, arg/top-k and cumsum (netdef/functional/reduction.py, cumulative.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import S, bools, ints, positive, randn, samples


def _one_dim():
    yield S(randn(2, 3, 4), 1)
    yield S(randn(2, 3, 4), -1, keepdim=True)
    yield S(randn(3, 5), 0).dyn(1)


def _dims():
    yield S(randn(2, 3, 4), (0, 2))
    yield S(randn(2, 3, 4), dim=(1, 2), keepdim=True).dyn(0)


def _all():
    yield S(randn(2, 3, 4))  # every dim: 0-d
    yield S(randn(3, 4)).dyn(0)


@samples("amax", "amin")
def _amax():
    yield from _one_dim()
    yield from _dims()


@samples("mean")
def _mean():
    yield from _one_dim()
    yield from _dims()
    yield from _all()


@samples("prod")
def _prod():
    yield from _one_dim()
    yield S(positive(2, 3, 4, low=0.6, high=1.4))  # every dim: 0-d (near 1, so fp16 neither under- nor overflows)
    yield S(positive(3, 4, low=0.6, high=1.4)).dyn(0)


@samples("sum")
def _sum():
    yield from _one_dim()
    yield from _dims()
    yield from _all()
    yield S(ints(3, 4), 1)
    yield S(bools(3, 4), 1)  # counts, int64 as torch
    yield S(randn(3, 4), 1, dtype="float32").also(ref=lambda x, d, dtype: torch.sum(x, d, dtype=torch.float32))
    yield S(randn(3, 4), 1, dtype=torch.float32)  # a torch dtype object


@samples("argmax", "argmin")
def _arg():
    yield S(randn(3, 4, 5), 1)
    yield S(randn(3, 4, 5), -1, keepdim=True)
    yield S(randn(3, 4))  # over the flattened tensor
    yield S(randn(2, 6), dim=1).dyn(0)
    yield S(randn(2, 6)).dyn(0)  # flattened, dynamic


@samples("max", "min")
def _max():
    yield S(randn(3, 4, 5))  # a 0-d value
    yield S(randn(3, 4, 5), 1)  # (values, indices)
    yield S(randn(3, 4, 5), -1, keepdim=True)
    yield S(randn(3, 4), randn(4))  # elementwise, as torch.max(a, b)
    yield S(randn(2, 6), dim=1).dyn(0)


@samples("topk")
def _topk():
    yield S(randn(3, 8), 3)
    yield S(randn(3, 8, 2), 2, dim=1, largest=False)
    yield S(randn(2, 8), 4).dyn(0)


@samples("cumsum")
def _cumsum():
    yield S(randn(3, 4, 5), 1)
    yield S(randn(3, 4), -1)
    yield S(ints(3, 4), 0)
    yield S(randn(2, 6), dim=1).dyn(0, 1)


@samples("cumprod")
def _cumprod():
    yield S(randn(3, 4, 5), 1)
    yield S(randn(3, 4), -1)
    yield S(randn(3, 4) * (randn(3, 4) > -0.8), 0)  # zeros zero what follows
    yield S(randn(2, 6), dim=1).dyn(0, 1)


@samples("sort")
def _sort():
    yield S(randn(3, 6))
    yield S(randn(4, 3), 0, descending=True)
    yield S(randn(2, 5, 3), dim=1, stable=True)
    yield S(ints(2, 8, low=0, high=3), stable=True)  # ties: the stable order, as torch's
    yield S(randn(2, 6), -1).dyn(0)


@samples("argsort")
def _argsort():
    yield S(randn(3, 6))
    yield S(randn(4, 3), 0, descending=True)
    yield S(ints(2, 8, low=0, high=3), stable=True)
    yield S(randn(2, 6), dim=1).dyn(0)
