"""Property tests: every op that takes sizes, given symbolic sizes, matches torch at random run-time shapes.

Each case is defined ONCE with dynamic dims; hypothesis then draws shapes inside the Input's profile and
compares the reference interpreter's output with torch's. No engine builds in the loop (test_symbolic.py
builds a dynamic network for real).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdef
from netdef import F, nn

TF = torch.nn.functional

#: name -> (netdef fn, torch fn, Input shape, min, max, dims that must be even)
CASES = {
    "view-several-dynamic-dims": (
        lambda x: x.view(x.shape[0], x.shape[1], 2, -1).reshape(x.shape[0] * x.shape[1], -1),
        lambda x: x.view(x.shape[0], x.shape[1], 2, -1).reshape(x.shape[0] * x.shape[1], -1),
        (-1, -1, 6), (1, 1, 6), (4, 7, 6), (),
    ),
    "view-batch-minus-one": (
        lambda x: x.view(x.size(0), -1), lambda x: x.view(x.size(0), -1), (-1, 3, -1), (1, 3, 1), (5, 3, 6), (),
    ),
    "flatten-dynamic-dims": (
        lambda x: x.flatten(0, 1) * 2, lambda x: x.flatten(0, 1) * 2, (-1, -1, 3), (1, 1, 3), (4, 6, 3), (),
    ),
    "flatten-before-a-dynamic-dim": (
        lambda x: x.flatten(0, 1) + 1, lambda x: x.flatten(0, 1) + 1, (-1, 3, -1), (1, 3, 1), (4, 3, 5), (),
    ),
    "expand-to-symbolic": (
        lambda x: x[:, :1].expand(x.shape[0], 3, x.shape[2]) + 1,
        lambda x: x[:, :1].expand(x.shape[0], 3, x.shape[2]) + 1,
        (-1, 2, -1), (1, 2, 1), (4, 2, 5), (),
    ),
    "expand-new-dim": (
        lambda x: x.expand(x.shape[1], -1, -1), lambda x: x.expand(x.shape[1], -1, -1),
        (-1, -1), (1, 1), (4, 5), (),
    ),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), (-1, -1), (1, 1), (3, 4), ()),
    "repeat-symbolic": (
        lambda x: x[:1].repeat(x.shape[0], 2), lambda x: x[:1].repeat(x.shape[0], 2), (-1, 3), (1, 3), (4, 3), (),
    ),
    "slice-symbolic-bounds": (
        lambda x: x[:, x.shape[1] // 3 : x.shape[1] - 1, : x.shape[2] // 2 + 1],
        lambda x: x[:, x.shape[1] // 3 : x.shape[1] - 1, : x.shape[2] // 2 + 1],
        (2, -1, -1), (2, 1, 1), (2, 9, 6), (),
    ),
    "slice-negative-symbolic": (
        lambda x: x[:, -(x.shape[1] // 2) :], lambda x: x[:, -(x.shape[1] // 2) :], (2, -1), (2, 1), (2, 9), (),
    ),
    "slice-bound-of-either-sign": (  # T - 4 is negative for T < 4: counted from the end, as torch does
        lambda x: x[:, x.shape[1] - 4 :] * 2 + x[:, : x.shape[1] - 4].sum(),
        lambda x: x[:, x.shape[1] - 4 :] * 2 + x[:, : x.shape[1] - 4].sum(),
        (2, -1), (2, 1), (2, 9), (),
    ),
    "slice-step": (
        lambda x: x[:, 1 : x.shape[1] : 2], lambda x: x[:, 1 : x.shape[1] : 2], (2, -1), (2, 1), (2, 9), (),
    ),
    "index-symbolic": (lambda x: x[:, x.shape[1] - 1], lambda x: x[:, x.shape[1] - 1], (2, -1, 3), (2, 1, 3), (2, 8, 3), ()),
    "narrow": (
        lambda x: x.narrow(1, x.shape[1] // 3, x.shape[1] // 2),
        lambda x: x.narrow(1, x.shape[1] // 3, x.shape[1] // 2),
        (2, -1), (2, 1), (2, 9), (),
    ),
    "narrow-negative-start": (
        lambda x: F.narrow(x, 0, -2, 2), lambda x: torch.narrow(x, 0, -2, 2), (-1, 3), (2, 3), (6, 3), (),
    ),
    "select": (
        lambda x: x.select(0, x.shape[0] // 2), lambda x: x.select(0, x.shape[0] // 2), (-1, 3), (1, 3), (6, 3), (),
    ),
    "split-symbolic-sections": (
        lambda x: F.cat(x.split([x.shape[1] // 2, x.shape[1] - x.shape[1] // 2], 1)[::-1], 1),
        lambda x: torch.cat(x.split([x.shape[1] // 2, x.shape[1] - x.shape[1] // 2], 1)[::-1], 1),
        (2, -1), (2, 1), (2, 9), (),
    ),
    "chunk-dynamic-dim": (
        lambda x: F.cat(x.chunk(2, 1)[::-1], 1), lambda x: torch.cat(x.chunk(2, 1)[::-1], 1),
        (2, -1), (2, 2), (2, 10), (1,),
    ),
    "interpolate-size": (
        lambda x: F.interpolate(x, size=(x.shape[2] * 2, x.shape[3] + 1), mode="bilinear"),
        lambda x: TF.interpolate(x, size=(x.shape[2] * 2, x.shape[3] + 1), mode="bilinear"),
        (1, 2, -1, -1), (1, 2, 1, 1), (1, 2, 5, 6), (),
    ),
    "interpolate-nearest-shape": (
        lambda x: F.interpolate(x[:, :, ::2], size=x.shape[2:]),
        lambda x: TF.interpolate(x[:, :, ::2], size=x.shape[2:]),
        (1, 1, -1, -1), (1, 1, 1, 1), (1, 1, 7, 5), (),
    ),
    "pad-symbolic": (
        lambda x: F.pad(x, (x.shape[1] // 2, 1)), lambda x: TF.pad(x, (x.shape[1] // 2, 1)), (2, -1), (2, 1), (2, 7), (),
    ),
    "arange": (
        lambda x: x + F.arange(x.shape[1]).to("float32"),
        lambda x: x + torch.arange(x.shape[1]).float(),
        (2, -1), (2, 1), (2, 9), (),
    ),
    "arange-start-step": (
        lambda x: F.arange(1, x.shape[0] * 2, 3), lambda x: torch.arange(1, x.shape[0] * 2, 3), (-1,), (1,), (9,), (),
    ),
    "arange-negative-step": (
        lambda x: F.arange(x.shape[0], 0, -2), lambda x: torch.arange(x.shape[0], 0, -2), (-1,), (1,), (9,), (),
    ),
    "int-fill": (
        lambda x: F.full((x.shape[0], 2), 7) + F.zeros(x.shape[0], 1, dtype="int64"),
        lambda x: torch.full((x.shape[0], 2), 7) + torch.zeros(x.shape[0], 1, dtype=torch.int64),
        (-1,), (1,), (5,), (),
    ),
    "zeros-ones-full": (
        lambda x: x + F.zeros(x.shape[0], 1) + F.ones((1, x.shape[1])) * F.full((x.shape[0], x.shape[1]), 2.5),
        lambda x: x + torch.zeros(x.shape[0], 1) + torch.ones((1, x.shape[1])) * torch.full((x.shape[0], x.shape[1]), 2.5),
        (-1, -1), (1, 1), (4, 5), (),
    ),
    "like": (
        lambda x: F.zeros_like(x) + F.ones_like(x) + F.full_like(x, 3.0),
        lambda x: torch.zeros_like(x) + torch.ones_like(x) + torch.full_like(x, 3.0),
        (-1, 3), (1, 3), (5, 3), (),
    ),
}  # fmt: skip


class _Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@functools.cache
def _network(name: str) -> netdef.Network:
    fn, _, shape, lo, hi, _ = CASES[name]
    return netdef.define(_Fn(fn), {"x": netdef.Input(shape, min=lo, max=hi)})


def _shapes(name: str):
    _, _, shape, lo, hi, even = CASES[name]
    dims = []
    for i, (d, a, b) in enumerate(zip(shape, lo, hi)):
        if d >= 0:
            dims.append(st.just(d))
        elif i in even:
            dims.append(st.integers(-(-a // 2), b // 2).map(lambda v: 2 * v))
        else:
            dims.append(st.integers(a, b))
    return st.tuples(*dims)


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_torch_at_random_sizes(name, data):
    torch_fn = CASES[name][1]
    size = data.draw(_shapes(name), label="shape")
    x = torch.randn(size)
    got = netdef.reference.run(_network(name), {"x": x.numpy()})["output"]
    want = torch_fn(x)
    assert got.shape == tuple(want.shape), f"{name} at {size}"
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5, err_msg=f"{name} at {size}")


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_at_the_profile_bounds(name):
    _, torch_fn, _, lo, hi, even = CASES[name]
    for size in (lo, hi):
        size = tuple(d + d % 2 if i in even else d for i, d in enumerate(size))
        x = torch.randn(size)
        got = netdef.reference.run(_network(name), {"x": x.numpy()})["output"]
        np.testing.assert_allclose(got, torch_fn(x).numpy(), rtol=1e-5, atol=1e-5, err_msg=f"{name} at {size}")
