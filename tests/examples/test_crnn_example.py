"""examples/crnn from the command line: export (random weights, or a DataParallel-style checkpoint),
build, and recognize a rendered line through the reference interpreter (checked against the torch twin)."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CRNN = ROOT / "examples" / "crnn"


@pytest.fixture
def run(capsys, monkeypatch):
    """Run an example script in this process (as ``python examples/crnn/<script> args``): (exit code, stdout,
    stderr). In-process, so each run does not pay for importing torch and TensorRT again."""
    monkeypatch.syspath_prepend(str(CRNN))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny loop-body ops: threads only add wake-up latency on a busy machine

    def go(script: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", [script, *args])
        sys.modules.pop("common", None)  # examples/zoo has a common.py too
        try:
            runpy.run_path(str(CRNN / script), run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        finally:
            sys.modules.pop("common", None)
        out = capsys.readouterr()
        return code, out.out, out.err

    yield go
    torch.set_num_threads(threads)


def test_export_build_and_recognize(run, tmp_path):
    weights, engine, line = tmp_path / "crnn.wts", tmp_path / "crnn.engine", tmp_path / "line.png"
    code, out, err = run("export_wts.py", "--output", str(weights))
    assert code == 0, err
    assert "wrote 49 tensors (8.3 M values)" in out
    code, out, err = run("build.py", "--weights", str(weights), "--output", str(engine))
    assert code == 0, out + err
    assert "2 loops" in out and engine.is_file()
    code, out, err = run(
        "recognize.py", "--text", "abc 123", "--weights", str(weights), "--engine", str(engine), "--save", str(line)
    )
    assert code == 0, out + err
    assert line.is_file()
    error, scale = map(float, re.search(r"max \|reference - torch\| = (\S+) \(of max \|torch\| (\S+)\)", out).groups())
    assert error <= 1e-5 * scale
    ours = re.search(r"netdef reference \(CPU\): '([^']*)'", out).group(1)
    assert f"torch twin: '{ours}'" in out  # the same decoded text (garbage: random weights)


def test_a_dataparallel_checkpoint_exports_with_its_prefix_stripped(run, tmp_path):
    from netdef.zoo.twins.crnn import crnn

    checkpoint = tmp_path / "crnn.pth"
    torch.manual_seed(1)
    torch.save({f"module.{k}": v for k, v in crnn().state_dict().items()}, checkpoint)
    wts = tmp_path / "crnn.wts"
    code, out, err = run("export_wts.py", "--from-checkpoint", str(checkpoint), "--output", str(wts))
    assert code == 1 and "does not fit tensorrtx's CRNN" in err and "module.cnn.conv0" in err
    code, out, err = run(
        "export_wts.py", "--from-checkpoint", str(checkpoint), "--strip-prefix", "module.", "--output", str(wts)
    )
    assert code == 0, err
    assert f"from {checkpoint}" in out and wts.is_file()
