"""Batch norms folded into the conv / linear / batch norm before them at emission (functional/_fold.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn
from netdef.quantization import QuantConfig


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)
        self.conv1d, self.bn1 = nn.Conv1d(4, 5, 1), nn.BatchNorm1d(5)
        self.fc, self.bn2, self.bn3 = nn.Linear(5, 6), nn.BatchNorm1d(6), nn.BatchNorm1d(6)
        self.plain, self.extra = nn.Linear(3 * 8 * 8, 6, bias=False), nn.BatchNorm1d(6)  # no bias: not folded

    def forward(self, x):
        y = self.conv(x)
        z = self.bn(y)
        z = self.bn1(self.conv1d(z.flatten(2)))
        w = self.bn3(self.bn2(self.fc(z.mean(2))))
        return w + self.extra(self.plain(x.flatten(1))) + y.mean((1, 2, 3)).unsqueeze(1)  # y again: unfolded


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        tnn = torch.nn
        self.conv, self.bn = tnn.Conv2d(3, 4, 3, bias=False), tnn.BatchNorm2d(4)
        self.conv1d, self.bn1 = tnn.Conv1d(4, 5, 1), tnn.BatchNorm1d(5)
        self.fc, self.bn2, self.bn3 = tnn.Linear(5, 6), tnn.BatchNorm1d(6), tnn.BatchNorm1d(6)
        self.plain, self.extra = tnn.Linear(3 * 8 * 8, 6, bias=False), tnn.BatchNorm1d(6)

    def forward(self, x):
        y = self.conv(x)
        z = self.bn(y)
        z = self.bn1(self.conv1d(z.flatten(2)))
        w = self.bn3(self.bn2(self.fc(z.mean(2))))
        return w + self.extra(self.plain(x.flatten(1))) + y.mean((1, 2, 3)).unsqueeze(1)


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    twin = TorchNet().eval()
    gen = torch.Generator().manual_seed(1)
    for m in twin.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    model = Net()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = twin(torch.from_numpy(x)).numpy()
    return model, x, want


INPUTS = {"x": netdef.Input((2, 3, 8, 8))}


def _types(network) -> list[str]:
    return [row["type"] for row in network.layers()]


@pytest.mark.parametrize("fold", [True, False])
def test_folding_keeps_the_values(pair, fold):
    model, x, want = pair
    network = netdef.define(model, INPUTS, fold=fold)
    got = netdef.reference.run(network, {"x": x})["output"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # folded: conv+bn, conv1d+bn1, fc+bn2+bn3; kept: `extra` (its linear has no bias to fold the shift into)
    assert _types(network).count("SCALE") == (1 if fold else 5)


def test_a_reused_unfolded_output_is_emitted_again(pair):
    model = pair[0]
    network = netdef.define(model, INPUTS)
    # `y = conv(x)` is read again after bn(y) folded into it: the unfolded conv is emitted once more, in its scope
    assert [r["name"] for r in network.layers() if r["type"] == "CONVOLUTION"] == [
        "conv/conv",
        "conv1d/conv",
        "conv/conv_1",
    ]
    calls = {c.path: c.folded_into for c in network.module_calls}
    assert calls["conv"] == "bn" and calls["conv1d"] == "bn1" and calls["fc"] == "bn2" and calls["bn2"] == "bn3"
    assert calls["bn"] is None and calls["plain"] is None


def test_fp16_folds_in_float64_and_rounds_once(pair):
    model = pair[0]
    network = netdef.define(model, INPUTS, precision="fp16")
    bn = model.bn
    scale = bn.weight.data.astype(np.float64) / np.sqrt(bn.running_var.data.astype(np.float64) + bn.eps)
    kernel = model.conv.weight.data.astype(np.float64) * scale[:, None, None, None]
    folded = network.named_weights["conv/conv.kernel"]
    assert folded.dtype == np.float16
    np.testing.assert_array_equal(folded, kernel.astype(np.float16))


def test_bf16_fold_gives_a_biasless_conv_a_bf16_bias(pair):
    model, x, want = pair
    network = netdef.define(model, INPUTS, precision="bf16")  # conv has no bias: the fold adds one
    bn = model.bn
    scale = bn.weight.data.astype(np.float64) / np.sqrt(bn.running_var.data.astype(np.float64) + bn.eps)
    shift = bn.bias.data.astype(np.float64) - bn.running_mean.data.astype(np.float64) * scale
    bias = network.named_weights["conv/conv.bias"]
    assert bias.dtype.name == "bfloat16"
    np.testing.assert_array_equal(bias.astype(np.float64), shift.astype(bias.dtype).astype(np.float64))
    got = netdef.reference.run(network, {"x": x})["output"]
    np.testing.assert_allclose(got, want, rtol=0, atol=0.05 * np.abs(want).max())  # bf16: 8 bits of mantissa


class ConvThenBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y * 2  # y read by a layer before the batch norm: nothing to fold into


def _bound(model: nn.Module) -> nn.Module:
    rng = np.random.default_rng(0)
    model.load_weights({k: rng.random(p.shape, dtype=np.float32) + 0.5 for k, p in model.state_dict().items()})
    return model


def test_no_fold_when_the_output_is_read_first():
    model = _bound(ConvThenBN())

    class Reordered(ConvThenBN):
        def forward(self, x):
            y = self.conv(x)
            twice = y * 2
            return self.bn(y) + twice

    network = netdef.define(_bound(Reordered()), INPUTS)
    assert "SCALE" in _types(network)
    folded = netdef.define(model, INPUTS)  # bn(y) first, then y * 2: folded, y re-emitted
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(
        netdef.reference.run(folded, {"x": x})["output"],
        netdef.reference.run(netdef.define(model, INPUTS, fold=False), {"x": x})["output"],
        rtol=1e-5,
        atol=1e-5,
    )


def test_no_fold_across_a_precision_boundary_or_qdq():
    model = _bound(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)))
    assert "SCALE" not in _types(netdef.define(model, INPUTS, precision="fp16"))
    # the batch norm in fp32 inside an fp16 network: the cast between them stays, and so does the scale
    assert "SCALE" in _types(netdef.define(model, INPUTS, precision="fp16", overrides={"1": "fp32"}))
    # a Q/DQ'd kernel is not rewritten
    quantized = netdef.define(model, INPUTS, quantization=QuantConfig("int8", weights_only=True))
    assert "SCALE" in _types(quantized)


class ConvBn(nn.Module):
    def __init__(self, bias: bool):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(2, 3, 3, bias=bias), nn.BatchNorm2d(3)

    def forward(self, x):
        return self.bn(self.conv(x))


def _conv_bn(kernel: float, bias: float | None, gamma: float) -> tuple[torch.nn.Module, ConvBn]:
    """A torch conv + batch norm (eval) whose channel 1 has the given kernel value, bias and bn weight."""
    twin = torch.nn.Sequential()
    twin.conv, twin.bn = torch.nn.Conv2d(2, 3, 3, bias=bias is not None), torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        twin.conv.weight.fill_(0.5)
        twin.conv.weight[1].fill_(kernel)
        if bias is not None:
            twin.conv.bias.fill_(bias)
        twin.bn.weight.copy_(torch.tensor([1.0, gamma, 2.0]))
    model = ConvBn(bias is not None)
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    return twin.eval(), model


@pytest.mark.parametrize(
    ("kernel", "bias", "role"),
    [(400.0, 0.25, "kernel"), (0.5, 1000.0, "bias"), (400.0, None, "kernel")],
    ids=["kernel", "bias", "new-bias-kernel"],
)
def test_fp16_folded_weights_beyond_fp16_are_refused_like_unfolded_ones(kernel, bias, role):
    """kernel 400 (or bias 1000) and bn weight 300 all fit fp16; their fold (1.2e5, 3e5) does not."""
    twin, model = _conv_bn(kernel, bias, 300.0)
    inputs = {"x": netdef.Input((1, 2, 5, 5))}
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(model, inputs, precision="fp16")
    message = str(info.value)
    assert f"the {role} of `conv/conv` with the batch norm `bn` folded into it" in message
    assert "beyond float16's range" in message
    assert "overrides={'conv': 'fp32', 'bn': 'fp32'}" in message and "fold=False" in message
    # the fixes the message names work and compute torch's result (fold=False only where the conv's output,
    # before the batch norm scales it, fits fp16: not with a bias of 1000 scaled by 300)
    x = torch.randn(1, 2, 5, 5) * 0.01
    want = twin(x).detach().numpy()
    fixes = [{"overrides": {"conv": "fp32", "bn": "fp32"}}] + ([{"fold": False}] if role == "kernel" else [])
    for fix in fixes:
        got = netdef.reference.run(netdef.define(model, inputs, precision="fp16", **fix), {"x": x.numpy()})["output"]
        netdef.testing.assert_close(got, want, "fp16")
