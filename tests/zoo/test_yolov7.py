"""YOLOv7 and yolov7-tiny (netdef.zoo.yolov7) beyond test_zoo.py's fixed size: one dynamic network against its
torch twin at two sizes and batches, the stride check, and the state_dict names of the repository's checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import testing
from netdef.zoo import yolov7, zoo


@pytest.fixture(scope="module")
def pair():
    return testing.twin_pair(zoo.get("yolov7-tiny"))


@pytest.mark.parametrize("name", ["yolov7-tiny", "yolov7"])
def test_one_dynamic_network_matches_the_twin_at_two_sizes(name):
    twin, model = testing.twin_pair(zoo.get(name))
    spec = netdef.Input((-1, 3, -1, -1), min=(1, 3, 32, 32), opt=(1, 3, 64, 64), max=(2, 3, 64, 64))
    network = netdef.define(model, {"x": spec})
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 32, 64), (2, 3, 64, 32)]:
        x = rng.standard_normal(shape).astype(np.float32)
        got = list(netdef.reference.run(network, {"x": x}).values())
        with torch.no_grad():
            want = [w.numpy() for w in twin(torch.from_numpy(x))]
        n, _, h, w = shape
        assert [g.shape for g in got] == [w_.shape for w_ in want]
        assert got[0].shape == (n, 3 * (h * w // 64 + h * w // 256 + h * w // 1024), 85)
        for g, w_ in zip(got, want):
            testing.assert_close(g, w_, testing.Tolerance(scaled=1e-4), what=f"{name} at {shape}")


def test_stride_is_checked_when_the_input_is_declared(pair):
    _, model = pair
    with pytest.raises(netdef.EmitError, match=r"yolov7-tiny needs the input width .* multiple of 32.*got width 70"):
        netdef.define(model, {"x": netdef.Input((1, 3, 64, 70))})
    with pytest.raises(netdef.EmitError, match=r"input height .* multiple of 32 .*min/max height 48/128.*48 -> 64"):
        netdef.define(model, {"x": netdef.Input((1, 3, -1, 64), min=(1, 3, 48, 64), max=(1, 3, 128, 64))})
    network = netdef.define(model, {"x": netdef.Input((1, 3, -1, 64), min=(1, 3, 32, 64), max=(1, 3, 128, 64))})
    with pytest.raises(netdef.InterpreterError, match=r"yolov7-tiny needs the input height .* multiple of 32"):
        netdef.reference.run(network, {"x": np.zeros((1, 3, 80, 64), np.float32)})


def test_state_dict_names_are_the_repositorys():
    """Names and shapes of yolov7-tiny.pt (cfg/deploy/yolov7-tiny.yaml, 80 classes), read off the yaml."""
    shapes = {k: tuple(v.shape) for k, v in yolov7.yolov7_tiny().state_dict().items()}
    expected = {
        "model.0.conv.weight": (32, 3, 3, 3),
        "model.0.bn.running_var": (32,),
        "model.7.conv.weight": (64, 128, 1, 1),
        "model.35.conv.weight": (256, 1024, 1, 1),
        "model.37.conv.weight": (256, 512, 1, 1),
        "model.58.conv.weight": (128, 64, 3, 3),
        "model.76.conv.weight": (512, 256, 3, 3),
        "model.77.anchors": (3, 3, 2),
        "model.77.anchor_grid": (3, 1, 3, 1, 1, 2),
        "model.77.m.0.weight": (255, 128, 1, 1),
        "model.77.m.2.bias": (255,),
    }
    assert {k: shapes.get(k) for k in expected} == expected
    assert not any(k.startswith(("model.8.", "model.31.", "model.39.")) for k in shapes)  # MP, SP, Upsample


def test_yolov7_state_dict_names_are_the_repositorys():
    """Names and shapes of yolov7.pt (cfg/deploy/yolov7.yaml, 80 classes; RepConv unfused, as released)."""
    shapes = {k: tuple(v.shape) for k, v in yolov7.yolov7().state_dict().items()}
    expected = {
        "model.0.conv.weight": (32, 3, 3, 3),
        "model.11.conv.weight": (256, 256, 1, 1),
        "model.50.conv.weight": (1024, 1024, 1, 1),
        "model.51.cv1.conv.weight": (512, 1024, 1, 1),
        "model.51.cv5.conv.weight": (512, 2048, 1, 1),
        "model.51.cv7.conv.weight": (512, 1024, 1, 1),
        "model.63.conv.weight": (256, 1024, 1, 1),
        "model.102.rbr_dense.0.weight": (256, 128, 3, 3),
        "model.102.rbr_dense.1.running_var": (256,),
        "model.102.rbr_1x1.0.weight": (256, 128, 1, 1),
        "model.102.rbr_identity.weight": None,  # widths differ: no identity branch
        "model.104.rbr_1x1.0.weight": (1024, 512, 1, 1),
        "model.105.anchor_grid": (3, 1, 3, 1, 1, 2),
        "model.105.m.2.weight": (255, 1024, 1, 1),
    }
    assert {k: shapes.get(k) for k in expected} == expected
    assert not any(".rbr_reparam." in k for k in shapes)
