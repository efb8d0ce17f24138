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
    "reflect": (3, 4, 3, {"padding": 1, "padding_mode": "reflect"}, (1, 3, 6, 7)),
    "replicate-tuple": (2, 4, (3, 5), {"padding": (1, 2), "padding_mode": "replicate"}, (1, 2, 6, 7)),
    "circular-strided": (2, 3, 3, {"padding": 2, "stride": 2, "padding_mode": "circular"}, (1, 2, 7, 8)),
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
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding must be 'same', 'valid', an int or a tuple, got 'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    for bad in ({"padding_mode": "mirror"}, {"padding": "full"}):
        with pytest.raises(ValueError):
            torch.nn.Conv2d(3, 4, 3, **bad)


def _emit(model, shape):
    return netdef.define(model, {"x": netdef.Input(shape)})


def test_same_padding_with_stride_is_refused(parity):
    model = nn.Conv2d(3, 4, 3, stride=2, padding="same")
    model.load_weights({"weight": torch.randn(4, 3, 3, 3).numpy(), "bias": torch.zeros(4).numpy()})
    with pytest.raises(netdef.EmitError, match="padding='same' is not supported for strided"):
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


# -- Conv1d, Conv3d, padding modes, transposed convolutions ------------------------------------------

CONV_ND = {
    "1d-plain": ("Conv1d", (3, 4, 3), {}, (2, 3, 10)),
    "1d-strided-padded": ("Conv1d", (3, 4, 5), {"stride": 2, "padding": 2}, (2, 3, 11)),
    "1d-dilated-groups": ("Conv1d", (4, 6, 3), {"dilation": 2, "groups": 2, "bias": False}, (1, 4, 12)),
    "1d-same-even": ("Conv1d", (2, 3, 4), {"padding": "same"}, (1, 2, 9)),
    "1d-reflect": ("Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "reflect"}, (2, 2, 7)),
    "1d-circular-same": ("Conv1d", (2, 3, 4), {"padding": "same", "padding_mode": "circular"}, (1, 2, 8)),
    "3d-plain": ("Conv3d", (2, 4, 3), {}, (1, 2, 5, 6, 7)),
    "3d-strided": ("Conv3d", (2, 4, (3, 1, 2)), {"stride": (2, 1, 2), "padding": (1, 0, 1)}, (2, 2, 6, 5, 7)),
    "3d-depthwise": ("Conv3d", (4, 4, 3), {"groups": 4, "padding": 1, "dilation": (1, 2, 1)}, (1, 4, 4, 6, 5)),
    "3d-same": ("Conv3d", (2, 3, (2, 3, 4)), {"padding": "same"}, (1, 2, 4, 5, 6)),
    "3d-replicate": ("Conv3d", (2, 3, 3), {"padding": (1, 2, 1), "padding_mode": "replicate"}, (1, 2, 4, 5, 6)),
    "2d-reflect-same": ("Conv2d", (3, 4, (3, 4)), {"padding": "same", "padding_mode": "reflect"}, (1, 3, 6, 7)),
    "2d-circular-valid": ("Conv2d", (3, 4, 3), {"padding": "valid", "padding_mode": "circular"}, (1, 3, 6, 7)),
}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(CONV_ND))
def test_conv_nd_and_padding_modes_match_torch(parity, case, precision):
    name, args, kwargs, shape = CONV_ND[case]
    build = case in ("1d-plain", "3d-strided", "1d-reflect", "3d-replicate") and precision == "fp32"
    model, ref = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    parity.check(model, ref, torch.randn(shape), precision=precision, build=build)


TRANSPOSED = {
    "2d-plain": ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 5, 6)),
    "2d-stride2": ("ConvTranspose2d", (3, 4, 4), {"stride": 2, "padding": 1}, (1, 3, 5, 6)),
    "2d-output-padding": ("ConvTranspose2d", (3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 5, 4)),
    "2d-output-padding-beyond-padding": ("ConvTranspose2d", (3, 4, 3), {"stride": (2, 3), "output_padding": (1, 2)}, (1, 3, 4, 5)),
    "2d-output-padding-beyond-no-bias": ("ConvTranspose2d", (3, 4, 3), {"stride": 2, "output_padding": 1, "bias": False}, (1, 3, 4, 5)),
    "2d-groups": ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "groups": 2, "padding": 1}, (1, 4, 5, 5)),
    "2d-depthwise": ("ConvTranspose2d", (4, 4, (2, 3)), {"stride": (2, 1), "groups": 4}, (2, 4, 3, 4)),
    "2d-dilation": ("ConvTranspose2d", (3, 2, 3), {"dilation": 2, "padding": 1}, (1, 3, 5, 5)),
    "2d-dilation-output-padding": ("ConvTranspose2d", (3, 2, 3), {"dilation": 3, "output_padding": 2}, (1, 3, 4, 4)),
    "2d-asymmetric": ("ConvTranspose2d", (2, 3, (3, 5)), {"stride": (1, 2), "padding": (2, 1)}, (1, 2, 6, 5)),
    "2d-everything": ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": (0, 1), "output_padding": 1, "groups": 2}, (2, 4, 3, 5)),
    "1d": ("ConvTranspose1d", (3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 7)),
    "1d-groups-beyond": ("ConvTranspose1d", (4, 2, 2), {"stride": 3, "output_padding": 2, "groups": 2}, (1, 4, 5)),
    "3d": ("ConvTranspose3d", (2, 3, 3), {"stride": 2, "padding": 1, "output_padding": (1, 0, 1)}, (1, 2, 3, 4, 3)),
}  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(TRANSPOSED))
def test_conv_transpose_matches_torch(parity, case, precision):
    name, args, kwargs, shape = TRANSPOSED[case]
    build = precision == "fp32" and case in ("2d-stride2", "2d-output-padding-beyond-padding", "2d-groups", "1d", "3d")
    model, ref = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    parity.check(model, ref, torch.randn(shape), precision=precision, build=build)


