"""YOLOv8 / YOLO11 (netdef/zoo/yolo.py): ultralytics' names and sizes, and one network of dynamic batch and H x W
that matches ultralytics' own eval-mode output at several sizes.

The end-to-end fp32/fp16 parity and the real build of each zoo entry are in test_zoo.py (the twin there is
ultralytics' DetectionModel itself); module-by-module parity in test_zoo_layerwise.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef.zoo import upstream, yolo

#: parameter counts of ultralytics' model summaries (the ``scales`` comments of yolov8.yaml / yolo11.yaml)
PUBLISHED = {"yolov8n": 3_157_200, "yolov8s": 11_166_560, "yolo11n": 2_624_080}

#: a few upstream keys and shapes: the DFL integral, the v8 (legacy) and v11 (depth-wise) class heads, C2PSA
KEYS = {
    "yolov8n": {
        "model.2.m.0.cv1.conv.weight": (16, 16, 3, 3),
        "model.9.cv2.conv.weight": (256, 512, 1, 1),
        "model.22.cv3.0.0.conv.weight": (80, 64, 3, 3),
        "model.22.cv2.2.2.bias": (64,),
        "model.22.dfl.conv.weight": (1, 16, 1, 1),
    },
    "yolo11n": {
        "model.2.m.0.cv1.conv.weight": (8, 16, 3, 3),
        "model.6.m.0.m.1.cv2.conv.weight": (32, 32, 3, 3),
        "model.10.m.0.attn.qkv.conv.weight": (256, 128, 1, 1),
        "model.10.m.0.attn.pe.conv.weight": (128, 1, 3, 3),
        "model.23.cv3.0.0.0.conv.weight": (64, 1, 3, 3),
        "model.23.cv3.0.1.1.conv.weight": (80, 80, 1, 1),
        "model.23.dfl.conv.weight": (1, 16, 1, 1),
    },
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_sizes_are_ultralytics_published_ones(name):
    model = getattr(yolo, name)()
    assert sum(p.numel for _, p in model.named_parameters()) == PUBLISHED[name]
    shapes = {k: p.shape for k, p in model.state_dict().items()}
    for key, shape in KEYS.get(name, {}).items():
        assert shapes.get(key) == shape, f"{name}: {key} is {shapes.get(key)}, ultralytics has {shape}"


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match=r"no YOLO model yolo11q; known: .*yolo11n"):
        yolo.DetectionModel("yolo11", "q")


def test_dynamic_batch_and_size_match_ultralytics():
    """One network, inputs of (batch, H, W) at the profile's min, its max and odd sizes between."""
    reason = upstream.available("ultralytics")
    if reason:
        pytest.skip(reason)
    torch.manual_seed(0)
    twin = upstream.ultralytics_detection_model("yolo11n.yaml")
    model = yolo.yolo11n()
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()}, strict=True)
    spec = netdef.Input((-1, 3, -1, -1), min=(1, 3, 32, 32), opt=(1, 3, 64, 64), max=(2, 3, 96, 128))
    network = netdef.define(model, {"x": spec})
    assert tuple(network.network.get_output(0).shape) == (-1, 84, -1)
    for shape in ((1, 3, 32, 32), (2, 3, 96, 128), (1, 3, 64, 96), (2, 3, 96, 32)):
        x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            want = twin(torch.from_numpy(x)).numpy()
        got = netdef.reference.run(network, {"x": x})["output"]
        anchors = sum((shape[2] // s) * (shape[3] // s) for s in yolo.STRIDES)
        assert got.shape == want.shape == (shape[0], 84, anchors)
        for part, rows in (("boxes", slice(0, 4)), ("scores", slice(4, None))):  # each against its own scale
            err = np.abs(got[:, rows] - want[:, rows]).max() / np.abs(want[:, rows]).max()
            assert err < 1e-4, f"{shape} {part}: {err:.2g} of max|ultralytics|"
