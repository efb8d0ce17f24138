"""Argument checks of the public API (netdef/checks.py): build() options and the files netdef reads and writes."""

from __future__ import annotations

import os

import numpy as np
import pytest

import netdef
from netdef import nn
from netdef.checks import new_output, readable_file, writable_path


@pytest.fixture(scope="module")
def model():
    m = nn.Linear(4, 2)
    m.load_weights({"weight": np.ones((2, 4), np.float32), "bias": np.zeros(2, np.float32)})
    return m


INPUTS = {"x": netdef.Input((1, 4))}


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"workspace": 2**70}, "workspace=1180591620717411303424 must be a positive number of bytes"),
        ({"workspace": "abc"}, "workspace must be a number of bytes (e.g. 1 << 30), got 'abc'"),
        ({"workspace": float("nan")}, "workspace=nan must be a positive number of bytes"),
        ({"workspace": 1.5}, "workspace=1.5 must be a positive number of bytes, whole"),
        ({"workspace": True}, "workspace must be a number of bytes"),
        ({"optimization_level": "3"}, "optimization_level='3' must be an int 0..5"),
        ({"compute_capabilities": [86]}, "compute_capabilities must be names such as ('SM86', 'SM89')"),
        ({"refit": "yes"}, "refit must be True or False, got 'yes'"),
        ({"output": ""}, "output='' is not a path"),
        ({"output": 3}, "output must be a file path, got 3"),
        ({"cache": 3}, "cache must be True, False or a folder, got 3"),
    ],
)
def test_build_arguments_are_netdef_errors_naming_the_argument(model, kwargs, phrase):
    with pytest.raises(netdef.BuildError) as info:
        netdef.build(model, INPUTS, **kwargs)
    assert phrase in str(info.value)


def test_build_output_and_cache_paths(model, tmp_path):
    """Outputs the build could never write are refused before building; an unusable cache only warns."""
    with pytest.raises(netdef.BuildError, match="is a directory; give a file path"):
        netdef.build(model, INPUTS, output=tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(netdef.BuildError, match="is a file, not a folder"):
        netdef.build(model, INPUTS, output=tmp_path / "file" / "m.engine")
    with pytest.warns(netdef.NetdefWarning):  # an unusable cache is skipped with a warning (build.py)
        assert not netdef.build(model, INPUTS, cache=tmp_path / "file").cached
    built = netdef.build(model, INPUTS, workspace=1e6, output=tmp_path / "new" / "m.engine")  # folders are made
    assert built.path == tmp_path / "new" / "m.engine" and built.path.is_file()


def test_readable_file_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "ok").write_text("x")
    assert readable_file(tmp_path / "ok", "engine file") == str(tmp_path / "ok")
    with pytest.raises(netdef.NetdefError, match="no such engine file"):
        readable_file(tmp_path / "none", "engine file")
    with pytest.raises(netdef.NetdefError, match="a directory, not an engine file"):
        readable_file(tmp_path, "engine file")
    with pytest.raises(netdef.NetdefError, match=r"not a regular file \(a FIFO, socket or device\)"):
        readable_file(tmp_path / "fifo", "engine file")  # never opened: that would block
    with pytest.raises(netdef.ArgumentError, match="engine file must be a file path, got None"):
        readable_file(None, "engine file")


def test_writable_path_refuses_directories_files_as_folders_and_fifos(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    assert writable_path(tmp_path / "a" / "b" / "c.engine", "-o") == str(tmp_path / "a" / "b" / "c.engine")
    for path, phrase in [
        (tmp_path, "is a directory"),
        (tmp_path / "file" / "x", "is a file, not a folder"),
        (tmp_path / "fifo", "is not a regular file"),
    ]:
        with pytest.raises(netdef.NetdefError, match=phrase):
            writable_path(path, "-o")


def test_new_output_refuses_an_existing_file_unless_forced_and_never_an_input(tmp_path):
    path, other = tmp_path / "out.json", tmp_path / "weights.wts"
    assert new_output(path, "--json") == str(path)  # nothing there yet
    path.write_text("mine")
    other.write_text("weights")
    with pytest.raises(netdef.NetdefError, match=r"--json .*out\.json exists; refusing to replace it \(--force"):
        new_output(path, "--json")
    assert new_output(path, "--json", force=True) == str(path)
    with pytest.raises(netdef.NetdefError, match="an input of this run"):
        new_output(other, "--json", force=True, inputs=[None, str(other)])
    with pytest.raises(netdef.NetdefError, match="is a directory"):
        new_output(tmp_path, "--json", force=True)


def test_readable_file_for_streams_takes_fifos_and_devices_but_not_sockets(tmp_path):
    import socket

    os.mkfifo(tmp_path / "fifo")
    assert readable_file(tmp_path / "fifo", "weights file", streams=True) == str(tmp_path / "fifo")  # not opened
    if os.path.exists("/dev/null"):
        assert readable_file("/dev/null", "weights file", streams=True) == "/dev/null"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(netdef.NetdefError, match=r"not a regular file, FIFO or device \(a socket\?\)"):
            readable_file(tmp_path / "sock", "weights file", streams=True)
        with pytest.raises(netdef.NetdefError, match=r"not a regular file \(a FIFO, socket or device\)"):
            readable_file(tmp_path / "sock", "weights file")
