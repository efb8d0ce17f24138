"""The SLICE handler on real ISliceLayers: every SampleMode, negative and zero strides, axes, tensor inputs.

The oracle for out-of-bounds reads is numpy's own padding: a coordinate ``c`` of the slice reads element
``c + P`` of ``np.pad(x, P, mode)`` (reflect / wrap / edge / constant), whatever ``P`` is.
"""

from __future__ import annotations

import numpy as np
import pytest

import netdef
from netdef._trt import NETWORK_FLAGS, builder, trt

NUMPY_MODE = {"REFLECT": "reflect", "WRAP": "wrap", "CLAMP": "edge", "FILL": "constant"}


def expected(x: np.ndarray, axes, start, size, stride, mode: str, fill: float = 0.0) -> np.ndarray:
    """numpy's answer: pad every sliced axis far enough, then take start + i * stride (+ the padding)."""
    out = x
    for axis, b, s, st in zip(axes, start, size, stride):
        coords = b + np.arange(s) * st
        if mode == "STRICT_BOUNDS":
            out = np.take(out, coords, axis=axis)
            continue
        reach = int(max(np.abs(coords).max(initial=0), out.shape[axis])) + 1
        widths = [(0, 0)] * out.ndim
        widths[axis] = (reach, reach)
        kwargs = {"constant_values": fill} if mode == "FILL" else {}
        padded = np.pad(out, widths, mode=NUMPY_MODE[mode], **kwargs)
        out = np.take(padded, coords + reach, axis=axis)
    return out


def network(shape, dtype=trt.float32):
    net = builder().create_network(NETWORK_FLAGS)
    return net, net.add_input("x", dtype, shape)


def constant(net, keep: list, array: np.ndarray):
    arr = np.ascontiguousarray(array)
    keep.append(arr)
    return net.add_constant(arr.shape if arr.ndim else (), trt.Weights(arr)).get_output(0)


def run(net, layer, x: np.ndarray) -> np.ndarray:
    net.mark_output(layer.get_output(0))
    return netdef.reference.run(net, {"x": x})[layer.get_output(0).name]


# (input shape, axes or None, start, size, stride, modes)
CASES = {
    "inside": ((4, 5, 6), None, (1, 0, 2), (2, 5, 3), (1, 1, 1)),
    "strided": ((4, 5, 6), None, (0, 1, 0), (2, 2, 3), (2, 2, 2)),
    "negative-stride": ((4, 5, 6), None, (3, 4, 5), (4, 5, 6), (-1, -1, -1)),
    "negative-stride-2": ((3, 7), None, (0, 6), (3, 4), (1, -2)),
    "zero-stride": ((3, 4), None, (1, 2), (5, 3), (0, 0)),
    "before-and-after": ((2, 3, 4), None, (0, -2, -3), (2, 8, 11), (1, 1, 1)),
    "far-beyond": ((2, 3), None, (-7, -5), (2, 20), (1, 1)),
    "beyond-strided": ((3, 5), None, (-4, 9), (5, 6), (3, -3)),
    "axes-last": ((2, 3, 5), (2,), (-2,), (9,), (1,)),
    "axes-negative": ((2, 3, 5), (-1, 1), (-3, 1), (10, 4), (1, -1)),
    "axes-unordered": ((3, 4, 5), (2, 0), (4, -1), (6, 5), (-1, 1)),
}
MODES = ["STRICT_BOUNDS", "WRAP", "CLAMP", "FILL", "REFLECT"]


def _in_bounds(shape, axes, start, size, stride) -> bool:
    axes = range(len(shape)) if axes is None else axes
    for axis, b, s, st in zip(axes, start, size, stride):
        coords = b + np.arange(s) * st
        if s and (coords.min() < 0 or coords.max() >= shape[axis]):
            return False
    return True


# STRICT_BOUNDS only where every coordinate is inside (outside it is an error, tested below)
STATIC = [(c, m) for c in CASES for m in MODES if m != "STRICT_BOUNDS" or _in_bounds(*CASES[c])]


