"""nn.Upsample, nn.UpsamplingNearest2d and nn.UpsamplingBilinear2d against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn

# keyword arguments shared by netdef's and torch's Upsample, and the input shape
CASES = {
    "nearest-x2": ({"scale_factor": 2}, (2, 3, 4, 5)),
    "nearest-x3x1": ({"scale_factor": (3, 1)}, (1, 2, 4, 5)),
    "nearest-x0.5": ({"scale_factor": 0.5}, (1, 2, 8, 6)),
    "nearest-x1.5-of-5": ({"scale_factor": 1.5}, (1, 2, 5, 7)),  # torch samples with 1/1.5, not 5/7
    "nearest-x0.7": ({"scale_factor": 0.7}, (1, 2, 9, 11)),
    "nearest-x1.5-recompute": ({"scale_factor": 1.5, "recompute_scale_factor": True}, (1, 2, 5, 7)),
    "nearest-size-up": ({"size": (7, 13)}, (1, 3, 4, 5)),
    "nearest-size-down": ({"size": (3, 2)}, (1, 3, 7, 5)),
    "nearest-size-int": ({"size": 6}, (2, 1, 4, 3)),
    "nearest-size-1": ({"size": (1, 1)}, (1, 2, 4, 5)),
    "exact-x2": ({"scale_factor": 2, "mode": "nearest-exact"}, (1, 2, 4, 5)),
    "exact-size": ({"size": (7, 3), "mode": "nearest-exact"}, (1, 2, 4, 5)),
    "exact-x0.6": ({"scale_factor": 0.6, "mode": "nearest-exact"}, (1, 2, 10, 7)),
    "bilinear-x2": ({"scale_factor": 2, "mode": "bilinear"}, (2, 3, 4, 5)),
    "bilinear-x1.5-of-5": ({"scale_factor": 1.5, "mode": "bilinear"}, (1, 2, 5, 7)),
    "bilinear-x0.4": ({"scale_factor": (0.4, 0.5), "mode": "bilinear"}, (1, 2, 9, 8)),
    "bilinear-size": ({"size": (9, 11), "mode": "bilinear"}, (1, 2, 4, 5)),
    "bilinear-size-1": ({"size": (1, 3), "mode": "bilinear"}, (1, 2, 4, 5)),
    "bilinear-corners-x2": ({"scale_factor": 2, "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
    "bilinear-corners-x1.5": ({"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}, (1, 2, 5, 7)),
    "bilinear-corners-size": ({"size": (7, 3), "mode": "bilinear", "align_corners": True}, (1, 2, 4, 5)),
    "bilinear-corners-size-1": ({"size": (1, 4), "mode": "bilinear", "align_corners": True}, (1, 2, 4, 5)),
    "linear-1d": ({"scale_factor": 2.5, "mode": "linear"}, (2, 3, 6)),
    "linear-1d-corners": ({"size": 11, "mode": "linear", "align_corners": True}, (2, 3, 6)),
    "nearest-1d": ({"size": 9, "mode": "nearest"}, (2, 3, 6)),
    "trilinear": ({"scale_factor": (2, 1.5, 1), "mode": "trilinear"}, (1, 2, 3, 4, 5)),
    "trilinear-corners": ({"size": (4, 6, 3), "mode": "trilinear", "align_corners": True}, (1, 2, 3, 4, 5)),
    "nearest-3d": ({"scale_factor": 2}, (1, 2, 2, 3, 4)),
    "area": ({"size": (3, 5), "mode": "area"}, (1, 2, 7, 9)),
    "bicubic-x2": ({"scale_factor": 2, "mode": "bicubic"}, (1, 2, 4, 5)),
    "bicubic-size-down": ({"size": (3, 4), "mode": "bicubic"}, (1, 2, 7, 9)),
    "bicubic-x1.5": ({"scale_factor": 1.5, "mode": "bicubic"}, (1, 2, 5, 7)),
    "bicubic-corners": ({"size": (9, 6), "mode": "bicubic", "align_corners": True}, (1, 2, 4, 5)),
    "bicubic-corners-size-1": ({"size": (1, 6), "mode": "bicubic", "align_corners": True}, (1, 2, 4, 5)),
}
BUILT = {
    "nearest-x2",
    "nearest-x1.5-of-5",
    "bilinear-x2",
    "bilinear-corners-size",
    "trilinear",
    "exact-size",
    "bicubic-x2",
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(CASES))
def test_upsample_matches_torch(parity, case, precision):
    kwargs, shape = CASES[case]
    build = case in BUILT and (precision == "fp32" or case == "bilinear-x2")
    x = torch.randn(shape)
    parity.check(nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs), x, precision=precision, build=build)


@pytest.mark.parametrize(
    ("cls", "ref_cls", "kwargs"),
    [
        (nn.UpsamplingNearest2d, torch.nn.UpsamplingNearest2d, {"scale_factor": 2}),
        (nn.UpsamplingNearest2d, torch.nn.UpsamplingNearest2d, {"size": (5, 9)}),
        (nn.UpsamplingBilinear2d, torch.nn.UpsamplingBilinear2d, {"scale_factor": 2}),
        (nn.UpsamplingBilinear2d, torch.nn.UpsamplingBilinear2d, {"size": (6, 3)}),
    ],
)
def test_upsampling_modules_match_torch(parity, cls, ref_cls, kwargs):
    parity.check(cls(**kwargs), ref_cls(**kwargs), torch.randn(2, 3, 4, 5))


def _dynamic(model, shape, min_shape, max_shape):
    return netdef.define(model, {"x": netdef.Input(shape, min=min_shape, max=max_shape)})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_factor": 2},
        {"scale_factor": 2, "mode": "bilinear"},
        {"size": (8, 10), "mode": "bilinear"},  # ratios 2 and 2 are exact float32 scales
        {"size": (6, 15), "mode": "nearest"},  # 1.5 and 3 likewise
        {"scale_factor": 1.5, "mode": "bilinear"},
        {"size": (7, 4), "mode": "bilinear"},  # 7/4: no exact float32 scale, so the output shape is a tensor
        {"size": (97, 120), "mode": "nearest"},
    ],
)
def test_dynamic_batch_matches_torch(parity, kwargs):
    """With only the batch dynamic, TensorRT gets the run-time (N, C) and the static sizes; each batch matches."""
    net = _dynamic(nn.Upsample(**kwargs), (-1, 3, 4, 5), (1, 3, 4, 5), (4, 3, 4, 5))
    for batch in (1, 3):
        x = torch.randn(batch, 3, 4, 5)
        got = netdef.reference.run(net, {"x": x.numpy()})["output"]
        parity.assert_close(got, torch.nn.Upsample(**kwargs)(x))
    parity.build(net)


def test_dynamic_spatial_dims_take_integer_scales(parity):
    net = _dynamic(nn.Upsample(scale_factor=3, mode="bilinear"), (1, 2, -1, -1), (1, 2, 2, 2), (1, 2, 9, 9))
    for hw in ((2, 5), (7, 3)):
        x = torch.randn(1, 2, *hw)
        got = netdef.reference.run(net, {"x": x.numpy()})["output"]
        parity.assert_close(got, torch.nn.functional.interpolate(x, scale_factor=3, mode="bilinear"))


REFUSED = {
    "corners-nearest": ({"scale_factor": 2, "align_corners": True}, (1, 2, 4, 4), "align_corners can only be set"),
    "bilinear-3d": ({"scale_factor": 2, "mode": "bilinear"}, (1, 2, 4), "mode='bilinear' needs a 4-D input"),
    "no-size": ({}, (1, 2, 4, 4), "give exactly one of size and scale_factor"),
    "bad-mode": ({"scale_factor": 2, "mode": "cubic"}, (1, 2, 4, 4), "mode must be one of"),
    "size-entries": ({"size": (2, 3, 4)}, (1, 2, 4, 4), r"size \(2, 3, 4\) must have 2 entries"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_unsupported_arguments_are_refused(case):
    kwargs, shape, match = REFUSED[case]
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(nn.Upsample(**kwargs), {"x": netdef.Input(shape)})


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_dynamic_spatial_dims_with_a_size(parity, mode):
    net = _dynamic(nn.Upsample(size=(8, 8), mode=mode), (1, 2, -1, 4), (1, 2, 2, 4), (1, 2, 8, 4))
    for h in (2, 5, 8):
        x = torch.randn(1, 2, h, 4)
        want = torch.nn.functional.interpolate(x, size=(8, 8), mode=mode)
        parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], want)


def test_size_from_another_tensors_dynamic_shape(parity):
    """``interpolate(x, size=skip.shape[2:])``: the U-Net/FPN idiom with dynamic H x W."""

    def fn(x, skip):
        return F.interpolate(x, size=skip.shape[2:], mode="bilinear") + skip

    spec = {
        "x0": netdef.Input((1, 2, -1, -1), min=(1, 2, 1, 1), max=(1, 2, 8, 8)),
        "x1": netdef.Input((1, 2, -1, -1), min=(1, 2, 1, 1), max=(1, 2, 16, 16)),
    }
    net = netdef.define(parity.Fn(fn), spec)
    for small, big in [((1, 1), (1, 1)), ((3, 5), (7, 9)), ((8, 8), (16, 16))]:
        x, skip = torch.randn(1, 2, *small), torch.randn(1, 2, *big)
        want = torch.nn.functional.interpolate(x, size=big, mode="bilinear") + skip
        got = netdef.reference.run(net, {"x0": x.numpy(), "x1": skip.numpy()})["output"]
        parity.assert_close(got, want)


def test_scale_that_float32_sizes_differently_is_refused():
    """torch sizes 10 x 0.7 as 7 (in float64); TensorRT's float32 scale 0.699999988 gives 6."""
    torch_size = torch.nn.functional.interpolate(torch.zeros(1, 1, 10, 10), scale_factor=0.7).shape[-1]
    assert torch_size == 7
    with pytest.raises(
        netdef.EmitError, match=r"TensorRT would size dim 2 as floor\(10 x 0.699999988079071\) = 6, torch as 7"
    ):
        netdef.define(nn.Upsample(scale_factor=0.7), {"x": netdef.Input((1, 1, 10, 10))})


