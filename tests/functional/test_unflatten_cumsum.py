"""unflatten, view_as and cumsum against torch, with static and dynamic dims (what netdef/zoo/yolo.py relies on)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn

EXPRS = {
    "unflatten-middle": ((2, 12, 5), lambda x: x.unflatten(1, (3, 4))),
    "unflatten-minus1": ((2, 12, 5), lambda x: x.unflatten(1, (-1, 2))),
    "unflatten-last": ((2, 3, 12), lambda x: x.unflatten(-1, (2, 3, 2))),
    "view_as": ((2, 12), lambda x: x.view_as(x.view(4, 6) + 0)),
    "cumsum-0": ((4, 5), lambda x: x.cumsum(0)),
    "cumsum-last": ((2, 3, 5), lambda x: torch.cumsum(x, -1) if isinstance(x, torch.Tensor) else F.cumsum(x, -1)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(EXPRS))
def test_matches_torch(parity, name, precision):
    shape, expr = EXPRS[name]
    parity.check(parity.Fn(expr), expr, torch.randn(shape), precision=precision, build=name == "unflatten-middle")


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _dynamic(fn, spec, feeds):
    network = netdef.define(Fn(fn), {"x": spec})
    return network, [netdef.reference.run(network, {"x": x})["output"] for x in feeds]


def test_dynamic_dims_on_both_sides_of_the_split():
    """unflatten(1, ...) with a dynamic batch before and a dynamic length after; view_as a dynamic tensor."""
    spec = netdef.Input((-1, 12, -1), min=(1, 12, 1), max=(3, 12, 9))
    feeds = [np.random.default_rng(n).standard_normal((n, 12, 2 * n + 1)).astype(np.float32) for n in (1, 3)]
    network, outs = _dynamic(lambda x: x.unflatten(1, (3, 4)).transpose(1, 2).view_as(x), spec, feeds)
    assert tuple(network.network.get_output(0).shape) == (-1, 12, -1)
    for x, got in zip(feeds, outs):
        want = torch.from_numpy(x).unflatten(1, (3, 4)).transpose(1, 2).reshape(x.shape)
        np.testing.assert_array_equal(got, want.numpy())
    netdef.build(network)


def test_cumsum_over_a_dynamic_dim():
    spec = netdef.Input((2, -1), min=(2, 1), max=(2, 40))
    feeds = [np.ones((2, n), np.float32) for n in (1, 7, 40)]
    _, outs = _dynamic(lambda x: x.cumsum(1) - 0.5, spec, feeds)
    for x, got in zip(feeds, outs):
        np.testing.assert_array_equal(got, np.cumsum(x, 1) - 0.5)


def test_bad_sizes_are_refused():
    def define(fn):
        return netdef.define(Fn(fn), {"x": netdef.Input((2, 12, 5))})

    with pytest.raises(netdef.EmitError, match=r"sizes \[5, 2\] multiply to 10, not to the size 12"):
        define(lambda x: x.unflatten(1, (5, 2)))
    with pytest.raises(netdef.EmitError, match="cannot split dim 1 of size 12"):
        define(lambda x: x.unflatten(1, (-1, 5)))
    with pytest.raises(netdef.EmitError, match=r"cannot be viewed as \(7,\)"):
        define(lambda x: x.view_as(x[0, 0, :1].expand(7)))


@pytest.mark.parametrize("dim", [0, -1])
def test_cumprod_matches_torch(parity, dim):
    x = torch.rand(4, 6) + 0.5
    x = x * torch.where(torch.rand(4, 6) < 0.3, -1.0, 1.0)  # signs
    x[1, 2] = 0.0  # a zero zeroes what follows
    x[3, 0] = 0.0
    parity.check(parity.Fn(lambda x: x.cumprod(dim)), lambda x: x.cumprod(dim), x, build=dim == 0)


def test_cumprod_dynamic_and_int_refused(parity):
    net = netdef.define(parity.Fn(lambda x: F.cumprod(x, 1)), {"x": netdef.Input((2, -1), min=(2, 1), max=(2, 9))})
    for n in (1, 9):
        x = torch.rand(2, n) + 0.5
        parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], torch.cumprod(x, 1))
    with pytest.raises(netdef.EmitError, match=r"cumprod .*expects a float tensor, got INT64"):
        netdef.define(parity.Fn(lambda x: F.cumprod(F.cast(x, "int64"), 0)), {"x": netdef.Input((3,))})
