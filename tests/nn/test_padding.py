"""Padding modules (ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad in 1-3 D) against torch."""

from __future__ import annotations

import pytest
import torch

from netdef import nn

# (netdef class name = torch class name, constructor arguments, input shape)
CASES = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)),
    ("ConstantPad1d", ((3, 1), -2.5), (2, 3, 5)),
    ("ConstantPad2d", (2, 1.5), (2, 3, 4, 5)),
    ("ConstantPad3d", ((1, 0, 0, 2, 1, 1), 3.0), (1, 2, 3, 4, 5)),
    ("ReflectionPad1d", ((3, 1),), (2, 3, 5)),
    ("ReflectionPad2d", (2,), (2, 3, 4, 5)),
    ("ReflectionPad3d", ((1, 2, 0, 1, 2, 0),), (1, 2, 3, 4, 5)),
    ("ReplicationPad1d", ((4, 0),), (2, 3, 5)),
    ("ReplicationPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ReplicationPad3d", (2,), (1, 2, 3, 4, 5)),
    ("CircularPad1d", ((2, 3),), (2, 3, 5)),
    ("CircularPad2d", (1,), (2, 3, 4, 5)),
    ("CircularPad3d", ((1, 0, 2, 1, 0, 2),), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("name", "args", "shape"), CASES, ids=[c[0] for c in CASES])
def test_padding_module_matches_torch(parity, name, args, shape, precision):
    build = precision == "fp32" and name.endswith("2d")
    model, ref = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    parity.check(model, ref, torch.randn(shape), precision=precision, build=build)


def test_padding_inside_a_sequential(parity):
    model = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(3, 4, 3), nn.ZeroPad2d((0, 1, 0, 1)))
    ref = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(3, 4, 3), torch.nn.ZeroPad2d((0, 1, 0, 1)))
    parity.check(model, ref, torch.randn(1, 3, 6, 6), build=True)


def test_wrong_padding_length_is_refused():
    with pytest.raises(ValueError, match=r"ReflectionPad2d takes an int or 4 ints of padding, got \(1, 2\)"):
        nn.ReflectionPad2d((1, 2))


def test_extra_repr():
    assert repr(nn.ConstantPad2d(1, 2.0)) == "ConstantPad2d((1, 1, 1, 1), value=2.0)"
    assert repr(nn.ReflectionPad1d((2, 3))) == "ReflectionPad1d((2, 3))"
