"""YOLOv4 and YOLOv4-CSP (netdef.zoo.darknet) beyond test_zoo.py's fixed size: one dynamic network against its
torch twin at two sizes and batches, the stride check, and the released models' state_dict names and parameter
counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import netdef
from netdef import testing
from netdef.zoo import darknet, zoo

NAMES = ("yolov4", "yolov4-csp")


@pytest.mark.parametrize("name", NAMES)
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
    with pytest.raises(netdef.EmitError, match=rf"{name} needs the input width .* multiple of 32.*got width 100"):
        netdef.define(model, {"x": netdef.Input((1, 3, 64, 100))})


# (factory, parameter count of the released model, {state_dict key: shape or None when absent})
RELEASED = {
    "yolov4": (
        darknet.yolov4,
        64_363_101,
        {
            "module_list.0.Conv2d.weight": (32, 3, 3, 3),
            "module_list.4.Conv2d.weight": (64, 64, 1, 1),  # the first stage keeps full width
            "module_list.5.Conv2d.weight": (32, 64, 1, 1),
            "module_list.104.Conv2d.weight": (1024, 1024, 1, 1),
            "module_list.113.Conv2d.weight": None,  # the SPP's route
            "module_list.114.Conv2d.weight": (512, 2048, 1, 1),
            "module_list.138.Conv2d.bias": (255,),
            "module_list.138.BatchNorm2d.weight": None,  # detection convs have a bias, no BatchNorm
            "module_list.160.Conv2d.weight": (255, 1024, 1, 1),
        },
    ),
    "yolov4-csp": (
        darknet.yolov4_csp,
        52_921_437,
        {
            "module_list.0.Conv2d.weight": (32, 3, 3, 3),
            "module_list.0.BatchNorm2d.running_var": (32,),
            "module_list.16.Conv2d.weight": None,  # a route: no weights
            "module_list.17.Conv2d.weight": (128, 128, 1, 1),
            "module_list.98.Conv2d.weight": (1024, 1024, 1, 1),
            "module_list.110.Conv2d.weight": (512, 2048, 1, 1),
            "module_list.143.Conv2d.weight": (255, 256, 1, 1),
            "module_list.143.Conv2d.bias": (255,),
            "module_list.173.Conv2d.weight": (255, 1024, 1, 1),
        },
    ),
}


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_names_are_the_repositorys(name):
    """Names, shapes and parameter count of the released model (the cfg at 80 classes, written down from it)."""
    factory, count, expected = RELEASED[name]
    shapes = {k: tuple(v.shape) for k, v in factory().state_dict().items()}
    assert {k: shapes.get(k) for k in expected} == expected
    params = sum(math.prod(s) for k, s in shapes.items() if not k.endswith(("running_mean", "running_var", "tracked")))
    assert params == count
