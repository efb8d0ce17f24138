"""Whole-model precision and per-module overrides under strong typing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn
from netdef._trt import trt
from netdef.zoo.mlp import MLP
from netdef.zoo.twins.mlp import MLP as TorchMLP


@pytest.fixture(scope="module")
def mlp_pair():
    torch.manual_seed(0)
    twin = TorchMLP()
    twin.net[1].running_mean.uniform_(-0.5, 0.5)
    twin.net[1].running_var.uniform_(0.5, 2.0)
    twin.eval()
    model = MLP()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    return model, twin, x, twin(torch.from_numpy(x)).detach().numpy()


def layer_dtypes(network) -> dict[str, str]:
    return {r["name"]: r["dtypes"][0] for r in network.layers()}


def kernel_dtype(network, name: str):
    """dtype of the weights TensorRT holds for a constant layer."""
    for i in range(network.network.num_layers):
        layer = network.network.get_layer(i)
        if layer.name == name:
            layer.__class__ = trt.IConstantLayer
            return np.asarray(layer.weights).dtype
    raise KeyError(name)


@pytest.mark.parametrize(("precision", "dtype", "tol"), [("fp16", np.float16, 2e-2), ("bf16", None, 6e-2)])
def test_whole_model_precision(mlp_pair, precision, dtype, tol):
    model, _, x, expected = mlp_pair
    network = netdef.define(model, MLP.default_inputs(), precision=precision)
    out = netdef.reference.run(network, {"x": x})["output"]
    assert out.dtype == np.float32  # outputs come back in fp32
    # tolerance: fp16 has 11 significant bits, bf16 8 — a few roundings per layer of a 3-layer MLP
    np.testing.assert_allclose(out, expected, atol=tol * np.abs(expected).max())
    if dtype is not None:
        assert kernel_dtype(network, "net.0/linear_weight") == dtype
    netdef.build(network)


def test_override_by_path_keeps_a_module_in_fp32(mlp_pair):
    model, _, x, expected = mlp_pair
    network = netdef.define(model, MLP.default_inputs(), precision="fp16", overrides={"net.6": "fp32"})
    dtypes = layer_dtypes(network)
    assert dtypes["net.6/matmul"] == "FLOAT" and dtypes["net.4/matmul"] == "HALF"
    assert kernel_dtype(network, "net.6/linear_weight") == np.float32
    assert kernel_dtype(network, "net.0/linear_weight") == np.float16
    # the fp32 final layer's output is the network output directly: no round trip through fp16
    out_layer = [r for r in network.layers() if network.outputs[0] in (r["name"],)]
    assert not out_layer or out_layer[0]["dtypes"] == ["FLOAT"]
    out = netdef.reference.run(network, {"x": x})["output"]
    np.testing.assert_allclose(out, expected, atol=2e-2 * np.abs(expected).max())
    netdef.build(network)


def test_override_by_class_and_pattern(mlp_pair):
    model = mlp_pair[0]
    by_class = netdef.define(model, MLP.default_inputs(), precision="fp16", overrides={nn.Linear: "fp32"})
    assert all(
        by_class.layers()[i]["dtypes"] == ["FLOAT"] for i, r in enumerate(by_class.layers()) if "matmul" in r["name"]
    )
    by_glob = netdef.define(model, MLP.default_inputs(), precision="fp32", overrides={"net.[01]": "fp16"})
    dtypes = layer_dtypes(by_glob)
    assert (
        dtypes["net.0/matmul"] == "HALF" and dtypes["net.1/batch_norm"] == "HALF" and dtypes["net.4/matmul"] == "FLOAT"
    )


def test_override_that_matches_nothing_is_an_error(mlp_pair):
    with pytest.raises(netdef.EmitError, match="match no module"):
        netdef.define(mlp_pair[0], MLP.default_inputs(), precision="fp16", overrides={"classifier": "fp32"})
    with pytest.raises(netdef.EmitError, match="precision must be one of"):
        netdef.define(mlp_pair[0], MLP.default_inputs(), overrides={"net.0": "int8"})


def test_output_dtype_is_what_the_user_declares(mlp_pair):
    model, _, x, _ = mlp_pair
    network = netdef.define(model, MLP.default_inputs(), precision="fp16", output_dtype="float16")
    assert netdef.reference.run(network, {"x": x})["output"].dtype == np.float16
    half_in = {"x": netdef.Input((4, 64), "float16")}
    network = netdef.define(model, half_in, precision="fp16", output_dtype="float16")
    assert network.network.get_input(0).dtype == trt.float16
    assert netdef.reference.run(network, {"x": x.astype(np.float16)})["output"].dtype == np.float16
