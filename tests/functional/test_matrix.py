"""tril, triu, diag, eye, one_hot, meshgrid and linspace against torch, static and dynamic sizes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

import netdef
from netdef import F
from netdef.testing import Fn, assert_close, build_engine, check

# (netdef expression, torch expression) on a (2, 3, 4) tensor
STATIC = {
    "tril": (lambda x: F.tril(x), lambda x: torch.tril(x)),
    "tril-diagonal": (lambda x: x.tril(1), lambda x: x.tril(1)),
    "triu": (lambda x: F.triu(x, -1), lambda x: torch.triu(x, -1)),
    "triu-method": (lambda x: x.triu(2), lambda x: x.triu(2)),
    "tril-bool": (lambda x: F.tril(x > 0).to("float32"), lambda x: torch.tril(x > 0).float()),
    "eye": (lambda x: x[0] + F.eye(3, 4), lambda x: x[0] + torch.eye(3, 4)),
    "eye-square": (lambda x: x[0, :, :3] * F.eye(3), lambda x: x[0, :, :3] * torch.eye(3)),
    "diag-of-matrix": (lambda x: F.diag(x[0]), lambda x: torch.diag(x[0])),
    "diag-above": (lambda x: x[1].diag(1), lambda x: x[1].diag(1)),
    "diag-below": (lambda x: x[1].diag(-2), lambda x: x[1].diag(-2)),
    "diag-matrix-from-vector": (lambda x: F.diag(x[0, 0]), lambda x: torch.diag(x[0, 0])),
    "diag-matrix-above": (lambda x: F.diag(x[0, 1], 2), lambda x: torch.diag(x[0, 1], 2)),
    "diag-matrix-below": (lambda x: F.diag(x[0, 1], -1), lambda x: torch.diag(x[0, 1], -1)),
    "linspace": (lambda x: x + F.linspace(-1, 2.5, 4), lambda x: x + torch.linspace(-1, 2.5, 4)),
    "linspace-one": (lambda x: x + F.linspace(3, 7, 1), lambda x: x + torch.linspace(3, 7, 1)),
    "meshgrid-ij": (
        lambda x: (
            sum(g.sum() for g in F.meshgrid(x[0, 0], x[1, :, 0], indexing="ij")) + F.meshgrid(x[0, 0], x[0, 1])[0]
        ),
        lambda x: (
            sum(g.sum() for g in torch.meshgrid(x[0, 0], x[1, :, 0], indexing="ij"))
            + torch.meshgrid(x[0, 0], x[0, 1], indexing="ij")[0]
        ),
    ),
    "meshgrid-xy": (
        lambda x: (
            F.meshgrid(x[0, 0], x[1, :, 0], x[0, 1, :2], indexing="xy")[0] * 2
            + F.meshgrid(x[0, 0], x[1, :, 0], x[0, 1, :2], indexing="xy")[2]
        ),
        lambda x: (
            torch.meshgrid(x[0, 0], x[1, :, 0], x[0, 1, :2], indexing="xy")[0] * 2
            + torch.meshgrid(x[0, 0], x[1, :, 0], x[0, 1, :2], indexing="xy")[2]
        ),
    ),
}


@pytest.mark.parametrize("name", list(STATIC))
def test_static(name):
    ours, theirs = STATIC[name]
    check(Fn(ours), theirs, torch.randn(2, 3, 4), build=name in ("tril", "diag-above", "meshgrid-xy"))


def test_one_hot():
    def ours(i):
        return F.one_hot(i, 5) + F.one_hot(i[0], num_classes=5)

    def theirs(i):
        return TF.one_hot(i, 5) + TF.one_hot(i[0], num_classes=5)

    check(Fn(ours), theirs, torch.tensor([[0, 4, 2], [1, 1, 3]]), build=True)


def test_dynamic_sizes():
    def ours(x):
        t = x.shape[1]
        causal = F.tril(F.ones((t, t)))
        grid_y, grid_x = F.meshgrid(F.arange(t).to("float32"), F.arange(x.shape[0]).to("float32"), indexing="xy")
        out = x @ causal + F.triu(x[None], 1)[0] + grid_y * 0.5 + grid_x + F.eye(t)[0] + F.linspace(0, 1, t)
        ids = F.arange(t)
        return out + F.one_hot(ids, t).to("float32").sum(0) + F.diag(x[:, :1].t().repeat(t, 1))[:1]

    def theirs(x):
        t = x.shape[1]
        causal = torch.tril(torch.ones((t, t)))
        grid_y, grid_x = torch.meshgrid(torch.arange(t).float(), torch.arange(x.shape[0]).float(), indexing="xy")
        out = x @ causal + torch.triu(x[None], 1)[0] + grid_y * 0.5 + grid_x + torch.eye(t)[0]
        out = out + torch.linspace(0, 1, t)
        ids = torch.arange(t)
        return out + TF.one_hot(ids, t).float().sum(0) + torch.diag(x[:, :1].t().repeat(t, 1))[:1]

    net = netdef.define(Fn(ours), {"x": netdef.Input((-1, -1), min=(1, 2), max=(6, 7))})
    for shape in [(3, 5), (1, 2), (6, 7)]:
        x = torch.randn(shape)
        assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], theirs(x))
    build_engine(net)


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda x: F.tril(x[0, 0]), r"expects a tensor of rank >= 2"),
        (lambda x: F.one_hot(F.arange(3)), r"num_classes=-1 takes the class count from the values"),
        (lambda x: F.one_hot(x, 3), r"expects an int64 \(or int32\) tensor"),
        (lambda x: F.diag(x), r"expects a 1-D or 2-D tensor"),
        (lambda x: F.meshgrid(x[0], indexing="ji"), r"indexing must be 'ij' or 'xy'"),
        (lambda x: F.linspace(0, x, 3), r"end must be a Python number"),
    ],
)
def test_errors(fn, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(Fn(fn), {"x": netdef.Input((2, 3, 4))})