@pytest.mark.parametrize(("case", "mode"), STATIC)
def test_static_slice_matches_numpy(case, mode):
    shape, axes, start, size, stride = CASES[case]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    net, inp = network(shape)
    layer = net.add_slice(inp, start, size, stride)
    layer.mode = getattr(trt.SampleMode, mode)
    if axes is not None:
        layer.axes = axes
    all_axes = [a % len(shape) for a in axes] if axes is not None else list(range(len(shape)))
    want = expected(x, all_axes, start, size, stride, mode)
    got = run(net, layer, x)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [trt.float32, trt.float16, trt.int32])
def test_fill_value_input_matches_numpy(dtype):
    """Input 4 holds the fill value (any dtype the input has); coordinates outside read it."""
    np_dtype = {"FLOAT": np.float32, "HALF": np.float16, "INT32": np.int32}[dtype.name]
    x = (np.random.default_rng(1).standard_normal((2, 3, 4)) * 10).astype(np_dtype)
    net, inp = network(x.shape, dtype)
    keep: list = []
    layer = net.add_slice(inp, (0, -1, -2), (2, 6, 5), (1, 1, 2))
    layer.mode = trt.SampleMode.FILL
    layer.set_input(4, constant(net, keep, np.array(-7, np_dtype)))
    got = run(net, layer, x)
    np.testing.assert_array_equal(got, expected(x, [0, 1, 2], (0, -1, -2), (2, 6, 5), (1, 1, 2), "FILL", -7))


def test_tensor_start_size_stride_and_axes():
    """Inputs 1, 2, 3 and 5 replace the attributes (the form NVIDIA's ONNX parser emits)."""
    x = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    net, inp = network(x.shape)
    keep: list = []
    layer = net.add_slice(inp, (0,), (1,), (1,))
    layer.mode = trt.SampleMode.WRAP
    layer.set_input(1, constant(net, keep, np.array([4, -2], np.int64)))
    layer.set_input(2, constant(net, keep, np.array([4, 9], np.int64)))
    layer.set_input(3, constant(net, keep, np.array([-1, 1], np.int32)))
    layer.set_input(5, constant(net, keep, np.array([2, 1], np.int64)))
    got = run(net, layer, x)
    want = expected(x, [2, 1], (4, -2), (4, 9), (-1, 1), "WRAP")
    assert got.shape == (2, 9, 4)
    np.testing.assert_array_equal(got, want)


def test_reflect_of_a_single_element_repeats_it():
    x = np.array([[3.5], [-1.0]], np.float32)
    net, inp = network(x.shape)
    layer = net.add_slice(inp, (0, -3), (2, 7), (1, 1))
    layer.mode = trt.SampleMode.REFLECT
    np.testing.assert_array_equal(run(net, layer, x), np.repeat(x, 7, axis=1))


def test_strict_bounds_out_of_range_is_an_error():
    net, inp = network((2, 3))
    layer = net.add_slice(inp, (0, 1), (2, 3), (1, 1))
    with pytest.raises(
        netdef.InterpreterError, match=r"coordinate 3 is outside \[0, 3\) with SampleMode.STRICT_BOUNDS"
    ):
        run(net, layer, np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("mode", ["WRAP", "CLAMP", "FILL", "REFLECT"])
def test_sliced_networks_build(mode):
    """Every mode the handler models is one the real builder accepts (fp32 and fp16)."""
    for dtype in (trt.float32, trt.float16):
        net, inp = network((1, 2, 4, 5), dtype)
        layer = net.add_slice(inp, (-2, 3), (9, 7), (1, -1))
        layer.axes = (2, 3)
        layer.mode = getattr(trt.SampleMode, mode)
        net.mark_output(layer.get_output(0))
        assert builder().build_serialized_network(net, builder().create_builder_config()) is not None
