"""User errors of the netdef command: one `netdef CMD: error: ...` line and exit status 2, never a traceback.

A table of the classes of mistakes (model specs, files, options), then a fuzz test over the CLI's arguments.
"""

from __future__ import annotations

import os
import re
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdef.cli import main

ERROR_LINE = re.compile(r"^netdef \w+: error: ", re.MULTILINE)

TINY = '''
import numpy as np
import torch
from netdef import nn


class Tiny(nn.Module):
    """y = fc(x): the smallest model with a weight, quick to define and build."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)

    @staticmethod
    def default_inputs():
        import netdef

        return {"x": netdef.Input((1, 4))}


class TorchTiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, 2)


class Doubled(Tiny):
    def forward(self, x):
        return self.fc(x) * 2


class Boom(nn.Module):
    def __init__(self):
        raise RuntimeError("boom in __init__")


class Sub(nn.Module):
    def forward(self, a, b):
        return a - b


class Emb(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)

    def forward(self, ids):
        return self.emb(ids)

    @staticmethod
    def default_inputs():
        import netdef

        return {"ids": netdef.Input((2, 64), "int64")}


class TorchEmb(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10, 4)

    def forward(self, ids):
        return self.emb(ids)


class Raises(nn.Module):
    def forward(self, x):
        raise ValueError("a bug in forward")


CONSTANT = 3
'''


