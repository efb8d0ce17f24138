"""The DECONVOLUTION handler: explicit and SAME padding against ONNX's reference ConvTranspose, and torch's
transposed convolutions as NVIDIA's ONNX parser maps them."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import netdef
from netdef._trt import LOGGER, NETWORK_FLAGS, builder, trt


def onnx_conv_transpose(x, w, b, strides, auto_pad=None, pads=None, group=1):
    attrs = {"strides": list(strides), "group": group}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
    if pads:
        attrs["pads"] = list(pads)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node],
        "deconv",
        [value(n, TensorProto.FLOAT, None) for n in ("x", "w", "b")],
        [value("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return ReferenceEvaluator(model).run(None, {"x": x, "w": w, "b": b})[0]


@pytest.mark.parametrize(
    ("mode", "pre", "post"),
    [("EXPLICIT_ROUND_DOWN", (1, 0), (0, 2)), ("SAME_UPPER", None, None), ("SAME_LOWER", None, None)],
)
def test_padding_modes_match_onnx(mode, pre, post):
    """(onnx.reference's ConvTranspose mishandles groups, which torch checks elsewhere.)"""
    groups = 1
    rng = np.random.default_rng(groups)
    x = rng.standard_normal((1, 4, 4, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 4)).astype(np.float32)  # (in, out / groups, kH, kW)
    b = rng.standard_normal(3 * groups).astype(np.float32)
    net = builder().create_network(NETWORK_FLAGS)
    layer = net.add_deconvolution_nd(net.add_input("x", trt.float32, x.shape), 3 * groups, (3, 4), w, b)
    layer.stride_nd = (2, 3)
    layer.num_groups = groups
    layer.padding_mode = getattr(trt.PaddingMode, mode)
    if pre is not None:
        layer.pre_padding, layer.post_padding = pre, post
    net.mark_output(layer.get_output(0))
    got = next(iter(netdef.reference.run(net, {"x": x}).values()))
    if pre is not None:
        want = onnx_conv_transpose(x, w, b, (2, 3), pads=(*pre, *post), group=groups)
    else:
        want = onnx_conv_transpose(x, w, b, (2, 3), auto_pad=mode, group=groups)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "module",
    [
        torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
        torch.nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1),
        torch.nn.ConvTranspose2d(4, 6, (2, 3), stride=(2, 1), groups=2, dilation=(1, 2)),
        torch.nn.ConvTranspose1d(3, 2, 4, stride=3, padding=1),
    ],
    ids=["padded", "output-padding-beyond-padding", "groups-dilation", "1d"],
)
def test_onnx_parsed_conv_transpose_matches_torch(module):
    x = torch.randn(1, module.in_channels, *(5,) * (module.weight.dim() - 2))
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), f, dynamo=False, opset_version=17, input_names=["x"])
    net = builder().create_network(NETWORK_FLAGS)
    parser = trt.OnnxParser(net, LOGGER)
    assert parser.parse(f.getvalue())
    assert any(net.get_layer(i).type == trt.LayerType.DECONVOLUTION for i in range(net.num_layers))
    got = next(iter(netdef.reference.run(net, {"x": x.numpy()}).values()))
    with torch.no_grad():
        np.testing.assert_allclose(got, module(x).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("output_padding", [0, 1], ids=["bias_in_layer", "bias_after_output_padding"])
def test_bf16_conv_transpose_reads_its_weights_from_the_network(output_padding):
    """TensorRT's Python API cannot read BF16 weights back: the handler finds them by refit name."""
    torch.manual_seed(0)
    twin = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=0, output_padding=output_padding).eval()
    model = netdef.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=0, output_padding=output_padding)
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    x = torch.randn(1, 3, 5, 6)
    network = netdef.define(model, {"x": netdef.Input((1, 3, 5, 6))}, precision="bf16")
    assert "BF16" in {r["dtypes"][0] for r in network.layers()}
    got = netdef.reference.run(network, {"x": x.numpy()})["output"]
    with torch.no_grad():  # torch in bf16 end to end: the input, the weights and the output rounded alike
        want = twin.to(torch.bfloat16)(x.to(torch.bfloat16)).float().numpy()
    assert got.shape == want.shape == (1, 4, 11 + output_padding, 13 + output_padding)
    # bf16 keeps 8 significant bits: a few roundings of sums of 27 products stay within 2% of the largest output
    np.testing.assert_allclose(got, want, atol=2e-2 * np.abs(want).max())
    with pytest.raises(netdef.InterpreterError, match=r"pass the Network, not its \.network"):
        netdef.reference.run(network.network, {"x": x.numpy()})
