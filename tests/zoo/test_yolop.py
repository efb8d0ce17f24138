"""YOLOP (netdef.zoo.yolop) beyond test_zoo.py's fixed size: one dynamic network against its torch twin at two
sizes and batches, the stride check, and the state_dict names of the repository's End-to-end.pth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import testing
from netdef.zoo import yolop, zoo


@pytest.fixture(scope="module")
def pair():
    return testing.twin_pair(zoo.get("yolop"))


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
        assert got[0].shape == (n, 3 * (h * w // 64 + h * w // 256 + h * w // 1024), 6)
        assert got[-2].shape == got[-1].shape == (n, 2, h, w)  # drivable area, lane lines at the input size
        for g, w_ in zip(got, want):
            testing.assert_close(g, w_, testing.Tolerance(scaled=1e-4), what=f"yolop at {shape}")


def test_stride_is_checked_when_the_input_is_declared(pair):
    _, model = pair
    with pytest.raises(netdef.EmitError, match=r"yolop needs the input height .* multiple of 32.*got height 72"):
        netdef.define(model, {"x": netdef.Input((1, 3, 72, 64))})


def test_state_dict_names_are_the_repositorys():
    """Names and shapes of End-to-end.pth, read off the repository's YOLOP table."""
    shapes = {k: tuple(v.shape) for k, v in yolop.yolop().state_dict().items()}
    expected = {
        "model.0.conv.conv.weight": (32, 12, 3, 3),
        "model.2.cv2.weight": (32, 64, 1, 1),
        "model.2.bn.running_mean": (64,),
        "model.4.m.2.cv2.conv.weight": (64, 64, 3, 3),
        "model.8.cv2.conv.weight": (512, 1024, 1, 1),
        "model.24.anchors": (3, 3, 2),
        "model.24.anchor_grid": (3, 1, 3, 1, 1, 2),
        "model.24.m.2.weight": (18, 512, 1, 1),
        "model.25.conv.weight": (128, 256, 3, 3),
        "model.33.conv.weight": (2, 8, 3, 3),
        "model.42.bn.running_var": (2,),
    }
    assert {k: shapes.get(k) for k in expected} == expected
