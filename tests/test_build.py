"""netdef.build with the real TensorRT builder (TensorRT-RTX builds on CPU): engines, sidecars, options, errors."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
import torch

import netdef
from netdef._trt import BACKEND, trt
from netdef.define import weights_digest
from netdef.runtime.metadata import METADATA_FORMAT, metadata_path
from netdef.zoo.lenet import LeNet
from netdef.zoo.mlp import MLP
from netdef.zoo.twins.lenet import LeNet as TorchLeNet
from netdef.zoo.twins.mlp import MLP as TorchMLP

MODELS = {"lenet": (LeNet, TorchLeNet), "mlp": (MLP, TorchMLP)}


def bound(name: str, tmp_path=None):
    """The netdef model ``name`` with its torch twin's weights: via a .wts file when ``tmp_path`` is given,
    else from the twin's state_dict as numpy arrays."""
    model_cls, twin_cls = MODELS[name]
    twin = twin_cls().eval()
    model = model_cls()
    if tmp_path is not None:
        netdef.export_wts(twin, tmp_path / f"{name}.wts")
        model.load_weights(tmp_path / f"{name}.wts")
    else:
        model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return model


@pytest.fixture(scope="module")
def lenet():
    return bound("lenet")


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", ["lenet", "mlp"])
def test_build_writes_engine_and_sidecar(tmp_path, name, precision):
    model = bound(name, tmp_path if name == "lenet" else None)
    inputs = MODELS[name][0].default_inputs()
    path = tmp_path / "out" / f"{name}.engine"
    built = netdef.build(model, inputs, precision=precision, output=path)

    assert built.path == path
    data = path.read_bytes()
    assert data == built.data and len(data) > 10_000
    sidecar = metadata_path(path)
    assert sidecar.name == f"{name}.engine.json"
    meta = json.loads(sidecar.read_text())
    assert meta == built.metadata  # the in-memory metadata is what was written
    # the atomic writer leaves no temporary files behind
    assert sorted(p.name for p in path.parent.iterdir()) == [f"{name}.engine", f"{name}.engine.json"]

    assert meta["format"] == METADATA_FORMAT
    assert meta["netdef_version"] == netdef.__version__
    assert meta["backend"] == BACKEND
    assert meta["backend_version"] == trt.__version__
    assert meta["model"] == MODELS[name][0].__name__
    assert meta["precision"] == precision
    assert meta["engine_sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["engine_bytes"] == len(data) == os.path.getsize(path)
    assert meta["weights_sha256"] == weights_digest(model)
    assert meta["compute_capabilities"] == []
    (in_name, spec), *_ = inputs.items()
    assert meta["inputs"] == {
        in_name: {"shape": list(spec.shape), "dtype": "float32", "min": None, "opt": None, "max": None, "profiles": []}
    }
    assert meta["refittable"] is False
    batch = spec.shape[0]
    # outputs are float32 at every precision (an fp16 network casts back on the way out)
    assert meta["outputs"] == [{"name": "output", "shape": [batch, 10], "dtype": "float32"}]


def test_fp16_network_computes_in_half_and_returns_float32(lenet):
    net = netdef.define(lenet, LeNet.default_inputs(), precision="fp16")
    dtypes = {d for row in net.layers() for d in row["dtypes"]}
    assert "HALF" in dtypes  # the layers really run in fp16 ...
    assert net.output_dtypes() == {"output": "float32"}  # ... and the output is cast back
    assert netdef.build(net).metadata["outputs"][0]["dtype"] == "float32"


def test_weights_digest_follows_the_weights(lenet):
    first = netdef.build(lenet, LeNet.default_inputs()).metadata["weights_sha256"]
    assert netdef.build(lenet, LeNet.default_inputs()).metadata["weights_sha256"] == first  # deterministic
    # the digest names the weights, not the precision they are emitted in
    assert netdef.build(lenet, LeNet.default_inputs(), precision="fp16").metadata["weights_sha256"] == first

    weights = {k: np.array(p.data, copy=True) for k, p in lenet.state_dict().items()}
    weights["fc3.bias"].reshape(-1)[3] += 0.25
    changed = LeNet()
    changed.load_weights(weights)
    assert netdef.build(changed, LeNet.default_inputs()).metadata["weights_sha256"] != first


@pytest.fixture
def hashed(monkeypatch):
    """The size of every buffer hashlib.sha256 is given (constructor or update) while the test runs."""
    sizes = []
    real = hashlib.sha256

    class Counting:
        def __init__(self, data=b"", **kwargs):
            self._hash = real(**kwargs)
            self.update(data)

        def update(self, data):
            sizes.append(memoryview(data).nbytes)
            self._hash.update(data)

        def hexdigest(self):
            return self._hash.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", Counting)
    return sizes


@pytest.mark.parametrize("cache", [False, True])
def test_a_build_hashes_its_plan_once_and_does_not_copy_it(lenet, tmp_path, hashed, cache):
    store = tmp_path / "cache" if cache else None
    built = netdef.build(lenet, LeNet.default_inputs(), output=tmp_path / "a.engine", cache=store)
    size = built.metadata["engine_bytes"]
    assert hashed.count(size) == 1  # the metadata, the cache entry and the output share one sha256
    assert isinstance(built.data, memoryview) and type(built.data.obj).__name__ == "IHostMemory"  # the builder's
    if cache:  # a hit: the read verifies the entry (one hash), and writing it to the output trusts that check
        hit = netdef.build(lenet, LeNet.default_inputs(), output=tmp_path / "b.engine", cache=store)
        assert hit.cached and hashed.count(size) == 2
    for name in ("a.engine", "b.engine") if cache else ("a.engine",):
        data, meta = netdef.runtime.read_engine(tmp_path / name)  # verified: size and sha256 match the sidecar
        assert data == built.data and meta["engine_sha256"] == built.metadata["engine_sha256"]


def test_dynamic_batch_input_builds(lenet, tmp_path):
    x = netdef.Input((-1, 1, 32, 32), min=(1, 1, 32, 32), opt=(4, 1, 32, 32), max=(8, 1, 32, 32))
    built = netdef.build(lenet, {"x": x}, output=tmp_path / "dyn.engine")
    meta = json.loads(metadata_path(tmp_path / "dyn.engine").read_text())
    assert meta == built.metadata
    assert meta["inputs"]["x"] == {
        "shape": [-1, 1, 32, 32],
        "dtype": "float32",
        "min": [1, 1, 32, 32],
        "opt": [4, 1, 32, 32],
        "max": [8, 1, 32, 32],
        "profiles": [],
    }
    assert meta["outputs"] == [{"name": "output", "shape": [-1, 10], "dtype": "float32"}]


def test_build_options_are_applied(lenet):
    built = netdef.build(
        lenet, LeNet.default_inputs(), workspace=1 << 28, optimization_level=1, compute_capabilities=("SM86", "SM89")
    )
    assert built.metadata["compute_capabilities"] == ["SM86", "SM89"]
    # a single name is one capability, not a sequence of letters
    assert netdef.build(lenet, LeNet.default_inputs(), compute_capabilities="SM86").metadata[
        "compute_capabilities"
    ] == ["SM86"]


def test_build_options_are_one_frozen_validated_object(lenet):
    """BuildOptions validates when made (whoever makes it), is frozen, and is the one source of the cache key and
    the builder config; build()'s metadata is assembled in one place from it."""
    import dataclasses
    import importlib

    from netdef.build import BuildOptions

    options = BuildOptions(workspace=1e6, optimization_level=2)
    assert options.workspace == 1_000_000 and isinstance(options.workspace, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.workspace = 1
    assert options == BuildOptions(workspace=1_000_000, optimization_level=2) and hash(options)
    for bad, phrase in (
        ({"workspace": 0}, "workspace=0"),
        ({"optimization_level": 9}, "0..5"),
        ({"refit": 1}, "refit"),
    ):
        with pytest.raises(netdef.BuildError, match=phrase):
            BuildOptions(**bad)
    net = netdef.define(lenet, LeNet.default_inputs())
    key = options.key(net)
    assert (key["workspace"], key["optimization_level"], key["refit"], key["precision"]) == (
        1_000_000,
        2,
        False,
        "fp32",
    )
    config = options.config(net)
    assert config.builder_optimization_level == 2
    assert config.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 1_000_000
    if hasattr(trt, "ComputeCapability"):
        one = BuildOptions(compute_capabilities="SM86")
        assert one.compute_capabilities == ("SM86",) and one.sm_numbers == {"SM86": 86} and one.target == ("SM86",)
    build_module = importlib.import_module("netdef.build")
    meta = build_module._metadata(net, memoryview(b"plan"), "ab", 0.5, options, ["a note"], None)
    assert meta["warnings"] == ["a note"] and meta["quantization"] == net.quantization and "cache_key" not in meta
    assert build_module._metadata(net, memoryview(b"plan"), "ab", 0.5, options, [], "k")["cache_key"] == "k"


def test_too_small_workspace_fails_with_tensorrts_reason(lenet):
    netdef.build(lenet, LeNet.default_inputs())  # fill TensorRT's log first: the reason must still come through
    with pytest.raises(netdef.BuildError, match="could not build LeNet") as exc:
        netdef.build(lenet, LeNet.default_inputs(), workspace=1)
    assert "workspace" in str(exc.value).lower()
    assert "the builder returned no engine" not in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "phrases"),
    [
        ({"precision": "int4"}, netdef.EmitError, ["precision must be one of fp32, fp16, bf16", "'int4'"]),
        ({"compute_capabilities": ("SM99",)}, netdef.BuildError, ["unknown compute capability 'SM99'", "SM86"]),
        ({"compute_capabilities": ("SM86", "sm89")}, netdef.BuildError, ["'sm89'", "SM89"]),
        ({"workspace": 0}, netdef.BuildError, ["workspace=0", "positive number of bytes"]),
        ({"workspace": -1}, netdef.BuildError, ["positive number of bytes"]),
        ({"optimization_level": 7}, netdef.BuildError, ["optimization_level=7", "0..5"]),
    ],
)
def test_bad_options_raise_netdef_errors(lenet, tmp_path, kwargs, error, phrases):
    if "compute_capabilities" in kwargs and not hasattr(trt, "ComputeCapability"):
        pytest.skip(f"compute_capabilities is a TensorRT-RTX option; this backend is {BACKEND}")
    with pytest.raises(error) as exc:
        netdef.build(lenet, LeNet.default_inputs(), output=tmp_path / "bad.engine", **kwargs)
    assert isinstance(exc.value, netdef.NetdefError)
    for phrase in phrases:
        assert phrase in str(exc.value)
    assert not any(tmp_path.iterdir())  # nothing written


