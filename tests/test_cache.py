"""The engine cache: a hit skips the builder, and every part of the key invalidates it."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

import netdef
from netdef._trt import layer_classes
from netdef.cache import EngineCache, network_fingerprint
from netdef.runtime.metadata import BuiltEngine
from netdef.zoo.lenet import LeNet

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


class ConvNet(netdef.nn.Module):
    """conv (no bias) -> batch norm (folds into the conv, giving it a bias) -> linear: in bf16 every weight is
    BF16, which TensorRT's Python API cannot hand back as an array."""

    def __init__(self):
        super().__init__()
        nn = netdef.nn
        self.conv, self.bn, self.fc = nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2), nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).flatten(1))


CONVNET_INPUTS = {"x": netdef.Input((1, 1, 4, 4))}


def _convnet(change: str | None = None) -> ConvNet:
    """A bound ConvNet; ``change`` names one weight whose first value is moved by 0.5 (exact in bf16)."""
    rng = np.random.default_rng(0)
    model = ConvNet()
    weights = {k: rng.random(p.shape, dtype=np.float32).round(2) + 0.5 for k, p in model.state_dict().items()}
    if change is not None:
        weights[change].flat[0] += 0.5
    model.load_weights(weights)
    return model


def _key(network) -> str:
    return network_fingerprint(network.network, network.named_weights)


def test_bf16_weights_enter_the_fingerprint():
    base = netdef.define(_convnet(), CONVNET_INPUTS, precision="bf16")
    kinds = {"conv/conv": "CONVOLUTION", "fc/linear_weight": "CONSTANT"}
    assert all(base.network.get_layer(i).type.name != "SCALE" for i in range(base.network.num_layers))  # folded
    assert {r["name"]: r["type"] for r in base.layers() if r["name"] in kinds} == kinds
    assert {a.dtype.name for a in base.named_weights.values()} == {"bfloat16"}
    assert _key(netdef.define(_convnet(), CONVNET_INPUTS, precision="bf16")) == _key(base)
    # the conv kernel, the bias the batch norm folds into it, the linear's weight and bias: each changes the key
    for name in ("conv.weight", "bn.bias", "fc.weight", "fc.bias"):
        assert _key(netdef.define(_convnet(name), CONVNET_INPUTS, precision="bf16")) != _key(base), name


def test_weights_tensorrt_cannot_hand_back_are_never_left_out():
    network = netdef.define(_convnet(), CONVNET_INPUTS, precision="bf16")
    with pytest.raises(
        netdef.errors.BuildError, match=r"layer `conv/conv` .* cannot hand back its BF16 `bias` \(2 values\)"
    ):
        network_fingerprint(network.network)  # without the named weights the BF16 values are unknown


@pytest.mark.parametrize("dtype", ["FP8", "INT4"])
def test_packed_weight_dtypes_are_keyed_by_their_bytes(dtype):
    """FP8 and INT4 constants (numpy has neither type): keyed by the bytes given under their refit name."""
    from netdef._trt import NETWORK_FLAGS, builder, trt

    values, count = (np.arange(6, dtype=np.uint8), 6) if dtype == "FP8" else (np.arange(3, dtype=np.uint8), 6)

    def fingerprint(data: np.ndarray, named: bool = True) -> str:
        network = builder().create_network(NETWORK_FLAGS)
        layer = network.add_constant((count,), trt.Weights(getattr(trt, dtype.lower()), data.ctypes.data, count))
        layer.name = "w"
        network.mark_output(layer.get_output(0))
        return network_fingerprint(network, {"w": data} if named else None)

    other = values.copy()
    other[1] ^= 0x11
    assert fingerprint(values) == fingerprint(values.copy()) != fingerprint(other)
    with pytest.raises(netdef.errors.BuildError, match=f"cannot hand back its {dtype} `weights`"):
        fingerprint(values, named=False)
    with pytest.raises(netdef.errors.BuildError, match=r"no array `w\.weights` or `w` of that size"):
        fingerprint(values[:-1])


def test_fingerprint_sees_the_settings_of_a_fused_attention():
    class Attend(netdef.nn.Module):
        def __init__(self, causal):
            super().__init__()
            self.causal = causal

        def forward(self, q):
            return netdef.F.scaled_dot_product_attention(q, q, q, is_causal=self.causal)

    inputs = {"q": netdef.Input((1, 2, 4, 8))}
    causal, full = (netdef.define(Attend(c), inputs) for c in (True, False))
    assert _key(causal) != _key(full)


