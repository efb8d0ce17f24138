"""Samples of pooling (netdef/functional/pooling.py)."""

from __future__ import annotations

from netdef.opsamples import S, randn, samples


@samples("max_pool2d")
def _max_pool2d():
    yield S(randn(2, 3, 8, 8), 2)
    yield S(randn(1, 2, 9, 7), 3, 2, 1)
    yield S(randn(1, 2, 9, 7), (3, 2), ceil_mode=True)
    yield S(randn(1, 2, 8, 8), 3, stride=1, padding=1).dyn(0, 2, 3)


@samples("max_pool1d")
def _max_pool1d():
    yield S(randn(2, 3, 10), 2)
    yield S(randn(2, 3, 11), 3, 2, 1, ceil_mode=True)
    yield S(randn(2, 3, 10), 3, stride=2).dyn(0, 2)


@samples("avg_pool2d")
def _avg_pool2d():
    yield S(randn(2, 3, 8, 8), 2)
    yield S(randn(1, 2, 9, 7), 3, 2, 1)
    yield S(randn(1, 2, 9, 7), 3, 2, 1, count_include_pad=False)
    yield S(randn(1, 2, 9, 7), (3, 2), ceil_mode=True)
    yield S(randn(1, 2, 8, 8), 3, stride=1, padding=1).dyn(0, 2, 3)


@samples("avg_pool1d")
def _avg_pool1d():
    yield S(randn(2, 3, 10), 2)
    yield S(randn(2, 3, 11), 3, 2, 1, count_include_pad=False)
    yield S(randn(2, 3, 10), 3, stride=2).dyn(0, 2)


@samples("adaptive_avg_pool2d", "adaptive_max_pool2d")
def _adaptive2d():
    yield S(randn(2, 3, 8, 8), 1)
    yield S(randn(2, 3, 8, 8), (2, 4))
    yield S(randn(1, 2, 7, 5), 3)  # uneven windows
    yield S(randn(1, 2, 6, 9), (None, 3))
    yield S(randn(2, 3, 8, 8), 1).dyn(0, 2, 3)


@samples("adaptive_avg_pool1d", "adaptive_max_pool1d")
def _adaptive1d():
    yield S(randn(2, 3, 8), 1)
    yield S(randn(2, 3, 8), 4)
    yield S(randn(2, 3, 7), 3)
    yield S(randn(2, 3, 8), 2).dyn(0)
