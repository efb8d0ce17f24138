"""Layerwise parity: faults planted in copies of a ResNet-like model are traced to the module that holds them.

The torch twin (torchvision's BasicBlock names, in-place ReLUs) is the oracle. Each test copies the netdef
model, plants one fault (wrong eps, transposed square weight, missing activation, wrong padding), binds
the twin's weights, and asserts the report names that module as the first divergence and no earlier one.
"""

from __future__ import annotations

import json
import linecache
import textwrap

import numpy as np
import pytest
import torch

import netdef
from netdef import F, nn
from netdef.cli import main
from netdef.parity import compare
from netdef.zoo.twins.lenet import LeNet as TorchLeNet

# -- the model and its torch twin --------------------------------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(2)
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.layer1(x)).flatten(1)
        return self.head(self.relu(self.fc(x)))


class TorchBasicBlock(torch.nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(planes)
        self.relu = torch.nn.ReLU(inplace=True)
        self.conv2 = torch.nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(inplanes, planes, 1, stride, bias=False), torch.nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.relu = torch.nn.ReLU(inplace=True)
        self.maxpool = torch.nn.MaxPool2d(2)
        self.layer1 = torch.nn.Sequential(TorchBasicBlock(8, 8), TorchBasicBlock(8, 16, 2))
        self.avgpool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(16, 16)
        self.head = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(self.layer1(x)).flatten(1)
        return self.head(self.relu(self.fc(x)))


# -- planted faults ----------------------------------------------------------------------------------


class TransposedLinear(nn.Linear):
    """The classic hand-port bug: x @ W instead of x @ W.T (invisible in shapes for a square layer)."""

    def forward(self, x):
        return F.linear(x, self.weight.data.T, self.bias.data)


class BlockWithoutFirstRelu(BasicBlock):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x))  # the fault: relu forgotten here
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class NetWithoutPool(Net):
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x).flatten(1)  # the fault: avgpool forgotten, 256 features reach fc
        return self.head(self.relu(self.fc(x)))


@pytest.fixture(scope="module")
def twin() -> TorchNet:
    torch.manual_seed(0)
    model = TorchNet().eval()
    with torch.no_grad():  # non-trivial running statistics, so eps and folding matter
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.05, 1.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model


@pytest.fixture(scope="module")
def feeds() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)}


def bound(twin: TorchNet, model: nn.Module | None = None) -> nn.Module:
    model = model if model is not None else Net()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    return model


def source_line(site: str) -> str:
    """The text of the source line at 'file:line'."""
    path, _, line = site.rpartition(":")
    return linecache.getline(path, int(line))


def assert_first(report, path: str, culprit: str | None = None):
    """``path`` is the first divergent module call, every call before it matches, and the culprit is as given."""
    assert not report.passed, str(report)
    assert report.first.path == path, str(report)
    before = report.rows[: report.rows.index(report.first)]
    assert before and all(r.status in ("ok", "folded") for r in before), str(report)
    assert report.culprit == (culprit or path), str(report)
    return report.first


