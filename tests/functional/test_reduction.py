"""sum / mean / amax / amin / prod / max / min (values and indices) / argmax / argmin / topk against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn as _Fn

# (expression on a netdef Tensor, the same on a torch tensor); input (3, 4, 5)
EXPRS = {
    "sum-all": (lambda x: x.sum(), lambda x: x.sum()),
    "sum-dim": (lambda x: x.sum(1), lambda x: x.sum(1)),
    "sum-negative-dim": (lambda x: x.sum(-1), lambda x: x.sum(-1)),
    "sum-tuple-keepdim": (lambda x: x.sum((0, 2), keepdim=True), lambda x: x.sum((0, 2), keepdim=True)),
    "sum-functional": (lambda x: F.sum(x, dim=[-1, 0]), lambda x: torch.sum(x, dim=[-1, 0])),
    "mean-all": (lambda x: x.mean(), lambda x: x.mean()),
    "mean-dim-keepdim": (lambda x: x.mean(-2, keepdim=True), lambda x: x.mean(-2, keepdim=True)),
    "mean-tuple": (lambda x: F.mean(x, (1, 2)), lambda x: torch.mean(x, (1, 2))),
    "amax": (lambda x: x.amax(1), lambda x: x.amax(1)),
    "amax-all": (lambda x: F.amax(x), lambda x: torch.amax(x)),
    "amin-tuple-keepdim": (lambda x: x.amin((-1, -3), keepdim=True), lambda x: x.amin((-1, -3), keepdim=True)),
    "prod": (lambda x: x.prod(2), lambda x: x.prod(2)),
    "max-all": (lambda x: x.max(), lambda x: x.max()),
    "min-all": (lambda x: F.min(x), lambda x: torch.min(x)),
    "max-values": (lambda x: x.max(1)[0], lambda x: x.max(1)[0]),
    "max-values-attr": (lambda x: x.max(dim=-1).values, lambda x: x.max(dim=-1).values),
    "max-indices": (lambda x: x.max(0).indices, lambda x: x.max(0).indices),
    "min-keepdim": (lambda x: F.min(x, 2, keepdim=True)[1], lambda x: torch.min(x, 2, keepdim=True)[1]),
    "max-elementwise": (lambda x: x.max(x[0]), lambda x: x.max(x[0])),
    "min-elementwise": (lambda x: F.min(x, x * 0.5), lambda x: torch.min(x, x * 0.5)),
    "argmax": (lambda x: x.argmax(1), lambda x: x.argmax(1)),
    "argmax-keepdim": (lambda x: F.argmax(x, -1, keepdim=True), lambda x: torch.argmax(x, -1, keepdim=True)),
    "argmax-flat": (lambda x: x.argmax(), lambda x: x.argmax()),
    "argmax-flat-keepdim": (lambda x: x.argmax(keepdim=True), lambda x: x.argmax(keepdim=True)),
    "argmin": (lambda x: F.argmin(x, 0), lambda x: torch.argmin(x, 0)),
    "topk-values": (lambda x: x.topk(3)[0], lambda x: x.topk(3)[0]),
    "topk-indices": (lambda x: x.topk(2, dim=1).indices, lambda x: x.topk(2, dim=1).indices),
    "topk-smallest": (lambda x: F.topk(x, 4, 2, largest=False)[1], lambda x: torch.topk(x, 4, 2, largest=False)[1]),
}


@pytest.mark.parametrize("name", list(EXPRS))
def test_reduction_matches_torch(parity, name):
    fn, ref = EXPRS[name]
    net = parity.check(parity.Fn(fn), ref, torch.randn(3, 4, 5), build=name in ("sum-tuple-keepdim", "max-indices"))
    if "indices" in name or name.startswith("arg"):
        assert net.network.get_output(0).dtype.name == "INT64"  # torch's index dtype


@pytest.mark.parametrize("precision", ["fp16"])
@pytest.mark.parametrize("name", ["sum-tuple-keepdim", "mean-tuple", "amax", "max-values", "topk-values"])
def test_reduction_fp16(parity, name, precision):
    fn, ref = EXPRS[name]
    parity.check(parity.Fn(fn), ref, torch.randn(3, 4, 5), precision=precision, build=name == "mean-tuple")


def test_tied_maxima_give_the_first_index_in_the_reference(parity):
    x = torch.tensor([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    parity.check(parity.Fn(lambda x: x.argmax(-1)), lambda x: x.argmax(-1), x)


@pytest.mark.parametrize("dtype", [torch.int32, torch.bool])
def test_integer_and_bool_sums_are_int64(parity, dtype):
    x = torch.randint(-5, 6, (3, 4)).to(dtype)
    net = parity.check(parity.Fn(lambda x: x.sum(1)), lambda x: x.sum(1), x, build=True)
    assert net.network.get_output(0).dtype.name == "INT64"


def test_int_amax_keeps_the_dtype(parity):
    x = torch.randint(-50, 50, (3, 4), dtype=torch.int32)
    parity.check(parity.Fn(lambda x: x.amax(0)), lambda x: x.amax(0), x)


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_bool_amax_amin_are_any_all(op):
    """TensorRT reduces no bools: netdef reduces them as int32 and casts back (found by tests/fuzz, seed 5141)."""
    from netdef.testing import check

    x = torch.randn(3, 4, 5)
    x[0] = 1.0  # a row all True, so amin (all) is not False everywhere
    net = check(_Fn(lambda x: getattr(x > 0, op)(1)), lambda x: getattr(x > 0, op)(1), x)
    assert net.network.get_output(0).dtype.name == "BOOL"


def test_sum_with_dtype(parity):
    x = torch.randn(4, 6)
    parity.check(
        parity.Fn(lambda x: x.half().sum(0, dtype="float32")), lambda x: x.half().sum(0, dtype=torch.float32), x
    )


def test_dynamic_batch_reduction(parity):
    net = netdef.define(
        parity.Fn(lambda x: x.mean(-1, keepdim=True) + x.amax(0)),
        {"x": netdef.Input((-1, 5), min=(1, 5), max=(8, 5))},
    )
    for n in (1, 6):
        x = torch.randn(n, 5)
        got = netdef.reference.run(net, {"x": x.numpy()})["output"]
        parity.assert_close(got, x.mean(-1, keepdim=True) + x.amax(0))


@pytest.mark.parametrize(
    ("expr", "dtype", "match"),
    [
        (lambda x: x.sum(3), "float32", r"dim 3 is out of range for a tensor of rank 3"),
        (lambda x: x.sum((1, -2)), "float32", r"names a dim more than once"),
        (lambda x: x.mean(0), "int32", r"mean.*expects a float tensor, got INT32"),
        (lambda x: x.topk(6, 1), "float32", r"k=6 is out of range for dim 1 of size 4"),
        (lambda x: x.sum(1.5), "float32", r"dim must be an int or a tuple of ints"),
    ],
)
def test_reduction_errors(expr, dtype, match):
    with pytest.raises(netdef.EmitError, match=match):
        netdef.define(_Fn(expr), {"x": netdef.Input((3, 4, 5), dtype=dtype)})


def test_topk_on_an_early_dim_of_a_rank_5_tensor_is_refused():
    with pytest.raises(netdef.EmitError, match="one of the last four dims"):
        netdef.define(_Fn(lambda x: x.max(0)), {"x": netdef.Input((2, 2, 2, 2, 2))})


def test_topk_with_a_symbolic_k_matches_torch_and_builds():
    """k from x.shape is TensorRT's dynamic K (a 0-d int32 shape tensor); bounds a size cannot decide are
    IAssertionLayers."""
    spec = netdef.Input((-1, -1), min=(1, 1), opt=(2, 4), max=(9, 9))
    network = netdef.define(_Fn(lambda x: (x.topk(x.shape[1] - 1, 1)[0], x.topk(x.shape[0], 1)[1])), {"x": spec})
    for rows, cols in ((2, 4), (3, 9)):
        x = torch.randn(rows, cols)
        got = netdef.reference.run(network, {"x": x.numpy()})
        netdef.testing.assert_close(got["output0"], x.topk(cols - 1, 1)[0])
        netdef.testing.assert_close(got["output1"], x.topk(rows, 1)[1])
    with pytest.raises(netdef.InterpreterError, match=r"topk's k=x.shape\[0\] is larger than dim 1"):
        netdef.reference.run(network, {"x": np.zeros((5, 4), np.float32)})
    netdef.build(network)
    with pytest.raises(
        netdef.EmitError, match=r"k=\(x.shape\[1\] \+ 1\) is out of range for dim 1 of size x.shape\[1\]"
    ):
        netdef.define(_Fn(lambda x: x.topk(x.shape[1] + 1, 1)), {"x": spec})
    with pytest.raises(netdef.EmitError, match=r"k must be an int or a size from x.shape, got float"):
        netdef.define(_Fn(lambda x: x.topk(2.0, 1)), {"x": spec})
