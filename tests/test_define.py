"""define(): emission errors that point at the user's module and line, layer naming, precision, outputs."""

from __future__ import annotations

import inspect
import os
import re

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef._trt import LOGGER, trt


def line_of(function, needle: str) -> int:
    """The line number of the (single) source line of ``function`` that contains ``needle``."""
    lines, start = inspect.getsourcelines(function)
    (index,) = [i for i, line in enumerate(lines) if needle in line]
    return start + index


def bind_random(model: nn.Module) -> nn.Module:
    rng = np.random.default_rng(0)
    weights = {k: rng.standard_normal(p.shape).astype(p.dtype) for k, p in model.state_dict().items()}
    for k in weights:
        if k.endswith("running_var"):
            weights[k] = np.abs(weights[k]) + 0.5
    model.load_weights(weights)
    return model


def assert_points_at(msg: str, path: str, cls: str, function, needle: str) -> None:
    """The EmitError names the module path, its class, this file and the line of the offending call."""
    assert f"module `{path}` ({cls})" in msg, msg
    assert f"{__file__}:{line_of(function, needle)}" in msg, msg
    assert os.path.basename(__file__) in msg


# ------------------------------------------------------------------------------------- emission errors
class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def test_linear_with_wrong_in_features_names_module_and_line():
    model = bind_random(MLP())
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(model, {"x": netdef.Input((2, 3, 4))})  # flattens to 12 features, fc1 takes 10
    msg = str(info.value)
    assert msg.startswith("linear in module `fc1` (Linear)")
    assert_points_at(msg, "fc1", "Linear", MLP.forward, "self.fc1(x)")
    assert "input has 12 features in its last dim (shape (2, 12)) but the layer expects in_features=10" in msg


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv1(x)


