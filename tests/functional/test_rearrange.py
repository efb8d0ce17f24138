"""flip, roll, movedim, broadcast_to, tile, repeat_interleave, pixel_shuffle / pixel_unshuffle /
channel_shuffle against torch, static and dynamic shapes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

import netdef
from netdef import F
from netdef.testing import Fn, assert_close, build_engine, check

# (netdef expression, torch expression) on a (2, 3, 4) tensor
STATIC = {
    "flip": (lambda x: F.flip(x, (0, 2)), lambda x: torch.flip(x, (0, 2))),
    "flip-method": (lambda x: x.flip(-1), lambda x: x.flip(-1)),
    "roll": (lambda x: F.roll(x, 1, 2), lambda x: torch.roll(x, 1, 2)),
    "roll-dims": (lambda x: x.roll((-1, 5), (0, 1)), lambda x: x.roll((-1, 5), (0, 1))),
    "roll-same-dim-twice": (lambda x: x.roll((1, 2), (2, 2)), lambda x: x.roll((1, 2), (2, 2))),
    "roll-flat": (lambda x: x.roll(-3), lambda x: x.roll(-3)),
    "movedim": (lambda x: F.movedim(x, 0, -1), lambda x: torch.movedim(x, 0, -1)),
    "moveaxis": (lambda x: x.moveaxis((0, 1), (2, 0)), lambda x: x.moveaxis((0, 1), (2, 0))),
    "broadcast_to": (lambda x: F.broadcast_to(x[:, :1], (5, 2, 3, 4)), lambda x: x[:, :1].broadcast_to((5, 2, 3, 4))),
    "tile": (lambda x: F.tile(x, (2, 1)), lambda x: torch.tile(x, (2, 1))),
    "tile-longer": (lambda x: x.tile((2, 1, 1, 2)), lambda x: x.tile((2, 1, 1, 2))),
    "repeat_interleave": (lambda x: F.repeat_interleave(x, 2, 1), lambda x: torch.repeat_interleave(x, 2, 1)),
    "repeat_interleave-flat": (lambda x: x.repeat_interleave(3), lambda x: x.repeat_interleave(3)),
    "repeat_interleave-list": (
        lambda x: x.repeat_interleave([0, 2, 1], dim=1),
        lambda x: x.repeat_interleave(torch.tensor([0, 2, 1]), dim=1),
    ),
}


@pytest.mark.parametrize("name", list(STATIC))
def test_static(name):
    ours, theirs = STATIC[name]
    check(Fn(ours), theirs, torch.randn(2, 3, 4), build=name in ("flip", "roll-dims"))


def test_dynamic():
    def fn(x):
        a = F.flip(x, (0, 1)) + x.roll(2, 0) + x.roll(-1, 1)
        b = F.pixel_unshuffle(F.pixel_shuffle(x[None, None].repeat(1, 4, 1, 1), 2), 2)
        return a + b.sum(1)[0] + x.repeat_interleave(2, 0)[::2] + F.channel_shuffle(x[None], 1)[0]

    def ref(x):
        a = torch.flip(x, (0, 1)) + x.roll(2, 0) + x.roll(-1, 1)
        b = TF.pixel_unshuffle(TF.pixel_shuffle(x[None, None].repeat(1, 4, 1, 1), 2), 2)
        return a + b.sum(1)[0] + x.repeat_interleave(2, 0)[::2] + TF.channel_shuffle(x[None], 1)[0]

    net = netdef.define(Fn(fn), {"x": netdef.Input((-1, -1), min=(1, 1), max=(8, 8))})
    for shape in [(4, 6), (1, 3), (7, 2)]:
        x = torch.randn(shape)
        assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], ref(x))
    build_engine(net)


def test_results_are_copies_not_views():
    def fn(x):
        x = x.clone() if isinstance(x, torch.Tensor) else x
        y = F.pixel_shuffle(x, 2) if not isinstance(x, torch.Tensor) else TF.pixel_shuffle(x, 2)
        y[0] = 5.0  # torch's pixel_shuffle returns a copy: x is unchanged
        return x.sum() + y.sum()

    check(Fn(fn), fn, torch.randn(1, 4, 2, 2))


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda x: F.pixel_shuffle(x, 2), r"the channel count \(3\) must be divisible by 4"),
        (lambda x: F.pixel_unshuffle(x, 3), r"the height \(4\) must be divisible by 3"),
        (lambda x: F.roll(x, (1, 2), 0), r"shifts .* and dims .* must have the same length"),
        (lambda x: x.repeat_interleave([1, 2]), r"a list of 2 repeats needs dim 0"),
        (lambda x: x.repeat_interleave(F.cast(x, "int64")), r"repeats given as a tensor"),
        (lambda x: F.movedim(x, (0, 1), 2), r"must name as many dims"),
    ],
)
def test_errors(fn, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(Fn(fn), {"x": netdef.Input((2, 3, 4, 5))})