def test_every_layer_type_but_the_legacy_plugin_has_its_attributes_read():
    from netdef._trt import trt

    assert set(trt.LayerType.__members__) - set(layer_classes()) <= {"PLUGIN"}


def test_cache_rebuilds_for_other_bf16_weights(tmp_path, builds):
    first = netdef.build(_convnet(), CONVNET_INPUTS, precision="bf16", cache=tmp_path)
    again = netdef.build(_convnet(), CONVNET_INPUTS, precision="bf16", cache=tmp_path)
    assert not first.cached and again.cached and len(builds) == 1
    other = netdef.build(_convnet("fc.weight"), CONVNET_INPUTS, precision="bf16", cache=tmp_path)
    assert not other.cached and len(builds) == 2  # not the engine built with the first weights
    assert other.metadata["cache_key"] != first.metadata["cache_key"]
    assert len(list(tmp_path.glob("*.engine"))) == 2


def test_default_cache_dir_from_environment(tmp_path, monkeypatch, lenet, builds):
    monkeypatch.setenv("NETDEF_CACHE_DIR", str(tmp_path / "c"))
    netdef.build(lenet, lenet.default_inputs(), cache=True)
    assert len(list((tmp_path / "c").glob("*.engine"))) == 1
    assert netdef.build(lenet, lenet.default_inputs(), cache=True).cached


# ------------------------------------------------------------------------------- concurrency, unusable folders


def _entry(tag: bytes) -> BuiltEngine:
    """A cache entry whose plan bytes differ per ``tag`` (as GPU builds with timing do for one key)."""
    from netdef._trt import BACKEND, VERSION

    return BuiltEngine(
        tag * 50_000, {"format": "netdef-engine/1", "backend": BACKEND, "backend_version": VERSION, "cache_key": "k"}
    )


def test_concurrent_readers_and_writers_of_one_key_see_whole_entries(tmp_path):
    import hashlib
    import threading

    store = EngineCache(tmp_path)
    store.put("k", _entry(b"0"))
    stop, errors, seen = threading.Event(), [], set()

    def write(tag: bytes):
        other = EngineCache(tmp_path)
        while not stop.is_set():
            other.put("k", _entry(tag))

    def read():
        try:
            for _ in range(150):
                hit = EngineCache(tmp_path).get("k")
                assert hit is not None and hashlib.sha256(hit.data).hexdigest() == hit.metadata["engine_sha256"]
                seen.add(hit.data[:1])
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(tag,)) for tag in (b"1", b"2")]
    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in writers + readers:
        t.start()
    for t in readers:
        t.join(120)
    stop.set()
    for t in writers:
        t.join(120)
    assert not errors, errors[0]
    assert len(seen) >= 2  # readers did see the entry change under them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.engine", "k.engine.json"]


WRITER_PROCESS = """
import sys
from netdef._trt import BACKEND, VERSION
from netdef.cache import EngineCache
from netdef.runtime.metadata import BuiltEngine

store, tag = EngineCache(sys.argv[1]), sys.argv[2].encode()
meta = {"format": "netdef-engine/1", "backend": BACKEND, "backend_version": VERSION, "cache_key": "k"}
print("ready", flush=True)
for i in range(40):
    store.put("k", BuiltEngine(tag * (50_000 + i), meta))
"""


def test_a_process_reading_and_writing_beside_a_writer_process_never_sees_a_torn_entry(tmp_path):
    import subprocess
    import sys

    EngineCache(tmp_path).put("k", _entry(b"0"))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_PROCESS, str(tmp_path), "a"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline() == "ready\n"
        tags = set()
        while proc.poll() is None:
            hit = EngineCache(tmp_path).get("k")
            assert hit is not None and hit.metadata["engine_bytes"] == len(hit.data)
            tags.add(hit.data[:1])
            EngineCache(tmp_path).put("k", _entry(b"b"))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    assert proc.returncode == 0
    assert tags >= {b"a", b"b"}