def test_layer_attributes_follow_torch_modes():
    """The emitted IResizeLayer carries the transformation that makes each torch mode exact."""
    t = netdef._trt.trt

    def attrs(**kwargs):
        net = netdef.define(nn.Upsample(**kwargs), {"x": netdef.Input((1, 1, 4, 4))})
        layer = net.network.get_layer(0)
        layer.__class__ = t.IResizeLayer
        return (
            layer.resize_mode.name,
            layer.coordinate_transformation.name,
            layer.nearest_rounding.name,
            layer.selector_for_single_pixel.name,
        )

    assert attrs(scale_factor=2) == ("NEAREST", "ASYMMETRIC", "FLOOR", "FORMULA")
    assert attrs(scale_factor=2, mode="nearest-exact") == ("NEAREST", "HALF_PIXEL", "HALF_UP", "FORMULA")
    assert attrs(scale_factor=2, mode="bilinear")[:2] == ("LINEAR", "HALF_PIXEL")
    assert attrs(scale_factor=2, mode="bilinear", align_corners=True)[1::2] == ("ALIGN_CORNERS", "UPPER")


def test_scales_are_used_only_where_torch_samples_with_the_scale():
    t = netdef._trt.trt

    def resize(shape, **kwargs):
        net = netdef.define(nn.Upsample(**kwargs), {"x": netdef.Input(shape)})
        layer = net.network.get_layer(0)
        layer.__class__ = t.IResizeLayer
        return layer

    exact = resize((1, 1, 4, 6), scale_factor=1.5)
    assert tuple(exact.shape) == (1, 1, 6, 9)
    inexact = resize((1, 1, 5, 6), scale_factor=1.5)
    assert np.allclose(inexact.scales, [1, 1, 1.5, 1.5]) and tuple(inexact.get_output(0).shape) == (1, 1, 7, 9)


def test_extra_repr():
    assert "scale_factor=2.0, mode='bilinear'" in repr(nn.Upsample(scale_factor=2, mode="bilinear"))
    assert "size=(3, 4)" in repr(nn.UpsamplingNearest2d(size=(3, 4)))