class Detector(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()

    def forward(self, x):
        return self.backbone(x)


def test_conv_with_wrong_channel_count_names_module_and_line():
    model = bind_random(Detector())
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(model, {"x": netdef.Input((1, 4, 8, 8))})
    msg = str(info.value)
    # the innermost user frame is Backbone.forward, where the conv is called
    assert_points_at(msg, "backbone.conv1", "Conv2d", Backbone.forward, "self.conv1(x)")
    assert "input has 4 channels (shape (1, 4, 8, 8)) but the layer expects in_channels=3" in msg


class Mix(nn.Module):
    def forward(self, a, b):
        return a * 2 + b


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mix = Mix()

    def forward(self, a, b):
        return self.mix(a, b)


def test_mismatched_broadcast_names_module_and_line():
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(TwoInputs(), {"a": netdef.Input((2, 3)), "b": netdef.Input((2, 4))})
    msg = str(info.value)
    assert msg.startswith("add in module `mix` (Mix)")
    assert_points_at(msg, "mix", "Mix", Mix.forward, "return a * 2 + b")
    assert "shapes (2, 3) and (2, 4) cannot be broadcast together" in msg


class RootOp(nn.Module):
    def forward(self, a, b):
        return a @ b


def test_error_in_the_root_module_names_it():
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(RootOp(), {"a": netdef.Input((2, 3)), "b": netdef.Input((4, 5))})
    assert_points_at(str(info.value), "<root>", "RootOp", RootOp.forward, "return a @ b")


def _raw(x):
    layer = x.ctx.add_layer("raw_softmax", lambda net: net.add_softmax(x.itensor))
    return netdef.Tensor(layer.get_output(0), x.ctx)


class RawSoftmaxModel(nn.Module):
    def forward(self, x):
        return _raw(x)


def test_tensorrt_reasons_survive_a_long_log():
    """TensorRT's own complaint reaches the EmitError even after the logger dropped old messages."""
    for i in range(300):
        LOGGER.log(trt.ILogger.Severity.VERBOSE, f"filler {i}")
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(RawSoftmaxModel(), {"x": netdef.Input((5,))})  # TensorRT's softmax needs rank >= 2
    msg = str(info.value)
    assert "raw_softmax in module `<root>` (RawSoftmaxModel)" in msg
    assert "at least 2 dimensions" in msg, msg


def test_unbound_weights_are_named():
    model = MLP()
    model.fc1.load_weights({"weight": np.ones((5, 10)), "bias": np.ones(5)})
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(model, {"x": netdef.Input((1, 10))})
    msg = str(info.value)
    assert "MLP has 2 unbound weights (fc2.weight, fc2.bias)" in msg and "load_weights" in msg


def test_define_argument_errors():
    relu = nn.ReLU()
    with pytest.raises(netdef.EmitError, match="precision must be one of fp32, fp16, bf16, got 'int8'"):
        netdef.define(relu, {"x": netdef.Input((2,))}, precision="int8")
    with pytest.raises(netdef.EmitError, match=r"define\(\) takes a netdef.nn.Module, got ReLU"):
        netdef.define(torch.nn.ReLU(), {"x": netdef.Input((2,))})
    with pytest.raises(netdef.EmitError, match="needs at least one input"):
        netdef.define(relu, {})
    with pytest.raises(netdef.EmitError, match=r"input 'x' must be a netdef.Input, got tuple"):
        netdef.define(relu, {"x": (2, 3)})


@pytest.mark.parametrize(
    ("result", "match"),
    [
        (lambda x: 3.0, "forward must return a Tensor, a tuple/list or a dict of Tensors, got float"),
        (lambda x: (x, None), "output 'output1' is a NoneType, not a netdef.Tensor"),
        (lambda x: {"y": x, "z": 1}, "output 'z' is a int, not a netdef.Tensor"),
    ],
)
def test_forward_results_that_are_not_tensors(parity, result, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(parity.Fn(result), {"x": netdef.Input((2,))})


def test_input_spec_validation():
    with pytest.raises(netdef.EmitError, match="give min= and max= shapes"):
        netdef.Input((-1, 3))
    with pytest.raises(netdef.EmitError, match="must match the"):
        netdef.Input((-1, 3), min=(1, 4), max=(8, 3))
    with pytest.raises(netdef.EmitError, match="min <= opt <= max"):
        netdef.Input((-1, 3), min=(4, 3), max=(2, 3))
    with pytest.raises(netdef.NetdefError, match="unknown dtype 'float8'"):
        netdef.Input((1, 3), dtype="float8")
    assert netdef.Input([2, 3]).shape == (2, 3) and not netdef.Input((2, 3)).is_dynamic


def test_tensor_has_no_truth_value(parity):
    def branch(x):
        return x if x else -x

    with pytest.raises(TypeError, match="data-dependent Python control flow"):
        netdef.define(parity.Fn(branch), {"x": netdef.Input((2,))})


# ----------------------------------------------------------------------------------------------- outputs
def test_several_outputs_by_position_and_by_name(parity):
    x = torch.randn(2, 3)
    net = parity.define(parity.Fn(lambda x: (x.relu(), x * 2)), x)
    assert net.outputs == ["output0", "output1"]
    got = netdef.reference.run(net, {"x": x.numpy()})
    parity.assert_close(got["output0"], x.relu())
    parity.assert_close(got["output1"], x * 2)
    net = parity.define(parity.Fn(lambda x: {"pos": x.relu(), "neg": (-x).relu()}), x)
    assert net.outputs == ["pos", "neg"]
    assert net.output_dtypes() == {"pos": "float32", "neg": "float32"}


def test_input_returned_as_output(parity):
    x = torch.randn(3)
    net = parity.check(parity.Fn(lambda x: x), lambda x: x, x, build=True)
    assert [r["type"] for r in net.layers()] == ["IDENTITY"]


def test_integer_outputs_keep_their_dtype(parity):
    x = torch.arange(6, dtype=torch.int32).view(2, 3)
    net = parity.define(parity.Fn(lambda x: x * 2), x, precision="fp16")
    assert net.output_dtypes() == {"output": "int32"}
    parity.assert_close(parity.run(net, x), x * 2)


# ------------------------------------------------------------------------------------------ layer naming
class BasicBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(4), BasicBlock(4))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def _layer_names(net: netdef.Network) -> list[str]:
    return [net.network.get_layer(i).name for i in range(net.network.num_layers)]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_layer_names_start_with_the_emitting_module_path(precision):
    model = bind_random(TinyResNet())
    # fold=False: every batch norm keeps its own scale layer (folded, it is the conv before it)
    net = netdef.define(model, {"x": netdef.Input((1, 3, 8, 8))}, precision=precision, fold=False)
    names = _layer_names(net)
    block = ["conv1/conv", "bn1/batch_norm", "relu", "conv2/conv", "bn2/batch_norm", "add", "relu_1"]
    expected = [
        "conv1/conv",
        "bn1/batch_norm",
        "relu/relu",
        *(f"layer1.0/{n}" if "/" not in n else f"layer1.0.{n}" for n in block),
        *(f"layer1.1/{n}" if "/" not in n else f"layer1.1.{n}" for n in block),
        "avgpool/adaptive_avg_pool2d",
        "flatten",  # x.flatten(1) in TinyResNet.forward: the root module has no path
        "fc/linear_weight",
        "fc/matmul",
        "fc/linear_bias",
        "fc/bias",
    ]
    if precision == "fp16":  # the input cast on entry and the output cast back to float32
        expected = ["cast", *expected, "cast_1"]
    assert names == expected
    assert "layer1.0.conv1/conv" in names and "layer1.1.bn2/batch_norm" in names
    # every name is '<path of a module of the model>/<op>' or a root op, and names are unique
    paths = {path for path, _ in model.named_modules() if path}
    assert all("/" not in n or n.rsplit("/", 1)[0] in paths for n in names)
    assert len(set(names)) == len(names)
    # the output tensors carry their layer's name
    layer = net.network.get_layer(names.index("layer1.0.conv1/conv"))
    assert layer.get_output(0).name == "layer1.0.conv1/conv"


def test_module_outside_the_tree_is_named_by_class(parity):
    class Loose(nn.Module):
        def forward(self, x):
            return nn.Sigmoid()(x)  # created in forward: not reachable from the root

    net = parity.define(Loose(), torch.randn(2))
    assert _layer_names(net) == ["sigmoid/sigmoid"]


def test_representative_network_builds(parity):
    model = bind_random(TinyResNet())
    for precision in ("fp32", "fp16"):
        net = netdef.define(model, {"x": netdef.Input((2, 3, 8, 8))}, precision=precision)
        engine = parity.build(net)
        assert engine.metadata["outputs"] == [{"name": "output", "shape": [2, 3], "dtype": "float32"}]


# -------------------------------------------------------------------------------------------- precision
class ConvLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).flatten(1))


