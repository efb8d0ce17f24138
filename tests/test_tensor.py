"""Tensor proxy: metadata, repr, dtype conversions."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef._trt import trt


def test_metadata_and_repr(parity):
    seen = {}

    def probe(x):
        seen.update(shape=x.shape, ndim=x.ndim, dim=x.dim(), size=x.size(), size0=x.size(0), numel=x.numel())
        seen.update(dtype=x.dtype, name=x.name, repr=repr(x))
        return x.contiguous()

    netdef.define(parity.Fn(probe), {"x": netdef.Input((2, 3, 4))})
    assert seen == {
        "shape": (2, 3, 4), "ndim": 3, "dim": 3, "size": (2, 3, 4), "size0": 2, "numel": 24,
        "dtype": trt.float32, "name": "x", "repr": "netdef.Tensor(name='x', shape=(2, 3, 4), dtype=FLOAT)",
    }  # fmt: skip


def test_dynamic_dims_are_symbolic_sizes(parity):
    seen = {}

    def probe(x):
        seen.update(shape=x.shape, static=x.static_shape, numel=x.numel(), size0=x.size(0))
        return x * 2

    netdef.define(parity.Fn(probe), {"x": netdef.Input((-1, 3), min=(1, 3), max=(4, 3))})
    n, c = seen["shape"]
    assert isinstance(n, netdef.SymInt) and c == 3 and seen["size0"] is n
    assert seen["static"] == (-1, 3)  # TensorRT's view: -1 marks the dynamic dim
    assert isinstance(seen["numel"], netdef.SymInt) and (n.lo, n.hi) == (1, 4)


@pytest.mark.parametrize(
    ("expr", "ref"),
    [
        (lambda x: x.half(), lambda x: x.half().float()),
        (lambda x: x.half().float() * 3, lambda x: x.half().float() * 3),
        (lambda x: x.to("float16") + x.to("float16"), lambda x: (x.half() + x.half()).float()),
    ],
    ids=["half", "half-float", "to-str"],
)
def test_dtype_conversions(parity, expr, ref):
    x = torch.randn(3, 4) * 100
    parity.check(parity.Fn(expr), ref, x)
