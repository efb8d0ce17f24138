"""nn.Flatten, nn.Unflatten, nn.PixelShuffle, nn.PixelUnshuffle and nn.ChannelShuffle against torch."""

from __future__ import annotations

import pytest
import torch

from netdef import nn

CASES = [((2, 3, 4, 5), {}), ((2, 3, 4, 5), {"start_dim": 0}), ((2, 3, 4, 5), {"start_dim": 2}), ((2, 3, 4, 5), {"start_dim": 1, "end_dim": 2}), ((2, 3, 4, 5), {"start_dim": -3, "end_dim": -2}), ((6, 7), {}), ((4, 1, 1), {})]  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("shape", "kwargs"), CASES)
def test_flatten_matches_torch(parity, shape, kwargs, precision):
    build = precision == "fp32" and not kwargs
    parity.check(nn.Flatten(**kwargs), torch.nn.Flatten(**kwargs), torch.randn(shape), precision=precision, build=build)


def test_flatten_then_linear(parity):
    ref = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    parity.check(model, ref, torch.randn(2, 2, 6, 6), build=True)


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (nn.PixelShuffle(2), torch.nn.PixelShuffle(2), (2, 8, 3, 5)),
        (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), (1, 3, 4, 6)),
        (nn.ChannelShuffle(3), torch.nn.ChannelShuffle(3), (2, 6, 2, 3)),
        (nn.Unflatten(1, (2, 4)), torch.nn.Unflatten(1, (2, 4)), (3, 8, 2)),
    ],
)
def test_unflatten_and_channel_pixel_shuffles_match_torch(parity, ours, theirs, shape):
    parity.check(ours, theirs, torch.randn(shape), build=isinstance(ours, nn.PixelShuffle))


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"kernel_size": 2}, (2, 3, 4, 5)),
        ({"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}, (1, 2, 5, 6)),
        ({"kernel_size": 3, "padding": 1}, (2, 4, 4)),
    ],
)
def test_unfold_matches_torch(parity, kwargs, shape):
    parity.check(nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs), torch.randn(shape), build="padding" in kwargs)


def test_unfold_dynamic(parity):
    import netdef

    net = netdef.define(
        nn.Unfold(3, padding=1, stride=2), {"input": netdef.Input((1, 2, -1, -1), min=(1, 2, 3, 3), max=(1, 2, 9, 9))}
    )
    for hw in [(3, 4), (9, 7)]:
        x = torch.randn(1, 2, *hw)
        got = netdef.reference.run(net, {"input": x.numpy()})["output"]
        parity.assert_close(got, torch.nn.functional.unfold(x, 3, padding=1, stride=2))
    parity.build(net)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"output_size": (4, 5), "kernel_size": 2}, (2, 12, 12)),
        (
            {"output_size": (5, 6), "kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)},
            (1, 12, 12),
        ),
        ({"output_size": 4, "kernel_size": 3, "padding": 1, "stride": 2}, (18, 4)),
    ],
)
def test_fold_matches_torch(parity, kwargs, shape):
    parity.check(nn.Fold(**kwargs), torch.nn.Fold(**kwargs), torch.randn(shape), build="dilation" in kwargs)