@pytest.mark.parametrize("output_size", [(9, 11), (10, 12), (1, 3, 10, 11)])
def test_conv_transpose_output_size_matches_torch(parity, output_size):
    ref = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    model = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    x = torch.randn(1, 3, 5, 6)
    model.load_weights(parity.torch_weights(ref))

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = model

        def forward(self, x):
            return self.up(x, output_size=output_size)

    with torch.no_grad():
        want = ref(x, output_size=output_size)
    parity.assert_close(parity.run(parity.define(Wrapper(), x), x), want)


def test_conv_transpose_output_size_out_of_range_is_refused(parity):
    model = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    model.load_weights(parity.torch_weights(torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)))

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = model

        def forward(self, x):
            return self.up(x, output_size=(11, 11))

    with pytest.raises(netdef.EmitError, match="valid sizes range from 9 to 10 in dim 2"):
        netdef.define(Wrapper(), {"x": netdef.Input((1, 3, 5, 6))})


@pytest.mark.parametrize(
    ("cls", "ref_cls", "args", "kwargs"),
    [
        (nn.Conv1d, torch.nn.Conv1d, (4, 6, 3), {"groups": 2}),
        (nn.Conv3d, torch.nn.Conv3d, (2, 4, (1, 2, 3)), {"bias": False}),
        (nn.ConvTranspose1d, torch.nn.ConvTranspose1d, (4, 6, 3), {"groups": 2}),
        (nn.ConvTranspose2d, torch.nn.ConvTranspose2d, (4, 6, (2, 3)), {"groups": 2}),
        (nn.ConvTranspose3d, torch.nn.ConvTranspose3d, (2, 4, 3), {"bias": False}),
    ],
)
def test_nd_state_dicts_match_torch(cls, ref_cls, args, kwargs):
    """ConvTranspose weights are (in, out/groups, *kernel), exactly as torch stores them."""
    got = {k: p.shape for k, p in cls(*args, **kwargs).state_dict().items()}
    assert got == {k: tuple(v.shape) for k, v in ref_cls(*args, **kwargs).state_dict().items()}


def test_conv_transpose_constructor_errors_match_torch():
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding='same' is not supported"):
        nn.ConvTranspose2d(3, 4, 3, padding="same")
    with pytest.raises(ValueError):
        torch.nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


def test_output_padding_not_below_stride_or_dilation_is_refused(parity):
    model = nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    model.load_weights(parity.torch_weights(torch.nn.ConvTranspose2d(3, 4, 3)))
    with pytest.raises(netdef.EmitError, match=r"output_padding \(2, 2\) must be smaller than either stride"):
        netdef.define(model, {"x": netdef.Input((1, 3, 4, 4))})


def test_strided_dilated_transpose_is_refused_on_tensorrt_rtx(parity):
    if netdef._trt.BACKEND != "tensorrt_rtx":
        pytest.skip("only TensorRT-RTX's builder rejects strided and dilated deconvolutions")
    model = nn.ConvTranspose2d(3, 4, 3, stride=2, dilation=2)
    model.load_weights(parity.torch_weights(torch.nn.ConvTranspose2d(3, 4, 3)))
    with pytest.raises(netdef.EmitError, match="TensorRT-RTX cannot build a transposed convolution that is both"):
        netdef.define(model, {"x": netdef.Input((1, 3, 4, 4))})


def test_conv1d_keeps_a_dynamic_batch(parity):
    ref = torch.nn.Conv1d(3, 4, 3, padding=1)
    model = nn.Conv1d(3, 4, 3, padding=1)
    model.load_weights(parity.torch_weights(ref))
    net = netdef.define(model, {"x": netdef.Input((-1, 3, 8), min=(1, 3, 8), max=(4, 3, 8))})
    for batch in (1, 3):
        x = torch.randn(batch, 3, 8)
        with torch.no_grad():
            parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], ref(x))
    parity.build(net)


@pytest.mark.parametrize(
    ("model", "shape", "match"),
    [
        (nn.Conv1d(3, 4, 3), (3, 8), r"expected a 3-D \(N, C, L\) input"),
        (nn.Conv3d(3, 4, 3), (1, 3, 8, 8), r"expected a 5-D \(N, C, D, H, W\) input"),
        (nn.ConvTranspose2d(3, 4, 3), (1, 5, 8, 8), "input has 5 channels .* but the layer expects in_channels=3"),
    ],
)
def test_nd_input_errors(parity, model, shape, match):
    model.load_weights({k: torch.randn(p.shape).numpy() for k, p in model.state_dict().items()})
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(model, {"x": netdef.Input(shape)})


def test_padding_mode_in_extra_repr():
    assert "padding_mode='reflect'" in repr(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"))
    assert "output_padding=(1, 1)" in repr(nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1))
