"""Samples of the creation ops: zeros/ones/full(_like), arange, as_tensor (netdef/functional/creation.py, constant.py).

Their sizes come from Python numbers (a constant) or from an input's shape (``prep`` reads ``x.shape[0]``:
a symbolic size in netdef, an int in torch).
"""

from __future__ import annotations

import numpy as np
import torch

from netdef.opsamples import E, S, ints, randn, samples


def _size0(x):
    return (x.shape[0],)


def _filled(like):
    yield S(2, 3)
    yield S((4,))
    yield S(2, 3, dtype="int64").also(ref=lambda *size, dtype: like(size, dtype=torch.int64))
    yield E(lambda op, n: op(n, 3), randn(2, 5)).also(prep=_size0).dyn(0)


@samples("zeros")
def _zeros():
    yield from _filled(torch.zeros)


@samples("ones")
def _ones():
    yield from _filled(torch.ones)


@samples("full")
def _full():
    yield S((2, 3), 1.5)
    yield S((2, 3), 7)  # an int fill: int64, as torch
    yield S((3,), True)
    yield E(lambda op, n: op((n, 2), -2.0), randn(2, 5)).also(prep=_size0).dyn(0)


def _filled_like(like):
    yield S(randn(2, 3))
    yield S(ints(2, 3))
    yield S(randn(2, 3), dtype="int32").also(ref=lambda x, dtype: like(x, dtype=torch.int32))
    yield S(randn(2, 3)).dyn(0, 1)


@samples("zeros_like")
def _zeros_like():
    yield from _filled_like(torch.zeros_like)


@samples("ones_like")
def _ones_like():
    yield from _filled_like(torch.ones_like)


@samples("full_like")
def _full_like():
    yield S(randn(2, 3), 2.5)
    yield S(ints(2, 3), 4)
    yield S(randn(2, 3), -1.0).dyn(0)


@samples("arange")
def _arange():
    yield S(5)
    yield S(2, 9, 3)
    yield S(0.5, 3.0, 0.5)
    yield E(lambda op, n: op(n), randn(4, 2)).also(prep=_size0).dyn(0)
    yield E(lambda op, n: op(1, n, 2), randn(5, 2)).also(prep=_size0).dyn(0)


@samples("as_tensor")
def _as_tensor():
    yield S([1.0, 2.5, -3.0])
    yield S([[1, 2], [3, 4]])
    yield S(np.float32(2.0)).also(ref=lambda v: torch.as_tensor(float(v)))
    yield S([1, 2], dtype="float32").also(ref=lambda d, dtype: torch.as_tensor(d, dtype=torch.float32))
