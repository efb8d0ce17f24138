"""``x[...]`` and index_select against torch: ints, slices with steps, negative indices, None, Ellipsis,
index lists / tensors, static and dynamic shapes."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F
from netdef.build import backend_builds
from netdef.testing import Fn as _Fn

# expressions applied alike to a netdef Tensor and a torch tensor of shape (4, 5, 6)
STATIC = {
    "int": lambda x: x[1],
    "negative-int": lambda x: x[-1],
    "slice": lambda x: x[1:3],
    "step": lambda x: x[::2],
    "start-step": lambda x: x[1::2],
    "step-3-last-dim": lambda x: x[:, :, 1::3],
    "dim1-int": lambda x: x[:, 1],
    "ellipsis-int": lambda x: x[..., -1],
    "ellipsis-middle": lambda x: x[0, ..., 2:4],
    "none-front": lambda x: x[None],
    "none-middle": lambda x: x[:, None],
    "none-last": lambda x: x[..., None],
    "none-both-ends": lambda x: x[None, ..., None],
    "mixed": lambda x: x[1:-1, ::3, 2],
    "mixed-none": lambda x: x[1:, None, -2:],
    "slice-none-after-ellipsis": lambda x: x[..., 1:3, None],
    "stop-past-end": lambda x: x[:, :, 1:100],
    "start-before-begin": lambda x: x[-100:2],
    "negative-stop": lambda x: x[:, -4:-1],
    "negative-start-step": lambda x: x[:, -4::2],
    "all-ints": lambda x: x[0, 0, 0],
    "ints-and-none": lambda x: x[2, None, 3],
    "full": lambda x: x[:],
    "ellipsis-only": lambda x: x[...] + 0,
    "chained": lambda x: x[1:][:, ::2][0],
    "list": lambda x: x[[2, 0, -1]],
    "list-dim1": lambda x: x[:, [0, 4, 4, 1]],
    "list-after-int": lambda x: x[0, :, [1, 3]],
    "list-after-none": lambda x: x[None, :, [1, -2]],
    "list-2d": lambda x: x[..., [[0, 1], [5, 4]]],
    "list-with-slices": lambda x: x[1:3, [3, 1], ::2],
}


@pytest.mark.parametrize("name", list(STATIC))
def test_getitem_static(parity, name):
    expr = STATIC[name]
    parity.check(parity.Fn(expr), expr, torch.randn(4, 5, 6), build=name in ("mixed", "list-after-int"))


@pytest.mark.parametrize("name", ["mixed", "none-middle", "list-dim1", "negative-start-step"])
def test_getitem_fp16(parity, name):
    expr = STATIC[name]
    parity.check(parity.Fn(expr), expr, torch.randn(4, 5, 6), precision="fp16")


def test_getitem_int_tensor_input(parity):
    x = torch.randint(-50, 50, (4, 5), dtype=torch.int32)
    parity.check(parity.Fn(lambda x: x[1:, ::2]), lambda x: x[1:, ::2], x, build=True)


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_index_tensor_from_an_input(parity, index_dtype):
    x = torch.randn(5, 6)
    idx = torch.tensor([[4, -1], [0, 2], [-5, 3]], dtype=index_dtype)  # negatives count from the end
    parity.check(parity.Fn(lambda x, i: x[:, i]), lambda x, i: x[:, i.long()], x.t().contiguous(), idx, build=True)
    parity.check(parity.Fn(lambda x, i: x[i, 1:]), lambda x, i: x[i.long(), 1:], x, idx)


def test_index_with_a_0d_tensor_drops_the_dim(parity):
    def fn(x, i):
        return x[:, i.reshape(())]

    parity.check(parity.Fn(fn), lambda x, i: x[:, i.long().reshape(())], torch.randn(3, 4), torch.tensor([-2]))


# several index tensors (a GatherND) and bool masks (INonZeroLayer), on a (2, 3, 4, 5) tensor
ADVANCED = {
    "two-lists": lambda x: x[[0, 1, 1], :, [1, 2, 0]],  # not adjacent: the index dims come first
    "adjacent": lambda x: x[:, [0, 1, 1], [1, 2, -4]],  # adjacent: in place
    "int-then-list": lambda x: x[0, :, [1, 2, 0]],  # ints index first, as torch
    "not-adjacent-4d": lambda x: x[:, [0, 1, 1], :, [1, 2, 0]],
    "broadcast-2d": lambda x: x[:, [[0, 1], [2, 1]], [[1], [3]]],
    "mask-all-dims": lambda x: x[x > 0],
    "mask-middle-dims": lambda x: x[:, x[0, :, :, 0] > 0],
    "mask-leading-dims": lambda x: x[x[:, :, 0, 0] > 0.2],
    "mask-after-ellipsis": lambda x: x[..., x[0, 0, 0] > 0] * 2,
}


@pytest.mark.parametrize("name", list(ADVANCED))
def test_getitem_advanced(parity, name):
    expr = ADVANCED[name]
    parity.check(parity.Fn(expr), expr, torch.randn(2, 3, 4, 5), build=name == "two-lists")


def test_bool_mask_builds_or_is_refused_naming_the_fix(parity):
    net = parity.define(parity.Fn(lambda x: x[:, x[0] > 0]), torch.randn(2, 3, 4))
    if backend_builds("NON_ZERO"):
        parity.build(net)
    else:  # TensorRT-RTX has no runner for INonZeroLayer
        with pytest.raises(netdef.BuildError, match=r"INonZeroLayer .*x\[mask\].*F.where\(mask, x, 0\)"):
            parity.build(net)


def test_getitem_index_tensors_and_mask_from_inputs_dynamic(parity):
    def fn(x, i, j):
        return x[i, j] + x[x[:, 0] > 0].sum()

    def ref(x, i, j):
        return x[i.long(), j.long()] + x[x[:, 0] > 0].sum()

    spec = {
        "x": netdef.Input((-1, 6), min=(1, 6), max=(8, 6)),
        "i": netdef.Input((-1,), dtype="int32", min=(1,), max=(5,)),
        "j": netdef.Input((-1,), dtype="int64", min=(1,), max=(5,)),
    }
    net = netdef.define(parity.Fn(fn), spec)
    for n, m in [(4, 3), (7, 1)]:
        x, i, j = torch.randn(n, 6), torch.randint(-n, n, (m,), dtype=torch.int32), torch.randint(-6, 6, (m,))
        got = netdef.reference.run(net, {"x": x.numpy(), "i": i.numpy(), "j": j.numpy()})["output"]
        parity.assert_close(got, ref(x, i, j))


def test_index_select(parity):
    x, idx = torch.randn(3, 5, 2), torch.tensor([4, 0, 0, 2])
    parity.check(parity.Fn(lambda x, i: F.index_select(x, 1, i)), lambda x, i: torch.index_select(x, 1, i), x, idx)
    parity.check(parity.Fn(lambda x: x.index_select(-1, [1, 0])), lambda x: x.index_select(-1, torch.tensor([1, 0])), x)


def test_iteration_and_unpacking(parity):
    def fn(x):
        a, b, c = x
        return a * 2 + b - c + len(x)

    parity.check(parity.Fn(fn), fn, torch.randn(3, 4))


# dynamic shapes: dims 0 and 2 of (-1, 6, -1) are only known at run time
DYNAMIC = {
    "slice-static-dim": lambda x: x[:, 1:4],
    "slice-dynamic-dim": lambda x: x[1:],
    "negative-start": lambda x: x[-2:],
    "negative-stop": lambda x: x[:-1, :, :-2],
    "step": lambda x: x[:, :, ::2],
    "start-step": lambda x: x[1::3, ::2],
    "int": lambda x: x[0],
    "negative-int": lambda x: x[-1],
    "ellipsis-negative-int": lambda x: x[..., -1],
    "int-and-none": lambda x: x[:, None, 2, 1:],
    "past-end": lambda x: x[:, :, 1:50],
    "list-static-dim": lambda x: x[:, [0, 2, -1]],
    "list-dynamic-dim": lambda x: x[:, :, [0, -1, 1]],
}
DYN_INPUT = netdef.Input((-1, 6, -1), min=(1, 6, 1), max=(8, 6, 9))


@pytest.mark.parametrize("name", list(DYNAMIC))
def test_getitem_dynamic(parity, name):
    expr = DYNAMIC[name]
    net = netdef.define(parity.Fn(expr), {"x": DYN_INPUT})
    for shape in [(4, 6, 5), (2, 6, 9), (8, 6, 3)]:
        x = torch.randn(shape)
        got = netdef.reference.run(net, {"x": x.numpy()})["output"]
        parity.assert_close(got, expr(x))
    if name in ("start-step", "int-and-none", "list-dynamic-dim"):
        parity.build(net)


def test_getitem_dynamic_keeps_static_dims_static():
    def fn(x):
        out = x[1:, 2:5, 0]
        assert out.static_shape == (-1, 3)
        return out

    netdef.define(_Fn(fn), {"x": DYN_INPUT})


def _define(fn, shape=(4, 5, 6)):
    return netdef.define(_Fn(fn), {"x": netdef.Input(shape)})


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        (lambda x: x[4], r"index 4 is out of range for dim 0 of size 4"),
        (lambda x: x[:, -6], r"index -6 is out of range for dim 1 of size 5"),
        (lambda x: x[0, 0, 0, 0], r"too many indices for a tensor of rank 3: 4 given"),
        (lambda x: x[..., 0, ...], r"single ellipsis"),
        (lambda x: x[::-1], r"slice step must be greater than zero"),
        (lambda x: x[::0], r"slice step must be greater than zero"),
        (lambda x: x[True], r"a Python bool index .* is not supported"),
        (lambda x: x[x[0] > 0], r"bool mask of shape \(5, 6\) does not match the indexed dims \[0, 1\]"),
        (lambda x: x[x > 0, [0]], r"too many indices"),
        (lambda x: x[x[..., 0] > 0, [0]], r"a bool mask together with other index tensors is not supported"),
        (lambda x: x[[0, 1], [0, 1, 2]], r"cannot be broadcast"),
        (lambda x: x[:, [0, 5]], r"index \[0, 5\] is out of range for dim 1 of size 5"),
        (lambda x: x[[0.5]], r"an index list must hold ints"),
        (lambda x: x["a"], r"unsupported index 'a'"),
        (lambda x: x[: x.sum()], r"slice bounds must be ints, sizes from x.shape, or None"),
        (lambda x: x[x], r"a FLOAT index is not supported"),
    ],
)
def test_getitem_errors(expr, match):
    with pytest.raises(netdef.EmitError, match=match):
        _define(expr)


def test_len_and_iter_of_a_dynamic_dim_are_refused():
    with pytest.raises(netdef.EmitError, match=r"size `x.shape\[0\]` is only known at run time .*len\(\)"):
        netdef.define(_Fn(lambda x: x + len(x)), {"x": DYN_INPUT})
    with pytest.raises(netdef.EmitError, match=r"unbind.* needs the count"):
        netdef.define(_Fn(lambda x: next(iter(x))), {"x": DYN_INPUT})


def test_gather_and_scatter(parity):
    x = torch.randn(3, 4, 5)
    idx = torch.randint(0, 3, (2, 4, 3))
    perm = torch.stack([torch.randperm(5)[:3] for _ in range(6)]).reshape(2, 3, 3)  # distinct per row: no repeats

    def ours(x, i, p):
        a = F.gather(x, 0, i) + x.gather(-1, p[..., :2].transpose(0, 1)[:2, :2]).sum()
        b = F.scatter(x, 2, p, x[:, :, :3] * 10) + x.scatter(2, p, -1.0) + F.scatter(x, 2, p, value=7)
        return a.sum() + b

    def theirs(x, i, p):
        a = torch.gather(x, 0, i) + x.gather(-1, p[..., :2].transpose(0, 1)[:2, :2]).sum()
        b = torch.scatter(x, 2, p, x[:, :, :3] * 10) + x.scatter(2, p, -1.0) + torch.scatter(x, 2, p, value=7)
        return a.sum() + b

    p = torch.cat([perm, perm[:1]])  # (3, 3, 3): index smaller than x in dims 1 and 2
    parity.check(parity.Fn(ours), theirs, x, idx, p, build=True)


def test_gather_and_scatter_dynamic(parity):
    def fn(x, i):
        return F.gather(x, 1, i) * 2 + F.scatter(x, 1, i, 5.0)[:, : i.shape[1]]

    def ref(x, i):
        return torch.gather(x, 1, i) * 2 + torch.scatter(x, 1, i, 5.0)[:, : i.shape[1]]

    spec = {
        "x": netdef.Input((-1, 6), min=(1, 6), max=(4, 6)),
        "i": netdef.Input((-1, -1), dtype="int64", min=(1, 1), max=(4, 6)),
    }
    net = netdef.define(parity.Fn(fn), spec)
    for n, m in [(3, 2), (4, 6)]:
        x = torch.randn(n, 6)
        i = torch.stack([torch.randperm(6)[:m] for _ in range(n)])
        got = netdef.reference.run(net, {"x": x.numpy(), "i": i.numpy()})["output"]
        parity.assert_close(got, ref(x, i))
    parity.build(net)


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        (lambda x: F.gather(x, 0, x), r"`index` must be an int64 \(or int32\) tensor"),
        (lambda x: F.gather(x, 0, F.zeros(2, dtype="int64")), r"`index` must have the rank of `input`"),
        (
            lambda x: F.gather(x, 0, F.zeros(1, 9, 1, dtype="int64")),
            r"larger than `input` of shape \(4, 5, 6\) at dim 1",
        ),
        (
            lambda x: F.scatter(x, 0, F.zeros(1, 1, 1, dtype="int64"), 1.0, reduce="add"),
            r"reduce='add' is not supported",
        ),
        (lambda x: F.scatter(x, 0, F.zeros(1, 1, 1, dtype="int64")), r"give `src`"),
    ],
)
def test_gather_scatter_errors(expr, match):
    with pytest.raises(netdef.EmitError, match=match):
        _define(expr)