class TorchConvLinear(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).flatten(1))


def _layers_by_type(network, type_name: str, cls):
    found = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type.name == type_name:
            layer.__class__ = cls
            found.append(layer)
    return found


@pytest.mark.parametrize(
    ("precision", "np_dtype", "trt_name"), [("fp32", np.float32, "FLOAT"), ("fp16", np.float16, "HALF")]
)
def test_precision_sets_input_cast_weight_dtypes_and_float32_outputs(parity, precision, np_dtype, trt_name):
    ref = TorchConvLinear()
    with torch.no_grad():
        ref.bn.running_mean.normal_()
        ref.bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 3, 6, 6)
    model = ConvLinear()
    net = parity.check(model, ref, x, precision=precision, build=True)
    network = net.network
    # the network's input stays float32; an fp16 network casts it on entry
    assert network.get_input(0).dtype == trt.float32
    first = network.get_layer(0)
    if precision == "fp16":
        assert first.type.name == "CAST" and first.get_input(0).name == "x"
        assert first.get_output(0).dtype == trt.float16
    else:
        assert first.type.name == "CONVOLUTION"
    # conv kernel and bias, batch-norm scale/shift and the linear's constants are in the compute dtype
    (conv,) = _layers_by_type(network, "CONVOLUTION", trt.IConvolutionLayer)
    assert np.asarray(conv.kernel).dtype == np_dtype and np.asarray(conv.bias).dtype == np_dtype
    assert _layers_by_type(network, "SCALE", trt.IScaleLayer) == []  # the batch norm is folded into the conv
    unfolded = netdef.define(model, {"x": netdef.Input((2, 3, 6, 6))}, precision=precision, fold=False)
    (scale,) = _layers_by_type(unfolded.network, "SCALE", trt.IScaleLayer)
    assert np.asarray(scale.scale).dtype == np_dtype and np.asarray(scale.shift).dtype == np_dtype
    constants = _layers_by_type(network, "CONSTANT", trt.IConstantLayer)
    assert len(constants) == 2 and all(np.asarray(c.weights).dtype == np_dtype for c in constants)
    np.testing.assert_array_equal(
        np.asarray(constants[0].weights).reshape(5, 64), ref.fc.weight.detach().numpy().astype(np_dtype)
    )
    # every layer between the casts computes in the compute dtype; the output is float32
    body = [r for r in net.layers() if r["type"] != "CAST"]
    assert all(r["dtypes"] == [trt_name] for r in body)
    assert network.get_output(0).dtype == trt.float32 and net.output_dtypes() == {"output": "float32"}


