"""Explicit INT8/FP8 quantization: calibration on CPU, Q/DQ emission, interpreter emulation, real builds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import netdef
from netdef._trt import BACKEND
from netdef.quantization import Calibration, QuantConfig, calibrate
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet

INPUTS = {"x": netdef.Input((8, 1, 32, 32))}


@pytest.fixture(scope="module")
def lenet():
    torch.manual_seed(0)
    twin = TorchLeNet().eval()
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(0)
    batches = [{"x": rng.random((8, 1, 32, 32), dtype=np.float32)} for _ in range(4)]
    return model, twin, batches


def torch_inputs_of(twin, batches):
    """Each quantized layer's input, captured with forward hooks on the torch twin (the oracle)."""
    seen: dict[str, list[torch.Tensor]] = {}
    hooks = [
        getattr(twin, name).register_forward_hook(lambda m, i, o, name=name: seen.setdefault(name, []).append(i[0]))
        for name in ("conv1", "conv2", "fc1", "fc2", "fc3")
    ]
    with torch.no_grad():
        for b in batches:
            twin(torch.from_numpy(b["x"]))
    for h in hooks:
        h.remove()
    return {k: torch.cat([t.flatten() for t in v]).abs() for k, v in seen.items()}


KEYS = {
    "conv1": "conv1/conv:0",
    "conv2": "conv2/conv:0",
    "fc1": "fc1/matmul:0",
    "fc2": "fc2/matmul:0",
    "fc3": "fc3/matmul:0",
}


def test_max_calibration_matches_torch_activations(lenet):
    model, twin, batches = lenet
    cal = calibrate(netdef.define(model, INPUTS), batches, method="max")
    mags = torch_inputs_of(twin, batches)
    for module, key in KEYS.items():
        assert cal.amax[key] == pytest.approx(float(mags[module].max()), rel=1e-5)


def test_percentile_and_entropy_clip_below_the_max(lenet):
    model, twin, batches = lenet
    network = netdef.define(model, INPUTS)
    mags = torch_inputs_of(twin, batches)
    pct = calibrate(network, batches, method="percentile", percentile=99.0)
    ent = calibrate(network, batches, method="entropy")
    for module, key in KEYS.items():
        top = float(mags[module].max())
        # the 99th percentile of |x|: between the order statistics around rank 0.99 n, up to one histogram bin
        ranked = np.sort(mags[module].double().numpy())
        n, width = len(ranked), top / 2048
        low, high = ranked[int(np.floor(0.99 * (n - 1)))], ranked[min(int(np.ceil(0.99 * n)), n - 1)]
        assert low - width <= pct.amax[key] <= high + width
        assert 0 < ent.amax[key] <= top * (1 + 1 / 2048)


