"""Samples of the shape ops: reshape, permute, cat/stack/split, squeeze, expand... (netdef/functional/shape.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import E, S, ints, randn, samples


@samples("reshape", "view")
def _reshape():
    yield S(randn(2, 3, 4), (6, 4))
    yield S(randn(2, 3, 4), (4, -1))
    yield S(randn(2, 3, 4), (24,))
    yield S(randn(2, 4, 3), (-1,))
    yield S(randn(2, 4, 3), 4, -1).also(ref=lambda x, *shape: torch.reshape(x, shape))  # sizes as arguments
    yield S(ints(2, 6), (3, 2, 2))
    yield S(randn(2, 3, 4), (-1, 12)).dyn(0)
    yield E(lambda op, x, n: op(x, (n, -1, 2)), randn(2, 3, 4)).also(prep=lambda x: (x, x.shape[0])).dyn(0)


@samples("flatten")
def _flatten():
    yield S(randn(2, 3, 4, 5))
    yield S(randn(2, 3, 4, 5), 1)
    yield S(randn(2, 3, 4, 5), start_dim=1, end_dim=2)
    yield S(randn(2, 3, 4, 5), -3, -2)
    yield S(randn(2, 3, 4), 1).dyn(0)
    yield S(randn(2, 3, 4), 0, 1).dyn(0, 2)


@samples("unflatten")
def _unflatten():
    yield S(randn(2, 12), 1, (3, 4))
    yield S(randn(2, 12, 5), -2, (2, -1))
    yield S(randn(2, 12), 1, (3, 4)).dyn(0)


@samples("permute")
def _permute():
    yield S(randn(2, 3, 4), (2, 0, 1))
    yield S(randn(2, 3, 4, 5), (0, 2, 3, 1))
    yield S(randn(2, 3, 4), (0, -1, 1)).dyn(0, 2)


@samples("transpose")
def _transpose():
    yield S(randn(2, 3, 4), 1, 2)
    yield S(randn(2, 3, 4), -1, 0)
    yield S(randn(2, 3, 4), 0, 1).dyn(0)


@samples("t")
def _t():
    yield S(randn(3, 4))
    yield S(randn(5))
    yield S(randn(3, 4)).dyn(0)


@samples("squeeze")
def _squeeze():
    yield S(randn(2, 1, 4, 1))
    yield S(randn(2, 1, 4), 1)
    yield S(randn(2, 1, 4), 0)  # not of size 1: unchanged
    yield S(randn(2, 1, 4, 1), (1, 3))
    yield S(randn(2, 1, 4), 1).dyn(0, 2)


@samples("unsqueeze")
def _unsqueeze():
    yield S(randn(2, 3), 0)
    yield S(randn(2, 3), -1)
    yield S(randn(2, 3), 1).dyn(0)


@samples("cat")
def _cat():
    yield S([randn(2, 3), randn(4, 3)])
    yield S([randn(2, 3), randn(2, 1), randn(2, 2)], 1)
    yield S([randn(2, 3, 4), randn(2, 3, 4)], dim=-1)
    yield S([ints(2, 3), ints(2, 3)], 0)
    yield S([randn(2, 3), randn(2, 3)], 1).dyn(0).dyn(0, input=1)


@samples("stack")
def _stack():
    yield S([randn(2, 3), randn(2, 3)])
    yield S([randn(2, 3), randn(2, 3), randn(2, 3)], -1)
    yield S([randn(2, 3), randn(2, 3)], 1).dyn(0).dyn(0, input=1)
    yield E(lambda op, a, b: op([a, b]), randn(3), randn(3)).also(prep=lambda a, b: (a.sum(), b.sum()))  # 0-d


@samples("split")
def _split():
    yield S(randn(6, 3), 2)
    yield S(randn(7, 3), 3)  # the last piece shorter
    yield S(randn(2, 6), [1, 2, 3], 1)
    yield S(randn(2, 6), 4, dim=-1)
    yield S(randn(2, 6), 3, 1).dyn(0)
    yield S(randn(4, 3), [1, 3], 0).dyn(1)


@samples("chunk")
def _chunk():
    yield S(randn(6, 3), 3)
    yield S(randn(7, 3), 3)
    yield S(randn(2, 5), 2, 1)
    yield S(randn(2, 6), 3, dim=1).dyn(0)
    yield S(randn(4, 3), 2).dyn(0)


@samples("unbind")
def _unbind():
    yield S(randn(3, 4))
    yield S(randn(2, 3, 4), 1)
    yield S(randn(2, 3, 4), -1).dyn(0)


@samples("expand")
def _expand():
    yield S(randn(3, 1), 3, 4)
    yield S(randn(1, 4), 2, 3, 4)
    yield S(randn(3, 1), -1, 5)
    yield S(randn(2, 1, 4), -1, 3, -1).dyn(0)
    yield E(lambda op, x, n: op(x, n, 3), randn(2, 1)).also(prep=lambda x: (x, x.shape[0])).dyn(0)


@samples("expand_as")
def _expand_as():
    yield S(randn(3, 1), randn(3, 4))
    yield S(randn(4), randn(2, 3, 4))
    yield S(randn(1, 4), randn(2, 4)).dyn(0, input=1)


@samples("repeat")
def _repeat():
    yield S(randn(2, 3), 2, 1)
    yield S(randn(2, 3), 1, 2, 2)
    yield S(randn(2, 3), 3, 2).dyn(0)


@samples("view_as", "reshape_as")
def _view_as():
    yield S(randn(2, 6), randn(3, 4))
    yield S(randn(2, 3, 4), randn(2, 12)).dyn(0).dyn(0, input=1)
