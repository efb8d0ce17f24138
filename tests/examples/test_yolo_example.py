"""examples/yolo: export (ultralytics' random-init model), detect on CPU through the reference interpreter, build.

detect.py's detections are checked against ultralytics' own model run in torch on the same letterboxed image,
through the same post-processing; the NMS itself is checked in tests/reference/test_nms.py.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from netdef.zoo import upstream

ROOT = Path(__file__).resolve().parents[2]
YOLO = ROOT / "examples" / "yolo"

pytestmark = pytest.mark.skipif(upstream.available("ultralytics") is not None, reason="needs ultralytics (zoo-oracles)")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(YOLO / script), *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )


@pytest.fixture(scope="module")
def example():
    """The example's modules (they import each other as top-level ``common``)."""
    sys.path.insert(0, str(YOLO))
    try:
        yield importlib.import_module("common"), importlib.import_module("detect")
    finally:
        sys.path.remove(str(YOLO))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("yolo") / "yolov8n.wts"
    done = _run("export_wts.py", "--model", "yolov8n", "--nc", "5", "--seed", "1", "--output", str(path))
    assert done.returncode == 0, done.stderr
    assert "wrote 355 tensors of yolov8n (5 classes)" in done.stdout
    return path


def test_detect_on_cpu_matches_ultralytics(example, weights, tmp_path):
    common, detect = example
    from PIL import Image

    out = tmp_path / "boxes.png"
    args = ["--model", "yolov8n", "--weights", str(weights), "--imgsz", "64", "--conf", "0.0", "--output", str(out)]
    got = detect.main(args)
    assert got.shape[1] == 6 and len(got) > 0
    # the same image through ultralytics' model holding the same weights, and the same post-processing
    image = Image.open(common.default_image())
    batch, box = common.letterbox(image, (64, 64))
    assert batch.shape == (1, 3, 64, 64) and box.shape == (image.height, image.width)
    twin = upstream.ultralytics_detection_model("yolov8n.yaml", nc=5)
    shapes = {k: v.shape for k, v in twin.state_dict().items()}  # .wts holds flat tensors
    state = common.netdef.weights.load_weights_file(weights)
    twin.load_state_dict({k: torch.from_numpy(v).reshape(shapes[k]) for k, v in state.items()})
    with torch.no_grad():
        prediction = twin(torch.from_numpy(batch)).numpy()
    want = common.postprocess(prediction[0], 0.0, 0.7, 300, box)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got[:, 5], want[:, 5])
    np.testing.assert_allclose(got[:, :5], want[:, :5], rtol=1e-4, atol=1e-3 * image.width)
    drawn = Image.open(out)
    assert drawn.size == image.size
    assert np.any(np.asarray(drawn.convert("RGB")) != np.asarray(image.convert("RGB")))  # boxes were drawn


def test_letterbox_keeps_the_aspect_ratio_and_maps_boxes_back(example):
    common, _ = example
    from PIL import Image

    image = Image.new("RGB", (200, 100), (255, 0, 0))
    batch, box = common.letterbox(image, (64, 64))
    assert box.gain == pytest.approx(0.32) and box.pad == (0, 16)
    assert np.allclose(batch[0, :, 16:48, :], [[[1.0]], [[0.0]], [[0.0]]])  # the image, red
    assert np.allclose(batch[0, :, :16, :], 114 / 255) and np.allclose(batch[0, :, 48:, :], 114 / 255)
    # one anchor covering the whole letterboxed image maps back to the whole original image
    prediction = np.zeros((4 + 2, 1), np.float32)
    prediction[:4, 0] = [32, 32, 64, 32]
    prediction[5, 0] = 0.9
    np.testing.assert_allclose(common.postprocess(prediction, 0.5, 0.7, 10, box), [[0, 0, 200, 100, 0.9, 1]], atol=1e-4)


def test_build_and_nms_build(weights, tmp_path):
    from netdef.build import backend_builds

    engine = tmp_path / "yolov8n.engine"
    done = _run("build.py", "--model", "yolov8n", "--weights", str(weights), "--imgsz", "64", "--output", str(engine))
    assert done.returncode == 0, done.stdout + done.stderr
    assert engine.is_file() and "5 classes" in done.stdout and "H and W 32..64" in done.stdout
    done = _run("build.py", "--model", "yolov8n", "--weights", str(weights), "--imgsz", "64", "--nms",
                "--output", str(tmp_path / "nms.engine"))  # fmt: skip
    if backend_builds("NMS"):
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 1 and "has no runner for NMS" in done.stderr and "netdef.detection.nms" in done.stderr
