"""Loading an engine safely, on CPU: every way the file or its sidecar can be wrong gives an EngineError
that says what to do, before TensorRT ever sees the bytes; then the GPU checks of Engine.load."""

from __future__ import annotations

import json
import shutil

import pytest

import netdef
import netdef.runtime.device
from netdef._trt import BACKEND, VERSION
from netdef.runtime import Gpu, read_engine
from netdef.runtime.metadata import metadata_path
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real LeNet engine and its sidecar, built once for the module."""
    model = LeNet()
    model.load_weights({k: v.numpy() for k, v in TorchLeNet().state_dict().items()})
    path = tmp_path_factory.mktemp("engine") / "lenet.engine"
    netdef.build(model, LeNet.default_inputs(), output=path)
    return path


@pytest.fixture
def engine(built, tmp_path):
    """A private copy of the engine and sidecar that a test may damage."""
    path = tmp_path / "lenet.engine"
    shutil.copyfile(built, path)
    shutil.copyfile(metadata_path(built), metadata_path(path))
    return path


def load_error(path, **kwargs) -> str:
    with pytest.raises(netdef.EngineError) as exc:
        read_engine(path, **kwargs)
    return str(exc.value)


def edit_sidecar(path, **changes) -> None:
    meta = json.loads(metadata_path(path).read_text())
    meta.update(changes)
    metadata_path(path).write_text(json.dumps(meta))


def test_valid_engine_reads_back(engine):
    data, meta = read_engine(engine)
    assert data == engine.read_bytes()
    assert meta["backend"] == BACKEND and meta["backend_version"] == VERSION and meta["model"] == "LeNet"


def test_missing_engine_file(tmp_path):
    message = load_error(tmp_path / "nope.engine")
    assert "nope.engine: no such engine file" in message
    assert "build one" in message


def test_missing_sidecar(engine):
    metadata_path(engine).unlink()
    message = load_error(engine)
    assert "lenet.engine.json is missing" in message
    assert "cannot tell which TensorRT built it" in message
    assert "rebuild it" in message and "verify=False" in message
    # and the escape hatch the message offers works
    data, meta = read_engine(engine, verify=False)
    assert data == engine.read_bytes() and meta == {}


@pytest.mark.parametrize("which", ["engine", "sidecar"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_folder_or_fifo_in_place_of_a_file_is_a_clear_error_not_a_hang(tmp_path, which, kind):
    import os

    path = tmp_path / "m.engine"
    path.write_bytes(b"plan")
    metadata_path(path).write_text("{}")
    target = path if which == "engine" else metadata_path(path)
    target.unlink()
    if kind == "directory":
        target.mkdir()
    elif hasattr(os, "mkfifo"):
        os.mkfifo(target)  # opening it for reading the ordinary way would block until a writer comes
    else:
        pytest.skip("no FIFOs on this platform")
    message = load_error(path, verify=False)
    assert f"{target.name} is {'a directory' if kind == 'directory' else 'not a regular file'}" in message


def test_corrupt_sidecar_json(engine):
    text = metadata_path(engine).read_text()
    metadata_path(engine).write_text(text[: len(text) // 2])
    message = load_error(engine)
    assert "lenet.engine.json: unreadable metadata" in message
    assert "rebuild it" in message


def test_sidecar_of_another_format(engine):
    edit_sidecar(engine, format="someone-else/3")
    message = load_error(engine)
    assert "not a netdef-engine/1 metadata file" in message and "rebuild it" in message
    metadata_path(engine).write_text("[1, 2, 3]")
    assert "not a netdef-engine/1 metadata file" in load_error(engine)


def test_truncated_engine(engine):
    data = engine.read_bytes()
    engine.write_bytes(data[:-100])
    message = load_error(engine)
    assert f"the file has {len(data) - 100} bytes but its metadata says {len(data)}" in message
    assert "truncated" in message and "rebuild it" in message


def test_flipped_byte_fails_the_checksum(engine):
    data = bytearray(engine.read_bytes())
    data[len(data) // 2] ^= 0x01
    engine.write_bytes(bytes(data))
    message = load_error(engine)
    assert "checksum does not match its metadata" in message and "corrupt" in message and "rebuild it" in message
    # verify=False hands the bytes over unchecked (the caller takes the risk)
    assert read_engine(engine, verify=False)[0] == bytes(data)


def test_engine_of_another_backend(engine):
    other = "tensorrt" if BACKEND == "tensorrt_rtx" else "tensorrt_rtx"
    edit_sidecar(engine, backend=other)
    message = load_error(engine)
    assert f"was built with {other} but this process uses {BACKEND}" in message
    assert f"set NETDEF_BACKEND={other}" in message and "rebuild" in message


def test_engine_of_another_backend_version(engine):
    edit_sidecar(engine, backend_version="0.9.0.1")
    message = load_error(engine)
    assert f"built with {BACKEND} 0.9.0.1 but {VERSION} is installed" in message
    assert "rebuild it" in message and "not portable across TensorRT versions" in message


@pytest.mark.parametrize(("key", "value"), [("engine_bytes", None), ("engine_sha256", 7), ("backend", None)])
def test_sidecar_without_a_key_netdef_writes_names_it(engine, key, value):
    meta = json.loads(metadata_path(engine).read_text())
    if value is None:
        del meta[key]
    else:
        meta[key] = value
    metadata_path(engine).write_text(json.dumps(meta))
    message = load_error(engine)
    assert message.startswith(f"{metadata_path(engine)}: the metadata") and repr(key) in message, message
    assert ("has no" if value is None else f"is {value!r}") in message and "netdef build" in message


def test_specs_from_metadata_names_what_is_missing(engine):
    meta = read_engine(engine)[1]
    assert [s.name for s in netdef.runtime.specs_from_metadata(meta)] == ["x", "output"]
    del meta["outputs"]
    with pytest.raises(netdef.EngineError, match=r"the metadata's 'outputs' is missing, expected a list"):
        netdef.runtime.specs_from_metadata(meta)
    meta["outputs"], meta["inputs"]["x"]["profiles"] = [], [[[1, 1, 32, 32]]]
    with pytest.raises(netdef.EngineError, match=r"inputs\['x'\]\['profiles'\]"):
        netdef.runtime.specs_from_metadata(meta)


def test_load_checks_the_file_before_the_gpu(engine):
    engine.write_bytes(engine.read_bytes()[:-1])
    with pytest.raises(netdef.EngineError, match="truncated"):
        netdef.Engine.load(engine)


def test_load_without_a_gpu(engine, monkeypatch):
    monkeypatch.setattr(netdef.runtime.device, "current_gpu", lambda: None)
    with pytest.raises(netdef.EngineError) as exc:
        netdef.Engine.load(engine)
    message = str(exc.value)
    assert f"cannot load {engine}: no CUDA GPU is visible to this process" in message
    assert "nvidia-smi" in message and "netdef.reference.run" in message


def test_load_on_this_machine(engine):
    """Unpatched: on a machine without a GPU (CI), Engine.load says so."""
    gpu = netdef.runtime.current_gpu()
    if gpu is not None:
        pytest.skip(f"this machine has a GPU ({gpu.name}); tests/runtime/test_gpu.py covers loading there")
    with pytest.raises(netdef.EngineError, match="no CUDA GPU is visible"):
        netdef.Engine.load(engine)


@pytest.mark.skipif(BACKEND != "tensorrt_rtx", reason="the Hopper refusal is TensorRT-RTX's")
def test_load_on_a_gpu_tensorrt_rtx_does_not_support(engine, monkeypatch):
    monkeypatch.setattr(netdef.runtime.device, "current_gpu", lambda: Gpu("NVIDIA H100", (9, 0)))
    with pytest.raises(netdef.EngineError) as exc:
        netdef.Engine.load(engine)
    message = str(exc.value)
    assert "on NVIDIA H100 (compute capability 9.0)" in message
    assert "TensorRT-RTX does not support this GPU" in message
    assert "install full TensorRT" in message and "NETDEF_BACKEND=tensorrt" in message
