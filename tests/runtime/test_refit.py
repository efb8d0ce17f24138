"""Refit: weights named after module paths (checked on CPU), and swapping them in an engine (GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef._trt import BACKEND, trt
from netdef.runtime import current_gpu
from netdef.runtime.device import backend_supports
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


def bound(seed: int):
    torch.manual_seed(seed)
    twin = TorchLeNet().eval()
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    return model, twin


def test_every_weight_has_a_module_path_name():
    model, twin = bound(0)
    network = netdef.define(model, model.default_inputs())
    names = set(network.named_weights)
    assert {
        "conv1/conv.kernel",
        "conv1/conv.bias",
        "conv2/conv.kernel",
        "fc1/linear_weight",
        "fc3/linear_bias",
    } <= names
    np.testing.assert_array_equal(
        network.named_weights["conv1/conv.kernel"], twin.conv1.weight.detach().numpy().astype(np.float32)
    )
    # the same names on a network of other weights: what refit matches by
    other = netdef.define(bound(1)[0], model.default_inputs())
    assert set(other.named_weights) == names
    assert not np.array_equal(other.named_weights["fc1/linear_weight"], network.named_weights["fc1/linear_weight"])


class ConvBN(netdef.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = netdef.nn.Conv2d(3, 4, 3, bias=False)
        self.bn = netdef.nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x))


def _conv_bn(seed: int) -> ConvBN:
    model = ConvBN()
    rng = np.random.default_rng(seed)
    model.load_weights({k: rng.random(p.shape, dtype=np.float32) + 0.5 for k, p in model.state_dict().items()})
    return model


def _expected_folded(model: ConvBN) -> tuple[np.ndarray, np.ndarray]:
    """The folded kernel and bias, from the named conv and batch-norm weights (float64, rounded once)."""
    bn = model.bn
    scale = bn.weight.data.astype(np.float64) / np.sqrt(bn.running_var.data.astype(np.float64) + bn.eps)
    kernel = model.conv.weight.data.astype(np.float64) * scale[:, None, None, None]
    bias = bn.bias.data - bn.running_mean.data.astype(np.float64) * scale
    return kernel.astype(np.float32), bias.astype(np.float32)


def test_folded_batchnorm_refits_through_the_conv_names():
    """Folded: bn.* live in the conv's kernel and bias names; a network of new weights recomputes both."""
    inputs = {"x": netdef.Input((1, 3, 8, 8))}
    for seed in (0, 1):
        model = _conv_bn(seed)
        network = netdef.define(model, inputs)
        assert set(network.named_weights) == {"conv/conv.kernel", "conv/conv.bias"}
        kernel, bias = _expected_folded(model)
        np.testing.assert_array_equal(network.named_weights["conv/conv.kernel"], kernel)
        np.testing.assert_array_equal(network.named_weights["conv/conv.bias"], bias)
        # the model's own weights are untouched by the fold
        assert not np.array_equal(model.conv.weight.data, kernel)


def test_unfolded_batchnorm_keeps_named_scale_and_shift():
    network = netdef.define(_conv_bn(0), {"x": netdef.Input((1, 3, 8, 8))}, fold=False)
    assert set(network.named_weights) == {"conv/conv.kernel", "bn/batch_norm.scale", "bn/batch_norm.shift"}


def _refit_skip_reason() -> str | None:
    gpu = current_gpu()
    if gpu is None:
        return "refit needs a GPU: no CUDA GPU visible (TensorRT-RTX also builds refittable engines only with a GPU)"
    if not backend_supports(gpu.compute_capability):
        return f"{BACKEND} cannot run engines on {gpu.name} (compute capability {gpu.compute_capability})"
    return None


@pytest.mark.gpu
def test_refit_swaps_weights_without_rebuilding(tmp_path):
    reason = _refit_skip_reason()
    if reason:
        pytest.skip(reason)
    from netdef.runtime.refit import refit

    model_a, twin_a = bound(0)
    model_b, twin_b = bound(1)
    path = tmp_path / "lenet.engine"
    netdef.build(model_a, model_a.default_inputs(), refit=True, output=path)
    engine = netdef.Engine.load(path)
    assert engine.engine.refittable
    x = np.random.default_rng(0).standard_normal((1, 1, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(
        engine.infer({"x": x})["output"], twin_a(torch.from_numpy(x)).detach().numpy(), atol=1e-3
    )
    network_b = netdef.define(model_b, model_b.default_inputs())
    names = refit(engine, network_b.named_weights, weights_sha256=network_b.weights_digest)
    assert "conv1/conv.kernel" in names
    assert trt.Refitter(engine.engine, netdef._trt.LOGGER).get_missing_weights() == []
    np.testing.assert_allclose(
        engine.infer({"x": x})["output"], twin_b(torch.from_numpy(x)).detach().numpy(), atol=1e-3
    )
    assert engine.metadata["weights_sha256"] == network_b.weights_digest
    netdef.BuiltEngine(bytes(engine.engine.serialize()), engine.metadata).save(path)  # in place, as `netdef refit`
    np.testing.assert_allclose(
        netdef.Engine.load(path).infer({"x": x})["output"], twin_b(torch.from_numpy(x)).detach().numpy(), atol=1e-3
    )


def test_refit_on_cpu_is_a_clear_build_error_or_succeeds(capfd):
    """TensorRT-RTX's builder needs a GPU it supports for refittable engines; netdef says so in one error, with
    TensorRT's own lines (its logger's and those its native code prints) folded in, not printed beside it."""
    model, _ = bound(0)
    capfd.readouterr()
    try:
        built = netdef.build(model, model.default_inputs(), refit=True)
    except netdef.BuildError as exc:
        gpu = current_gpu()
        assert BACKEND == "tensorrt_rtx" and (gpu is None or not backend_supports(gpu.compute_capability))
        if gpu is None:
            assert "builds one only on a machine with a GPU it supports, and this machine has none" in str(exc)
            assert "without refit=True" in str(exc)
        out, err = capfd.readouterr()
        assert "Myelin" not in out + err, "TensorRT's lines went to the terminal beside the BuildError"
        assert "Myelin" in str(exc)
    else:
        assert built.metadata["refittable"] is True


def test_refit_takes_named_weights_not_a_network():
    from netdef.runtime.refit import refit

    model, _ = bound(0)
    network = netdef.define(model, model.default_inputs())
    with pytest.raises(netdef.EngineError, match=r"not a Network \(for a Network, pass network\.named_weights\)"):
        refit(None, network)
