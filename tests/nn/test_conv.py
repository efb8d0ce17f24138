"""nn.Conv2d against torch.nn.Conv2d: stride, padding forms, dilation, groups, bias, non-square kernels."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import nn

# (in_channels, out_channels, kernel_size, keyword arguments, input shape)
CASES = {
    "plain": (3, 8, 3, {}, (2, 3, 10, 10)),
    "1x1": (4, 6, 1, {}, (1, 4, 5, 7)),
    "stride2-pad1": (3, 4, 3, {"stride": 2, "padding": 1}, (2, 3, 9, 9)),
    "stride-tuple": (3, 4, 3, {"stride": (2, 1), "padding": (1, 2)}, (1, 3, 8, 7)),
    "kernel-3x5": (2, 4, (3, 5), {"padding": (1, 2)}, (1, 2, 7, 9)),
    "kernel-5x2-stride3": (2, 3, (5, 2), {"stride": 3}, (2, 2, 11, 8)),
    "pad-asymmetric-tuple": (3, 5, (2, 3), {"padding": (0, 2), "stride": (1, 2)}, (1, 3, 6, 9)),
    "same-odd": (3, 4, 3, {"padding": "same"}, (1, 3, 7, 8)),
    "same-even": (3, 4, 4, {"padding": "same"}, (1, 3, 7, 8)),
    "same-2x5-dilated": (2, 3, (2, 5), {"padding": "same", "dilation": (3, 2)}, (1, 2, 9, 10)),
    "valid": (3, 4, 3, {"padding": "valid"}, (2, 3, 6, 6)),
    "dilation2": (3, 4, 3, {"dilation": 2, "padding": 2}, (1, 3, 9, 9)),
    "dilation-tuple": (2, 4, 3, {"dilation": (2, 3), "stride": (1, 2)}, (1, 2, 10, 12)),
    "groups2": (4, 6, 3, {"groups": 2, "padding": 1}, (2, 4, 6, 6)),
    "groups4-nobias": (8, 8, 3, {"groups": 4, "bias": False}, (1, 8, 6, 5)),
    "depthwise": (6, 6, 3, {"groups": 6, "padding": 1}, (2, 6, 7, 7)),
    "depthwise-x2-strided": (4, 8, (3, 5), {"groups": 4, "stride": 2, "padding": (1, 2)}, (1, 4, 9, 11)),
    "nobias": (3, 5, 3, {"bias": False, "padding": 1}, (1, 3, 6, 6)),
    "kernel-covers-input": (3, 2, (4, 6), {}, (1, 3, 4, 6)),
    "everything": (6, 4, (3, 2), {"stride": (2, 3), "padding": (2, 1), "dilation": (2, 1), "groups": 2, "bias": False}, (2, 6, 11, 13)),
}  # fmt: skip


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(CASES))
def test_conv2d_matches_torch(parity, case, precision):
    cin, cout, k, kwargs, shape = CASES[case]
    ref = torch.nn.Conv2d(cin, cout, k, **kwargs)
    # fp32 builds every case; fp16 builds a few (each fp16 build is slower)
    build = precision == "fp32" or case in ("plain", "depthwise", "everything")
    parity.check(nn.Conv2d(cin, cout, k, **kwargs), ref, torch.randn(shape), precision=precision, build=build)


def test_functional_conv2d_with_torch_weights(parity):
    w, b = torch.randn(6, 2, 3, 3), torch.randn(6)

    def fn(x):
        return netdef.F.conv2d(x, w.numpy(), b.numpy(), stride=2, padding=(1, 0), dilation=1, groups=2)

    x = torch.randn(1, 4, 9, 8)
    parity.check(parity.Fn(fn), lambda x: torch.nn.functional.conv2d(x, w, b, 2, (1, 0), 1, 2), x)


def test_conv_inside_sequential_after_conv(parity):
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(8, 4, 3, stride=2, groups=4))
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, stride=2, groups=4))
    parity.check(model, ref, torch.randn(2, 3, 9, 9), build=True)


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_matches_torch(bias):
    ref = torch.nn.Conv2d(4, 6, (3, 2), groups=2, bias=bias)
    model = nn.Conv2d(4, 6, (3, 2), groups=2, bias=bias)
    assert {k: p.shape for k, p in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in ref.state_dict().items()
    }


def test_constructor_errors_match_torch():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")


def _emit(model, shape):
    return netdef.define(model, {"x": netdef.Input(shape)})


def test_same_padding_with_stride_is_refused(parity):
    model = nn.Conv2d(3, 4, 3, stride=2, padding="same")
    model.load_weights({"weight": torch.randn(4, 3, 3, 3).numpy(), "bias": torch.zeros(4).numpy()})
    with pytest.raises(netdef.EmitError, match="padding='same' is not supported for strided"):
        _emit(model, (1, 3, 8, 8))


def test_unknown_padding_string_is_refused():
    model = nn.Conv2d(3, 4, 3, padding="full")
    model.load_weights({"weight": torch.randn(4, 3, 3, 3).numpy(), "bias": torch.zeros(4).numpy()})
    with pytest.raises(netdef.EmitError, match="'valid' or 'same'"):
        _emit(model, (1, 3, 8, 8))


def test_input_smaller_than_kernel_is_refused():
    model = nn.Conv2d(3, 4, 5)
    model.load_weights({"weight": torch.randn(4, 3, 5, 5).numpy(), "bias": torch.zeros(4).numpy()})
    with pytest.raises(netdef.EmitError, match="conv"):
        _emit(model, (1, 3, 3, 8))


def test_non_4d_input_is_refused():
    model = nn.Conv2d(3, 4, 3)
    model.load_weights({"weight": torch.randn(4, 3, 3, 3).numpy(), "bias": torch.zeros(4).numpy()})
    with pytest.raises(netdef.EmitError, match=r"4-D \(N, C, H, W\) input"):
        _emit(model, (3, 8, 8))
