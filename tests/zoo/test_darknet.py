"""YOLOv4-CSP (netdef.zoo.darknet) beyond test_zoo.py's fixed size: one dynamic network against its torch twin at
two sizes and batches, the stride check, and the released model's state_dict names and parameter count."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import netdef
from netdef import testing
from netdef.zoo import darknet, zoo


@pytest.fixture(scope="module")
def pair():
    return testing.twin_pair(zoo.get("yolov4-csp"))


def test_one_dynamic_network_matches_the_twin_at_two_sizes(pair):
    twin, model = pair
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
            testing.assert_close(g, w_, testing.Tolerance(scaled=1e-4), what=f"yolov4-csp at {shape}")


def test_stride_is_checked_when_the_input_is_declared(pair):
    _, model = pair
    with pytest.raises(netdef.EmitError, match=r"yolov4-csp needs the input width .* multiple of 32.*got width 100"):
        netdef.define(model, {"x": netdef.Input((1, 3, 64, 100))})


def test_state_dict_names_are_the_repositorys():
    """Names and shapes of the released yolov4-csp (models/yolov4-csp.cfg, 80 classes): 52.9M parameters."""
    shapes = {k: tuple(v.shape) for k, v in darknet.yolov4_csp().state_dict().items()}
    expected = {
        "module_list.0.Conv2d.weight": (32, 3, 3, 3),
        "module_list.0.BatchNorm2d.running_var": (32,),
        "module_list.16.Conv2d.weight": None,  # a route: no weights
        "module_list.17.Conv2d.weight": (128, 128, 1, 1),
        "module_list.98.Conv2d.weight": (1024, 1024, 1, 1),
        "module_list.110.Conv2d.weight": (512, 2048, 1, 1),
        "module_list.143.Conv2d.weight": (255, 256, 1, 1),
        "module_list.143.Conv2d.bias": (255,),
        "module_list.143.BatchNorm2d.weight": None,  # detection convs have a bias, no BatchNorm
        "module_list.173.Conv2d.weight": (255, 1024, 1, 1),
    }
    assert {k: shapes.get(k) for k in expected} == expected
    params = sum(math.prod(s) for k, s in shapes.items() if not k.endswith(("running_mean", "running_var", "tracked")))
    assert round(params / 1e5) == 529
