"""Samples of the matrix builders: tril/triu, eye, diag, one_hot, meshgrid, linspace (netdef/functional/matrix.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import E, S, ints, randn, samples


def _size0(x):
    return (x.shape[0],)


@samples("tril")
def _tril():
    yield S(randn(3, 4))
    yield S(randn(2, 4, 4), 1)
    yield S(randn(4, 3), -2)
    yield S(ints(3, 3), diagonal=0)
    yield S(randn(3, 5), -1).dyn(0, 1)


@samples("triu")
def _triu():
    yield S(randn(3, 4))
    yield S(randn(2, 4, 4), -1)
    yield S(randn(4, 3), 2)
    yield S(ints(3, 3), diagonal=1)
    yield S(randn(3, 5), 1).dyn(0, 1)


@samples("eye")
def _eye():
    yield S(3)
    yield S(2, 4)
    yield S(3, dtype="int32").also(ref=lambda n, dtype: torch.eye(n, dtype=torch.int32))
    yield E(lambda op, n: op(n), randn(3, 2)).also(prep=_size0).dyn(0)
    yield E(lambda op, n: op(n, 4), randn(3, 2)).also(prep=_size0).dyn(0)


@samples("diag")
def _diag():
    yield S(randn(4))  # a vector: the diagonal matrix
    yield S(randn(3), 1)
    yield S(randn(3), -2)
    yield S(randn(3, 4))  # a matrix: its diagonal
    yield S(randn(4, 3), -1)
    yield S(randn(3, 5), 2)
    yield S(ints(3, 3))
    yield S(randn(4)).dyn(0)
    yield S(randn(3, 4), 1).dyn(0, 1)


@samples("one_hot")
def _one_hot():
    yield S(ints(5, low=0, high=4, dtype=torch.int64), 4)
    yield S(ints(2, 3, low=0, high=6, dtype=torch.int64), num_classes=7)
    yield S(ints(4, 2, low=0, high=3, dtype=torch.int64), 3).dyn(0, 1)


@samples("meshgrid")
def _meshgrid():
    yield S(randn(3), randn(4), indexing="ij")
    yield S(randn(3), randn(4), indexing="xy")
    yield S(randn(2), randn(3), randn(4), indexing="ij")
    yield S(randn(3), randn(2), indexing="ij").dyn(0).dyn(0, input=1)
    yield S(randn(3), randn(2), indexing="xy").dyn(0)


@samples("linspace")
def _linspace():
    yield S(0.0, 1.0, 5)
    yield S(-2.0, 3.0, 1)
    yield S(5.0, -1.0, 7)
    yield E(lambda op, n: op(0.0, 1.0, n), randn(4, 2)).also(prep=_size0).dyn(0)