@pytest.fixture(autouse=True)
def _short_fifo_wait(monkeypatch):
    """fifo.wts has no writer: a weights reader waits for one this long (not 2 s) before saying so."""
    import netdef.weights.streams

    monkeypatch.setattr(netdef.weights.streams, "FIFO_WAIT_SECONDS", 0.05)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A model file, its weights, a feed, and paths that are not what they claim to be."""
    import torch

    root = tmp_path_factory.mktemp("cli_errors")
    (root / "tiny.py").write_text(textwrap.dedent(TINY))
    torch.manual_seed(0)
    torch.save(torch.nn.Linear(4, 2).state_dict(), root / "tiny.pth")  # keys weight/bias: add the fc. prefix
    import netdef

    netdef.save_wts({"fc.weight": np.ones((2, 4), np.float32), "fc.bias": np.zeros(2, np.float32)}, root / "tiny.wts")
    np.save(root / "x.npy", np.ones((1, 4), np.float32))
    np.savez(root / "calib.npz", y=np.ones((4, 4), np.float32))
    (root / "dir.wts").mkdir()
    (root / "dir.engine").mkdir()
    os.mkfifo(root / "fifo.wts")
    os.mkfifo(root / "fifo.npy")
    (root / "text.npy").write_text("not an array")
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(root / "ids.npy", np.full((2, 64), 10, np.int64))  # one past Emb's table
    (root / "file").write_text("a file, not a folder")
    (root / "model.onnx").write_text("a runnable ONNX model")
    (root / "raiser.py").write_text("raise ValueError('bad import')\n")
    return root


def run(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc: int, err: str, command: str, phrase: str = "") -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = ERROR_LINE.findall(err)
    assert len(lines) == 1 and lines[0] == f"netdef {command}: error: ", err
    assert phrase in err, err


TINY_SPEC, WTS = "{f}/tiny.py:Tiny", "{f}/tiny.wts"
BUILT = ["build", TINY_SPEC, "--weights", WTS]
REF = ["run", "--reference", TINY_SPEC, "--weights", WTS]
TWINS = ["parity", TINY_SPEC, "--twin", "{f}/tiny.py:TorchTiny"]
CASES = [  # (argv with {f} for the folder of `files`, a phrase of the message)
    # model specs
    (["build", "no_such_pkg.models:Net", "-o", "{f}/a.engine"], "no module named 'no_such_pkg'"),
    (["build", "{f}/tiny.py:NotAClass", "-o", "{f}/a.engine"], "has no attribute 'NotAClass'"),
    (["build", "{f}/tiny.py:CONSTANT", "-o", "{f}/a.engine"], "names a int object, not a class or a function"),
    (
        ["build", "{f}/tiny.py:NeedsArgs", "-o", "{f}/a.engine"],
        "(width) needs arguments, and netdef calls it with none",
    ),
    (["build", "{f}/tiny.py:TorchTiny", "-o", "{f}/a.engine"], "not a netdef.nn.Module"),
    (["build", "netdef/zoo/lenet", "-o", "{f}/a.engine"], "expected 'module:Class' or 'file.py:Class'"),
    (["build", "{f}/none.py:Tiny", "-o", "{f}/a.engine"], "no such file"),
    (["build", "a..b:Net", "-o", "{f}/a.engine"], "is not a module path"),
    (["build", TINY_SPEC, "-o", "{f}/a.engine"], "no --weights was given: pass --weights FILE"),
    (["build", "{f}/tiny.py:Boom", "-o", "{f}/a.engine"], "calling it with no arguments raised RuntimeError: boom"),
    (["build", "{f}/raiser.py:Net", "-o", "{f}/a.engine"], "raiser.py failed: ValueError: bad import (at "),
    (
        ["run", "--reference", "{f}/tiny.py:Raises", "--input", "x=1x4"],
        "defining Raises failed: its forward raised ValueError: a bug in forward (at ",
    ),
    (["inspect", "{f}/tiny.py:Raises", "--input", "x=1x4"], "its forward raised ValueError"),
    # files that are missing, or not files
    (["build", TINY_SPEC, "--weights", "{f}/none.wts", "-o", "{f}/a.engine"], "no such weights file"),
    (["build", TINY_SPEC, "--weights", "{f}/dir.wts", "-o", "{f}/a.engine"], "a directory, not a weights file"),
    (["build", TINY_SPEC, "--weights", "{f}/fifo.wts", "-o", "{f}/a.engine"], "a FIFO that no process opened for"),
    ([*BUILT, "-o", "{f}"], "is a directory"),
    ([*BUILT, "-o", "{f}/file/a.engine"], "is a file, not a folder"),
    ([*BUILT, "-o", "{f}/fifo.wts"], "is not a regular file"),
    ([*BUILT, "-o", "{f}/a.engine", "--quantize", "int8", "--calib-data", "{f}/none.npz"], "no such --calib-data"),
    ([*BUILT, "-o", "{f}/a.engine", "--quantize", "int8", "--calib-data", "{f}/x.npy"], "a single array"),
    (
        [*BUILT, "-o", "{f}/a.engine", "--quantize", "int8", "--calib-data", "{f}/calib.npz"],
        "lacks arrays for the inputs ['x'] and holds arrays that are no input ['y']",
    ),
    ([*REF, "--feed", "x"], "write it as name=file.npy"),
    ([*REF, "--feed", "x={f}/none.npy"], "no such --feed x= file"),
    ([*REF, "--feed", "x={f}/fifo.npy"], "not a regular file"),
    ([*REF, "--feed", "x={f}/text.npy"], "not a readable .npy"),
    ([*REF, "--feed", "x={f}/objects.npy"], "holds Python objects (an object array, saved with pickling)"),
    (
        ["parity", "{f}/tiny.py:Emb", "--twin", "{f}/tiny.py:TorchEmb", "--feed", "ids={f}/ids.npy"],
        "failed on the feeds: IndexError: index out of range in self (at ",
    ),
    ([*REF, "--save", "{f}/file"], "is a file; give a folder"),
    (["run", "{f}/missing.engine"], "no such engine file"),
    (["run", "{f}/dir.engine"], "a directory, not an engine file"),
    (["bench", "{f}/missing.engine"], "no such engine file"),
    (["refit", "{f}/missing.engine", "--model", TINY_SPEC, "--weights", WTS], "no such engine file"),
    (["inspect", "{f}/missing.engine"], "no such engine file (inspect takes an engine file, or a model"),
    (["export", "{f}/none.pth", "-o", "{f}/o.wts"], "no such weights file"),
    (["export", "{f}/dir.wts", "-o", "{f}/o.wts"], "a directory, not a weights file"),
    (["export", "{f}/tiny.pth", "-o", "{f}/o.onnx"], "the output's suffix picks the format"),
    (["export", "{f}/tiny.pth", "-o", "{f}/file/o.wts"], "is a file, not a folder"),
    (["graph", "no.such.module:Model", "-o", "{f}/g.png"], "write the graph as one of .html, .svg, .onnx"),
    (["graph", TINY_SPEC, "-o", "{f}/model.onnx"], "model.onnx exists; refusing to replace it (--force"),
    (["export", "{f}/tiny.pth", "-o", WTS], "tiny.wts exists; refusing to replace it (--force"),
    # options
    ([*BUILT, "-o", "{f}/a.engine", "--input", "x=1x4,mx=2x4"], "'mx=2x4' is not one of min=, opt=, max="),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "x=1xfour"], "'1xfour' is not a shape"),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "=1x4"], "no name= before the shape"),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "x=1x4", "--input", "y=1x4"], "input 'y' is not a parameter of"),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "img=1x4"], "input 'img' is not a parameter of Tiny.forward(x), which"),
    (["inspect", "{f}/tiny.py:Sub", "--input", "a=1x4"], "no input for the parameter 'b' of Sub.forward(a, b)"),
    (
        ["run", "--reference", "{f}/tiny.py:Sub", "--input", "a=1x4", "--input", "b=1x4", "--feed", "a={f}/x.npy"],
        "--feed gives no array for the inputs ['b']; the inputs are ['a', 'b']: feed every input",
    ),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "x=1x4", "--input", "x=2x4"], "names an input twice"),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "x=-1x4"], "give min= and max= shapes"),
    ([*BUILT, "-o", "{f}/a.engine", "--input", "x=1x4:complex"], "unknown dtype 'complex'"),
    ([*BUILT, "-o", "{f}/a.engine", "--workspace", "abc"], "argument --workspace: 'abc' is not a number"),
    ([*BUILT, "-o", "{f}/a.engine", "--workspace", "nan"], "whole positive number of bytes"),
    ([*BUILT, "-o", "{f}/a.engine", "--workspace", "1e30"], "whole positive number of bytes"),
    ([*BUILT, "-o", "{f}/a.engine", "--override", "fc"], "write it as module.path=fp32"),
    ([*TWINS, "--atol", "-1"], "a tolerance is a finite number"),
    ([*TWINS, "--rtol", "inf"], "a tolerance is a finite number"),
    (["parity", TINY_SPEC, "--twin", TINY_SPEC], "not a torch.nn.Module"),
    (["bench", "{f}/missing.engine", "--runs", "0"], "argument --runs: '0' must be >= 1"),
    ([*REF, "--seed", "-1"], "must be >= 0"),
    (["build", "--nope"], "the following arguments are required"),
]


@pytest.mark.parametrize(("argv", "phrase"), CASES, ids=[phrase[:40] for _, phrase in CASES])
def test_user_errors_are_one_line_and_exit_2(files, capsys, argv, phrase):
    rc, _, err = run([a.format(f=files) for a in argv], capsys)
    assert_user_error(rc, err, argv[0], phrase)


def test_run_without_reference_says_to_add_it(files, capsys):
    rc, _, err = run(["run", f"{files}/tiny.py:Tiny"], capsys)
    assert_user_error(rc, err, "run", "is a model, not an engine file: add --reference")
    assert "--output" not in err


def test_inspect_lists_layers_without_weights(files, capsys):
    rc, out, _ = run(["inspect", f"{files}/tiny.py:Tiny"], capsys)
    assert rc == 0
    assert "fc/matmul" in out and "zero placeholder weights (no values are bound)" in out


def test_parity_with_random_feeds_takes_integer_inputs_every_table_holds(files, capsys):
    """Random int64 ids are 0 or 1 (inside any vocabulary): they used to be truncated normals, negative ones
    among them, and the twin's embedding failed."""
    rc, out, err = run(["parity", f"{files}/tiny.py:Emb", "--twin", f"{files}/tiny.py:TorchEmb"], capsys)
    assert rc == 0, err
    assert "every module matches torch" in out


