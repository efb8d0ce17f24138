"""The reference interpreter: feeds validation, unsupported layers, intermediate outputs, observers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef._trt import NETWORK_FLAGS, builder, trt


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        y = F.relu(self.conv(x))
        return self.fc(y.permute(0, 2, 3, 1))


class TorchSmall(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
        self.fc = torch.nn.Linear(3, 4)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.fc(y.permute(0, 2, 3, 1))


@pytest.fixture
def small(parity):
    ref = TorchSmall().eval()
    model = Small()
    model.load_weights(parity.torch_weights(ref))
    return model, ref


def _net(small, shape=(2, 2, 5, 5), **spec):
    return netdef.define(small[0], {"x": netdef.Input(shape, **spec)})


# ------------------------------------------------------------------------------------------------- feeds
def test_runs_a_network_like_torch(parity, small):
    x = torch.randn(2, 2, 5, 5)
    out = netdef.reference.run(_net(small), {"x": x.numpy()})
    assert list(out) == ["output"]
    with torch.no_grad():
        parity.assert_close(out["output"], small[1](x))


def test_missing_and_unexpected_feeds_are_reported_together(small):
    net = _net(small)
    with pytest.raises(netdef.InterpreterError) as info:
        netdef.reference.run(net, {"y": np.zeros((2, 2, 5, 5), np.float32)})
    msg = str(info.value)
    assert "feeds do not match the network's inputs ['x']" in msg
    assert "missing ['x']" in msg and "unexpected ['y']; feed one array per input, keyed by its name" in msg
    with pytest.raises(netdef.InterpreterError, match=r"missing \['x'\], unexpected none"):
        netdef.reference.run(net, {})


@pytest.mark.parametrize("shape", [(2, 2, 5, 4), (2, 2, 5), (1, 2, 2, 5, 5)])
def test_wrong_feed_shape_is_refused(small, shape):
    with pytest.raises(
        netdef.InterpreterError, match=re.escape(f"input 'x' has shape {shape}, the network declares (2, 2, 5, 5)")
    ):
        netdef.reference.run(_net(small), {"x": np.zeros(shape, np.float32)})


def test_wrong_feed_dtype_kind_is_refused(small):
    with pytest.raises(netdef.InterpreterError, match="input 'x' is int64; the network expects float32"):
        netdef.reference.run(_net(small), {"x": np.zeros((2, 2, 5, 5), np.int64)})


def test_float64_feed_is_converted(parity, small):
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    out = netdef.reference.run(_net(small), {"x": x.numpy()})["output"]
    assert out.dtype == np.float32
    with torch.no_grad():
        parity.assert_close(out, small[1](x.float()))


def test_dynamic_batch_runs_inside_the_profile_only(parity, small):
    net = _net(small, shape=(-1, 2, 5, 5), min=(1, 2, 5, 5), max=(4, 2, 5, 5))
    for batch in (1, 3, 4):
        x = torch.randn(batch, 2, 5, 5)
        out = netdef.reference.run(net, {"x": x.numpy()})["output"]
        with torch.no_grad():
            parity.assert_close(out, small[1](x))
    with pytest.raises(netdef.InterpreterError, match=r"input 'x' has shape \(5, 2, 5, 5\), outside"):
        netdef.reference.run(net, {"x": np.zeros((5, 2, 5, 5), np.float32)})


# ----------------------------------------------------------------------------------- unsupported layers
def _reverse_sequence(net, t):
    lens = net.add_constant((2,), trt.Weights(np.array([3, 1], np.int32))).get_output(0)
    return net.add_reverse_sequence(t, lens)


# layer types the interpreter may lack, each added after a supported RELU of a (2, 3, 4, 4) input
UNSUPPORTED_CANDIDATES = {
    "REVERSE_SEQUENCE": _reverse_sequence,
    "LRN": lambda net, t: net.add_lrn(t, 3, 1e-4, 0.75, 1.0),
    "TOPK": lambda net, t: net.add_topk(t, trt.TopKOperation.MAX, 2, 1 << 3),
}


def _unsupported_network(monkeypatch):
    """A network built by hand whose last layer has a type the interpreter has no handler for.

    The interpreter keeps growing: when it handles every candidate, TOPK's handler is hidden for the test.
    """
    from netdef.reference._registry import HANDLERS
    from netdef.reference.interpreter import _load_handlers

    _load_handlers()
    kind = next((k for k in UNSUPPORTED_CANDIDATES if k not in HANDLERS), None)
    if kind is None:
        kind = "TOPK"
        monkeypatch.delitem(HANDLERS, kind)
    network = builder().create_network(NETWORK_FLAGS)
    x = network.add_input("x", trt.float32, (2, 3, 4, 4))
    relu = network.add_activation(x, trt.ActivationType.RELU)
    relu.name = "head/relu"
    layer = UNSUPPORTED_CANDIDATES[kind](network, relu.get_output(0))
    assert layer.type.name == kind
    layer.name = "head/odd"
    network.mark_output(layer.get_output(0))
    return network, kind


def test_unsupported_layer_is_named(monkeypatch):
    network, kind = _unsupported_network(monkeypatch)
    index = network.num_layers - 1
    with pytest.raises(netdef.InterpreterError) as info:
        netdef.reference.run(network, {"x": np.zeros((2, 3, 4, 4), np.float32)})
    msg = str(info.value)
    assert f"layer {index} `head/odd` has type {kind}" in msg
    assert "not support" in msg


# -------------------------------------------------------------------------------- outputs and observers
def test_intermediate_outputs_by_tensor_name(parity, small):
    x = torch.randn(2, 2, 5, 5)
    net = _net(small)
    out = netdef.reference.run(net, {"x": x.numpy()}, outputs=["conv/conv", "relu", "output"])
    assert list(out) == ["conv/conv", "relu", "output"]
    ref = small[1]
    with torch.no_grad():
        parity.assert_close(out["conv/conv"], ref.conv(x))
        parity.assert_close(out["relu"], torch.relu(ref.conv(x)))
        parity.assert_close(out["output"], ref(x))


def test_unknown_output_name(small):
    with pytest.raises(netdef.InterpreterError, match="no tensor named 'nope' was computed"):
        netdef.reference.run(_net(small), {"x": np.zeros((2, 2, 5, 5), np.float32)}, outputs=["nope"])


def test_observer_sees_every_layer_in_order(small):
    net = _net(small)
    seen = []
    netdef.reference.run(
        net, {"x": np.ones((2, 2, 5, 5), np.float32)}, observe=lambda layer, outs: seen.append((layer.name, outs))
    )
    assert [name for name, _ in seen] == [r["name"] for r in net.layers()]
    shapes = {r["name"]: r["shapes"][0] for r in net.layers()}
    assert all(tuple(outs[0].shape) == shapes[name] for name, outs in seen)


def test_fp16_layers_round_their_outputs(parity):
    """Each layer's output is rounded to its declared dtype, as the engine stores it."""
    x = torch.tensor([[1 / 3, 2049.0, 1e-8, 70000.0]])
    net = parity.define(parity.Fn(lambda x: x * 1.0), x, precision="fp16")
    got = parity.run(net, x)
    np.testing.assert_array_equal(got, x.half().float().numpy())  # 70000 overflows to inf, as in torch


def test_network_built_by_hand_with_several_layer_types(parity):
    network = builder().create_network(NETWORK_FLAGS)
    a = network.add_input("a", trt.float32, (2, 3))
    b = network.add_input("b", trt.float32, (3, 4))
    mm = network.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, trt.MatrixOperation.NONE)
    red = network.add_reduce(mm.get_output(0), trt.ReduceOperation.MAX, 1 << 1, False)
    exp = network.add_unary(red.get_output(0), trt.UnaryOperation.EXP)
    network.mark_output(exp.get_output(0))
    ta, tb = torch.randn(2, 3), torch.randn(3, 4)
    (out,) = netdef.reference.run(network, {"a": ta.numpy(), "b": tb.numpy()}).values()
    parity.assert_close(out, torch.exp((ta @ tb).amax(1)))
