"""Triton model repositories: config.pbtxt parsed with Triton's own ModelConfig schema."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import netdef
from netdef._trt import BACKEND
from netdef.cli import main
from netdef.errors import NetdefError, NetdefWarning
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
        ({"instances": 0}, "--instances >= 1"),
        ({"name": "a/b"}, "plain directory name"),
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
