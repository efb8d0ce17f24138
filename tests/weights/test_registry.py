"""The weights format table (netdef/weights/registry.py): a format's own code registers it, and
``load_weights_file`` reads it by suffix or, from a stream without one, by its first bytes."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from netdef.errors import WeightsFormatError
from netdef.weights import SUFFIXES, load_weights_file
from netdef.weights.registry import FORMATS, Weights, format_for, suffixes, weight_format


@pytest.fixture
def formats():
    """The table as it was, restored after the test registers formats."""
    saved = list(FORMATS)
    yield FORMATS
    FORMATS[:] = saved


def _parse(text: bytes) -> Weights:  # "#tsv\n" then "name<TAB>v v v" lines
    lines = text.decode().splitlines()[1:]
    return Weights({n: np.array(v.split(), dtype=np.float32) for n, v in (line.split("\t") for line in lines)})


def _register_tsv():
    @weight_format(
        "tsv",
        ".tsv",
        sniff=lambda head: head.head.startswith(b"#tsv"),
        read=lambda head: _parse(head.stream().read()),
    )
    def load_tsv(path: str) -> Weights:
        with open(path, "rb") as f:
            return _parse(f.read())


def test_the_builtin_formats_are_registered_by_their_modules():
    assert SUFFIXES == (".wts", ".safetensors", ".npz", ".pt", ".pth", ".bin", ".ckpt") == suffixes()
    assert format_for("a/b/model.safetensors.index.json").name == "safetensors index"
    assert format_for("x.SAFETENSORS").name == "safetensors" and format_for("w.wts").name == "wts"
    assert format_for("weights.onnx") is None and format_for(".wts") is None
    assert [f.name for f in FORMATS if f.fallback] == ["wts"]


def test_a_registered_format_is_read_by_suffix_and_from_a_pipe(formats, tmp_path):
    _register_tsv()
    data = b"#tsv\nconv.weight\t1 2 3\nconv.bias\t0.5\n"
    (tmp_path / "w.tsv").write_bytes(data)
    got = load_weights_file(tmp_path / "w.tsv", rename=lambda n: "m." + n)
    assert list(got) == ["m.conv.weight", "m.conv.bias"] and got["m.conv.weight"].tolist() == [1, 2, 3]
    assert ".tsv" in suffixes()

    read_end, write_end = os.pipe()  # what <(...) hands a program: /dev/fd/N, no suffix to go by
    writer = threading.Thread(target=lambda: os.write(write_end, data) and os.close(write_end), daemon=True)
    writer.start()
    got = load_weights_file(f"/dev/fd/{read_end}")
    writer.join(10)
    assert got["conv.bias"].tolist() == [0.5]


def test_a_suffix_belongs_to_one_format(formats):
    with pytest.raises(ValueError, match=r"suffixes \['.npz'\] are registered by another format"):
        weight_format("other npz", ".npz")(lambda path: Weights())
    with pytest.raises(ValueError, match="another format is the fallback"):
        weight_format("text", ".txt", read=lambda head: Weights(), fallback=True)(lambda path: Weights())


def test_an_unknown_suffix_names_the_registered_ones(tmp_path):
    (tmp_path / "w.onnx").write_bytes(b"x")
    with pytest.raises(WeightsFormatError, match=r"unknown weights format '.onnx'; netdef reads .wts, .safetensors"):
        load_weights_file(tmp_path / "w.onnx")
