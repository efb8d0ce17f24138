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

from netdef import testing
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


def _ultralytics_result(task: str, name: str, state: dict, batch: np.ndarray, box, nc: int) -> dict:
    """ultralytics' model of ``name`` holding ``state``, run in torch on ``batch``, then ultralytics' own
    post-processing (utils.nms / ops, as its predictors call them) on its outputs. ``tied``: the highest score
    that two anchors share exactly (the letterbox's gray padding makes equal predictions): ultralytics sorts with
    an unstable argsort, so which of them NMS keeps, and what that suppresses below, is arbitrary."""
    from ultralytics.utils import nms, ops

    twin = upstream.ultralytics_model(f"{name}.yaml", nc=nc)
    shapes = {k: v.shape for k, v in twin.state_dict().items()}  # .wts holds flat tensors
    twin.load_state_dict({k: torch.from_numpy(v).reshape(shapes[k]) for k, v in state.items()})
    with torch.no_grad():
        out = twin(torch.from_numpy(batch))
    if task == "classify":
        return {"top5": out[0].argsort(descending=True)[:5].numpy()}
    prediction, protos = out if task == "segment" else (out, None)
    best = prediction[0, 4 : 4 + nc].amax(0)
    values, counts = best.unique(return_counts=True)
    tied = float(values[counts > 1].max()) if (counts > 1).any() else -1.0
    (rows,) = nms.non_max_suppression(prediction, 0.0, 0.7, nc=0 if task == "detect" else nc, rotated=task == "obb")
    size, image = batch.shape[2:], box.shape
    result = {}
    if task == "segment":
        result["masks"] = ops.process_mask(protos[0], rows[:, 6:], rows[:, :4], size, upsample=True).numpy()
    if task == "pose":
        result["keypoints"] = ops.scale_coords(size, rows[:, 6:].reshape(len(rows), -1, 3), image).numpy()
    if task == "obb":
        rows[:, :4] = ops.scale_boxes(size, rows[:, :4], image, xywh=True)
        result["detections"] = rows.numpy()
    else:
        rows[:, :4] = ops.scale_boxes(size, rows[:, :4], image)
        result["detections"] = rows[:, :6].numpy()
    result["tied"] = tied
    return result


@pytest.fixture
def torchvision_nms_from_ultralytics(monkeypatch):
    """ultralytics' NMS calls torchvision.ops.nms, whose C++ op does not load beside this CPU torch: for this test
    only, ultralytics' own pure-torch TorchNMS.nms (which ultralytics matches to torchvision) stands in for it."""
    from ultralytics.utils import nms

    monkeypatch.setattr(upstream.torchvision().ops, "nms", nms.TorchNMS.nms)


@pytest.mark.parametrize("name", ["yolov8n", "yolo11n-seg", "yolov8n-pose", "yolo11n-obb", "yolov8n-cls"])
def test_detect_on_cpu_matches_ultralytics(example, tmp_path, torchvision_nms_from_ultralytics, name):
    """detect.py's result for each task equals ultralytics' model + post-processing on the same letterboxed image
    with the same random weights; the drawing changes the image."""
    common, detect = example
    from PIL import Image

    task = common.MODELS[name][2]
    # ultralytics' random initialization gives near-constant outputs (equal boxes and scores, whose NMS order is a
    # tie); random BatchNorm statistics make every anchor differ
    torch.manual_seed(1)
    twin = testing.randomize_batchnorm(upstream.ultralytics_model(f"{name}.yaml", 5))
    path = tmp_path / f"{name}.wts"
    common.netdef.save_wts({k: v.numpy() for k, v in twin.state_dict().items()}, path)
    out = tmp_path / "drawn.png"
    args = ["--model", name, "--weights", str(path), "--imgsz", "64", "--conf", "0.0", "--output", str(out)]
    got = detect.main(args)
    image = Image.open(common.default_image())
    batch, box = common.letterbox(image, (64, 64))
    assert batch.shape == (1, 3, 64, 64) and box.shape == (image.height, image.width)
    want = _ultralytics_result(task, name, common.netdef.weights.load_weights_file(path), batch, box, 5)
    if task == "classify":
        np.testing.assert_array_equal(got["top5"][0], want["top5"])
    else:
        # rows scoring above every tie are decided by nothing arbitrary (NMS goes down the scores): compare those
        g, w = (r["detections"][r["detections"][:, 4] > want["tied"]] for r in (got, want))
        assert g.shape == w.shape and len(g) > 0
        np.testing.assert_array_equal(g[:, 5], w[:, 5])
        np.testing.assert_allclose(g[:, :5], w[:, :5], rtol=1e-4, atol=1e-3 * image.width)
        if task == "obb":
            np.testing.assert_allclose(g[:, 6], w[:, 6], atol=1e-4)
        for key in ("masks", "keypoints"):
            if key in want:
                mine, theirs = got[key][: len(g)], want[key][: len(w)]
                assert mine.shape == theirs.shape
                if key == "masks":
                    agree = (mine == theirs).mean()
                    assert agree > 0.999, f"masks agree on {agree:.4%} of pixels"
                else:
                    np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-3 * image.width)
    drawn = Image.open(out)
    assert drawn.size == image.size
    assert np.any(np.asarray(drawn.convert("RGB")) != np.asarray(image.convert("RGB")))  # something was drawn


def test_letterbox_keeps_the_aspect_ratio_and_maps_boxes_back(example):
    common, _ = example
    from PIL import Image

    image = Image.new("RGB", (200, 100), (255, 0, 0))
    batch, box = common.letterbox(image, (64, 64))
    assert box.gain == pytest.approx(0.32) and box.pad == (0, 16)
    assert np.allclose(batch[0, :, 16:48, :], [[[1.0]], [[0.0]], [[0.0]]])  # the image, red
    assert np.allclose(batch[0, :, :16, :], 114 / 255) and np.allclose(batch[0, :, 48:, :], 114 / 255)
    # one anchor covering the whole letterboxed image maps back to the whole original image
    prediction = np.zeros((1, 4 + 2, 1), np.float32)
    prediction[0, :4, 0] = [32, 32, 64, 32]
    prediction[0, 5, 0] = 0.9
    result = common.postprocess("detect", [prediction], 0.5, 0.7, 10, box, 2)
    np.testing.assert_allclose(result["detections"], [[0, 0, 200, 100, 0.9, 1]], atol=1e-4)


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
