"""examples/zoo/export_wts.py and build.py from the command line, on the smallest models at test size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "examples" / "zoo"


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ZOO / script), *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )


def test_lenet_seeded_weights_export_and_build(tmp_path):
    weights, engine = tmp_path / "lenet.wts", tmp_path / "lenet.engine"
    done = _run("export_wts.py", "--model", "lenet", "--output", str(weights), "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "wrote 10 tensors" in done.stdout and weights.is_file()
    done = _run("build.py", "--model", "lenet", "--weights", str(weights), "--output", str(engine))
    assert done.returncode == 0, done.stdout + done.stderr
    assert engine.is_file() and Path(str(engine) + ".json").is_file()
    assert "tolerance 0.0001: ok" in done.stdout and "top-1 agreement 100%" in done.stdout, done.stdout


def test_resnet18_from_an_old_torchvision_style_checkpoint_in_fp16(tmp_path):
    """A state dict saved like torchvision's first ImageNet weights (no num_batches_tracked) exports and binds."""
    from netdef.zoo.twins.resnet import resnet18

    torch.manual_seed(0)
    twin = resnet18()
    for m in twin.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # statistics a trained network could have
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.75, 1.25)
    state = {k: v for k, v in twin.state_dict().items() if not k.endswith("num_batches_tracked")}
    checkpoint, weights = tmp_path / "resnet18-torchvision.pth", tmp_path / "resnet18.wts"
    torch.save(state, checkpoint)
    done = _run("export_wts.py", "--model", "resnet18", "--from-checkpoint", str(checkpoint), "--output", str(weights))
    assert done.returncode == 0, done.stderr
    assert f"from {checkpoint}" in done.stdout
    engine = tmp_path / "resnet18_fp16.engine"
    done = _run(
        "build.py", "--model", "resnet18", "--weights", str(weights), "--output", str(engine), "--precision", "fp16"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fp16" in done.stdout and "tolerance 0.01: ok" in done.stdout and engine.is_file(), done.stdout


def test_a_checkpoint_of_another_model_is_refused_with_the_names(tmp_path):
    from netdef.zoo.twins.lenet import LeNet

    checkpoint = tmp_path / "lenet.pth"
    torch.save(LeNet().state_dict(), checkpoint)
    done = _run(
        "export_wts.py", "--model", "mlp", "--from-checkpoint", str(checkpoint), "--output", str(tmp_path / "x.wts")
    )
    assert done.returncode == 1
    assert "does not fit mlp's twin" in done.stderr and "net.0.weight" in done.stderr and "conv1.weight" in done.stderr
    assert not (tmp_path / "x.wts").exists()


def test_build_without_weights_says_how_to_export_them(tmp_path):
    missing = tmp_path / "none.wts"
    done = _run("build.py", "--model", "mlp", "--weights", str(missing))
    assert done.returncode == 1
    assert f"examples/zoo/export_wts.py --model mlp --output {missing}" in done.stderr