def test_calibration_cache_is_reused_and_invalidated(lenet, tmp_path, monkeypatch):
    model, _, batches = lenet
    network = netdef.define(model, INPUTS)
    path = tmp_path / "lenet.calib"
    first = calibrate(network, batches, method="max", cache=path)
    assert json.loads(path.read_text())["amax"] == pytest.approx(first.amax)
    calls = []
    real = netdef.reference.run
    monkeypatch.setattr(netdef.reference, "run", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = calibrate(network, batches, method="max", cache=path)
    assert calls == [] and again.amax == first.amax
    calibrate(network, batches, method="percentile", cache=path)  # another method: recomputed
    assert calls and Calibration.load(path).method == "percentile"


def test_calibration_cache_is_keyed_on_the_weights_data_and_parameters(lenet, tmp_path, caplog):
    """A cache computed for other weights, other data or another percentile is never reused: the ranges are
    recomputed (and match torch's activations of the new weights), or, without data, the cache is refused."""
    model, twin, batches = lenet
    path = tmp_path / "lenet.calib"
    first = calibrate(netdef.define(model, INPUTS), batches, method="max", cache=path)

    other = TorchLeNet().eval()
    other.load_state_dict({k: v * 4 if k == "conv1.weight" else v for k, v in twin.state_dict().items()})
    changed = LeNet()
    changed.load_weights({k: v.numpy() for k, v in other.state_dict().items()})
    network = netdef.define(changed, INPUTS)  # same layers and names, other weights
    with caplog.at_level("WARNING", logger="netdef.quantization.calibration"):
        again = calibrate(network, batches, method="max", cache=path)
    assert "another network" in caplog.text
    mags = torch_inputs_of(other, batches)
    for module, key in KEYS.items():
        assert again.amax[key] == pytest.approx(float(mags[module].max()), rel=1e-5)
    assert again.amax["conv2/conv:0"] > 2 * first.amax["conv2/conv:0"]  # the old ranges would clip
    assert Calibration.load(path).amax == again.amax  # rewritten for the new weights

    # the cache alone (no data, as `netdef build --calib-cache` without --calib-data) for other weights: refused
    with pytest.raises(netdef.NetdefError, match=r"another network.*pass calibration data to recalibrate"):
        calibrate(netdef.define(model, INPUTS), [], method="max", cache=path)
    assert calibrate(network, [], method="max", cache=path).amax == again.amax  # its own network: reused

    # other data, other percentile: recomputed
    scaled = [{"x": b["x"] * 3} for b in batches]
    assert calibrate(network, scaled, method="max", cache=path).amax["conv1/conv:0"] == pytest.approx(
        3 * again.amax["conv1/conv:0"], rel=1e-5
    )
    p99 = calibrate(network, batches, method="percentile", percentile=99.0, cache=path)
    p50 = calibrate(network, batches, method="percentile", percentile=50.0, cache=path)
    assert p50.amax["fc1/matmul:0"] < p99.amax["fc1/matmul:0"]


def test_calibration_cache_without_a_key_is_not_reused(lenet, tmp_path):
    model, twin, batches = lenet
    path = tmp_path / "old.calib"
    stale = dict.fromkeys(KEYS.values(), 1e-3)
    path.write_text(json.dumps({"format": "netdef-calibration/1", "method": "max", "batches": 4, "amax": stale}))
    assert Calibration.load(path).amax == stale  # still readable for a QuantConfig
    network = netdef.define(model, INPUTS)
    with pytest.raises(netdef.NetdefError, match="older netdef"):
        calibrate(network, [], method="max", cache=path)
    cal = calibrate(network, batches, method="max", cache=path)
    mags = torch_inputs_of(twin, batches)
    assert cal.amax["fc1/matmul:0"] == pytest.approx(float(mags["fc1"].max()), rel=1e-5)


def fake_quant(x: torch.Tensor, scale: torch.Tensor, qmax: float, fp8: bool) -> torch.Tensor:
    """Quantize-dequantize written independently with torch ops (round half to even, saturate)."""
    if fp8:
        return (x / scale).clamp(-qmax, qmax).to(torch.float8_e4m3fn).float() * scale
    return torch.round(x / scale).clamp(-128, 127) * scale


def torch_quantized_lenet(twin, cal: Calibration, x: torch.Tensor, fp8: bool) -> torch.Tensor:
    qmax = 448.0 if fp8 else 127.0

    def act(t, key):
        return fake_quant(t, torch.tensor(cal.amax[key] / qmax), qmax, fp8)

    def weight(w):
        amax = w.abs().flatten(1).amax(1)
        return fake_quant(w, (amax / qmax).reshape(-1, *([1] * (w.dim() - 1))), qmax, fp8)

    x = TF.max_pool2d(TF.relu(TF.conv2d(act(x, KEYS["conv1"]), weight(twin.conv1.weight), twin.conv1.bias)), 2)
    x = TF.max_pool2d(TF.relu(TF.conv2d(act(x, KEYS["conv2"]), weight(twin.conv2.weight), twin.conv2.bias)), 2)
    x = x.flatten(1)
    for name in ("fc1", "fc2", "fc3"):
        layer = getattr(twin, name)
        x = TF.linear(act(x, KEYS[name]), weight(layer.weight), layer.bias)
        if name != "fc3":
            x = TF.relu(x)
    return x


@pytest.mark.parametrize("dtype", ["int8", "fp8"])
def test_quantized_network_matches_torch_fake_quant(lenet, dtype):
    model, twin, batches = lenet
    cal = calibrate(netdef.define(model, INPUTS), batches, method="max")
    network = netdef.define(model, INPUTS, quantization=QuantConfig(dtype, cal))
    kinds = [r["type"] for r in network.layers()]
    assert kinds.count("QUANTIZE") == 10 and kinds.count("DEQUANTIZE") == 10  # 5 activations + 5 weights
    x = batches[0]["x"]
    out = netdef.reference.run(network, {"x": x})["output"]
    with torch.no_grad():
        expected = torch_quantized_lenet(twin, cal, torch.from_numpy(x), dtype == "fp8").numpy()
        fp32 = twin(torch.from_numpy(x)).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(out, expected, atol=1e-3 * scale)  # same rounding: only summation order differs
    assert np.abs(out - fp32).max() > 1e-4 * scale  # and it really is quantized
    if dtype == "fp8" or BACKEND == "tensorrt_rtx":  # what the target runs differently is said at build time
        note = "weight-only GEMM" if dtype == "int8" else "8.9 or newer"
        with pytest.warns(netdef.NetdefWarning, match=note):
            built = netdef.build(network)
    else:
        built = netdef.build(network)
    assert built.metadata["quantization"]["dtype"] == dtype


def test_weights_only_and_skip(lenet):
    model, _, batches = lenet
    weights_only = netdef.define(model, INPUTS, quantization=QuantConfig("int8", weights_only=True))
    assert sum(r["type"] == "QUANTIZE" for r in weights_only.layers()) == 5
    netdef.build(weights_only)
    cal = calibrate(netdef.define(model, INPUTS), batches, method="max")
    skipped = netdef.define(model, INPUTS, quantization=QuantConfig("int8", cal, skip=("fc3",)))
    quantized = {r["name"].split("/")[0] for r in skipped.layers() if r["type"] == "QUANTIZE"}
    assert quantized == {"conv1", "conv2", "fc1", "fc2"}


def test_quantization_errors(lenet):
    model, _, batches = lenet
    with pytest.raises(netdef.EmitError, match="needs a calibration"):
        QuantConfig("int8")
    with pytest.raises(netdef.EmitError, match="must be one of"):
        QuantConfig("int4", weights_only=True)
    partial = Calibration("max", {"conv1/conv:0": 1.0})
    with pytest.raises(netdef.EmitError, match="no range for 'conv2/conv:0'"):
        netdef.define(model, INPUTS, quantization=QuantConfig("int8", partial))
    with pytest.raises(netdef.NetdefError, match="method must be one of"):
        calibrate(netdef.define(model, INPUTS), batches, method="mse")


def test_fp8_refuses_targets_older_than_ada(lenet):
    model = lenet[0]
    network = netdef.define(model, INPUTS, quantization=QuantConfig("fp8", weights_only=True))
    with pytest.raises(netdef.BuildError, match=r"8\.9 or newer.*SM86"):
        netdef.build(network, compute_capabilities=("SM86",))
    with pytest.warns(netdef.NetdefWarning, match="compute capability 8.9"):
        assert netdef.build(network, compute_capabilities=("SM89",)).data


class _Recorder:
    """A Quantizer that quantizes nothing and records what the ops asked it (the hook, not QuantConfig)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    def activation(self, ctx, x, op, slot):
        self.asked.append(("activation", ctx.peek_name(op), f"slot {slot}"))
        return x

    def weight(self, ctx, weight, dtype, axis, op):
        self.asked.append(("weight", ctx.peek_name(op), f"axis {axis}"))
        return None

    def to_json(self) -> dict:
        return {"recorder": True}


def test_ops_ask_the_quantizer_define_hands_the_context(lenet):
    model = lenet[0]
    recorder = _Recorder()
    network = netdef.define(model, INPUTS, quantization=recorder)
    convs = [("activation", f"conv{i}/conv", "slot 0") for i in (1, 2)]
    assert recorder.asked[:4] == [
        convs[0],
        ("weight", "conv1/conv", "axis 0"),
        convs[1],
        ("weight", "conv2/conv", "axis 0"),
    ]
    assert [a[1] for a in recorder.asked[4:]] == [f"fc{i}/matmul" for i in (1, 1, 2, 2, 3, 3)]
    assert network.quantization == {"recorder": True}
    plain = netdef.define(model, INPUTS)
    assert network.network.num_layers == plain.network.num_layers  # a hook that declines changes nothing
