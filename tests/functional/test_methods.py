"""clone, detach, T/mT and the new_* factories against torch."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef.testing import Fn, assert_close, define_like, run

METHODS = {
    "clone": lambda x: x.clone() + 1,
    "detach": lambda x: x.detach() * 2,
    "clone-output": lambda x: (x * 2).clone(),
    "T-2d": lambda x: x[0].T,
    "T-3d": lambda x: x.T,
    "T-1d": lambda x: x[0, 0].T + 1,
    "mT": lambda x: x.mT,
    "new_zeros": lambda x: x.new_zeros(2, 3) + x[0, :2, :3],
    "new_zeros-tuple": lambda x: x.new_zeros((2, 3), dtype=torch.int64),
    "new_ones": lambda x: x.new_ones((4,)) * x[0, 0],
    "new_full": lambda x: x.new_full((2, 1), 2.5) * x[0, :2],
    "new_full-int": lambda x: x.long().new_full((2,), 7),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_methods_follow_torch(name):
    x = torch.randn(2, 3, 4)
    want = METHODS[name](x)
    got = run(define_like(Fn(METHODS[name]), x), x)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    assert_close(got, want)


def test_new_empty_has_the_shape_and_dtype():
    x = torch.randn(2, 3)
    got = run(define_like(Fn(lambda x: x.new_empty(3, 2)), x), x)
    assert got.shape == (3, 2) and got.dtype == "float32"


def test_transposes_with_a_dynamic_shape():
    network = netdef.define(
        Fn(lambda x: x.T.clone() + x.mT.detach().mT.T + x.new_zeros(x.shape[1], x.shape[0]) + x.new_ones(x.T.shape)),
        {"x": netdef.Input((-1, 3), min=(1, 3), opt=(2, 3), max=(8, 3))},
    )
    for n in (2, 5):
        x = torch.randn(n, 3)
        assert_close(netdef.reference.run(network, {"x": x.numpy()})["output"], 2 * x.T + 1)


def test_is_floating_point():
    seen = {}

    def grab(x):
        seen["float"], seen["int"] = x.is_floating_point(), x.long().is_floating_point()
        return x

    netdef.define(Fn(grab), {"x": netdef.Input((2,))})
    assert seen == {"float": True, "int": False}


def test_mT_needs_a_matrix():
    with pytest.raises(netdef.EmitError, match=r"mT.*expects a tensor of rank >= 2, got shape \(2,\)"):
        netdef.define(Fn(lambda x: x.mT), {"x": netdef.Input((2,))})
