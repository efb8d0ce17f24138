"""sort and argsort against torch: values, indices (stable=True: ties in torch's order), dims, dynamic sizes."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn, assert_close, build_engine, check

# distinct values: the indices are unique, so they must equal torch's whatever the tie rule
CASES = {
    "last-dim": (lambda x: F.sort(x).values, lambda x: torch.sort(x).values),
    "indices": (lambda x: F.sort(x, 1)[1], lambda x: torch.sort(x, 1)[1]),
    "descending": (lambda x: x.sort(dim=0, descending=True).values, lambda x: x.sort(dim=0, descending=True).values),
    "argsort": (lambda x: F.argsort(x, -1, descending=True), lambda x: torch.argsort(x, -1, descending=True)),
    "argsort-1d": (lambda x: x[0, 0].argsort(), lambda x: x[0, 0].argsort()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sort(name):
    ours, theirs = CASES[name]
    x = torch.randperm(24).float().reshape(2, 3, 4)
    check(Fn(ours), theirs, x, build=name == "indices")


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [-1, 1])
def test_stable_sort_orders_ties_as_torch(descending, dim):
    x = torch.randint(0, 3, (2, 6, 5)).float()  # many ties

    def ours(x):
        v, i = F.sort(x, dim, descending, stable=True)
        return v * 100 + i.to("float32")

    def theirs(x):
        v, i = torch.sort(x, dim=dim, descending=descending, stable=True)
        return v * 100 + i.float()

    check(Fn(ours), theirs, x, build=dim == 1 and descending)


def test_sort_dynamic():
    def fn(x):
        v, i = x.sort(-1)
        return v + i.to(x.dtype) + x.argsort(0, descending=True).to(x.dtype)

    def ref(x):
        v, i = x.sort(-1)
        return v + i.to(x.dtype) + x.argsort(0, descending=True).to(x.dtype)

    net = netdef.define(Fn(fn), {"x": netdef.Input((-1, -1), min=(1, 1), max=(5, 9))})
    for shape in [(3, 7), (1, 1), (5, 9)]:
        x = torch.randperm(shape[0] * shape[1]).float().reshape(shape)
        assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], ref(x))
    build_engine(net)


def test_stable_sort_needs_a_static_dim():
    with pytest.raises(netdef.EmitError, match=r"stable=True .* needs a static size of at most 2048"):
        netdef.define(Fn(lambda x: F.sort(x, stable=True).values), {"x": netdef.Input((2, -1), min=(2, 1), max=(2, 4))})
