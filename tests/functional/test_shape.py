"""view/reshape, flatten, permute, transpose and cat against torch."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F, nn
from netdef.testing import Fn as _Fn

# (input shape, expression applied to a netdef Tensor and to a torch tensor alike)
EXPRS = {
    "view": ((2, 3, 4), lambda x: x.view(6, 4)),
    "view-tuple": ((2, 3, 4), lambda x: x.view((4, 6))),
    "view-minus1-first": ((2, 3, 4), lambda x: x.view(-1, 4)),
    "view-minus1-last": ((2, 3, 4), lambda x: x.view(2, -1)),
    "view-minus1-middle": ((2, 3, 4, 5), lambda x: x.view(2, -1, 5)),
    "view-flat": ((2, 3, 4), lambda x: x.view(-1)),
    "view-add-dims": ((6, 4), lambda x: x.view(1, 2, 3, 1, 4)),
    "reshape": ((2, 3, 4), lambda x: x.reshape(3, 8)),
    "reshape-minus1": ((2, 3, 4), lambda x: x.reshape(4, -1, 2)),
    "reshape-tuple-minus1": ((2, 3, 4), lambda x: x.reshape((-1, 3))),
    "flatten": ((2, 3, 4, 5), lambda x: x.flatten()),
    "flatten-1": ((2, 3, 4, 5), lambda x: x.flatten(1)),
    "flatten-1-2": ((2, 3, 4, 5), lambda x: x.flatten(1, 2)),
    "flatten-2-3": ((2, 3, 4, 5), lambda x: x.flatten(2, 3)),
    "flatten-0-1": ((2, 3, 4, 5), lambda x: x.flatten(0, 1)),
    "flatten-negative": ((2, 3, 4, 5), lambda x: x.flatten(-3, -2)),
    "flatten-same-dim": ((2, 3, 4), lambda x: x.flatten(1, 1)),
    "flatten-1d": ((7,), lambda x: x.flatten()),
    "permute": ((2, 3, 4), lambda x: x.permute(2, 0, 1)),
    "permute-tuple": ((2, 3, 4, 5), lambda x: x.permute((0, 2, 3, 1))),
    "permute-negative": ((2, 3, 4, 5), lambda x: x.permute(-1, -3, 0, -2)),
    "permute-identity": ((2, 3), lambda x: x.permute(0, 1) + 0),
    "transpose": ((2, 3, 4), lambda x: x.transpose(0, 2)),
    "transpose-last-two": ((2, 3, 4, 5), lambda x: x.transpose(-1, -2)),
    "transpose-2d": ((3, 5), lambda x: x.transpose(1, 0)),
    "transpose-then-view": ((2, 3, 4), lambda x: x.transpose(1, 2).contiguous().view(2, 12)),
    "permute-then-flatten": ((2, 3, 4, 5), lambda x: x.permute(0, 2, 3, 1).flatten(1, 2)),
}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", list(EXPRS))
def test_shape_ops_match_torch(parity, name, precision):
    shape, expr = EXPRS[name]
    build = precision == "fp32" and name in ("view-minus1-middle", "flatten-1-2", "permute-negative", "transpose")
    parity.check(parity.Fn(expr), expr, torch.randn(shape), precision=precision, build=build)


# F.reshape/view/flatten/permute/transpose called as functions (and as methods): their samples in
# netdef/opsamples/shape.py, run by tests/functional/test_opinfo.py.


# (shapes of the tensors, dim)
CATS = [
    (((2, 3), (2, 5)), 1),
    (((2, 3), (4, 3)), 0),
    (((2, 3), (2, 5)), -1),
    (((1, 3, 4), (2, 3, 4), (3, 3, 4)), 0),
    (((2, 1, 4), (2, 3, 4)), 1),
    (((2, 3, 4), (2, 3, 1), (2, 3, 2)), 2),
    (((2, 3, 4, 5), (2, 1, 4, 5)), -3),
    (((2, 3, 4, 5), (2, 3, 4, 2)), -1),
    (((3,), (4,)), 0),
]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("shapes", "dim"), CATS)
def test_cat_matches_torch(parity, shapes, dim, precision):
    xs = [torch.randn(s) for s in shapes]

    def fn(*ts):
        return F.cat(list(ts), dim=dim)

    def ref(*ts):
        return torch.cat(list(ts), dim=dim)

    parity.check(parity.Fn(fn), ref, *xs, precision=precision, build=precision == "fp32" and len(shapes) == 3)


def test_cat_tuple_of_one_and_of_the_same_tensor(parity):
    parity.check(parity.Fn(lambda x: F.cat((x,), 0)), lambda x: torch.cat((x,), 0), torch.randn(2, 3))
    parity.check(parity.Fn(lambda x: F.cat([x, x * 2, x], 1)), lambda x: torch.cat([x, x * 2, x], 1), torch.randn(2, 3))


def test_tensor_metadata_during_define():
    seen = {}

    def fn(x):
        y = x.view(2, 12)
        seen.update(shape=y.shape, ndim=y.ndim, dim=y.dim(), size=y.size(), size1=y.size(1), numel=y.numel())
        return y

    netdef.define(nn.Sequential(_Fn(fn)), {"x": netdef.Input((2, 3, 4))})
    assert seen == {"shape": (2, 12), "ndim": 2, "dim": 2, "size": (2, 12), "size1": 12, "numel": 24}


# --------------------------------------------------------------------------------------------- errors
ERRORS = {
    "reshape-size": ((2, 3, 4), lambda x: x.view(5, 5), r"shape \(5, 5\) is invalid for input of shape \(2, 3, 4\) \(24 elements\)"),
    "reshape-minus1-indivisible": ((2, 3, 4), lambda x: x.view(-1, 5), r"shape \(-1, 5\) is invalid"),
    "reshape-two-minus1": ((2, 3, 4), lambda x: x.view(-1, -1), "at most one -1"),
    "reshape-negative": ((2, 3, 4), lambda x: x.view(-2, 12), "no other negative sizes"),
    "flatten-order": ((2, 3, 4), lambda x: x.flatten(2, 1), "start_dim 2 comes after end_dim 1"),
    "flatten-range": ((2, 3, 4), lambda x: x.flatten(1, 3), "dim 3 is out of range for a tensor of rank 3"),
    "permute-length": ((2, 3, 4), lambda x: x.permute(1, 0), r"got 2 dims \(1, 0\) for a tensor of rank 3"),
    "permute-repeat": ((2, 3, 4), lambda x: x.permute(0, 1, 1), r"dims \(0, 1, 1\) are not a permutation of 0..2"),
    "transpose-range": ((2, 3), lambda x: x.transpose(0, 2), "dim 2 is out of range"),
    "cat-empty": ((2, 3), lambda x: F.cat([], 0), "expected a non-empty sequence"),
    "cat-rank": ((2, 3), lambda x: F.cat([x, x.view(6)], 0), "tensors\\[1\\] has rank 1 and dtype FLOAT, tensors\\[0\\] has rank 2"),
    "cat-size": ((2, 3), lambda x: F.cat([x, x.view(3, 2)], 0), r"tensors\[1\] has shape \(3, 2\), tensors\[0\] has \(2, 3\): sizes must match except in dim 0"),
    "cat-not-tensor": ((2, 3), lambda x: F.cat([x, 1.0], 0), r"`tensors\[1\]` must be a netdef.Tensor, got float"),
    "cat-dim": ((2, 3), lambda x: F.cat([x, x], 2), "dim 2 is out of range"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ERRORS))
def test_shape_errors(name):
    shape, expr, match = ERRORS[name]
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Fn(expr), {"x": netdef.Input(shape)})


DYNAMIC = {
    "flatten": lambda x: x.flatten(1),
    "view-minus1-first": lambda x: x.view(-1, 12),
    "permute-flatten": lambda x: x.permute(0, 2, 1).flatten(1),
    "transpose": lambda x: x.transpose(1, 2),
}


@pytest.mark.parametrize("name", list(DYNAMIC))
def test_shape_ops_with_a_dynamic_batch(parity, name):
    expr = DYNAMIC[name]
    net = netdef.define(_Fn(expr), {"x": netdef.Input((-1, 3, 4), min=(1, 3, 4), max=(8, 3, 4))})
    for batch in (1, 5):
        x = torch.randn(batch, 3, 4)
        parity.assert_close(netdef.reference.run(net, {"x": x.numpy()})["output"], expr(x))
    if name == "flatten":
        parity.build(net)
