"""Triton model repositories: config.pbtxt parsed with Triton's own ModelConfig schema."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

import netdef
from netdef._trt import BACKEND
from netdef.cli import main
from netdef.errors import NetdefError, NetdefWarning
from netdef.runtime.metadata import metadata_path
from netdef.triton import model_config, write_model_repository
from netdef.zoo.lenet import LeNet

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2", reason="tritonclient[grpc] is not installed (the dev extra has it)"
)
text_format = pytest.importorskip("google.protobuf.text_format")


def _parse(path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """A LeNet engine with a dynamic batch and two optimization profiles, built by the real builder."""
    model = LeNet()
    rng = np.random.default_rng(0)
    model.load_weights({k: rng.standard_normal(p.shape).astype(np.float32) for k, p in model.state_dict().items()})
    x = netdef.Input(
        (-1, 1, 32, 32),
        min=(1, 1, 32, 32),
        opt=(4, 1, 32, 32),
        max=(8, 1, 32, 32),
        profiles=[((8, 1, 32, 32), (16, 1, 32, 32), (32, 1, 32, 32))],
    )
    path = tmp_path_factory.mktemp("triton") / "lenet.engine"
    netdef.build(model, {"x": x}, output=path)
    return path


def test_repository_layout_and_config(engine, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NetdefWarning)
        model_dir = write_model_repository(
            engine, tmp_path / "repo", "lenet", max_batch_size=8, dynamic_batching=True, instances=2
        )
    assert (model_dir / "1" / "model.plan").read_bytes() == engine.read_bytes()
    config = _parse(model_dir / "config.pbtxt")
    assert config.name == "lenet" and config.platform == "tensorrt_plan"
    assert config.max_batch_size == 8
    (inp,) = config.input
    assert inp.name == "x" and list(inp.dims) == [1, 32, 32]  # the batch dim is Triton's
    assert model_config_pb2.DataType.Name(inp.data_type) == "TYPE_FP32"
    (out,) = config.output
    assert out.name == "output" and list(out.dims) == [10]
    assert config.HasField("dynamic_batching")
    (group,) = config.instance_group
    assert group.count == 2 and list(group.profile) == ["0", "1"]
    assert model_config_pb2.ModelInstanceGroup.Kind.Name(group.kind) == "KIND_GPU"


def test_unbatched_config_keeps_dynamic_dims(engine, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NetdefWarning)
        model_dir = write_model_repository(engine, tmp_path, "m", backend="my_rtx_backend")
    config = _parse(model_dir / "config.pbtxt")
    assert config.backend == "my_rtx_backend" and not config.platform
    assert config.max_batch_size == 0 and list(config.input[0].dims) == [-1, 1, 32, 32]
    assert not config.HasField("dynamic_batching")


def test_rtx_engine_says_which_backend(engine, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NetdefWarning)
        write_model_repository(engine, tmp_path, "m")
    notes = [str(w.message) for w in caught if issubclass(w.category, NetdefWarning)]
    if BACKEND == "tensorrt_rtx":
        assert any("TensorRT-RTX" in n and "--backend" in n for n in notes)
    else:
        assert not notes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_batch_size": 64}, "allows batch 8 at most"),
        ({"dynamic_batching": True}, "needs --max-batch-size"),
        ({"instances": 0}, r"--instances \(instances\) must be a whole number from 1"),
        ({"max_batch_size": 2.5}, "must be a whole number from 0"),
        ({"backend": 'rtx"'}, "backend name"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    meta = {
        "inputs": {"x": {"shape": [-1, 4], "dtype": "float32", "min": [1, 4], "opt": [4, 4], "max": [8, 4]}},
        "outputs": [{"name": "y", "shape": [-1, 2], "dtype": "float32"}],
    }
    kwargs = {"name": "m", **kwargs}
    with pytest.raises(NetdefError, match=message):
        model_config(meta, **kwargs)


def test_static_batch_with_max_batch_size_is_refused():
    meta = {"inputs": {"x": {"shape": [1, 4], "dtype": "float32"}}, "outputs": []}
    with pytest.raises(NetdefError, match="first dim must be the dynamic batch dim"):
        model_config(meta, "m", max_batch_size=4)


def test_cli(engine, tmp_path, capsys):
    rc = main(["triton", str(engine), "--repository", str(tmp_path), "--name", "lenet", "--max-batch-size", "4"])
    assert rc == 0
    assert _parse(tmp_path / "lenet" / "config.pbtxt").max_batch_size == 4
    assert main(["triton", str(tmp_path / "missing.engine"), "--repository", str(tmp_path), "--name", "x"]) != 0
    assert "no such engine file" in capsys.readouterr().err


def _write(engine, repository, name="m", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NetdefWarning)
        return write_model_repository(engine, repository, name, **kwargs)


def test_an_existing_entry_is_never_replaced_without_force(engine, tmp_path):
    model_dir = _write(engine, tmp_path)
    config, plan = model_dir / "config.pbtxt", model_dir / "1" / "model.plan"
    assert _write(engine, tmp_path) == model_dir  # the same files again: nothing to lose, nothing refused

    edited = config.read_text().replace("count: 1", "count: 3")  # a hand-tuned config
    config.write_text(edited)
    with pytest.raises(NetdefError) as exc:
        _write(engine, tmp_path)
    message = str(exc.value)
    assert f"{config} exists and differs" in message and "count: 3" in message and "--force" in message
    assert config.read_text() == edited and plan.read_bytes() == engine.read_bytes()

    plan.write_bytes(b"the engine being served")
    with pytest.raises(NetdefError) as exc:
        _write(engine, tmp_path)
    message = str(exc.value)
    assert f"{plan} exists and holds another engine" in message and "--version 2" in message
    assert config.read_text() == edited and plan.read_bytes() == b"the engine being served"

    _write(engine, tmp_path, force=True)
    assert plan.read_bytes() == engine.read_bytes() and "count: 1" in config.read_text()


def test_a_new_version_goes_beside_the_old_ones(engine, tmp_path):
    model_dir = _write(engine, tmp_path)
    (model_dir / "1" / "model.plan").write_bytes(b"version 1, still served")
    _write(engine, tmp_path, version=2)
    assert (model_dir / "2" / "model.plan").read_bytes() == engine.read_bytes()
    assert (model_dir / "1" / "model.plan").read_bytes() == b"version 1, still served"
    (model_dir / "2" / "model.plan").write_bytes(b"version 2")
    with pytest.raises(NetdefError, match="--version 3"):  # the next free version is offered
        _write(engine, tmp_path, version=2)
    for bad in (0, -1, True, "2", 1.0, 2**63):
        with pytest.raises(NetdefError, match="--version"):
            _write(engine, tmp_path, version=bad)


@pytest.mark.parametrize("name", ['my"model', "a b", "a/b", "..", ".", ".hidden", "", "m\n", "ü", 3])
def test_names_triton_cannot_serve_are_refused(engine, tmp_path, name):
    with pytest.raises(NetdefError, match=r"use only letters, digits, '_', '-' and '\.'"):
        _write(engine, tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_plain_names_are_written(engine, tmp_path):
    model_dir = _write(engine, tmp_path, "resnet-50_v1.2")
    assert _parse(model_dir / "config.pbtxt").name == "resnet-50_v1.2"


def test_tensor_names_are_escaped_for_the_config():
    odd = ['in"put', "back\\slash", "new\nline", "ünï/çødé:0"]
    meta = {
        "inputs": {n: {"shape": [1, 4], "dtype": "float32"} for n in odd[:2]},
        "outputs": [{"name": n, "shape": [1, 2], "dtype": "float32"} for n in odd[2:]],
    }
    config = text_format.Parse(model_config(meta, "m"), model_config_pb2.ModelConfig())
    assert [t.name for t in config.input] == odd[:2] and [t.name for t in config.output] == odd[2:]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda m: m.pop("inputs"), "'inputs' is missing"),
        (lambda m: m.update(outputs={"y": 1}), "'outputs' is {'y': 1}"),
        (lambda m: m["inputs"]["x"].pop("dtype"), "inputs['x']['dtype'] is missing"),
        (lambda m: m["inputs"]["x"].update(shape="1x4"), "inputs['x']['shape'] is '1x4'"),
        (lambda m: m["inputs"]["x"].update(max=[8]), "inputs['x']['max'] is [8]"),
        (lambda m: m["outputs"][0].pop("name"), "outputs[0]'s name is missing"),
    ],
)
def test_a_sidecar_without_what_netdef_writes_is_named(engine, tmp_path, change, key):
    copy = tmp_path / "copy.engine"
    shutil.copyfile(engine, copy)
    meta = json.loads(metadata_path(engine).read_text())
    change(meta)
    metadata_path(copy).write_text(json.dumps(meta))
    with pytest.raises(NetdefError) as exc:
        _write(copy, tmp_path / "repo")
    message = str(exc.value)
    assert message.startswith(f"{metadata_path(copy)}: the metadata's ") and key in message, message
    assert "netdef build" in message
    assert not (tmp_path / "repo").exists()


def test_cli_refuses_to_replace_and_writes_new_versions(engine, tmp_path, capsys):
    base = ["triton", str(engine), "--repository", str(tmp_path), "--name", "lenet"]
    assert main(base) == 0
    plan = tmp_path / "lenet" / "1" / "model.plan"
    plan.write_bytes(b"served")
    capsys.readouterr()
    assert main(base) == 2
    err = capsys.readouterr().err
    assert err.count("netdef triton: error: ") == 1 and "--version 2" in err and "Traceback" not in err
    assert plan.read_bytes() == b"served"
    assert main([*base, "--version", "2"]) == 0
    assert str(tmp_path / "lenet" / "2" / "model.plan") in capsys.readouterr().out
    assert (tmp_path / "lenet" / "2" / "model.plan").read_bytes() == engine.read_bytes()
    assert main([*base, "--force"]) == 0 and plan.read_bytes() == engine.read_bytes()
    assert main([*base, "--version", "0"]) == 2
    assert main([*base[:-1], "it's"]) == 2
    assert "use only letters" in capsys.readouterr().err


def test_cli_refusal_leaves_no_folder_behind(engine, tmp_path, capsys):
    repository = tmp_path / "repo"
    assert main(["triton", str(engine), "--repository", str(repository), "--name", 'say "hi"']) == 2
    assert "use only letters" in capsys.readouterr().err and not repository.exists()