def test_fp16_changes_the_result_within_tolerance(parity):
    """fp16 really computes in half precision (the result differs from fp32), within FP16_TOL."""
    ref = torch.nn.Linear(64, 8)
    x = torch.randn(4, 64)
    model = nn.Linear(64, 8)
    model.load_weights(parity.torch_weights(ref))
    got32 = parity.run(parity.define(model, x), x)
    got16 = parity.run(parity.define(model, x, precision="fp16"), x)
    assert got16.dtype == np.float32
    assert not np.array_equal(got16, got32)
    with torch.no_grad():
        parity.assert_close(got16, ref(x), "fp16")


def test_weights_are_hashed_once_per_weight_set_and_only_when_asked(monkeypatch):
    import hashlib
    import sys
    import types

    calls = []

    def counting(*args):
        calls.append(1)
        return hashlib.sha256(*args)

    monkeypatch.setattr(sys.modules["netdef.define"], "hashlib", types.SimpleNamespace(sha256=counting))
    model = bind_random(TinyResNet())
    inputs = {"x": netdef.Input((1, 3, 8, 8))}
    first, second = netdef.define(model, inputs), netdef.define(model, inputs, precision="fp16")
    assert calls == []  # define hashes nothing
    digest = first.weights_digest
    assert second.weights_digest == digest
    assert len(calls) == 1  # the same bound arrays: hashed once
    # new arrays of the same values: hashed again, same digest; a changed value: another digest
    weights = {k: np.array(p.data, copy=True) for k, p in model.state_dict().items()}
    model.load_weights(weights)
    assert netdef.define(model, inputs).weights_digest == digest and len(calls) == 2
    weights["fc.bias"] = weights["fc.bias"] + 1
    model.load_weights(weights)
    assert netdef.define(model, inputs).weights_digest != digest and len(calls) == 3
    assert first.weights_digest == digest and len(calls) == 3  # the first network still names its own weights


# ------------------------------------------------------------------------ argument checks (issue 11)


@pytest.mark.parametrize(
    ("shape", "phrase"),
    [
        ((2.5, 3), "holds 2.5; dims are ints"),
        ((True, 3), "holds True; dims are ints"),
        ((-2, 3), "holds -2; dims are -1 (dynamic) or >= 0"),
        ("1x3", "shape must be a tuple of ints"),
        (5, "shape must be a tuple of ints"),
    ],
)
def test_input_refuses_shapes_that_are_not_dims(shape, phrase):
    with pytest.raises(netdef.ArgumentError, match=re.escape(phrase)):
        netdef.Input(shape)


def test_input_refuses_dims_beyond_tensorrts_int64():
    """TensorRT's dims and volumes are int64: larger ones are refused by name, not by TensorRT's TypeError."""
    with pytest.raises(netdef.ArgumentError, match=re.escape(f"shape=({2**70}, 4) holds {2**70}, beyond the largest")):
        netdef.Input((2**70, 4))
    with pytest.raises(netdef.ArgumentError, match=re.escape(f"max=({2**63}, 4) holds {2**63}, beyond the largest")):
        netdef.Input((-1, 4), min=(1, 4), max=(2**63, 4))
    with pytest.raises(netdef.ArgumentError, match=r"shape=\(4611686018427387904, 4\) has more elements than TensorRT"):
        netdef.Input((2**62, 4))
    assert netdef.Input((2**31, 4)).shape == (2**31, 4)  # beyond int32 is fine: TensorRT's dims are int64


def test_input_takes_torch_and_numpy_dtypes_by_their_names():
    for dtype, name in (
        (np.float32, "float32"),
        (torch.float16, "float16"),
        ("torch.int64", "int64"),
        ("fp16", "float16"),
    ):
        assert netdef.Input((1, 3), dtype=dtype).dtype == name


def test_input_refuses_bad_dtype_and_profiles():
    with pytest.raises(netdef.ArgumentError, match=r"Input: unknown dtype 'complex64'"):
        netdef.Input((1, 3), dtype="complex64")
    with pytest.raises(netdef.ArgumentError, match=r"Input: dtype torch.float64 \(float64\) does not exist"):
        netdef.Input((1, 3), dtype=torch.float64)
    with pytest.raises(netdef.ArgumentError, match=r"min=.*holds -1; dims are >= 0"):
        netdef.Input((-1, 3), min=(-1, 3), max=(4, 3))
    with pytest.raises(netdef.ArgumentError, match=r"\(min, opt, max\) triple"):
        netdef.Input((-1, 3), min=(1, 3), max=(4, 3), profiles=[((1, 3), (4, 3))])


