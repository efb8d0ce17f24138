"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d against torch, and the combinations netdef refuses."""

from __future__ import annotations

import inspect

import pytest
import torch

import netdef
from netdef import F, nn

# keyword arguments shared by the torch and netdef constructors, and the input shape
MAX_CASES = {
    "k2": ({"kernel_size": 2}, (2, 3, 8, 8)),
    "k2-odd-input": ({"kernel_size": 2}, (1, 2, 7, 9)),
    "k3-s2": ({"kernel_size": 3, "stride": 2}, (1, 3, 9, 10)),
    "k3-s2-p1": ({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 8, 8)),
    "k3-s1-p1": ({"kernel_size": 3, "stride": 1, "padding": 1}, (1, 2, 5, 6)),
    "k3x2-s2x1-p1x0": ({"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0)}, (1, 2, 7, 6)),
    "ceil-k2": ({"kernel_size": 2, "ceil_mode": True}, (1, 3, 7, 9)),
    "ceil-k3-s2": ({"kernel_size": 3, "stride": 2, "ceil_mode": True}, (2, 2, 8, 10)),
    "ceil-k3-s2-p1": ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 8, 9)),
    "ceil-drops-last-window": ({"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 1, 5, 5)),
    "ceil-no-effect": ({"kernel_size": 2, "ceil_mode": True}, (1, 2, 8, 8)),
    "ceil-stride-over-kernel": ({"kernel_size": (1, 2), "stride": (2, 3), "ceil_mode": True}, (1, 2, 8, 8)),
    "ceil-stride-over-kernel-pad": ({"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True}, (1, 2, 5, 8)),
    "stride-tuple-ceil": ({"kernel_size": (2, 3), "stride": (3, 2), "ceil_mode": True}, (1, 2, 10, 8)),
}  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(MAX_CASES))
def test_maxpool2d_matches_torch(parity, case, precision):
    kwargs, shape = MAX_CASES[case]
    x = torch.randn(shape) - 3  # mostly negative: padding must act as -inf, never as 0
    build = precision == "fp32" or case == "ceil-k3-s2-p1"
    parity.check(nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), x, precision=precision, build=build)


AVG_CASES = {
    "k2": ({"kernel_size": 2}, (2, 3, 8, 8)),
    "k3-s2": ({"kernel_size": 3, "stride": 2}, (1, 3, 9, 10)),
    "pad-include": ({"kernel_size": 3, "stride": 2, "padding": 1}, (1, 2, 8, 9)),
    "pad-exclude": ({"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, (1, 2, 8, 9)),
    "pad-tuple-include": ({"kernel_size": (3, 2), "stride": 1, "padding": (1, 1)}, (1, 2, 5, 6)),
    "pad-tuple-exclude": ({"kernel_size": (3, 2), "stride": 1, "padding": (1, 1), "count_include_pad": False}, (1, 2, 5, 6)),
    "ceil-exclude": ({"kernel_size": 2, "ceil_mode": True, "count_include_pad": False}, (1, 3, 7, 9)),
    "ceil-exclude-pad": ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}, (2, 2, 8, 10)),
    "ceil-exclude-stride-tuple": ({"kernel_size": (2, 3), "stride": (3, 2), "ceil_mode": True, "count_include_pad": False}, (1, 2, 10, 8)),
    # ceil_mode with count_include_pad=True: torch divides a window that passes the padding by its part
    # inside input + padding
    "ceil-include-no-effect": ({"kernel_size": 2, "ceil_mode": True}, (1, 2, 8, 8)),
    "ceil-include-no-effect-pad": ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 7, 9)),
    "ceil-include-overhang": ({"kernel_size": 2, "ceil_mode": True}, (1, 3, 7, 9)),
    "ceil-include-overhang-pad": ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 8, 9)),
    "ceil-stride-over-kernel": ({"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True}, (1, 2, 5, 8)),
    "ceil-stride-over-kernel-exclude": ({"kernel_size": (1, 2), "stride": (2, 3), "ceil_mode": True, "count_include_pad": False}, (1, 2, 8, 8)),
    "ceil-include-overhang-pad-tuple": ({"kernel_size": (3, 4), "stride": (2, 3), "padding": (1, 2), "ceil_mode": True}, (2, 2, 8, 10)),
}  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(AVG_CASES))
def test_avgpool2d_matches_torch(parity, case, precision):
    kwargs, shape = AVG_CASES[case]
    x = torch.randn(shape) + 2  # a positive mean: a wrong divisor shows
    build = precision == "fp32" or case == "pad-exclude"
    parity.check(nn.AvgPool2d(**kwargs), torch.nn.AvgPool2d(**kwargs), x, precision=precision, build=build)


