"""Item assignment and in-place ops against torch: x[...] = v (regions, masks, index tensors), add_ & co.,
writes through views and views read after their base was written, static and dynamic shapes."""

from __future__ import annotations

import pytest
import torch

import netdef
from netdef import F
from netdef.testing import Fn, assert_close, build_engine, check


def _assign(index, value):
    """``x[index] = value(x)`` on a copy of x (value: a number or a function of x), returning x."""

    def fn(x):
        x = x.clone() if isinstance(x, torch.Tensor) else x
        x[index(x) if callable(index) else index] = value(x) if callable(value) else value
        return x

    return fn


# on a (3, 4, 5) tensor
ASSIGN = {
    "column": _assign((slice(None), 0), 1.0),
    "ellipsis-slice": _assign((Ellipsis, slice(1, 3)), lambda x: x[..., :2] * 2),
    "step": _assign((slice(None), slice(None, None, 2)), -1.0),
    "negative-int": _assign((-1, slice(1, None)), lambda x: x[0, :-1] * 1),
    "none": _assign((None, 1), 3.0),
    "everything": _assign(Ellipsis, 2.0),
    "broadcast-value": _assign((slice(1, 3), slice(None), 2), lambda x: x[0, :, 0] * 1),
    "int-into-float": _assign(0, 7),
    "mask": _assign(lambda x: x > 0, 0.0),
    "mask-leading-dims": _assign(lambda x: x[:, :, 0] > 0, lambda x: x[0, 0] * 1),
    "mask-middle-dims": _assign(lambda x: (slice(None), x[0, :, :] > 0), -5.0),
    "index-list": _assign([2, 0], 7.0),
    "index-list-dim1": _assign((slice(None), [1, -1]), lambda x: x[:, :2] + 1),
    "two-index-lists": _assign(([0, 2, 2], [1, 3, 0]), lambda x: x[0, :3] * 4),
    "two-index-lists-adjacent": _assign((slice(None), [0, 3], [4, -1]), -2.0),
    "two-index-lists-apart": _assign(([1, 0], slice(None), [[2], [3]]), lambda x: x[0, :, :1].t() * 3),
    "index-2d": _assign((Ellipsis, [[0, 1], [4, 3]]), lambda x: x[..., :2, None] * 3),
}


@pytest.mark.parametrize("name", list(ASSIGN))
def test_setitem(name):
    fn = ASSIGN[name]
    check(Fn(fn), fn, torch.randn(3, 4, 5), build=name in ("step", "mask", "index-list-dim1", "two-index-lists-apart"))


def test_setitem_int_tensor_index_from_an_input():
    def fn(x, i):
        x = x.clone() if isinstance(x, torch.Tensor) else x
        x[:, i] = x[:, :1] * 10
        return x

    check(Fn(fn), lambda x, i: fn(x, i.long()), torch.randn(2, 6), torch.tensor([4, -1, 0], dtype=torch.int32))


def _chain(x):
    x = x.clone() if isinstance(x, torch.Tensor) else x
    x[0][1] = 5.0  # through an index view
    v = x[1]
    v[:, 2] = -3.0
    x.view(-1)[0] = 9.0  # through a reshape view
    x[2].add_(1.0)
    q, k = x.split([2, 3], -1)
    q *= 2  # a piece of split: written into x
    k.transpose(0, 1)[0] = 4.0  # k was taken before q's write: it is computed again, then written through
    x.permute(2, 0, 1)[1:, 0].mul_(-1)
    x.mul_(2)
    x += 1
    x.clamp_(max=3.0).relu_()
    x[:, :2].zero_()
    return x


def _reshape_views(x):
    x = x.clone() if isinstance(x, torch.Tensor) else x
    x[1].view(-1)[2] = 3.0  # x[1] keeps x's order: its reshape is a view, the write reaches x
    x[1:3].reshape(-1)[0] = -4.0
    r = x[0].flatten()
    x[0, 0, 1] = 8.0  # read after the write: computed again, as torch's view
    return x.sum() + r[:3].sum()


def _stale_view(x):
    x = x.clone() if isinstance(x, torch.Tensor) else x
    v, w, r = x[0], x.t(), x.reshape(-1)
    x[0, 1] = 100.0  # torch's views see this write
    x.sub_(1)
    return v.sum() + w[1, 0] * 2 + r[1:3].sum() * 3


@pytest.mark.parametrize(
    "fn", [_chain, _stale_view, _reshape_views], ids=["write-through-views", "views-read-after-a-write", "reshapes"]
)
def test_in_place_writes_alias_as_torch(fn):
    check(Fn(fn), fn, torch.randn(3, 5) if fn is _stale_view else torch.randn(3, 4, 5))


