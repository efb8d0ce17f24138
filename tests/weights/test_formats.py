"""Binding weights from every file format: .wts, safetensors, .npz, torch checkpoints (torch is the oracle)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

import netdef
import netdef.weights.streams
from netdef.errors import BindError, WeightsFormatError
from netdef.weights import Rename, Weights, load_weights_file, save_safetensors
from netdef.zoo.lenet import LeNet
from netdef.zoo.twins.lenet import LeNet as TorchLeNet

safetensors_torch = pytest.importorskip("safetensors.torch")
safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _state(twin: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in twin.state_dict().items()}


def _write(path, kind: str, state: dict[str, torch.Tensor]) -> None:
    """Write ``state`` the way other tools do (torch, safetensors, numpy), not through netdef."""
    if kind == "wts":
        netdef.export_wts(state, path)
    elif kind == "safetensors":
        safetensors_torch.save_file(state, str(path))
    elif kind == "npz":
        np.savez(path, **{k: v.numpy() for k, v in state.items()})
    elif kind == "pt":
        torch.save(state, path)
    elif kind == "pth-training-checkpoint":
        torch.save({"epoch": 7, "state_dict": state, "optimizer": {"lr": 0.1, "momentum": [0.9]}}, path)
    elif kind == "ckpt-model":
        torch.save({"model": state, "step": 1000}, path)
    elif kind == "bin-nested":
        torch.save({"model": {"state_dict": state}}, path)
    else:  # pragma: no cover
        raise AssertionError(kind)


FORMATS = {
    "wts": "w.wts",
    "safetensors": "w.safetensors",
    "npz": "w.npz",
    "pt": "w.pt",
    "pth-training-checkpoint": "w.pth",
    "ckpt-model": "w.ckpt",
    "bin-nested": "pytorch_model.bin",
}


def _assert_bound(model: netdef.nn.Module, state: dict[str, torch.Tensor]) -> None:
    bound = model.state_dict()
    assert sorted(bound) == sorted(state)
    for name, tensor in state.items():
        assert bound[name].data.shape == tuple(tensor.shape), name
        np.testing.assert_array_equal(bound[name].data, tensor.numpy(), err_msg=name)


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_binds_strictly_by_name(tmp_path, kind):
    state = _state(TorchLeNet())
    path = tmp_path / FORMATS[kind]
    _write(path, kind, state)
    model = LeNet()
    report = model.load_weights(path)
    assert sorted(report.bound) == sorted(state) and not report.missing and not report.unexpected
    _assert_bound(model, state)


@pytest.mark.parametrize("kind", ["safetensors", "npz", "pt"])
def test_shaped_formats_return_shaped_arrays(tmp_path, kind):
    state = _state(TorchLeNet())
    path = tmp_path / FORMATS[kind]
    _write(path, kind, state)
    weights = load_weights_file(path)
    assert isinstance(weights, Weights) and weights.shaped
    assert {k: v.shape for k, v in weights.items()} == {k: tuple(v.shape) for k, v in state.items()}
    wts = tmp_path / "w.wts"
    _write(wts, "wts", state)
    assert not load_weights_file(wts).shaped  # .wts stores no shapes


def test_bound_weights_compute_what_torch_computes(tmp_path, parity):
    twin = TorchLeNet().eval()
    path = tmp_path / "lenet.safetensors"
    _write(path, "safetensors", _state(twin))
    model = LeNet()
    model.load_weights(path)
    x = torch.randn(2, 1, 32, 32)
    got = parity.run(parity.define(model, x), x)
    with torch.no_grad():
        parity.assert_close(got, twin(x))


@pytest.mark.parametrize("kind", ["safetensors", "npz", "pt"])
def test_shapes_from_the_file_are_checked(tmp_path, kind):
    state = _state(TorchLeNet())
    state["conv1.weight"] = state["conv1.weight"].reshape(6, 25)  # same size, wrong shape
    state["fc1.weight"] = state["fc1.weight"].t().contiguous()  # transposed
    state["fc3.weight"] = state["fc3.weight"].reshape(-1)  # flattened: 1-D, but the file says so
    path = tmp_path / FORMATS[kind]
    _write(path, kind, state)
    model = LeNet()
    with pytest.raises(BindError) as info:
        model.load_weights(path)
    message = str(info.value)
    assert "conv1.weight" in message and "(6, 1, 5, 5)" in message and "found shape (6, 25)" in message
    assert "fc1.weight" in message and "found shape (400, 120)" in message
    assert "fc3.weight" in message and "found shape (840,)" in message
    assert all(p.data is None for p in model.state_dict().values())  # all-or-nothing


def test_wts_arrays_take_the_module_shapes(tmp_path):
    state = _state(TorchLeNet())
    path = tmp_path / "w.wts"
    _write(path, "wts", state)
    assert load_weights_file(path)["conv1.weight"].shape == (150,)
    model = LeNet()
    model.load_weights(path)
    _assert_bound(model, state)


def test_missing_and_unexpected_names_from_safetensors(tmp_path):
    state = _state(TorchLeNet())
    state["extra.weight"] = torch.ones(2)
    del state["fc3.bias"]
    path = tmp_path / "w.safetensors"
    _write(path, "safetensors", state)
    with pytest.raises(BindError) as info:
        LeNet().load_weights(path)
    assert "missing (1)" in str(info.value) and "fc3.bias" in str(info.value)
    assert "unexpected (1)" in str(info.value) and "extra.weight" in str(info.value)
    report = LeNet().load_weights(path, strict=False)
    assert report.missing == ["fc3.bias"] and report.unexpected == ["extra.weight"]


def test_safetensors_bfloat16_and_float16_become_exact_floats(tmp_path):
    state = {
        "bf": torch.randn(5, 3).to(torch.bfloat16),
        "half": torch.randn(4).to(torch.float16),
        "count": torch.tensor(12, dtype=torch.int64),
    }
    path = tmp_path / "w.safetensors"
    _write(path, "safetensors", state)
    weights = load_weights_file(path)
    assert weights["bf"].dtype == np.float32 and weights["bf"].shape == (5, 3)
    np.testing.assert_array_equal(weights["bf"], state["bf"].float().numpy())
    assert weights["half"].dtype == np.float16
    np.testing.assert_array_equal(weights["half"], state["half"].numpy())
    assert weights["count"].dtype == np.int64 and weights["count"].shape == ()


def test_torch_full_pickle_is_refused_with_an_explanation(tmp_path):
    path = tmp_path / "full.pth"
    torch.save({"model": TorchLeNet()}, path)  # a pickled nn.Module, not a state dict
    with pytest.raises(WeightsFormatError) as info:
        LeNet().load_weights(path)
    message = str(info.value)
    assert str(path) in message and "holds code" in message and "arbitrary code" in message
    assert "LeNet" in message and "state_dict()" in message and "did not load it" in message
    assert "weights_only=False" not in message  # torch's advice to run the file's code is not relayed


def test_malicious_pickle_is_refused_as_code_and_not_run(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"w": Payload()}, path)
    with pytest.raises(WeightsFormatError) as info:
        netdef.weights.load_weights_file(path)
    message = str(info.value)
    assert "holds code" in message and "system" in message and "did not load it" in message
    assert "weights_only=False" not in message and "trusted source" not in message
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["directory", "fifo", "missing"])
def test_weights_paths_that_are_not_readable_files(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(netdef.weights.streams, "FIFO_WAIT_SECONDS", 0.2)
    path = tmp_path / "w.wts"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # no writer: reading would block forever, so it is an error after the wait
    phrase = {
        "directory": "a directory, not a weights file",
        "fifo": "a FIFO that no process opened for writing within 0.2 s",
        "missing": "no such",
    }
    with pytest.raises(WeightsFormatError, match=phrase[kind]):
        LeNet().load_weights(str(path))


@pytest.mark.parametrize(
    ("obj", "phrase"),
    [
        ([1, 2, 3], "holds a list, not a state dict"),
        ({"epoch": 3, "lr": 0.1, "net": {"w": torch.ones(1)}}, "'epoch' (int)"),
        ({"a": torch.ones(1), 3: torch.ones(1)}, "3 (Tensor)"),
    ],
)
def test_torch_objects_that_are_no_state_dict(tmp_path, obj, phrase):
    path = tmp_path / "x.pt"
    torch.save(obj, path)
    with pytest.raises(WeightsFormatError, match=r"x\.pt") as info:
        load_weights_file(path)
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("tensor", "phrase"),
    [
        (lambda: torch.empty(2, 3, device="meta"), "'w' is a meta tensor: it has a shape (2, 3) but no values"),
        (lambda: torch.nested.nested_tensor([torch.ones(2), torch.ones(3)]), "'w' is a nested tensor"),
    ],
    ids=["meta", "nested"],
)
def test_torch_tensors_without_one_array_of_values_are_refused(tmp_path, tensor, phrase):
    """A meta tensor (NotImplementedError) or a nested one (RuntimeError) escaped as torch's error; export to
    safetensors too."""
    import warnings

    path = tmp_path / "w.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nested tensors are a prototype
        torch.save({"w": tensor()}, path)
    with pytest.raises(WeightsFormatError, match=re.escape(phrase)):
        load_weights_file(path)
    with pytest.raises(WeightsFormatError, match=re.escape(phrase)):
        netdef.weights.formats.read_torch_state_dict(path)  # what `netdef export` reads


def test_torch_checkpoint_that_contains_itself_does_not_hang(tmp_path):
    loop: dict = {"w": torch.ones(1)}
    loop["model"] = loop  # a cycle: unwrapping stops after a few levels
    path = tmp_path / "loop.pt"
    torch.save(loop, path)
    with pytest.raises(WeightsFormatError, match="'model' \\(dict\\)"):
        load_weights_file(path)


@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("junk.pt", b"this is not a checkpoint" * 10, "not a torch checkpoint"),
        ("empty.pth", b"", "not a torch checkpoint"),
        ("junk.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage" * 3, "not a readable safetensors file"),
        ("empty.safetensors", b"", "not a readable safetensors file"),
        ("junk.npz", b"PK\x03\x04 not really a zip", "not a readable .npz file"),
        ("junk.wts", b"\x00\x01\x02", ":1: expected a header"),
    ],
)
def test_corrupt_files_are_weights_format_errors(tmp_path, name, data, phrase):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(WeightsFormatError, match=phrase) as info:
        LeNet().load_weights(path)
    assert str(path) in str(info.value)


def test_npz_with_other_zip_members_or_broken_arrays(tmp_path):
    import zipfile

    path = tmp_path / "w.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not an array")
    with pytest.raises(WeightsFormatError, match=r"'readme\.txt' is not a \.npy array"):
        load_weights_file(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("w.npy", b"\x93NUMPY garbage header")
    with pytest.raises(WeightsFormatError, match="entry 'w' cannot be read"):
        load_weights_file(path)


def test_npz_member_with_an_unsupported_compression_is_a_weights_format_error(tmp_path):
    """zipfile raises NotImplementedError for a compression method it lacks: one clear error, not a traceback."""
    import io
    import zipfile

    array = io.BytesIO()
    np.save(array, np.ones(3, np.float32))
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as z:
        z.writestr("w.npy", array.getvalue())
    data = bytearray(packed.getvalue())
    for signature, field in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local and central headers
        at = data.index(signature) + field
        data[at : at + 2] = (99).to_bytes(2, "little")  # compression method 99: not one zipfile implements
    path = tmp_path / "w.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsFormatError, match=r"entry 'w' cannot be read: .*compression"):
        load_weights_file(path)


def test_npz_with_an_array_name_twice_is_refused(tmp_path):
    import io
    import warnings
    import zipfile

    path = tmp_path / "w.npz"
    with zipfile.ZipFile(path, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it writes
        for value in (1.0, 2.0):
            array = io.BytesIO()
            np.save(array, np.full(2, value, np.float32))
            z.writestr("w.npy", array.getvalue())
    with pytest.raises(WeightsFormatError, match="holds 'w' more than once"):
        load_weights_file(path)


def test_npz_object_arrays_and_single_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, good=np.ones(2), bad=np.array([{"a": 1}], dtype=object))
    with pytest.raises(WeightsFormatError, match="'bad' is an object array"):
        load_weights_file(path)
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, np.ones(3))
    with pytest.raises(WeightsFormatError, match="single array"):
        load_weights_file(single)


@pytest.mark.parametrize("name", ["nope.wts", "nope.safetensors", "nope.npz", "nope.pt"])
def test_missing_files(tmp_path, name):
    with pytest.raises(WeightsFormatError, match="no such weights file"):
        load_weights_file(tmp_path / name)


def test_unknown_suffix_names_the_formats(tmp_path):
    path = tmp_path / "w.onnx"
    path.write_bytes(b"x")
    with pytest.raises(WeightsFormatError, match=r"unknown weights format '\.onnx'.*\.safetensors.*\.npz.*\.pt"):
        LeNet().load_weights(path)


def test_rename_from_a_data_parallel_checkpoint(tmp_path):
    state = _state(TorchLeNet())
    path = tmp_path / "dp.pth"
    _write(path, "pth-training-checkpoint", {f"module.{k}": v for k, v in state.items()})
    with pytest.raises(BindError, match=r"module\.conv1\.weight"):
        LeNet().load_weights(path)
    model = LeNet()
    model.load_weights(path, rename=Rename(strip_prefix="module."))
    _assert_bound(model, state)
    weights = load_weights_file(path, rename=Rename(strip_prefix="module."))
    assert sorted(weights) == sorted(state) and weights.shaped


def test_rename_regex_map_and_prefix_with_a_mapping(tmp_path):
    state = _state(TorchLeNet())
    theirs = {k.replace("conv", "features.c").replace("fc", "head.dense"): v.numpy() for k, v in state.items()}
    rename = Rename(regex=[(r"^features\.c", "conv"), (r"^head\.dense", "fc")])
    model = LeNet()
    model.load_weights(theirs, rename=rename)
    _assert_bound(model, state)
    model = LeNet()
    model.load_weights({k: v for k, v in theirs.items()}, rename=lambda n: rename(n))  # any function
    _assert_bound(model, state)


def test_rename_collision_names_both_source_keys(tmp_path):
    state = _state(TorchLeNet())
    state["module.conv1.weight"] = state["conv1.weight"].clone()
    path = tmp_path / "w.safetensors"
    _write(path, "safetensors", state)
    with pytest.raises(WeightsFormatError) as info:
        LeNet().load_weights(path, rename=Rename(strip_prefix="module."))
    message = str(info.value)
    assert "'conv1.weight'" in message and "'module.conv1.weight'" in message and str(path) in message


def test_save_safetensors_round_trip_keeps_dtypes_shapes_and_tied_weights(tmp_path):
    twin = TorchLeNet()
    state = twin.state_dict()
    state["tied"] = twin.fc3.weight  # shares storage with fc3.weight: safetensors needs a copy
    state["count"] = torch.tensor(5, dtype=torch.int64)
    state["half"] = torch.randn(3).half()
    state["numpy"] = np.arange(4, dtype=np.float64)
    path = tmp_path / "w.safetensors"
    save_safetensors(state, path)
    with safetensors_torch.safe_open(str(path), framework="pt") as f:
        back = {k: f.get_tensor(k) for k in f.keys()}
    assert sorted(back) == sorted(state)
    for name, value in state.items():
        value = torch.as_tensor(value)
        assert back[name].dtype == value.dtype and back[name].shape == value.shape, name
        assert torch.equal(back[name], value.detach()), name


def test_save_safetensors_is_atomic_and_checks_names(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors({"a": torch.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(WeightsFormatError, match="cannot convert"):
        save_safetensors({"a": torch.ones(2), "b": object()}, path)
    with pytest.raises(WeightsFormatError, match="not a non-empty str"):
        save_safetensors({"": torch.ones(2)}, path)
    with pytest.raises(TypeError):
        save_safetensors([1, 2], path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]
    with pytest.raises(WeightsFormatError, match=r"entry 'm': cannot convert Tensor to a CPU tensor: .*meta"):
        save_safetensors({"m": torch.empty(2, device="meta")}, path)  # NotImplementedError escaped


def test_load_into_torch_refuses_values_the_torch_dtype_cannot_hold():
    twin = torch.nn.Linear(2, 2)
    with pytest.raises(BindError, match="weight: torch holds it as float32, but a value of 1e\\+300 is beyond"):
        netdef.weights.load_into_torch(twin, {"weight": np.full((2, 2), 1e300), "bias": np.zeros(2)})
    half = torch.nn.Linear(2, 2).half()
    with pytest.raises(BindError, match="bias: torch holds it as float16, but a value of 7e\\+04"):
        netdef.weights.load_into_torch(half, {"weight": np.ones((2, 2)), "bias": np.full(2, 7e4)})
    netdef.weights.load_into_torch(half, {"weight": np.ones((2, 2)), "bias": np.full(2, 6e4)})
    assert abs(float(half.bias[0]) - 6e4) < 32  # rounded to float16, not inf


# ------------------------------------------------------------------------------- safetensors headers, byte by byte


def _safetensors(header, data: bytes = b"", length: int | None = None) -> bytes:
    """A safetensors file: 8-byte little-endian header length, the header (JSON of ``header``, or these bytes
    if bytes), then ``data``; ``length`` overrides the length field."""
    import json
    import struct

    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _f32(begin: int, end: int, shape=(2,)) -> dict:
    return {"dtype": "F32", "shape": list(shape), "data_offsets": [begin, end]}


EIGHT = np.array([1.5, -2.0], "<f4").tobytes()

MALFORMED_SAFETENSORS = [  # (case, file bytes, phrases of the message)
    ("short", b"\x01\x02", ["2 bytes long", "8-byte header length"]),
    ("header-too-long", _safetensors({}, length=10**6), ["header length says 1000000 bytes"]),
    ("header-over-limit", _safetensors({}, length=2**63), ["over the safetensors limit"]),
    ("not-utf8", _safetensors(b'{"\xff": 1}'), ["not UTF-8"]),
    ("not-json", _safetensors(b"{garbage"), ["not valid JSON"]),
    ("json-number", _safetensors(b"5"), ["header is a JSON number, expected an object"]),
    ("json-list", _safetensors([1, 2]), ["header is a JSON array"]),
    ("entry-number", _safetensors({"w": 3}), ["tensor 'w'", "entry is a JSON number"]),
    ("no-offsets", _safetensors({"w": {"dtype": "F32", "shape": [2]}}), ["tensor 'w'", "lacks data_offsets"]),
    ("dtype-number", _safetensors({"w": {**_f32(0, 8), "dtype": 7}}, EIGHT), ["tensor 'w'", "dtype is a JSON number"]),
    ("dtype-unknown", _safetensors({"w": {**_f32(0, 8), "dtype": "Q7"}}, EIGHT), ["'w' has dtype Q7", "cannot bind"]),
    ("shape-number", _safetensors({"w": {**_f32(0, 8), "shape": 2}}, EIGHT), ["tensor 'w'", "shape is 2"]),
    ("shape-negative", _safetensors({"w": _f32(0, 8, (-2,))}, EIGHT), ["shape is [-2]", "non-negative integers"]),
    ("shape-float", _safetensors({"w": _f32(0, 8, (2.0,))}, EIGHT), ["shape is [2.0]"]),
    ("shape-bool", _safetensors({"w": _f32(0, 8, (True, 2))}, EIGHT), ["shape is [True, 2]"]),
    ("offsets-negative", _safetensors({"w": _f32(-8, 0)}), ["tensor 'w'", "data_offsets is [-8, 0]"]),
    ("offsets-three", _safetensors({"w": {**_f32(0, 8), "data_offsets": [0, 4, 8]}}, EIGHT), ["[0, 4, 8]"]),
    ("offsets-text", _safetensors({"w": {**_f32(0, 8), "data_offsets": ["0", "8"]}}, EIGHT), ["['0', '8']"]),
    ("offsets-backwards", _safetensors({"w": _f32(8, 0)}, EIGHT), ["[8, 0] end before they begin"]),
    ("wrong-byte-count", _safetensors({"w": _f32(0, 8, (3,))}, EIGHT), ["hold 8 bytes", "shape (3,) takes 12"]),
    ("overlap", _safetensors({"a": _f32(0, 8), "b": _f32(4, 12)}, EIGHT + EIGHT[:4]), ["'b' at bytes [4, 12)", "'a'"]),
    ("shared-bytes", _safetensors({"a": _f32(0, 8), "b": _f32(0, 8)}, EIGHT), ["overlaps", "share bytes"]),
    ("empty-inside", _safetensors({"a": _f32(0, 8), "z": _f32(4, 4, (0,))}, EIGHT), ["'z' at bytes [4, 4)"]),
    ("gap", _safetensors({"w": _f32(8, 16)}, EIGHT + EIGHT), ["bytes [0, 8)", "belong to no tensor", "'w'"]),
    ("truncated", _safetensors({"w": _f32(0, 8)}, EIGHT[:5]), ["need 8 bytes", "only 5", "truncated"]),
    ("trailing", _safetensors({"w": _f32(0, 8)}, EIGHT + b"x"), ["1 bytes follow the last tensor"]),
    ("metadata-list", _safetensors({"__metadata__": ["pt"], "w": _f32(0, 8)}, EIGHT), ["__metadata__ is a JSON array"]),
    ("metadata-int", _safetensors({"__metadata__": {"n": 1}, "w": _f32(0, 8)}, EIGHT), ["__metadata__['n']"]),
    ("duplicate", _safetensors(b'{"w": %s, "w": %s}' % ((str(_f32(0, 8)).replace("'", '"').encode(),) * 2), EIGHT),
     ["'w' appears twice"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "data", "phrases"), MALFORMED_SAFETENSORS, ids=[c[0] for c in MALFORMED_SAFETENSORS])
def test_malformed_safetensors_are_refused_naming_the_file_and_the_problem(tmp_path, case, data, phrases):
    """Each file the safetensors library refuses (and a repeated name, which it would read as the last one) is
    one WeightsFormatError naming the file and what is wrong: never an AttributeError, never tensors reading
    the header's bytes or another tensor's."""
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with pytest.raises(WeightsFormatError) as info:
        load_weights_file(path)
    message = str(info.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message, message
    if case != "duplicate":  # the reference library refuses the same bytes
        with pytest.raises(Exception):  # noqa: B017 - its SafetensorError is not importable by name everywhere
            safetensors_numpy.load(data)


def test_valid_safetensors_written_byte_by_byte_read_like_the_reference_library(tmp_path):
    """Tensors in any header order, a zero-size tensor, metadata, a header padded with spaces: netdef reads
    what the safetensors library reads."""
    import json

    b = np.arange(6, dtype="<i4").reshape(2, 3)
    header = {"b": {"dtype": "I32", "shape": [2, 3], "data_offsets": [8, 32]}, "a": _f32(0, 8)}
    header["z"] = {"dtype": "F16", "shape": [0, 4], "data_offsets": [32, 32]}
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode() + b"   "
    data = _safetensors(raw, EIGHT + b.tobytes())
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    got = load_weights_file(path)
    expected = safetensors_numpy.load(data)
    assert sorted(got) == sorted(expected) == ["a", "b", "z"]
    for name, value in expected.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        np.testing.assert_array_equal(got[name], value)


def _index(tmp_path, weight_map, shards: dict | None = None) -> str:
    import json

    for name, tensors in (shards or {}).items():
        save_safetensors(tensors, tmp_path / name)
    path = tmp_path / "model.safetensors.index.json"
    path.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}) if weight_map != "raw" else "[1]")
    return str(path)


@pytest.mark.parametrize(
    ("weight_map", "phrases"),
    [
        ("raw", ["holds a JSON array", "weight_map"]),
        (["w"], ["weight_map is a JSON array"]),
        ({"w": None}, ["maps 'w' to null"]),
        ({"w": 3}, ["maps 'w' to 3"]),
        ({"w": "/etc/w.safetensors"}, ["not inside the index's folder"]),
        ({"w": "../w.safetensors"}, ["not inside the index's folder"]),
        ({"w": "gone.safetensors"}, ["shard gone.safetensors", "'w'", "missing"]),
        ({"w": "a.safetensors", "v": "a.safetensors"}, ["maps 'v' to shard a.safetensors, which does not hold it"]),
    ],
)
def test_malformed_safetensors_indexes_are_refused_naming_the_problem(tmp_path, weight_map, phrases):
    path = _index(tmp_path, weight_map, {"a.safetensors": {"w": torch.ones(2)}})
    with pytest.raises(WeightsFormatError) as info:
        load_weights_file(path)
    message = str(info.value)
    assert path in message
    for phrase in phrases:
        assert phrase in message, message


def test_an_index_naming_a_tensor_twice_is_refused(tmp_path):
    save_safetensors({"w": torch.ones(2)}, tmp_path / "a.safetensors")
    save_safetensors({"w": torch.zeros(2)}, tmp_path / "b.safetensors")
    path = tmp_path / "model.safetensors.index.json"
    path.write_text('{"weight_map": {"w": "a.safetensors", "w": "b.safetensors"}}')
    with pytest.raises(WeightsFormatError, match="'w' appears twice"):
        load_weights_file(path)


# ------------------------------------------------------------------------------- FIFOs and other streams


def _serve(data: bytes, path=None):
    """Write ``data`` into a FIFO at ``path`` (made here) from a thread, or into an anonymous pipe if ``path`` is
    None (what ``<(...)`` hands a program: ``/dev/fd/N``). Returns (the path to read, the writer thread)."""
    import threading

    if path is None:
        read_end, write_end = os.pipe()
        path = f"/dev/fd/{read_end}"
    else:
        os.mkfifo(path)
        write_end = None

    def write():
        fd = os.open(path, os.O_WRONLY) if write_end is None else write_end
        try:
            with open(fd, "wb") as f:
                for i in range(0, len(data), 4096):  # in pieces, as a producer would
                    f.write(data[i : i + 4096])
        except BrokenPipeError:  # the reader refused the stream before its end
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return str(path), writer


STREAM_FORMATS = ["wts", "safetensors", "npz", "pt", "pt-legacy"]


def _file_bytes(tmp_path, kind: str) -> tuple[bytes, Weights]:
    """The bytes of a LeNet weights file of ``kind`` written by other tools, and what netdef reads from it."""
    path = tmp_path / ("src." + kind.removesuffix("-legacy"))
    if kind == "wts":
        netdef.export_wts(_state(TorchLeNet()), path)
    elif kind == "pt-legacy":  # a pickle, not a zip: what torch wrote before 1.6
        torch.save(_state(TorchLeNet()), path, _use_new_zipfile_serialization=False)
    else:
        _write(path, kind, _state(TorchLeNet()))
    return path.read_bytes(), load_weights_file(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("kind", STREAM_FORMATS)
@pytest.mark.parametrize("named", [True, False], ids=["mkfifo", "pipe"])
def test_weights_stream_from_a_fifo_or_pipe_like_the_file(tmp_path, kind, named):
    """A FIFO (mkfifo, with its suffix) or a pipe (``<(...)``: /dev/fd/N, no suffix, format told by its bytes)
    is read as a stream: the same weights as the regular file, not "empty" (.wts used st_size) or refused."""
    data, expected = _file_bytes(tmp_path, kind)
    path, writer = _serve(data, tmp_path / f"fifo.{kind.removesuffix('-legacy')}" if named else None)
    got = load_weights_file(path)
    writer.join(10)
    assert list(got) == list(expected) and got.shaped == expected.shaped
    for name, value in expected.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        np.testing.assert_array_equal(got[name], value)


def test_load_safetensors_reads_a_pipe(tmp_path):
    data, expected = _file_bytes(tmp_path, "safetensors")
    path, writer = _serve(data)
    got = netdef.weights.load_safetensors(path)
    writer.join(10)
    assert list(got) == list(expected) and all(np.array_equal(got[k], expected[k]) for k in expected)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("w.wts", b"", ":1: file is empty"),
        ("w.wts", b"\x00" * 100_000, ":1: expected a header holding the number of entries"),
        ("w.safetensors", _safetensors({"w": _f32(0, 8)}, EIGHT + b"more"), "bytes follow the last tensor"),
        ("w.safetensors", _safetensors({"w": _f32(0, 8)}, EIGHT[:3]), "only 3 follow the header"),
        ("w.safetensors", _safetensors(b"5"), "header is a JSON number"),
        ("w.npz", b"not a zip" * 100, "not a readable .npz file"),
        ("w.pt", b"not a pickle" * 100, "not a torch checkpoint"),
        (None, b"", "the stream is empty"),
        (None, b"12 not a count\n", ":1: expected a header"),
    ],
)
def test_malformed_weights_streams_are_one_clear_error(tmp_path, name, data, phrase):
    path, writer = _serve(data, tmp_path / name if name else None)
    with pytest.raises(WeightsFormatError, match=phrase) as info:
        load_weights_file(path)
    writer.join(10)
    assert path in str(info.value)


def test_an_endless_stream_of_junk_is_refused_without_reading_it_all():
    """/dev/zero never ends: the first bytes decide that it is no .wts (a copy of it would fill the disk)."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(WeightsFormatError, match=":1: expected a header"):
        netdef.load_wts("/dev/zero")
    with pytest.raises(WeightsFormatError, match="not valid JSON"):
        load_weights_file("/dev/zero")  # eight zero bytes: an empty safetensors header


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_whose_writer_is_slow_is_waited_for_not_refused(tmp_path, monkeypatch):
    """The wait is for a writer to open the FIFO; one that is there but slow to write (a decompressor, a
    download) is read whenever its data comes."""
    import threading
    import time

    monkeypatch.setattr(netdef.weights.streams, "FIFO_WAIT_SECONDS", 0.1)
    data, expected = _file_bytes(tmp_path, "wts")
    fifo = tmp_path / "w.wts"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as f:  # opens as soon as the reader has
            time.sleep(0.5)
            f.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    got = load_weights_file(fifo)
    writer.join(10)
    assert {k: v.tolist() for k, v in got.items()} == {k: v.tolist() for k, v in expected.items()}
