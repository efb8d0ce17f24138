"""Samples of the rearranging ops: flip, roll, movedim, broadcast_to, tile, repeat_interleave, pixel/channel
shuffle, fold/unfold (netdef/functional/rearrange.py)."""

from __future__ import annotations

import torch

from netdef.opsamples import S, ints, randn, samples


@samples("flip")
def _flip():
    yield S(randn(3, 4), (0,))
    yield S(randn(2, 3, 4), (0, 2))
    yield S(randn(2, 3, 4), -1).also(ref=lambda x, d: torch.flip(x, (d,)))  # one dim as an int
    yield S(ints(3, 4), (1,))
    yield S(randn(3, 4), (0, 1)).dyn(0, 1)


@samples("roll")
def _roll():
    yield S(randn(3, 5), 2, 1)
    yield S(randn(3, 5), -1, 0)
    yield S(randn(3, 5), 7)  # no dims: over the flattened tensor, shift past the size
    yield S(randn(2, 3, 4), (1, -2), (0, 2))
    yield S(randn(3, 5), 2, 1).dyn(0, 1)


@samples("movedim", "moveaxis")
def _movedim():
    yield S(randn(2, 3, 4), 0, 2)
    yield S(randn(2, 3, 4, 5), (0, 1), (-1, 0))
    yield S(randn(2, 3, 4), -1, 0).dyn(0, 2)


@samples("broadcast_to")
def _broadcast_to():
    yield S(randn(3, 1), (3, 4))
    yield S(randn(4), (2, 3, 4))
    yield S(randn(1, 4), (-1, 4))
    yield S(randn(3, 1), (-1, 5)).dyn(0)


@samples("tile")
def _tile():
    yield S(randn(2, 3), (2, 1))
    yield S(randn(2, 3), (3,))  # fewer dims than the input: ones prepended
    yield S(randn(3), (2, 2))  # more dims: the input gets leading ones
    yield S(randn(2, 3), (2, 2)).dyn(0, 1)


@samples("repeat_interleave")
def _repeat_interleave():
    yield S(randn(2, 3), 2, 1)
    yield S(randn(2, 3), 2)  # no dim: over the flattened tensor
    yield S(randn(3, 2), [1, 0, 2], 0).also(ref=lambda x, r, d: torch.repeat_interleave(x, torch.tensor(r), d))
    yield S(randn(2, 3), 3, dim=0).dyn(0, 1)


@samples("pixel_shuffle")
def _pixel_shuffle():
    yield S(randn(1, 8, 3, 4), 2)
    yield S(randn(2, 9, 2, 2), 3)
    yield S(randn(2, 8, 3, 4), 2).dyn(0, 2, 3)


@samples("pixel_unshuffle")
def _pixel_unshuffle():
    yield S(randn(1, 2, 6, 4), 2)
    yield S(randn(2, 1, 6, 6), 3)
    yield S(randn(2, 2, 4, 6), 2).dyn(0, 2, 3)


@samples("channel_shuffle", "native_channel_shuffle")
def _channel_shuffle():
    yield S(randn(1, 6, 2, 3), 2)
    yield S(randn(2, 6, 3), 3)
    yield S(randn(2, 8, 3, 3), 4).dyn(0, 2, 3)


@samples("unfold")
def _unfold():
    yield S(randn(1, 2, 5, 5), 3)
    yield S(randn(2, 3, 6, 5), (2, 3), dilation=1, padding=1, stride=2)
    yield S(randn(1, 2, 7, 7), 3, dilation=2)
    yield S(randn(2, 2, 5, 5), 2).dyn(0)


@samples("fold")
def _fold():
    yield S(randn(1, 2 * 9, 9), (5, 5), 3)  # 3x3 blocks of a 5x5 image: overlaps add
    yield S(randn(2, 3 * 6, 12), (4, 6), (2, 3), stride=(2, 1), padding=(0, 1))
    yield S(randn(1, 2 * 4, 25), (7, 7), 2, dilation=2)
    yield S(randn(2, 2 * 4, 16), (5, 5), 2).dyn(0)
