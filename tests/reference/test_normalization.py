"""The NORMALIZATION handler: per-group affines of add_normalization, per-channel ones of add_normalization_v2,
and the networks NVIDIA's ONNX parser makes from torch's LayerNorm, GroupNorm and InstanceNorm."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

import netdef
from netdef._trt import LOGGER, NETWORK_FLAGS, builder, trt


def _network(x: torch.Tensor, scale: np.ndarray, bias: np.ndarray, axes: int, groups: int, v2: bool):
    net = builder().create_network(NETWORK_FLAGS)
    keep = [np.ascontiguousarray(scale, np.float32), np.ascontiguousarray(bias, np.float32)]
    s = net.add_constant(keep[0].shape, trt.Weights(keep[0])).get_output(0)
    b = net.add_constant(keep[1].shape, trt.Weights(keep[1])).get_output(0)
    inp = net.add_input("x", trt.float32, tuple(x.shape))
    add = net.add_normalization_v2 if v2 else net.add_normalization
    layer = add(inp, s, b, axes)
    layer.num_groups = groups
    layer.epsilon = 1e-3
    net.mark_output(layer.get_output(0))
    return net, keep


@pytest.mark.parametrize("v2", [False, True], ids=["v1-per-group", "v2-per-channel"])
def test_group_affine_follows_the_layer_version(v2):
    x = torch.randn(2, 6, 4, 5) * 3 + 1
    groups = 3
    per = 6 if v2 else groups
    scale, bias = torch.randn(1, per, 1, 1), torch.randn(1, per, 1, 1)
    net, _keep = _network(x, scale.numpy(), bias.numpy(), 0b1100, groups, v2)
    got = netdef.reference.run(net, {"x": x.numpy()})
    normalized = torch.nn.functional.group_norm(x, groups, eps=1e-3)
    if not v2:  # one affine per group: repeat it over the group's channels
        scale, bias = scale.repeat_interleave(2, dim=1), bias.repeat_interleave(2, dim=1)
    np.testing.assert_allclose(next(iter(got.values())), (normalized * scale + bias).numpy(), rtol=1e-5, atol=1e-5)


def test_axes_mask_picks_the_reduced_dims():
    x = torch.randn(3, 4, 5)
    net, _keep = _network(x, np.ones((1, 1, 1)), np.zeros((1, 1, 1)), 0b101, 1, True)
    got = next(iter(netdef.reference.run(net, {"x": x.numpy()}).values()))
    mean = x.mean(dim=(0, 2), keepdim=True)
    var = x.var(dim=(0, 2), keepdim=True, unbiased=False)
    np.testing.assert_allclose(got, ((x - mean) / torch.sqrt(var + 1e-3)).numpy(), rtol=1e-5, atol=1e-5)


def _via_onnx(module: torch.nn.Module, x: torch.Tensor):
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), f, dynamo=False, opset_version=17, input_names=["x"])
    net = builder().create_network(NETWORK_FLAGS)
    parser = trt.OnnxParser(net, LOGGER)
    assert parser.parse(f.getvalue()), [parser.get_error(i).desc() for i in range(parser.num_errors)]
    types = {net.get_layer(i).type.name for i in range(net.num_layers)}
    return next(iter(netdef.reference.run(net, {"x": x.numpy()}).values())), types


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (torch.nn.LayerNorm(7), (2, 5, 7)),
        (torch.nn.LayerNorm((5, 7)), (2, 5, 7)),
        (torch.nn.GroupNorm(3, 6), (2, 6, 4, 5)),
        (torch.nn.GroupNorm(1, 4), (2, 4, 3, 3)),
        (torch.nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
    ],
    ids=["ln", "ln-2d", "gn", "gn-1", "in"],
)
def test_onnx_parsed_norms_match_torch(module, shape):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.randn(shape) * 2 + 1
    got, types = _via_onnx(module, x)
    assert "NORMALIZATION" in types
    with torch.no_grad():
        np.testing.assert_allclose(got, module(x).numpy(), rtol=1e-4, atol=1e-4)