# -- correct model -----------------------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_correct_model_matches_every_module(twin, feeds, precision):
    report = compare(bound(twin), twin, feeds, precision=precision)
    assert report.passed, str(report)
    labels = [r.label for r in report.rows]
    # every module call is compared, in the order the calls returned; the shared ReLUs twice per owner
    assert labels[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert {"layer1.0.relu", "layer1.0.relu#1", "layer1.1.downsample.0", "relu#1", "<root>"} <= set(labels)
    # each batch norm is folded into the conv before it: the conv's output is compared at the batch norm
    assert report.row("conv1").status == "folded" and report.row("bn1").status == "ok"
    assert all(r.status == "ok" for r in report.rows if not r.path.endswith(("conv1", "conv2", "downsample.0")))
    assert not report.missing_calls
    with torch.no_grad():
        out = twin(torch.from_numpy(feeds["x"]))
    assert report.row("").stats.max_abs <= (1e-4 if precision == "fp32" else 1e-2) * float(out.abs().max())
    assert "every module matches torch" in str(report)


def test_report_statistics_are_polygraphy_style(twin, feeds):
    model = bound(twin)
    model.fc.__class__ = TransposedLinear
    report = compare(model, twin, feeds)
    s = report.row("fc").stats
    # recompute from the raw outputs: torch's fc output and the netdef one (x @ W instead of x @ W.T)
    with torch.no_grad():
        x = twin.avgpool(twin.layer1(twin.maxpool(twin.relu(twin.bn1(twin.conv1(torch.from_numpy(feeds["x"])))))))
        x = x.flatten(1)
        want = twin.fc(x).numpy().astype(np.float64)
        got = (x @ twin.fc.weight + twin.fc.bias).numpy().astype(np.float64)
    diff = np.abs(got - want)
    assert s.max_abs == pytest.approx(diff.max(), rel=1e-4)
    assert s.median_abs == pytest.approx(np.median(diff), rel=1e-3)
    assert s.p90_abs == pytest.approx(np.percentile(diff, 90), rel=1e-3)
    assert s.mean_rel == pytest.approx(np.mean(diff / np.abs(want)), rel=1e-3)
    # the minimum tolerances are exactly the ones that pass: a hair less fails, the value itself passes
    assert s.min_atol == pytest.approx(np.max(diff - 1e-4 * np.abs(want)), rel=1e-4)
    for atol, rtol, passes in [(s.min_atol * 1.001, 1e-4, True), (s.min_atol * 0.99, 1e-4, False)]:
        again = compare(bound(twin, _with_class(Net(), "fc", TransposedLinear)), twin, feeds, atol=atol, rtol=rtol)
        assert (again.row("fc").status == "ok") is passes
    assert s.mismatches == int((diff > 1e-4 + 1e-4 * np.abs(want)).sum()) and s.size == want.size
    d = report.to_dict()
    json.dumps(d)
    assert d["first"] == {"path": "fc", "index": 0} and d["culprit"] == "fc" and d["passed"] is False
    assert d["modules"][0]["status"] == "folded" and d["modules"][0]["stats"] is None  # conv1, folded into bn1
    assert d["modules"][1]["stats"]["max_abs"] < 1e-4


def _with_class(model: nn.Module, path: str, cls: type) -> nn.Module:
    model.get_submodule(path).__class__ = cls
    return model


# -- planted faults ----------------------------------------------------------------------------------


def test_wrong_batchnorm_eps_is_found(twin, feeds):
    model = bound(twin)
    model.layer1[1].bn1.eps = 1e-3  # the twin's is 1e-5 (a YOLO-style eps copied into a ResNet)
    first = assert_first(compare(model, twin, feeds), "layer1.1.bn1")
    assert first.cls == "BatchNorm2d" and first.stats.mismatches > 0
    assert "self.bn1 = nn.BatchNorm2d(planes)" in source_line(first.defined_at)
    assert "self.bn1(self.conv1(x))" in source_line(first.called_at)


def test_transposed_square_linear_weight_is_found(twin, feeds):
    model = _with_class(bound(twin), "fc", TransposedLinear)
    report = compare(model, twin, feeds)
    first = assert_first(report, "fc")
    assert report.first_inputs_match is True
    assert first.source.endswith(f"{__file__}:{TransposedLinear.forward.__code__.co_firstlineno}")
    text = str(report)
    assert "first divergence: `fc` (TransposedLinear)" in text and "its inputs match torch's" in text


def test_missing_activation_module_is_found(twin, feeds):
    model = bound(twin)
    model.layer1[0].relu = nn.Identity()  # both relu calls of the first block now pass values through
    first = assert_first(compare(model, twin, feeds), "layer1.0.relu")
    assert first.cls == "Identity"


def test_missing_activation_in_forward_is_traced_to_the_caller(twin, feeds):
    model = _with_class(bound(twin), "layer1.0", BlockWithoutFirstRelu)
    report = compare(model, twin, feeds)
    # conv2 is the first output that differs (told apart from bn2, folded into it, by a comparison without
    # folding), but its input already did: the fault is in the block's forward
    first = assert_first(report, "layer1.0.conv2", culprit="layer1.0")
    assert report.first_inputs_match is False
    assert "self.bn2(self.conv2(out))" in source_line(first.called_at)
    assert "layer1.0.relu#1" in report.missing_calls  # torch calls the block's relu twice, netdef once
    assert "the code of `layer1.0`" in str(report)
    assert report.summary().endswith(f"look at the code of `layer1.0` before the call at {first.called_at}")


def test_wrong_conv_padding_is_found_as_a_shape_divergence(twin, feeds):
    model = bound(twin)
    model.conv1.padding = (2, 2)  # adaptive pooling later makes the shapes fit again
    report = compare(model, twin, feeds)
    assert report.rows[0].path == "conv1"
    assert report.first is report.rows[0] and report.culprit == "conv1"
    assert "output shape (2, 8, 18, 18) != torch's (2, 8, 16, 16)" in report.first.reason
    assert report.row("").shapes == [(2, 10)]  # the model still ran to the end


def test_wrong_padding_deep_in_the_model_is_found(twin, feeds):
    model = bound(twin)
    model.layer1[1].conv2.padding = (2, 2)
    model.layer1[1].conv2.dilation = (2, 2)  # same output shape as padding 1, different values
    first = assert_first(compare(model, twin, feeds), "layer1.1.conv2")
    assert first.cls == "Conv2d" and first.shapes == first.torch_shapes


# -- errors in the user's model definition -----------------------------------------------------------


def test_unbound_weights_name_the_module_and_line(twin, feeds):
    with pytest.raises(netdef.EmitError) as exc:
        compare(Net(), twin, feeds)
    msg = str(exc.value)
    assert "unbound weights (conv1.weight," in msg and "module `conv1` (Conv2d" in msg
    site = msg.split("created at ")[1].split(")")[0]
    assert "self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)" in source_line(site)


def test_wrong_channel_count_names_the_module_and_line(twin, feeds):
    with pytest.raises(netdef.EmitError, match=r"conv in module `conv1` \(Conv2d\), at .*test_parity.py:\d+") as exc:
        compare(bound(twin), twin, {"x": feeds["x"][:, :1]})
    assert "input has 1 channels" in str(exc.value)
    site = str(exc.value).split(", at ")[1].split(": ")[0]
    assert "self.conv1(x)" in source_line(site)

    wide = Net()
    wide.layer1[1].conv1 = nn.Conv2d(8, 12, 3, 2, 1, bias=False)  # 12 channels where the weights have 16
    with pytest.raises(netdef.BindError, match=r"layer1\.1\.conv1\.weight: module `layer1\.1\.conv1`") as exc:
        bound(twin, wide)
    site = str(exc.value).split("created at ")[1].split("\n")[0]
    assert "nn.Conv2d(8, 12, 3, 2, 1, bias=False)" in source_line(site)


def test_shape_mismatch_names_the_module_and_line(twin, feeds):
    with pytest.raises(netdef.EmitError, match=r"in module `fc` \(Linear\), at .*test_parity.py:\d+") as exc:
        compare(bound(twin, NetWithoutPool()), twin, feeds)
    assert "input has 256 features" in str(exc.value) and "in_features=16" in str(exc.value)
    site = str(exc.value).split(", at ")[1].split(": ")[0]
    assert "self.head(self.relu(self.fc(x)))" in source_line(site)


def test_twin_failure_is_a_netdef_error(twin, feeds):
    class Broken(torch.nn.Module):
        def forward(self, x):
            return x @ torch.ones(3, 3)

    with pytest.raises(netdef.NetdefError, match="the torch twin Broken failed on the feeds"):
        compare(bound(twin), Broken(), feeds)


# -- inputs bind by name ------------------------------------------------------------------------------


class Scaled(nn.Module):
    """x * scale + shift: no two inputs can be swapped without changing the result."""

    def forward(self, x, scale, shift):
        return x * scale + shift


class TorchScaledOtherOrder(torch.nn.Module):
    def forward(self, shift, x, scale):
        return x * scale + shift


class TorchScaledOtherNames(torch.nn.Module):
    def forward(self, input, weight, bias):
        return input * weight + bias


def scaled_feeds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal((2, 3)).astype(np.float32) for name in ("shift", "scale", "x")}