def test_in_place_ops_keep_the_dtype_and_rebind_every_name():
    def fn(x, n):
        if isinstance(x, torch.Tensor):  # the example inputs stay unchanged
            x, n = x.clone(), n.clone()
        y = x  # the same proxy: torch's in-place write is seen through y
        y.add_(1.5).mul_(2)
        n.add_(3)
        m = n.clone() if isinstance(n, torch.Tensor) else n
        return x * n.to(x.dtype) + m.to(x.dtype)

    check(Fn(fn), fn, torch.randn(2, 3), torch.tensor([1, 2, 3], dtype=torch.int32))


def test_functional_inplace_true_writes_into_the_input():
    def fn(x):
        if isinstance(x, torch.Tensor):
            x = x.clone()
            y = torch.nn.functional.relu(x, inplace=True)
            z = torch.nn.functional.leaky_relu(x[0], 0.2, True)  # positional: into a view of x
            return x + y + z.sum()
        y = F.relu(x, inplace=True)
        z = F.leaky_relu(x[0], 0.2, True)
        return x + y + z.sum()

    check(Fn(fn), fn, torch.randn(3, 4))


def test_setitem_dynamic_shapes():
    def fn(x, i):
        x = x.clone() if isinstance(x, torch.Tensor) else x
        x[1:, ::2] = -1.0
        x[-1] = x[0] * 3
        x[x > 2] = 2.0
        x[:, i] = 7.0
        x[..., x.shape[1] - 1] += 10.0
        return x

    net = netdef.define(
        Fn(fn),
        {
            "x": netdef.Input((-1, -1), min=(1, 2), max=(6, 7)),
            "i": netdef.Input((-1,), dtype="int64", min=(1,), max=(3,)),
        },
    )
    for shape in [(4, 5), (2, 7), (1, 2)]:
        x, i = torch.randn(shape), torch.randint(0, shape[1], (2,))
        got = netdef.reference.run(net, {"x": x.numpy(), "i": i.numpy()})["output"]
        assert_close(got, fn(x, i))
    build_engine(net)


def _define(fn, shape=(3, 4)):
    return netdef.define(Fn(fn), {"x": netdef.Input(shape)})


def _write(index, value):
    def fn(x):
        x[index(x) if callable(index) else index] = value(x) if callable(value) else value
        return x

    return fn


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (_write(lambda x: x > 0, lambda x: x[0]), r"needs one value per True entry of the mask"),
        (_write((slice(None), 0), lambda x: x[:2, 0]), r"value of shape \(2,\) cannot be assigned to input\[:, 0\]"),
        (
            _write(([0, 1], [1, 2]), lambda x: x[0]),
            r"value of shape \(4,\) cannot be assigned to input\[index tensors\]",
        ),
        (_write((0, [1, 2]), 1.0), r"can only be combined with ':'"),
        (_write(0, "a"), r"must be a Python number or a netdef.Tensor"),
        (lambda x: x.expand(2, 3, 4).__setitem__(0, 1.0), r"made by expand"),
        (lambda x: x.add_(x[None]), r"the in-place result has shape \(1, 3, 4\)"),
        (lambda x: x[0].unsqueeze_(0), r"changes the shape of a view"),
        (lambda x: x.t().reshape(-1).__setitem__(0, 1.0), r"a view whose entries are not in order"),
        (lambda x: (x[:, 1:].reshape(-1), x.__setitem__(0, 1.0))[0] + 1, r"reshape after the write, or copy before"),
    ],
)
def test_assignment_errors(fn, match):
    with pytest.raises(netdef.EmitError, match=match):
        _define(fn)


def test_a_clone_is_not_written_by_writes_into_its_source():
    """``clone`` gives a tensor of its own: an in-place write into the source, or into the clone, leaves the
    other as it was (a clone that was the source's proxy itself changed with it, unlike torch)."""

    def fn(x):
        y = x.clone()
        y += 1
        z = x * 1
        w = z.clone()
        z.mul_(3)
        return x + 10 * y + 100 * z + 1000 * w  # one output: each term's weight tells which one changed

    check(Fn(fn), fn, torch.randn(2, 3))


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "SiLU", "Hardtanh", "ELU", "Hardswish"])
def test_an_in_place_activation_module_writes_its_input(name):
    """``nn.ReLU(inplace=True)`` and its siblings change their input, as torch's do: ``y = act(x); x + y`` is
    ``2 * act(x)`` (the module used to drop ``inplace`` and compute ``x + act(x)``)."""
    from netdef import nn

    torch_act, netdef_act = getattr(torch.nn, name)(inplace=True), getattr(nn, name)(inplace=True)

    def make(act):
        def fn(x):
            x = x * 1  # torch may not write into a leaf input
            y = act(x)
            return x + y

        return fn

    check(Fn(make(netdef_act)), make(torch_act), torch.randn(2, 5))
