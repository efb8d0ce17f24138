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
PUBLISHED = {
    "yolov8n": 3_157_200,
    "yolov8s": 11_166_560,
    "yolo11n": 2_624_080,
    "yolo11n-seg": 2_876_848,
    # ultralytics' own summaries of yolov8n-cls.yaml / yolo11n-cls.yaml (1000 classes), yolov5nu and yolov6n
    "yolov8n-cls": 2_719_288,
    "yolo11n-cls": 2_812_104,
    "yolov5nu": 2_654_816,
    "yolov6n": 4_500_080,
}

#: a few upstream keys and shapes: the DFL integral, the v8 (legacy) and v11 (depth-wise) class heads, C2PSA
KEYS = {
    "yolov8n": {
        "model.2.m.0.cv1.conv.weight": (16, 16, 3, 3),
        "model.9.cv2.conv.weight": (256, 512, 1, 1),
        "model.22.cv3.0.0.conv.weight": (80, 64, 3, 3),
        "model.22.cv2.2.2.bias": (64,),
        "model.22.dfl.conv.weight": (1, 16, 1, 1),
    },
    "yolov6n": {"model.2.1.conv.weight": (32, 32, 3, 3), "model.11.weight": (64, 64, 2, 2)},
    "yolov5nu": {"model.0.conv.weight": (16, 3, 6, 6), "model.2.m.0.cv1.conv.weight": (16, 16, 1, 1)},
    "yolov8n-seg": {"model.22.proto.upsample.weight": (64, 64, 2, 2), "model.22.cv4.2.2.weight": (32, 16, 1, 1)},
    "yolov8n-pose": {"model.22.cv4.0.2.weight": (51, 51, 1, 1), "model.22.cv3.0.2.bias": (1,)},
    "yolo11n-obb": {"model.23.cv4.1.2.weight": (1, 16, 1, 1), "model.23.cv3.0.2.bias": (15,)},
    "yolo11n-cls": {"model.9.m.0.attn.qkv.conv.weight": (256, 128, 1, 1), "model.10.linear.weight": (1000, 1280)},
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
    model = yolo.yolo(name)
    assert sum(p.numel for _, p in model.named_parameters()) == PUBLISHED[name]
    shapes = {k: p.shape for k, p in model.state_dict().items()}
    for key, shape in KEYS.get(name, {}).items():
        assert shapes.get(key) == shape, f"{name}: {key} is {shapes.get(key)}, ultralytics has {shape}"


def test_unknown_scale_task_and_name_are_refused():
    with pytest.raises(ValueError, match=r"no YOLO model yolo11q; known: .*yolo11n"):
        yolo.DetectionModel("yolo11", "q")
    with pytest.raises(ValueError, match=r"no YOLO task 'seg' for yolo11; known: detect, segment, pose, obb, classify"):
        yolo.DetectionModel("yolo11", "n", task="seg")
    with pytest.raises(ValueError, match=r"no YOLO task 'segment' for yolov6; known: detect"):
        yolo.DetectionModel("yolov6", "n", task="segment")
    with pytest.raises(ValueError, match=r"no YOLO model 'yolo11n-segment'; known: .*yolo11n-seg"):
        yolo.yolo("yolo11n-segment")


def test_every_scale_and_task_is_named_as_ultralytics_checkpoints():
    assert {"yolov8x-seg", "yolo11s-pose", "yolo11m-obb", "yolov8l-cls", "yolo11x"} <= set(yolo.MODELS)
    assert yolo.yolo11s_pose().name == "yolo11s-pose" and yolo.yolo11s_pose().task == "pose"
    assert {"yolov5nu", "yolov5xu", "yolov6n", "yolov6l"} <= set(yolo.MODELS)
    assert len(yolo.MODELS) == 2 * 5 * 5 + 2 * 5  # v8 and 11: five tasks; v5u and v6: detection


def _bound(model):
    """``model`` with random weights bound (BatchNorm variances 1)."""
    rng = np.random.default_rng(0)
    model.load_weights(
        {
            k: (np.ones(p.shape) if k.endswith("running_var") else rng.standard_normal(p.shape) * 0.1).astype(
                np.float32
            )
            for k, p in model.state_dict().items()
        },
        strict=True,
    )
    return model


@pytest.mark.parametrize("name", ["yolov8n", "yolo11n-seg"])
def test_stride_is_checked_when_the_input_is_declared(name):
    """A height or width that is no multiple of 32 is refused by define(), naming the dim and the multiple;
    between a dynamic input's min and max, the interpreter stops at the assertion, not inside a concat."""
    model = _bound(yolo.yolo(name))
    with pytest.raises(
        netdef.EmitError,
        match=rf"{name} needs the input height \(x.shape\[2\]\) to be a multiple "
        r"of 32 .*got height 100: declare the Input with multiples of 32 \(100 -> 96\)",
    ):
        netdef.define(model, {"x": netdef.Input((1, 3, 100, 96))})
    spec = netdef.Input((1, 3, -1, -1), min=(1, 3, 32, 48), max=(1, 3, 128, 128))
    with pytest.raises(netdef.EmitError, match=r"input width .* multiple of 32 .*min/max width 48/128.*48 -> 64"):
        netdef.define(model, {"x": spec})
    network = netdef.define(model, {"x": netdef.Input((1, 3, -1, -1), min=(1, 3, 32, 32), max=(1, 3, 128, 128))})
    with pytest.raises(netdef.InterpreterError, match=rf"{name} needs the input width .* multiple of 32"):
        netdef.reference.run(network, {"x": np.zeros((1, 3, 64, 80), np.float32)})


def test_yolov5_stride_is_checked_when_the_input_is_declared():
    from netdef.zoo import yolov5

    with pytest.raises(netdef.EmitError, match=r"yolov5 needs the input width .* multiple of 32.*got width 70"):
        netdef.define(_bound(yolov5.yolov5n()), {"x": netdef.Input((1, 3, 64, 70))})


def test_the_classifier_takes_any_size():
    network = netdef.define(_bound(yolo.yolo("yolov8n-cls")), {"x": netdef.Input((1, 3, 50, 70))})
    assert tuple(network.network.get_output(0).shape) == (1, 1000)


#: each output's parts (rows of the anchor axis), compared each against its own scale
PARTS = {
    "detect": lambda nc: (("boxes", 0, 4), ("scores", 4, 4 + nc)),
    "segment": lambda nc: (("boxes", 0, 4), ("scores", 4, 4 + nc), ("coefficients", 4 + nc, None)),
    "pose": lambda nc: (("boxes", 0, 4), ("scores", 4, 4 + nc), ("keypoints", 4 + nc, None)),
    "obb": lambda nc: (("boxes", 0, 4), ("scores", 4, 4 + nc), ("angle", 4 + nc, None)),
    "classify": lambda nc: (("probabilities", 0, None),),
}


@pytest.mark.parametrize(
    "name", [*(f"{f}n-{t}" for f in ("yolov8", "yolo11") for t in ("seg", "pose", "obb", "cls")), "yolov5nu", "yolov6n"]
)
def test_every_task_matches_ultralytics_at_two_sizes_of_one_network(name):
    """One network of dynamic batch, H and W; at two sizes, every output equals ultralytics' eval output (same
    tensors, order and shapes), each part within 1e-4 of its own largest magnitude."""
    reason = upstream.available("ultralytics")
    if reason:
        pytest.skip(reason)
    from netdef.zoo.twins import yolo as twins

    torch.manual_seed(0)
    twin = twins.yolo(name)
    model = yolo.yolo(name)
    model.load_weights({k: v.numpy() for k, v in twin.state_dict().items()}, strict=True)
    spec = netdef.Input((-1, 3, -1, -1), min=(1, 3, 64, 64), opt=(1, 3, 64, 96), max=(2, 3, 128, 128))
    network = netdef.define(model, {"x": spec})
    for shape in ((1, 3, 64, 96), (2, 3, 128, 64)):
        x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            want = twin(torch.from_numpy(x))
        want = [w.numpy() for w in (want if isinstance(want, tuple) else (want,))]
        got = list(netdef.reference.run(network, {"x": x}).values())
        assert [g.shape for g in got] == [w.shape for w in want], name
        for i, (g, w) in enumerate(zip(got, want)):
            parts = PARTS[model.task](model.nc) if i == 0 else (("prototypes", 0, None),)
            for part, start, stop in parts:
                ref = w[:, start:stop]
                err = np.abs(g[:, start:stop] - ref).max() / np.abs(ref).max()
                assert err < 1e-4, f"{name} {shape} {part}: {err:.2g} of max|ultralytics|"


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
