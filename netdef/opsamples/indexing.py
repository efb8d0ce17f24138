"""Samples of indexing: getitem, select, narrow, index_select (netdef/functional/indexing.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import E, S, ints, randn, samples


@samples("getitem")
def _getitem():
    yield S(randn(4, 5), 1)
    yield S(randn(4, 5), -1)
    yield S(randn(4, 5, 6), (slice(1, 3), slice(None, None, 2)))
    yield S(randn(4, 5, 6), (Ellipsis, 0))
    yield S(randn(4, 5), (None, slice(None), 2))
    yield S(randn(4, 5), (slice(-3, None), slice(1, 100)))  # out-of-range bounds clamp
    yield S(randn(4, 5), (slice(None), [0, 3, 3]))  # a list of ints: a gather
    yield S(randn(6, 3), ints(2, 2, low=0, high=6, dtype=torch.int64))  # an index tensor
    yield S(randn(2, 5, 3), (0, slice(1, -1))).dyn(0, 1)
    yield S(randn(3, 6), (Ellipsis, slice(None, None, 2))).dyn(0, 1)


@samples("select")
def _select():
    yield S(randn(3, 4, 5), 1, 2)
    yield S(randn(3, 4, 5), -1, -1)
    yield S(randn(3, 4), 0, 1).dyn(1)
    yield E(lambda op, x, n: op(x, 0, n - 1), randn(3, 4)).also(prep=lambda x: (x, x.shape[0])).dyn(0)


@samples("narrow")
def _narrow():
    yield S(randn(4, 6), 1, 2, 3)
    yield S(randn(4, 6), 0, -3, 2)
    yield S(randn(4, 6), 1, 1, 4).dyn(0)
    yield E(lambda op, x, n: op(x, 0, 1, n - 1), randn(3, 4)).also(prep=lambda x: (x, x.shape[0])).dyn(0)


@samples("index_select")
def _index_select():
    yield S(randn(5, 4), 0, ints(3, low=0, high=5, dtype=torch.int64))
    yield S(randn(3, 6), 1, ints(4, low=0, high=6, dtype=torch.int32))
    yield S(randn(5, 4), -1, ints(2, low=0, high=4, dtype=torch.int64)).dyn(0)
    yield S(randn(5, 4), 0, ints(3, low=0, high=5, dtype=torch.int64)).dyn(0, input=1)


def _distinct(rows: int, size: int, take: int) -> torch.Tensor:
    """int64 indices (rows, take), distinct within each row (a scatter with no write repeated)."""
    return randn(rows, size).argsort(dim=1)[:, :take]


@samples("gather")
def _gather():
    yield S(randn(3, 5), 1, ints(3, 4, low=0, high=5, dtype=torch.int64))
    yield S(randn(4, 3), 0, ints(2, 3, low=0, high=4, dtype=torch.int64))
    yield S(randn(2, 4, 3), -1, ints(2, 4, 5, low=0, high=3, dtype=torch.int32))
    yield S(randn(3, 5), 1, ints(3, 4, low=0, high=5, dtype=torch.int64)).dyn(0).dyn(0, input=1)


@samples("scatter")
def _scatter():
    yield S(randn(3, 5), 1, _distinct(3, 5, 3), randn(3, 3))
    yield S(randn(3, 5), 1, _distinct(3, 5, 2), value=2.5)
    yield S(randn(5, 3), 0, _distinct(3, 5, 2).T.contiguous(), randn(2, 3))
    yield S(randn(3, 5), 1, _distinct(3, 5, 3), randn(3, 3)).dyn(0).dyn(0, input=1).dyn(0, input=2)


def _set(x: torch.Tensor, index, value) -> torch.Tensor:
    y = x.clone()
    y[index] = value
    return y


@samples("setitem")
def _setitem():
    yield S(randn(4, 5), 1, 0.0).also(ref=_set)
    yield S(randn(4, 5), (slice(1, 3), slice(None, None, 2)), randn(2, 3)).also(ref=_set)
    yield S(randn(4, 5), (Ellipsis, -1), randn(4)).also(ref=_set)
    yield S(randn(2, 4, 5), (slice(None), 1), 3.0).also(ref=_set)
    yield S(randn(3, 4), randn(3, 4) > 0, 0.0).also(ref=_set)  # a bool mask
    yield S(randn(5, 3), ints(2, low=0, high=5, dtype=torch.int64), randn(2, 3)).also(ref=_set)  # an index tensor
    yield S(ints(3, 4), (0, slice(None)), 7).also(ref=_set)
    yield S(randn(4, 5), (slice(None), 2), 1.0).also(ref=_set).dyn(0)
    yield S(randn(3, 4), randn(3, 4) > 0, -1.0).also(ref=_set).dyn(0).dyn(0, input=1)
