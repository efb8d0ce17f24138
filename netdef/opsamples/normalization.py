"""Samples of normalization, padding and resizing (netdef/functional/normalization.py, padding.py, resize.py)."""

from __future__ import annotations

import numpy as np

from netdef.opsamples import E, S, randn, samples, weight


def _var(n: int) -> np.ndarray:
    return np.abs(weight(n)) + 0.1


@samples("batch_norm")
def _batch_norm():
    yield S(randn(2, 3, 4, 4), weight(3), _var(3), weight(3), weight(3))
    yield S(randn(4, 3), weight(3), _var(3))
    yield S(randn(2, 3, 5), weight(3), _var(3), weight(3), weight(3), eps=1e-3)
    yield S(randn(2, 3, 4, 4), weight(3), _var(3), weight(3), weight(3)).dyn(0, 2)


@samples("layer_norm")
def _layer_norm():
    yield S(randn(2, 5, 8), (8,), weight(8), weight(8))
    yield S(randn(2, 3, 4), (3, 4))
    yield S(randn(2, 5, 8), [8], weight(8), None, 1e-3)
    yield S(randn(2, 5, 8), (8,), weight(8), weight(8)).dyn(0, 1)


@samples("group_norm")
def _group_norm():
    yield S(randn(2, 6, 4, 4), 3, weight(6), weight(6))
    yield S(randn(2, 4, 5), 2)
    yield S(randn(2, 6, 4, 4), 6, weight(6), weight(6), eps=1e-3)
    yield S(randn(2, 6, 4, 4), 2, weight(6), weight(6)).dyn(0, 2, 3)


@samples("instance_norm")
def _instance_norm():
    yield S(randn(2, 3, 5, 5))
    yield S(randn(2, 3, 6), weight=weight(3), bias=weight(3))
    yield S(randn(2, 3, 4, 4), weight(3), _var(3), weight(3), weight(3), use_input_stats=False)
    yield S(randn(2, 3, 5, 5), weight=weight(3), bias=weight(3)).dyn(0, 2)


@samples("pad")
def _pad():
    yield S(randn(2, 3, 4), (1, 2))
    yield S(randn(2, 3, 4, 5), (1, 0, 2, 1), value=1.5)
    yield S(randn(2, 3, 4, 5), (1, 2, 2, 1), "reflect")
    yield S(randn(2, 3, 4, 5), (1, 2, 2, 1), "replicate")
    yield S(randn(2, 3, 4, 5), (1, 2, 2, 1), mode="circular")
    yield S(randn(2, 3, 6), (-1, 2))  # a negative pad crops
    yield S(randn(2, 3, 4, 5), (1, 1, 2, 2), "reflect").dyn(0, 2, 3)
    yield S(randn(2, 3, 4), (2, 1), value=-1.0).dyn(0, 2)


@samples("interpolate")
def _interpolate():
    yield S(randn(1, 2, 4, 5), scale_factor=2)
    yield S(randn(1, 2, 4, 5), size=(7, 3))
    yield S(randn(1, 2, 4, 5), scale_factor=2, mode="bilinear")
    yield S(randn(1, 2, 4, 5), size=(6, 8), mode="bilinear", align_corners=True)
    yield S(randn(2, 3, 4, 6), scale_factor=(1.5, 2.5), mode="bilinear", align_corners=True)
    yield S(randn(1, 2, 4, 5), scale_factor=1.5, mode="bicubic")
    yield S(randn(1, 2, 6), scale_factor=2, mode="linear")
    yield S(randn(1, 2, 3, 4, 4), scale_factor=2, mode="trilinear")
    yield S(randn(1, 2, 4, 5), size=(6, 7), mode="nearest-exact")
    yield S(randn(1, 2, 4, 5), scale_factor=2, mode="bilinear").dyn(0, 2, 3)
    yield S(randn(1, 2, 4, 5), size=(3, 3)).dyn(2, 3)
    yield S(randn(1, 2, 6, 7), size=(3, 2), mode="area")  # adaptive average pooling, as torch
    yield S(randn(1, 2, 4, 6), scale_factor=1.3, mode="bilinear")  # a fractional scale: torch maps by 1 / scale
    yield E(lambda op, x, n: op(x, size=(n, 4)), randn(1, 2, 4, 5)).also(prep=lambda x: (x, x.shape[2] * 2)).dyn(2)


@samples("upsample")
def _upsample():
    yield S(randn(1, 2, 4, 5), scale_factor=2)
    yield S(randn(2, 3, 4, 6), size=(3, 8))
    yield S(randn(1, 2, 4, 5), size=(6, 6), mode="bilinear", align_corners=False)
    yield S(randn(1, 2, 4, 5), scale_factor=2).dyn(0)


@samples("upsample_bilinear", "upsample_nearest")
def _upsample_fixed():
    yield S(randn(1, 2, 4, 5), scale_factor=2)
    yield S(randn(2, 3, 4, 6), scale_factor=3)
    yield S(randn(1, 2, 4, 5), size=(6, 7))
    yield S(randn(2, 3, 4, 6), size=(8, 3))
    yield S(randn(1, 2, 4, 5), scale_factor=2).dyn(0)