def test_an_input_tensorrt_refuses_is_an_emit_error_naming_it(parity):
    with pytest.raises(netdef.EmitError, match=r"input 'x': TensorRT refused Input\(1099511627776, 4\)") as info:
        netdef.define(parity.Fn(lambda x: x + 1), {"x": netdef.Input((2**40, 4))})
    assert "kMAX_HUGE_TENSOR_VOLUME" in str(info.value)


def test_define_checks_inputs_against_forward(parity):
    with pytest.raises(netdef.ArgumentError, match=r"inputs must map names to netdef.Input.*got list"):
        netdef.define(parity.Fn(lambda x: x), [netdef.Input((1, 3))])

    class One(nn.Module):
        def forward(self, x):
            return x

    two = {"x": netdef.Input((1, 3)), "y": netdef.Input((1, 3))}
    with pytest.raises(netdef.EmitError, match=re.escape("input 'y' is not a parameter of One.forward(x), which")):
        netdef.define(One(), two)


# -- inputs bind to forward's parameters by name ------------------------------------------------------


class Sub(nn.Module):
    def forward(self, a, b):
        return a - b


A = np.arange(8, dtype=np.float32).reshape(2, 4)
B = np.full((2, 4), 10, np.float32)


def test_inputs_bind_by_name_not_by_the_order_given():
    network = netdef.define(Sub(), {"b": netdef.Input((2, 4)), "a": netdef.Input((2, 4))})
    got = netdef.reference.run(network, {"a": A, "b": B})["output"]
    np.testing.assert_array_equal(got, A - B)
    # the network declares its inputs in forward's order, as an engine built from it will
    assert list(network.inputs) == ["a", "b"]
    assert [network.network.get_input(i).name for i in range(2)] == ["a", "b"]


def test_an_input_forward_does_not_take_is_refused_with_the_names_it_takes():
    class One(nn.Module):
        def forward(self, x):
            return x * 2

    message = "input 'img' is not a parameter of One.forward(x), which takes ['x']: name each input after"
    with pytest.raises(netdef.EmitError, match=re.escape(message)):
        netdef.define(One(), {"img": netdef.Input((1, 1, 32, 32))})
    with pytest.raises(netdef.EmitError, match=re.escape("inputs 'c', 'd' are not parameters of Sub.forward(a, b)")):
        netdef.define(Sub(), {"a": netdef.Input((1,)), "b": netdef.Input((1,)), "c": netdef.Input((1,)),
                              "d": netdef.Input((1,))})  # fmt: skip


def test_a_parameter_without_an_input_is_named():
    message = "no input for the parameter 'b' of Sub.forward(a, b), which takes ['a', 'b'] (the inputs are ['a'])"
    with pytest.raises(netdef.EmitError, match=re.escape(message)):
        netdef.define(Sub(), {"a": netdef.Input((1, 4))})


def test_defaults_keyword_only_parameters_and_kwargs_bind_by_name():
    class Masked(nn.Module):
        def forward(self, x, mask=None, bias=None, *, scale, **extra):
            y = x * scale
            if mask is not None:
                y = y * mask
            if bias is not None:
                y = y + bias
            for value in extra.values():
                y = y - value
            return y

    x, bias, scale, shift = (np.random.default_rng(i).standard_normal((2, 4)).astype(np.float32) for i in range(4))
    feeds = {"scale": scale, "bias": bias, "x": x, "shift": shift}
    # mask (a default) is skipped: bias after it goes by keyword, as do scale (keyword-only) and shift (**extra)
    network = netdef.define(Masked(), {n: netdef.Input((2, 4)) for n in feeds})
    assert network.binding.positional == ("x",) and set(network.binding.keyword) == {"bias", "scale", "shift"}
    got = netdef.reference.run(network, feeds)["output"]
    np.testing.assert_allclose(got, x * scale + bias - shift, rtol=1e-6)
    with pytest.raises(netdef.EmitError, match="no input for the parameter 'scale'"):
        netdef.define(Masked(), {"x": netdef.Input((2, 4))})