def test_build_argument_errors(lenet):
    with pytest.raises(netdef.BuildError, match="needs inputs="):
        netdef.build(lenet)
    net = netdef.define(lenet, LeNet.default_inputs())
    with pytest.raises(netdef.BuildError, match="not to build"):
        netdef.build(net, LeNet.default_inputs())
    with pytest.raises(netdef.BuildError, match="defined in fp32"):
        netdef.build(net, precision="fp16")
    assert netdef.build(net, precision="fp32").metadata["precision"] == "fp32"


def test_failed_save_keeps_the_previous_engine(lenet, tmp_path):
    path = tmp_path / "lenet.engine"
    old = netdef.build(lenet, LeNet.default_inputs(), output=path)
    new = netdef.build(lenet, {"x": netdef.Input((2, 1, 32, 32))})
    new.metadata["extra"] = object()  # not JSON: the save must fail before touching either file
    with pytest.raises(TypeError):
        new.save(path)
    assert path.read_bytes() == old.data
    assert json.loads(metadata_path(path).read_text()) == old.metadata
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.engine", "lenet.engine.json"]
    data, meta = netdef.runtime.read_engine(path)  # still a consistent pair
    assert data == old.data and meta == old.metadata


def test_overwrite_replaces_engine_and_sidecar_together(lenet, tmp_path):
    path = tmp_path / "lenet.engine"
    netdef.build(lenet, LeNet.default_inputs(), output=path)
    second = netdef.build(lenet, {"x": netdef.Input((2, 1, 32, 32))}, output=path)
    data, meta = netdef.runtime.read_engine(path)
    assert data == second.data and meta["inputs"]["x"]["shape"] == [2, 1, 32, 32]


