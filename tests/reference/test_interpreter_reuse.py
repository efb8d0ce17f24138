"""Running one network many times: the interpreter plans a netdef Network once and reads its weights in place."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
import netdef.testing
from netdef._trt import NETWORK_FLAGS, builder, trt
from netdef.zoo import zoo
from netdef.zoo.twins.resnet import resnet18 as torch_resnet18


def test_repeated_runs_agree_and_leave_the_weights_untouched(parity):
    from netdef.zoo.resnet import resnet18

    twin = torch_resnet18(num_classes=10).eval()
    for m in twin.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.75, 1.25)
    model = resnet18(num_classes=10)
    model.load_weights(parity.torch_weights(twin))
    net = netdef.define(model, {"x": netdef.Input((1, 3, 32, 32))})
    before = {k: v.copy() for k, v in net.named_weights.items()}
    xs = [np.random.default_rng(i).standard_normal((1, 3, 32, 32)).astype(np.float32) for i in range(3)]
    first = [netdef.reference.run(net, {"x": x})["output"] for x in xs]
    again = [netdef.reference.run(net, {"x": x})["output"] for x in xs]
    raw = [netdef.reference.run(net.network, {"x": x})["output"] for x in xs]  # unplanned path
    for x, a, b, c in zip(xs, first, again, raw):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        with torch.no_grad():
            parity.assert_close(a, twin(torch.from_numpy(x)))
    assert before.keys() == net.named_weights.keys()
    for k, v in before.items():
        np.testing.assert_array_equal(net.named_weights[k], v, err_msg=k)


class _MLP(netdef.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = netdef.nn.Linear(6, 5), netdef.nn.Linear(5, 4)

    def forward(self, x):
        return self.fc2(netdef.F.relu(self.fc1(x))) * 2.0


def _mlp() -> _MLP:
    model = _MLP()
    rng = np.random.default_rng(0)
    model.load_weights({k: rng.standard_normal(p.shape).astype(np.float32) for k, p in model.state_dict().items()})
    return model


def test_constants_are_computed_once_per_planned_network(monkeypatch):
    from netdef.reference import _registry

    net = netdef.define(_mlp(), {"x": netdef.Input((3, 6))})
    cls, constant = _registry.HANDLERS["CONSTANT"]
    calls = []

    def counting(layer, inputs):
        calls.append(layer.name)
        return constant(layer, inputs)

    monkeypatch.setitem(_registry.HANDLERS, "CONSTANT", (cls, counting))
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    first = netdef.reference.run(net, {"x": x})["output"]
    constants = len(calls)
    assert constants == sum(r["type"] == "CONSTANT" for r in net.layers()) > 0
    second = netdef.reference.run(net, {"x": x})["output"]
    assert len(calls) == constants  # kept by the plan, not rebuilt per run
    np.testing.assert_array_equal(first, second)
    # the fused x @ W.T + b steps agree with the layer-by-layer path (an observer sees every layer)
    seen = []
    observed = netdef.reference.run(net, {"x": x}, observe=lambda layer, outs: seen.append(layer.name))
    assert len(seen) == net.network.num_layers
    np.testing.assert_allclose(observed["output"], first, rtol=1e-6, atol=1e-6)
    want = np.maximum(x @ net.named_weights["fc1/linear_weight"].T + net.named_weights["fc1/linear_bias"], 0)
    want = (want @ net.named_weights["fc2/linear_weight"].T + net.named_weights["fc2/linear_bias"]) * 2
    np.testing.assert_allclose(first, want, rtol=1e-5, atol=1e-5)


def test_an_output_that_is_a_constant_is_a_copy():
    class Const(netdef.nn.Module):
        def forward(self, x):
            return x, netdef.F.as_tensor(np.arange(4, dtype=np.float32))

    net = netdef.define(Const(), {"x": netdef.Input((2,))})
    out = netdef.reference.run(net, {"x": np.zeros(2, np.float32)})
    out["output1"][:] = -1  # writing to the result leaves the network's constant alone
    np.testing.assert_array_equal(netdef.reference.run(net, {"x": np.zeros(2, np.float32)})["output1"], np.arange(4))


class _Aliased(netdef.nn.Module):
    """A conv output read by a reshape (a view) before its relu, and the view read after it; a pooled
    tensor added to a larger one (its memory is too small to hold the sum)."""

    def __init__(self):
        super().__init__()
        self.conv = netdef.nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        view = y.reshape(1, -1)
        z = netdef.F.relu(y)
        pooled = netdef.F.avg_pool2d(z, 4)
        return (pooled + z).reshape(1, -1) + view * 2.0


def _donating_steps(net) -> list[str]:
    from netdef.reference import interpreter

    programs = interpreter._PLANS[net.network].programs
    return [entry[1].name for entry in programs[True] if "_donating" in entry[3].__qualname__]


def test_layers_compute_into_inputs_nothing_else_reads():
    model = _Aliased()
    rng = np.random.default_rng(0)
    model.load_weights({k: rng.standard_normal(p.shape).astype(np.float32) for k, p in model.state_dict().items()})
    net = netdef.define(model, {"x": netdef.Input((1, 2, 4, 4))})
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    got = netdef.reference.run(net, {"x": x})["output"]
    again = netdef.reference.run(net, {"x": x})["output"]
    with torch.no_grad():
        w, b = (torch.from_numpy(net.named_weights[f"conv/conv.{r}"]) for r in ("kernel", "bias"))
        y = torch.nn.functional.conv2d(torch.from_numpy(x), w, b, padding=1)
        z = torch.relu(y)
        want = (z.mean((2, 3), keepdim=True) + z).reshape(1, -1) + y.reshape(1, -1) * 2.0
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got, again)
    donating = _donating_steps(net)
    assert not any("relu" in name for name in donating)  # the reshape's view of the conv output is read later
    assert len(donating) == 2  # the pooled sum (falls back: too small) and the final sum into its left operand


def test_a_resnet_runs_its_relus_and_residual_adds_in_place(parity):
    from netdef.zoo.resnet import resnet18

    twin = torch_resnet18(num_classes=10).eval()
    model = resnet18(num_classes=10)
    model.load_weights(parity.torch_weights(twin))
    net = netdef.define(model, {"x": netdef.Input((2, 3, 32, 32))})
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    got = netdef.reference.run(net, {"x": x})["output"]
    with torch.no_grad():
        parity.assert_close(got, twin(torch.from_numpy(x)))
    donating = _donating_steps(net)
    relus = {r["name"] for r in net.layers() if r["type"] == "ACTIVATION"}
    adds = {r["name"] for r in net.layers() if r["type"] == "ELEMENTWISE" and r["name"].endswith("/add")}
    assert len(relus) == 17 and len(adds) == 8  # the fc's bias add runs fused with its matmul
    assert sorted(donating) == sorted(relus | adds)


class _Shapes(netdef.nn.Module):
    """Shuffles and slices of many forms (the compiled program specializes them per layer)."""

    def forward(self, x):
        a = x.permute(0, 2, 3, 1).reshape(2, -1, 3)[:, 1:7:2]
        b = x.transpose(1, 2).flatten(1)[:, ::3]
        c = x[1:, :, 2:, :3].reshape(-1)
        d = x.narrow(3, 1, 2).permute(3, 0, 2, 1).reshape(2, 2, -1).transpose(0, 1)
        e = x.sum().reshape(())  # a 0-d tensor
        return a, b, c, d, e * 2.0


def _by_hand() -> trt.INetworkDefinition:
    """Shuffles with both transposes and a reshape, and slices with strides, a clamped out-of-bounds read."""
    network = builder().create_network(NETWORK_FLAGS)
    x = network.add_input("x", trt.float32, (2, 3, 4, 5))
    shuffle = network.add_shuffle(x)
    shuffle.first_transpose = (0, 2, 1, 3)
    shuffle.reshape_dims = (2, 4, 15)
    shuffle.second_transpose = (2, 0, 1)
    strided = network.add_slice(shuffle.get_output(0), (1, 0, 1), (7, 2, 2), (2, 1, 2))
    clamped = network.add_slice(x, (0, 1, 2, 3), (2, 2, 2, 3), (1, 1, 1, 1))
    clamped.mode = trt.SampleMode.CLAMP  # reads past the last column
    for layer in (strided, clamped):
        network.mark_output(layer.get_output(0))
    return network


@pytest.mark.parametrize("name", ["vit", "bert", "yolov5n", "crnn", None, "by hand"])
def test_compiled_program_matches_the_layer_by_layer_path(name):
    """Specialized handlers and in-place steps (the program's) give the general handlers' results bit for bit:
    an observed run takes the general handler of every layer."""
    if name is None or name == "by hand":
        model, inputs = _Shapes(), {"x": netdef.Input((2, 3, 4, 5))}
        feeds = netdef.testing.random_feeds(inputs, seed=3)
    else:
        entry = zoo.get(name)
        model = netdef.testing.twin_pair(entry)[1]
        inputs = {k: netdef.Input(shape, dtype) for k, (shape, dtype) in entry.test_inputs.items()}
        feeds = netdef.testing.random_feeds(entry, seed=3)
    net = _by_hand() if name == "by hand" else netdef.define(model, inputs)
    fast = netdef.reference.run(net, feeds)
    general = netdef.reference.run(net, feeds, observe=lambda layer, outputs: None)
    assert fast.keys() == general.keys()
    for key in fast:
        np.testing.assert_array_equal(fast[key], general[key], err_msg=key)


class _LinearBN(netdef.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.bn = netdef.nn.Linear(1024, 64), netdef.nn.BatchNorm1d(64)

    def forward(self, x):
        return self.bn(self.fc(x))


def test_fused_linear_adds_a_large_folded_bias_to_the_finished_products():
    """A batch norm folded into a linear gives a bias far larger than the products (shifts of tens of
    deviations). The fused x @ W.T + b step stays within 2x torch's own float32 error against a float64 run
    (it was 2.8x while the GEMM started its sums at the bias)."""
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(1024, 64), torch.nn.BatchNorm1d(64))
    x = torch.randn(32, 1024)
    with torch.no_grad():
        y = twin[0](x)
        twin[1].running_mean.copy_(y.mean(0))
        twin[1].running_var.copy_(y.var(0))
        twin[1].weight.copy_(torch.rand(64) + 0.5)
        twin[1].bias.copy_(torch.randn(64) * 30)
    twin.eval()
    model = _LinearBN()
    model.load_weights({k.replace("0.", "fc.").replace("1.", "bn."): v.numpy() for k, v in twin.state_dict().items()})
    net = netdef.define(model, {"x": netdef.Input(tuple(x.shape))})
    assert [row["type"] for row in net.layers()] == ["CONSTANT", "MATRIX_MULTIPLY", "CONSTANT", "ELEMENTWISE"]
    with torch.no_grad():
        fp32 = twin(x).numpy()
        want = twin.double()(x.double()).numpy()

    def error(got: np.ndarray) -> float:
        return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())

    ours, theirs = error(netdef.reference.run(net, {"x": x.numpy()})["output"]), error(fp32)
    assert ours <= 2 * theirs, f"interpreter {ours:.2e} vs torch fp32 {theirs:.2e}"
