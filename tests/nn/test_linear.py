"""nn.Linear and nn.Identity against torch: 1-D to 4-D inputs, bias on and off."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import nn

SHAPES = {"1d": (7,), "2d": (4, 7), "3d": (2, 5, 7), "4d": (2, 3, 2, 7)}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("rank", list(SHAPES))
def test_linear_matches_torch(parity, rank, bias, precision):
    ref = torch.nn.Linear(7, 5, bias=bias)
    build = precision == "fp32" or rank == "3d"
    parity.check(nn.Linear(7, 5, bias=bias), ref, torch.randn(SHAPES[rank]), precision=precision, build=build)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_mlp_matches_torch(parity, precision):
    ref = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3, bias=False))
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3, bias=False))
    parity.check(model, ref, torch.randn(8, 16), precision=precision, build=True)


def test_functional_linear(parity):
    w, b = torch.randn(3, 6), torch.randn(3)
    fn = parity.Fn(lambda x: netdef.F.linear(x, w.numpy(), b.numpy()))
    parity.check(fn, lambda x: torch.nn.functional.linear(x, w, b), torch.randn(2, 4, 6))


def test_functional_linear_rejects_a_wrong_bias():
    w = np.ones((3, 6), np.float32)

    class Model(nn.Module):
        def forward(self, x):
            return netdef.F.linear(x, w, np.ones(4, np.float32))

    with pytest.raises(netdef.EmitError, match=r"bias must have shape \(3,\)"):
        netdef.define(Model(), {"x": netdef.Input((2, 6))})


def test_identity_emits_nothing(parity):
    net = parity.check(nn.Identity(54, unused="x"), torch.nn.Identity(54, unused="x"), torch.randn(2, 3))
    # the only layer is the identity that lets an input also be the output
    assert [r["type"] for r in net.layers()] == ["IDENTITY"]


def test_state_dict_matches_torch():
    for bias in (True, False):
        ref = torch.nn.Linear(7, 5, bias=bias)
        model = nn.Linear(7, 5, bias=bias)
        assert {k: p.shape for k, p in model.state_dict().items()} == {
            k: tuple(v.shape) for k, v in ref.state_dict().items()
        }