ADAPTIVE_CASES = {
    "global-tuple": ((1, 1), (2, 4, 7, 5)),
    "global-int": (1, (1, 3, 6, 6)),
    "2x2-of-8x8": ((2, 2), (2, 3, 8, 8)),
    "int-3-of-6x9": (3, (1, 2, 6, 9)),
    "4x2-of-8x6": ((4, 2), (1, 2, 8, 6)),
    "same-size": ((5, 4), (1, 2, 5, 4)),
    "none-keeps-dim": ((None, 3), (1, 2, 5, 9)),
    # uneven windows (torch's start = floor(i * in / out), end = ceil((i + 1) * in / out))
    "3x3-of-7x9": ((3, 3), (1, 2, 7, 9)),
    "int-5-of-7x6": (5, (2, 3, 7, 6)),
    "larger-than-input": ((4, 6), (1, 2, 3, 5)),
    "uneven-and-none": ((None, 4), (1, 2, 5, 7)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(ADAPTIVE_CASES))
def test_adaptive_avgpool2d_matches_torch(parity, case, precision):
    size, shape = ADAPTIVE_CASES[case]
    build = precision == "fp32" or case == "global-tuple"
    ref = torch.nn.AdaptiveAvgPool2d(size)
    parity.check(nn.AdaptiveAvgPool2d(size), ref, torch.randn(shape) + 1, precision=precision, build=build)


def test_avgpool2d_refusal_names_module_and_line():
    """divisor_override cannot be expressed (TensorRT divides by the window): EmitError, pointing at the call."""

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.AvgPool2d(2, divisor_override=3)

        def forward(self, x):
            return self.pool(x)

    torch.nn.AvgPool2d(2, divisor_override=3)(torch.randn(1, 2, 4, 4))  # torch accepts it
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(Model(), {"x": netdef.Input((1, 2, 4, 4))})
    msg = str(info.value)
    assert "avg_pool2d in module `pool` (AvgPool2d)" in msg and "divisor_override is not supported" in msg
    assert f"{__file__}:{inspect.getsourcelines(Model.forward)[1] + 1}" in msg


def test_functional_pooling_matches_torch(parity):
    tf = torch.nn.functional

    def fn(x):
        return (
            F.max_pool2d(x, 3, 2, 1) + F.avg_pool2d(x, 3, 2, 1, count_include_pad=False) + F.adaptive_avg_pool2d(x, 1)
        )

    def ref(x):
        return (
            tf.max_pool2d(x, 3, 2, 1)
            + tf.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            + tf.adaptive_avg_pool2d(x, 1)
        )

    parity.check(parity.Fn(fn), ref, torch.randn(2, 3, 8, 8), build=True)


@pytest.mark.parametrize(
    ("module", "match"),
    [
        (nn.MaxPool2d(2, dilation=2), "dilation != 1 and return_indices=True are not supported"),
        (nn.MaxPool2d(2, return_indices=True), "dilation != 1 and return_indices=True are not supported"),
        (nn.AvgPool2d(2, divisor_override=3), "divisor_override is not supported"),
        (nn.MaxPool2d(2, padding=2), r"padding \(2, 2\) must be at most half of kernel_size \(2, 2\)"),
        (nn.AvgPool2d(3, padding=(1, 2)), r"padding \(1, 2\) must be at most half"),
        (nn.MaxPool2d(9), "too small for kernel_size"),
    ],
    ids=["max-dilation", "max-indices", "avg-divisor", "max-pad", "avg-pad", "too-small"],
)
def test_unsupported_arguments_are_refused(module, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(module, {"x": netdef.Input((1, 2, 8, 8))})


def test_non_4d_input_is_refused():
    with pytest.raises(netdef.EmitError, match=r"expected a float \(N, C, H, W\) input"):
        netdef.define(nn.MaxPool2d(2), {"x": netdef.Input((2, 8, 8))})


# -- MaxPool1d, AvgPool1d, AdaptiveMaxPool2d, AdaptiveAvgPool1d, AdaptiveMaxPool1d ---------------------

POOL_1D = {
    "max-k2": ("MaxPool1d", {"kernel_size": 2}, (2, 3, 9)),
    "max-k3-s2-p1": ("MaxPool1d", {"kernel_size": 3, "stride": 2, "padding": 1}, (2, 3, 10)),
    "max-ceil": ("MaxPool1d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (1, 2, 10)),
    "avg-k3": ("AvgPool1d", {"kernel_size": 3}, (2, 3, 10)),
    "avg-pad-include": ("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1}, (1, 2, 9)),
    "avg-pad-exclude": ("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, (1, 2, 9)),
    "avg-ceil-include": ("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 10)),
}  # fmt: skip


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(POOL_1D))
def test_pool1d_matches_torch(parity, case, precision):
    name, kwargs, shape = POOL_1D[case]
    x = torch.randn(shape) + (2 if name.startswith("Avg") else -3)
    build = precision == "fp32" and case in ("max-k3-s2-p1", "avg-ceil-include")
    parity.check(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), x, precision=precision, build=build)


ADAPTIVE_MAX = {
    "global": ((1, 1), (2, 4, 7, 5)),
    "even": ((2, 3), (1, 3, 8, 9)),
    "uneven": ((3, 5), (2, 3, 7, 8)),
    "larger-than-input": ((5, 4), (1, 2, 3, 3)),
    "none-keeps-dim": ((None, 4), (1, 2, 5, 7)),
    "7x7-of-10x10": (7, (1, 2, 10, 10)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", list(ADAPTIVE_MAX))
def test_adaptive_maxpool2d_matches_torch(parity, case, precision):
    size, shape = ADAPTIVE_MAX[case]
    x = torch.randn(shape) - 3  # mostly negative: a window's padding or a repeated index must not leak in
    build = precision == "fp32" and case in ("uneven", "global")
    parity.check(nn.AdaptiveMaxPool2d(size), torch.nn.AdaptiveMaxPool2d(size), x, precision=precision, build=build)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("size", "length"), [(1, 7), (3, 9), (4, 7), (5, 3)])
@pytest.mark.parametrize("kind", ["Avg", "Max"])
def test_adaptive_pool1d_matches_torch(parity, kind, size, length, precision):
    name = f"Adaptive{kind}Pool1d"
    x = torch.randn(2, 3, length) + 1
    parity.check(getattr(nn, name)(size), getattr(torch.nn, name)(size), x, precision=precision)


def test_uneven_adaptive_pooling_keeps_a_dynamic_batch(parity):
    net = netdef.define(
        nn.AdaptiveAvgPool2d((3, 2)), {"x": netdef.Input((-1, 2, 7, 5), min=(1, 2, 7, 5), max=(4, 2, 7, 5))}
    )
    for batch in (1, 3):
        x = torch.randn(batch, 2, 7, 5)
        got = netdef.reference.run(net, {"x": x.numpy()})["output"]
        parity.assert_close(got, torch.nn.functional.adaptive_avg_pool2d(x, (3, 2)))
    parity.build(net)


def test_functional_1d_and_adaptive_pooling_match_torch(parity):
    tf = torch.nn.functional

    def fn(x):
        y = F.max_pool1d(x, 2) + F.avg_pool1d(x, 2)
        return F.adaptive_max_pool1d(y, 3) + F.adaptive_avg_pool1d(y, 3)

    def ref(x):
        y = tf.max_pool1d(x, 2) + tf.avg_pool1d(x, 2)
        return tf.adaptive_max_pool1d(y, 3) + tf.adaptive_avg_pool1d(y, 3)

    parity.check(parity.Fn(fn), ref, torch.randn(2, 3, 14))
    parity.check(
        parity.Fn(lambda x: F.adaptive_max_pool2d(x, (2, 3)) * F.adaptive_avg_pool2d(x, (2, 3))),
        lambda x: tf.adaptive_max_pool2d(x, (2, 3)) * tf.adaptive_avg_pool2d(x, (2, 3)),
        torch.randn(1, 2, 5, 7),
    )


@pytest.mark.parametrize(
    ("module", "shape", "match"),
    [
        (nn.AdaptiveMaxPool2d(2, return_indices=True), (1, 2, 4, 4), "return_indices=True is not supported"),
        (nn.AdaptiveMaxPool1d(2, return_indices=True), (1, 2, 4), "return_indices=True is not supported"),
        (nn.AdaptiveAvgPool2d((3, 3)), (1, 2, -1, 9), r"output_size \(3, 3\) needs static spatial dims"),
        (nn.AdaptiveAvgPool2d((2, 2, 2)), (1, 2, 4, 4), r"output_size must be an int or 2 ints"),
        (nn.MaxPool1d(2, dilation=2), (1, 2, 8), "dilation != 1 and return_indices=True are not supported"),
        (nn.AvgPool1d(2), (1, 2, 8, 8), r"expected a float \(N, C, L\) input"),
    ],
    ids=["max2d-indices", "max1d-indices", "dynamic", "size-rank", "max1d-dilation", "avg1d-rank"],
)
def test_more_unsupported_arguments_are_refused(module, shape, match):
    spec = netdef.Input(shape, min=tuple(max(d, 1) for d in shape), max=tuple(9 if d < 0 else d for d in shape)) if -1 in shape else netdef.Input(shape)  # fmt: skip
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(module, {"x": spec})
