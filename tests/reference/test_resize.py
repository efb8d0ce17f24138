"""The RESIZE handler on real IResizeLayers against ONNX's reference Resize, and on ONNX-parsed torch models.

TensorRT's coordinate transformations are ONNX's (NVIDIA's parser maps them one to one): ALIGN_CORNERS is
align_corners, ASYMMETRIC asymmetric, HALF_PIXEL half_pixel (pytorch_half_pixel with the UPPER selector);
the rounding modes are floor, ceil, round_prefer_ceil (HALF_UP) and round_prefer_floor (HALF_DOWN).
onnx.reference implements ONNX's formulas independently of netdef, so it is the oracle here.
"""

from __future__ import annotations

import io
import types
import warnings

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import netdef
from netdef._trt import LOGGER, NETWORK_FLAGS, builder, trt
from netdef.reference.resize import resize as resize_handler

ONNX_TRANSFORM = {
    ("ALIGN_CORNERS", "FORMULA"): "align_corners",
    ("ASYMMETRIC", "FORMULA"): "asymmetric",
    ("ASYMMETRIC", "UPPER"): "asymmetric",
    ("HALF_PIXEL", "FORMULA"): "half_pixel",
    ("HALF_PIXEL", "UPPER"): "pytorch_half_pixel",
}
ONNX_ROUNDING = {"FLOOR": "floor", "CEIL": "ceil", "HALF_UP": "round_prefer_ceil", "HALF_DOWN": "round_prefer_floor"}