def test_star_args_take_the_unnamed_inputs_in_the_order_given(parity):
    class Cached(nn.Module):
        def forward(self, ids, past=None, *caches):
            out = ids * 1
            for i, c in enumerate(caches):
                out = out + c * (10**i)
            return out if past is None else out + past * 1000

    ones = np.ones((1, 2), np.float32)
    specs = {"ids": netdef.Input((1, 2)), "past": netdef.Input((1, 2)), "c1": netdef.Input((1, 2)),
             "c0": netdef.Input((1, 2))}  # fmt: skip
    network = netdef.define(Cached(), specs)
    assert network.binding.names == ("ids", "past", "c1", "c0") and not network.binding.checked
    got = netdef.reference.run(network, {"ids": ones, "past": 2 * ones, "c1": 3 * ones, "c0": 4 * ones})["output"]
    np.testing.assert_array_equal(got, ones + 3 * ones + 4 * ones * 10 + 2 * ones * 1000)
    # inputs for *caches cannot skip `past`: they would land in it
    del specs["past"]
    with pytest.raises(netdef.EmitError, match=r"go to its \*caches, which follows \['past'\]: give inputs named"):
        netdef.define(Cached(), specs)
    # a forward taking only *args (netdef.testing.Fn) takes every input in the order given
    network = netdef.define(parity.Fn(lambda p, q: p - q), {"q": netdef.Input((2, 4)), "p": netdef.Input((2, 4))})
    np.testing.assert_array_equal(netdef.reference.run(network, {"p": A, "q": B})["output"], B - A)


def test_define_like_names_inputs_after_forward(parity):
    network = parity.define(Sub(), torch.from_numpy(A), torch.from_numpy(B))
    assert list(network.inputs) == ["a", "b"]
    np.testing.assert_array_equal(parity.run(network, torch.from_numpy(A), torch.from_numpy(B)), A - B)


def test_an_input_named_like_an_output_is_refused(parity):
    with pytest.raises(netdef.EmitError, match="the forward's output would be named 'output', the name of an input"):
        netdef.define(parity.Fn(lambda output: output * 2), {"output": netdef.Input((1, 3))})
    with pytest.raises(netdef.EmitError, match="would be named 'x'"):
        netdef.define(parity.Fn(lambda x: {"x": x * 2}), {"x": netdef.Input((1, 3))})
    network = netdef.define(parity.Fn(lambda output: {"y": output * 2}), {"output": netdef.Input((1, 3))})
    assert network.outputs == ["y"] and network.network.get_output(0).name == "y"


def test_fp16_weights_beyond_half_range_are_an_error_naming_the_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 1)
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(self.conv(x))

    model = Net()
    weights = {
        "conv.weight": np.ones((1, 1, 1, 1), np.float32),
        "conv.bias": np.zeros(1, np.float32),
        "fc.weight": np.array([[1.0, 1e5], [0.0, 1.0]], np.float32),
        "fc.bias": np.zeros(2, np.float32),
    }
    model.load_weights(weights)
    inputs = {"x": netdef.Input((1, 1, 2, 2))}
    with pytest.raises(netdef.EmitError) as info:
        netdef.define(model, inputs, precision="fp16")
    message = str(info.value)
    assert "module `fc` (Linear)" in message and "`fc/linear_weight`" in message
    assert "a value of 1e+05 is beyond float16's range (±65504) and would become inf" in message
    assert "overrides={'fc': 'fp32'}" in message
    # the fix it names works, and fp32 never needed it
    netdef.define(model, inputs, precision="fp16", overrides={"fc": "fp32"})
    netdef.define(model, inputs)
    model.load_weights({**weights, "fc.weight": np.eye(2, dtype=np.float32), "conv.weight": np.full((1, 1, 1, 1), 7e4)})
    with pytest.raises(netdef.EmitError, match=r"module `conv` \(Conv2d\).*its kernel weights, a value of 7e\+04"):
        netdef.define(model, inputs, precision="fp16")


def test_fp16_scalar_constants_beyond_half_range_are_an_error(parity):
    with pytest.raises(netdef.EmitError, match="a value of 1e\\+06 is beyond float16's range"):
        netdef.define(parity.Fn(lambda x: x * 1e6), {"x": netdef.Input((1, 3))}, precision="fp16")
    netdef.define(parity.Fn(lambda x: x * float("inf")), {"x": netdef.Input((1, 3))}, precision="fp16")  # inf is inf