def test_parity_binds_both_forwards_by_name():
    feeds = scaled_feeds()  # in neither forward's order
    inputs = {name: netdef.Input((2, 3)) for name in ("x", "scale", "shift")}
    for twin in (TorchScaledOtherOrder(), TorchScaledOtherNames()):
        report = compare(Scaled(), twin, feeds)
        assert report.passed, report
        report = compare(Scaled(), twin, feeds, inputs=inputs)  # Input specs in yet another order than the feeds
        assert report.passed, report
    # the netdef side computes x * scale + shift whatever the feeds' order
    network = netdef.define(Scaled(), {name: netdef.Input((2, 3)) for name in feeds})
    got = netdef.reference.run(network, feeds)["output"]
    np.testing.assert_allclose(got, feeds["x"] * feeds["scale"] + feeds["shift"], rtol=1e-6)


def test_parity_feeds_must_name_the_inputs():
    inputs = {name: netdef.Input((2, 3)) for name in ("x", "scale", "shift")}
    feeds = scaled_feeds()
    feeds["bias"] = feeds.pop("shift")
    with pytest.raises(netdef.NetdefError, match=r"missing \['shift'\], unexpected \['bias'\]; give one array per"):
        compare(Scaled(), TorchScaledOtherNames(), feeds, inputs=inputs)


