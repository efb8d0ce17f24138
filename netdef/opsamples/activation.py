"""Samples of the activations (netdef/functional/activation.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import S, randn, samples, weight


def _with_kink(*shape: int) -> torch.Tensor:
    x = randn(*shape, scale=3)  # reaches the saturated regions of sigmoid/tanh/gelu
    x.view(-1)[0] = 0.0  # the kink of relu / leaky_relu
    return x


@samples("relu", "relu6", "sigmoid", "tanh", "silu", "selu", "mish", "hardsigmoid", "hardswish")
def _plain():
    yield S(_with_kink(2, 3, 4, 5))
    yield S(_with_kink(17))
    yield S(_with_kink(3, 6)).dyn(0)


@samples("gelu")
def _gelu():
    yield S(_with_kink(2, 3, 8))
    yield S(_with_kink(4, 5), approximate="tanh")
    yield S(_with_kink(3, 6)).dyn(0, 1)


@samples("leaky_relu")
def _leaky_relu():
    yield S(_with_kink(2, 3, 4))
    yield S(_with_kink(4, 5), 0.2)
    yield S(_with_kink(3, 6), negative_slope=0.1).dyn(0)


@samples("hardtanh")
def _hardtanh():
    yield S(_with_kink(2, 3, 4))
    yield S(_with_kink(4, 5), -0.5, 2.0)
    yield S(_with_kink(3, 6), min_val=-2.0, max_val=0.5).dyn(1)


@samples("softplus")
def _softplus():
    yield S(_with_kink(2, 3, 4))
    yield S(randn(4, 5, scale=10), beta=2.0, threshold=5.0)
    yield S(randn(4, 5, scale=4), -1.0, 2.0)  # a negative beta
    yield S(_with_kink(3, 6), beta=0.5).dyn(0)


@samples("softmax", "log_softmax")
def _softmax():
    for shape, dim in [((4, 10), 1), ((4, 10), 0), ((2, 3, 5), -3), ((2, 3, 4, 5), 1), ((7,), 0)]:
        yield S(randn(*shape, scale=4), dim)
    yield S(randn(2, 3, 5, scale=4), dim=-1).dyn(0, 1)


@samples("elu")
def _elu():
    yield S(_with_kink(2, 3, 4, 5))
    yield S(_with_kink(4, 5), alpha=0.5)
    yield S(_with_kink(3, 6), 2.0).dyn(0)


@samples("prelu")
def _prelu():
    yield S(_with_kink(2, 3, 4, 5), weight(3))
    yield S(_with_kink(2, 3, 4), weight(1))
    yield S(_with_kink(2, 4, 5), weight(4)).dyn(0, 2)


@samples("softsign", "tanhshrink", "logsigmoid")
def _plain_more():
    yield S(randn(2, 3, 4, scale=3))
    yield S(randn(3, 7, scale=3)).dyn(0)


@samples("celu")
def _celu():
    yield S(randn(2, 3, 4, scale=3))
    yield S(randn(2, 3, 4, scale=3), alpha=0.5)
    yield S(randn(3, 7, scale=3), 2.0).dyn(0)


@samples("hardshrink", "softshrink")
def _shrink():
    yield S(randn(2, 3, 4, scale=2))
    yield S(randn(2, 3, 4, scale=2), lambd=0.25)
    yield S(randn(3, 7, scale=2), 1.0).dyn(0)


@samples("threshold")
def _threshold():
    yield S(randn(2, 3, 4, scale=2), 0.1, 20.0)
    yield S(randn(3, 7, scale=2), -0.5, 0.0).dyn(0)


@samples("rrelu")
def _rrelu():
    yield S(randn(2, 3, 4, scale=2))
    yield S(randn(3, 7, scale=2), 0.1, 0.3).dyn(0)


@samples("softmin")
def _softmin():
    yield S(randn(2, 5, 3, scale=3), dim=1)
    yield S(randn(3, 7, scale=3), -1).dyn(0)


@samples("glu")
def _glu():
    yield S(randn(2, 3, 6))
    yield S(randn(2, 6, 3), dim=1)
    yield S(randn(4, 3), 0).dyn(1)
