"""`netdef build --quantize`: calibration from an .npz, the calibration cache, weight-only builds."""

from __future__ import annotations

import json

import numpy as np
import torch

import netdef
from netdef._trt import BACKEND
from netdef.cli import main
from netdef.zoo.twins.lenet import LeNet as TorchLeNet


def test_build_int8_with_calibration_data_and_cache(tmp_path, capsys):
    torch.manual_seed(0)
    weights = tmp_path / "lenet.wts"
    netdef.export_wts(TorchLeNet().eval(), weights)
    np.savez(tmp_path / "calib.npz", x=np.random.default_rng(0).random((32, 1, 32, 32), dtype=np.float32))
    base = ["build", "netdef.zoo.lenet:LeNet", "--weights", str(weights), "--input", "x=8x1x32x32"]
    cache = tmp_path / "lenet.calib"
    args = [*base, "--quantize", "int8", "--calib-data", str(tmp_path / "calib.npz"), "--calib-method", "max"]
    assert main([*args, "--calib-cache", str(cache), "-o", str(tmp_path / "a.engine")]) == 0
    amax = json.loads(cache.read_text())["amax"]
    assert set(amax) == {"conv1/conv:0", "conv2/conv:0", "fc1/matmul:0", "fc2/matmul:0", "fc3/matmul:0"}
    assert amax["conv1/conv:0"] <= 1.0  # the inputs are uniform in [0, 1)
    meta = json.loads((tmp_path / "a.engine.json").read_text())
    assert meta["quantization"]["dtype"] == "int8"
    if BACKEND == "tensorrt_rtx":  # RTX runs INT8 only weight-only: the build records that it said so
        assert "weight-only" in meta["warnings"][0]
        assert "weight-only GEMM" in capsys.readouterr().out

    # the cache alone is enough the second time
    reuse = [*base, "--quantize", "int8", "--calib-method", "max", "--calib-cache", str(cache)]
    assert main([*reuse, "-o", str(tmp_path / "b.engine")]) == 0
    assert main([*base, "--quantize", "int8", "--weights-only", "-o", str(tmp_path / "c.engine")]) == 0
    assert json.loads((tmp_path / "c.engine.json").read_text())["warnings"] == []


def test_quantize_without_calibration_is_a_clear_error(tmp_path, capsys):
    torch.manual_seed(0)
    weights = tmp_path / "lenet.wts"
    netdef.export_wts(TorchLeNet().eval(), weights)
    rc = main(
        ["build", "netdef.zoo.lenet:LeNet", "--weights", str(weights), "--quantize", "int8", "-o", str(tmp_path / "x")]
    )
    assert rc == 2 and "--calib-data" in capsys.readouterr().err


def test_a_calibration_cache_of_other_weights_is_refused_without_data(tmp_path, capsys):
    """`--calib-cache` alone, written for other weights: a clear error, not the other model's ranges."""
    np.savez(tmp_path / "calib.npz", x=np.random.default_rng(0).random((8, 1, 32, 32), dtype=np.float32))
    cache = tmp_path / "lenet.calib"
    for seed in (0, 1):
        torch.manual_seed(seed)
        netdef.export_wts(TorchLeNet().eval(), tmp_path / f"lenet{seed}.wts")
    base = ["build", "netdef.zoo.lenet:LeNet", "--input", "x=8x1x32x32", "--quantize", "int8", "--calib-method", "max"]
    first = [*base, "--weights", str(tmp_path / "lenet0.wts"), "--calib-data", str(tmp_path / "calib.npz")]
    assert main([*first, "--calib-cache", str(cache), "-o", str(tmp_path / "a.engine")]) == 0
    written = cache.read_text()
    capsys.readouterr()
    other = [*base, "--weights", str(tmp_path / "lenet1.wts"), "--calib-cache", str(cache)]
    assert main([*other, "-o", str(tmp_path / "b.engine")]) == 2
    err = capsys.readouterr().err
    assert "another network" in err and "pass calibration data to recalibrate" in err and "Traceback" not in err
    assert cache.read_text() == written and not (tmp_path / "b.engine").exists()