def test_built_engine_matches_torch_on_the_reference_interpreter(lenet):
    """The network that was built computes what the torch twin computes (CPU reference interpreter)."""
    twin = TorchLeNet().eval()
    netdef.weights.load_into_torch(twin, {k: p.data for k, p in lenet.state_dict().items()})
    net = netdef.define(lenet, {"x": netdef.Input((3, 1, 32, 32))})
    netdef.build(net)
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        want = twin(x).numpy()
    got = netdef.reference.run(net, {"x": x.numpy()})["output"]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * max(1.0, float(np.abs(want).max())))


# ------------------------------------------------------------------------ what an output may replace


@pytest.fixture
def no_builder(monkeypatch):
    """Refusals come before the (expensive) build: the builder must not be reached."""
    import importlib

    def unreachable(network, config):
        raise AssertionError("the builder ran before the output was checked")

    monkeypatch.setattr(importlib.import_module("netdef.build"), "_serialize", unreachable)


@pytest.mark.parametrize(
    ("existing", "phrase"),
    [
        ({"m.engine": b"1\nconv1.weight 1 3f800000\n"}, "m.engine exists and is not a netdef engine (it has no"),
        ({"m.engine.json": b'{"my": "settings"}'}, "m.engine.json exists and is not netdef engine metadata"),
        ({"m.engine": b"plan", "m.engine.json": b"not json"}, "m.engine.json exists and is not netdef engine metadata"),
    ],
    ids=["weights-file", "someone-elses-json", "unreadable-sidecar"],
)
def test_output_never_replaces_a_file_that_is_not_a_netdef_engine_unless_forced(
    lenet, tmp_path, no_builder, existing, phrase
):
    for name, data in existing.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(netdef.BuildError) as exc:
        netdef.build(lenet, LeNet.default_inputs(), output=tmp_path / "m.engine")
    assert phrase in str(exc.value) and "force=True" in str(exc.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == existing


def test_force_replaces_a_file_that_is_not_an_engine(lenet, tmp_path):
    path = tmp_path / "m.engine"
    path.write_bytes(b"1\nconv1.weight 1 3f800000\n")
    built = netdef.build(lenet, LeNet.default_inputs(), output=path, force=True)
    assert netdef.runtime.read_engine(path)[0] == built.data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.engine", "m.engine.json"]


@pytest.mark.parametrize("force", [False, True])
def test_output_that_is_a_folder_or_empty_is_refused_even_when_forced(lenet, tmp_path, no_builder, force):
    (tmp_path / "m.engine").mkdir()
    with pytest.raises(netdef.BuildError, match=r"m\.engine is a directory"):
        netdef.build(lenet, LeNet.default_inputs(), output=tmp_path / "m.engine", force=force)
    with pytest.raises(netdef.BuildError, match="output='' is not a path"):
        netdef.build(lenet, LeNet.default_inputs(), output="", force=force)


def test_check_output_refuses_the_inputs_of_the_run_even_when_forced(tmp_path):
    from netdef.build import check_output

    weights = tmp_path / "w.wts"
    weights.write_bytes(b"0\n")
    for force in (False, True):
        with pytest.raises(netdef.BuildError, match=r"w\.wts would overwrite .*w\.wts, an input of this run"):
            check_output(weights, force=force, inputs=[None, tmp_path / "missing.npz", weights])
    (tmp_path / "m.engine.json").symlink_to(weights)  # the sidecar path is checked too
    with pytest.raises(netdef.BuildError, match="an input of this run"):
        check_output(tmp_path / "m.engine", force=True, inputs=[weights])
    check_output(tmp_path / "new.engine", inputs=[weights])  # nothing there yet: fine