@pytest.mark.parametrize("problem", ["a-file", "read-only"])
def test_an_unusable_cache_folder_is_a_warning_and_the_build_goes_on(tmp_path, lenet, builds, problem, monkeypatch):
    if problem == "a-file":
        cache = tmp_path / "cache"
        cache.write_text("not a folder")
    else:
        cache = tmp_path / "cache"
        cache.mkdir()
        cache.chmod(0o555)
        if os.geteuid() == 0:  # root writes into read-only folders: refuse the way the OS refuses others

            def refuse(self, key, built):
                raise PermissionError(13, "Permission denied", str(cache))

            monkeypatch.setattr(build_module.EngineCache, "put", refuse)
    with pytest.warns(netdef.NetdefWarning, match=r"engine cache .*cache is unusable .*building without it") as said:
        built = netdef.build(lenet, lenet.default_inputs(), cache=cache, output=tmp_path / "out.engine")
    assert len([w for w in said if "unusable" in str(w.message)]) == 1  # said once
    assert not built.cached and len(builds) == 1
    assert netdef.runtime.read_engine(tmp_path / "out.engine")[0] == built.data  # the output is still written
    if problem == "a-file":
        assert cache.read_text() == "not a folder"
    else:
        cache.chmod(0o755)
        assert list(cache.iterdir()) == []


def _hammer(base: str, role: str, tag: bytes, rounds: int, barrier) -> list[str]:
    """One racer of ``test_racing_puts_and_gets_of_one_key_never_raise``: in each round's fresh folder, put an
    entry of its own bytes (a writer) or get the key (a reader); returns what went wrong, as text."""
    import hashlib
    import traceback

    problems = []
    for r in range(rounds):
        store = EngineCache(os.path.join(base, str(r), "cache"))  # created by the first put of the round
        barrier.wait()
        try:
            hits = 0
            for i in range(300):  # a reader asks until it has had a few hits: from before the folder exists on
                if role == "put":
                    if i == 3:
                        break
                    store.put("k", _entry(tag))
                    continue
                hit = store.get("k")
                if hit is not None:
                    hits += 1
                    if hits == 3:
                        break
                    if hashlib.sha256(hit.data).hexdigest() != hit.metadata["engine_sha256"]:
                        problems.append(f"round {r}: a hit whose bytes do not match its metadata")
                    if bytes(hit.data) not in (b"a" * 50_000, b"b" * 50_000):
                        problems.append(f"round {r}: a hit holding bytes no writer wrote")
        except Exception:
            problems.append(f"round {r} {role} {i}: {traceback.format_exc()}")
    return problems


def _settled(base, rounds: int) -> None:
    """Every round's folder ends with one entry, whose plan matches its metadata, written by one of the writers."""
    from netdef.runtime.metadata import read_engine

    for r in range(rounds):
        folder = base / str(r) / "cache"
        assert sorted(p.name for p in folder.iterdir()) == ["k.engine", "k.engine.json"]
        data, meta = read_engine(folder / "k.engine", verify=True)
        assert data in (b"a" * 50_000, b"b" * 50_000) and meta["engine_bytes"] == len(data)


RACERS = [("put", b"a"), ("put", b"b"), ("get", b""), ("get", b"")]


def test_racing_threads_put_and_get_differing_bytes_of_one_key_without_raising(tmp_path):
    """Two writers of differing plans and two readers start together on a folder that does not exist yet: no
    exception escapes (a reader once saw the folder appear between two checks: NotADirectoryError), a get is a
    miss or a whole entry, and the folder ends with one consistent entry."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rounds = 15
    barrier = threading.Barrier(len(RACERS))
    with ThreadPoolExecutor(len(RACERS)) as pool:
        found = pool.map(lambda racer: _hammer(str(tmp_path), *racer, rounds, barrier), RACERS)
    problems = [p for ps in found for p in ps]
    assert not problems, problems[0]
    _settled(tmp_path, rounds)


def _hammer_process(queue, *args) -> None:
    queue.put(_hammer(*args))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks racing processes")
def test_racing_processes_put_and_get_differing_bytes_of_one_key_without_raising(tmp_path):
    import multiprocessing

    rounds = 20
    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(len(RACERS)), context.Queue()
    racers = [context.Process(target=_hammer_process, args=(queue, str(tmp_path), *r, rounds, barrier)) for r in RACERS]
    for p in racers:
        p.start()
    try:
        problems = [p for _ in racers for p in queue.get(timeout=60)]
    finally:
        for p in racers:
            p.join(30)
            if p.is_alive():
                p.kill()
    assert not problems, problems[0]
    assert [p.exitcode for p in racers] == [0] * len(racers)
    _settled(tmp_path, rounds)