def test_parity_failure_exits_1_not_2(files, capsys):
    """A divergence is a finding, not a usage error: exit status 1, and no error line."""
    rc, _, err = run(["parity", f"{files}/tiny.py:Doubled", "--twin", f"{files}/tiny.py:TorchTiny"], capsys)
    assert rc == 1 and err.startswith("netdef parity: failed: ") and not ERROR_LINE.search(err), err
    rc, _, err = run(["parity", f"{files}/tiny.py:Tiny", "--twin", f"{files}/tiny.py:TorchTiny"], capsys)
    assert rc == 0, err


# ------------------------------------------------------------------------------------------------ fuzz

OPTIONS = [
    "--weights", "--input", "--precision", "-o", "--workspace", "--override", "--quantize", "--calib-data",
    "--calib-cache", "--cache", "--feed", "--seed", "--save", "--twin", "--atol", "--rtol", "--runs", "--warmup",
    "--json", "--model", "--non-strict", "--reference", "--force", "--weights-only", "--strip-prefix",
    "--repository", "--name", "--max-batch-size", "--with-weights", "--parity", "--version",
]  # fmt: skip
ALPHABET = "x0123456789-=,:.abfimnotp_"


@st.composite
def argvs(draw, root):
    tiny = f"{root}/tiny.py"
    paths = [
        f"{tiny}:Tiny", f"{tiny}:TorchTiny", f"{tiny}:NeedsArgs", f"{tiny}:CONSTANT", f"{tiny}:Nope", "nope:Net",
        f"{root}/tiny.wts", f"{root}/tiny.pth", f"{root}/x.npy", f"{root}/calib.npz", f"{root}/dir.wts",
        f"{root}/fifo.wts", f"{root}/fifo.npy", f"{root}/text.npy", f"{root}/file", f"{root}/missing.engine",
        f"{root}/out/a.engine", f"{root}/o.wts", f"{root}/file/x", f"x={root}/x.npy", f"x={root}/fifo.npy",
        "x=1x4", "x=-1x4,min=1x4,max=2x4", "x=1x4,mx=1x4", "fc=fp32", "fp16", "int8", "-1", "nan", "1e9", "",
    ]  # fmt: skip
    values = st.one_of(st.sampled_from(paths), st.text(ALPHABET, max_size=12))
    command = draw(
        st.sampled_from(["export", "build", "refit", "run", "bench", "inspect", "parity", "graph", "triton"])
    )
    argv = [command, draw(values)]
    for _ in range(draw(st.integers(0, 4))):
        argv.append(draw(st.sampled_from(OPTIONS)))
        if draw(st.booleans()):
            argv.append(draw(values))
    return argv


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_arguments_never_raise(files, capsys, monkeypatch, data):
    """Whatever the arguments, main returns 0, 1 (parity found a difference) or 2 with one error line; any
    exception escaping main (a traceback for the user) fails the test."""
    monkeypatch.chdir(files)
    monkeypatch.setenv("NETDEF_CACHE_DIR", str(files / "cache"))
    argv = data.draw(argvs(files))
    rc, _, err = run(argv, capsys)
    assert rc in (0, 1, 2), (argv, rc, err)
    assert "Traceback" not in err
    if rc == 2:
        assert len(ERROR_LINE.findall(err)) == 1, (argv, err)