def onnx_resize(x: np.ndarray, mode: str, transform: str, rounding: str, sizes=None, scales=None) -> np.ndarray:
    """ONNX's reference Resize (opset 19)."""
    attrs = {"mode": mode, "coordinate_transformation_mode": transform}
    if mode == "nearest":
        attrs["nearest_mode"] = rounding
    names = ["x", "", "scales", ""] if scales is not None else ["x", "", "", "sizes"]
    node = helper.make_node("Resize", names, ["y"], **attrs)
    value = helper.make_tensor_value_info
    graph_inputs = [value("x", TensorProto.FLOAT, None)]
    feeds = {"x": x}
    if scales is not None:
        graph_inputs.append(value("scales", TensorProto.FLOAT, None))
        feeds["scales"] = np.asarray(scales, np.float32)
    else:
        graph_inputs.append(value("sizes", TensorProto.INT64, None))
        feeds["sizes"] = np.asarray(sizes, np.int64)
    graph = helper.make_graph([node], "resize", graph_inputs, [value("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, feeds)[0]


def trt_resize(x: np.ndarray, mode: str, transform: str, selector: str, rounding: str, shape=None, scales=None):
    net = builder().create_network(NETWORK_FLAGS)
    layer = net.add_resize(net.add_input("x", trt.float32, x.shape))
    if shape is not None:
        layer.shape = tuple(shape)
    else:
        layer.scales = list(scales)
    layer.resize_mode = getattr(trt.InterpolationMode, mode)
    layer.coordinate_transformation = getattr(trt.ResizeCoordinateTransformation, transform)
    layer.selector_for_single_pixel = getattr(trt.ResizeSelector, selector)
    layer.nearest_rounding = getattr(trt.ResizeRoundMode, rounding)
    net.mark_output(layer.get_output(0))
    return netdef.reference.run(net, {"x": x})[layer.get_output(0).name]


SHAPES = [(1, 2, 4, 5), (2, 1, 3, 7)]
# output spatial sizes: up, down, mixed, odd ratios and single pixels
SIZES = [(8, 10), (2, 3), (7, 3), (9, 1), (1, 4)]
TRANSFORMS = list(ONNX_TRANSFORM)


def _cases():
    for transform, selector in TRANSFORMS:
        for size in SIZES:
            if transform == "ALIGN_CORNERS" and 1 in size:
                continue  # ONNX's align_corners divides by zero for a single pixel (tested against torch below)
            yield "LINEAR", transform, selector, "FLOOR", size
            for rounding in ONNX_ROUNDING:
                yield "NEAREST", transform, selector, rounding, size


@pytest.mark.parametrize(("mode", "transform", "selector", "rounding", "size"), list(_cases()))
def test_resize_to_shape_matches_onnx(mode, transform, selector, rounding, size):
    x = np.random.default_rng(hash(size) % 100).standard_normal(SHAPES[0]).astype(np.float32)
    shape = (*x.shape[:2], *size)
    got = trt_resize(x, mode, transform, selector, rounding, shape=shape)
    want = onnx_resize(x, mode.lower(), ONNX_TRANSFORM[transform, selector], ONNX_ROUNDING[rounding], sizes=shape)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# (no scale whose float32 coordinates land exactly on an integer that float64 would put just below it)
SCALES = [(1.0, 1.0, 2.0, 3.0), (1.0, 1.0, 1.5, 0.55), (2.0, 1.0, 0.5, 1.25), (1.0, 1.0, 1.0, 2.5)]
SCALED = [("NEAREST", "ASYMMETRIC", "FLOOR"), ("NEAREST", "HALF_PIXEL", "HALF_DOWN"), ("NEAREST", "HALF_PIXEL", "CEIL"), ("LINEAR", "HALF_PIXEL", "FLOOR"), ("LINEAR", "ASYMMETRIC", "FLOOR")]  # fmt: skip


@pytest.mark.parametrize("scales", SCALES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("mode", "transform", "rounding"), SCALED)
def test_resize_by_scales_matches_onnx(mode, transform, rounding, scales):
    """With scales, coordinates map with 1 / scale (ONNX's rule, which NVIDIA's parser hands to setScales).

    ALIGN_CORNERS is left out: with a fractional ``in * scale`` onnx.reference divides by that fractional
    length, while TensorRT's formula (and torch) use the output tensor's length (tested on torch below).
    """
    x = np.random.default_rng(3).standard_normal(SHAPES[1]).astype(np.float32)
    got = trt_resize(x, mode, transform, "FORMULA", rounding, scales=scales)
    want = onnx_resize(x, mode.lower(), ONNX_TRANSFORM[transform, "FORMULA"], ONNX_ROUNDING[rounding], scales=scales)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["LINEAR", "NEAREST"])
def test_half_pixel_symmetric_matches_onnx(mode):
    """TensorRT >= 10.x adds HALF_PIXEL_SYMMETRIC; this backend lacks the enum, so a stand-in layer feeds it."""
    x = np.random.default_rng(4).standard_normal((1, 1, 5, 7)).astype(np.float32)
    scales = [1.0, 1.0, 1.7, 0.7]  # fractional output lengths (where the symmetric shift matters)
    named = types.SimpleNamespace
    layer = named(
        name="resize",
        shape=None,
        scales=scales,
        resize_mode=named(name=mode),
        coordinate_transformation=named(name="HALF_PIXEL_SYMMETRIC"),
        selector_for_single_pixel=named(name="FORMULA"),
        nearest_rounding=named(name="HALF_DOWN"),
    )
    (got,) = resize_handler(layer, [torch.from_numpy(x)])
    want = onnx_resize(x, mode.lower(), "half_pixel_symmetric", "round_prefer_floor", scales=scales)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(1, 1), (1, 6), (5, 1)])
def test_align_corners_single_pixel_reads_the_corner_with_upper(size):
    """torch's align_corners maps a one-pixel output to input 0; TensorRT needs the UPPER selector for it."""
    x = torch.randn(1, 2, 4, 5)
    got = trt_resize(x.numpy(), "LINEAR", "ALIGN_CORNERS", "UPPER", "FLOOR", shape=(1, 2, *size))
    want = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6, atol=1e-6)


def test_align_corners_single_pixel_with_formula_is_an_error():
    with pytest.raises(netdef.InterpreterError, match="ALIGN_CORNERS with a single output pixel"):
        trt_resize(np.zeros((1, 1, 3, 3), np.float32), "LINEAR", "ALIGN_CORNERS", "FORMULA", "FLOOR", (1, 1, 1, 3))