# -- CLI ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lenet_wts(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("parity") / "lenet.wts"
    netdef.export_wts(TorchLeNet().eval(), path)
    return path


def test_cli_parity_passes_and_writes_json(tmp_path, lenet_wts, capsys):
    out = tmp_path / "report.json"
    args = ["parity", "netdef.zoo.lenet:LeNet", "--twin", "netdef.zoo.twins.lenet:LeNet", "--weights", str(lenet_wts)]
    assert main([*args, "--input", "x=2x1x32x32", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "every module matches torch" in text and "fc3" in text
    d = json.loads(out.read_text())
    assert d["passed"] and [m["path"] for m in d["modules"]] == ["conv1", "conv2", "fc1", "fc2", "fc3", ""]


def test_cli_parity_names_the_faulty_module(tmp_path, lenet_wts, capsys):
    faulty = tmp_path / "faulty.py"
    faulty.write_text(
        textwrap.dedent(
            """
            from netdef.zoo.lenet import LeNet
            from netdef import F

            class NoReluLeNet(LeNet):
                def forward(self, x):
                    x = F.max_pool2d(F.relu(self.conv1(x)), 2)
                    x = F.max_pool2d(F.relu(self.conv2(x)), 2)
                    x = F.relu(self.fc1(x.flatten(1)))
                    return self.fc3(self.fc2(x))  # relu forgotten
            """
        )
    )
    args = ["parity", f"{faulty}:NoReluLeNet", "--twin", "netdef.zoo.twins.lenet:LeNet", "--weights", str(lenet_wts)]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "DIVERGED <- first" in captured.out and "first divergence: `fc3` (Linear)" in captured.out
    assert "`fc3` (Linear) is the first module whose output differs" in captured.err
    assert f"look at the code of the root model (NoReluLeNet) before the call at {faulty}:10" in captured.err


def test_cli_parity_binds_the_twins_weights_without_a_file(capsys):
    args = [
        "parity",
        "netdef.zoo.mlp:MLP",
        "--twin",
        "netdef.zoo.twins.mlp:MLP",
        "--precision",
        "fp16",
        "--override",
        "net.6=fp32",
    ]
    assert main(args) == 0
    assert "net.2" in capsys.readouterr().out


def test_cli_parity_definition_errors_show_module_and_line(tmp_path, lenet_wts, capsys):
    args = ["parity", "netdef.zoo.lenet:LeNet", "--twin", "netdef.zoo.twins.lenet:LeNet", "--weights", str(lenet_wts)]
    assert main([*args, "--input", "x=1x3x32x32"]) == 2
    err = capsys.readouterr().err
    assert "module `conv1` (Conv2d)" in err and "netdef/zoo/lenet.py:" in err and "input has 3 channels" in err

    twin = tmp_path / "twin.py"
    twin.write_text(
        "import torch\nfrom netdef.zoo.twins.lenet import LeNet\n\n"
        "class Wide(LeNet):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv1 = torch.nn.Conv2d(1, 8, 5)\n"
    )
    assert main(["parity", "netdef.zoo.lenet:LeNet", "--twin", f"{twin}:Wide"]) == 2
    err = capsys.readouterr().err
    assert "conv1.weight: module `conv1` (Conv2d) expects weight of shape (6, 1, 5, 5)" in err
    assert "the module is created at " in err and "netdef/zoo/lenet.py:" in err


# -- GPU ---------------------------------------------------------------------------------------------


def _engine_skip_reason() -> str | None:
    from netdef.runtime import current_gpu
    from netdef.runtime.device import backend_supports

    gpu = current_gpu()
    if gpu is None:
        return "no CUDA GPU visible: the engine path of parity needs one (the reference path is tested above)"
    if not backend_supports(gpu.compute_capability):
        return f"the installed TensorRT backend cannot run engines on {gpu.name} {gpu.compute_capability}"
    return None


@pytest.mark.gpu
def test_engine_parity_marks_module_outputs_and_finds_the_fault(twin, feeds):
    reason = _engine_skip_reason()
    if reason:
        pytest.skip(reason)
    # fp32 engines may use TF32, hence 1e-2
    report = compare(bound(twin), twin, feeds, engine=True, atol=1e-2, rtol=1e-2)
    assert report.target == "TensorRT engine" and report.passed, str(report)
    assert len(report.rows) > 20 and all(r.stats is not None for r in report.rows)
    model = bound(twin)
    model.layer1[1].bn1.eps = 0.5
    assert_first(compare(model, twin, feeds, engine=True, atol=1e-2, rtol=1e-2), "layer1.1.bn1")


def test_precision_overrides_reach_the_network(twin, feeds):
    report = compare(bound(twin), twin, feeds, precision="fp16", overrides={"layer1.1": "fp32"})
    assert report.passed, str(report)
    # the block computes in fp32 and hands fp16 back to the network around it
    assert report.row("layer1.1.conv1").dtypes == ["float32"] and report.row("layer1.1.relu", 1).dtypes == ["float32"]
    assert report.row("layer1.1").dtypes == ["float16"] and report.row("layer1.0.conv1").dtypes == ["float16"]


def test_engine_with_every_module_output_marked_builds_on_cpu(twin):
    """The engine path's network: every module tensor becomes an output, and TensorRT still builds it."""
    from netdef.parity import build_with_module_outputs

    network = netdef.define(bound(twin), {"x": netdef.Input((2, 3, 16, 16))})
    built = build_with_module_outputs(network, network.module_calls)
    names = {o["name"] for o in built.metadata["outputs"]}
    expected = {t.name for c in network.module_calls for t in (*c.outputs, *c.inputs) if not t.is_network_input}
    assert names == expected | {"output"} and len(names) > 15


def test_engine_parity_without_a_usable_gpu_says_why(twin, feeds):
    if _engine_skip_reason() is None:
        pytest.skip("this machine can run engines")
    with pytest.raises(netdef.EngineError, match="cannot run the engine for a parity check"):
        compare(bound(twin), twin, feeds, engine=True)
