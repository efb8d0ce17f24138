"""The engine cache: a hit skips the builder, and every part of the key invalidates it."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import netdef
from models.lenet import LeNet
from netdef.cache import EngineCache, network_fingerprint

# `netdef.build` is the function; the module is reached by its import name
build_module = importlib.import_module("netdef.build")


@pytest.fixture
def lenet():
    rng = np.random.default_rng(0)
    model = LeNet()
    model.load_weights({k: rng.standard_normal(p.shape).astype(np.float32) for k, p in model.state_dict().items()})
    return model


@pytest.fixture
def builds(monkeypatch):
    """Counts real builder invocations (the real builder still runs)."""
    calls = []
    real = build_module._serialize

    def counting(network, config):
        calls.append(network.name)
        return real(network, config)

    monkeypatch.setattr(build_module, "_serialize", counting)
    return calls


def test_second_build_is_a_cache_hit(tmp_path, lenet, builds):
    first = netdef.build(lenet, lenet.default_inputs(), cache=tmp_path)
    second = netdef.build(lenet, lenet.default_inputs(), cache=tmp_path, output=tmp_path / "out.engine")
    assert len(builds) == 1 and not first.cached and second.cached
    assert second.data == first.data
    assert (tmp_path / "out.engine").read_bytes() == first.data  # a hit is still written to output


def test_force_rebuilds(tmp_path, lenet, builds):
    netdef.build(lenet, lenet.default_inputs(), cache=tmp_path)
    again = netdef.build(lenet, lenet.default_inputs(), cache=tmp_path, force=True)
    assert len(builds) == 2 and not again.cached


@pytest.mark.parametrize(
    "change",
    ["weights", "structure", "precision", "workspace", "inputs", "backend_version", "target"],
)
def test_every_part_of_the_key_invalidates(tmp_path, lenet, builds, monkeypatch, change):
    netdef.build(lenet, lenet.default_inputs(), cache=tmp_path)
    kwargs = {}
    inputs = lenet.default_inputs()
    if change == "weights":
        lenet.fc3.bias.data = lenet.fc3.bias.data + 1e-3
    elif change == "structure":
        lenet.conv2.stride = (2, 2)
        lenet.fc1 = netdef.nn.Linear(16 * 2 * 2, 120)
        lenet.fc1.load_weights({"weight": np.ones((120, 64), np.float32), "bias": np.zeros(120, np.float32)})
    elif change == "precision":
        kwargs["precision"] = "fp16"
    elif change == "workspace":
        kwargs["workspace"] = 1 << 28
    elif change == "inputs":
        inputs = LeNet.default_inputs(batch=2)
    elif change == "backend_version":
        monkeypatch.setattr(build_module, "VERSION", "0.0.0.0")
    elif change == "target":
        kwargs["compute_capabilities"] = ("SM86",)
    if change == "backend_version":
        # the cached engine's metadata now disagrees with the "installed" version: it must not be returned
        rebuilt = netdef.build(lenet, inputs, cache=tmp_path)
    else:
        rebuilt = netdef.build(lenet, inputs, cache=tmp_path, **kwargs)
    assert not rebuilt.cached and len(builds) == 2


def test_damaged_entry_is_rebuilt_not_returned(tmp_path, lenet, builds):
    first = netdef.build(lenet, lenet.default_inputs(), cache=tmp_path)
    path = EngineCache(tmp_path).path(first.metadata["cache_key"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    again = netdef.build(lenet, lenet.default_inputs(), cache=tmp_path)
    assert not again.cached and len(builds) == 2 and again.data == first.data


def test_fingerprint_sees_attributes_not_only_shapes(lenet):
    a = network_fingerprint(netdef.define(lenet, lenet.default_inputs()).network)
    lenet.conv1.padding = (0, 0)  # unchanged: same fingerprint
    b = network_fingerprint(netdef.define(lenet, lenet.default_inputs()).network)

    class Slope(netdef.nn.Module):
        def __init__(self, slope):
            super().__init__()
            self.slope = slope

        def forward(self, x):
            return netdef.F.leaky_relu(x, self.slope)

    inputs = {"x": netdef.Input((1, 4))}
    c = network_fingerprint(netdef.define(Slope(0.1), inputs).network)
    d = network_fingerprint(netdef.define(Slope(0.2), inputs).network)  # same shapes, other alpha
    assert a == b and c != d


def test_default_cache_dir_from_environment(tmp_path, monkeypatch, lenet, builds):
    monkeypatch.setenv("NETDEF_CACHE_DIR", str(tmp_path / "c"))
    netdef.build(lenet, lenet.default_inputs(), cache=True)
    assert len(list((tmp_path / "c").glob("*.engine"))) == 1
    assert netdef.build(lenet, lenet.default_inputs(), cache=True).cached