@pytest.mark.parametrize(("transform", "selector"), [("HALF_PIXEL", "FORMULA"), ("ASYMMETRIC", "FORMULA"), ("ALIGN_CORNERS", "FORMULA")])  # fmt: skip
@pytest.mark.parametrize("exclude_outside", [False, True])
def test_cubic_matches_onnx(transform, selector, exclude_outside):
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 6)).astype(np.float32)
    net = builder().create_network(NETWORK_FLAGS)
    layer = net.add_resize(net.add_input("x", trt.float32, x.shape))
    layer.shape = (1, 2, 9, 4)
    layer.resize_mode = trt.InterpolationMode.CUBIC
    layer.coordinate_transformation = getattr(trt.ResizeCoordinateTransformation, transform)
    layer.cubic_coeff = -0.5
    layer.exclude_outside = exclude_outside
    net.mark_output(layer.get_output(0))
    got = netdef.reference.run(net, {"x": x})[layer.get_output(0).name]
    attrs = {"cubic_coeff_a": -0.5, "exclude_outside": int(exclude_outside)}
    node = helper.make_node(
        "Resize", ["x", "", "", "sizes"], ["y"], mode="cubic",
        coordinate_transformation_mode=ONNX_TRANSFORM[transform, selector], **attrs,
    )  # fmt: skip
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node], "resize", [value("x", TensorProto.FLOAT, None), value("sizes", TensorProto.INT64, None)],
        [value("y", TensorProto.FLOAT, None)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    want = ReferenceEvaluator(model).run(None, {"x": x, "sizes": np.array([1, 2, 9, 4], np.int64)})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_resize_networks_build():
    net = builder().create_network(NETWORK_FLAGS)
    x = net.add_input("x", trt.float16, (1, 2, 4, 5))
    for mode, transform in (("NEAREST", "ASYMMETRIC"), ("LINEAR", "HALF_PIXEL"), ("LINEAR", "ALIGN_CORNERS")):
        layer = net.add_resize(x)
        layer.scales = [1.0, 1.0, 1.5, 2.0]
        layer.resize_mode = getattr(trt.InterpolationMode, mode)
        layer.coordinate_transformation = getattr(trt.ResizeCoordinateTransformation, transform)
        net.mark_output(layer.get_output(0))
    assert builder().build_serialized_network(net, builder().create_builder_config()) is not None


# -- NVIDIA's ONNX parser: torch.nn.functional.interpolate exported to ONNX, parsed, interpreted ---------


class _Interpolate(torch.nn.Module):
    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        return torch.nn.functional.interpolate(x, **self.kwargs)


def parse_onnx(module: torch.nn.Module, x: torch.Tensor):
    """``module`` exported by torch's ONNX exporter and parsed by TensorRT's ONNX parser."""
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), f, dynamo=False, opset_version=17, input_names=["x"])
    net = builder().create_network(NETWORK_FLAGS)
    parser = trt.OnnxParser(net, LOGGER)
    assert parser.parse(f.getvalue()), [parser.get_error(i).desc() for i in range(parser.num_errors)]
    return net, parser  # the parser owns weights the network refers to: keep it alive


ONNX_CASES = {
    "nearest-x2": {"scale_factor": 2.0, "mode": "nearest"},
    "nearest-x1.5": {"scale_factor": 1.5, "mode": "nearest"},
    "nearest-x0.7": {"scale_factor": 0.7, "mode": "nearest"},
    "nearest-size": {"size": (9, 4), "mode": "nearest"},
    "bilinear-x1.5": {"scale_factor": 1.5, "mode": "bilinear"},
    "bilinear-x0.6": {"scale_factor": (0.6, 1.3), "mode": "bilinear"},
    "bilinear-size": {"size": (11, 3), "mode": "bilinear"},
    "bilinear-size-1": {"size": (1, 4), "mode": "bilinear"},
    "bilinear-corners-x1.5": {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True},
    "bilinear-corners-size": {"size": (2, 9), "mode": "bilinear", "align_corners": True},
    "bicubic-x2": {"scale_factor": 2.0, "mode": "bicubic"},
    "bicubic-size": {"size": (3, 10), "mode": "bicubic", "align_corners": True},
}


@pytest.mark.parametrize("case", list(ONNX_CASES))
def test_onnx_parsed_interpolate_matches_torch(case):
    module = _Interpolate(**ONNX_CASES[case])
    x = torch.randn(2, 3, 5, 7)
    net, _parser = parse_onnx(module, x)
    assert any(net.get_layer(i).type == trt.LayerType.RESIZE for i in range(net.num_layers))
    got = netdef.reference.run(net, {"x": x.numpy()})
    with torch.no_grad():
        want = module(x)
    np.testing.assert_allclose(next(iter(got.values())), want.numpy(), rtol=1e-5, atol=1e-5)
