"""Samples of convolutions and transposed convolutions (netdef/functional/conv.py)."""

from __future__ import annotations

from netdef.opsamples import S, randn, samples, weight


@samples("conv1d")
def _conv1d():
    yield S(randn(2, 4, 9), weight(6, 2, 3), weight(6), stride=2, padding=1, groups=2)
    yield S(randn(2, 4, 9), weight(6, 2, 3), None, stride=2, padding=1, groups=2).dyn(2, grow=3)
    yield S(randn(1, 4, 9), weight(3, 4, 4), padding="same", dilation=2)  # even kernel: one more on the right
    yield S(randn(1, 4, 9), weight(3, 4, 4), weight(3), padding="same", dilation=2).dyn(2, grow=3)
    yield S(randn(2, 4, 9), weight(6, 2, 3), weight(6), stride=2, padding=1, groups=2)
    yield S(
        randn(1, 4, 9), weight(3, 4, 4), padding="same", dilation=2
    )  # an even kernel: torch pads one more on the right
    yield S(randn(2, 3, 10), weight(4, 3, 3), weight(4))
    yield S(randn(2, 4, 11), weight(6, 2, 3), None, 2, 1, 1, 2)  # stride, padding, groups
    yield S(randn(1, 3, 12), weight(4, 3, 3), padding="same", dilation=2)
    yield S(randn(2, 3, 10), weight(4, 3, 3), weight(4), padding=1).dyn(0, 2)


@samples("conv2d")
def _conv2d():
    yield S(randn(1, 4, 7, 6), weight(6, 2, 3, 2), weight(6), stride=(2, 1), padding=(1, 0), groups=2)
    yield S(randn(1, 4, 7, 6), weight(6, 2, 3, 2), None, stride=(2, 1), padding=(1, 0), groups=2).dyn(2, 3, grow=3)
    yield S(randn(1, 4, 7, 6), weight(6, 2, 3, 2), weight(6), stride=(2, 1), padding=(1, 0), groups=2)
    yield S(randn(2, 3, 8, 8), weight(4, 3, 3, 3), weight(4))
    yield S(randn(1, 4, 9, 7), weight(6, 2, 3, 1), None, (2, 1), (1, 0), 1, 2)
    yield S(randn(1, 3, 8, 8), weight(4, 3, 3, 3), padding="same", dilation=2)
    yield S(randn(1, 4, 6, 6), weight(4, 1, 3, 3), weight(4), padding=1, groups=4)  # depthwise
    yield S(randn(2, 3, 8, 8), weight(4, 3, 3, 3), weight(4), stride=2, padding=1).dyn(0, 2, 3)


@samples("conv3d")
def _conv3d():
    yield S(randn(1, 3, 4, 5, 6), weight(4, 3, 2, 3, 3), weight(4), padding=(0, 1, 1), dilation=(1, 1, 2))
    yield S(randn(1, 3, 4, 5, 6), weight(4, 3, 2, 3, 3), None, padding=(0, 1, 1), dilation=(1, 1, 2)).dyn(
        2, 3, 4, grow=3
    )
    yield S(randn(1, 3, 4, 5, 6), weight(4, 3, 2, 3, 3), weight(4), padding=(0, 1, 1), dilation=(1, 1, 2))
    yield S(randn(1, 2, 5, 6, 6), weight(3, 2, 3, 3, 3), weight(3))
    yield S(randn(1, 2, 5, 6, 6), weight(3, 2, 1, 3, 3), None, (1, 2, 2), (0, 1, 1))
    yield S(randn(1, 2, 4, 5, 5), weight(3, 2, 3, 3, 3), weight(3), padding=1).dyn(0, 2)


@samples("conv_transpose1d")
def _conv_transpose1d():
    yield S(randn(2, 4, 6), weight(4, 3, 3), weight(3), stride=2, padding=1, output_padding=1)
    yield S(randn(2, 4, 6), weight(4, 3, 3), None, stride=2, padding=1, output_padding=1).dyn(2, grow=3)
    yield S(randn(2, 4, 6), weight(4, 3, 3), weight(3), stride=2, padding=1, output_padding=1)
    yield S(randn(2, 3, 6), weight(3, 4, 3), weight(4))
    yield S(randn(2, 4, 5), weight(4, 2, 4), None, 2)
    yield S(randn(1, 4, 5), weight(4, 3, 3), groups=2, dilation=2)
    yield S(randn(2, 3, 6), weight(3, 4, 3), weight(4), stride=2).dyn(0, 2)


@samples("conv_transpose2d")
def _conv_transpose2d():
    yield S(randn(1, 4, 4, 5), weight(4, 3, 3, 3), weight(6), stride=2, output_padding=1, groups=2)
    yield S(randn(1, 4, 4, 5), weight(4, 3, 3, 3), None, stride=2, output_padding=1, groups=2).dyn(2, 3, grow=3)
    yield S(randn(1, 4, 4, 5), weight(4, 3, 3, 3), weight(6), stride=2, output_padding=1, groups=2)
    yield S(randn(2, 3, 5, 5), weight(3, 4, 3, 3), weight(4))
    yield S(randn(1, 4, 4, 5), weight(4, 2, 4, 4), None, 2, 1)
    yield S(randn(1, 4, 4, 4), weight(4, 2, 3, 3), None, 2, 0, 1)  # output_padding
    yield S(randn(1, 4, 4, 4), weight(4, 3, 3, 3), groups=2)
    yield S(randn(2, 3, 5, 5), weight(3, 4, 2, 2), weight(4), stride=2).dyn(0, 2, 3)


@samples("conv_transpose3d")
def _conv_transpose3d():
    yield S(randn(1, 2, 3, 3, 4), weight(2, 3, 2, 2, 2), None, stride=2)
    yield S(randn(1, 2, 3, 3, 4), weight(2, 3, 2, 2, 2), weight(3), stride=2).dyn(2, 3, 4, grow=3)
    yield S(randn(1, 2, 3, 3, 4), weight(2, 3, 2, 2, 2), None, stride=2)
    yield S(randn(1, 2, 3, 4, 4), weight(2, 3, 3, 3, 3), weight(3))
    yield S(randn(1, 2, 3, 4, 4), weight(2, 3, 2, 2, 2), None, 2)
    yield S(randn(1, 2, 3, 4, 4), weight(2, 3, 2, 2, 2), weight(3), stride=2).dyn(0, 3)
